"""What the suggest cog tells people: the status embed, status and event labels, refusals."""

from __future__ import annotations

import logging
from typing import Any

import discord

from bot.discord.replies import (
    EMBED_DESCRIPTION_LIMIT,
    EMBED_FIELD_NAME_LIMIT,
    EMBED_FIELD_VALUE_LIMIT,
    EMBED_TITLE_LIMIT,
    shorten,
)
from bot.domain.review_flow import MODERATED, STATUSES, SuggestionStatus
from bot.i18n import language_name, t
from bot.services.suggestions import SuggestionError, SuggestionView

log = logging.getLogger(__name__)

SUGGEST_COLOUR = discord.Colour(0x22A06B)
# The events a status answer shows, newest last.
STATUS_EVENTS = 5
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


def withdrawn_text(status: str, locale: str, suggestion_id: int) -> str:
    """Return what a suggester is told on withdrawing: the whole suggestion, or their name."""
    key = "withdrawn" if status == SuggestionStatus.WITHDRAWN else "withdrawn_name"
    return t(locale, f"discord_suggest.{key}", id=suggestion_id)


def status_label(status: str, locale: str) -> str:
    """Return a suggestion status in a person's language."""
    if status in MODERATED:
        # Neither why it waits nor a rejection: the same words for every held suggestion.
        return t(locale, "moderation.waiting")
    if status not in STATUSES:
        # A status a newer bot recorded: said in words, never by its internal name.
        log.warning("suggest status: no words for the status %r", status)
        return t(locale, "locale_audit.status_other")
    return t(locale, f"discord_suggest.status.{status}")


def event_label(kind: str, detail: dict[str, Any], locale: str) -> str:
    """Return what an event says, in a person's language."""
    if kind not in EVENT_KINDS:
        log.warning("suggest status: no words for the event %r", kind)
        return t(locale, "locale_audit.event_other")
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
    # The edited language by its name in the reader's language, never by its code.
    language = language_name(view.locale, locale)
    embed.add_field(name=t(locale, "discord_suggest.locale_field"), value=language, inline=True)
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
