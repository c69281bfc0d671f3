"""End to end: `lessonbot sandbox` runs both sandboxes and the real bot, offline."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from github import Auth, Github
from sqlalchemy import select

from bot.config import Settings
from bot.offline import SandboxEnvironment, sandbox_environment
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


async def test_the_links_the_bot_writes_open_in_the_sandboxes(
    environment: SandboxEnvironment, tmp_path: Path
) -> None:
    app, discord, github = environment.app, environment.discord, environment.github
    assert environment.description["discord"]["web_url"] == discord.web_url == discord.base_url
    env_file = (tmp_path / "state" / "sandbox.env").read_text()
    assert f"LESSONBOT_DISCORD_WEB_URL={discord.web_url}" in env_file
    assert app.linking is not None and app.catalogue is not None
    await app.linking.sync(app.catalogue)
    repo = github.state.repo("lessons", "content")
    assert repo is not None
    issue = next(i for i in repo.issues.values() if "data-basics/what-is-data" in (i.body or ""))
    issue_url = github.context.payloads.issue_html(repo, issue)
    found = re.search(rf"{re.escape(discord.web_url)}/channels/\d+/(\d+)/(\d+)", issue.body or "")
    assert found is not None, issue.body
    async with aiohttp.ClientSession() as http:
        # The issue the lesson's post links to, on the GitHub sandbox.
        async with http.get(issue_url) as page:
            text = await page.text()
            assert page.status == 200 and page.content_type == "text/html"
            assert "GitHub sandbox (offline)" in text and "What Is Data?" in text
        # The post the issue links to, in the Discord sandbox's viewer, at its starter message.
        async with http.get(found.group(0)) as page:
            text = await page.text()
            assert page.status == 200 and page.content_type == "text/html"
            assert f'id="message-{found.group(2)}"' in text and "What Is Data?" in text
            assert "Suggest an edit" in text  # the starter's button, shown disabled
        # The bot's own first page: every lesson with its suggest form.
        async with http.get(f"{app.web_url}/?locale=es") as page:
            text = await page.text()
            assert page.status == 200 and "¿Qué son los datos?" in text
            form = "/lessons/data-basics/what-is-data/suggest?locale=es"
            assert f'href="{form}"' in text
        async with http.get(f"{app.web_url}{form}") as page:
            assert page.status == 200
