"""The write path: outbox jobs that open a suggestion's PR, commit to it, close it, note it.

Each job is claimed by the worker; `run_job` performs it and confirms it, or gives it back
with its error to be retried.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.domain import edits
from bot.domain.catalogue import Catalogue
from bot.domain.link_texts import lesson_page_url
from bot.domain.pull_request import (
    SuggestedEdit,
    branch_name,
    commit_message,
    pr_body,
    pr_labels,
    pr_title,
    proposal_commit_message,
    revision_commit_message,
    translations_comment,
    withdrawal_comment,
)
from bot.services.outbox import Claim, JobFailure
from bot.services.ports import ProposedChange, StaleContentError
from bot.services.suggestions.access import Access
from bot.services.suggestions.confirmations import Confirmations
from bot.services.suggestions.dependencies import Dependencies
from bot.services.suggestions.errors import edit_error
from bot.services.suggestions.intake import LessonTexts
from bot.services.suggestions.moderation_posts import ModerationPosts
from bot.services.suggestions.notices import Notices
from bot.services.suggestions.progress import Progress
from bot.services.suggestions.records import (
    JOB_KIND,
    NOTIFY_KIND,
    REVISABLE,
    lesson_links,
    load_suggestion,
    passage_detail,
    suggested_edit,
    suggestion_of_job,
)
from bot.store.models import SuggestionStatus

log = logging.getLogger(__name__)


class Jobs:
    """Perform suggestion jobs: the GitHub writes, and the notices through `Notices`."""

    def __init__(
        self,
        deps: Dependencies,
        *,
        texts: LessonTexts,
        access: Access,
        progress: Progress,
        notices: Notices,
        posts: ModerationPosts,
        confirmations: Confirmations,
    ) -> None:
        self._deps = deps
        self._texts = texts
        self._access = access
        self._progress = progress
        self._notices = notices
        self._posts = posts
        self._confirmations = confirmations

    async def run_job(self, claim: Claim) -> str:
        """Perform one claimed suggestion job and confirm it, or give it back with its error."""
        if claim.kind == NOTIFY_KIND:
            handler: Callable[[Claim], Awaitable[str]] = self._notices.notify
        else:
            op = claim.payload.get("op")
            handlers: dict[str, Callable[[Claim], Awaitable[str]]] = {
                "open": self._open,
                "revise": self._revise_branch,
                "accept": self._accept_on_branch,
                "close": self._close,
                "translations": self._note_translations,
                "update_branch": self._update_branch,
                "post": self._notices.post_in_lesson,
                "moderation": self._posts.run,
                "confirm_email": self._confirmations.send,
            }
            found = handlers.get(str(op))
            if found is None:
                await self._deps.outbox.fail(claim, f"unknown operation {op!r}", retry=False)
                return "failed: unknown operation"
            handler = found
        done = await self._deps.outbox.attempt(claim, lambda: handler(claim))
        if not isinstance(done, JobFailure):
            return done
        if done.counts_as_attempt and not done.retried:
            await self._mark_failed(claim, done.message)
        return done.summary

    async def _open(self, claim: Claim) -> str:
        """Open the suggestion's PR (one commit on its own branch), or say why not."""
        deps = self._deps
        github = deps.github_or_fail()
        suggestion_id = suggestion_of_job(claim.key)
        async with deps.sessions() as session:
            row = await load_suggestion(session, suggestion_id)
            # A failed opening that someone retried (`lessonbot jobs retry`) opens after all.
            if row is None or row.status not in (SuggestionStatus.QUEUED, SuggestionStatus.FAILED):
                await deps.outbox.complete(claim, session)
                await session.commit()
                return "nothing to open"
            edit = suggested_edit(row)
        links = await lesson_links(deps.sessions, deps.settings, edit.lesson_id)
        catalogue = deps.catalogue()
        lesson = catalogue.get(edit.identity)
        title = lesson.title(edit.locale, catalogue.default_locale) if lesson else edit.identity
        lesson_url = lesson_page_url(
            deps.settings.site.lesson_url_template, edit.program, edit.slug, edit.locale
        )
        # The content copy is the default branch as last fetched: usually the base itself,
        # so the PR costs no read of its own; when it moved on, re-read and re-apply.
        base_text, base_sha = await self._base_text(catalogue, edit)
        for attempt in range(2):
            try:
                new_text = edit.edited(base_text, deps.settings.suggestions.allow_front_matter)
            except edits.EditError as error:
                return await self._conflict(claim, edit, error)
            change = ProposedChange(
                branch=branch_name(edit.id),
                path=edit.path,
                content=new_text,
                commit_message=commit_message(edit, title),
                title=pr_title(title, edit.locale),
                body=pr_body(
                    edit,
                    base_text,
                    new_text,
                    lesson_url=lesson_url,
                    post_url=links.post_url,
                    issue_number=links.issue_number,
                ),
                base=deps.default_branch,
                labels=pr_labels(edit),
                expected_sha=base_sha,
            )
            try:
                pull = await github.open_pull_request(change)
                break
            except StaleContentError:
                # The default branch moved on since the content copy was fetched.
                if attempt:
                    raise
                current = await github.get_file(edit.path, deps.default_branch)
                base_text, base_sha = current.text, current.sha
        reviewers = self._access.reviewers(edit.program)
        if reviewers:
            await github.request_reviewers(pull.number, reviewers)  # type: ignore[attr-defined]
        now = deps.clock()
        async with deps.sessions() as session, session.begin():
            row = await load_suggestion(session, suggestion_id)
            assert row is not None
            row.pr_number, row.pr_url, row.branch = pull.number, pull.html_url, pull.head
            row.head_sha = pull.head_sha or None
            row.base_sha = base_sha
            if row.status in (SuggestionStatus.QUEUED, SuggestionStatus.FAILED):
                await self._progress.move_to(session, row, SuggestionStatus.OPEN)
            row.last_error = None
            row.updated_at = now
            detail: dict[str, Any] = {"pr_number": pull.number, "pr_url": pull.html_url}
            # The passage as the branch holds it: what the status page shows and a revision
            # starts from.
            detail.update(passage_detail(edits.changed_passage(base_text, new_text)))
            await self._progress.record(session, row, "pr_opened", detail)
            await deps.outbox.complete(claim, session)
            if row.status == SuggestionStatus.WITHDRAWN:
                # Withdrawn while the PR was opening: close it now.
                await deps.outbox.enqueue_many(
                    JOB_KIND, [(f"suggestion:{row.id}:close", {"op": "close"})], session
                )
        deps.wake()
        return f"opened #{pull.number}"

    async def _base_text(self, catalogue: Catalogue, edit: SuggestedEdit) -> tuple[str, str]:
        try:
            return await self._texts.read(catalogue, edit.path)
        except (OSError, UnicodeDecodeError):
            github = self._deps.github_or_fail()
            current = await github.get_file(edit.path, self._deps.default_branch)
            return current.text, current.sha

    async def _conflict(self, claim: Claim, edit: SuggestedEdit, error: edits.EditError) -> str:
        deps = self._deps
        now = deps.clock()
        async with deps.sessions() as session, session.begin():
            row = await load_suggestion(session, edit.id)
            assert row is not None
            await self._progress.move_to(session, row, SuggestionStatus.CONFLICT)
            row.last_error = edit_error(error).message("en")
            row.updated_at = now
            await self._progress.record(session, row, "conflict", {"code": error.code})
            await deps.outbox.complete(claim, session)
        return f"conflict: {error.code}"

    async def _mark_failed(self, claim: Claim, message: str) -> None:
        if claim.payload.get("op") != "open":
            return
        async with self._deps.sessions() as session, session.begin():
            row = await load_suggestion(session, suggestion_of_job(claim.key))
            if row is None or not await self._progress.move_to(
                session, row, SuggestionStatus.FAILED
            ):
                return
            row.last_error = message
            await self._progress.record(session, row, "failed", {"error": message[:500]})

    async def _revise_branch(self, claim: Claim) -> str:
        """Apply the newest revision to the PR branch's current text: one more commit."""
        deps = self._deps
        github = deps.github_or_fail()
        suggestion_id = suggestion_of_job(claim.key)
        async with deps.sessions() as session:
            row = await load_suggestion(session, suggestion_id)
            assert row is not None
            number = int(claim.key.rsplit(":", 1)[1])
            revision = row.edit["revisions"][number - 1]
            branch, path = row.branch or branch_name(row.id), row.path or ""
            locale = row.locale
            status = row.status
        if status not in REVISABLE:
            # Merged or closed while the revision waited: the branch is history now.
            await deps.outbox.complete(claim)
            return f"not revised: {status}"
        on_branch = await github.get_file(path, branch)
        try:
            applied = edits.apply_edit(
                on_branch.text,
                revision["find"],
                revision["replace"],
                path=path,
                allow_front_matter=deps.settings.suggestions.allow_front_matter,
            )
        except edits.EditError as error:
            if error.code == "no_change" or (
                claim.uncertain
                and revision["replace"].strip()
                and revision["replace"] in on_branch.text
            ):
                # An earlier attempt committed it before it could confirm.
                await self._answered(
                    claim, suggestion_id, _passage_of(on_branch.text, revision["replace"])
                )
                return "already revised"
            await self._complete_with(
                claim, suggestion_id, ("revision_failed", {"code": error.code, "revision": number})
            )
            return f"revision refused: {error.code}"
        sha = await github.commit_file(  # type: ignore[attr-defined]
            branch,
            path,
            applied.text,
            revision_commit_message(locale, revision["reason"]),
            expected_sha=on_branch.sha,
        )
        passage = edits.changed_passage(on_branch.text, applied.text)
        await self._answered(claim, suggestion_id, passage, head_sha=sha)
        return "revised"

    async def _accept_on_branch(self, claim: Claim) -> str:
        """Commit a reviewer's ```suggestion block to the PR, as GitHub's button does."""
        deps = self._deps
        github = deps.github_or_fail()
        suggestion_id = suggestion_of_job(claim.key)
        detail = claim.payload
        async with deps.sessions() as session:
            row = await load_suggestion(session, suggestion_id)
            assert row is not None
            branch, path = row.branch or branch_name(row.id), row.path or ""
            program, status = row.lesson.program, row.status
        if status not in REVISABLE:
            await deps.outbox.complete(claim)
            return f"not accepted: {status}"
        reviewer = str(detail.get("reviewer") or "")
        # Asked again now: access may have changed, or GitHub did not say when it was kept.
        allowed = await self._access.may_propose(reviewer, program)
        if allowed is None:
            raise RuntimeError(f"cannot tell whether {reviewer} may write to the repository")
        if not allowed:
            await self._complete_with(
                claim,
                suggestion_id,
                ("accept_refused", {"reviewer": reviewer, "comment_id": detail.get("comment_id")}),
            )
            return f"refused: {reviewer} cannot write to the repository"
        on_branch = await github.get_file(path, branch)
        end = int(detail["line"])
        start = int(detail.get("start_line") or end)
        suggested = str(detail["suggestion"])
        new_text = edits.apply_line_suggestion(on_branch.text, start, end, suggested)
        if new_text == on_branch.text:
            lines = len(suggested.rstrip("\r\n").splitlines()) if suggested else 0
            await self._answered(
                claim, suggestion_id, edits.lines_passage(on_branch.text, start, lines)
            )
            return "already applied"
        sha = await github.commit_file(  # type: ignore[attr-defined]
            branch,
            path,
            new_text,
            proposal_commit_message(reviewer),
            expected_sha=on_branch.sha,
        )
        passage = edits.changed_passage(on_branch.text, new_text)
        await self._answered(claim, suggestion_id, passage, head_sha=sha)
        return "accepted"

    async def _close(self, claim: Claim) -> str:
        """Close a withdrawn suggestion's PR with a note saying why."""
        deps = self._deps
        github = deps.github_or_fail()
        suggestion_id = suggestion_of_job(claim.key)
        async with deps.sessions() as session:
            row = await load_suggestion(session, suggestion_id)
            number = row.pr_number if row is not None else None
        if number is None:
            await deps.outbox.complete(claim)
            return "no PR to close"
        body, note = withdrawal_comment(suggestion_id)
        await github.create_comment(number, body, marker=note)
        await github.close_pull_request(number)  # type: ignore[attr-defined]
        await deps.outbox.complete(claim)
        return "closed"

    async def _update_branch(self, claim: Claim) -> str:
        """Bring a PR up to date with the default branch; a conflict is told, not forced."""
        deps = self._deps
        github = deps.github_or_fail()
        suggestion_id = suggestion_of_job(claim.key)
        async with deps.sessions() as session:
            row = await load_suggestion(session, suggestion_id)
            if row is None or row.pr_number is None or row.status not in REVISABLE:
                await deps.outbox.complete(claim)
                return "nothing to update"
            number = row.pr_number
        updated = await github.update_pull_branch(number)  # type: ignore[attr-defined]
        if updated:
            await self._complete_with(claim, suggestion_id, ("rebased", {}))
            return "updated"
        async with deps.sessions() as session, session.begin():
            row = await load_suggestion(session, suggestion_id)
            assert row is not None
            if not await self._progress.move_to(session, row, SuggestionStatus.CONFLICT):
                await deps.outbox.complete(claim, session)
                return f"no conflict to record: {row.status}"
            row.last_error = "the lesson changed where the edit is"
            await self._progress.record(session, row, "conflict", {"code": "merge_conflict"})
            await deps.outbox.complete(claim, session)
        return "conflict"

    async def _note_translations(self, claim: Claim) -> str:
        """Comment once on the lesson's issue: which translations may need the same change."""
        deps = self._deps
        github = deps.github_or_fail()
        issue_number = claim.payload.get("issue_number")
        siblings = claim.payload.get("siblings") or []
        if not issue_number or not siblings:
            await deps.outbox.complete(claim)
            return "no translations"
        body, note = translations_comment(
            suggestion_of_job(claim.key),
            claim.payload["pr_number"],
            claim.payload["path"],
            siblings,
        )
        await github.create_comment(int(issue_number), body, marker=note)
        await deps.outbox.complete(claim)
        return "noted"

    async def _complete_with(
        self,
        claim: Claim,
        suggestion_id: int,
        event: tuple[str, dict[str, Any]] | None,
        *,
        head_sha: str | None = None,
    ) -> None:
        async with self._deps.sessions() as session, session.begin():
            row = await load_suggestion(session, suggestion_id)
            assert row is not None
            if head_sha:
                row.head_sha = head_sha
            if event is not None:
                await self._progress.record(session, row, *event)
            await self._deps.outbox.complete(claim, session)

    async def _answered(
        self,
        claim: Claim,
        suggestion_id: int,
        passage: edits.Passage | None,
        *,
        head_sha: str | None = None,
    ) -> None:
        """Record the passage a suggester's commit left on the branch, and that it answered
        a request for changes (the reviewer's turn again); confirm the job."""
        async with self._deps.sessions() as session, session.begin():
            row = await load_suggestion(session, suggestion_id)
            assert row is not None
            if head_sha:
                row.head_sha = head_sha
            if passage is not None:
                await self._progress.record(session, row, "committed", passage_detail(passage))
            if row.status == SuggestionStatus.CHANGES_REQUESTED:
                await self._progress.move_to(session, row, SuggestionStatus.ANSWERED)
            await self._deps.outbox.complete(claim, session)


def _passage_of(text_: str, snippet: str) -> edits.Passage | None:
    """Return the lines holding `snippet` when it reads once in `text_`."""
    snippet = snippet.strip()
    if not snippet or text_.count(snippet) != 1:
        return None
    start = text_.index(snippet)
    return edits.passage_at(text_, start, start + len(snippet))
