"""When digests go out and old records are pruned: APScheduler 3 with its job store in
the bot's database.

Every bot process starts a scheduler on the same job store with the same job id, so there
is one digest job however many processes run. A restart keeps the stored next run time,
so a digest whose time passed while no process ran is sent at start (within
`digest.misfire_grace_seconds`, several missed times coalesced into one). Should two
processes still fire the same time, the digest service's period key makes the second
fire record nothing and send nothing. The daily prune is a second stored job on the same
scheduler; it records one outbox job per scheduled time, so it too runs once per period.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import zoneinfo
from typing import TYPE_CHECKING, Any

from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.config import Settings
from bot.store.engine import make_sync_engine

if TYPE_CHECKING:  # the digest service imports the trigger from here
    from bot.services.digests import DigestService
    from bot.services.retention import RetentionService

log = logging.getLogger(__name__)

JOB_ID = "lessonbot-digest"
PRUNE_JOB_ID = "lessonbot-prune"
JOB_TABLE = "apscheduler_jobs"
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_NUMBERED = re.compile(r"^(\d+)(?:-(\d+))?(?:/(\d+))?$")
# The digest service of this process, for the stored job to find: a job store keeps a
# reference to a function and its arguments, never a live object.
_SERVICES: dict[str, tuple[DigestService, asyncio.AbstractEventLoop]] = {}
_SERVICE = "digest"
_PRUNERS: dict[str, tuple[RetentionService, asyncio.AbstractEventLoop]] = {}
_PRUNER = "prune"


def crontab_days(field: str) -> str:
    """Return a crontab day-of-week field in APScheduler 3's terms.

    Crontab counts Sunday as 0 (and 7) and Monday as 1; APScheduler 3 counts Monday as 0,
    so `0 9 * * 1` would fire on Tuesdays. Numbers become day names; names stay.
    """
    if field in ("*", "?"):
        return "*"
    days: list[str] = []
    for part in field.split(","):
        part = part.strip()
        if part.startswith("*/"):
            part = f"0-6{part[1:]}"
        found = _NUMBERED.match(part)
        if found is None:  # a name, a name range, or something CronTrigger will refuse
            days.append(part)
            continue
        first = int(found[1])
        last = int(found[2]) if found[2] is not None else first
        step = int(found[3]) if found[3] is not None else 1
        if not 0 <= first <= last <= 7 or step < 1:
            raise ValueError(f"day of week {part!r} is out of range 0-7")
        days += [_DAYS[day % 7] for day in range(first, last + 1, step)]
    return ",".join(dict.fromkeys(days))


def digest_trigger(schedule: str, timezone: str) -> CronTrigger:
    """Return the trigger of a crontab line (minute hour day month weekday) in a zone."""
    fields = schedule.split()
    if len(fields) != 5:
        raise ValueError(f"a cron line has 5 fields, not {len(fields)}: {schedule!r}")
    minute, hour, day, month, weekday = fields
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=crontab_days(weekday),
        timezone=zoneinfo.ZoneInfo(timezone),
    )


def fire_digest(name: str) -> None:
    """Run the scheduled digest on the bot's event loop (the stored job; a scheduler thread)."""
    registered = _SERVICES.get(name)
    if registered is None:
        log.warning("digest job fired but no digest service %r runs in this process", name)
        return
    service, loop = registered
    asyncio.run_coroutine_threadsafe(run_digest(service), loop).result()


async def run_digest(service: DigestService) -> None:
    """Record the digest of the period due now; its deliveries go out through the worker."""
    result = await service.run()
    log.info(
        "digest %s: %s",
        result.period_key,
        f"{len(result.deliveries)} deliveries queued" if result.created else "already recorded",
    )


def fire_prune(name: str) -> None:
    """Record the scheduled prune on the bot's event loop (the stored job; a scheduler thread)."""
    registered = _PRUNERS.get(name)
    if registered is None:
        log.warning("prune job fired but no retention service %r runs in this process", name)
        return
    service, loop = registered
    job_id = asyncio.run_coroutine_threadsafe(service.schedule(), loop).result()
    log.info("prune %s", "queued" if job_id is not None else "already recorded")


def _place(scheduler: BackgroundScheduler, func: Any, trigger: Any, **job: Any) -> None:
    """Store a job, or replace it when its schedule or function changed.

    An unchanged job keeps its stored next run time, so a time missed while no process ran
    is not skipped.
    """
    existing = scheduler.get_job(job["id"])
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
        self, settings: Settings, service: DigestService, retention: RetentionService | None = None
    ) -> None:
        self._settings = settings
        self._service = service
        self._retention = retention
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
        _SERVICES[_SERVICE] = (self._service, loop)
        if self._retention is not None:
            _PRUNERS[_PRUNER] = (self._retention, loop)
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

    def _start_scheduler(self) -> BackgroundScheduler:
        digest = self._settings.digest
        self._engine = make_sync_engine(self._settings.database.url)
        scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=self._engine, tablename=JOB_TABLE)},
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
            args=[_SERVICE],
            id=JOB_ID,
            name="digest of open questions",
        )
        if self._retention is not None:
            _place(
                scheduler,
                fire_prune,
                digest_trigger(self._settings.retention.schedule, "UTC"),
                args=[_PRUNER],
                id=PRUNE_JOB_ID,
                name="prune of old records",
                # However late (no process ran at its time): a prune is never wrong to run.
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
        if self._catch_up is not None and not self._catch_up.done():
            self._catch_up.cancel()
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
        registered = _SERVICES.get(_SERVICE)
        if registered is not None and registered[0] is self._service:
            del _SERVICES[_SERVICE]
        pruner = _PRUNERS.get(_PRUNER)
        if pruner is not None and pruner[0] is self._retention:
            del _PRUNERS[_PRUNER]

    def remove(self) -> None:
        """Forget the stored job (e.g. when digests are switched off)."""
        if self.scheduler is not None:
            with contextlib.suppress(JobLookupError):
                self.scheduler.remove_job(JOB_ID)
