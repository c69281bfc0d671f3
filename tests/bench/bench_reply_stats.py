"""Benchmark: the first-reply figures over 100,000 questions (600 lessons, 12 programs,
8 languages, asked over 90 days).

Ours is `QuestionService.reply_stats`: one query for the place and times of the questions
that can count (asked after the period's start less the target's window), grouped in
memory. The naive baseline asks the database once per lesson for its questions, as a
per-lesson loop would, and groups the same rows. Both give the same figures (checked).
On SQLite and, when its server answers, on a fresh PostgreSQL database (dropped after).
Prints one JSON line; never asserts a time.

    .venv/bin/python tests/bench/bench_reply_stats.py
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT))  # run as a script: import the project

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.config import DatabaseSettings, Settings  # noqa: E402
from bot.domain.reply_stats import ReplyRecord, reply_stats  # noqa: E402
from bot.services.questions import QuestionService  # noqa: E402
from bot.store.engine import make_engine, make_session_factory, make_sync_engine  # noqa: E402
from bot.store.migrate import upgrade  # noqa: E402
from bot.store.models import Lesson, Question, QuestionSource  # noqa: E402

QUESTIONS = 100_000
LESSONS = 600
LOCALES = ("en", "es", "ar", "zh", "fr", "hi", "nl", None)
ROUNDS = 5
SINCE = timedelta(days=30)
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def fill(url: str) -> None:
    """Write the lessons and questions in bulk: most answered within two days, some never."""
    rng = random.Random(7)
    engine = make_sync_engine(url)
    with engine.begin() as connection:
        connection.execute(
            insert(Lesson),
            [
                {"id": i + 1, "program": f"program-{i % 12}", "slug": f"lesson-{i}"}
                for i in range(LESSONS)
            ],
        )
        rows: list[dict[str, Any]] = []
        for n in range(QUESTIONS):
            asked = NOW - timedelta(minutes=rng.randrange(1, 60 * 24 * 90))
            wait = timedelta(minutes=rng.randrange(5, 60 * 48))
            answered = asked + wait if rng.random() < 0.85 and asked + wait < NOW else None
            rows.append(
                {
                    "source": QuestionSource.DISCORD,
                    "external_id": str(n),
                    "container_id": str(n % LESSONS),
                    "lesson_id": n % LESSONS + 1,
                    "author_id": str(n % 997),
                    "author_name": f"learner{n % 997}",
                    "text": f"How do I get step {n} of this lesson to work?",
                    "asked_at": asked,
                    "answered_at": answered,
                    "locale": LOCALES[n % len(LOCALES)],
                    # One in fifty deleted or edited out of being a question: never counted.
                    "dropped_at": asked if n % 50 == 0 else None,
                    "created_at": asked,
                    "updated_at": asked,
                }
            )
        connection.execute(insert(Question), rows)
    engine.dispose()


async def naive(sessions: Any, settings: Settings, since: timedelta | None) -> Any:
    """Read each lesson's questions one lesson at a time, then group them the same way."""
    target = settings.questions.reply_target
    start = NOW - since if since is not None else None
    records: list[ReplyRecord] = []
    async with sessions() as session:
        lessons = (await session.execute(select(Lesson.id, Lesson.program, Lesson.slug))).all()
        for lesson_id, program, slug in lessons:
            query = select(Question).where(
                Question.lesson_id == lesson_id, Question.dropped_at.is_(None)
            )
            rows = (await session.execute(query)).scalars()
            records += [
                ReplyRecord(program, slug, slug, q.locale, q.asked_at, q.answered_at) for q in rows
            ]
    return reply_stats(records, target=target, now=NOW, start=start)


async def measure(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    settings = Settings(database=DatabaseSettings(url=url))
    service = QuestionService(sessions, settings, clock=lambda: NOW)
    try:
        figures: dict[str, Any] = {}
        for label, since in (("30d", SINCE), ("all", None)):
            ours, theirs = [], []
            stats = baseline = None
            for _ in range(ROUNDS):
                started = time.perf_counter()
                stats = await service.reply_stats(since)
                ours.append(time.perf_counter() - started)
                started = time.perf_counter()
                baseline = await naive(sessions, settings, since)
                theirs.append(time.perf_counter() - started)
            assert stats is not None and baseline is not None
            assert stats.overall == baseline.overall and stats.worst == baseline.worst
            assert stats.programs == baseline.programs and stats.locales == baseline.locales
            figures[label] = {
                "counted": stats.overall.total,
                "share_met": round(stats.overall.share or 0, 4),
                "stats_ms": round(statistics.median(ours) * 1000, 1),
                "naive_per_lesson_ms": round(statistics.median(theirs) * 1000, 1),
            }
        return figures
    finally:
        await engine.dispose()


@contextlib.contextmanager
def database(backend: str, folder: str) -> Iterator[str]:
    """Yield the URL of a fresh, migrated database (a new PostgreSQL database, dropped after)."""
    if backend == "sqlite":
        url = f"sqlite:///{folder}/bench.db"
        upgrade(url)
        yield url
        return
    name = f"bench_replies_{secrets.token_hex(6)}"
    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def postgres_answers() -> bool:
    """Tell whether the bench's PostgreSQL server is there."""
    try:
        with psycopg.connect(POSTGRES, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        for backend in ["sqlite", *(["postgresql"] if postgres_answers() else [])]:
            with database(backend, folder) as url:
                fill(url)
                results[backend] = asyncio.run(measure(url))
    print(
        json.dumps(
            {
                "bench": "reply_stats",
                "questions": QUESTIONS,
                "lessons": LESSONS,
                "since": "30d",
                "target": Settings().questions.first_reply_target,
                **results,
            }
        )
    )


if __name__ == "__main__":
    main()
