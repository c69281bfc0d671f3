"""GET /readyz: 200 when the database and every given check pass, else 503 naming them."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import DiscordSettings, Secret, Settings
from bot.discord.client import create_bot
from bot.web.readiness import CachedCheck
from bot.web.router import WebhookRouter
from tests.web.conftest import ClientMaker
from tests.web.support import SECRET

Sessions = async_sessionmaker[AsyncSession]


async def test_ready_when_the_database_and_every_check_pass(
    make_client: ClientMaker, session_factory: Sessions
) -> None:
    async def github() -> bool:
        return True

    client = await make_client(
        Settings(),
        session_factory=session_factory,
        router=WebhookRouter(),
        readiness_checks={"discord_gateway": lambda: True, "github": github},
    )

    response = await client.get("/readyz")

    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert await response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "discord_gateway": "ok", "github": "ok"},
        "failing": [],
    }
    # Liveness stays what it was.
    assert (await client.get("/healthz")).status == 200


async def test_not_ready_when_the_database_is_gone(
    make_client: ClientMaker, dead_sessions: Sessions, caplog: pytest.LogCaptureFixture
) -> None:
    client = await make_client(
        Settings(),
        session_factory=dead_sessions,
        router=WebhookRouter(),
        readiness_checks={"discord_gateway": lambda: True},
    )

    response = await client.get("/readyz")

    assert response.status == 503
    assert await response.json() == {
        "status": "unavailable",
        "checks": {"database": "unavailable", "discord_gateway": "ok"},
        "failing": ["database"],
    }
    assert "readiness: database is unavailable: OperationalError" in caplog.text


async def test_not_ready_while_the_bots_gateway_is_not_connected(
    make_client: ClientMaker, session_factory: Sessions
) -> None:
    # The real client, built as the bot builds it, never logged in.
    bot = create_bot(Settings(discord=DiscordSettings(token=Secret(SECRET))))
    client = await make_client(
        Settings(),
        session_factory=session_factory,
        router=WebhookRouter(),
        readiness_checks={"discord_gateway": bot.gateway_connected},
    )

    response = await client.get("/readyz")

    assert response.status == 503
    body = await response.json()
    assert body["checks"] == {"database": "ok", "discord_gateway": "unavailable"}
    assert body["failing"] == ["discord_gateway"]
    assert SECRET not in await response.text()
    await bot.close()


async def test_a_failing_check_is_logged_when_it_fails_and_when_it_is_back(
    make_client: ClientMaker, session_factory: Sessions, caplog: pytest.LogCaptureFixture
) -> None:
    up = [False]

    async def flaky() -> bool:
        if not up[0]:
            raise ConnectionError("refused")
        return True

    client = await make_client(
        Settings(),
        session_factory=session_factory,
        router=WebhookRouter(),
        readiness_checks={"github": flaky},
    )

    statuses = [(await client.get("/readyz")).status for _ in range(3)]
    up[0] = True
    statuses.append((await client.get("/readyz")).status)

    assert statuses == [503, 503, 503, 200]
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.web.readiness"]
    # One line when it starts failing, one when it is back: not one per probe.
    assert lines == [
        "readiness: github is unavailable: ConnectionError: refused",
        "readiness: github is back",
    ]


async def test_a_cached_check_runs_once_per_window_and_once_at_a_time() -> None:
    now = [0.0]
    runs: list[float] = []
    answer = [True]

    async def remote() -> bool:
        runs.append(now[0])
        await asyncio.sleep(0)  # probes arriving meanwhile wait for this run
        return answer[0]

    check = CachedCheck(remote, max_age=30.0, clock=lambda: now[0])

    assert await asyncio.gather(check(), check(), check()) == [True, True, True]
    now[0] = 29.0
    answer[0] = False
    assert await check() is True  # still the answer from 0 s
    now[0] = 30.0
    assert await check() is False
    assert runs == [0.0, 30.0]


async def test_a_cached_check_that_hangs_or_raises_fails_and_is_kept() -> None:
    now = [0.0]
    runs: list[str] = []
    event = asyncio.Event()

    async def hangs() -> bool:
        runs.append("hang")
        await event.wait()
        return True

    check = CachedCheck(hangs, timeout=0.01, clock=lambda: now[0])
    with pytest.raises(TimeoutError):
        await check()
    with pytest.raises(TimeoutError):
        await check()  # kept: the next probe does not start another hanging request
    assert runs == ["hang"]


async def test_a_check_that_hangs_fails_the_probe_without_holding_it(
    make_client: ClientMaker,
    session_factory: Sessions,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from bot.web import readiness

    # Short, yet long enough for the database's own check on a loaded machine.
    monkeypatch.setattr(readiness, "CHECK_TIMEOUT_SECONDS", 1.0)
    never = asyncio.Event()

    async def hangs() -> bool:
        await never.wait()
        return True

    client = await make_client(
        Settings(),
        session_factory=session_factory,
        router=WebhookRouter(),
        readiness_checks={"github": hangs},
    )
    caplog.set_level(logging.INFO)

    response = await client.get("/readyz")

    assert response.status == 503
    assert "github" in (await response.json())["failing"]
    assert "readiness: github is unavailable: TimeoutError" in caplog.text
