"""Questions in lessons' forum posts and in help posts, from the Discord events about them:
messages, edits, deletions and the resolve reaction."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.question_texts import recorded_outcome
from bot.domain.questions import QuestionVerdict, classify, reply_verdict
from bot.services.questions.answers import Answers
from bot.services.questions.dependencies import Dependencies
from bot.services.questions.event_queue import Applied
from bot.services.questions.help_posts import HelpPosts
from bot.services.questions.lesson_threads import LessonThreads
from bot.services.questions.records import (
    Scope,
    asked_question,
    find_question,
    insert_question,
)
from bot.services.questions.staff import Staff
from bot.store.models import ChangeNotice, Question, QuestionSource

RESOLVE_EMOJI = "✅"


class DiscordIntake:
    """Record what Discord says happened to a message: asked, answered, edited, resolved.

    Each event is applied in the session it is given, the transaction of its batch
    (`EventQueue`): nothing here commits, and nothing here waits on the network (what must,
    the help post's picker, is handed back to run after the commit).
    """

    def __init__(
        self,
        deps: Dependencies,
        *,
        staff: Staff,
        answers: Answers,
        help_posts: HelpPosts,
        threads: LessonThreads,
    ) -> None:
        self._deps = deps
        self._threads = threads
        self._staff = staff
        self._answers = answers
        self._help_posts = help_posts

    async def on_discord_message(
        self,
        session: AsyncSession,
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
    ) -> Applied:
        """Record a message in a lesson's post, or in a post a learner opened in a
        program's forum (`forum_id`, `post_title`, `post_owner_id` tell one): answer an
        earlier question, or ask one."""
        if self._deps.by_bot(author_id, is_bot):
            return Applied("ignored: written by the bot")
        created_at = created_at or self._deps.clock()
        lesson_id = await self._threads.lesson_of(session, thread_id)
        seen = (thread_id, message_id)
        if lesson_id is None:
            post = await self._help_posts.find_or_record(
                session, thread_id, forum_id, post_title, post_owner_id, author_id, text
            )
            if post is None:
                return Applied("ignored: not a lesson post")
            outcome, picker = await self._help_posts.record_message(
                session,
                post,
                message_id,
                str(author_id),
                author_name,
                text,
                reply_to=reply_to,
                staff=self._staff.is_discord_staff(roles),
                created_at=created_at,
                guild_id=guild_id,
            )
            if picker is None:
                return Applied(outcome, seen=seen)
            picked = functools.partial(self._help_posts.offer_picker, picker)
            return Applied(outcome, picked, seen=seen)
        verdict = classify(text)
        answered = 0
        # A question that replies to nothing answers nothing: no query to ask.
        if not verdict.is_question or reply_to is not None:
            answered = await self._answers.answer(
                session,
                Scope(lesson_id=lesson_id),
                answer_id=str(message_id),
                author=str(author_id),
                name=author_name,
                staff=self._staff.is_discord_staff(roles),
                at=created_at,
                reply_to=str(reply_to) if reply_to is not None else None,
                sources=self._answers.answered_from_discord(),
                later="later_message",
                is_question=verdict.is_question,
                reply=reply_verdict(text),
            )
        if not verdict.is_question:
            outcome = f"answered {answered}" if answered else "ignored: not a question"
            return Applied(outcome, seen=seen)
        recorded = await self._record(
            session,
            verdict,
            thread_id,
            message_id,
            lesson_id,
            author_id,
            author_name,
            text,
            created_at,
            guild_id,
        )
        if not recorded:
            return Applied("ignored: already recorded", seen=seen)
        touch = self._touch(lesson_id)
        return Applied(recorded_outcome(verdict, answered), after=touch, seen=seen)

    async def _record(
        self,
        session: AsyncSession,
        verdict: QuestionVerdict,
        thread_id: int,
        message_id: int,
        lesson_id: int,
        author_id: int | str,
        author_name: str,
        text: str,
        asked_at: datetime,
        guild_id: int | None,
    ) -> bool:
        """Record a message in a lesson's post as a question; False when it already is."""
        return await insert_question(
            session,
            asked_question(
                verdict,
                source=QuestionSource.DISCORD,
                external_id=str(message_id),
                container_id=str(thread_id),
                url=self._deps.message_url(guild_id, thread_id, message_id),
                lesson_id=lesson_id,
                author_id=str(author_id),
                author_name=author_name,
                text=text,
                asked_at=asked_at,
            ),
        )

    def _touch(self, lesson_id: int) -> Callable[[], Awaitable[str]] | None:
        """Return what moves a lesson's pending linking ahead once the question is
        committed (never inside the batch's transaction, which holds SQLite's writer)."""
        if self._deps.touch_lesson is None:
            return None

        async def touch() -> str:
            await self._deps.touched(lesson_id)
            return ""

        return touch

    async def on_discord_edit(
        self,
        session: AsyncSession,
        message_id: int,
        text: str,
        *,
        thread_id: int | None = None,
        author_id: int | str | None = None,
        author_name: str = "",
        is_bot: bool = False,
        created_at: datetime | None = None,
        guild_id: int | None = None,
    ) -> Applied:
        """Re-evaluate an edited message: a question may stop being one, or become one."""
        if author_id is not None and self._deps.by_bot(author_id, is_bot):
            return Applied("ignored: written by the bot")
        row = await find_question(session, QuestionSource.DISCORD, str(message_id))
        if row is not None:
            return Applied(self._answers.reevaluate(row, text))
        if thread_id is None or author_id is None:
            return Applied("ignored: not a question")
        verdict = classify(text)
        if not verdict.is_question:
            return Applied("ignored: not a question")
        # Edited into a question: recorded as asked when the message was written.
        lesson_id = await self._threads.lesson_of(session, thread_id)
        if lesson_id is None:
            return Applied("ignored: not a lesson post")
        recorded = await self._record(
            session,
            verdict,
            thread_id,
            message_id,
            lesson_id,
            author_id,
            author_name,
            text,
            created_at or self._deps.clock(),
            guild_id,
        )
        if not recorded:
            return Applied("ignored: already recorded")
        return Applied(f"{recorded_outcome(verdict)}: edited into one")

    async def on_discord_delete(self, session: AsyncSession, message_id: int) -> Applied:
        """Drop the question a deleted message asked (kept, no longer counted)."""
        return Applied(await self._answers.drop(session, QuestionSource.DISCORD, str(message_id)))

    async def on_reaction(
        self,
        session: AsyncSession,
        message_id: int,
        user_id: int | str,
        emoji: str,
        added: bool,
        roles: Sequence[str | int] = (),
        *,
        is_bot: bool = False,
    ) -> Applied:
        """Resolve a question when its asker or staff reacts ✅; removing it reopens it."""
        return Applied(
            await self._reaction(session, message_id, user_id, emoji, added, roles, is_bot)
        )

    async def _reaction(
        self,
        session: AsyncSession,
        message_id: int,
        user_id: int | str,
        emoji: str,
        added: bool,
        roles: Sequence[str | int],
        is_bot: bool,
    ) -> str:
        if emoji != RESOLVE_EMOJI:
            return "ignored: not the resolve reaction"
        if self._deps.by_bot(user_id, is_bot):
            return "ignored: the bot's reaction"
        user = str(user_id)
        row = await find_question(session, QuestionSource.DISCORD, str(message_id))
        if row is None:
            # A notice that a merged change may answer it asks for ✅ on the notice itself.
            row = await session.scalar(
                select(Question)
                .join(ChangeNotice, ChangeNotice.question_id == Question.id)
                .where(ChangeNotice.message_id == message_id)
            )
        if row is None or row.dropped_at is not None:
            return "ignored: not a question"
        if added:
            if row.author_id != user and not self._staff.is_discord_staff(roles):
                return "ignored: neither the asker nor staff"
            if row.resolved_at is not None:
                return "ignored: already resolved"
            row.resolved_at = self._deps.clock()
            row.resolved_by = user
            row.resolved_how = "reaction"
            return "resolved"
        if row.resolved_how == "reaction" and row.resolved_by == user:
            row.resolved_at = row.resolved_by = row.resolved_how = None
            return "reopened"
        return "ignored: not resolved by this reaction"
