"""Questions in lessons' forum posts and in help posts, from the Discord events about them:
messages, edits, deletions and the resolve reaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.domain.question_texts import recorded_outcome
from bot.domain.questions import classify, reply_verdict
from bot.services.questions.answers import Answers
from bot.services.questions.dependencies import Dependencies
from bot.services.questions.help_posts import HelpPosts
from bot.services.questions.records import (
    Scope,
    asked_question,
    find_question,
    insert_question,
    lesson_of_thread,
)
from bot.services.questions.staff import Staff
from bot.store.models import HelpPost, QuestionSource

RESOLVE_EMOJI = "✅"


class DiscordIntake:
    """Record what Discord says happened to a message: asked, answered, edited, resolved."""

    def __init__(
        self, deps: Dependencies, *, staff: Staff, answers: Answers, help_posts: HelpPosts
    ) -> None:
        self._deps = deps
        self._staff = staff
        self._answers = answers
        self._help_posts = help_posts

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
        if self._deps.by_bot(author_id, is_bot):
            return "ignored: written by the bot"
        created_at = created_at or self._deps.clock()
        picker: HelpPost | None = None
        async with self._deps.sessions() as session, session.begin():
            lesson_id = await lesson_of_thread(session, thread_id)
            if lesson_id is None:
                post = await self._help_posts.find_or_record(
                    session, thread_id, forum_id, post_title, post_owner_id, author_id, text
                )
                if post is None:
                    return "ignored: not a lesson post"
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
        if lesson_id is None:
            if picker is not None:
                outcome += await self._help_posts.offer_picker(picker)
            return outcome
        async with self._deps.sessions() as session, session.begin():
            verdict = classify(text)
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
                return f"answered {answered}" if answered else "ignored: not a question"
            url = self._deps.message_url(guild_id, thread_id, message_id)
            recorded = await insert_question(
                session,
                asked_question(
                    verdict,
                    source=QuestionSource.DISCORD,
                    external_id=str(message_id),
                    container_id=str(thread_id),
                    url=url,
                    lesson_id=lesson_id,
                    author_id=str(author_id),
                    author_name=author_name,
                    text=text,
                    asked_at=created_at,
                ),
            )
            if not recorded:
                return "ignored: already recorded"
        await self._deps.touched(lesson_id)
        return recorded_outcome(verdict, answered)

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
        if author_id is not None and self._deps.by_bot(author_id, is_bot):
            return "ignored: written by the bot"
        async with self._deps.sessions() as session, session.begin():
            row = await find_question(session, QuestionSource.DISCORD, str(message_id))
            if row is not None:
                return self._answers.reevaluate(row, text)
        if thread_id is None or author_id is None:
            return "ignored: not a question"
        verdict = classify(text)
        if not verdict.is_question:
            return "ignored: not a question"
        # Edited into a question: recorded as asked when the message was written.
        outcome = await self._record_edited_into(
            thread_id, message_id, str(author_id), author_name, text, created_at, guild_id
        )
        return outcome

    async def _record_edited_into(
        self,
        thread_id: int,
        message_id: int,
        author_id: str,
        author_name: str,
        text: str,
        created_at: datetime | None,
        guild_id: int | None,
    ) -> str:
        verdict = classify(text)
        async with self._deps.sessions() as session, session.begin():
            lesson_id = await lesson_of_thread(session, thread_id)
            if lesson_id is None:
                return "ignored: not a lesson post"
            recorded = await insert_question(
                session,
                asked_question(
                    verdict,
                    source=QuestionSource.DISCORD,
                    external_id=str(message_id),
                    container_id=str(thread_id),
                    url=self._deps.message_url(guild_id, thread_id, message_id),
                    lesson_id=lesson_id,
                    author_id=author_id,
                    author_name=author_name,
                    text=text,
                    asked_at=created_at or self._deps.clock(),
                ),
            )
            if not recorded:
                return "ignored: already recorded"
        return f"{recorded_outcome(verdict)}: edited into one"

    async def on_discord_delete(self, message_id: int) -> str:
        """Drop the question a deleted message asked (kept, no longer counted)."""
        return await self._answers.drop(QuestionSource.DISCORD, str(message_id))

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
        if emoji != RESOLVE_EMOJI:
            return "ignored: not the resolve reaction"
        if self._deps.by_bot(user_id, is_bot):
            return "ignored: the bot's reaction"
        user = str(user_id)
        async with self._deps.sessions() as session, session.begin():
            row = await find_question(session, QuestionSource.DISCORD, str(message_id))
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
