"""Discord's global limit and route buckets, shared by two processes' HTTP sessions.

Two aiohttp sessions (what discord.py sends through), each with the budget hooks on its
trace and its own engine on one database, send a burst at the Discord sandbox, whose
global limit is set to the budget's 5 a second: the sandbox, which counts every request
into its own windows, answers none of them with a global 429. The same burst without the
hooks is refused, so the count could fail.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.discord.budgeting import DiscordBudgetHooks, route_key
from bot.services.budgets import Budgets, BudgetWaitError, deferring
from bot.services.metrics import RequestTally
from bot.store.engine import make_engine, make_session_factory
from bot.store.models import RateBudgetState
from sandboxes.discord import DiscordSandbox
from sandboxes.discord.ratelimits import RateLimitSettings

Sessions = async_sessionmaker[AsyncSession]
PER_SECOND = 5
EACH = 8  # requests per process: over three seconds' worth at 5 a second, together


@pytest.fixture
async def sandbox() -> AsyncIterator[DiscordSandbox]:
    async with DiscordSandbox(rate_limits=RateLimitSettings(global_per_second=PER_SECOND)) as s:
        yield s


@pytest.fixture
async def two_processes(migrated_url: str) -> AsyncIterator[tuple[Sessions, Sessions]]:
    """Yield two session factories over two engines on one database."""
    engines = [make_engine(migrated_url), make_engine(migrated_url)]
    try:
        yield make_session_factory(engines[0]), make_session_factory(engines[1])
    finally:
        for engine in engines:
            await engine.dispose()


def test_a_route_keeps_its_major_parameter_and_erases_other_ids() -> None:
    assert route_key("post", "/channels/123/messages") == "POST /channels/123/messages"
    assert route_key("PATCH", "/channels/123/messages/456") == "PATCH /channels/123/messages/{id}"
    assert route_key("PUT", "/channels/1/messages/2/reactions/%E2%9C%85/@me") == (
        "PUT /channels/1/messages/{id}/reactions/{emoji}/@me"
    )
    assert route_key("GET", "/guilds/9/members/77") == "GET /guilds/9/members/{id}"


def test_interactions_and_the_gateway_spend_no_budget() -> None:
    hooks = DiscordBudgetHooks(Budgets(async_sessionmaker()), "https://discord.com/api/v10")
    base = "https://discord.com/api/v10"
    assert hooks.route_of("POST", f"{base}/interactions/1/tok/callback") is None
    assert hooks.route_of("PATCH", f"{base}/webhooks/1/tok/messages/@original") is None
    assert hooks.route_of("GET", "wss://gateway.discord.gg/?v=10") is None
    route = hooks.route_of("POST", f"{base}/channels/5/messages")
    assert route is not None and route.name == "discord.route:POST /channels/5/messages"


async def burst(sandbox: DiscordSandbox, traces: list[aiohttp.TraceConfig | None]) -> None:
    """Send EACH requests from each trace's session at once."""
    headers = {"Authorization": f"Bot {sandbox.bot_token}"}

    async def send(trace: aiohttp.TraceConfig | None) -> None:
        configs = [trace] if trace is not None else []
        async with aiohttp.ClientSession(trace_configs=configs, headers=headers) as http:

            async def one() -> None:
                async with http.get(f"{sandbox.api_base_url}/users/@me") as response:
                    await response.read()

            await asyncio.gather(*(one() for _ in range(EACH)))

    await asyncio.gather(*(send(trace) for trace in traces))


async def test_two_processes_stay_under_the_global_limit_the_sandbox_counts(
    sandbox: DiscordSandbox, two_processes: tuple[Sessions, Sessions]
) -> None:
    meters = [RequestTally(), RequestTally()]
    traces: list[aiohttp.TraceConfig | None] = [
        DiscordBudgetHooks(
            Budgets(sessions), sandbox.api_base_url, per_second=PER_SECOND, meter=meter
        ).add_to(aiohttp.TraceConfig())
        for sessions, meter in zip(two_processes, meters, strict=True)
    ]

    await burst(sandbox, traces)

    statuses = [entry["status"] for entry in sandbox.requests]
    assert statuses == [200] * (2 * EACH)
    assert sandbox.rate_limiter.counts["global_limited"] == 0
    # Most had to wait for the shared budget, counted under its label.
    assert sum(meter.budget_waits[("pacing", "discord.global")] for meter in meters) > 0


async def test_the_same_burst_without_the_budget_is_refused() -> None:
    async with DiscordSandbox(
        rate_limits=RateLimitSettings(global_per_second=PER_SECOND)
    ) as sandbox:
        await burst(sandbox, [None, None])
        assert sandbox.rate_limiter.counts["global_limited"] > 0


async def test_a_bucket_discord_reports_empty_holds_every_process(
    sandbox: DiscordSandbox, two_processes: tuple[Sessions, Sessions]
) -> None:
    first, second = (Budgets(sessions, job_wait=0.5) for sessions in two_processes)
    guild = sandbox.create_guild("guild", channels=[{"name": "general", "type": 0}])
    channel = guild["channels"]["general"]
    url = f"{sandbox.api_base_url}/channels/{channel}/messages"
    headers = {"Authorization": f"Bot {sandbox.bot_token}"}
    trace = DiscordBudgetHooks(first, sandbox.api_base_url).add_to(aiohttp.TraceConfig())
    async with aiohttp.ClientSession(trace_configs=[trace], headers=headers) as http:
        # Discord allows 5 messages per 5 s in a channel: the fifth leaves the bucket at 0.
        for n in range(5):
            async with http.post(url, json={"content": f"m{n}"}) as response:
                assert response.status == 200
    async with two_processes[1]() as session:
        blocked = await session.scalar(
            select(RateBudgetState.blocked_until).where(
                RateBudgetState.name == f"discord.route:POST /channels/{channel}/messages"
            )
        )
    assert blocked is not None

    other = DiscordBudgetHooks(second, sandbox.api_base_url).add_to(aiohttp.TraceConfig())
    sent = len(sandbox.requests)
    async with aiohttp.ClientSession(trace_configs=[other], headers=headers) as http:
        with deferring(), pytest.raises(BudgetWaitError) as raised:
            await http.post(url, json={"content": "sixth"})
    assert len(sandbox.requests) == sent  # held back here, not refused by Discord
    assert raised.value.reason == f"Discord's rate limit on POST /channels/{channel}/messages"
