"""The "Solved" / "Still stuck" buttons under a nudge that asks a question's asker.

Persistent: the question and round are in each button's custom_id, so a press after a
restart (or in another gateway process) still finds its question. Only the asker may press
them; anyone else gets a refusal only they see.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import discord
from discord.ext import commands

from bot.discord.replies import reply
from bot.i18n import t
from bot.services.questions.nudges import NUDGE_BUTTON_PREFIX, SOLVED, STUCK, NudgeService

log = logging.getLogger(__name__)


class NudgeButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=re.escape(NUDGE_BUTTON_PREFIX)
    + rf"(?P<action>{SOLVED}|{STUCK}):(?P<question>\d+):(?P<round>\d+)",
):
    """One of the asker's buttons, rebuilt from its custom_id on any press."""

    def __init__(self, action: str, question_id: int, round_: int) -> None:
        super().__init__(
            discord.ui.Button(custom_id=f"{NUDGE_BUTTON_PREFIX}{action}:{question_id}:{round_}")
        )
        self.action = action
        self.question_id = question_id
        self.round = round_

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> NudgeButton:
        """Rebuild the button from a press under any nudge."""
        return cls(match["action"], int(match["question"]), int(match["round"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Hand the press to the nudge service and tell the presser what it did."""
        client = interaction.client
        cog = client.get_cog("NudgesCog") if isinstance(client, commands.Bot) else None
        if isinstance(cog, NudgesCog):
            await cog.pressed(interaction, self.action, self.question_id, self.round)


class NudgesCog(commands.Cog, name="NudgesCog"):
    """Apply the asker's answer to a nudge."""

    def __init__(self, nudges: NudgeService) -> None:
        self.nudges = nudges

    async def pressed(
        self, interaction: discord.Interaction, action: str, question_id: int, round_: int
    ) -> None:
        """Resolve or reopen the question, or refuse; always answer the presser alone."""
        locale = interaction.locale.value
        try:
            result = await self.nudges.press(question_id, round_, action, interaction.user.id)
        except Exception:
            log.exception("question %d: could not apply the %s button", question_id, action)
            await reply(interaction, t(locale, "questions.unavailable"), ephemeral=True)
            return
        key = {
            "solved": "nudge.solved",
            "reopened": "nudge.reopened",
            "not_asker": "nudge.not_asker",
            "stale": "nudge.stale",
        }.get(result.outcome, "nudge.gone")
        log.info(
            "question %d: %s button by %s: %s",
            question_id,
            action,
            interaction.user.id,
            result.outcome,
        )
        await reply(interaction, t(locale, key), ephemeral=True)


async def add_nudges_cog(bot: commands.Bot, nudges: NudgeService) -> NudgesCog:
    """Add the nudges cog and its persistent buttons to a bot; return the cog."""
    cog = NudgesCog(nudges)
    await bot.add_cog(cog)
    bot.add_dynamic_items(NudgeButton)
    return cog
