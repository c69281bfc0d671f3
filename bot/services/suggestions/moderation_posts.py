"""The moderators' Discord channel: one message per held suggestion, edited once decided.

One job per suggestion (`suggestion:<id>:moderation`) keeps its message in step with its
state: the first run posts it with the three buttons and records its id, later runs (a
decision re-records the job with the decision in its payload) edit it to say who did what
and take the buttons away. A run after a crash looks for the message by its buttons'
custom_ids before posting, so a kill after any write neither loses nor doubles it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import spam
from bot.domain.neutral import discord_fenced, discord_name
from bot.domain.pull_request import cut
from bot.i18n import t
from bot.services.outbox import Claim
from bot.services.ports import ChatButton, ChatNotFoundError, moderate_button_id
from bot.services.suggestions.dependencies import Dependencies
from bot.services.suggestions.records import JOB_KIND
from bot.store.models import Lesson, Suggestion, SuggestionModeration

log = logging.getLogger(__name__)

# The buttons under a held suggestion, in order, with their styles.
ACTIONS: tuple[tuple[str, str], ...] = (
    ("approve", "success"),
    ("reject", "danger"),
    ("block", "danger"),
)
# One Discord message, so the buttons stay under the text they decide on: the passage and
# its replacement are cut shorter until it fits.
MESSAGE_LIMIT = 1900
_CUTS = (600, 300, 150, 60)
# How far back a run after a crash looks for the message it may have posted.
_LOOK_BACK = 100
# How a decision's author is kept when it came from a Discord button.
DISCORD_MODERATOR = "discord:"
# How a release by a confirmed email is recorded as its decider.
EMAIL_CONFIRMED = "email-confirmed"


def moderation_job_key(suggestion_id: int) -> str:
    """Return the key of the job that keeps a held suggestion's message in step."""
    return f"suggestion:{suggestion_id}:moderation"


def moderation_job(suggestion_id: int, decision: str | None = None) -> tuple[str, dict[str, Any]]:
    """Return the key and payload of that job; a decision makes it a new intent (an edit)."""
    payload: dict[str, Any] = {"op": "moderation", "suggestion_id": suggestion_id}
    if decision:
        payload["decision"] = decision
    return moderation_job_key(suggestion_id), payload


def discord_moderator(user_id: int, name: str) -> str:
    """Return how a moderator who pressed a button is recorded as a decision's author."""
    return f"{DISCORD_MODERATOR}{user_id}:{name}"[:200]


@dataclass(frozen=True, slots=True)
class HeldMessage:
    """What the moderators' message shows of a held suggestion."""

    id: int
    lesson: str
    locale: str
    find: str
    replace: str
    reason: str
    signals: tuple[spam.Signal, ...]
    decision: str | None
    decided_by: str | None


def buttons(suggestion_id: int, locale: str) -> list[ChatButton]:
    """Return the buttons under a held suggestion's message: open the PR, reject, block."""
    return [
        ChatButton(
            t(locale, f"moderation_queue.button_{action}"),
            moderate_button_id(action, suggestion_id),
            style=style,  # type: ignore[arg-type]
        )
        for action, style in ACTIONS
    ]


def who(decided_by: str | None, locale: str) -> str:
    """Return a decision's author as the message names them (a mention pings nobody in an
    edit)."""
    by = decided_by or ""
    if by.startswith(DISCORD_MODERATOR):
        user_id = by.removeprefix(DISCORD_MODERATOR).partition(":")[0]
        if user_id.isdigit():
            return f"<@{user_id}>"
    if by == EMAIL_CONFIRMED:
        return t(locale, "moderation_queue.by_email")
    if by.startswith("cli"):
        login = by.partition(":")[2]
        return t(locale, "moderation_queue.by_terminal", login=discord_name(login or "?"))
    return discord_name(by) or t(locale, "moderation_queue.by_someone")


def message_text(held: HeldMessage, locale: str) -> str:
    """Return the moderators' message of a held suggestion, in the site's language."""
    for limit in _CUTS:
        text = _text(held, locale, limit)
        if len(text) <= MESSAGE_LIMIT:
            return text
    return cut(_text(held, locale, _CUTS[-1]), MESSAGE_LIMIT)


def _text(held: HeldMessage, locale: str, limit: int) -> str:
    lines = [
        t(
            locale,
            "moderation_queue.held",
            id=held.id,
            lesson=discord_name(held.lesson),
            locale=held.locale,
        ),
        t(locale, "moderation_queue.old"),
        discord_fenced(cut(held.find, limit)),
        t(locale, "moderation_queue.new"),
        discord_fenced(cut(held.replace, limit)),
    ]
    if held.reason.strip():
        lines += [t(locale, "moderation_queue.reason"), discord_fenced(cut(held.reason, limit))]
    if held.signals:
        lines.append(t(locale, "moderation.cli_why"))
        # Each explanation quotes what the sender wrote (a domain, a word): kept inline
        # and escaped, so nothing in it formats or mentions.
        lines += [f"- {discord_name(signal.explain(locale))}" for signal in held.signals]
    if held.decision:
        lines.append(
            t(
                locale,
                f"moderation_queue.decided_{held.decision}",
                who=who(held.decided_by, locale),
            )
        )
    return "\n".join(lines)


class ModerationPosts:
    """Post held suggestions to the moderators' channel and keep each message in step."""

    def __init__(self, deps: Dependencies) -> None:
        self._deps = deps

    @property
    def channel_id(self) -> int | None:
        """Return the moderators' channel, or None when there is none."""
        return self._deps.settings.suggestions.moderation_channel_id

    async def record(
        self, session: AsyncSession, suggestion_id: int, decision: str | None = None
    ) -> None:
        """Record, in the caller's transaction, that a held suggestion's message is due."""
        if self.channel_id is None:
            return
        key, payload = moderation_job(suggestion_id, decision)
        await self._deps.outbox.enqueue_many(JOB_KIND, [(key, payload)], session)

    async def run(self, claim: Claim) -> str:
        """Post a held suggestion's message once, or edit it to show the decision."""
        deps = self._deps
        suggestion_id = int(claim.payload["suggestion_id"])
        chat = deps.chat
        async with deps.sessions() as session:
            held = await self._load(session, suggestion_id)
            where = await session.scalar(
                select(SuggestionModeration.channel_id).where(
                    SuggestionModeration.suggestion_id == suggestion_id
                )
            )
            message_id = await session.scalar(
                select(SuggestionModeration.message_id).where(
                    SuggestionModeration.suggestion_id == suggestion_id
                )
            )
        channel_id = where or self.channel_id
        if held is None or channel_id is None or chat is None:
            await deps.outbox.complete(claim)
            return "no moderators' channel" if held is not None else "nothing to post"
        locale = deps.settings.locale
        how = "kept"
        if message_id is None and claim.uncertain:
            message_id = await self._find(channel_id, suggestion_id)
            if message_id is not None:
                await self._remember(suggestion_id, channel_id, message_id)
                how = "found after a crash"
        if message_id is None:
            undecided = replace(held, decision=None, decided_by=None)
            ids = await chat.post_message(
                channel_id,
                message_text(undecided, locale),
                buttons=buttons(suggestion_id, locale),
            )
            message_id = ids[-1]
            # Recorded before anything else: a kill after this finds it by id, not by search.
            await self._remember(suggestion_id, channel_id, message_id)
            how = "posted"
        if held.decision:
            try:
                await chat.edit_message(
                    channel_id,
                    message_id,
                    content=message_text(held, locale),
                    remove_buttons=True,
                )
                how = "posted and edited" if how == "posted" else "edited"
            except ChatNotFoundError:
                how = "the message is gone"
        await deps.outbox.complete(claim)
        log.info(
            "moderators' message of suggestion %d %s",
            suggestion_id,
            how,
            extra={"suggestion_id": suggestion_id},
        )
        return how

    async def _load(self, session: AsyncSession, suggestion_id: int) -> HeldMessage | None:
        row = (
            await session.execute(
                select(Suggestion, SuggestionModeration, Lesson)
                .join(SuggestionModeration, SuggestionModeration.suggestion_id == Suggestion.id)
                .join(Lesson, Lesson.id == Suggestion.lesson_id)
                .where(Suggestion.id == suggestion_id)
            )
        ).one_or_none()
        if row is None:
            return None
        suggestion, moderation, lesson = row
        catalogue = self._deps.catalogue()
        entry = catalogue.get(lesson.identity)
        title = (
            entry.title(suggestion.locale, catalogue.default_locale) if entry else lesson.identity
        )
        stored: Sequence[Any] = (moderation.signals or {}).get("signals", [])
        return HeldMessage(
            id=suggestion.id,
            lesson=title,
            locale=suggestion.locale,
            find=str(suggestion.edit.get("find", "")),
            replace=str(suggestion.edit.get("replace", "")),
            reason=suggestion.reason or "",
            signals=tuple(spam.Signal.from_json(item) for item in stored),
            decision=moderation.decision,
            decided_by=moderation.decided_by,
        )

    async def _find(self, channel_id: int, suggestion_id: int) -> int | None:
        """Return the message a run that died may have posted: the one with its buttons."""
        chat = self._deps.chat
        assert chat is not None
        wanted = moderate_button_id("approve", suggestion_id)
        for message in await chat.recent_messages(channel_id, _LOOK_BACK):
            if message.author_id == chat.user_id and wanted in message.custom_ids:
                return message.id
        return None

    async def _remember(self, suggestion_id: int, channel_id: int, message_id: int) -> None:
        async with self._deps.sessions() as session, session.begin():
            await session.execute(
                update(SuggestionModeration)
                .where(
                    SuggestionModeration.suggestion_id == suggestion_id,
                    SuggestionModeration.message_id.is_(None),
                )
                .values(channel_id=channel_id, message_id=message_id)
                .execution_options(synchronize_session=False)
            )
