"""Answer interactions within Discord's rules: one response, then follow-ups, in time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import discord

log = logging.getLogger(__name__)

# Discord drops an interaction not answered within 3 seconds; defer well before that.
DEFER_AFTER_SECONDS = 2.0
# Discord's limits on messages and embeds.
MESSAGE_LIMIT = 2000
EMBED_TITLE_LIMIT = 256
EMBED_DESCRIPTION_LIMIT = 4096
EMBED_FIELDS_LIMIT = 25
EMBED_FIELD_NAME_LIMIT = 256
EMBED_FIELD_VALUE_LIMIT = 1024
EMBED_FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000
# Autocomplete: at most 25 choices, names and values of 1 to 100 characters.
CHOICES_LIMIT = 25
CHOICE_LIMIT = 100


def shorten(text: str, limit: int) -> str:
    """Return text cut to at most `limit` characters, ending in an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


async def reply(
    interaction: discord.Interaction,
    content: str | None = None,
    *,
    embed: discord.Embed | None = None,
    ephemeral: bool = False,
    view: discord.ui.View | None = None,
) -> None:
    """Answer an interaction: its response if still open, else a follow-up message."""
    options: dict[str, Any] = {"ephemeral": ephemeral}
    if embed is not None:
        options["embed"] = embed
    if view is not None:
        options["view"] = view
    if interaction.response.is_done():
        await interaction.followup.send(content, **options)
    else:
        await interaction.response.send_message(content, **options)


@contextlib.asynccontextmanager
async def defer_if_slow(
    interaction: discord.Interaction,
    *,
    after: float = DEFER_AFTER_SECONDS,
    ephemeral: bool = False,
) -> AsyncIterator[None]:
    """Defer the response ("thinking...") if the body is still running after `after` s.

    Reply with `reply()` after the block: it follows up when the response was deferred.
    """
    deferring = False

    async def defer_later() -> None:
        nonlocal deferring
        await asyncio.sleep(after)
        if not interaction.response.is_done():
            deferring = True
            await interaction.response.defer(ephemeral=ephemeral, thinking=True)

    task = asyncio.create_task(defer_later())
    try:
        yield
    finally:
        if deferring:
            # Let a defer in flight finish: cancelled midway, Discord may have it while
            # discord.py does not, and the reply would then fail as a second response.
            with contextlib.suppress(discord.HTTPException):
                await asyncio.shield(task)
        else:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
