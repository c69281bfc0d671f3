"""The command tree's error handler: log the failure, tell the person, never go silent."""

from __future__ import annotations

import logging
import secrets

import discord
from discord import app_commands

from bot.discord.replies import reply
from bot.i18n import t

log = logging.getLogger(__name__)


def error_message(locale: str, command: str, error: app_commands.AppCommandError) -> str:
    """Return the localized message a person sees for a failed command, and log it."""
    if isinstance(error, app_commands.CheckFailure):
        log.info("/%s refused: %s", command, error)
        return t(locale, "discord.error_not_allowed", command=command)
    if isinstance(error, app_commands.CommandNotFound | app_commands.CommandSignatureMismatch):
        # Discord still offers a command this bot no longer has (or in an older shape).
        log.warning("/%s is registered on Discord but not here: %s", command, error)
        return t(locale, "discord.error_unknown_command", command=command)
    # A short reference ties what the person may report to the log line with the traceback.
    reference = secrets.token_hex(4)
    original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    log.error(
        "/%s failed (reference %s): %s",
        command,
        reference,
        original,
        exc_info=(type(original), original, original.__traceback__),
    )
    return t(locale, "discord.error_generic", command=command, reference=reference)


class LessonTree(app_commands.CommandTree):
    """The bot's command tree, whose failures always get an answer."""

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError, /
    ) -> None:
        """Log a failed command and answer the person in their language (ephemeral)."""
        command = _command_name(interaction, error)
        message = error_message(interaction.locale.value, command, error)
        try:
            if interaction.type is discord.InteractionType.autocomplete:
                if not interaction.response.is_done():
                    await interaction.response.autocomplete([])
                return
            await reply(interaction, message, ephemeral=True)
        except discord.HTTPException:
            # Expired (after 15 minutes) or already gone: nothing left to answer.
            log.exception("could not tell the user that /%s failed", command)


def _command_name(interaction: discord.Interaction, error: app_commands.AppCommandError) -> str:
    """Return the full name of the command that failed, as the person typed it."""
    if interaction.command is not None:
        return interaction.command.qualified_name
    if isinstance(error, app_commands.CommandNotFound):
        return " ".join([*error.parents, error.name])
    data = interaction.data or {}
    return str(data.get("name", "?"))
