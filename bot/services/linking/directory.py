"""Look up where a lesson is discussed, from what the last sync stored."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import DISCORD_WEB_URL
from bot.domain.link_texts import message_url
from bot.store.models import Lesson, LessonLink, ProgramForum


def post_url(guild_id: int, thread_id: int, message_id: int, web_url: str = DISCORD_WEB_URL) -> str:
    """Return the link to a forum post's starter message (it opens the post)."""
    return message_url(web_url, guild_id, thread_id, message_id)


@dataclass(frozen=True, slots=True)
class LessonLinks:
    """Where a lesson is discussed, as stored by the last sync."""

    post_url: str | None
    issue_url: str | None


class LinkDirectory:
    """Look up a lesson's stored post and issue links (one query, no network).

    In lazy mode it has a creator (the linking service's): a lesson without links gets
    them the first time someone asks for them.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        discord_web_url: str = DISCORD_WEB_URL,
        creator: Callable[[str], Awaitable[object]] | None = None,
        touch: Callable[[str], Awaitable[object]] | None = None,
    ) -> None:
        self._sessions = sessions
        self._web_url = discord_web_url
        self._creator = creator
        # Someone asked for this lesson (/lesson, /ask): its pending linking goes first.
        self._touch = touch

    async def find(self, identity: str, *, create: bool = False) -> LessonLinks | None:
        """Return a lesson's links; None when it has none (or was removed).

        With `create`, and a creator set, a lesson without links gets them first.
        """
        if self._touch is not None:
            await self._touch(identity)
        found = await self._stored(identity)
        if found is None and create and self._creator is not None:
            await self._creator(identity)
            found = await self._stored(identity)
        return found

    async def _stored(self, identity: str) -> LessonLinks | None:
        program, _, slug = identity.partition("/")
        async with self._sessions() as session:
            found = (
                await session.execute(
                    select(LessonLink, ProgramForum.discord_guild_id)
                    .join(Lesson, Lesson.id == LessonLink.lesson_id)
                    .outerjoin(
                        ProgramForum, ProgramForum.discord_forum_id == LessonLink.discord_forum_id
                    )
                    .where(
                        Lesson.program == program,
                        Lesson.slug == slug,
                        Lesson.removed_at.is_(None),
                    )
                )
            ).first()
        if found is None:
            return None
        link, guild_id = found
        post = None
        if guild_id and link.discord_thread_id and link.discord_starter_message_id:
            post = post_url(
                guild_id, link.discord_thread_id, link.discord_starter_message_id, self._web_url
            )
        if post is None and link.github_issue_url is None:
            return None
        return LessonLinks(post_url=post, issue_url=link.github_issue_url)
