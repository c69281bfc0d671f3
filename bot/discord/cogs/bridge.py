"""Mirror people's messages in lesson posts to the lesson's GitHub issue (opt-in)."""

from __future__ import annotations

import logging

import discord
from discord.ext import commands

from bot.services.bridge import CommentBridge

log = logging.getLogger(__name__)

# Only what people write: joins, pins and thread renames are not discussion.
_PEOPLES_MESSAGES = (discord.MessageType.default, discord.MessageType.reply)


class BridgeCog(commands.Cog):
    """Hand new, edited and deleted thread messages to the comment bridge."""

    def __init__(self, bridge: CommentBridge) -> None:
        self.bridge = bridge

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Mirror a person's new message in a thread (the service ignores non-lesson ones)."""
        # The bot's own messages (bridged comments, starter messages) never go back.
        if message.author.bot or message.guild is None or message.type not in _PEOPLES_MESSAGES:
            return
        if not isinstance(message.channel, discord.Thread):
            return
        outcome = await self.bridge.on_discord_message(
            message.guild.id,
            message.channel.id,
            message.id,
            message.author.display_name,
            message.content,
        )
        log.debug("message %s: %s", message.id, outcome)

    @commands.Cog.listener()
    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        """Edit the mirrored comment of an edited message (raw: old messages are not cached)."""
        message = payload.message
        if message.author.bot or payload.guild_id is None or "content" not in payload.data:
            return
        outcome = await self.bridge.on_discord_edit(
            payload.guild_id, message.id, message.author.display_name, message.content
        )
        log.debug("message %s edited: %s", message.id, outcome)

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        """Delete the mirrored comment of a deleted message."""
        if payload.guild_id is None:
            return
        outcome = await self.bridge.on_discord_delete(payload.message_id)
        log.debug("message %s deleted: %s", payload.message_id, outcome)
