"""SQLite writes in one trip to aiosqlite's thread: the same rows, the same errors."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.store.engine import make_engine
from bot.store.models import JobStatus, OutboxJob
from bot.store.sqlite_trips import begin_immediate, insert_row

NOW = datetime(2026, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)


def job(key: str) -> dict[str, object]:
    return {
        "kind": "suggestion",
        "dedupe_key": key,
        "payload": {"op": "open", "note": "é ✓"},
        "status": JobStatus.PENDING,
        "attempts": 0,
        "max_attempts": 8,
        "run_after": NOW,
        "revision": 1,
        "uncertain": False,
        "priority": 3,
        "created_at": NOW,
        "updated_at": NOW,
    }


@pytest.fixture
def url(tmp_path: Path, migrated_sqlite_template: Path) -> str:
    shutil.copyfile(migrated_sqlite_template, tmp_path / "trips.db")
    return f"sqlite:///{tmp_path}/trips.db"


async def test_a_row_is_stored_as_sqlalchemy_would_store_it(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            job_id = await insert_row(connection, OutboxJob.__table__, job("a"))
            skipped = await insert_row(
                connection, OutboxJob.__table__, job("a"), skip_existing=["dedupe_key"]
            )
            await connection.execute(insert(OutboxJob.__table__).values(job("b")))
        async with engine.connect() as connection:
            # The stored text itself: dates, JSON, enums and booleans as SQLAlchemy writes them.
            rows = (
                await connection.exec_driver_sql(
                    "SELECT id, dedupe_key, payload, status, run_after, uncertain, priority"
                    " FROM outbox_jobs ORDER BY id"
                )
            ).all()
    finally:
        await engine.dispose()

    assert skipped is None
    (first_id, *ours), (_, *theirs) = rows
    assert first_id == job_id and ours[0] == "a" and theirs[0] == "b"
    assert ours[1:] == theirs[1:]


async def test_a_refused_row_raises_the_error_sqlalchemy_would(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            await insert_row(connection, OutboxJob.__table__, job("a"))
        with pytest.raises(IntegrityError):
            async with engine.begin() as connection:
                await insert_row(connection, OutboxJob.__table__, job("a"))
        async with engine.connect() as connection:
            count = (await connection.execute(text("SELECT count(*) FROM outbox_jobs"))).scalar()
        assert count == 1
    finally:
        await engine.dispose()


async def test_a_busy_writer_lock_raises_the_error_sqlalchemy_would(url: str) -> None:
    holder, waiter = make_engine(url), make_engine(url)
    try:
        async with holder.connect() as held:
            await held.execute(text("SELECT 1"))
            await begin_immediate(held)
            async with waiter.connect() as connection:
                await connection.exec_driver_sql("PRAGMA busy_timeout = 50")
                with pytest.raises(OperationalError, match="locked"):
                    await begin_immediate(connection)
            await held.rollback()
    finally:
        await holder.dispose()
        await waiter.dispose()
