"""The write path: every change the bot makes outside its database, as a durable job.

An intent is recorded (`enqueue`), claimed (`claim`), performed by its caller, then
confirmed (`complete`) or given back (`fail`). Claims are exclusive across processes: a
compare-and-set UPDATE that one process wins on SQLite and PostgreSQL alike (PostgreSQL
re-checks the condition on the row it waited for; SQLite runs one writer at a time), with
`FOR UPDATE SKIP LOCKED` on PostgreSQL when picking due work so workers do not queue on
each other's rows. A claim carries a lease: work held by a dead process becomes
claimable when the lease runs out, and is then marked uncertain, so its next holder first
looks for what the dead one may have written. Failing work is retried with exponential
backoff and jitter, and ends as `failed` (visible in `lessonbot jobs list`), never
dropped. A known wait (a service's rate limit until a given time) is no failure: the job
is deferred to that time (`defer`), shown as waiting, and keeps its attempts.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.priorities import JobPriority, default_priority
from bot.services.budgets import deferring
from bot.services.correlation import stamped, unstamped
from bot.services.ports import RateLimitedError
from bot.store.models import JobStatus, OutboxJob, utcnow
from bot.store.sqlite_trips import insert_row
from bot.store.upsert import dialect_name, insert_new

log = logging.getLogger(__name__)

T = TypeVar("T")

# Long enough for one lesson's few requests under GitHub's pacing; each write renews it.
DEFAULT_LEASE = timedelta(seconds=120)
DEFAULT_MAX_ATTEMPTS = 8
# Errors are stored for people to read; a traceback's worth is plenty.
_ERROR_LIMIT = 2000
# The width of the wait_reason column.
_REASON_LIMIT = 200
# What `JobView.status` says of a pending job that waits out a known wait.
WAITING = "waiting"


def _priority(kind: str) -> int:
    return int(default_priority(kind))


class LostClaimError(Exception):
    """Another process took the job over (our lease ran out): stop before writing."""


@dataclass(frozen=True, slots=True)
class JobFailure:
    """Why a claimed job's work did not finish: given back to the outbox, or taken over."""

    message: str
    retried: bool = False
    taken_over: bool = False
    # A known wait (a rate limit until its reset) defers the job without using an attempt.
    waiting: bool = False

    @property
    def counts_as_attempt(self) -> bool:
        """Whether this is a failed attempt worth recording (not a wait, not a takeover)."""
        return not (self.taken_over or self.waiting)

    @property
    def summary(self) -> str:
        """Say in one line what became of the job, for logs and `lessonbot jobs run`."""
        if self.taken_over:
            return "queued: taken over by another process"
        return f"{'queued' if self.retried else 'failed'}: {self.message}"


@dataclass(frozen=True, slots=True)
class Claim:
    """A job held by this process until `complete`, `fail` or the lease runs out."""

    job_id: int
    key: str
    kind: str
    payload: dict[str, Any]
    revision: int
    attempt: int
    token: str
    # True when an earlier attempt may have written without confirming it.
    uncertain: bool
    # How soon it was to run (bot/domain/priorities.py): work it leads to inherits it.
    priority: int = JobPriority.NORMAL


@dataclass(frozen=True, slots=True)
class JobView:
    """A job as `lessonbot jobs list` shows it."""

    id: int
    kind: str
    key: str
    status: str
    attempts: int
    max_attempts: int
    run_after: datetime
    locked_until: datetime | None
    last_error: str | None
    updated_at: datetime
    # What a waiting job waits for (its status is then "waiting", until `run_after`).
    wait_reason: str | None = None
    priority: int = JobPriority.NORMAL

    @property
    def wait(self) -> JobWait | None:
        """Return the known wait this job sits out, if any."""
        if self.status != WAITING or self.wait_reason is None:
            return None
        return JobWait(self.run_after, self.wait_reason)

    def as_json(self) -> dict[str, Any]:
        """Return the record `jobs list --json` prints."""
        return {
            "id": self.id,
            "kind": self.kind,
            "key": self.key,
            "status": self.status,
            "attempts": self.attempts,
            "max_attempts": self.max_attempts,
            "run_after": self.run_after.isoformat(),
            "locked_until": self.locked_until.isoformat() if self.locked_until else None,
            "last_error": self.last_error,
            "updated_at": self.updated_at.isoformat(),
            "wait_reason": self.wait_reason,
            "priority": JobPriority(self.priority).name.lower(),
        }


@dataclass(frozen=True, slots=True)
class JobWait:
    """A known wait a job sits out: until when, and for what (e.g. GitHub's rate limit)."""

    until: datetime
    reason: str

    @property
    def shown_until(self) -> str:
        """Return the end of the wait in UTC as people read it: `10:41`, with the date
        only when it is not today (most waits end within the hour)."""
        until = self.until.astimezone(UTC)
        return f"{until:%H:%M}" if until.date() == utcnow().date() else f"{until:%Y-%m-%d %H:%M}"

    @property
    def text(self) -> str:
        """Return the wait as people read it: `waiting for ... until 10:41 UTC`, with the
        second when it does not end on the minute (a budget's waits are seconds long)."""
        until = self.until.astimezone(UTC)
        shown = self.shown_until
        if until.second or until.microsecond:
            shown = f"{shown}:{until:%S}"
        return f"waiting for {self.reason} until {shown} UTC"


def known_wait(error: BaseException) -> JobWait | None:
    """Return the wait an error asks for (a rate limit with its reset), or None."""
    # No reset given (retry_at unset): an ordinary failure, with its backoff and attempts,
    # rather than a wait that would end at once, again and again.
    if not isinstance(error, RateLimitedError) or error.retry_at <= 0:
        return None
    until = datetime.fromtimestamp(error.retry_at, UTC)
    return JobWait(until, error.reason or f"{error.service}'s rate limit")


def error_line(error: BaseException) -> str:
    """Return what a failed job records of its error: its type and first line."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def backoff_delay(
    attempt: int,
    *,
    base: float = 2.0,
    cap: float = 900.0,
    rng: Callable[[], float] = random.random,
) -> float:
    """Return seconds to wait before attempt `attempt + 1`: exponential, with jitter."""
    ceiling = min(cap, base * 2 ** max(attempt - 1, 0))
    # Half fixed, half random: never immediately, and retries of many jobs spread out.
    return ceiling / 2 + ceiling / 2 * rng()


class Outbox:
    """Durable, exclusive, retried jobs in the bot's database."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        lease: timedelta = DEFAULT_LEASE,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        backoff_base: float = 2.0,
        backoff_cap: float = 900.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._lease = lease
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._clock = clock

    # --- recording intents ----------------------------------------------------------------

    async def enqueue(
        self, kind: str, key: str, payload: dict[str, Any], *, priority: int | None = None
    ) -> int:
        """Record an intent under its key and return the job id.

        A key names one thing (a lesson, a suggestion): a newer intent for it replaces the
        payload of a job not yet done and bumps its revision; a done or failed job is made
        pending again. The same payload twice changes nothing, so re-planning is free.
        `priority` defaults to the kind's (bot/domain/priorities.py); a job not yet done
        keeps the more urgent of its own and the new one.
        """
        return (await self.enqueue_many(kind, [(key, payload)], priority=priority))[key]

    async def enqueue_many(
        self,
        kind: str,
        intents: Sequence[tuple[str, dict[str, Any]]],
        session: AsyncSession | None = None,
        *,
        priority: int | None = None,
    ) -> dict[str, int]:
        """Record several intents in one transaction; return job ids by key.

        With `session`, the intents join the caller's transaction (a stored suggestion and
        the job that opens its PR commit together, or neither does).
        """
        if not intents:
            return {}
        level = int(default_priority(kind) if priority is None else priority)
        if session is not None:
            return await self._enqueue_in(session, kind, intents, level)
        async with self._sessions() as session, session.begin():
            return await self._enqueue_in(session, kind, intents, level)

    async def enqueue_new(
        self, session: AsyncSession, kind: str, key: str, payload: dict[str, Any]
    ) -> int:
        """Record an intent in the caller's transaction, in one INSERT when its key is new.

        A key already recorded (a job left by an earlier row with the same id) goes the way
        `enqueue_many` takes it, so the outcome is the same; only the common case is cheaper.
        """
        connection = await session.connection()
        row = self.new_job_row(kind, key, payload)
        if connection.dialect.name == "sqlite":
            # One trip to aiosqlite's thread, not four, while the caller holds the writer lock.
            job_id = await insert_row(
                connection, OutboxJob.__table__, row, skip_existing=["dedupe_key"]
            )
        else:
            job_id = (
                await connection.execute(
                    insert_new(session, OutboxJob, ["dedupe_key"]).returning(OutboxJob.id), row
                )
            ).scalar()
        if job_id is not None:
            return int(job_id)
        return await self.enqueue_recorded(session, kind, key, payload)

    def new_job_row(self, kind: str, key: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Return the columns of a new pending job, for a caller's own INSERT of it.

        Insert it skipping a `dedupe_key` already recorded, then call `enqueue_recorded`
        when it was skipped: `enqueue_new` does both.
        """
        return self._new_row(kind, key, stamped(payload), self._clock(), _priority(kind))

    async def enqueue_recorded(
        self, session: AsyncSession, kind: str, key: str, payload: dict[str, Any]
    ) -> int:
        """Record an intent whose INSERT of `new_job_row` met its key, as `enqueue_many` would."""
        return (await self._enqueue_in(session, kind, [(key, payload)], _priority(kind)))[key]

    def _new_row(
        self, kind: str, key: str, payload: dict[str, Any], now: datetime, priority: int
    ) -> dict[str, Any]:
        """Return the columns of a new pending job."""
        return {
            "kind": kind,
            "dedupe_key": key,
            "payload": payload,
            "status": JobStatus.PENDING,
            "attempts": 0,
            "max_attempts": self._max_attempts,
            "run_after": now,
            "revision": 1,
            "uncertain": False,
            "priority": priority,
            "created_at": now,
            "updated_at": now,
        }

    async def _enqueue_in(
        self,
        session: AsyncSession,
        kind: str,
        intents: Sequence[tuple[str, dict[str, Any]]],
        priority: int,
    ) -> dict[str, int]:
        now = self._clock()
        # Each job carries the correlation id of the work that recorded it (its logs follow).
        intents = [(key, stamped(payload)) for key, payload in intents]
        # Insert what is new; a key another process inserted first is left to the
        # update below, so two planners never collide on the unique key.
        rows = [self._new_row(kind, key, payload, now, priority) for key, payload in intents]
        await session.execute(insert_new(session, OutboxJob, ["dedupe_key"]), rows)
        keys = [key for key, _ in intents]
        existing = {
            job.dedupe_key: job
            for job in (
                await session.execute(select(OutboxJob).where(OutboxJob.dedupe_key.in_(keys)))
            ).scalars()
        }
        ids: dict[str, int] = {}
        for key, payload in intents:
            job = existing[key]
            ids[key] = job.id
            finished = job.status in (JobStatus.DONE, JobStatus.FAILED)
            # Only the work counts: a re-plan under another correlation id changes nothing.
            if job.kind == kind and unstamped(job.payload) == unstamped(payload):
                if finished:
                    # Asked for again: a done job whose world changed back, or a
                    # failed one someone retries by re-running the command.
                    await self._reopen(session, job.id, job.revision, now, priority)
                elif priority < job.priority:
                    # The same work, wanted sooner (a person touched the lesson).
                    await session.execute(
                        update(OutboxJob)
                        .where(OutboxJob.id == job.id, OutboxJob.priority > priority)
                        .values(priority=priority)
                    )
                continue
            await session.execute(
                update(OutboxJob)
                .where(OutboxJob.id == job.id)
                .values(
                    kind=kind,
                    payload=payload,
                    revision=OutboxJob.revision + 1,
                    status=_reopened_status(),
                    # A new intent gets its own attempts, even where an old one failed.
                    attempts=0 if job.status == JobStatus.FAILED else OutboxJob.attempts,
                    max_attempts=self._max_attempts,
                    run_after=_still_waiting_or(now),
                    # A new intent for finished work is as urgent as it says; one for
                    # work still to do keeps the more urgent of the two.
                    priority=priority if finished else _more_urgent(priority),
                    updated_at=now,
                )
            )
        return ids

    async def _reopen(
        self,
        session: AsyncSession,
        job_id: int,
        revision: int,
        now: datetime,
        priority: int | None = None,
    ) -> None:
        await session.execute(
            update(OutboxJob)
            .where(
                OutboxJob.id == job_id,
                OutboxJob.revision == revision,
                OutboxJob.status.in_([JobStatus.DONE, JobStatus.FAILED]),
            )
            .values(
                status=JobStatus.PENDING,
                attempts=0,
                run_after=now,
                wait_reason=None,
                updated_at=now,
                **({} if priority is None else {"priority": priority}),
            )
        )

    async def enqueue_once(self, kind: str, key: str, payload: dict[str, Any]) -> int | None:
        """Record an intent only if its key was never recorded; return the new job's id.

        Unlike `enqueue`, a done job under the key is left done: what is keyed by a period
        (a day's prune) runs once per period however many processes ask for it.
        """
        now = self._clock()
        async with self._sessions() as session, session.begin():
            inserted = await session.execute(
                insert_new(session, OutboxJob, ["dedupe_key"])
                .values(
                    kind=kind,
                    dedupe_key=key,
                    payload=stamped(payload),
                    status=JobStatus.PENDING,
                    attempts=0,
                    max_attempts=self._max_attempts,
                    run_after=now,
                    revision=1,
                    uncertain=False,
                    priority=int(default_priority(kind)),
                    created_at=now,
                    updated_at=now,
                )
                .returning(OutboxJob.id)
            )
            return inserted.scalar()

    @property
    def lease_seconds(self) -> float:
        """Return how long a claim holds without news from its holder."""
        return self._lease.total_seconds()

    async def state(self, job_id: int) -> JobView | None:
        """Return one job as it is now."""
        async with self._sessions() as session:
            row = await session.get(OutboxJob, job_id)
            return _view(row) if row is not None else None

    async def latest_payload(self, key: str) -> dict[str, Any] | None:
        """Return the newest intent recorded under a key (whatever its status), or None."""
        async with self._sessions() as session:
            payload = await session.scalar(
                select(OutboxJob.payload).where(OutboxJob.dedupe_key == key)
            )
        return dict(payload) if isinstance(payload, dict) else None

    async def waiting(self, key: str) -> JobWait | None:
        """Return the known wait the job under `key` sits out, or None (no such job, or
        one that is merely due later, running, done or failed)."""
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(OutboxJob.status, OutboxJob.run_after, OutboxJob.wait_reason).where(
                        OutboxJob.dedupe_key == key
                    )
                )
            ).first()
        if row is None or row.status != JobStatus.PENDING or row.wait_reason is None:
            return None
        return JobWait(row.run_after, row.wait_reason)

    async def raise_priority(self, keys: Sequence[str], priority: int) -> int:
        """Make the jobs under `keys` not yet done at least as urgent as `priority`, in one
        UPDATE; return how many moved up (a person touched what they are about)."""
        if not keys:
            return 0
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(OutboxJob)
                .where(
                    OutboxJob.dedupe_key.in_(list(keys)),
                    OutboxJob.status.in_([JobStatus.PENDING, JobStatus.RUNNING]),
                    OutboxJob.priority > int(priority),
                )
                .values(priority=int(priority))
                .execution_options(synchronize_session=False)
            )
        return int(result.rowcount or 0)

    # --- claiming -------------------------------------------------------------------------

    async def claim(self, job_id: int) -> Claim | None:
        """Claim one job now, due or not; None while another live process holds it
        (or when it is done)."""
        now = self._clock()
        token = holder_token()
        async with self._sessions() as session, session.begin():
            claimed = await self._take(session, [job_id], token, now)
        return claimed[0] if claimed else None

    async def claim_due(
        self,
        limit: int = 10,
        kinds: Sequence[str] | None = None,
        priorities: Sequence[int] | None = None,
    ) -> list[Claim]:
        """Claim up to `limit` due jobs (pending and due, or held past their lease): the
        most urgent first, then the longest due, then the oldest; only of `kinds` and
        `priorities` when given (a worker's lane)."""
        now = self._clock()
        token = holder_token()
        async with self._sessions() as session, session.begin():
            # First what a process of this host killed mid-job still holds: its write may
            # have landed, so it goes before new work rather than after a backlog (or its
            # whole lease).
            ids = await self._held_by_dead_processes(session, limit, kinds, priorities, now)
            query = (
                select(OutboxJob.id)
                .where(
                    or_(
                        and_(OutboxJob.status == JobStatus.PENDING, OutboxJob.run_after <= now),
                        and_(OutboxJob.status == JobStatus.RUNNING, OutboxJob.locked_until < now),
                    )
                )
                .order_by(OutboxJob.priority, OutboxJob.run_after, OutboxJob.id)
                .limit(limit - len(ids))
            )
            if kinds is not None:
                query = query.where(OutboxJob.kind.in_(list(kinds)))
            if priorities is not None:
                query = query.where(OutboxJob.priority.in_([int(p) for p in priorities]))
            if dialect_name(session) == "postgresql":
                query = query.with_for_update(skip_locked=True)
            if len(ids) < limit:
                ids += list((await session.execute(query)).scalars())
            return await self._take(session, ids, token, now)

    @staticmethod
    async def _held_by_dead_processes(
        session: AsyncSession,
        limit: int,
        kinds: Sequence[str] | None,
        priorities: Sequence[int] | None,
        now: datetime,
    ) -> list[int]:
        query = select(OutboxJob.id, OutboxJob.locked_by).where(
            OutboxJob.status == JobStatus.RUNNING,
            OutboxJob.locked_until >= now,
            OutboxJob.locked_by.like(f"{socket.gethostname()[:20]}:%"),
        )
        if kinds is not None:
            query = query.where(OutboxJob.kind.in_(list(kinds)))
        if priorities is not None:
            query = query.where(OutboxJob.priority.in_([int(p) for p in priorities]))
        rows = (await session.execute(query)).all()
        return [job_id for job_id, locked_by in rows if holder_is_dead(locked_by)][:limit]

    async def _take(
        self, session: AsyncSession, ids: Sequence[int], token: str, now: datetime
    ) -> list[Claim]:
        claims = []
        for job_id in ids:
            job = await session.get(OutboxJob, job_id, populate_existing=True)
            if job is None:
                continue
            expired = job.status == JobStatus.RUNNING and (
                job.locked_until is None or job.locked_until < now or holder_is_dead(job.locked_by)
            )
            if job.status != JobStatus.PENDING and not expired:
                continue
            # The compare-and-set: of two processes, one UPDATE matches and one does not.
            claim_token = f"{token}{job_id}"
            result = await session.execute(
                update(OutboxJob)
                .where(
                    OutboxJob.id == job_id,
                    OutboxJob.status == job.status,
                    _same_holder(job.locked_by),
                )
                .values(
                    status=JobStatus.RUNNING,
                    locked_by=claim_token,
                    locked_until=now + self._lease,
                    attempts=OutboxJob.attempts + 1,
                    # Whoever held it before may have written: look before writing again.
                    uncertain=True,
                    wait_reason=None,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:
                continue
            if expired:
                log.warning(
                    "job %d (%s) taken over from %s, which stopped",
                    job_id,
                    job.dedupe_key,
                    job.locked_by,
                )
            claims.append(
                Claim(
                    job_id=job_id,
                    key=job.dedupe_key or "",
                    kind=job.kind,
                    payload=dict(job.payload),
                    revision=job.revision,
                    attempt=job.attempts + 1,
                    token=claim_token,
                    uncertain=job.uncertain or expired,
                    priority=job.priority,
                )
            )
        return claims

    async def renew(self, claim: Claim, session: AsyncSession | None = None) -> None:
        """Extend the lease; LostClaimError when another process took over.

        With a session, it joins that transaction, so recording a write's result and
        renewing the claim cost one commit.
        """
        if session is None:
            async with self._sessions() as own, own.begin():
                return await self.renew(claim, own)
        result = await session.execute(
            update(OutboxJob)
            .where(OutboxJob.id == claim.job_id, OutboxJob.locked_by == claim.token)
            .values(locked_until=self._clock() + self._lease)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            raise LostClaimError(f"job {claim.job_id} ({claim.key}) is held by another process")

    # --- confirming -----------------------------------------------------------------------

    async def complete(self, claim: Claim, session: AsyncSession | None = None) -> bool:
        """Confirm the job done; return False when a newer intent arrived meanwhile (the
        job is left pending for it). With a session, it joins that transaction."""
        if session is None:
            async with self._sessions() as own, own.begin():
                return await self.complete(claim, own)
        now = self._clock()
        current = await session.scalar(
            select(OutboxJob.revision).where(
                OutboxJob.id == claim.job_id, OutboxJob.locked_by == claim.token
            )
        )
        if current is None:
            raise LostClaimError(f"job {claim.job_id} ({claim.key}) is held by another process")
        newer = current != claim.revision
        await session.execute(
            update(OutboxJob)
            .where(OutboxJob.id == claim.job_id, OutboxJob.locked_by == claim.token)
            .values(
                status=JobStatus.PENDING if newer else JobStatus.DONE,
                locked_by=None,
                locked_until=None,
                attempts=0,
                uncertain=False,
                last_error=None,
                wait_reason=None,
                run_after=now,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        return not newer

    async def fail(
        self,
        claim: Claim,
        error: str,
        *,
        retry: bool = True,
        cause: BaseException | None = None,
    ) -> bool:
        """Give the job back after an error; return True when it will run again.

        It stays uncertain: the error may have come after a write that went through. When
        `cause` asks for a known wait (a rate limit until its reset), the job is deferred
        to then instead (`defer`): no attempt is used up, and it is never failed for it.
        """
        wait = known_wait(cause) if cause is not None and retry else None
        if wait is not None:
            return await self.defer(claim, wait.until, wait.reason, error=error)
        now = self._clock()
        async with self._sessions() as session, session.begin():
            job = await session.get(OutboxJob, claim.job_id, populate_existing=True)
            if job is None or job.locked_by != claim.token:
                return False
            again = retry and job.attempts < job.max_attempts
            delay = backoff_delay(job.attempts, base=self._backoff_base, cap=self._backoff_cap)
            job.status = JobStatus.PENDING if again else JobStatus.FAILED
            job.locked_by = None
            job.locked_until = None
            job.last_error = error[:_ERROR_LIMIT]
            job.wait_reason = None
            job.run_after = now + timedelta(seconds=delay) if again else now
            job.updated_at = now
        if not again:
            log.error("job %d (%s) failed for good: %s", claim.job_id, claim.key, error)
        return again

    async def attempt(
        self, claim: Claim, work: Callable[[], Awaitable[T]], *, label: str | None = None
    ) -> T | JobFailure:
        """Run a claimed job's work; on an error give the job back and say why, never raise.

        Every job kind goes through here, so a failure is always kept and retried (or ends
        `failed`), and a claim lost to another process always stops without writing more.
        `label` names the job in the log line (its key by default).
        """
        name = label or claim.key
        try:
            # A long wait for a rate budget defers the job rather than hold its claim.
            with deferring():
                return await work()
        except LostClaimError:
            log.warning("%s: another process took it over", name)
            return JobFailure("taken over by another process", taken_over=True)
        except Exception as error:  # kept and retried, never dropped
            message = error_line(error)
            retried = await self.fail(claim, message, cause=error)
            log.warning("%s: %s (%s)", name, message, "will retry" if retried else "failed")
            log.debug("%s failed", name, exc_info=True)
            return JobFailure(message, retried=retried, waiting=known_wait(error) is not None)

    async def defer(
        self, claim: Claim, until: datetime, reason: str, *, error: str | None = None
    ) -> bool:
        """Put the job back to wait until `until` for `reason` (e.g. GitHub's rate limit).

        A known wait is not a failed attempt: the attempt this claim counted is given
        back, and the job shows as waiting until then, when it runs again by itself. Only
        the claim's holder can defer it; return False when another process holds it now.
        """
        now = self._clock()
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(OutboxJob)
                .where(OutboxJob.id == claim.job_id, OutboxJob.locked_by == claim.token)
                .values(
                    status=JobStatus.PENDING,
                    locked_by=None,
                    locked_until=None,
                    attempts=OutboxJob.attempts - 1,
                    run_after=max(until, now),
                    wait_reason=reason[:_REASON_LIMIT],
                    last_error=(error or reason)[:_ERROR_LIMIT],
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
        if result.rowcount != 1:
            return False
        log.info("job %d (%s) %s", claim.job_id, claim.key, JobWait(max(until, now), reason).text)
        return True

    async def release(self, claim: Claim) -> None:
        """Give the job back untouched (e.g. the process is stopping): due again at once."""
        now = self._clock()
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(OutboxJob)
                .where(OutboxJob.id == claim.job_id, OutboxJob.locked_by == claim.token)
                .values(
                    status=JobStatus.PENDING,
                    locked_by=None,
                    locked_until=None,
                    attempts=OutboxJob.attempts - 1,
                    run_after=now,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )

    # --- mutual exclusion -----------------------------------------------------------------

    @asynccontextmanager
    async def exclusive(
        self, key: str, *, wait: float = 300.0, poll: float = 0.2
    ) -> AsyncIterator[Claim]:
        """Hold a named lock across processes for the block (e.g. creating a forum once).

        Waits while another live process holds it; its lease protects against a holder
        that died.
        """
        job_id = await self.enqueue("lock", key, {})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while (claim := await self.claim(job_id)) is None:
            if loop.time() > deadline:
                raise TimeoutError(f"{key} is held by another process")
            await asyncio.sleep(poll)
            await self._reopen_done(job_id)
        try:
            yield claim
        finally:
            await self.complete(claim)

    async def _reopen_done(self, job_id: int) -> None:
        now = self._clock()
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(OutboxJob)
                .where(OutboxJob.id == job_id, OutboxJob.status == JobStatus.DONE)
                .values(status=JobStatus.PENDING, run_after=now, updated_at=now)
            )

    # --- for people -----------------------------------------------------------------------

    async def jobs(self, statuses: Sequence[JobStatus] | None = None) -> list[JobView]:
        """Return jobs (all, or those in `statuses`), oldest first; locks are left out."""
        async with self._sessions() as session:
            query = select(OutboxJob).where(OutboxJob.kind != "lock").order_by(OutboxJob.id)
            if statuses is not None:
                query = query.where(OutboxJob.status.in_(list(statuses)))
            rows = (await session.execute(query)).scalars().all()
        return [_view(row) for row in rows]

    async def retry(self, job_id: int) -> JobView | None:
        """Make a failed (or waiting) job due now with fresh attempts; None if unknown."""
        now = self._clock()
        async with self._sessions() as session, session.begin():
            job = await session.get(OutboxJob, job_id)
            if job is None or job.kind == "lock":
                return None
            if job.status in (JobStatus.FAILED, JobStatus.PENDING):
                job.status = JobStatus.PENDING
                job.attempts = 0
                job.run_after = now
                job.wait_reason = None
                job.updated_at = now
        return next((view for view in await self.jobs() if view.id == job_id), None)


def _view(row: OutboxJob) -> JobView:
    status = JobStatus(row.status)
    waiting = status == JobStatus.PENDING and row.wait_reason is not None
    return JobView(
        id=row.id,
        kind=row.kind,
        key=row.dedupe_key or "",
        status=WAITING if waiting else status.value,
        attempts=row.attempts,
        max_attempts=row.max_attempts,
        run_after=row.run_after,
        locked_until=row.locked_until,
        last_error=row.last_error,
        updated_at=row.updated_at,
        wait_reason=row.wait_reason if waiting else None,
        priority=row.priority,
    )


def holder_token() -> str:
    """Return a fresh claim token naming this host and process (for dead-holder checks)."""
    return f"{socket.gethostname()[:20]}:{os.getpid()}:{secrets.token_hex(8)}"


def holder_is_dead(locked_by: str | None) -> bool:
    """Return whether a claim's holder is a process of this host that no longer runs.

    Such a claim is taken over at once rather than when its lease runs out: what a
    `kill -9` leaves behind is picked up by the next run.
    """
    if not locked_by:
        return False
    host, _, rest = locked_by.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname()[:20] or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    # A killed child its parent has not reaped yet still answers kill(0).
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rpartition(")")[2].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _reopened_status() -> Any:
    # A running job keeps running (its holder will see the new revision when it
    # confirms); anything else becomes pending for the new intent.
    return case(
        (OutboxJob.status == JobStatus.RUNNING, JobStatus.RUNNING.value),
        else_=JobStatus.PENDING.value,
    )


def _still_waiting_or(now: datetime) -> Any:
    # A newer intent for a job sitting out a known wait (a rate limit) waits too: running
    # it now would only meet the same limit.
    return case(
        (and_(OutboxJob.wait_reason.is_not(None), OutboxJob.run_after > now), OutboxJob.run_after),
        else_=now,
    )


def _more_urgent(priority: int) -> Any:
    # LEAST on PostgreSQL is MIN on SQLite: a CASE reads the same on both.
    return case((OutboxJob.priority > priority, priority), else_=OutboxJob.priority)


def _same_holder(locked_by: str | None) -> Any:
    # The row must still be as we read it: nobody claimed it in between.
    if locked_by is None:
        return OutboxJob.locked_by.is_(None)
    return OutboxJob.locked_by == locked_by
