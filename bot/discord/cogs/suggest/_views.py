"""The suggest cog's modal and persistent buttons, and the views that carry them.

The buttons are dynamic items: discord.py rebuilds them from a click's custom_id on any
message, even after a restart, and they hand the click to the loaded cog.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import replace
from typing import Any, Protocol, runtime_checkable

import discord
from discord.ext import commands

from bot.config import SuggestionSettings
from bot.discord.cogs.suggest._drafts import Draft
from bot.discord.replies import reply, shorten
from bot.i18n import t
from bot.services.ports import (
    CUSTOM_ID_LIMIT,
    MODERATE_BUTTON_PREFIX,
    SUGGEST_BUTTON_PREFIX,
    SUGGESTION_BUTTON_PREFIX,
    suggestion_button_id,
)

log = logging.getLogger(__name__)

# The name discord.py registers the suggest cog under (`SuggestCog`'s `name=`).
COG_NAME = "SuggestCog"


@runtime_checkable
class LoadedSuggestCog(Protocol):
    """What the modal and buttons hand their interactions to: the loaded suggest cog.

    A protocol rather than the class, which imports these views: the views stay below it.
    """

    limits: SuggestionSettings

    async def open_edit(
        self, interaction: discord.Interaction, identity: str, locale: str | None
    ) -> None: ...

    async def reopen(self, interaction: discord.Interaction) -> None: ...

    async def submitted(self, interaction: discord.Interaction, draft: Draft) -> None: ...

    async def clicked(
        self,
        interaction: discord.Interaction,
        action: str,
        suggestion_id: int,
        comment_id: int | None,
    ) -> None: ...

    async def moderate(
        self, interaction: discord.Interaction, action: str, suggestion_id: int
    ) -> None: ...


# Discord's limits on modals: the title and a field's label, and a text input's length.
MODAL_TITLE_LIMIT = 45
LABEL_LIMIT = 45
PLACEHOLDER_LIMIT = 100
TEXT_INPUT_LIMIT = 4000
# A modal's interaction token lasts 15 minutes; after that nobody can submit it.
MODAL_TIMEOUT_SECONDS = 900.0
TRY_AGAIN_ID = "lessonbot:suggest-again"


def parse_suggest_id(custom_id: str) -> tuple[str, str] | None:
    """Return (program/slug, locale) of a post button's custom_id, or None."""
    if not custom_id.startswith(SUGGEST_BUTTON_PREFIX) or len(custom_id) > CUSTOM_ID_LIMIT:
        return None
    identity, _, locale = custom_id.removeprefix(SUGGEST_BUTTON_PREFIX).rpartition(":")
    program, _, slug = identity.partition("/")
    if not program or not slug or not locale:
        return None
    return identity, locale


class SuggestModal(discord.ui.Modal):
    """The passage to change, its replacement and why; sent to the cog on submit."""

    def __init__(self, cog: LoadedSuggestCog, draft: Draft, locale: str, note: str = "") -> None:
        if draft.kind == "revise":
            title = t(locale, "discord_suggest.revise_title", id=draft.suggestion_id)
        else:
            title = t(locale, "discord_suggest.modal_title", lesson=draft.title or draft.identity)
        super().__init__(title=shorten(title, MODAL_TITLE_LIMIT), timeout=MODAL_TIMEOUT_SECONDS)
        self.cog = cog
        self.draft = draft
        limits = cog.limits
        self.passage: discord.ui.TextInput[SuggestModal] = _field(
            locale, "find", draft.find, min(limits.max_find_chars, TEXT_INPUT_LIMIT), True
        )
        self.replacement: discord.ui.TextInput[SuggestModal] = _field(
            locale, "replace", draft.replace, min(limits.max_replace_chars, TEXT_INPUT_LIMIT), False
        )
        self.why: discord.ui.TextInput[SuggestModal] = _field(
            locale, "reason", draft.reason, min(limits.max_reason_chars, TEXT_INPUT_LIMIT), True
        )
        if note:
            # Above the fields, so nobody edits another language's text unaware.
            self.add_item(discord.ui.TextDisplay(shorten(note, TEXT_INPUT_LIMIT)))
        for name, item in (
            ("find", self.passage),
            ("replace", self.replacement),
            ("reason", self.why),
        ):
            label = shorten(t(locale, f"discord_suggest.{name}_label"), LABEL_LIMIT)
            self.add_item(discord.ui.Label(text=label, component=item))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Hand what was typed to the cog."""
        typed = replace(
            self.draft,
            find=self.passage.value,
            replace=self.replacement.value,
            reason=self.why.value,
        )
        await self.cog.submitted(interaction, typed)

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, /
    ) -> None:  # pragma: no cover - submitted() answers its own failures
        """Answer a failure nobody caught."""
        await answer_failure(interaction, "suggest", error)


def _field(
    locale: str, name: str, default: str, limit: int, required: bool
) -> discord.ui.TextInput[SuggestModal]:
    """Return one paragraph field of the modal, pre-filled with what was typed before."""
    return discord.ui.TextInput(
        placeholder=shorten(t(locale, f"discord_suggest.{name}_placeholder"), PLACEHOLDER_LIMIT),
        style=discord.TextStyle.paragraph,
        custom_id=name,
        default=default[:limit] or None,
        required=required,
        max_length=max(limit, 1),
    )


class SuggestButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=re.escape(SUGGEST_BUTTON_PREFIX) + r"(?P<identity>[^/]+/.+):(?P<locale>[^:]+)",
):
    """A lesson post's "Suggest an edit" button: opens the modal for that lesson."""

    def __init__(self, identity: str, locale: str, label: str = "Suggest an edit") -> None:
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.secondary,
                custom_id=f"{SUGGEST_BUTTON_PREFIX}{identity}:{locale}",
            )
        )
        self.identity = identity
        self.locale = locale

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> SuggestButton:
        """Rebuild the button from a click on any lesson post, even after a restart."""
        return cls(match["identity"], match["locale"])

    async def callback(self, interaction: discord.Interaction) -> None:
        """Open the suggestion modal for this lesson, in the clicker's language."""
        cog = loaded_cog(interaction)
        try:
            if cog is None:
                raise RuntimeError("the suggest cog is not loaded")
            # The id's locale is the post's; everyone clicks the same button, so each edits
            # the lesson in their own language when it has one.
            await cog.open_edit(interaction, self.identity, None)
        except Exception as error:
            await answer_failure(interaction, "suggest", error)


class TryAgainButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=re.escape(TRY_AGAIN_ID)
):
    """Reopen the modal a person last sent, with what they typed."""

    def __init__(self, label: str = "Try again") -> None:
        super().__init__(
            discord.ui.Button(
                label=label, style=discord.ButtonStyle.primary, custom_id=TRY_AGAIN_ID
            )
        )

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> TryAgainButton:
        """Rebuild the button from a click."""
        return cls()

    async def callback(self, interaction: discord.Interaction) -> None:
        """Reopen the modal pre-filled, or say what was typed is no longer kept."""
        cog = loaded_cog(interaction)
        try:
            if cog is None:
                raise RuntimeError("the suggest cog is not loaded")
            await cog.reopen(interaction)
        except Exception as error:
            await answer_failure(interaction, "suggest", error)


# The buttons under a told step: `lessonbot:suggestion:<action>:<id>[:<comment id>]`.
STEP_ACTIONS = ("use", "revise", "withdraw", "withdraw-yes")


class StepButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=re.escape(SUGGESTION_BUTTON_PREFIX)
    # "use" names the review comment whose text it takes; the others only the suggestion.
    + r"(?P<action>use(?=:[0-9]+:)|revise|withdraw|withdraw-yes):(?P<id>[1-9][0-9]{0,11})"
    + r"(?::(?P<comment>[1-9][0-9]{0,19}))?",
):
    """A button under a told step (use a proposed text, revise, withdraw, confirm it):
    rebuilt from its custom_id on any message, even after a restart; only a person
    credited on the suggestion may use it (the service checks)."""

    def __init__(
        self,
        action: str,
        suggestion_id: int,
        comment_id: int | None = None,
        *,
        label: str = "",
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
    ) -> None:
        super().__init__(
            discord.ui.Button(
                label=label or action,
                style=style,
                custom_id=suggestion_button_id(action, suggestion_id, comment_id),
            )
        )
        self.action = action
        self.suggestion_id = suggestion_id
        self.comment_id = comment_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> StepButton:
        """Rebuild the button from a click on any message, even after a restart."""
        comment = match["comment"]
        return cls(match["action"], int(match["id"]), int(comment) if comment else None)

    async def callback(self, interaction: discord.Interaction) -> None:
        """Hand the click to the cog; answer a failure nobody caught."""
        cog = loaded_cog(interaction)
        try:
            if cog is None:
                raise RuntimeError("the suggest cog is not loaded")
            await cog.clicked(interaction, self.action, self.suggestion_id, self.comment_id)
        except Exception as error:
            await answer_failure(interaction, "suggest", error)


class ModerateButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=re.escape(MODERATE_BUTTON_PREFIX)
    + r"(?P<action>approve|reject|block):(?P<id>[1-9][0-9]{0,11})",
):
    """A button under a held suggestion in the moderators' channel (open the PR, reject,
    block): rebuilt from its custom_id after a restart too; only a maintainer may use it
    (the cog checks)."""

    def __init__(self, action: str, suggestion_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label=action,
                custom_id=f"{MODERATE_BUTTON_PREFIX}{action}:{suggestion_id}",
            )
        )
        self.action = action
        self.suggestion_id = suggestion_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> ModerateButton:
        """Rebuild the button from a click in the moderators' channel."""
        return cls(match["action"], int(match["id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Hand the click to the cog; answer a failure nobody caught."""
        cog = loaded_cog(interaction)
        try:
            if cog is None:
                raise RuntimeError("the suggest cog is not loaded")
            await cog.moderate(interaction, self.action, self.suggestion_id)
        except Exception as error:
            await answer_failure(interaction, "moderate", error)


def loaded_cog(interaction: discord.Interaction) -> LoadedSuggestCog | None:
    """Return the suggest cog the clicked bot has loaded, or None."""
    client = interaction.client
    cog = client.get_cog(COG_NAME) if isinstance(client, commands.Bot) else None
    return cog if isinstance(cog, LoadedSuggestCog) else None


async def answer_failure(interaction: discord.Interaction, command: str, error: Exception) -> None:
    """Log an unexpected failure with a reference and tell the person, ephemerally."""
    reference = secrets.token_hex(4)
    log.error(
        "/%s failed (reference %s): %s",
        command,
        reference,
        error,
        exc_info=(type(error), error, error.__traceback__),
    )
    message = t(
        interaction.locale.value, "discord.error_generic", command=command, reference=reference
    )
    try:
        await reply(interaction, message, ephemeral=True)
    except discord.HTTPException:
        log.exception("could not tell the user that /%s failed", command)


def confirm_withdraw_view(suggestion_id: int, locale: str) -> discord.ui.View:
    """Return a view with the "Yes, withdraw" button (its clicks reach the dynamic item)."""
    view = discord.ui.View(timeout=None)
    label = shorten(t(locale, "discord_suggest.withdraw_yes"), 80)
    view.add_item(
        StepButton("withdraw-yes", suggestion_id, label=label, style=discord.ButtonStyle.danger)
    )
    return view


def try_again_view(locale: str) -> discord.ui.View:
    """Return a view with the "Try again" button (its clicks reach TryAgainButton)."""
    view = discord.ui.View(timeout=None)
    view.add_item(TryAgainButton(t(locale, "discord_suggest.try_again")))
    return view
