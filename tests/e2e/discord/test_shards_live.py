"""Two gateway processes by shard range: each guild's events reach the one holding its shard."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import discord

from bot.app import readiness_checks
from bot.discord.client import ShardedLessonBot, create_bot
from bot.domain.roles import GATEWAY
from sandboxes.discord import DiscordSandbox
from tests.discord.support import make_settings
from tests.e2e.discord.support import ANSWER_TIMEOUT, BEN, log_in, stop_bot

SHARDS = 2


def shard_of(guild_id: int) -> int:
    """Return the shard Discord gives a guild's events to."""
    return (guild_id >> 22) % SHARDS


async def one_guild_per_shard(sandbox: DiscordSandbox) -> dict[int, dict[str, Any]]:
    """Create guilds until each shard has one (their ids' time bits decide the shard)."""
    guilds: dict[int, dict[str, Any]] = {}
    for attempt in range(200):
        guild = sandbox.create_guild(
            f"Guild {attempt}",
            channels=[{"name": "general", "type": 0}],
            members=[{"id": BEN, "username": "ben"}],
        )
        guilds.setdefault(shard_of(int(guild["id"])), guild)
        if len(guilds) == SHARDS:
            return guilds
        await asyncio.sleep(0.002)  # the next id falls in another millisecond
    raise AssertionError("no guild id fell on every shard")


def sharded_bot(sandbox: DiscordSandbox, shard_ids: str) -> ShardedLessonBot:
    settings = make_settings(api_base_url=sandbox.api_base_url, gateway_url=sandbox.gateway_url)
    discord_settings = dataclasses.replace(
        settings.discord, shard_count=SHARDS, shard_ids=shard_ids
    )
    bot = create_bot(dataclasses.replace(settings, discord=discord_settings))
    assert isinstance(bot, ShardedLessonBot)
    bot.sync_commands = discord_settings.holds_first_shard
    return bot


async def test_each_guilds_messages_reach_exactly_the_process_holding_its_shard(
    sandbox: DiscordSandbox,
) -> None:
    guilds = await one_guild_per_shard(sandbox)
    first, second = sharded_bot(sandbox, "0"), sharded_bot(sandbox, "1")
    seen: dict[int, list[int]] = {0: [], 1: []}
    arrived = asyncio.Event()
    for shard_id, bot in ((0, first), (1, second)):

        async def on_message(message: discord.Message, held: int = shard_id) -> None:
            seen[held].append(message.guild.id if message.guild else 0)
            if len(seen[0]) == 2 and seen[1]:
                arrived.set()

        bot.add_listener(on_message, "on_message")
    tasks = [await log_in(first), await log_in(second)]
    try:
        sessions = sorted(session["shard"] for session in sandbox.sessions)
        assert sessions == [[0, SHARDS], [1, SHARDS]]
        # Each process knows only the guilds of its shard.
        assert int(guilds[0]["id"]) in {guild.id for guild in first.guilds}
        assert int(guilds[1]["id"]) in {guild.id for guild in second.guilds}
        assert all(shard_of(guild.id) == 0 for guild in first.guilds)
        assert all(shard_of(guild.id) == 1 for guild in second.guilds)
        for shard_id, guild in guilds.items():
            await sandbox.post_message(guild["channels"]["general"], BEN, f"hi {shard_id}")
        # A DM belongs to no guild: Discord sends it to shard 0.
        await sandbox.post_message(sandbox.dm_channel(BEN), BEN, "hello bot")

        await asyncio.wait_for(arrived.wait(), ANSWER_TIMEOUT)
        await asyncio.sleep(0.2)  # a message wrongly sent to both would have arrived by now
        assert sorted(seen[0]) == [0, int(guilds[0]["id"])]
        assert seen[1] == [int(guilds[1]["id"])]
        # Only the process holding shard 0 registered the slash commands.
        syncs = [r for r in sandbox.requests if r["method"] == "PUT" and "/commands" in r["path"]]
        assert len(syncs) == 1
        # Readiness names each shard the process holds.
        checks = readiness_checks(second, None, frozenset({GATEWAY}))
        assert set(checks) == {"discord_gateway_shard_1"}
        assert checks["discord_gateway_shard_1"]() is True
        assert second.gateway_connected()
    finally:
        await stop_bot(first, tasks[0])
        await stop_bot(second, tasks[1])
    assert checks["discord_gateway_shard_1"]() is False
