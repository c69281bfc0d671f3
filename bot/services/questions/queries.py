"""Reading questions: the list maintainers and the CLI see, and which post is a lesson's."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.reply_stats import ReplyRecord
from bot.services.questions.dependencies import Dependencies
from bot.services.questions.records import lesson_of_thread
from bot.services.questions.views import ChangeView, QuestionView, change_view_of, view_of
from bot.store.models import ChangeNotice, Lesson, LessonLink, Question

# Question ids per IN list: well under SQLite's and PostgreSQL's parameter limits.
_CHUNK = 500


class Queries:
    """Answer what questions there are and where a lesson's are asked."""

    def __init__(self, deps: Dependencies) -> None:
        self._deps = deps

    async def thread_of(self, identity: str) -> int | None:
        """Return the forum post (thread id) of a lesson, `program/slug`, if it has one."""
        program, _, slug = identity.partition("/")
        async with self._deps.sessions() as session:
            return await session.scalar(
                select(LessonLink.discord_thread_id)
                .join(Lesson, Lesson.id == LessonLink.lesson_id)
                .where(
                    Lesson.program == program,
                    Lesson.slug == slug,
                    Lesson.removed_at.is_(None),
                )
            )

    async def is_lesson_post(self, thread_id: int) -> bool:
        """Tell whether a thread is a lesson's forum post."""
        async with self._deps.sessions() as session:
            return await lesson_of_thread(session, thread_id) is not None

    async def list(self, open_only: bool = False, program: str | None = None) -> list[QuestionView]:
        """Return the questions (not dropped), oldest first; open: neither answered nor
        resolved, as the digest counts them."""
        program_of = func.coalesce(Lesson.program, Question.program)
        query = (
            select(Question, program_of, Lesson.slug)
            .outerjoin(Lesson, Lesson.id == Question.lesson_id)
            .where(Question.dropped_at.is_(None))
            .order_by(Question.asked_at, Question.id)
        )
        if open_only:
            query = query.where(Question.resolved_at.is_(None), Question.answered_at.is_(None))
        if program:
            query = query.where(program_of == program)
        async with self._deps.sessions() as session:
            rows = (await session.execute(query)).all()
            notices = await self._change_notices(session, [row.id for row, _, _ in rows])
        return [
            view_of(row, lesson_program, slug, notices.get(row.id, ()))
            for row, lesson_program, slug in rows
        ]

    async def _change_notices(
        self, session: AsyncSession, ids: Sequence[int]
    ) -> dict[int, tuple[ChangeView, ...]]:
        """Return the merged changes matched to each of these questions, by question id."""
        found: dict[int, list[ChangeView]] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            notices = await session.scalars(
                select(ChangeNotice)
                .where(ChangeNotice.question_id.in_(chunk))
                .order_by(ChangeNotice.id)
            )
            for notice in notices:
                found.setdefault(notice.question_id, []).append(change_view_of(notice))
        return {question: tuple(views) for question, views in found.items()}

    async def reply_records(
        self,
        asked_after: datetime | None = None,
        program: str | None = None,
        locale: str | None = None,
    ) -> list[ReplyRecord]:
        """Return each question's place and times for the first-reply figures (one query,
        bounded by when they were asked; dropped ones left out)."""
        program_of = func.coalesce(Lesson.program, Question.program)
        query = (
            select(
                program_of,
                Lesson.slug,
                Question.locale,
                Question.asked_at,
                # A reopened question keeps its first reply for these figures.
                func.coalesce(Question.first_answered_at, Question.answered_at),
            )
            .outerjoin(Lesson, Lesson.id == Question.lesson_id)
            .where(Question.dropped_at.is_(None))
        )
        if asked_after is not None:
            query = query.where(Question.asked_at > asked_after)
        if program:
            query = query.where(program_of == program)
        if locale:
            # A language takes in its regional variants: es takes es-MX too.
            query = query.where(or_(Question.locale == locale, Question.locale.like(f"{locale}-%")))
        async with self._deps.sessions() as session:
            rows = (await session.execute(query)).all()
        return [
            ReplyRecord(row_program, slug, slug or "", row_locale, asked, answered)
            for row_program, slug, row_locale, asked, answered in rows
        ]
