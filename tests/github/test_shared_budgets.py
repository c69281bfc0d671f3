"""GitHub's limits shared across processes: two adapters, two engines, one database.

A spent primary limit one adapter reads in GitHub's headers holds the other adapter too:
in a job it is deferred (told until when), elsewhere it waits for the reset. The budgets'
clock is the test's, and a sleep moves it, so nothing waits for real time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.github.adapter import GitHubAdapter
from bot.services.budgets import Budgets, BudgetWaitError, deferring
from bot.services.metrics import RequestTally
from bot.services.outbox import known_wait
from bot.store.engine import make_engine, make_session_factory
from sandboxes.github import GitHubSandbox
from tests.github.test_adapter import LESSON, make_adapter
from tests.github.test_adapter import sandbox as sandbox  # the fixture

Sessions = async_sessionmaker[AsyncSession]


class Clock:
    """Epoch seconds from now on, moved by sleeps; `on_sleep` runs at each one."""

    def __init__(self) -> None:
        self.now = time.time()
        self.slept: list[float] = []
        self.on_sleep: list[object] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        for hook in self.on_sleep:
            hook()  # type: ignore[operator]
        await asyncio.sleep(0)


@pytest.fixture
async def two_processes(migrated_url: str) -> AsyncIterator[tuple[Sessions, Sessions]]:
    """Yield two session factories over two engines on one database."""
    engines = [make_engine(migrated_url), make_engine(migrated_url)]
    try:
        yield make_session_factory(engines[0]), make_session_factory(engines[1])
    finally:
        for engine in engines:
            await engine.dispose()


def adapters(
    github: GitHubSandbox, sessions: tuple[Sessions, Sessions], clock: Clock
) -> list[GitHubAdapter]:
    return [
        make_adapter(
            github,
            clock=clock,
            sleep=clock.sleep,
            meter=RequestTally(),
            budgets=Budgets(side, clock=clock, sleep=clock.sleep),
        )
        for side in sessions
    ]


def spend_all_but_one(github: GitHubSandbox, reset_in: float) -> int:
    """Leave the bot's account one request of its hour; return the reset."""
    window = github.state.rate(f"user:{github.bot_login}", authenticated=True)
    window.remaining = 1
    window.reset = int(time.time() + reset_in)
    return window.reset


async def test_a_primary_limit_one_adapter_spends_defers_the_others_job(
    sandbox: GitHubSandbox,
    two_processes: tuple[Sessions, Sessions],
) -> None:
    clock = Clock()
    first, second = adapters(sandbox, two_processes, clock)
    try:
        reset = spend_all_but_one(sandbox, 3600)
        await first.get_file(LESSON)  # answered, with X-RateLimit-Remaining: 0
        sent = len(sandbox.requests)

        with deferring(), pytest.raises(BudgetWaitError) as raised:
            await second.get_file(LESSON)

        assert len(sandbox.requests) == sent  # nothing sent to GitHub to be refused
        assert raised.value.retry_at == pytest.approx(reset + 1)
        wait = known_wait(raised.value)
        assert wait is not None and wait.reason == "GitHub's rate limit"
        assert clock.slept == []
    finally:
        first.close()
        second.close()


async def test_outside_a_job_the_other_adapter_waits_for_the_reset(
    sandbox: GitHubSandbox,
    two_processes: tuple[Sessions, Sessions],
) -> None:
    clock = Clock()
    first, second = adapters(sandbox, two_processes, clock)

    def new_hour() -> None:
        window = sandbox.state.rate(f"user:{sandbox.bot_login}", authenticated=True)
        window.remaining = window.limit

    clock.on_sleep.append(new_hour)
    try:
        reset = spend_all_but_one(sandbox, 40)
        start = clock.now
        await first.get_file(LESSON)
        sent = len(sandbox.requests)

        found = await second.get_file(LESSON)

        assert found.path == LESSON
        assert clock.slept == [pytest.approx(reset + 1 - start, abs=0.01)]
        # One request after the wait, answered: no 403 spent on finding out.
        assert [entry["status"] for entry in sandbox.requests[sent:]] == [200]
        meter = second._meter
        assert isinstance(meter, RequestTally)
        assert meter.budget_waits[("rate_limit", "github.primary")] == 1
    finally:
        first.close()
        second.close()
