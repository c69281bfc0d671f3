"""A process without the gateway role (a worker, a web server) uses Discord's REST API
only: discord.py's client logged in (`login()`) and never connected (`connect()`)."""

from __future__ import annotations

from typing import Any

from bot.discord.client import create_bot
from sandboxes.discord import DiscordSandbox
from tests.discord.support import BOT_TOKEN, make_settings


async def test_a_client_logged_in_without_the_gateway_posts_and_finds_forums(
    sandbox: DiscordSandbox, guild: dict[str, Any]
) -> None:
    guild_id = int(guild["id"])
    settings = make_settings(sandbox.api_base_url, sandbox.gateway_url, guild_id=guild_id)
    bot = create_bot(settings)
    bot.sync_commands = False  # as a process without the gateway role has it
    channels_before = sandbox.channels(guild_id)
    try:
        await bot.login(BOT_TOKEN)
        chat = bot.chat
        general = int(guild["channels"]["general"])
        [message_id] = await chat.post_message(general, "posted by a worker")
        # The guild comes by REST, without its channels: the forum is found, not made twice.
        forum = await chat.ensure_forum("data-basics", "Data basics", ["lesson"])
        post = await chat.create_forum_post(forum.id, "A lesson", "Its post", tags=["lesson"])
    finally:
        await bot.close()

    assert chat.user_id == sandbox.bot_user_id
    assert forum.id == int(guild["channels"]["data-basics"])
    assert [channel["id"] for channel in sandbox.channels(guild_id)] == [
        channel["id"] for channel in channels_before
    ]
    assert [m["id"] for m in sandbox.channel_messages(general)] == [str(message_id)]
    [thread] = sandbox.threads(forum.id)
    assert int(thread["id"]) == post.thread_id and "lesson" in forum.tags
    # No gateway session was ever opened, and no slash command registered.
    assert sandbox.sessions == [] and sandbox.commands(guild_id) == []
