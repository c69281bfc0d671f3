"""A suggested edit's texts on GitHub: branch, title, commits and body, all inert."""

from __future__ import annotations

from bot.domain.markers import find_markers
from bot.domain.pull_request import (
    TITLE_LIMIT,
    SuggestedEdit,
    branch_name,
    commit_message,
    pr_body,
    pr_title,
    suggestion_of_branch,
    translations_comment,
    withdrawal_comment,
)

TEXT = "# Pipes\n\nFixtures are small on purpose.\n"


def _edit(**changes: object) -> SuggestedEdit:
    facts: dict[str, object] = {
        "id": 7,
        "lesson_id": 1,
        "program": "demo",
        "slug": "pipes",
        "locale": "en",
        "path": "programs/demo/en/pipes.md",
        "find": "small",
        "replace": "tiny",
        "revisions": (),
        "reason": "Shorter.",
        "source": "web",
        "names": ("Ana",),
        "emails": (),
    }
    facts.update(changes)
    return SuggestedEdit(**facts)  # type: ignore[arg-type]


def test_a_branch_names_its_suggestion_and_no_other_branch_does() -> None:
    assert suggestion_of_branch(branch_name(42)) == 42
    assert suggestion_of_branch("lessonbot/suggest/x1") is None
    assert suggestion_of_branch("main") is None


def test_the_edit_applies_with_its_revisions() -> None:
    edit = _edit(revisions=({"find": "tiny", "replace": "minute"},))
    assert edit.edited(TEXT, allow_front_matter=False) == TEXT.replace("small", "minute")


def test_a_long_title_is_cut_to_what_github_takes() -> None:
    title = pr_title("x" * 400, "en")
    assert len(title) <= TITLE_LIMIT
    assert title.endswith("…")


def test_the_commit_credits_suggesters_and_mentions_nobody() -> None:
    message = commit_message(_edit(reason="Fixes #3 @octocat", emails=(("A<b>", "a@x.org"),)), "P")
    assert "Co-authored-by: Ab <a@x.org>" in message
    assert "@octocat" not in message
    assert "Suggested with lessonbot (suggestion 7)." in message


def test_the_body_refers_to_the_issue_without_closing_it_and_carries_its_marker() -> None:
    body = pr_body(_edit(), TEXT, TEXT.replace("small", "tiny"), issue_number=5)
    assert "Refs #5" in body
    assert find_markers(body) == {"suggestion": "7"}


def test_notes_on_github_carry_their_markers() -> None:
    body, note = withdrawal_comment(7)
    assert body.endswith(note) and find_markers(body) == {"withdrawn": "7"}
    body, note = translations_comment(7, 12, "a/en.md", ["a/fr.md"])
    assert "- [ ] `a/fr.md`" in body and find_markers(body) == {"translations": "7"}
