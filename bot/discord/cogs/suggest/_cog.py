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

import discord
from discord import app_commands
from discord.ext import commands

from bot.config import SuggestionSettings
from bot.discord.cogs.lessons import language_name, lesson_choices, unknown_lesson_text
from bot.discord.cogs.suggest._drafts import Draft, Drafts
from bot.discord.cogs.suggest._embeds import refusal, status_embed, withdrawn_text
from bot.discord.cogs.suggest._views import (
    COG_NAME,
    ModerateButton,
    StepButton,
    SuggestButton,
    SuggestModal,
    TryAgainButton,
    answer_failure,
    confirm_withdraw_view,
    try_again_view,
)
from bot.discord.replies import CHOICE_LIMIT, CHOICES_LIMIT, defer_if_slow, reply, shorten
from bot.discord.translator import described
from bot.i18n import normalize_locale, t
from bot.services.lessons import LessonDirectory
from bot.services.suggestions import (
    Author,
    SuggestionError,
    SuggestionInput,
    SuggestionService,
)
from bot.services.suggestions.moderation import ModerationError
from bot.services.suggestions.moderation_posts import discord_moderator
from bot.store.models import SuggestionSource

log = logging.getLogger(__name__)


class SuggestCog(commands.Cog, name=COG_NAME):
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
                    message = withdrawn_text(view.status, locale, suggestion_id)
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
        await reply(interaction, withdrawn_text(view.status, locale, id), ephemeral=True)

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

    # --- the moderators' buttons --------------------------------------------------------

    async def moderate(
        self, interaction: discord.Interaction, action: str, suggestion_id: int
    ) -> None:
        """Open a held suggestion's PR, reject it or block its sender: maintainers only."""
        locale = interaction.locale.value
        moderation = self.service.moderation
        user = interaction.user
        roles = [role.id for role in getattr(user, "roles", ())]
        if not moderation.may_moderate(roles):
            log.info(
                "moderation button %s on suggestion %d refused: user %s has no maintainer role",
                action,
                suggestion_id,
                user.id,
            )
            await reply(interaction, t(locale, "moderation_queue.refused"), ephemeral=True)
            return
        moderator = discord_moderator(user.id, user.display_name)
        try:
            async with defer_if_slow(interaction, ephemeral=True):
                if action == "approve":
                    await moderation.approve(suggestion_id, moderator)
                else:
                    await moderation.reject(suggestion_id, moderator, block=action == "block")
        except ModerationError as error:
            await reply(interaction, t(locale, error.key, **error.params), ephemeral=True)
            return
        done = {"approve": "approved", "reject": "rejected", "block": "blocked"}[action]
        await reply(
            interaction, t(locale, f"moderation.cli_{done}", id=suggestion_id), ephemeral=True
        )


async def add_suggest_cog(bot: commands.Bot, cog: SuggestCog) -> None:
    """Add the cog and the persistent buttons it answers, on whatever message they are."""
    await bot.add_cog(cog)
    bot.add_dynamic_items(SuggestButton, TryAgainButton, StepButton, ModerateButton)
