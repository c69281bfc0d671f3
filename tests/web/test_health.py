"""/healthz answers 200 with a working database and a plain 503 without one."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.web.router import WebhookRouter
from tests.web.conftest import ClientMaker
from tests.web.support import settings_with_secret

Sessions = async_sessionmaker[AsyncSession]


async def test_healthz_is_ok_with_a_working_database(
    make_client: ClientMaker, session_factory: Sessions
) -> None:
    client = await make_client(
        settings_with_secret(), session_factory=session_factory, router=WebhookRouter()
    )

    response = await client.get("/healthz")

    assert response.status == 200
    assert await response.json() == {"status": "ok", "database": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


async def test_healthz_is_503_when_the_database_is_down(
    make_client: ClientMaker, dead_sessions: Sessions, caplog: pytest.LogCaptureFixture
) -> None:
    client = await make_client(
        settings_with_secret(), session_factory=dead_sessions, router=WebhookRouter()
    )

    response = await client.get("/healthz")

    assert response.status == 503
    assert await response.json() == {"status": "unavailable", "database": "unavailable"}
    assert "health check: database unavailable: OperationalError" in caplog.text


async def test_apps_from_the_factory_share_no_database(
    make_client: ClientMaker, session_factory: Sessions, dead_sessions: Sessions
) -> None:
    # Two apps from one factory share nothing: each answers for its own database.
    down = await make_client(
        settings_with_secret(), session_factory=dead_sessions, router=WebhookRouter()
    )
    up = await make_client(
        settings_with_secret(), session_factory=session_factory, router=WebhookRouter()
    )

    assert (await down.get("/healthz")).status == 503
    assert (await up.get("/healthz")).status == 200
    assert (await down.get("/healthz")).status == 503
