"""Fixtures for the web tests: migrated databases, the app on a test server, clean logs."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.store.engine import make_engine, make_session_factory
from bot.web.app import create_web_app
from bot.web.router import WebhookRouter
from tests.web.support import SECRET, Client

ClientMaker = Callable[..., Awaitable[Client]]


@pytest.fixture(autouse=True)
def logs_never_show_the_secret(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Capture every log line of a test, then check the webhook secret is in none of them."""
    caplog.set_level(logging.DEBUG)
    yield
    # caplog.text holds only the current phase (teardown here): read the test's own records.
    formatter = logging.Formatter()
    records = [*caplog.get_records("setup"), *caplog.get_records("call"), *caplog.records]
    for record in records:
        assert SECRET not in formatter.format(record)


@pytest.fixture
async def make_client() -> AsyncIterator[ClientMaker]:
    """Yield a function that serves a new web app on a test server; close them all after."""
    clients: list[Client] = []

    async def make(
        settings: Settings,
        *,
        session_factory: async_sessionmaker[AsyncSession],
        router: WebhookRouter,
        **options: Any,
    ) -> Client:
        app = create_web_app(
            settings, session_factory=session_factory, webhook_router=router, **options
        )
        client: Client = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


def _closed_port() -> int:
    """Return a local port nothing listens on (just released by the OS)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(params=["sqlite-directory", "postgresql-closed-port"])
async def dead_sessions(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Yield a session factory whose database cannot be reached."""
    if request.param == "sqlite-directory":
        url = f"sqlite:///{tmp_path}"  # a directory, which SQLite cannot open
    else:
        url = f"postgresql://postgres@127.0.0.1:{_closed_port()}/lessonbot"
    engine = make_engine(url)
    try:
        yield make_session_factory(engine)
    finally:
        await engine.dispose()
