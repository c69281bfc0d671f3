"""The prune: finished records past their retention are removed, in small batches.

What recovery and the status pages need stays: pending and running jobs, suggestions (and,
unless `retention.suggestion_events_days` says otherwise, their events), open questions,
the digest runs the next digest looks back to, and webhook delivery ids young enough to be
redelivered. Everything else that only grows goes once older than its setting.

Each batch is one short transaction that picks ids (in id order, past the last batch) and
deletes them with the same condition checked again, so a row that changed meanwhile (a
done job asked for again) stays; nothing holds a lock for long, on SQLite or PostgreSQL.
The daily run is an outbox job keyed by its scheduled time (`enqueue_once`): however many
processes fire the schedule, one job runs, once, retried if it fails.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import RetentionSettings
from bot.domain.cron import latest_fire
from bot.domain.retention import (
    DIGEST_DELIVERIES,
    DIGEST_RUNS,
    DONE_JOBS,
    FAILED_JOBS,
    KINDS,
    QUESTIONS,
    SUGGESTION_EVENTS,
    WEBHOOK_DELIVERIES,
    Needs,
    RetentionPolicy,
    cutoffs,
    event_of_job,
    suggestion_of_job,
)
from bot.services.outbox import Claim, JobFailure, Outbox
from bot.store.models import (
    UNFINISHED_SUGGESTION_STATUSES,
    DeliveryChannel,
    DeliveryStatus,
    DigestDelivery,
    DigestRun,
    DigestRunStatus,
    JobStatus,
    OutboxJob,
    Question,
    Suggestion,
    SuggestionEvent,
    WebhookDeliveryRecord,
    utcnow,
)

log = logging.getLogger(__name__)

# How far back the schedule's latest fire time is looked for (a late, missed run).
_LOOKBACK = timedelta(days=32)

Renew = Callable[[], Awaitable[object]]
# Given a batch's rows (id first), the ids to keep after all.
Keep = Callable[[AsyncSession, Sequence[Any]], Awaitable[set[int]]]
# Given the ids about to go, remove (or, dry, count) what depends on them; return how many.
Dependents = Callable[[AsyncSession, list[int], bool], Awaitable[int]]


@dataclass
class PruneReport:
    """What a prune removed (or, dry, would remove), by kind of record."""

    dry_run: bool
    removed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))

    @property
    def total(self) -> int:
        """Return how many rows went (or would go) in all."""
        return sum(self.removed.values())

    def as_json(self) -> dict[str, Any]:
        """Return the record `lessonbot prune --json` prints."""
        return {"dry_run": self.dry_run, "removed": dict(self.removed), "total": self.total}


def policy_of(settings: RetentionSettings) -> RetentionPolicy:
    """Return the retention policy the settings give."""
    return RetentionPolicy(
        done_jobs_days=settings.done_jobs_days,
        failed_jobs_days=settings.failed_jobs_days,
        webhook_deliveries_days=settings.webhook_deliveries_days,
        suggestion_events_days=settings.suggestion_events_days,
        questions_days=settings.questions_days,
        digest_runs_days=settings.digest_runs_days,
    )


class RetentionService:
    """Remove finished records past their retention, daily and on demand."""

    JOB_KIND = "prune"

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        settings: RetentionSettings,
        *,
        wake: Callable[[], None] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._outbox = outbox
        self._settings = settings
        self._wake = wake or (lambda: None)
        self._clock = clock

    # --- the daily run -----------------------------------------------------------------------

    def period_key(self, now: datetime | None = None) -> str:
        """Return the key of the scheduled prune `now` belongs to (its fire time, UTC)."""
        now = now or self._clock()
        fired = latest_fire(self._settings.schedule, "UTC", now, _LOOKBACK)
        chosen = fired or now.replace(second=0, microsecond=0)
        return f"prune:{chosen:%Y-%m-%dT%H:%MZ}"

    async def schedule(self, now: datetime | None = None) -> int | None:
        """Record the prune of the period due now, once; return its job id (None when
        another process, or an earlier fire, recorded it already)."""
        job_id = await self._outbox.enqueue_once(self.JOB_KIND, self.period_key(now), {})
        if job_id is not None:
            self._wake()
        return job_id

    async def run_job(self, claim: Claim) -> str:
        """Prune as a claimed job, renewing its claim between batches, and confirm it."""

        async def prune_and_confirm() -> PruneReport:
            report = await self.prune(renew=lambda: self._outbox.renew(claim))
            await self._outbox.complete(claim)
            return report

        report = await self._outbox.attempt(claim, prune_and_confirm)
        if isinstance(report, JobFailure):
            return report.summary
        summary = ", ".join(f"{kind} {count}" for kind, count in report.removed.items() if count)
        log.info("%s: removed %s", claim.key, summary or "nothing")
        return f"removed {report.total}"

    # --- pruning -------------------------------------------------------------------------------

    async def prune(
        self, now: datetime | None = None, *, dry_run: bool = False, renew: Renew | None = None
    ) -> PruneReport:
        """Remove (or, dry, count) what is past its retention at `now`; report by kind."""
        now = now or self._clock()
        cut = cutoffs(policy_of(self._settings), now)
        report = PruneReport(dry_run)
        removed = report.removed
        if cut.done_jobs is not None:
            removed[DONE_JOBS], _ = await self._sweep(
                OutboxJob,
                and_(
                    OutboxJob.status == JobStatus.DONE,
                    # run_after is the time it was done: it lets the (status, run_after)
                    # index find the candidates.
                    OutboxJob.run_after < cut.done_jobs,
                    OutboxJob.updated_at < cut.done_jobs,
                ),
                dry_run=dry_run,
                renew=renew,
            )
        if cut.failed_jobs is not None:
            removed[FAILED_JOBS], _ = await self._sweep(
                OutboxJob,
                and_(
                    OutboxJob.status == JobStatus.FAILED,
                    OutboxJob.run_after < cut.failed_jobs,
                    OutboxJob.updated_at < cut.failed_jobs,
                ),
                columns=(OutboxJob.dedupe_key,),
                keep=self._failed_jobs_still_wanted,
                dry_run=dry_run,
                renew=renew,
            )
        if cut.webhook_deliveries is not None:
            removed[WEBHOOK_DELIVERIES], _ = await self._sweep(
                WebhookDeliveryRecord,
                WebhookDeliveryRecord.received_at < cut.webhook_deliveries,
                dry_run=dry_run,
                renew=renew,
            )
        if cut.suggestion_events is not None:
            finished = select(Suggestion.id).where(
                Suggestion.status.not_in(list(UNFINISHED_SUGGESTION_STATUSES)),
                Suggestion.updated_at < cut.suggestion_events,
            )
            removed[SUGGESTION_EVENTS], _ = await self._sweep(
                SuggestionEvent,
                and_(
                    SuggestionEvent.created_at < cut.suggestion_events,
                    SuggestionEvent.suggestion_id.in_(finished),
                ),
                columns=(SuggestionEvent.suggestion_id,),
                keep=self._events_still_needed,
                dry_run=dry_run,
                renew=renew,
            )
        if cut.questions is not None:
            removed[QUESTIONS], _ = await self._sweep(
                Question,
                or_(
                    and_(Question.resolved_at.is_not(None), Question.resolved_at < cut.questions),
                    and_(Question.dropped_at.is_not(None), Question.dropped_at < cut.questions),
                ),
                dry_run=dry_run,
                renew=renew,
            )
        if cut.digest_runs is not None:
            removed[DIGEST_RUNS], removed[DIGEST_DELIVERIES] = await self._sweep(
                DigestRun,
                and_(
                    DigestRun.status.in_([DigestRunStatus.DONE, DigestRunStatus.FAILED]),
                    DigestRun.started_at < cut.digest_runs,
                ),
                keep=self._digest_runs_still_needed,
                dependents=_digest_deliveries,
                dry_run=dry_run,
                renew=renew,
            )
        return report

    async def _sweep(
        self,
        model: Any,
        condition: ColumnElement[bool],
        *,
        dry_run: bool,
        columns: Sequence[Any] = (),
        keep: Keep | None = None,
        dependents: Dependents | None = None,
        renew: Renew | None = None,
    ) -> tuple[int, int]:
        """Remove the rows matching `condition`, a batch per transaction; return how many
        (and how many dependent rows went with them)."""
        removed = dependent = 0
        after = 0
        while True:
            async with self._sessions() as session, session.begin():
                rows = (
                    await session.execute(
                        select(model.id, *columns)
                        .where(condition, model.id > after)
                        .order_by(model.id)
                        .limit(self._settings.batch_size)
                    )
                ).all()
                if not rows:
                    break
                after = rows[-1][0]
                kept = await keep(session, rows) if keep is not None else set()
                ids = [row[0] for row in rows if row[0] not in kept]
                if dependents is not None and ids:
                    dependent += await dependents(session, ids, dry_run)
                if dry_run or not ids:
                    removed += len(ids)
                else:
                    # The condition again: a row that changed since it was picked stays.
                    result = await session.execute(
                        delete(model)
                        .where(model.id.in_(ids), condition)
                        .execution_options(synchronize_session=False)
                    )
                    removed += result.rowcount
            if renew is not None:
                await renew()
        return removed, dependent

    # --- what is still needed --------------------------------------------------------------

    @staticmethod
    async def _needs(session: AsyncSession) -> Needs:
        """Return what jobs still to run (pending or running) need."""
        keys = await session.scalars(
            select(OutboxJob.dedupe_key).where(
                OutboxJob.status.in_([JobStatus.PENDING, JobStatus.RUNNING]),
                OutboxJob.dedupe_key.is_not(None),
            )
        )
        return Needs.of_jobs(key for key in keys if key)

    @staticmethod
    async def _failed_jobs_still_wanted(session: AsyncSession, rows: Sequence[Any]) -> set[int]:
        """Keep the failed jobs of suggestions still moving: people retry those."""
        suggestion_of: dict[int, int] = {}
        event_of: dict[int, int] = {}
        for job_id, key in rows:
            if (suggestion_id := suggestion_of_job(key or "")) is not None:
                suggestion_of[job_id] = suggestion_id
            elif (event_id := event_of_job(key or "")) is not None:
                event_of[job_id] = event_id
        if event_of:
            events = await session.execute(
                select(SuggestionEvent.id, SuggestionEvent.suggestion_id).where(
                    SuggestionEvent.id.in_(set(event_of.values()))
                )
            )
            suggestion_by_event = dict(events.tuples().all())
            for job_id, event_id in event_of.items():
                if event_id in suggestion_by_event:
                    suggestion_of[job_id] = suggestion_by_event[event_id]
        if not suggestion_of:
            return set()
        moving = set(
            await session.scalars(
                select(Suggestion.id).where(
                    Suggestion.id.in_(set(suggestion_of.values())),
                    Suggestion.status.in_(list(UNFINISHED_SUGGESTION_STATUSES)),
                )
            )
        )
        return {job_id for job_id, sid in suggestion_of.items() if sid in moving}

    async def _events_still_needed(self, session: AsyncSession, rows: Sequence[Any]) -> set[int]:
        """Keep events a job still to run names (a notice, a post), or whose suggestion's
        jobs still run."""
        needs = await self._needs(session)
        return {
            event_id
            for event_id, suggestion_id in rows
            if event_id in needs.events or suggestion_id in needs.suggestions
        }

    @staticmethod
    async def _digest_runs_still_needed(session: AsyncSession, rows: Sequence[Any]) -> set[int]:
        """Keep the runs the next digest looks back to: the latest scheduled one (since
        when), each address's latest email (its frequency), and any with a delivery
        still to go."""
        ids = [row[0] for row in rows]
        kept: set[int] = set()
        latest = await session.scalar(
            select(DigestRun.id)
            .where(
                DigestRun.status != DigestRunStatus.FAILED,
                DigestRun.period_key.like("scheduled:%"),
            )
            .order_by(DigestRun.started_at.desc(), DigestRun.id.desc())
            .limit(1)
        )
        if latest is not None:
            kept.add(latest)
        newest = (
            select(DigestDelivery.target, func.max(DigestRun.started_at).label("started_at"))
            .join(DigestRun, DigestRun.id == DigestDelivery.run_id)
            .where(DigestDelivery.channel == DeliveryChannel.EMAIL)
            .group_by(DigestDelivery.target)
            .subquery()
        )
        kept |= set(
            await session.scalars(
                select(DigestDelivery.run_id)
                .join(DigestRun, DigestRun.id == DigestDelivery.run_id)
                .join(
                    newest,
                    and_(
                        newest.c.target == DigestDelivery.target,
                        newest.c.started_at == DigestRun.started_at,
                    ),
                )
                .where(DigestDelivery.run_id.in_(ids))
            )
        )
        kept |= set(
            await session.scalars(
                select(DigestDelivery.run_id).where(
                    DigestDelivery.run_id.in_(ids), DigestDelivery.status == DeliveryStatus.PENDING
                )
            )
        )
        return kept


async def _digest_deliveries(session: AsyncSession, run_ids: list[int], dry_run: bool) -> int:
    """Remove (or count) the deliveries of digest runs about to go."""
    where = DigestDelivery.run_id.in_(run_ids)
    if dry_run:
        return int(
            await session.scalar(select(func.count()).select_from(DigestDelivery).where(where)) or 0
        )
    result = await session.execute(
        delete(DigestDelivery).where(where).execution_options(synchronize_session=False)
    )
    return int(result.rowcount)
