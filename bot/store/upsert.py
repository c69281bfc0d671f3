"""Inserts that let one of two racing writers win, in SQLite's and PostgreSQL's own syntax."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, case, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import Lesson, ThreadMark, utcnow


def dialect_name(session: AsyncSession | Connection) -> str:
    """Name the database kind of a session or connection: "postgresql" or "sqlite"."""
    if isinstance(session, Connection):
        return session.dialect.name
    bind = session.bind
    return bind.dialect.name if bind is not None else "sqlite"


def insert_new(session: AsyncSession | Connection, model: type[Any], unique: Sequence[str]) -> Any:
    """Start an INSERT of `model` rows that skips a row whose `unique` columns exist.

    Add `.values(...)` (and `.returning(...)` to learn whether it inserted). Both dialects
    spell ON CONFLICT DO NOTHING alike, but SQLAlchemy builds it from each dialect's own
    insert construct.
    """
    insert = pg_insert if dialect_name(session) == "postgresql" else sqlite_insert
    return insert(model).on_conflict_do_nothing(index_elements=list(unique))


async def lesson_id(session: AsyncSession, program: str, slug: str) -> int:
    """Return the lesson row's id, adding the row if it is new (a racing insert may win)."""
    now = utcnow()
    await session.execute(
        insert_new(session, Lesson, ["program", "slug"]).values(
            program=program, slug=slug, created_at=now, updated_at=now
        )
    )
    found = await session.scalar(
        select(Lesson.id).where(Lesson.program == program, Lesson.slug == slug)
    )
    assert found is not None  # inserted above, or by the writer that won
    return found


async def raise_thread_marks(session: AsyncSession, marks: Mapping[int, int]) -> None:
    """Move each post's mark up to the message id given (never down), in one statement."""
    if not marks:
        return
    insert = pg_insert if dialect_name(session) == "postgresql" else sqlite_insert
    now = utcnow()
    statement = insert(ThreadMark).values(
        [
            {"discord_thread_id": thread, "last_message_id": message, "updated_at": now}
            for thread, message in sorted(marks.items())
        ]
    )
    newer = statement.excluded.last_message_id
    # Batches of two processes may commit out of order: the newest message wins.
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["discord_thread_id"],
            set_={
                "last_message_id": case(
                    (newer > ThreadMark.last_message_id, newer),
                    else_=ThreadMark.last_message_id,
                ),
                "updated_at": now,
            },
        )
    )
