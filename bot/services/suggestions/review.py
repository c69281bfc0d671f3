"""Following a suggestion's review: GitHub's events about its pull request.

Which suggestion an event is about is decided here: the repository the bot writes to and
the PR number it recorded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import edits
from bot.domain.pull_request import suggestion_of_branch
from bot.services.events import (
    PullRequestDetails,
    PullRequestEvent,
    ReviewCommentEvent,
    ReviewEvent,
)
from bot.services.suggestions.access import Access
from bot.services.suggestions.dependencies import Dependencies
from bot.services.suggestions.progress import Progress
from bot.services.suggestions.records import (
    JOB_KIND,
    WITH_LESSON_CREDITS_EVENTS,
    lesson_links,
)
from bot.store.models import PENDING_SUGGESTION_STATUSES, Suggestion, SuggestionStatus

log = logging.getLogger(__name__)

# The events of a review; its proposals (```suggestion blocks) arrive as events of their own.
REVIEW_KINDS = ("changes_requested", "approved", "reviewed")


class Review:
    """Move suggestions as their pull requests are reviewed, merged, closed or pushed to."""

    def __init__(self, deps: Dependencies, *, access: Access, progress: Progress) -> None:
        self._deps = deps
        self._access = access
        self._progress = progress
        # A review and its line comments arrive as webhooks handled at once: whether a
        # proposed text is told with its review or on its own is decided on what the other
        # recorded. PostgreSQL's row lock orders them across processes; SQLite reads before
        # it locks, so this process takes turns.
        self._review_lock = asyncio.Lock()

    async def on_pull_request(self, event: PullRequestEvent) -> str:
        """Move a suggestion when its PR closes, merges or reopens."""
        pull = event.pull_request
        action = event.action
        if action not in ("closed", "reopened", "synchronize"):
            return "ignored"
        bot_login = await self._bot_login()
        progress = self._progress
        async with self._deps.sessions() as session, session.begin():
            row = await self._ours(session, event.repository, pull, bot_login)
            if row is None:
                return "not a suggestion's pull request"
            if action == "closed" and pull.merged:
                if not await progress.advance(session, row, "merged"):
                    return f"already {row.status}"
                await progress.record(
                    session,
                    row,
                    "merged",
                    {"reviewer": pull.merged_by, "sha": pull.merge_commit_sha},
                )
                await self._after_merge(session, row)
                return "merged"
            if action == "closed":
                if not await progress.advance(session, row, "closed"):
                    return f"already {row.status}"
                await progress.record(session, row, "closed", {"reviewer": event.sender})
                return "closed"
            if action == "reopened":
                if not await progress.advance(session, row, "reopened"):
                    return f"not reopened: {row.status}"
                await progress.record(session, row, "reopened", {})
                return "reopened"
            head = pull.head_sha
            if head and head != row.head_sha:
                row.head_sha = head
                await progress.record(session, row, "pushed", {"sha": head})
            return "synchronized"

    async def on_review(self, event: ReviewEvent) -> str:
        """Follow a submitted or dismissed review of a suggestion's PR."""
        review = event.review
        action = event.action
        if action not in ("submitted", "dismissed"):
            return "ignored"
        state = review.state
        detail = {"review_id": review.id, "reviewer": review.reviewer, "body": review.body[:4000]}
        bot_login = await self._bot_login()
        progress = self._progress
        async with self._review_lock, self._deps.sessions() as session, session.begin():
            row = await self._ours(session, event.repository, event.pull_request, bot_login)
            if row is None:
                return "not a suggestion's pull request"
            if action == "dismissed":
                if not await progress.advance(session, row, "review_dismissed"):
                    return f"not following: {row.status}"
                await progress.record(session, row, "review_dismissed", detail)
                return "dismissed"
            if any(
                e.kind in REVIEW_KINDS and e.detail.get("review_id") == review.id
                for e in row.events
            ):
                return "already seen"
            if state in ("changes_requested", "approved"):
                if not await progress.advance(session, row, state):
                    # A review handled after the merge or close it preceded changes nothing.
                    log.info(
                        "suggestion %d: %s review after it was %s; status kept",
                        row.id,
                        state,
                        row.status,
                    )
                    return f"not following: {row.status}"
                # Its notice carries the review's proposed texts recorded so far.
                await progress.record(session, row, state, detail)
                return state.replace("_", " ")
            if row.status in PENDING_SUGGESTION_STATUSES or row.status == SuggestionStatus.CONFLICT:
                await progress.record(session, row, "reviewed", detail)
                # A review that only comments is not told: its proposed texts are, each.
                for waiting in row.events:
                    if (
                        waiting.kind == "reviewer_suggestion"
                        and waiting.detail.get("review_id") == review.id
                    ):
                        await progress.tell(session, row, waiting)
        return "commented"

    async def on_review_comment(self, event: ReviewCommentEvent) -> str:
        """Keep a reviewer's line comment, and its ```suggestion block as a proposal.

        Only people who may write to the repository (or the configured reviewers) propose
        text the suggester can accept; anyone else's block is kept as a line comment.
        """
        comment = event.comment
        if event.action != "created":
            return "ignored"
        blocks = edits.suggestion_blocks(comment.body)
        reviewer = comment.author
        detail = {
            "comment_id": comment.id,
            "review_id": comment.review_id,
            "reviewer": reviewer,
            "path": comment.path,
            "line": comment.line,
            "start_line": comment.start_line,
            "body": comment.body[:4000],
            "url": comment.url,
        }
        bot_login = await self._bot_login()
        async with self._deps.sessions() as session:
            row = await self._ours(session, event.repository, event.pull_request, bot_login)
            program = row.lesson.program if row is not None else ""
        if row is None:
            return "not a suggestion's pull request"
        may_propose = (
            await self._access.may_propose(reviewer, program)
            if blocks and detail["line"]
            else False
        )
        progress = self._progress
        async with self._review_lock, self._deps.sessions() as session, session.begin():
            row = await self._ours(session, event.repository, event.pull_request, bot_login)
            if row is None:
                return "not a suggestion's pull request"
            if any(
                e.detail.get("comment_id") == comment.id
                for e in row.events
                if e.kind in ("line_comment", "reviewer_suggestion")
            ):
                return "already seen"
            if may_propose is not False:
                # Unknown (GitHub did not answer) is offered; the accept job asks again.
                proposal = await progress.record(
                    session, row, "reviewer_suggestion", {**detail, "suggestion": blocks[0]}
                )
                review_id = detail["review_id"]
                if review_id is None or any(
                    e.kind in REVIEW_KINDS and e.detail.get("review_id") == review_id
                    for e in row.events
                ):
                    # Its review came first and was told (or there is none): it is told on
                    # its own. Otherwise the review, when it comes, tells it.
                    await progress.tell(session, row, proposal)
                return "reviewer suggestion"
            if blocks:
                log.info(
                    "suggestion %d: a suggestion block by %s, who cannot write to the "
                    "repository, kept as a line comment",
                    row.id,
                    reviewer[:100] or "someone",
                )
            await progress.record(session, row, "line_comment", detail)
        return "line comment"

    async def on_default_branch_push(self, changed_paths: Sequence[str], branch: str) -> int:
        """Target `branch` from now on and re-check open suggestions whose file changed on
        it; return how many."""
        deps = self._deps
        # GitHub names the default branch in every push: new PRs and updates follow it.
        deps.default_branch = branch
        if not changed_paths:
            return 0
        async with deps.sessions() as session, session.begin():
            rows = (
                (
                    await session.execute(
                        select(Suggestion).where(
                            Suggestion.path.in_(list(changed_paths)),
                            Suggestion.status.in_(
                                (
                                    SuggestionStatus.OPEN,
                                    SuggestionStatus.CHANGES_REQUESTED,
                                    SuggestionStatus.ANSWERED,
                                    SuggestionStatus.APPROVED,
                                )
                            ),
                        )
                    )
                )
                .scalars()
                .all()
            )
            intents = [
                (f"suggestion:{row.id}:update_branch", {"op": "update_branch"}) for row in rows
            ]
            await deps.outbox.enqueue_many(JOB_KIND, intents, session)
        if rows:
            deps.wake()
        return len(rows)

    async def _bot_login(self) -> str:
        """Return the login the bot opens pull requests as ("" when unknown)."""
        # The port answers "" itself when GitHub will not say (and remembers the answer).
        github = self._deps.github
        return await github.login() if github is not None else ""

    async def _ours(
        self,
        session: AsyncSession,
        repository: str,
        pull: PullRequestDetails,
        bot_login: str,
    ) -> Suggestion | None:
        """Return the suggestion whose pull request this event is about, locked for update.

        Only the repository the bot writes to and the PR number it recorded match: anyone
        can open a PR whose head is named `lessonbot/suggest/<id>`. Before the number is
        recorded (the PR opened, then the bot stopped), the branch matches only when the
        bot itself opened that PR from its own repository.
        """
        number = pull.number
        configured = self._deps.settings.github.repository
        if configured and repository.lower() != configured.lower():
            log.info("ignoring a pull request event from %s: not %s", repository[:200], configured)
            return None
        row = (
            await session.execute(
                select(Suggestion)
                .options(*WITH_LESSON_CREDITS_EVENTS)
                .where(Suggestion.pr_number == number)
                .with_for_update(of=Suggestion)
            )
        ).scalar_one_or_none()
        if row is not None:
            return row
        suggestion_id = suggestion_of_branch(pull.head_ref)
        if suggestion_id is None:
            return None
        author = pull.author
        if (
            not bot_login
            or author.lower() != bot_login.lower()
            or (pull.head_repository.lower() != repository.lower())
        ):
            log.warning(
                "ignoring PR #%s with head %s by %s: not a pull request lessonbot opened",
                number,
                pull.head_ref[:100],
                author[:100] or "someone",
            )
            return None
        row = (
            await session.execute(
                select(Suggestion)
                .options(*WITH_LESSON_CREDITS_EVENTS)
                .where(Suggestion.id == suggestion_id, Suggestion.pr_number.is_(None))
                .with_for_update(of=Suggestion)
            )
        ).scalar_one_or_none()
        if row is not None:
            # Opened by the bot before it could record the number: record it now.
            row.pr_number, row.pr_url = number, pull.url
        return row

    async def _after_merge(self, session: AsyncSession, row: Suggestion) -> None:
        """Thank people in the lesson's post and list translations that may lag behind."""
        deps = self._deps
        catalogue = deps.catalogue()
        lesson = catalogue.get(row.lesson.identity)
        if lesson is None or row.locale != catalogue.default_locale:
            return
        siblings = sorted(f.path for locale, f in lesson.files.items() if locale != row.locale)
        if not siblings:
            return
        # In this transaction: it holds the suggestion's row, so asking the pool for a
        # second connection could wait on handlers that wait on this row.
        links = await lesson_links(deps.sessions, deps.settings, row.lesson_id, session)
        await self._progress.record(session, row, "translations_behind", {"siblings": siblings})
        await deps.outbox.enqueue_many(
            JOB_KIND,
            [
                (
                    f"suggestion:{row.id}:translations",
                    {
                        "op": "translations",
                        "issue_number": links.issue_number,
                        "siblings": siblings,
                        "path": row.path,
                        "pr_number": row.pr_number,
                    },
                )
            ],
            session,
        )
