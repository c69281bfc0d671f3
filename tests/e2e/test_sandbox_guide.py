"""`lessonbot sandbox`'s guide shows newcomers how to suggest an edit, and its links work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.config import Settings
from bot.sandbox.everything import SandboxEnvironment, sandbox_environment, sandbox_guide
from tests.conftest import PROJECT
from tests.discord.test_suggest_live import MODAL, STRING, SUBCOMMAND, modal_fields

LESSON = "data-basics/what-is-data"  # the first of the project's lessons


@pytest.fixture
async def environment(tmp_path: Path) -> AsyncIterator[SandboxEnvironment]:
    """Run the whole offline environment over the project's own lessons."""
    async with sandbox_environment(
        Settings(), content_dir=PROJECT / "lessons", state_dir=tmp_path / "state"
    ) as running:
        yield running


async def test_the_guide_names_suggest_edit_and_a_web_form_that_serves(
    environment: SandboxEnvironment, tmp_path: Path
) -> None:
    guide = sandbox_guide(environment, tmp_path / "state").splitlines()
    public_url = environment.app.settings.web.public_url
    form = f"{public_url}/lessons/data-basics/what-is-data/suggest"

    [suggest] = [line for line in guide if line.startswith("Suggest an edit as a learner")]
    assert f"/suggest edit lesson:{LESSON}" in suggest
    assert guide[guide.index(suggest) + 1] == f"  {form}"
    assert public_url == environment.app.web_url  # the address the bot really listens on

    # The form the guide links to is served for that lesson.
    async with aiohttp.ClientSession() as http, http.get(form) as response:
        page = await response.text()
    assert response.status == 200 and "text/html" in response.content_type
    assert "<form" in page and "What Is Data?" in page

    # The command it names opens the edit modal for that lesson.
    discord, guild = environment.discord, environment.guild
    interaction = await discord.run_command(
        int(guild["id"]),
        int(guild["channels"]["general"]),
        1004,
        "suggest",
        options=[
            {
                "name": "edit",
                "type": SUBCOMMAND,
                "options": [{"name": "lesson", "type": STRING, "value": LESSON}],
            }
        ],
        locale="en-US",
    )
    [modal] = await discord.wait_for_interaction_response(interaction, timeout=30)
    assert modal["type"] == MODAL
    assert list(modal_fields(modal)) == ["find", "replace", "reason"]
