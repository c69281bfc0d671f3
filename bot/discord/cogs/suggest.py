"""`/suggest`: propose an edit to a lesson from Discord and follow it through review.

`/suggest edit` (or a lesson post's "Suggest an edit" button) opens a modal: the passage to
change, its replacement and why. What a person typed is kept for a few minutes, so a
refused suggestion can be sent again from a "Try again" button with everything still there.
`/suggest revise|accept|withdraw|status id:<n>` act on a suggestion already sent, and so do
the buttons under each step the bot tells a suggester (take a proposed text, revise,
withdraw): persistent, they answer after a restart too.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.config import SuggestionSettings
from bot.discord.cogs.lessons import language_name, lesson_choices, unknown_lesson_text
from bot.discord.replies import (
    CHOICE_LIMIT,
    CHOICES_LIMIT,
    EMBED_DESCRIPTION_LIMIT,
    EMBED_FIELD_NAME_LIMIT,
    EMBED_FIELD_VALUE_LIMIT,
    EMBED_TITLE_LIMIT,
    defer_if_slow,
    reply,
    shorten,
)
from bot.discord.translator import described
from bot.domain import review_flow
from bot.i18n import normalize_locale, t
from bot.services.lessons import LessonDirectory
from bot.services.ports import (
    CUSTOM_ID_LIMIT,
    SUGGEST_BUTTON_PREFIX,
    SUGGESTION_BUTTON_PREFIX,
    suggestion_button_id,
)
from bot.services.suggestions import (
    Author,
    SuggestionError,
    SuggestionInput,
    SuggestionService,
    SuggestionView,
)
from bot.store.models import SuggestionSource

log = logging.getLogger(__name__)

SUGGEST_COLOUR = discord.Colour(0x22A06B)
# Discord's limits on modals: the title and a field's label, and a text input's length.
MODAL_TITLE_LIMIT = 45
LABEL_LIMIT = 45
PLACEHOLDER_LIMIT = 100
TEXT_INPUT_LIMIT = 4000
# What a person typed is kept this long for "Try again", and for this many people at most.
DRAFT_SECONDS = 600.0
DRAFTS_LIMIT = 1000
# A modal's interaction token lasts 15 minutes; after that nobody can submit it.
MODAL_TIMEOUT_SECONDS = 900.0
# The events a status answer shows, newest last.
STATUS_EVENTS = 5
TRY_AGAIN_ID = "lessonbot:suggest-again"
# The modal's fields, named as the service names them.
MODAL_FIELDS = ("find", "replace", "reason")
# Events the status answer names; any other kind is shown as it is stored.
EVENT_KINDS = frozenset(
    {
        "submitted",
        "joined",
        "pr_opened",
        "pushed",
        "revised",
        "accepted",
        "withdrawn",
        "changes_requested",
        "approved",
        "reviewed",
        "review_dismissed",
        "line_comment",
        "reviewer_suggestion",
        "merged",
        "closed",
        "reopened",
        "conflict",
        "failed",
        "translations_behind",
        "rebased",
        "revision_failed",
        "accept_refused",
        "committed",
    }
)
STATUSES = frozenset(review_flow.STATUSES)


@dataclass(frozen=True, slots=True)
class Draft:
    """What a modal is for and what was typed in it."""

    kind: str  # "edit" (a new suggestion) or "revise" (a further edit of `suggestion_id`)
    locale: str  # the lesson's locale to edit ("" for a revision: the suggestion has it)
    identity: str = ""
    title: str = ""  # the lesson's title, shown in the modal's title
    suggestion_id: int = 0
    find: str = ""
    replace: str = ""
    reason: str = ""


class Drafts:
    """What people typed, by Discord user, kept for a few minutes (memory only)."""

    def __init__(
        self,
        seconds: float = DRAFT_SECONDS,
        limit: int = DRAFTS_LIMIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._seconds = seconds
        self._limit = limit
        self._clock = clock
        self._kept: dict[int, tuple[float, Draft]] = {}

    def keep(self, user_id: int, draft: Draft) -> None:
        """Keep a person's latest draft, forgetting expired ones (and the oldest if full)."""
        now = self._clock()
        self._kept = {
            user: (until, kept) for user, (until, kept) in self._kept.items() if until > now
        }
        self._kept.pop(user_id, None)
        while len(self._kept) >= self._limit:
            self._kept.pop(next(iter(self._kept)))
        self._kept[user_id] = (now + self._seconds, draft)

    def get(self, user_id: int) -> Draft | None:
        """Return a person's draft while it is kept."""
        found = self._kept.get(user_id)
        if found is None or found[0] <= self._clock():
            self._kept.pop(user_id, None)
            return None
        return found[1]

    def forget(self, user_id: int) -> None:
        """Drop a person's draft (it was sent)."""
        self._kept.pop(user_id, None)

    def __len__(self) -> int:
        return len(self._kept)


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

    def __init__(self, cog: SuggestCog, draft: Draft, locale: str, note: str = "") -> None:
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
        cog = _cog(interaction)
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
        cog = _cog(interaction)
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
        cog = _cog(interaction)
        try:
            if cog is None:
                raise RuntimeError("the suggest cog is not loaded")
            await cog.clicked(interaction, self.action, self.suggestion_id, self.comment_id)
        except Exception as error:
            await answer_failure(interaction, "suggest", error)


def _cog(interaction: discord.Interaction) -> SuggestCog | None:
    client = interaction.client
    cog = client.get_cog(SuggestCog.__cog_name__) if isinstance(client, commands.Bot) else None
    return cog if isinstance(cog, SuggestCog) else None


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


async def add_suggest_cog(bot: commands.Bot, cog: SuggestCog) -> None:
    """Add the cog and the persistent buttons it answers, on whatever message they are."""
    await bot.add_cog(cog)
    bot.add_dynamic_items(SuggestButton, TryAgainButton, StepButton)


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


class SuggestCog(commands.Cog, name="SuggestCog"):
    """Suggest edits to lessons and follow them: `/suggest` and the lesson posts' button."""

    suggest = app_commands.Group(
        name="suggest",
        description=described(
            "Suggest an edit to a lesson and follow it through review",
            "discord_suggest.group_description",
        ),
    )

    def __init__(
        self,
        service: SuggestionService,
        directory: LessonDirectory,
        limits: SuggestionSettings | None = None,
        drafts: Drafts | None = None,
    ) -> None:
        self.service = service
        self.directory = directory
        self.limits = limits or SuggestionSettings()
        self.drafts = drafts or Drafts()

    # --- /suggest edit and the post button ----------------------------------------------

    @suggest.command(
        name="edit",
        description=described(
            "Suggest an edit to a lesson: the passage, what it should say and why",
            "discord_suggest.edit_description",
        ),
    )
    @app_commands.describe(
        lesson=described(
            "The lesson: start typing its title or program/slug", "discord_suggest.lesson_option"
        ),
        locale=described(
            "The language version to change (yours, if the lesson has it)",
            "discord_suggest.locale_option",
        ),
    )
    async def edit(
        self, interaction: discord.Interaction, lesson: str, locale: str | None = None
    ) -> None:
        """Open the modal for a lesson (in the chosen locale, else the person's own)."""
        await self.open_edit(interaction, lesson, locale)

    @edit.autocomplete("lesson")
    async def lesson_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Offer the lessons that match what the person has typed so far."""
        return lesson_choices(self.directory, current, interaction.locale.value, "/suggest edit")

    @edit.autocomplete("locale")
    async def locale_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Offer the chosen lesson's locales, named in the person's language."""
        try:
            identity = str(getattr(interaction.namespace, "lesson", "") or "")
            summary = self.directory.describe(identity, interaction.locale.value)
            if summary is None:
                return []
            language = normalize_locale(interaction.locale.value)
            wanted = current.strip().casefold()
            choices = [
                app_commands.Choice(
                    name=shorten(f"{language_name(code, language)} ({code})", CHOICE_LIMIT),
                    value=code,
                )
                for code in summary.locales
            ]
            return [c for c in choices if wanted in c.name.casefold()][:CHOICES_LIMIT]
        except Exception:
            log.exception("locale autocomplete for /suggest edit failed")
            return []

    async def open_edit(
        self, interaction: discord.Interaction, identity: str, locale: str | None
    ) -> None:
        """Open the modal for a new suggestion, or say why not (ephemerally)."""
        asker = interaction.locale.value
        found = self.directory.lookup(identity)
        summary = self.directory.describe(found.lesson.identity, asker) if found.lesson else None
        if summary is None:
            text = unknown_lesson_text(self.directory, found, identity, asker)
            await reply(interaction, text, ephemeral=True)
            return
        if locale is not None and locale not in summary.locales:
            error = SuggestionError(
                "locale_unknown",
                field="locale",
                locale=shorten(locale, 16),
                locales=", ".join(summary.locales),
            )
            await reply(interaction, error.message(asker), ephemeral=True)
            return
        # No locale chosen: the person's language when the lesson has it, else the default
        # one, which the modal then says in one line.
        chosen = locale or summary.locale
        note = ""
        language = normalize_locale(asker)
        if locale is None and chosen.split("-")[0] != asker.split("-")[0].lower():
            note = t(
                asker, "discord_suggest.other_language", language=language_name(chosen, language)
            )
        shown = self.directory.describe(summary.identity, chosen) or summary
        draft = Draft(kind="edit", identity=summary.identity, locale=chosen, title=shown.title)
        kept = self.drafts.get(interaction.user.id)
        if kept is not None and (kept.kind, kept.identity, kept.locale) == (
            "edit",
            draft.identity,
            draft.locale,
        ):
            draft = kept  # what was typed for this lesson a moment ago is not lost
        await interaction.response.send_modal(SuggestModal(self, draft, asker, note))

    async def reopen(self, interaction: discord.Interaction) -> None:
        """Reopen the person's last modal with what they typed."""
        draft = self.drafts.get(interaction.user.id)
        if draft is None:
            locale = interaction.locale.value
            await reply(interaction, t(locale, "discord_suggest.draft_expired"), ephemeral=True)
            return
        await interaction.response.send_modal(SuggestModal(self, draft, interaction.locale.value))

    async def submitted(self, interaction: discord.Interaction, draft: Draft) -> None:
        """Send what a modal holds to the service and answer the person, ephemerally."""
        locale = interaction.locale.value
        user = interaction.user
        # Kept first: whatever happens next, "Try again" has what was typed.
        self.drafts.keep(user.id, draft)
        try:
            async with defer_if_slow(interaction, ephemeral=True):
                if draft.kind == "revise":
                    await self.service.revise(
                        draft.suggestion_id,
                        draft.find,
                        draft.replace,
                        draft.reason,
                        discord_user_id=user.id,
                    )
                    message = t(
                        locale,
                        "discord_suggest.revised",
                        id=draft.suggestion_id,
                        status_url=self.service.status_url(draft.suggestion_id),
                    )
                else:
                    sent = await self.service.submit(
                        SuggestionInput(
                            lesson=draft.identity,
                            locale=draft.locale,
                            find=draft.find,
                            replace=draft.replace,
                            reason=draft.reason,
                            source=SuggestionSource.DISCORD,
                            author=Author(
                                name=user.display_name,
                                discord_user_id=user.id,
                                locale=normalize_locale(locale),
                            ),
                            idempotency_key=f"discord:{interaction.id}",
                        )
                    )
                    message = t(
                        locale,
                        "discord_suggest.submitted",
                        id=sent.id,
                        status_url=self.service.status_url(sent.id),
                    )
                    if sent.joined:
                        message += "\n" + t(locale, "discord_suggest.joined")
        except SuggestionError as error:
            await reply(
                interaction,
                refusal(error, locale, draft.suggestion_id),
                ephemeral=True,
                view=try_again_view(locale),
            )
            return
        except Exception as error:
            await answer_failure(interaction, "suggest", error)
            return
        self.drafts.forget(user.id)
        await reply(interaction, message, ephemeral=True)

    # --- acting on a suggestion ------------------------------------------------------------

    @suggest.command(
        name="revise",
        description=described(
            "Revise your suggestion with a further edit", "discord_suggest.revise_description"
        ),
    )
    @app_commands.describe(
        id=described("The suggestion's number", "discord_suggest.id_option"),
    )
    async def revise(
        self, interaction: discord.Interaction, id: app_commands.Range[int, 1]
    ) -> None:
        """Open a modal for a further edit of your suggestion."""
        await self.open_revise(interaction, id)

    async def open_revise(self, interaction: discord.Interaction, suggestion_id: int) -> None:
        """Open the revise modal, filled with the passage as the pull request has it now
        (or with what the person typed a moment ago), or say why not."""
        locale = interaction.locale.value
        try:
            await self.service.authorize(suggestion_id, discord_user_id=interaction.user.id)
            view = await self.service.view(suggestion_id)
        except SuggestionError as error:
            await reply(interaction, refusal(error, locale, suggestion_id), ephemeral=True)
            return
        passage = view.passage if view is not None else ""
        draft = Draft(
            kind="revise", locale="", suggestion_id=suggestion_id, find=passage, replace=passage
        )
        kept = self.drafts.get(interaction.user.id)
        if kept is not None and (kept.kind, kept.suggestion_id) == ("revise", suggestion_id):
            draft = kept
        await interaction.response.send_modal(SuggestModal(self, draft, locale))

    async def clicked(
        self,
        interaction: discord.Interaction,
        action: str,
        suggestion_id: int,
        comment_id: int | None,
    ) -> None:
        """Act on a button under a told step, as the suggester who clicked it."""
        if action == "revise":
            await self.open_revise(interaction, suggestion_id)
            return
        locale = interaction.locale.value
        user_id = interaction.user.id
        try:
            async with defer_if_slow(interaction, ephemeral=True):
                if action == "use":
                    await self.service.accept(suggestion_id, comment_id, discord_user_id=user_id)
                    message = t(
                        locale,
                        "discord_suggest.accepted",
                        id=suggestion_id,
                        status_url=self.service.status_url(suggestion_id),
                    )
                elif action == "withdraw":
                    # Nothing changes yet: withdrawing cannot be undone, so it is asked first.
                    await self.service.authorize(suggestion_id, discord_user_id=user_id)
                    await reply(
                        interaction,
                        t(locale, "discord_suggest.withdraw_confirm", id=suggestion_id),
                        ephemeral=True,
                        view=confirm_withdraw_view(suggestion_id, locale),
                    )
                    return
                else:
                    view = await self.service.withdraw(suggestion_id, discord_user_id=user_id)
                    key = "withdrawn" if view.status == "withdrawn" else "withdrawn_name"
                    message = t(locale, f"discord_suggest.{key}", id=suggestion_id)
        except SuggestionError as error:
            await reply(interaction, refusal(error, locale, suggestion_id), ephemeral=True)
            return
        await reply(interaction, message, ephemeral=True)

    @suggest.command(
        name="accept",
        description=described(
            "Accept the text a reviewer proposed for your suggestion",
            "discord_suggest.accept_description",
        ),
    )
    @app_commands.describe(
        id=described("The suggestion's number", "discord_suggest.id_option"),
    )
    async def accept(
        self, interaction: discord.Interaction, id: app_commands.Range[int, 1]
    ) -> None:
        """Commit the reviewer's newest proposed text to your suggestion's pull request."""
        locale = interaction.locale.value
        try:
            async with defer_if_slow(interaction, ephemeral=True):
                await self.service.accept(id, discord_user_id=interaction.user.id)
        except SuggestionError as error:
            await reply(interaction, refusal(error, locale, id), ephemeral=True)
            return
        message = t(
            locale, "discord_suggest.accepted", id=id, status_url=self.service.status_url(id)
        )
        await reply(interaction, message, ephemeral=True)

    @suggest.command(
        name="withdraw",
        description=described("Withdraw your suggestion", "discord_suggest.withdraw_description"),
    )
    @app_commands.describe(
        id=described("The suggestion's number", "discord_suggest.id_option"),
    )
    async def withdraw(
        self, interaction: discord.Interaction, id: app_commands.Range[int, 1]
    ) -> None:
        """Take your name off a suggestion; the last one out closes its pull request."""
        locale = interaction.locale.value
        try:
            async with defer_if_slow(interaction, ephemeral=True):
                view = await self.service.withdraw(id, discord_user_id=interaction.user.id)
        except SuggestionError as error:
            await reply(interaction, refusal(error, locale, id), ephemeral=True)
            return
        key = "withdrawn" if view.status == "withdrawn" else "withdrawn_name"
        await reply(interaction, t(locale, f"discord_suggest.{key}", id=id), ephemeral=True)

    @suggest.command(
        name="status",
        description=described(
            "Show where a suggestion stands", "discord_suggest.status_description"
        ),
    )
    @app_commands.describe(
        id=described("The suggestion's number", "discord_suggest.id_option"),
    )
    async def status(
        self, interaction: discord.Interaction, id: app_commands.Range[int, 1]
    ) -> None:
        """Show a suggestion's status, pull request and latest events (to the asker only).

        Anyone may look: the same facts are on the public status page and the PR.
        """
        locale = interaction.locale.value
        async with defer_if_slow(interaction, ephemeral=True):
            view = await self.service.view(id)
        if view is None:
            error = SuggestionError("not_found", status=404, id=id)
            await reply(interaction, error.message(locale), ephemeral=True)
            return
        await reply(
            interaction,
            embed=status_embed(view, locale, self.service.status_url(id)),
            ephemeral=True,
        )


def refusal(error: SuggestionError, locale: str, suggestion_id: int = 0) -> str:
    """Return what a person is told when the service refuses: Discord words for credentials."""
    if error.code in ("token_invalid", "token_missing"):
        # Discord users never see tokens: it is their Discord account that does not match.
        return t(locale, "discord_suggest.not_yours", id=suggestion_id)
    if error.field in MODAL_FIELDS:
        # Named as the modal labels it, in the person's language, not by its API name.
        label = t(locale, f"discord_suggest.{error.field}_label")
        named = SuggestionError(error.code, field=label, status=error.status, **error.params)
        return named.message(locale)
    return error.message(locale)


def status_label(status: str, locale: str) -> str:
    """Return a suggestion status in a person's language."""
    return t(locale, f"discord_suggest.status.{status}") if status in STATUSES else status


def event_label(kind: str, detail: dict[str, Any], locale: str) -> str:
    """Return what an event says, in a person's language."""
    if kind not in EVENT_KINDS:
        return kind
    return t(
        locale,
        f"discord_suggest.event.{kind}",
        reviewer=discord.utils.escape_markdown(str(detail.get("reviewer") or "?")),
        line=detail.get("line") or "?",
    )


def status_embed(view: SuggestionView, locale: str, status_url: str) -> discord.Embed:
    """Return the embed that shows a suggestion: status, PR, proposed text, latest events."""
    embed = discord.Embed(
        title=shorten(
            t(locale, "discord_suggest.status_title", id=view.id, lesson=view.lesson),
            EMBED_TITLE_LIMIT,
        ),
        url=status_url,
        description=shorten(
            t(locale, "discord_suggest.status_page", status_url=status_url),
            EMBED_DESCRIPTION_LIMIT,
        ),
        colour=SUGGEST_COLOUR,
    )
    embed.add_field(
        name=t(locale, "discord_suggest.status_field"),
        value=status_label(view.status, locale),
        inline=True,
    )
    embed.add_field(name=t(locale, "discord_suggest.locale_field"), value=view.locale, inline=True)
    if view.pr_url:
        embed.add_field(
            name=t(locale, "discord_suggest.pr_field"),
            value=shorten(f"[#{view.pr_number}]({view.pr_url})", EMBED_FIELD_VALUE_LIMIT),
            inline=True,
        )
    if view.pr_number is not None and view.passage:
        embed.add_field(
            name=t(locale, "discord_suggest.passage_field"),
            value=shorten(_quoted(view.passage), EMBED_FIELD_VALUE_LIMIT),
            inline=False,
        )
    proposals = view.reviewer_suggestions
    if proposals:
        newest = proposals[0].detail
        text = str(newest.get("suggestion") or "")
        embed.add_field(
            # Who proposed it, so nobody takes an outsider's text for a maintainer's.
            name=shorten(
                t(
                    locale,
                    "discord_suggest.proposal_field",
                    reviewer=str(newest.get("reviewer") or "?"),
                    line=newest.get("line") or "?",
                ),
                EMBED_FIELD_NAME_LIMIT,
            ),
            value=shorten(
                t(locale, "discord_suggest.proposal", id=view.id, text=_quoted(text)),
                EMBED_FIELD_VALUE_LIMIT,
            ),
            inline=False,
        )
    if view.events:
        lines = [
            f"<t:{int(event.at.timestamp())}:R> "
            + event_label(event.kind, dict(event.detail), locale)
            for event in view.events[-STATUS_EVENTS:]
        ]
        embed.add_field(
            name=t(locale, "discord_suggest.events_field"),
            value=shorten("\n".join(lines), EMBED_FIELD_VALUE_LIMIT),
            inline=False,
        )
    embed.set_footer(text=view.lesson)
    return embed


def _quoted(text: str) -> str:
    """Return text as a Markdown quote, pings and formatting left inert."""
    inert = discord.utils.escape_mentions(discord.utils.escape_markdown(text.strip()))
    return "\n".join(f"> {line}" for line in inert.splitlines()) or "> "
