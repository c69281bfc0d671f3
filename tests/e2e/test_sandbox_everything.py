"""End to end: `lessonbot sandbox` runs both sandboxes and the real bot, offline."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from github import Auth, Github
from sqlalchemy import select

from bot.config import Settings
from bot.sandbox.everything import SandboxEnvironment, sandbox_environment
from bot.store.models import WebhookDeliveryRecord
from tests.conftest import PROJECT

STRING = 3  # application command option type


@pytest.fixture
async def environment(tmp_path: Path) -> AsyncIterator[SandboxEnvironment]:
    """Run the whole offline environment over the project's own lessons."""
    async with sandbox_environment(
        Settings(), content_dir=PROJECT / "lessons", state_dir=tmp_path / "state"
    ) as running:
        yield running


async def test_description_file_says_where_everything_listens(
    environment: SandboxEnvironment, tmp_path: Path
) -> None:
    described = json.loads((tmp_path / "state" / "sandbox.json").read_text())
    assert described == environment.description
    assert set(described["discord"]["channels"]) == {
        "general",
        "digests",
        "data-basics",
        "prompt-craft",
    }
    assert described["github"]["repository"] == "lessons/content"
    async with (
        aiohttp.ClientSession() as http,
        http.get(described["bot"]["healthz"]) as health,
        http.get(f"{described['github']['url']}/repos/lessons/content") as repository,
    ):
        assert health.status == 200 and (await health.json())["status"] == "ok"
        assert (await repository.json())["default_branch"] == "main"


async def test_a_spanish_learner_asks_for_a_lesson(environment: SandboxEnvironment) -> None:
    discord, guild = environment.discord, environment.guild
    guild_id, general = int(guild["id"]), int(guild["channels"]["general"])
    choices = await discord.autocomplete(
        guild_id,
        general,
        1001,
        "lesson",
        options=[{"name": "lesson", "type": STRING, "value": "datos", "focused": True}],
        locale="es-ES",
    )
    assert "data-basics/what-is-data" in [choice["value"] for choice in choices]
    interaction = await discord.run_command(
        guild_id,
        general,
        1001,
        "lesson",
        options=[{"name": "lesson", "type": STRING, "value": "data-basics/what-is-data"}],
        locale="es-ES",
    )
    [answer] = await discord.wait_for_interaction_response(interaction, timeout=10)
    embed = answer["data"]["embeds"][0]
    assert embed["title"] == "¿Qué son los datos?"


async def test_github_webhooks_reach_the_bot(environment: SandboxEnvironment) -> None:
    github = environment.github

    def open_issue() -> int:
        client = Github(
            base_url=github.base_url,
            auth=Auth.Token("maintainer"),
            retry=None,
            seconds_between_requests=0,
            seconds_between_writes=0,
        )
        return client.get_repo(github.repository).create_issue("A question").number

    number = await asyncio.to_thread(open_issue)
    await github.wait_for_webhooks()
    opened = [d for d in github.deliveries if d["event"] == "issues"]
    assert opened and opened[0]["status"] == 202
    assert opened[0]["payload"]["issue"]["number"] == number
    async with environment.app.sessions() as session:
        records = (await session.execute(select(WebhookDeliveryRecord))).scalars().all()
    assert [record.delivery_id for record in records] == [opened[0]["delivery_id"]]
