"""The digest schedule: the trigger of a cron line, and a stored job shared by processes."""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import threading
import types
import zoneinfo
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import DatabaseSettings, DigestSettings
from bot.domain.cron import latest_fire
from bot.scheduler import (
    JOB_ID,
    JOB_TABLE,
    NUDGE_JOB_ID,
    PRUNE_JOB_ID,
    DigestScheduler,
    _create_job_table,
    digest_trigger,
    fire_digest,
    fire_nudges,
    fire_prune,
)
from bot.services.outbox import Outbox
from bot.services.questions.nudges import NUDGE_KIND, NudgeService
from bot.services.retention import RetentionService
from bot.store.engine import make_sync_engine
from bot.store.models import DigestRun, QuestionNudge
from tests.services.test_digests import NOW, drain, make, seed, settings
from tests.services.test_nudges import T0, Clock, FakeChat, ask

Sessions = async_sessionmaker[AsyncSession]


def test_monday_nine_fires_on_monday_at_nine() -> None:
    trigger = digest_trigger("0 9 * * 1", "UTC")
    sunday = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    fire = trigger.get_next_fire_time(None, sunday)
    assert fire is not None and fire.strftime("%A %H:%M") == "Monday 09:00"


def test_a_daylight_saving_change_neither_skips_nor_doubles_a_digest() -> None:
    trigger = digest_trigger("0 9 * * *", "Europe/Amsterdam")
    moment = datetime(2026, 10, 23, 0, 0, tzinfo=UTC)  # the clocks go back on the 25th
    fires = []
    previous = None
    for _ in range(5):
        fire = trigger.get_next_fire_time(previous, moment)
        assert fire is not None
        fires.append(fire)
        previous, moment = fire, fire + timedelta(seconds=1)
    assert [fire.hour for fire in fires] == [9] * 5  # 09:00 local every day
    assert len({fire.date() for fire in fires}) == 5
    assert [fire.astimezone(UTC).hour for fire in fires] == [7, 7, 8, 8, 8]


def test_a_bad_weekday_is_refused() -> None:
    with pytest.raises(ValueError, match="out of range"):
        digest_trigger("0 9 * * 8", "UTC")


@pytest.mark.parametrize(
    "schedule",
    ["0 9 * * 1", "*/15 * * * *", "30 2 * * *", "5/20 2 * * *", "0 9 last * *", "0 0 29 feb *"],
)
@pytest.mark.parametrize("timezone", ["UTC", "Europe/Amsterdam", "Australia/Lord_Howe"])
def test_the_domain_finds_the_times_the_trigger_fires_at(schedule: str, timezone: str) -> None:
    trigger = digest_trigger(schedule, timezone)
    # Around spring's clock changes (Amsterdam, Lord Howe) and an ordinary week; autumn's
    # repeated hour is left out: there the trigger fires a repeated time twice.
    for now in (
        datetime(2026, 3, 29, 4, 3, tzinfo=UTC),
        datetime(2026, 10, 3, 23, 11, tzinfo=UTC),
        datetime(2026, 12, 2, 10, 0, 30, tzinfo=UTC),
        datetime(2028, 3, 1, 0, 0, tzinfo=UTC),
    ):
        lookback = timedelta(days=3)
        fired = []
        moment = trigger.get_next_fire_time(None, now - lookback)
        while moment is not None and moment <= now:
            fired.append(moment)
            moment = trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
        found = latest_fire(schedule, timezone, now, lookback)
        if not fired:
            assert found is None
        else:
            assert found is not None and found.timestamp() == fired[-1].timestamp()


def _gone() -> None:
    """Stand in for a stored job's function that a later version moved away."""


async def test_a_stored_job_whose_function_moved_is_replaced(
    migrated_url: str, session_factory: Sessions
) -> None:
    config = dataclasses.replace(settings(), database=DatabaseSettings(url=migrated_url))
    old = types.ModuleType("lessonbot_moved_away")
    old.fire = _gone  # type: ignore[attr-defined]
    _gone.__module__, _gone.__qualname__ = old.__name__, "fire"
    sys.modules[old.__name__] = old
    engine = make_sync_engine(migrated_url)
    try:
        earlier = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename="apscheduler_jobs")},
            timezone=zoneinfo.ZoneInfo("UTC"),
        )
        earlier.start(paused=True)
        earlier.add_job(old.fire, digest_trigger("0 9 * * 1", "UTC"), id=JOB_ID)  # type: ignore[attr-defined]
        earlier.shutdown()
    finally:
        del sys.modules[old.__name__]
        engine.dispose()
    scheduler = DigestScheduler(config, make(session_factory, config)[0])
    try:
        await scheduler.start()
        job = scheduler.scheduler.get_job(JOB_ID)  # type: ignore[union-attr]
    finally:
        await scheduler.shutdown()
    assert job.func is fire_digest


async def wait_for_runs(sessions: Sessions, count: int) -> None:
    for _ in range(200):  # bounded: the job runs at once, this only waits for it to finish
        async with sessions() as session:
            if await session.scalar(select(func.count()).select_from(DigestRun)) >= count:
                return
        await asyncio.sleep(0.05)
    pytest.fail("the digest job did not run")


async def test_a_time_missed_while_no_process_ran_is_sent_once_at_start(
    migrated_url: str, session_factory: Sessions
) -> None:
    await seed(session_factory)
    config = dataclasses.replace(
        settings(misfire_grace_seconds=3600), database=DatabaseSettings(url=migrated_url)
    )
    # A first process stores the job, then stops before its time.
    service, worker, _, mail = make(session_factory, config)
    first = DigestScheduler(config, service)
    await first.start()
    assert first.scheduler is not None
    # The time came while nothing ran: the stored next run time is now in the past.
    first.scheduler.pause()
    past = datetime.now(UTC) - timedelta(minutes=10)
    first.scheduler.modify_job(JOB_ID, next_run_time=past)
    await first.shutdown()
    # Two processes start on the same database; the stored job is kept, fires (late, within
    # the grace time) and the digest's period key lets only one of them record it.
    services = [make(session_factory, config) for _ in range(2)]
    schedulers = [DigestScheduler(config, made[0]) for made in services]
    try:
        for scheduler in schedulers:
            await scheduler.start()
        await wait_for_runs(session_factory, 1)
        for scheduler in schedulers:
            await scheduler.caught_up()
        # A second, doubled fire of the same time (as two processes may): harmless.
        await services[1][0].run()
        for _, worker2, _, _ in services:
            await drain(worker2)
        await drain(worker)
        upcoming = schedulers[0].next_run_time()
    finally:
        for scheduler in schedulers:
            await scheduler.shutdown()
    emails = [m.to[0] for made in services for m in made[3].sent] + [m.to[0] for m in mail.sent]
    assert sorted(emails) == ["Bo@Example.org", "ana@example.org"]
    async with session_factory() as session:
        keys = list((await session.execute(select(DigestRun.period_key))).scalars())
    assert keys == ["scheduled:2026-11-30T09:00Z"]
    # The stored job moved on to the next Monday at 09:00 UTC.
    assert upcoming is not None and upcoming.astimezone(UTC).strftime("%a %H:%M") == "Mon 09:00"


def test_settings_default_is_monday_at_nine_utc() -> None:
    digest = DigestSettings()
    fire = digest_trigger(digest.schedule, digest.timezone).get_next_fire_time(None, NOW)
    assert fire is not None and fire.strftime("%a %H:%M") == "Mon 09:00"


async def test_the_prune_is_recorded_once_per_period_by_several_processes(
    migrated_url: str, session_factory: Sessions
) -> None:
    config = dataclasses.replace(settings(), database=DatabaseSettings(url=migrated_url))
    outbox = Outbox(session_factory)
    schedulers = [
        DigestScheduler(
            config,
            make(session_factory, config)[0],
            retention=RetentionService(session_factory, outbox, config.retention),
        )
        for _ in range(2)
    ]
    try:
        # Both start on one database: each catches up on the latest scheduled prune.
        for scheduler in schedulers:
            await scheduler.start()
        for scheduler in schedulers:
            await scheduler.caught_up()
        # The stored job fires (in a scheduler thread) for the same period: nothing more.
        await asyncio.to_thread(fire_prune, "prune")
        job = schedulers[0].scheduler.get_job(PRUNE_JOB_ID)  # type: ignore[union-attr]
        upcoming = job.next_run_time
    finally:
        for scheduler in schedulers:
            await scheduler.shutdown()
    prunes = [job for job in await outbox.jobs() if job.kind == RetentionService.JOB_KIND]
    assert len(prunes) == 1
    fired = RetentionService(session_factory, outbox, config.retention).period_key()
    assert prunes[0].key == fired
    assert upcoming.astimezone(UTC).strftime("%H:%M") == "04:30"  # daily, 04:30 UTC


async def test_the_nudge_scan_fired_in_two_processes_claims_each_nudge_once(
    migrated_url: str, session_factory: Sessions
) -> None:
    config = dataclasses.replace(settings(), database=DatabaseSettings(url=migrated_url))
    clock = Clock(T0 + timedelta(days=2))
    await ask(session_factory)
    schedulers = [
        DigestScheduler(
            config,
            make(session_factory, config)[0],
            nudges=NudgeService(
                session_factory,
                Outbox(session_factory, clock=clock),
                config,
                chat=FakeChat(),  # type: ignore[arg-type]
                clock=clock,
            ),
        )
        for _ in range(2)
    ]
    try:
        for scheduler in schedulers:
            await scheduler.start()
        job = schedulers[0].scheduler.get_job(NUDGE_JOB_ID)  # type: ignore[union-attr]
        assert job is not None and str(job.trigger).startswith("cron[")
        # The stored job fires in both processes' threads at once, then once more.
        await asyncio.gather(
            asyncio.to_thread(fire_nudges, "nudges"), asyncio.to_thread(fire_nudges, "nudges")
        )
        await asyncio.to_thread(fire_nudges, "nudges")
    finally:
        for scheduler in schedulers:
            await scheduler.shutdown()
    async with session_factory() as session:
        claimed = await session.scalar(select(func.count(QuestionNudge.id)))
    assert claimed == 1
    assert [job.kind for job in await Outbox(session_factory).jobs()].count(NUDGE_KIND) == 1


def test_schedulers_starting_together_create_the_job_table_once(migrated_url: str) -> None:
    engines = [make_sync_engine(migrated_url) for _ in range(4)]
    together = threading.Barrier(len(engines))

    def start(engine: Engine) -> None:
        together.wait()
        _create_job_table(engine, SQLAlchemyJobStore(engine=engine, tablename=JOB_TABLE))

    try:
        with ThreadPoolExecutor(len(engines)) as pool:
            list(pool.map(start, engines))  # re-raises what any start raised
        assert JOB_TABLE in inspect(engines[0]).get_table_names()
    finally:
        for engine in engines:
            engine.dispose()


async def test_a_shutdown_waits_for_the_catch_up_it_cuts_short(
    migrated_url: str, session_factory: Sessions
) -> None:
    config = dataclasses.replace(settings(), database=DatabaseSettings(url=migrated_url))
    service = make(session_factory, config)[0]
    started, unwound = asyncio.Event(), asyncio.Event()

    async def slow_catch_up() -> None:
        started.set()
        try:
            await asyncio.Event().wait()  # a catch-up still in its transaction
        finally:
            # Giving a connection back takes a turn of the loop, or several.
            await asyncio.sleep(0.05)
            unwound.set()

    service.catch_up = slow_catch_up  # type: ignore[method-assign]
    scheduler = DigestScheduler(config, service)
    await scheduler.start()
    await asyncio.wait_for(started.wait(), 10)
    await scheduler.shutdown()
    # Nothing of the scheduler's is left running once it says it stopped: the app disposes
    # of the database engine next, under a catch-up still giving its connection back.
    assert unwound.is_set()
