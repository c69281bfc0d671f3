"""The composition root starts only the parts of the roles it is given.

In process, on SQLite (and PostgreSQL when configured), with no Discord login: what a role
leaves out is never built, served or started.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from bot import scheduler
from bot.app import background_work, started_app
from bot.config import (
    ContentSettings,
    DatabaseSettings,
    DiscordSettings,
    MailSettings,
    Secret,
    Settings,
    WebSettings,
)
from bot.domain.roles import EVERY_ROLE
from tests.conftest import FIXTURES


def settings_for(database_url: str, tmp_path: Path) -> Settings:
    """Return settings over the fixture lessons, no GitHub, no mail, any free port."""
    return Settings(
        content=ContentSettings(
            source="directory", dir=FIXTURES / "content", clone_dir=tmp_path / "clone"
        ),
        database=DatabaseSettings(url=database_url),
        # Never reached: no role here logs in.
        discord=DiscordSettings(api_base_url="http://127.0.0.1:9/api/v10", token=Secret("t")),
        web=WebSettings(port=0),
        mail=MailSettings(smtp_host=""),
    )


def job_worker_tasks() -> list[asyncio.Task[object]]:
    """Return the running tasks of a job worker's loop."""
    return [
        task
        for task in asyncio.all_tasks()
        if getattr(task.get_coro(), "__qualname__", "") == "JobWorker.run"
    ]


async def test_a_web_process_serves_http_with_no_cogs_worker_or_schedule(
    database_url: str, tmp_path: Path
) -> None:
    async with started_app(settings_for(database_url, tmp_path), roles={"web"}) as app:
        assert app.roles == {"web"}
        async with background_work(app):
            assert job_worker_tasks() == []
            assert "digest" not in scheduler._RUNNING
            async with (
                aiohttp.ClientSession() as client,
                client.get(f"{app.web_url}/healthz") as answer,
            ):
                assert answer.status == 200
            # Ready without a gateway session: holding one is another process's role.
            async with (
                aiohttp.ClientSession() as client,
                client.get(f"{app.web_url}/readyz") as answer,
            ):
                assert answer.status == 200, await answer.text()
        # Slash commands are the gateway's: none are registered, no cog answers them.
        assert not app.bot.sync_commands and app.bot.cogs == {}


@pytest.mark.parametrize("roles", [{"worker"}, {"scheduler"}, {"worker", "scheduler"}])
async def test_a_process_without_the_web_role_takes_no_port(
    roles: set[str], database_url: str, tmp_path: Path
) -> None:
    async with started_app(settings_for(database_url, tmp_path), roles=roles) as app:
        assert app.web_url == ""
        async with background_work(app):
            assert len(job_worker_tasks()) == (1 if "worker" in roles else 0)
            assert ("digest" in scheduler._RUNNING) == ("scheduler" in roles)
        assert app.bot.cogs == {}
    assert "digest" not in scheduler._RUNNING


async def test_the_gateway_role_gets_the_cogs_and_registers_commands(
    database_url: str, tmp_path: Path
) -> None:
    async with started_app(settings_for(database_url, tmp_path), roles={"gateway"}) as app:
        assert app.web_url == "" and app.bot.sync_commands
        assert {"LessonsCog", "SuggestCog", "QuestionsCog"} <= set(app.bot.cogs)


async def test_started_app_takes_every_role_by_default(database_url: str, tmp_path: Path) -> None:
    async with started_app(settings_for(database_url, tmp_path)) as app:
        assert app.roles == EVERY_ROLE and app.web_url and app.bot.sync_commands
        async with background_work(app):
            assert len(job_worker_tasks()) == 1 and "digest" in scheduler._RUNNING
