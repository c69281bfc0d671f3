"""A suggestion moving through review: its status, its recorded events, who is told of them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from bot.domain import review_flow
from bot.services import correlation
from bot.services.suggestions.dependencies import Dependencies
from bot.services.suggestions.records import JOB_KIND, NOTIFY_KIND
from bot.store.models import Suggestion, SuggestionEvent, SuggestionStatus

# Event kinds every suggester is told of (the others only show on the status page).
log = logging.getLogger(__name__)

EVENTS_TOLD_TO_SUGGESTERS = frozenset(
    {
        "pr_opened",
        "changes_requested",
        "approved",
        "merged",
        "closed",
        "conflict",
        "failed",
        "revised",
        "withdrawn",
        "accept_refused",
    }
)


class Progress:
    """Record what happens to a suggestion and move its status along the review flow."""

    def __init__(self, deps: Dependencies) -> None:
        self._deps = deps

    async def record(
        self, session: AsyncSession, row: Suggestion, kind: str, detail: dict[str, Any]
    ) -> SuggestionEvent:
        """Record an event and, when people hear of it, one notification job per person."""
        event = SuggestionEvent(
            suggestion_id=row.id, kind=kind, detail=detail, created_at=self._deps.clock()
        )
        session.add(event)
        await session.flush()
        if kind not in EVENTS_TOLD_TO_SUGGESTERS and kind not in ("pr_opened", "merged"):
            return event
        # What follows (notices, a post) is logged under the suggestion's own correlation
        # id, whichever webhook delivery or job brought the news.
        with correlation.correlated(await self._correlation_of(session, row, kind)):
            if kind in EVENTS_TOLD_TO_SUGGESTERS:
                await self.tell(session, row, event)
            if kind in ("pr_opened", "merged"):
                # The lesson's post shows new suggestions and thanks people when one lands.
                await self._deps.outbox.enqueue_many(
                    JOB_KIND,
                    [
                        (
                            f"suggestion:{row.id}:post:{event.id}",
                            {"op": "post", "event_id": event.id, "suggestion_id": row.id},
                        )
                    ],
                    session,
                )
        return event

    async def _correlation_of(
        self, session: AsyncSession, row: Suggestion, kind: str
    ) -> str | None:
        """Return the correlation id the suggestion was stored under (None: not known)."""
        detail = await session.scalar(
            select(SuggestionEvent.detail)
            .where(SuggestionEvent.suggestion_id == row.id, SuggestionEvent.kind == "submitted")
            .limit(1)
        )
        stored = correlation.of_payload(detail) if isinstance(detail, dict) else None
        here = correlation.current()
        if stored is not None and here is not None and stored != here:
            # The line that ties this delivery (or job) to the suggestion's own id.
            log.info(
                "suggestion %d: %s follows under correlation id %s",
                row.id,
                kind,
                stored,
                extra={"suggestion_id": row.id},
            )
        return stored

    async def tell(self, session: AsyncSession, row: Suggestion, event: SuggestionEvent) -> None:
        """Queue one notice of an event per suggester, and an email for those who gave one."""
        kind = event.kind
        intents = [
            (
                f"notify:{event.id}:{credit.id}",
                {"suggestion_id": row.id, "event_id": event.id, "credit_id": credit.id},
            )
            for credit in row.credits
            if not credit.withdrawn or kind == "withdrawn"
        ]
        if self._deps.mail is not None and self._deps.settings.suggestions.email_updates:
            # An email too, as its own job: a failed send never repeats a sent DM.
            intents += [
                (
                    f"notify:{event.id}:{credit.id}:mail",
                    {
                        "suggestion_id": row.id,
                        "event_id": event.id,
                        "credit_id": credit.id,
                        "channel": "mail",
                    },
                )
                for credit in row.credits
                if credit.email and (not credit.withdrawn or kind == "withdrawn")
            ]
        await self._deps.outbox.enqueue_many(NOTIFY_KIND, intents, session)

    async def advance(self, session: AsyncSession, row: Suggestion, event: str) -> bool:
        """Move the suggestion as `event` asks, if the review flow allows it from now."""
        return await self._move(session, row, lambda current: review_flow.target_of(event, current))

    async def move_to(
        self, session: AsyncSession, row: Suggestion, target: SuggestionStatus
    ) -> bool:
        """Move the suggestion to `target` if the review flow allows it from now."""
        return await self._move(
            session,
            row,
            lambda current: target if review_flow.can_move(current, target) else None,
        )

    async def _move(
        self, session: AsyncSession, row: Suggestion, decide: Callable[[str], str | None]
    ) -> bool:
        """Set the status `decide` picks, as a compare-and-set on what the database holds.

        Two handlers reading the same status at once cannot both write theirs: the second
        update finds the status changed, reads it again and decides anew (a late approval
        then finds `merged` and leaves it).
        """
        for _ in range(len(SuggestionStatus)):
            current = str(row.status)
            target = decide(current)
            if target is None:
                return False
            if target == current:
                return True
            moved = await session.execute(
                update(Suggestion)
                .where(Suggestion.id == row.id, Suggestion.status == current)
                .values(status=SuggestionStatus(target), updated_at=self._deps.clock())
                .execution_options(synchronize_session=False)
            )
            if moved.rowcount == 1:
                set_committed_value(row, "status", SuggestionStatus(target))
                return True
            await session.refresh(row, attribute_names=["status"])
        return False
