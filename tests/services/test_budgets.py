"""Rate budgets in the database, shared by processes: two engines, one budget.

Each test builds two `Budgets` over two engines on one database (two processes' worth),
with a clock the test moves: sleeping advances it, so no test waits for real time.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.budgets import (
    GITHUB_PRIMARY,
    discord_route,
    github_content_writes,
    most_in_any_window,
)
from bot.services.budgets import Budgets, BudgetWaitError, deferring
from bot.services.outbox import Outbox, known_wait
from bot.store.engine import make_engine, make_session_factory
from bot.store.models import RateBudgetSpend

Sessions = async_sessionmaker[AsyncSession]
START = 1_800_000_000.0


class Clock:
    """Epoch seconds the test moves; a sleep moves it to when the sleeper wakes."""

    def __init__(self) -> None:
        self.now = START
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        wake = self.now + seconds
        await asyncio.sleep(0)
        # Two sleepers at once end at the later wake-up, not the sum of both.
        self.now = max(self.now, wake)


@pytest.fixture
async def two_processes(migrated_url: str) -> AsyncIterator[tuple[Sessions, Sessions]]:
    """Yield two session factories over two engines on one database."""
    engines = [make_engine(migrated_url), make_engine(migrated_url)]
    try:
        yield make_session_factory(engines[0]), make_session_factory(engines[1])
    finally:
        for engine in engines:
            await engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def budgets(sessions: Sessions, clock: Clock, **options: float) -> Budgets:
    return Budgets(sessions, clock=clock, sleep=clock.sleep, **options)


async def test_two_processes_never_spend_more_than_80_writes_in_any_minute(
    two_processes: tuple[Sessions, Sessions], clock: Clock
) -> None:
    rule = github_content_writes(80, 500, 0.0)
    first, second = (budgets(sessions, clock) for sessions in two_processes)

    async def spend(side: Budgets) -> None:
        await side.spend(rule)

    await asyncio.gather(*(spend(first if n % 2 else second) for n in range(100)))

    async with two_processes[0]() as session:
        times = list((await session.execute(select(RateBudgetSpend.spent_at))).scalars())
    assert len(times) == 100
    assert most_in_any_window(times, 60.0) == 80
    # The 81st had to wait for the first minute to pass.
    assert max(times) - min(times) >= 60.0


async def test_writes_keep_their_minimum_interval_across_processes(
    two_processes: tuple[Sessions, Sessions], clock: Clock
) -> None:
    rule = github_content_writes(80, 500, 1.0)
    first, second = (budgets(sessions, clock) for sessions in two_processes)
    await asyncio.gather(*(side.spend(rule) for side in (first, second, first, second)))
    async with two_processes[1]() as session:
        times = sorted((await session.execute(select(RateBudgetSpend.spent_at))).scalars())
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert len(gaps) == 3
    assert min(gaps) >= 1.0 - 1e-6


async def test_spends_out_of_every_window_are_pruned(
    two_processes: tuple[Sessions, Sessions], clock: Clock
) -> None:
    rule = github_content_writes(80, 500, 0.0)
    side = budgets(two_processes[0], clock)
    for _ in range(3):
        await side.spend(rule)
    clock.now += 3601
    await side.spend(rule)
    async with two_processes[0]() as session:
        assert await session.scalar(select(func.count()).select_from(RateBudgetSpend)) == 1


async def test_a_block_one_process_records_makes_the_other_wait(
    two_processes: tuple[Sessions, Sessions], clock: Clock
) -> None:
    first, second = (budgets(sessions, clock) for sessions in two_processes)
    await first.block(GITHUB_PRIMARY, START + 30)
    # An earlier block reported later does not shorten it.
    await first.block(GITHUB_PRIMARY, START + 10)

    assert await second.clear(GITHUB_PRIMARY) == pytest.approx(30.0)
    assert clock.now == pytest.approx(START + 30)
    assert await second.clear(GITHUB_PRIMARY) == 0


async def test_a_blocked_gate_holds_a_spend_of_another_budget(
    two_processes: tuple[Sessions, Sessions], clock: Clock
) -> None:
    first, second = (budgets(sessions, clock) for sessions in two_processes)
    rule = github_content_writes(80, 500, 0.0)
    await first.block(GITHUB_PRIMARY, START + 12)
    assert await second.spend(rule, (GITHUB_PRIMARY,)) == pytest.approx(12.0)


async def test_a_job_that_would_wait_long_is_told_which_budget_and_until_when(
    two_processes: tuple[Sessions, Sessions], clock: Clock
) -> None:
    first, second = (budgets(sessions, clock, job_wait=5.0) for sessions in two_processes)
    rule = github_content_writes(2, 500, 0.0)
    await first.spend(rule)
    await first.spend(rule)
    with deferring(), pytest.raises(BudgetWaitError) as raised:
        await second.spend(rule)
    assert raised.value.retry_at == pytest.approx(START + 60)
    assert clock.slept == []  # deferred, not slept
    wait = known_wait(raised.value)
    assert wait is not None
    assert wait.until == datetime.fromtimestamp(START + 60, UTC)
    assert wait.reason == "GitHub's content-write budget (2 a minute, 500 an hour)"
    # Outside a job the same wait is slept.
    assert await second.spend(rule) == pytest.approx(60.0)


async def test_a_deferred_job_shows_the_budget_it_waits_for(
    two_processes: tuple[Sessions, Sessions], clock: Clock
) -> None:
    sessions = two_processes[0]
    side = budgets(sessions, clock, job_wait=1.0)
    route = discord_route("POST /channels/7/messages")
    await side.block(route, START + 90)
    outbox = Outbox(sessions)
    job_id = await outbox.enqueue("bridge", "bridge:1", {"op": "post"})
    claim = await outbox.claim(job_id)
    assert claim is not None

    failure = await outbox.attempt(claim, lambda: side.clear(route))

    view = await outbox.state(job_id)
    assert view is not None and view.wait is not None
    assert (view.status, view.attempts) == ("waiting", 0)
    assert view.wait_reason == "Discord's rate limit on POST /channels/7/messages"
    until = datetime.fromtimestamp(START + 90, UTC)
    assert view.run_after == until
    assert view.wait.text.startswith(
        "waiting for Discord's rate limit on POST /channels/7/messages until "
    )
    assert getattr(failure, "waiting", False)
