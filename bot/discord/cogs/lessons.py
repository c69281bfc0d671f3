"""The `/lesson` command: find a lesson as you type and show it in your language."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import discord
from babel import Locale, UnknownLocaleError
from babel.lists import format_list
from discord import app_commands
from discord.ext import commands

from bot.discord.replies import (
    CHOICE_LIMIT,
    CHOICES_LIMIT,
    EMBED_DESCRIPTION_LIMIT,
    EMBED_FIELD_VALUE_LIMIT,
    EMBED_TITLE_LIMIT,
    defer_if_slow,
    reply,
    shorten,
)
from bot.discord.translator import described
from bot.domain.lookup import LessonLookup
from bot.i18n import normalize_locale, t
from bot.services.lessons import LessonChoice, LessonDirectory, LessonSummary
from bot.services.linking import LessonLinks, LinkDirectory

if TYPE_CHECKING:
    from bot.services.suggestions import SuggestionService

log = logging.getLogger(__name__)

LESSON_COLOUR = discord.Colour(0x3B82F6)
# How much of what a person typed is echoed back in the "no such lesson" message.
ECHO_LIMIT = 100
# How much of each close lesson's title "did you mean" shows: three fit in one message.
TITLE_ECHO_LIMIT = 80
# How many of a lesson's open suggestions /lesson lists.
SUGGESTIONS_SHOWN = 5


class LessonsCog(commands.Cog):
    """Find and show lessons of the catalogue."""

    def __init__(
        self,
        directory: LessonDirectory,
        links: LinkDirectory | None = None,
        suggestions: SuggestionService | None = None,
    ) -> None:
        self.directory = directory
        self.links = links
        self.suggestions = suggestions

    @app_commands.command(
        name="lesson",
        description=described(
            "Show a lesson: its title, description and languages", "discord.lesson_description"
        ),
    )
    @app_commands.describe(
        lesson=described(
            "The lesson: start typing its title or program/slug", "discord.lesson_option"
        )
    )
    async def lesson(self, interaction: discord.Interaction, lesson: str) -> None:
        """Show a lesson as an embed, or say (to the asker only) that there is none."""
        locale = interaction.locale.value
        # The directory answers from memory, well within Discord's 3 seconds: no defer.
        found = self.directory.lookup(lesson)
        summary = self.directory.describe(found.lesson.identity, locale) if found.lesson else None
        if summary is None:
            text = unknown_lesson_text(self.directory, found, lesson, locale)
            await reply(interaction, text, ephemeral=True)
            return
        links = None
        suggested: list[Suggested] = []
        if self.links is not None or self.suggestions is not None:
            # In lazy mode the first ask creates the post and issue: a few requests, which
            # may outlast Discord's 3 seconds, so defer then.
            async with defer_if_slow(interaction):
                links = await self._links(summary.identity)
                suggested = await self._suggested(summary.identity)
        await reply(interaction, embed=lesson_embed(summary, locale, links, suggested))

    async def _links(self, identity: str) -> LessonLinks | None:
        if self.links is None:
            return None
        try:
            return await self.links.find(identity, create=True)
        except Exception:
            # The lesson is still worth showing without its discussion links.
            log.exception("could not get the links of %s", identity)
            return None

    async def _suggested(self, identity: str) -> list[Suggested]:
        if self.suggestions is None:
            return []
        try:
            views = await self.suggestions.for_lesson(identity)
        except Exception:
            log.exception("could not get the suggested edits of %s", identity)
            return []
        return [
            Suggested(view.id, view.status, view.pr_url or self.suggestions.status_url(view.id))
            for view in views[:SUGGESTIONS_SHOWN]
        ]

    @lesson.autocomplete("lesson")
    async def lesson_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Offer the lessons that match what the person has typed so far."""
        return lesson_choices(self.directory, current, interaction.locale.value, "/lesson")


def lesson_choices(
    directory: LessonDirectory, current: str, locale: str, command: str
) -> list[app_commands.Choice[str]]:
    """Return the autocomplete choices of a `lesson` option for what was typed so far."""
    try:
        found = directory.search(current, locale, CHOICES_LIMIT)
    except Exception:
        # discord.py only logs autocomplete errors; an empty list still answers.
        log.exception("autocomplete for %s failed on %r", command, current)
        return []
    # A value longer than Discord allows could never come back intact: leave it out.
    return [choice_for(lesson) for lesson in found if len(lesson.identity) <= CHOICE_LIMIT]


def unknown_lesson_text(
    directory: LessonDirectory, found: LessonLookup, typed: str, locale: str
) -> str:
    """Return "there is no such lesson", with the closest ones or the program/slug form."""
    echoed = discord.utils.escape_markdown(shorten(typed.strip(), ECHO_LIMIT))
    if found.closest:
        shown = []
        for lesson in found.closest:
            summary = directory.describe(lesson.identity, locale)
            title = summary.title if summary else lesson.slug
            title = discord.utils.escape_markdown(shorten(title, TITLE_ECHO_LIMIT))
            # In code: copied as it is, and a slug's `_` or `*` is not read as formatting.
            shown.append(f"`{lesson.identity}` ({title})")
        lessons = format_list(shown, "or", normalize_locale(locale))
        return t(locale, "lesson.not_found_closest", lesson=echoed, lessons=lessons)
    example = found.example.identity if found.example else "program/slug"
    return t(locale, "lesson.not_found", lesson=echoed, example=f"`{example}`")


@dataclass(frozen=True, slots=True)
class Suggested:
    """An open suggested edit of a lesson, as /lesson lists it."""

    id: int
    status: str
    url: str


def choice_for(lesson: LessonChoice) -> app_commands.Choice[str]:
    """Return the autocomplete choice for a lesson: its title and program, its identity."""
    name = shorten(f"{lesson.title} · {lesson.program_title}", CHOICE_LIMIT)
    return app_commands.Choice(name=name, value=lesson.identity)


def language_name(code: str, locale: str) -> str:
    """Return a language's name in a locale (`es` in Arabic: الإسبانية), or the code."""
    try:
        return Locale.parse(code.replace("-", "_")).get_language_name(locale) or code
    except (UnknownLocaleError, ValueError):
        return code


def lesson_embed(
    summary: LessonSummary,
    locale: str,
    links: LessonLinks | None = None,
    suggested: Sequence[Suggested] = (),
) -> discord.Embed:
    """Return the embed that shows a lesson to a person using `locale`."""
    language = normalize_locale(locale)  # the language our messages are in
    embed = discord.Embed(
        title=shorten(summary.title, EMBED_TITLE_LIMIT),
        description=shorten(summary.description, EMBED_DESCRIPTION_LIMIT) or None,
        url=summary.url,
        colour=LESSON_COLOUR,
    )
    embed.add_field(
        name=t(locale, "lesson.program"),
        value=shorten(summary.program_title, EMBED_FIELD_VALUE_LIMIT),
        inline=True,
    )
    names = ", ".join(language_name(code, language) for code in summary.locales)
    embed.add_field(
        name=t(locale, "lesson.available_in"),
        value=shorten(names, EMBED_FIELD_VALUE_LIMIT),
        inline=True,
    )
    places = [
        (t(locale, key), url)
        for key, url in (
            ("lesson.page", summary.url),
            ("lesson.post", links.post_url if links else None),
            ("lesson.issue", links.issue_url if links else None),
        )
        if url
    ]
    # The page is already the title's link: the field is for when there is more to offer.
    if links is not None and len(places) > (1 if summary.url else 0):
        embed.add_field(
            name=t(locale, "lesson.links"),
            value=shorten(
                " · ".join(f"[{name}]({url})" for name, url in places), EMBED_FIELD_VALUE_LIMIT
            ),
            inline=False,
        )
    if suggested:
        embed.add_field(
            name=t(locale, "discord_suggest.suggested_edits"),
            value=shorten(
                "\n".join(
                    f"[#{edit.id}]({edit.url}) · "
                    + t(locale, f"discord_suggest.status.{edit.status}")
                    for edit in suggested
                ),
                EMBED_FIELD_VALUE_LIMIT,
            ),
            inline=False,
        )
    footer = summary.identity
    if summary.locale.split("-")[0] != locale.split("-")[0].lower():
        shown_in = language_name(summary.locale, language)
        footer = f"{t(locale, 'lesson.not_translated', language=shown_in)} · {footer}"
    embed.set_footer(text=footer)
    return embed
