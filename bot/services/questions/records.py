"""A question's rows: finding and adding them, the lesson or help post a thread is, and
which questions a message may change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.questions import QuestionVerdict
from bot.store.models import HelpPost, Lesson, LessonLink, ProgramForum, Question, QuestionSource
from bot.store.upsert import insert_new, lesson_id

# The rule stored for a question asked with /ask: always a question, whatever it says.
ASK_RULE = "ask"
# The rule stored for the starter message of a post a learner opened in a program's forum:
# a help post asks for help, question mark or not.
HELP_POST_RULE = "help_post"


@dataclass(frozen=True, slots=True)
class Scope:
    """The questions a message may answer or resolve: a lesson's (its post and issue), or
    one help post's."""

    lesson_id: int | None = None
    thread_id: int | None = None

    def where(self) -> list[ColumnElement[bool]]:
        """Return the conditions that select the questions in this scope."""
        if self.thread_id is not None:
            return [
                Question.source == QuestionSource.DISCORD,
                Question.container_id == str(self.thread_id),
                Question.program.is_not(None),
            ]
        # A help post linked to the lesson keeps its own questions: they are answered there.
        return [Question.lesson_id == self.lesson_id, Question.program.is_(None)]

    def holds(self, row: Question) -> bool:
        """Tell whether a question is in this scope."""
        if self.thread_id is not None:
            return row.program is not None and row.container_id == str(self.thread_id)
        return row.program is None and row.lesson_id == self.lesson_id


async def find_question(
    session: AsyncSession, source: QuestionSource, external_id: str
) -> Question | None:
    """Return the question a message or comment asked, or None."""
    return await session.scalar(
        select(Question).where(Question.source == source, Question.external_id == external_id)
    )


def asked_question(verdict: QuestionVerdict, *, author_name: str, **fields: Any) -> Question:
    """Return a question's row with what the classifier found: its rule, cue and language."""
    return Question(
        author_name=author_name[:200],
        rule=verdict.rule.value if verdict.rule else None,
        cue=(verdict.cue or "")[:200] or None,
        locale=verdict.locale,
        **fields,
    )


# Set in `session.info` by the event queue for a transaction that applies several events:
# their questions are then written together, in one statement, when the batch is flushed.
BATCHED = "questions.batched"


async def insert_question(session: AsyncSession, question: Question) -> bool:
    """Add a question unless its message is already recorded (a redelivered event, or
    another process's); tell whether it was added.

    In a batch the question is only added to the session: the batch's questions go in one
    INSERT at its next flush (any later query, or the commit). A message already recorded
    then fails the flush, and the queue applies the batch again one event at a time, where
    it is found here and skipped.
    """
    if session.info.get(BATCHED):
        session.add(question)
        return True
    # One statement, not a look-up and an insert.
    values = {
        column.key: value
        for column in inspect(Question).column_attrs
        if (value := getattr(question, column.key)) is not None
    }
    added = await session.scalar(
        insert_new(session, Question, ["source", "external_id"])
        .values(**values)
        .returning(Question.id)
    )
    return added is not None


async def lesson_of_thread(session: AsyncSession, thread_id: int) -> int | None:
    """Return the lesson whose forum post a thread is (None: no lesson's, or removed)."""
    return await session.scalar(
        select(LessonLink.lesson_id)
        .join(Lesson, Lesson.id == LessonLink.lesson_id)
        .where(LessonLink.discord_thread_id == thread_id, Lesson.removed_at.is_(None))
    )


async def guild_of_thread(session: AsyncSession, thread_id: int) -> int | None:
    """Return the guild of a lesson's forum post, or None."""
    return await session.scalar(
        select(ProgramForum.discord_guild_id)
        .join(LessonLink, LessonLink.discord_forum_id == ProgramForum.discord_forum_id)
        .where(LessonLink.discord_thread_id == thread_id)
    )


async def stored_help_post(session: AsyncSession, thread_id: int) -> HelpPost | None:
    """Return the help post recorded for a thread, or None."""
    return await session.scalar(select(HelpPost).where(HelpPost.discord_thread_id == thread_id))


async def ensure_lesson(session: AsyncSession, identity: str) -> int:
    """Return the id of a lesson's row, adding it when no post or issue made it yet."""
    program, _, slug = identity.partition("/")
    return await lesson_id(session, program, slug)
