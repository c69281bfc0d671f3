"""What every part of the question service works with, built once by the facade."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.domain.catalogue import Catalogue
from bot.domain.link_texts import message_url
from bot.services.ports import ChatPort, GitHubPort


@dataclass(slots=True)
class Dependencies:
    """The store, the ports and the settings the question service shares."""

    sessions: async_sessionmaker[AsyncSession]
    settings: Settings
    github: GitHubPort | None
    # Set after construction when the chat client is built later (the bot needs us first).
    chat: ChatPort | None
    # The lessons' titles in every locale, which a help post may name its lesson by.
    catalogue: Callable[[], Catalogue | None] | None
    clock: Callable[[], datetime]
    # Moves a lesson's pending linking ahead of bulk work when a question is asked in it
    # (by lesson id; no query when it has none pending).
    touch_lesson: Callable[[int], Awaitable[object]] | None = None

    async def touched(self, lesson_id: int) -> None:
        """Tell the linking backlog a person just asked about this lesson."""
        if self.touch_lesson is not None:
            await self.touch_lesson(lesson_id)

    def message_url(self, guild_id: int | None, thread_id: int, message_id: int) -> str | None:
        """Return the link to a message in a post (None without the guild)."""
        if not guild_id:
            return None
        return message_url(self.settings.discord.web_url, guild_id, thread_id, message_id)

    def by_bot(self, author_id: int | str, is_bot: bool) -> bool:
        """Tell whether the bot (or any bot: bridged comments, webhooks) wrote it."""
        mine = self.chat.user_id if self.chat is not None else 0
        return is_bot or (bool(mine) and str(author_id) == str(mine))
