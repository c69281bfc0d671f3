"""The digest schedule: crontab weekdays, time zones, and a stored job shared by processes."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import DatabaseSettings, DigestSettings
from bot.services.outbox import Outbox
from bot.services.retention import RetentionService
from bot.services.schedule import (
    JOB_ID,
    PRUNE_JOB_ID,
    DigestScheduler,
    crontab_days,
    digest_trigger,
    fire_prune,
)
from bot.store.models import DigestRun
from tests.services.test_digests import NOW, drain, make, seed, settings

Sessions = async_sessionmaker[AsyncSession]


@pytest.mark.parametrize(
    ("crontab", "days"),
    [
        ("1", "mon"),
        ("0", "sun"),
        ("7", "sun"),
        ("1-5", "mon,tue,wed,thu,fri"),
        ("0,6", "sun,sat"),
        ("*/3", "sun,wed,sat"),
        ("*", "*"),
        ("mon-fri", "mon-fri"),
    ],
)
def test_crontab_weekdays_mean_what_crontab_says(crontab: str, days: str) -> None:
    assert crontab_days(crontab) == days


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
