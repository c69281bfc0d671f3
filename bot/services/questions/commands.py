"""The slash commands on questions: /ask posts one for a learner, /resolve closes them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from bot.domain.question_texts import block_quote
from bot.domain.questions import classify
from bot.i18n import t
from bot.services.questions.dependencies import Dependencies
from bot.services.questions.errors import QuestionError
from bot.services.questions.records import (
    ASK_RULE,
    Scope,
    guild_of_thread,
    lesson_of_thread,
    stored_help_post,
)
from bot.services.questions.staff import Staff
from bot.services.questions.views import AskResult, ResolveResult
from bot.store.models import Question, QuestionSource

# The longest question /ask posts (a Discord message holds 2,000 characters).
ASK_LIMIT = 1500


class Commands:
    """Ask a question on a learner's behalf, and resolve questions when told to."""

    def __init__(self, deps: Dependencies, *, staff: Staff) -> None:
        self._deps = deps
        self._staff = staff

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
        text = text.strip()
        if not text:
            raise QuestionError("questions.empty")
        if len(text) > ASK_LIMIT:
            raise QuestionError("questions.too_long")
        if self._deps.chat is None:
            raise QuestionError("questions.unavailable")
        async with self._deps.sessions() as session:
            lesson_id = await lesson_of_thread(session, thread_id)
            guild_id = await guild_of_thread(session, thread_id)
        if lesson_id is None:
            raise QuestionError("questions.not_a_lesson_post")
        quoted = block_quote(text)
        content = t(
            self._deps.settings.locale, "questions.asked_by", user=f"<@{user_id}>", question=quoted
        )
        [message_id, *_] = await self._deps.chat.post_message(thread_id, content)
        verdict = classify(text, locale)
        url = self._deps.message_url(guild_id, thread_id, message_id)
        async with self._deps.sessions() as session, session.begin():
            row = Question(
                source=QuestionSource.DISCORD,
                external_id=str(message_id),
                container_id=str(thread_id),
                url=url,
                lesson_id=lesson_id,
                author_id=str(user_id),
                author_name=user_name[:200],
                text=text,
                asked_at=self._deps.clock(),
                rule=ASK_RULE,
                cue=(verdict.cue or "")[:200] or None,
                locale=verdict.locale or locale,
            )
            session.add(row)
            await session.flush()
            question_id = row.id
        return AskResult(question_id, thread_id, message_id, url)

    async def resolve(
        self,
        thread_id: int,
        user_id: int | str,
        roles: Sequence[str | int] = (),
        message_id: int | None = None,
    ) -> ResolveResult:
        """Resolve questions in a lesson's post or a help post (/resolve): the named one,
        else the asker's own, or every open one of the lesson (or post) when staff runs it."""
        user = str(user_id)
        staff = self._staff.is_discord_staff(roles)
        async with self._deps.sessions() as session, session.begin():
            lesson_id = await lesson_of_thread(session, thread_id)
            scope = Scope(lesson_id=lesson_id)
            if lesson_id is None:
                if await stored_help_post(session, thread_id) is None:
                    return ResolveResult("not_a_lesson_post")
                scope = Scope(thread_id=thread_id)
            query = select(Question).where(*scope.where(), Question.dropped_at.is_(None))
            if message_id is not None:
                query = query.where(
                    Question.source == QuestionSource.DISCORD,
                    Question.external_id == str(message_id),
                )
            else:
                query = query.where(Question.resolved_at.is_(None))
                if not staff:
                    query = query.where(
                        Question.source == QuestionSource.DISCORD, Question.author_id == user
                    )
            rows = list(await session.scalars(query))
            if message_id is not None:
                if not rows:
                    return ResolveResult("not_found")
                if rows[0].author_id != user and not staff:
                    return ResolveResult("forbidden")
                rows = [row for row in rows if row.resolved_at is None]
            now = self._deps.clock()
            for row in rows:
                row.resolved_at = now
                row.resolved_by = user
                row.resolved_how = "command"
        return ResolveResult("resolved" if rows else "none", len(rows))
