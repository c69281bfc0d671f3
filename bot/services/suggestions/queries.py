"""Reading suggestions: one, a lesson's, all of some statuses, and a job's known wait."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from bot.services.outbox import JobWait
from bot.services.suggestions.dependencies import Dependencies
from bot.services.suggestions.records import (
    WITH_LESSON_CREDITS_EVENTS,
    load_suggestion,
    open_job_key,
)
from bot.services.suggestions.views import SuggestionView, view_of
from bot.store.models import PENDING_SUGGESTION_STATUSES, Lesson, Suggestion, SuggestionStatus


class Queries:
    """Answer what suggestions there are and where each one is."""

    def __init__(self, deps: Dependencies) -> None:
        self._deps = deps

    async def view(self, suggestion_id: int) -> SuggestionView | None:
        """Return a suggestion with its events, or None."""
        async with self._deps.sessions() as session:
            row = await load_suggestion(session, suggestion_id)
            return None if row is None else view_of(row)

    async def for_lesson(self, identity: str, *, pending_only: bool = True) -> list[SuggestionView]:
        """Return a lesson's suggestions (pending ones by default), newest first."""
        program, _, slug = identity.partition("/")
        statuses = PENDING_SUGGESTION_STATUSES if pending_only else tuple(SuggestionStatus)
        async with self._deps.sessions() as session:
            rows = (
                await session.execute(
                    select(Suggestion)
                    .join(Lesson, Lesson.id == Suggestion.lesson_id)
                    .options(*WITH_LESSON_CREDITS_EVENTS)
                    .where(
                        Lesson.program == program,
                        Lesson.slug == slug,
                        Suggestion.status.in_(statuses),
                    )
                    .order_by(Suggestion.id.desc())
                )
            ).scalars()
            return [view_of(row) for row in rows]

    async def list(
        self, statuses: Sequence[SuggestionStatus] | None = None
    ) -> list[SuggestionView]:
        """Return suggestions (of these statuses), newest first."""
        async with self._deps.sessions() as session:
            query = (
                select(Suggestion)
                .options(*WITH_LESSON_CREDITS_EVENTS)
                .order_by(Suggestion.id.desc())
            )
            if statuses:
                query = query.where(Suggestion.status.in_(statuses))
            return [view_of(row) for row in (await session.execute(query)).scalars()]

    async def opening_wait(self, suggestion_id: int) -> JobWait | None:
        """Return the known wait (GitHub's rate limit) the job opening a suggestion's PR
        sits out, or None."""
        return await self._deps.outbox.waiting(open_job_key(suggestion_id))
