"""The question service: one facade over the parts that capture, answer and list questions."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Hashable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.domain.catalogue import Catalogue
from bot.domain.help_posts import LessonCandidate
from bot.domain.reply_stats import ReplyStats, reply_stats
from bot.services.events import EventHandler, IssueCommentEvent
from bot.services.ports import (
    ActivePost,
    ChatPort,
    ChatSelect,
    GitHubPort,
    PostHistory,
    PostMessage,
)
from bot.services.questions.answers import Answers
from bot.services.questions.catch_up import CatchUp, CatchUpReport
from bot.services.questions.commands import Commands
from bot.services.questions.dependencies import Dependencies
from bot.services.questions.discord_intake import DiscordIntake
from bot.services.questions.event_queue import Applied, EventQueue
from bot.services.questions.github_intake import GitHubIntake
from bot.services.questions.help_posts import HelpPosts
from bot.services.questions.lesson_threads import LessonThreads
from bot.services.questions.queries import Queries
from bot.services.questions.staff import Staff
from bot.services.questions.views import AskResult, PickResult, QuestionView, ResolveResult
from bot.store.models import HelpPost, utcnow

log = logging.getLogger(__name__)


class QuestionService:
    """Capture questions, mark them answered and resolved, and list them.

    Discord's and GitHub's events go through one queue (`EventQueue`), so they share one
    order: each is applied after every event that came before it, many to a transaction.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        github: GitHubPort | None = None,
        chat: ChatPort | None = None,
        catalogue: Callable[[], Catalogue | None] | None = None,
        clock: Callable[[], datetime] = utcnow,
        touch_lesson: Callable[[int], Awaitable[object]] | None = None,
    ) -> None:
        deps = Dependencies(
            sessions=sessions,
            settings=settings,
            github=github,
            chat=chat,
            catalogue=catalogue,
            clock=clock,
            touch_lesson=touch_lesson,
        )
        self._deps = deps
        self._events = EventQueue(sessions)
        self._threads = LessonThreads()
        staff = Staff(deps)
        answers = Answers(deps)
        self._staff = staff
        self._help_posts = HelpPosts(deps, staff=staff, answers=answers)
        self._discord_intake = DiscordIntake(
            deps, staff=staff, answers=answers, help_posts=self._help_posts, threads=self._threads
        )
        self._github_intake = GitHubIntake(deps, staff=staff, answers=answers)
        self._commands = Commands(deps, staff=staff)
        self._queries = Queries(deps)
        self._catch_up = CatchUp(deps, self._events, self._message_change)

    @property
    def github(self) -> GitHubPort | None:
        """Return the GitHub port permissions and the bot's login are asked through."""
        return self._deps.github

    @github.setter
    def github(self, github: GitHubPort | None) -> None:
        self._deps.github = github

    @property
    def chat(self) -> ChatPort | None:
        """Return the chat port /ask and the lesson picker post through (None until built)."""
        return self._deps.chat

    @chat.setter
    def chat(self, chat: ChatPort | None) -> None:
        self._deps.chat = chat

    @property
    def discord_web_url(self) -> str:
        """Return where Discord message links lead (Discord, or the sandbox's viewer)."""
        return self._deps.settings.discord.web_url

    def message_url(self, guild_id: int | None, thread_id: int, message_id: int) -> str | None:
        """Return the link to a message in a post (None without the guild)."""
        return self._deps.message_url(guild_id, thread_id, message_id)

    # --- staff ------------------------------------------------------------------------------

    def is_discord_staff(self, roles: Sequence[str | int]) -> bool:
        """Tell whether any of these Discord role ids is a maintainer role."""
        return self._staff.is_discord_staff(roles)

    async def is_github_staff(self, login: str, association: str | None = None) -> bool:
        """Tell whether a GitHub login is staff: listed, or with write access."""
        return await self._staff.is_github_staff(login, association)

    # --- Discord ----------------------------------------------------------------------------

    async def on_discord_message(
        self,
        thread_id: int,
        message_id: int,
        author_id: int | str,
        author_name: str,
        text: str,
        *,
        is_bot: bool = False,
        reply_to: int | None = None,
        roles: Sequence[str | int] = (),
        created_at: datetime | None = None,
        guild_id: int | None = None,
        forum_id: int | None = None,
        post_title: str | None = None,
        post_owner_id: int | str | None = None,
    ) -> str:
        """Record a message in a lesson's post, or in a post a learner opened in a
        program's forum (`forum_id`, `post_title`, `post_owner_id` tell one): answer an
        earlier question, or ask one."""
        message = PostMessage(
            thread_id,
            message_id,
            author_id,
            author_name,
            text,
            is_bot=is_bot,
            reply_to=reply_to,
            roles=tuple(str(role) for role in roles),
            created_at=created_at,
            guild_id=guild_id,
            forum_id=forum_id,
            post_title=post_title,
            post_owner_id=post_owner_id,
        )
        return await self.on_post_message(message)

    async def on_post_message(self, message: PostMessage) -> str:
        """Record a message in a post, as Discord's gateway delivered it."""
        if self._catch_up.holds(message.thread_id, message.guild_id):
            # Its post is being read back: applied after what was said before it.
            return await self._catch_up.hold(message)
        return await self._events.apply(self._message_change(message))

    def _message_change(self, message: PostMessage) -> Callable[[AsyncSession], Awaitable[Applied]]:
        """Return the queued event that records a message in a post."""
        return lambda session: self._discord_intake.on_discord_message(
            session,
            message.thread_id,
            message.message_id,
            message.author_id,
            message.author_name,
            message.text,
            is_bot=message.is_bot,
            reply_to=message.reply_to,
            roles=message.roles,
            created_at=message.created_at,
            guild_id=message.guild_id,
            forum_id=message.forum_id,
            post_title=message.post_title,
            post_owner_id=message.post_owner_id,
        )

    def begin_catch_up(self, session: Hashable, covers: Callable[[int | None], bool]) -> None:
        """A fresh gateway session started (READY): hold the live messages of the guilds it
        covers (by guild id) until its `catch_up` has found what to read back."""
        self._catch_up.begin(session, covers)

    async def catch_up(
        self, posts: Sequence[ActivePost], history: PostHistory, session: Hashable = None
    ) -> CatchUpReport:
        """Read active lesson and help posts back after a fresh gateway session: what was
        said while none was up is recorded as if it had come live, in order."""
        report = await self._catch_up.run(posts, history, session)
        log.info(
            "catch-up: %d of %d active posts read back, %d messages seen, "
            "%d questions recorded, %d failed, %d cut at the limit",
            report.posts_read,
            len(posts),
            report.messages_seen,
            report.questions_recorded,
            report.failed,
            report.truncated,
        )
        return report

    async def on_discord_edit(
        self,
        message_id: int,
        text: str,
        *,
        thread_id: int | None = None,
        author_id: int | str | None = None,
        author_name: str = "",
        is_bot: bool = False,
        created_at: datetime | None = None,
        guild_id: int | None = None,
    ) -> str:
        """Re-evaluate an edited message: a question may stop being one, or become one."""
        return await self._events.apply(
            lambda session: self._discord_intake.on_discord_edit(
                session,
                message_id,
                text,
                thread_id=thread_id,
                author_id=author_id,
                author_name=author_name,
                is_bot=is_bot,
                created_at=created_at,
                guild_id=guild_id,
            )
        )

    async def on_discord_delete(self, message_id: int) -> str:
        """Drop the question a deleted message asked (kept, no longer counted)."""
        return await self._events.apply(
            lambda session: self._discord_intake.on_discord_delete(session, message_id)
        )

    async def on_reaction(
        self,
        message_id: int,
        user_id: int | str,
        emoji: str,
        added: bool,
        roles: Sequence[str | int] = (),
        *,
        is_bot: bool = False,
    ) -> str:
        """Resolve a question when its asker or staff reacts ✅; removing it reopens it."""
        return await self._events.apply(
            lambda session: self._discord_intake.on_reaction(
                session, message_id, user_id, emoji, added, roles, is_bot=is_bot
            )
        )

    # --- GitHub -----------------------------------------------------------------------------

    async def on_issue_comment(self, event: IssueCommentEvent) -> str:
        """Apply one `issue_comment` delivery (created, edited or deleted)."""
        # Alone: it may ask GitHub who is staff, which no transaction should wait for.
        return await self._events.apply_alone(lambda: self._github_intake.on_issue_comment(event))

    def forget_lesson_threads(self) -> None:
        """Look every thread's lesson up again: a lesson's post was linked or removed."""
        self._threads.forget()

    def webhook_handlers(self) -> list[EventHandler[Any]]:
        """Return the handler that records questions asked (and answered) on lesson issues."""
        return [EventHandler(IssueCommentEvent, "questions", self.on_issue_comment)]

    # --- commands ---------------------------------------------------------------------------

    async def thread_of(self, identity: str) -> int | None:
        """Return the forum post (thread id) of a lesson, `program/slug`, if it has one."""
        return await self._queries.thread_of(identity)

    async def is_lesson_post(self, thread_id: int) -> bool:
        """Tell whether a thread is a lesson's forum post."""
        return await self._queries.is_lesson_post(thread_id)

    async def ask(
        self,
        thread_id: int,
        user_id: int | str,
        user_name: str,
        text: str,
        *,
        locale: str | None = None,
    ) -> AskResult:
        """Post a question in a lesson's post, quoted by the bot, and record it (/ask)."""
        return await self._commands.ask(thread_id, user_id, user_name, text, locale=locale)

    async def resolve(
        self,
        thread_id: int,
        user_id: int | str,
        roles: Sequence[str | int] = (),
        message_id: int | None = None,
    ) -> ResolveResult:
        """Resolve questions in a lesson's post or a help post (/resolve)."""
        return await self._commands.resolve(thread_id, user_id, roles, message_id)

    async def reply_stats(
        self,
        since: timedelta | None = None,
        *,
        program: str | None = None,
        locale: str | None = None,
        now: datetime | None = None,
    ) -> ReplyStats:
        """Return the first-reply figures of the last `since` (None: all time) against
        questions.first_reply_target."""
        now = now or self._deps.clock()
        target = self._deps.settings.questions.reply_target
        start = now - since if since is not None else None
        # Whatever was decided after `start` was asked at most a window before it.
        asked_after = start - target.window if start is not None else None
        records = await self._queries.reply_records(asked_after, program, locale)
        return reply_stats(records, target=target, now=now, start=start)

    async def list(self, open_only: bool = False, program: str | None = None) -> list[QuestionView]:
        """Return the questions (not dropped), oldest first; open: neither answered nor
        resolved, as the digest counts them."""
        return await self._queries.list(open_only, program)

    # --- posts learners open ---------------------------------------------------------------

    def picker(self, post: HelpPost, candidates: Sequence[LessonCandidate]) -> ChatSelect | None:
        """Return the lesson picker of a help post (None when it has none to offer)."""
        return self._help_posts.picker(post, candidates)

    async def choose_lesson(
        self, thread_id: int, user_id: int | str, identity: str, roles: Sequence[str | int] = ()
    ) -> PickResult:
        """Link a help post, and its questions, to the lesson its author (or staff) picked."""
        return await self._help_posts.choose_lesson(thread_id, user_id, identity, roles)
