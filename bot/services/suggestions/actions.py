"""The suggester changes their mind: revise the edit, take a reviewer's text, withdraw."""

from __future__ import annotations

from bot.domain import edits
from bot.services.suggestions.access import Access
from bot.services.suggestions.dependencies import Dependencies
from bot.services.suggestions.errors import SuggestionError, edit_error
from bot.services.suggestions.intake import Intake
from bot.services.suggestions.progress import Progress
from bot.services.suggestions.queries import Queries
from bot.services.suggestions.records import (
    JOB_KIND,
    REVISABLE,
    load_suggestion,
    suggested_edit,
)
from bot.services.suggestions.views import SuggestionInput, SuggestionView
from bot.store.models import SuggestionEvent, SuggestionSource, SuggestionStatus


class Actions:
    """Apply what a suggester (by token or Discord id) asks of their suggestion."""

    def __init__(
        self,
        deps: Dependencies,
        *,
        access: Access,
        intake: Intake,
        progress: Progress,
        queries: Queries,
    ) -> None:
        self._deps = deps
        self._access = access
        self._intake = intake
        self._progress = progress
        self._queries = queries

    async def revise(
        self,
        suggestion_id: int,
        find: str,
        replace_with: str,
        reason: str,
        *,
        token: str | None = None,
        discord_user_id: int | None = None,
    ) -> SuggestionView:
        """Apply a further edit: to the stored edit before the PR opens, else to its branch."""
        credit_id = await self._access.authorize(
            suggestion_id, token=token, discord_user_id=discord_user_id
        )
        async with self._deps.sessions() as session:
            row = await load_suggestion(session, suggestion_id)
            assert row is not None
            identity, locale, status = row.lesson.identity, row.locale, row.status
            credit = next(credit for credit in row.credits if credit.id == credit_id)
            source = credit.source
            edit = suggested_edit(row)
        if status not in REVISABLE:
            raise SuggestionError("not_revisable", status=409, state=str(status))
        request = SuggestionInput(
            identity, locale, find, replace_with, reason or "-", SuggestionSource(source)
        )
        self._intake.check_fields(request)
        catalogue, lesson_file = self._intake.lesson_file(identity, locale)
        if status == SuggestionStatus.QUEUED:
            # Not on GitHub yet: the revision must apply on the lesson with the edit so far.
            current, _ = await self._intake.read(catalogue, lesson_file.path)
            try:
                edited = edit.edited(current, self._deps.settings.suggestions.allow_front_matter)
            except edits.EditError as error:
                raise edit_error(error) from error
            self._intake.apply(edited, request, lesson_file.path)
        now = self._deps.clock()
        async with self._deps.sessions() as session, session.begin():
            row = await load_suggestion(session, suggestion_id)
            assert row is not None
            revisions = list(row.edit.get("revisions", []))
            revisions.append({"find": find, "replace": replace_with, "reason": reason})
            row.edit = {**row.edit, "revisions": revisions}
            session.add(
                SuggestionEvent(
                    suggestion_id=row.id,
                    kind="revised",
                    detail={"find": find, "replace": replace_with, "reason": reason},
                    created_at=now,
                )
            )
            if row.status != SuggestionStatus.QUEUED:
                await self._deps.outbox.enqueue_many(
                    JOB_KIND,
                    [(f"suggestion:{row.id}:revise:{len(revisions)}", {"op": "revise"})],
                    session,
                )
        self._deps.wake()
        return await self._view(suggestion_id)

    async def accept(
        self,
        suggestion_id: int,
        comment_id: int | None = None,
        *,
        token: str | None = None,
        discord_user_id: int | None = None,
    ) -> SuggestionView:
        """Commit a reviewer's proposed text (the newest, or the one of `comment_id`)."""
        await self._access.authorize(suggestion_id, token=token, discord_user_id=discord_user_id)
        view = await self._view(suggestion_id)
        if view.status not in REVISABLE or view.pr_number is None:
            raise SuggestionError("not_revisable", status=409, state=view.status)
        if comment_id is not None and comment_id in view.accepted_comments:
            # Chosen before (a second click): its commit is on the way, nothing to do twice.
            raise SuggestionError("proposal_accepted", status=409)
        proposals = view.reviewer_suggestions
        chosen = next(
            (
                event
                for event in proposals
                if comment_id is None or event.detail.get("comment_id") == comment_id
            ),
            None,
        )
        if chosen is None:
            raise SuggestionError("no_reviewer_suggestion", status=409)
        now = self._deps.clock()
        key = f"suggestion:{suggestion_id}:accept:{chosen.detail['comment_id']}"
        async with self._deps.sessions() as session, session.begin():
            session.add(
                SuggestionEvent(
                    suggestion_id=suggestion_id,
                    kind="accepted",
                    detail={"comment_id": chosen.detail["comment_id"]},
                    created_at=now,
                )
            )
            await self._deps.outbox.enqueue_many(
                JOB_KIND, [(key, {"op": "accept", **dict(chosen.detail)})], session
            )
        self._deps.wake()
        return await self._view(suggestion_id)

    async def withdraw(
        self,
        suggestion_id: int,
        *,
        token: str | None = None,
        discord_user_id: int | None = None,
    ) -> SuggestionView:
        """Take one suggester's name off; when nobody is left, close the PR with a note."""
        credit_id = await self._access.authorize(
            suggestion_id, token=token, discord_user_id=discord_user_id
        )
        async with self._deps.sessions() as session, session.begin():
            row = await load_suggestion(session, suggestion_id)
            assert row is not None
            if row.status not in REVISABLE:
                raise SuggestionError("not_revisable", status=409, state=str(row.status))
            for credit in row.credits:
                if credit.id == credit_id:
                    credit.withdrawn = True
            if all(credit.withdrawn for credit in row.credits):
                had_pr = row.pr_number is not None
                if not await self._progress.move_to(session, row, SuggestionStatus.WITHDRAWN):
                    raise SuggestionError("not_revisable", status=409, state=str(row.status))
                await self._progress.record(session, row, "withdrawn", {})
                if had_pr:
                    await self._deps.outbox.enqueue_many(
                        JOB_KIND, [(f"suggestion:{row.id}:close", {"op": "close"})], session
                    )
        self._deps.wake()
        return await self._view(suggestion_id)

    async def _view(self, suggestion_id: int) -> SuggestionView:
        """Return the view of a suggestion known to exist (suggestions are never deleted)."""
        view = await self._queries.view(suggestion_id)
        assert view is not None
        return view
