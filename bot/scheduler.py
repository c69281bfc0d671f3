"""When digests go out and old records are pruned: APScheduler 3 with its job store in
the bot's database.

Every bot process starts a scheduler on the same job store with the same job id, so there
is one digest job however many processes run. A restart keeps the stored next run time,
so a digest whose time passed while no process ran is sent at start (within
`digest.misfire_grace_seconds`, several missed times coalesced into one). Should two
processes still fire the same time, the digest service's period key makes the second
fire record nothing and send nothing. The daily prune is a second stored job on the same
scheduler; it records one outbox job per scheduled time, so it too runs once per period.

It drives the digest and retention services from outside, as the Discord and web adapters
do, and holds infrastructure (a thread, a blocking database engine): it sits beside those
adapters, and no service imports it. The cron lines themselves are read in bot.domain.cron.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import zoneinfo
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import inspect
from sqlalchemy.exc import DBAPIError

from bot.config import Settings
from bot.domain.cron import parse_cron
from bot.services import correlation
from bot.services.digests import DigestService
from bot.services.questions.nudges import NudgeService
from bot.services.retention import RetentionService
from bot.store.engine import make_sync_engine

log = logging.getLogger(__name__)

JOB_ID = "lessonbot-digest"
PRUNE_JOB_ID = "lessonbot-prune"
NUDGE_JOB_ID = "lessonbot-nudges"
JOB_TABLE = "apscheduler_jobs"
# The names a stored job's arguments carry, for its function to find what it runs.
_DIGEST = "digest"
_PRUNE = "prune"
_NUDGES = "nudges"


@dataclass(frozen=True, slots=True)
class _Running:
    """What a stored job runs in this process, and the event loop it runs on."""

    owner: DigestScheduler
    run: Callable[[], Coroutine[Any, Any, None]]
    loop: asyncio.AbstractEventLoop


# The job store keeps a job as a textual reference to a module-level function and its
# (pickled) arguments, never a live object: the function finds this process's service
# here, by the name in its arguments. Only a started DigestScheduler puts an entry here,
# and its shutdown takes it out again.
_RUNNING: dict[str, _Running] = {}


def digest_trigger(schedule: str, timezone: str) -> CronTrigger:
    """Return the trigger of a crontab line (minute hour day month weekday) in a zone."""
    cron = parse_cron(schedule)
    return CronTrigger(
        minute=cron.minute,
        hour=cron.hour,
        day=cron.day,
        month=cron.month,
        day_of_week=cron.day_of_week,
        timezone=zoneinfo.ZoneInfo(timezone),
    )


def fire_digest(name: str) -> None:
    """Run the scheduled digest on the bot's event loop (the stored job; a scheduler thread)."""
    _fire(name, "digest job fired but no digest service %r runs in this process")


def fire_prune(name: str) -> None:
    """Record the scheduled prune on the bot's event loop (the stored job; a scheduler thread)."""
    _fire(name, "prune job fired but no retention service %r runs in this process")


def fire_nudges(name: str) -> None:
    """Run the nudge scan on the bot's event loop (the stored job; a scheduler thread)."""
    _fire(name, "nudge job fired but no nudge service %r runs in this process")


def _fire(name: str, missing: str) -> None:
    running = _RUNNING.get(name)
    if running is None:
        log.warning(missing, name)
        return
    asyncio.run_coroutine_threadsafe(running.run(), running.loop).result()


async def run_digest(service: DigestService) -> None:
    """Record the digest of the period due now; its deliveries go out through the worker."""
    # A scheduled run is a door: its deliveries' jobs carry its correlation id.
    with correlation.correlated(correlation.new_id("schedule")):
        await _run_digest(service)


async def _run_digest(service: DigestService) -> None:
    result = await service.run()
    log.info(
        "digest %s: %s",
        result.period_key,
        f"{len(result.deliveries)} deliveries queued" if result.created else "already recorded",
    )


async def run_prune(service: RetentionService) -> None:
    """Record the prune of the period due now; the worker runs it."""
    with correlation.correlated(correlation.new_id("schedule")):
        job_id = await service.schedule()
        log.info("prune %s", "queued" if job_id is not None else "already recorded")


async def run_nudges(service: NudgeService) -> None:
    """Claim the nudges due now; the worker posts them."""
    with correlation.correlated(correlation.new_id("schedule")):
        try:
            claimed = await service.scan()
        except Exception:
            # The next scan finds what this one missed: claims are kept in the database.
            log.exception("nudge scan failed")
            return
        log.info("nudges: %d queued", claimed)


def _place(scheduler: BackgroundScheduler, func: Any, trigger: Any, **job: Any) -> None:
    """Store a job, or replace it when its schedule or function changed.

    An unchanged job keeps its stored next run time, so a time missed while no process ran
    is not skipped.
    """
    try:
        existing = scheduler.get_job(job["id"])
    except LookupError:
        # Stored by a version whose function lived elsewhere (this module was once
        # bot/services/schedule.py): replaced below like any job whose function changed.
        existing = None
    if (
        existing is None
        or str(existing.trigger) != str(trigger)
        or existing.func_ref != f"{func.__module__}:{func.__qualname__}"
    ):
        scheduler.add_job(func, trigger, replace_existing=True, **job)


class DigestScheduler:
    """The digest's and the prune's schedules, stored in the bot's database and shared by
    its processes."""

    def __init__(
        self,
        settings: Settings,
        service: DigestService,
        retention: RetentionService | None = None,
        nudges: NudgeService | None = None,
    ) -> None:
        self._settings = settings
        self._service = service
        self._retention = retention
        self._nudges = nudges
        self._engine: Any = None
        self._catch_up: asyncio.Task[Any] | None = None
        self._starting: asyncio.Future[BackgroundScheduler] | None = None
        self.scheduler: BackgroundScheduler | None = None

    async def start(self) -> None:
        """Start scheduling; keep a stored job's next run time.

        The job store is a blocking SQLAlchemy one: it works in the scheduler's own thread
        (here, and whenever it fires), never on the event loop, where a blocking wait for
        SQLite's write lock would stall the very transaction holding it.
        """
        loop = asyncio.get_running_loop()
        self._register(loop)
        # Shielded: a stop during the start lets it finish, so `shutdown` has a scheduler
        # and connections to close rather than a thread nobody knows about.
        self._starting = asyncio.ensure_future(asyncio.to_thread(self._start_scheduler))
        self.scheduler = await asyncio.shield(self._starting)
        # A process that stopped after the scheduler moved on but before the run was
        # recorded would skip that digest: run it now if it is within the grace time.
        self._catch_up = loop.create_task(self._catch_up_all())

    async def _catch_up_all(self) -> None:
        await self._service.catch_up()
        if self._retention is not None:
            # The prune of the latest scheduled time, unless it was recorded: a time that
            # passed while no process ran (or whose firing a stopping process lost) still
            # gets its prune, once, whatever the number of processes starting.
            await self._retention.schedule()
        # Said once the start's catch-up is recorded, so operators (and tests) can tell.
        log.info("schedules caught up")

    def _start_scheduler(self) -> BackgroundScheduler:
        digest = self._settings.digest
        self._engine = make_sync_engine(self._settings.database.url)
        store = SQLAlchemyJobStore(engine=self._engine, tablename=JOB_TABLE)
        _create_job_table(self._engine, store)
        scheduler = BackgroundScheduler(
            jobstores={"default": store},
            job_defaults={
                "coalesce": True,
                "misfire_grace_time": digest.misfire_grace_seconds or None,
                "max_instances": 1,
            },
            timezone=zoneinfo.ZoneInfo(digest.timezone),
        )
        scheduler.start(paused=True)
        _place(
            scheduler,
            fire_digest,
            digest_trigger(digest.schedule, digest.timezone),
            args=[_DIGEST],
            id=JOB_ID,
            name="digest of open questions",
        )
        if self._retention is not None:
            _place(
                scheduler,
                fire_prune,
                digest_trigger(self._settings.retention.schedule, "UTC"),
                args=[_PRUNE],
                id=PRUNE_JOB_ID,
                name="prune of old records",
                # However late (no process ran at its time): a prune is never wrong to run.
                misfire_grace_time=None,
            )
        if self._nudges is not None:
            _place(
                scheduler,
                fire_nudges,
                digest_trigger(self._settings.questions.nudge_schedule, "UTC"),
                args=[_NUDGES],
                id=NUDGE_JOB_ID,
                name="nudges of waiting questions",
                # A missed scan is simply the next one: several are never worth running.
                misfire_grace_time=None,
            )
        scheduler.resume()
        job = scheduler.get_job(JOB_ID)
        log.info("next digest at %s", job.next_run_time if job else "never")
        return scheduler

    def next_run_time(self) -> Any:
        """Return when the digest job fires next (None when not scheduled)."""
        job = self.scheduler.get_job(JOB_ID) if self.scheduler else None
        return job.next_run_time if job else None

    async def caught_up(self) -> None:
        """Wait for the start's catch-up run (tests and orderly shutdowns)."""
        if self._catch_up is not None:
            await self._catch_up

    async def shutdown(self) -> None:
        """Stop scheduling and close the job store's connections (the job stays stored).

        Waited for off the loop: a firing job may be waiting on the loop for its digest,
        and a connection left open would keep SQLite's write-ahead log after the bot stops.
        """
        if self._catch_up is not None:
            self._catch_up.cancel()
            # Awaited, not just cancelled: a catch-up cut short mid-transaction still has to
            # give its connection back, and the app disposes of the engine right after this.
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._catch_up
            self._catch_up = None
        if self._starting is not None:
            with contextlib.suppress(Exception):
                self.scheduler = await self._starting
            self._starting = None
        scheduler, self.scheduler = self.scheduler, None
        engine, self._engine = self._engine, None

        def stop() -> None:
            if scheduler is not None:
                scheduler.shutdown(wait=True)
            if engine is not None:
                engine.dispose()

        await asyncio.to_thread(stop)
        self._unregister()

    def _register(self, loop: asyncio.AbstractEventLoop) -> None:
        """Let the stored jobs find this scheduler's services while it runs."""
        _RUNNING[_DIGEST] = _Running(self, functools.partial(run_digest, self._service), loop)
        if self._retention is not None:
            _RUNNING[_PRUNE] = _Running(self, functools.partial(run_prune, self._retention), loop)
        if self._nudges is not None:
            _RUNNING[_NUDGES] = _Running(self, functools.partial(run_nudges, self._nudges), loop)

    def _unregister(self) -> None:
        """Take this scheduler's services out again, leaving a later scheduler's in place."""
        for name in (_DIGEST, _PRUNE, _NUDGES):
            running = _RUNNING.get(name)
            if running is not None and running.owner is self:
                del _RUNNING[name]

    def remove(self) -> None:
        """Forget the stored job (e.g. when digests are switched off)."""
        if self.scheduler is not None:
            with contextlib.suppress(JobLookupError):
                self.scheduler.remove_job(JOB_ID)


def _create_job_table(engine: Any, store: SQLAlchemyJobStore) -> None:
    """Create the job store's table once, however many processes start at the same time.

    The store creates it itself when missing, but two schedulers starting together both
    find it missing, and the second's CREATE fails on the first's table (SQLite takes no
    lock to look, and PostgreSQL refuses the second table type): that one then finds it.
    """
    try:
        with engine.begin() as connection:
            store.jobs_t.create(connection, checkfirst=True)
    except DBAPIError:
        if not inspect(engine).has_table(JOB_TABLE):
            raise
