"""A suggested edit as GitHub sees it: its branch, title, body, labels, commits and notes.

Every text here carries what people typed (names, reasons, reviewers' logins) onto GitHub,
which acts on mentions, closing keywords and markdown structure: each is neutralized or
fenced so that none of it can do more than be read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.domain import edits
from bot.domain.markers import marker
from bot.domain.neutral import fenced, markdown_name, neutralize_plain, one_line_name

BRANCH_PREFIX = "lessonbot/suggest/"
LABEL = "suggested-edit"
# GitHub refuses titles over 256 characters.
TITLE_LIMIT = 256
# How the PR body names the door a suggestion came through.
_SOURCES = {"discord": "Discord", "web": "the website", "api": "the API", "cli": "the CLI"}


@dataclass(frozen=True, slots=True)
class SuggestedEdit:
    """A suggestion's facts copied out of its database session, for work over the network."""

    id: int
    lesson_id: int
    program: str
    slug: str
    locale: str
    path: str
    find: str
    replace: str
    revisions: tuple[Mapping[str, str], ...]
    reason: str
    source: str
    names: tuple[str, ...]
    emails: tuple[tuple[str, str], ...]

    @property
    def identity(self) -> str:
        """Return the lesson's `program/slug`."""
        return f"{self.program}/{self.slug}"

    def edited(self, base_text: str, allow_front_matter: bool) -> str:
        """Apply the edit, then each revision made before the PR opened, to `base_text`."""
        applied = edits.apply_edit(
            base_text,
            self.find,
            self.replace,
            path=self.path,
            allow_front_matter=allow_front_matter,
        ).text
        for revision in self.revisions:
            applied = edits.apply_edit(
                applied,
                revision["find"],
                revision["replace"],
                path=self.path,
                allow_front_matter=allow_front_matter,
            ).text
        return applied


def branch_name(suggestion_id: int) -> str:
    """Return the branch a suggestion's pull request is opened from."""
    return f"{BRANCH_PREFIX}{suggestion_id}"


def suggestion_of_branch(ref: str) -> int | None:
    """Return the suggestion id a branch name claims, or None for any other branch."""
    if not ref.startswith(BRANCH_PREFIX):
        return None
    rest = ref.removeprefix(BRANCH_PREFIX)
    return int(rest) if rest.isdigit() else None


def pr_title(lesson_title: str, locale: str) -> str:
    """Return the pull request's title: the lesson and the language edited."""
    return cut(
        neutralize_plain(f"Suggest edit: {one_line_name(lesson_title, TITLE_LIMIT)}")
        + f" ({locale})",
        TITLE_LIMIT,
    )


def pr_labels(edit: SuggestedEdit) -> tuple[str, ...]:
    """Return the labels a suggestion's pull request carries."""
    return (LABEL, f"program:{edit.program}", f"locale:{edit.locale}")


def commit_message(edit: SuggestedEdit, lesson_title: str) -> str:
    """Return the message of the commit that opens the PR, crediting every suggester."""
    subject = neutralize_plain(f"Suggest edit: {one_line_name(lesson_title)} ({edit.locale})")
    lines = [cut(subject, 72), ""]
    # GitHub acts on mentions and closing keywords in commits that reach the default
    # branch (a squash merge copies this message there): none may come from the reason.
    reason = neutralize_plain(" ".join(edit.reason.split()))
    if reason:
        lines += [cut(reason, 500), ""]
    lines.append(f"Suggested with lessonbot (suggestion {edit.id}).")
    trailers = [f"Co-authored-by: {_trailer_name(name)} <{email}>" for name, email in edit.emails]
    if trailers:
        lines += ["", *trailers]
    return "\n".join(lines)


def pr_body(
    edit: SuggestedEdit,
    old: str,
    new: str,
    *,
    lesson_url: str = "",
    post_url: str | None = None,
    issue_number: int | None = None,
) -> str:
    """Return the pull request's body: why, the diff, who suggested it, where it is discussed."""
    diff = edits.unified_diff(old, new, edit.path)
    names = ", ".join(markdown_name(name) for name in edit.names) or "a learner"
    reason = edit.reason.strip()
    # Every person-typed block is fenced: nothing in it can close the fence, so nothing
    # can start structure that swallows the diff, the credit or the marker below.
    lines = [
        "### Why",
        "",
        fenced(reason, "text") if reason else "_(no reason given)_",
        "",
        "### The change",
        "",
        fenced(diff, "diff", reveal=True),
        "",
        f"Suggested by {names} from {_SOURCES.get(edit.source, edit.source)}.",
    ]
    places = []
    if lesson_url:
        places.append(f"[lesson page]({lesson_url})")
    if post_url:
        places.append(f"[Discord post]({post_url})")
    if places:
        lines.append("Links: " + " · ".join(places))
    if issue_number:
        # Refs, never a closing keyword: merging an edit must not close the lesson issue.
        lines.append(f"Refs #{issue_number}")
    lines += ["", marker("suggestion", str(edit.id))]
    return "\n".join(lines)


def revision_commit_message(locale: str, reason: str) -> str:
    """Return the message of the commit a suggester's revision makes on the PR branch."""
    reason = cut(neutralize_plain(" ".join(reason.split())), 500)
    return f"Revise suggested edit ({locale})\n\n{reason}".strip()


def proposal_commit_message(reviewer: str) -> str:
    """Return the message of the commit that applies a reviewer's proposed text."""
    return neutralize_plain(f"Apply suggestion from @{reviewer}")


def withdrawal_comment(suggestion_id: int) -> tuple[str, str]:
    """Return the comment closing a withdrawn suggestion's PR, and the marker it carries."""
    note = marker("withdrawn", str(suggestion_id))
    body = (
        "The person who suggested this edit withdrew it, so lessonbot closes this pull "
        f"request.\n\n{note}"
    )
    return body, note


def translations_comment(
    suggestion_id: int, pr_number: object, path: object, siblings: Sequence[str]
) -> tuple[str, str]:
    """Return the comment listing translations a merged edit may also need, and its marker."""
    lines = [
        f"The suggested edit in #{pr_number} changed "
        f"`{path}`. These translations may need the same change:",
        "",
        *(f"- [ ] `{sibling}`" for sibling in siblings),
    ]
    note = marker("translations", str(suggestion_id))
    lines += ["", note]
    return "\n".join(lines), note


def cut(text: str, limit: int) -> str:
    """Return `text`, or its first `limit` characters ending in an ellipsis when longer."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _trailer_name(name: str) -> str:
    # A trailer is one line; angle brackets would end the name early.
    name = neutralize_plain(one_line_name(name.replace("<", "").replace(">", ""), 100))
    return name or "Suggester"
