"""Fixtures for the Discord sandbox tests: a sandbox per test and a real discord.py bot."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import discord
import pytest
import yarl
from discord.ext import commands

from sandboxes.discord import DiscordSandbox
from tests.conftest import SHARED

OPENAPI = SHARED / "specs" / "discord" / "openapi.json"
ANA, BEN = 1001, 1002
TIMEOUT = 5.0


class RecordingBot(commands.Bot):
    """A plain commands.Bot that records every event it dispatches, for tests to await."""

    def __init__(self, intents: discord.Intents | None = None, **options: Any) -> None:
        if intents is None:
            intents = discord.Intents.default()
            intents.message_content = True
            intents.members = True
        options.setdefault("guild_ready_timeout", 0.2)
        super().__init__(command_prefix="!", intents=intents, **options)
        self.seen: list[tuple[str, tuple[Any, ...]]] = []
        self._waiters: list[asyncio.Future[None]] = []

    def dispatch(self, event_name: str, /, *args: Any, **kwargs: Any) -> None:
        """Record the event, wake waiters, then dispatch it as discord.py does."""
        self.seen.append((event_name, args))
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
        super().dispatch(event_name, *args, **kwargs)

    def mark(self) -> int:
        """Return a position in the event record, to wait for events after it."""
        return len(self.seen)

    def events(self, name: str, after: int = 0) -> list[tuple[Any, ...]]:
        """Return the arguments of every `name` event recorded after `after`."""
        return [args for event, args in self.seen[after:] if event == name]

    async def expect(
        self,
        name: str,
        check: Callable[..., bool] = lambda *args: True,
        *,
        after: int = 0,
        timeout: float = TIMEOUT,  # noqa: ASYNC109 - one deadline over many waits
    ) -> tuple[Any, ...]:
        """Return the first `name` event after `after` passing `check`, waiting if needed."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while True:
            for args in self.events(name, after):
                if check(*args):
                    return args
            remaining = end - loop.time()
            if remaining <= 0:
                seen = [event for event, _ in self.seen[after:]]
                raise AssertionError(f"no {name!r} event within {timeout}s; saw {seen}")
            waiter = loop.create_future()
            self._waiters.append(waiter)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, remaining)


async def eventually(
    check: Callable[[], bool],
    timeout: float = TIMEOUT,  # noqa: ASYNC109 - a polling deadline
) -> None:
    """Wait until `check()` holds (for state another task updates), or fail."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not check():
        if loop.time() > end:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.01)


@pytest.fixture
async def sandbox() -> AsyncIterator[DiscordSandbox]:
    """Run a sandbox on the test's loop."""
    async with DiscordSandbox() as running:
        yield running


@pytest.fixture
def guild(sandbox: DiscordSandbox) -> dict[str, Any]:
    """Create the usual test server: a text channel, a forum with tags, two members."""
    return sandbox.create_guild(
        "Lessons",
        channels=[
            {"name": "Programs", "type": 4},
            {"name": "general", "type": 0, "topic": "Say hello"},
            {
                "name": "data-basics",
                "type": 15,
                "parent": "Programs",
                "available_tags": [{"name": "lesson"}, {"name": "es"}, {"name": "question"}],
            },
        ],
        members=[
            {"id": ANA, "username": "ana", "locale": "es-ES"},
            {"id": BEN, "username": "ben", "roles": ["maintainers"]},
        ],
        roles=[{"name": "maintainers", "permissions": 1 << 13}],
    )


@pytest.fixture
def point_discord(monkeypatch: pytest.MonkeyPatch, sandbox: DiscordSandbox) -> None:
    """Send discord.py's REST calls and gateway connection to the sandbox."""
    monkeypatch.setattr(discord.http.Route, "BASE", sandbox.api_base_url)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(sandbox.gateway_url)
    )


@contextlib.asynccontextmanager
async def running(bot: RecordingBot, sandbox: DiscordSandbox) -> AsyncIterator[RecordingBot]:
    """Start a bot against the sandbox, wait for on_ready, and close it afterwards."""
    task = asyncio.create_task(bot.start(sandbox.bot_token))
    ready = asyncio.create_task(bot.expect("ready", timeout=10))
    try:
        done, _ = await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            ready.cancel()
            task.result()  # raises what killed the bot
            raise AssertionError("the bot stopped before on_ready")
        ready.result()
        yield bot
    finally:
        ready.cancel()
        await bot.close()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)


@pytest.fixture
async def bot(
    sandbox: DiscordSandbox, guild: dict[str, Any], point_discord: None
) -> AsyncIterator[RecordingBot]:
    """Return a connected, ready bot in the test server."""
    async with running(RecordingBot(), sandbox) as connected:
        yield connected


@pytest.fixture
async def raw(sandbox: DiscordSandbox) -> AsyncIterator[Callable[..., Any]]:
    """Return a raw HTTP helper: (method, path, json=None, token=bot) -> (status, headers, body)."""
    async with aiohttp.ClientSession() as session:

        async def send(
            method: str,
            path: str,
            body: Any = None,
            *,
            token: str | None = sandbox.bot_token,
            base: str | None = None,
        ) -> tuple[int, dict[str, str], Any]:
            headers = {} if token is None else {"Authorization": f"Bot {token}"}
            url = (base if base is not None else sandbox.api_base_url) + path
            async with session.request(method, url, json=body, headers=headers) as response:
                text = await response.text()
                data = json.loads(text) if text else None
                return response.status, dict(response.headers), data

        yield send
