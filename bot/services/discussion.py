"""A lesson's discussion as a lesson page shows it: read-only, cached, never failing.

The store keeps where a lesson is discussed (its post and issue) and the questions asked
there, not every message: the recent messages of the post and the comments of the issue
are read through the chat and GitHub ports, and kept for a short while, so a busy page
does not spend the bot's rate limits. When Discord or GitHub cannot be reached the rest
is still shown.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import DISCORD_WEB_URL
from bot.domain.excerpt import excerpt
from bot.domain.link_texts import message_url
from bot.domain.markers import find_markers
from bot.domain.review_flow import PENDING
from bot.services.ports import ChatPort, GitHubPort
from bot.store.models import Lesson, LessonLink, ProgramForum, Question, Suggestion

log = logging.getLogger(__name__)

# How many messages of each side are shown, and how long each may be.
RECENT_LIMIT = 8
TEXT_LIMIT = 600
# Entries kept in the cache at most: one per lesson read, and a catalogue has hundreds.
CACHE_SIZE = 2_000


@dataclass(frozen=True, slots=True)
class DiscussionEntry:
    """One message of the post or comment of the issue: who, when, what, where."""

    source: str  # "discord" or "github"
    author: str
    text: str
    at: datetime | None
    url: str | None


@dataclass(frozen=True, slots=True)
class Discussion:
    """Where a lesson is discussed, what is open about it, and what was said lately."""

    identity: str
    post_url: str | None
    issue_url: str | None
    open_questions: int
    open_suggestions: int
    entries: tuple[DiscussionEntry, ...]
    # False when that side could not be read this time (its entries are then missing).
    discord_reachable: bool = True
    github_reachable: bool = True


@dataclass(frozen=True, slots=True)
class _Stored:
    """What the store says of a lesson: its ids and links, and its open counts."""

    post_url: str | None
    thread_id: int | None
    issue_number: int | None
    issue_url: str | None
    open_questions: int
    open_suggestions: int


class DiscussionService:
    """Read a lesson's discussion from the store, the post and the issue, with a TTL cache."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        chat: ChatPort | None = None,
        github: GitHubPort | None = None,
        discord_web_url: str = DISCORD_WEB_URL,
        ttl_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._chat = chat
        self._github = github
        self._discord_web_url = discord_web_url
        self._ttl = ttl_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, Discussion]] = {}

    async def discussion(self, identity: str) -> Discussion:
        """Return a lesson's discussion (links, open counts, recent messages), cached."""
        now = self._clock()
        cached = self._cache.get(identity)
        if cached is not None and cached[0] > now:
            return cached[1]
        stored = await self._stored(identity)
        entries: list[DiscussionEntry] = []
        discord_ok = github_ok = True
        if stored.thread_id is not None and self._chat is not None:
            try:
                entries.extend(await self._post_messages(stored.thread_id))
            except Exception as error:  # any failure of the platform: show the rest
                discord_ok = False
                log.warning("discussion of %s: Discord unreadable: %s", identity, _reason(error))
        if stored.issue_number is not None and self._github is not None:
            try:
                entries.extend(await self._issue_comments(stored.issue_number))
            except Exception as error:
                github_ok = False
                log.warning("discussion of %s: GitHub unreadable: %s", identity, _reason(error))
        entries.sort(key=lambda entry: entry.at.timestamp() if entry.at else 0.0)
        found = Discussion(
            identity=identity,
            post_url=stored.post_url,
            issue_url=stored.issue_url,
            open_questions=stored.open_questions,
            open_suggestions=stored.open_suggestions,
            entries=tuple(entries),
            discord_reachable=discord_ok,
            github_reachable=github_ok,
        )
        if self._ttl > 0:
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            # A side that failed is asked again sooner: it may be back in a moment.
            ttl = self._ttl if discord_ok and github_ok else min(self._ttl, 10.0)
            self._cache[identity] = (now + ttl, found)
        return found

    def forget(self, identity: str | None = None) -> None:
        """Drop a lesson's cached discussion (every lesson's when none is named)."""
        if identity is None:
            self._cache.clear()
        else:
            self._cache.pop(identity, None)

    async def _stored(self, identity: str) -> _Stored:
        program, _, slug = identity.partition("/")
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(Lesson.id, LessonLink, ProgramForum.discord_guild_id)
                    .outerjoin(LessonLink, LessonLink.lesson_id == Lesson.id)
                    .outerjoin(ProgramForum, ProgramForum.program == Lesson.program)
                    .where(Lesson.program == program, Lesson.slug == slug)
                )
            ).first()
            if row is None:
                return _Stored(None, None, None, None, 0, 0)
            lesson_id, link, guild_id = row
            questions = (
                await session.execute(
                    select(func.count())
                    .select_from(Question)
                    .where(
                        Question.lesson_id == lesson_id,
                        Question.answered_at.is_(None),
                        Question.resolved_at.is_(None),
                        Question.dropped_at.is_(None),
                    )
                )
            ).scalar_one()
            suggestions = (
                await session.execute(
                    select(func.count())
                    .select_from(Suggestion)
                    .where(Suggestion.lesson_id == lesson_id, Suggestion.status.in_(PENDING))
                )
            ).scalar_one()
        post_url = None
        thread_id = link.discord_thread_id if link is not None else None
        if link is not None and thread_id and guild_id and link.discord_starter_message_id:
            post_url = message_url(
                self._discord_web_url, guild_id, thread_id, link.discord_starter_message_id
            )
        return _Stored(
            post_url=post_url,
            thread_id=thread_id,
            issue_number=link.github_issue_number if link is not None else None,
            issue_url=link.github_issue_url if link is not None else None,
            open_questions=questions,
            open_suggestions=suggestions,
        )

    async def _post_messages(self, thread_id: int) -> list[DiscussionEntry]:
        assert self._chat is not None
        messages = await self._chat.recent_messages(thread_id, limit=RECENT_LIMIT * 3)
        bot_id = self._chat.user_id
        entries = [
            DiscussionEntry(
                source="discord",
                author=message.author_name or str(message.author_id),
                text=excerpt(message.content.strip(), TEXT_LIMIT),
                at=message.created_at,
                url=None,
            )
            for message in messages
            # The bot's own messages (the starter, mirrored comments) are not the discussion.
            if message.author_id != bot_id and message.content.strip()
        ]
        return entries[:RECENT_LIMIT]

    async def _issue_comments(self, number: int) -> list[DiscussionEntry]:
        assert self._github is not None
        comments = await self._github.list_comments(number)
        entries = [
            DiscussionEntry(
                source="github",
                author=comment.author,
                text=excerpt(comment.body.strip(), TEXT_LIMIT),
                at=comment.created_at,
                url=comment.html_url or None,
            )
            for comment in comments
            # Comments the bot marked are its own (mirrors, notices), not the discussion.
            if comment.body.strip() and not find_markers(comment.body)
        ]
        return entries[-RECENT_LIMIT:]


def without_entries(discussion: Discussion) -> Discussion:
    """Return a discussion with its messages left out (links and counts kept)."""
    return replace(discussion, entries=())


def _reason(error: Exception) -> str:
    # The first line only, as other adapters log: never a token or a whole response.
    return f"{type(error).__name__}: {str(error).partition(chr(10))[0][:200]}"
