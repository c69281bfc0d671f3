"""The factory builds a bot for the configured Discord, with its cogs and commands."""

from __future__ import annotations

from typing import Any

import discord
import pytest
from discord.http import Route

from bot.discord.chat import DiscordChat
from bot.discord.client import LessonBot, create_bot
from bot.discord.errors import LessonTree
from tests.discord.support import make_bot, make_settings


def test_create_bot_points_discord_py_at_the_settings() -> None:
    create_bot(make_settings(api_base_url="http://127.0.0.1:7/api/v10"))
    assert Route.BASE == "http://127.0.0.1:7/api/v10"


def test_bot_asks_for_the_intents_it_needs() -> None:
    bot = create_bot(make_settings(), guild_ready_timeout=0.25)
    assert isinstance(bot, LessonBot)
    intents = bot.intents
    assert intents.guilds and intents.guild_messages and intents.message_content
    assert intents.guild_reactions and intents.dm_messages and intents.dm_reactions
    assert not intents.members and not intents.presences  # privileged, and not needed
    assert bot._connection.guild_ready_timeout == 0.25
    assert isinstance(bot.tree, LessonTree)
    assert isinstance(bot.chat, DiscordChat)
    mentions = bot.allowed_mentions
    assert mentions is not None and not mentions.everyone and not mentions.users


@pytest.mark.parametrize("guild_id", [None, 4242])
async def test_setup_hook_adds_cogs_and_syncs_to_the_guild_or_globally(
    guild_id: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = await make_bot(make_settings(guild_id=guild_id))
    synced: list[Any] = []

    async def sync(*, guild: discord.abc.Snowflake | None = None) -> list[Any]:
        synced.append(guild.id if guild else None)
        return []

    monkeypatch.setattr(bot.tree, "sync", sync)
    await bot.setup_hook()
    assert synced == [guild_id]
    assert "LessonsCog" in bot.cogs
    assert [command.name for command in bot.tree.get_commands()] == ["lesson"]
    if guild_id is not None:  # the global commands are copied to the guild for sync
        copied = bot.tree.get_commands(guild=discord.Object(id=guild_id))
        assert [command.name for command in copied] == ["lesson"]
    await bot.close()
