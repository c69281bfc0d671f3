"""A failed command always gets a localized answer and a log line; never silence."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import discord
import pytest
from discord import app_commands

from bot.discord.errors import LessonTree
from bot.i18n import t
from tests.discord.fakes import FakeInteraction, http_error


@pytest.fixture
async def tree() -> AsyncIterator[LessonTree]:
    client = discord.Client(intents=discord.Intents(guilds=True))
    yield LessonTree(client)
    await client.close()


def invoke_error(error: Exception) -> app_commands.CommandInvokeError:
    command: Any = SimpleNamespace(name="lesson")
    return app_commands.CommandInvokeError(command, error)


async def test_an_exception_is_logged_and_answered_in_the_users_language(
    tree: LessonTree, caplog: pytest.LogCaptureFixture
) -> None:
    interaction: Any = FakeInteraction("es-ES")
    await tree.on_error(interaction, invoke_error(RuntimeError("database gone")))
    ((kind, content, options),) = interaction.response.sent
    assert kind == "message" and options == {"ephemeral": True}
    reference = re.search(r"referencia ([0-9a-f]{8})", content)
    assert reference is not None
    assert content == t("es", "discord.error_generic", command="lesson", reference=reference[1])
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.getMessage() == f"/lesson failed (reference {reference[1]}): database gone"
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)


async def test_after_a_response_the_error_goes_as_a_follow_up(tree: LessonTree) -> None:
    interaction: Any = FakeInteraction("fr")
    await interaction.response.defer(thinking=True)
    await tree.on_error(interaction, invoke_error(ValueError("late")))
    ((content, options),) = interaction.followup.sent
    assert options == {"ephemeral": True}
    assert content.startswith(t("fr", "discord.error_generic", command="lesson")[:40])
    assert "/lesson" in content


async def test_a_refused_check_says_so(tree: LessonTree, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.discord.errors")
    interaction: Any = FakeInteraction("nl")
    await tree.on_error(interaction, app_commands.CheckFailure("not a maintainer"))
    ((_, content, _),) = interaction.response.sent
    assert content == t("nl", "discord.error_not_allowed", command="lesson")
    assert "/lesson refused: not a maintainer" in caplog.text


async def test_a_command_discord_still_offers_but_we_lost(tree: LessonTree) -> None:
    interaction: Any = FakeInteraction("hi", command=None)
    await tree.on_error(interaction, app_commands.CommandNotFound("suggest", []))
    ((_, content, options),) = interaction.response.sent
    assert content == t("hi", "discord.error_unknown_command", command="suggest")
    assert options == {"ephemeral": True}


async def test_a_failed_autocomplete_gets_no_choices(tree: LessonTree) -> None:
    interaction: Any = FakeInteraction(kind=discord.InteractionType.autocomplete)
    await tree.on_error(interaction, app_commands.CommandNotFound("lesson", []))
    assert interaction.response.sent == [("autocomplete", [], {})]


async def test_an_expired_interaction_is_logged_not_raised(
    tree: LessonTree, caplog: pytest.LogCaptureFixture
) -> None:
    interaction: Any = FakeInteraction(fail_with=http_error(404, "Unknown interaction"))
    await tree.on_error(interaction, invoke_error(RuntimeError("slow")))
    assert "could not tell the user that /lesson failed" in caplog.text
