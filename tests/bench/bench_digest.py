"""Benchmark: building the digest from 100,000 questions (2,000 open, 600 lessons).

Our build reads open questions, the activity since the last digest and waiting edits in
three queries, then groups them in memory; the naive baseline asks the database once per
lesson for its open questions and again for its activity, as a per-lesson loop would.
Both build the same digest (checked). SQLite, in a temporary folder. Prints one JSON line.

    .venv/bin/python tests/bench/bench_digest.py
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT))  # run as a script: import the project

from sqlalchemy import and_, insert, or_, select  # noqa: E402

from bot.config import DatabaseSettings, Settings  # noqa: E402
from bot.domain.digest import QuestionRecord, build_digest  # noqa: E402
from bot.services.digests import DigestService  # noqa: E402
from bot.services.outbox import Outbox  # noqa: E402
from bot.services.signing import Signer  # noqa: E402
from bot.store.engine import make_engine, make_session_factory, make_sync_engine  # noqa: E402
from bot.store.migrate import upgrade  # noqa: E402
from bot.store.models import Lesson, LessonFile, Question, QuestionSource  # noqa: E402

QUESTIONS = 100_000
OPEN = 2_000
LESSONS = 600
ROUNDS = 5
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def fill(url: str) -> None:
    """Write the lessons and questions in bulk (the ingest path is measured elsewhere)."""
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
        connection.execute(
            insert(LessonFile),
            [
                {"lesson_id": i + 1, "locale": "en", "title": f"Lesson {i}", "path": f"l{i}.mdx"}
                for i in range(LESSONS)
            ],
        )
        rows: list[dict[str, Any]] = []
        for n in range(QUESTIONS):
            asked = NOW - timedelta(minutes=rng.randrange(1, 60 * 24 * 90))
            is_open = n < OPEN
            wait = timedelta(minutes=rng.randrange(5, 60 * 48))
            answered = None if is_open else min(asked + wait, NOW - timedelta(seconds=1))
            rows.append(
                {
                    "source": QuestionSource.DISCORD,
                    "external_id": str(n),
                    "container_id": str(n % LESSONS),
                    "url": f"https://discord.com/channels/1/2/{n}",
                    "lesson_id": n % LESSONS + 1,
                    "author_id": str(n % 997),
                    "author_name": f"learner{n % 997}",
                    "text": f"How do I get step {n} of this lesson to work? " * 3,
                    "asked_at": asked,
                    "answered_at": answered,
                    "resolved_at": None,
                    "created_at": asked,
                    "updated_at": asked,
                }
            )
        connection.execute(insert(Question), rows)
    engine.dispose()


async def naive(sessions: Any, since: datetime) -> Any:
    """Ask for each lesson's open questions and activity, one lesson at a time."""
    records: list[QuestionRecord] = []
    async with sessions() as session:
        lessons = (await session.execute(select(Lesson.id, Lesson.program, Lesson.slug))).all()
        for lesson_id, program, slug in lessons:
            title = await session.scalar(
                select(LessonFile.title).where(
                    LessonFile.lesson_id == lesson_id, LessonFile.locale == "en"
                )
            )
            rows = (
                await session.execute(
                    select(Question).where(
                        Question.lesson_id == lesson_id,
                        Question.dropped_at.is_(None),
                        or_(
                            and_(Question.answered_at.is_(None), Question.resolved_at.is_(None)),
                            Question.asked_at > since,
                            Question.answered_at > since,
                            Question.resolved_at > since,
                        ),
                    )
                )
            ).scalars()
            records += [
                QuestionRecord(
                    q.id,
                    program,
                    slug,
                    title or slug,
                    q.author_name,
                    q.text,
                    q.asked_at,
                    q.url,
                    None,
                    q.answered_at,
                    q.resolved_at,
                )
                for q in rows
            ]
    return build_digest(records, now=NOW, since=since)


async def measure(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    settings = Settings(database=DatabaseSettings(url=url))
    service = DigestService(
        sessions, Outbox(sessions), settings, signer=Signer(b"b" * 32), clock=lambda: NOW
    )
    try:
        ours, theirs = [], []
        digest = naive_digest = None
        for _ in range(ROUNDS):
            started = time.perf_counter()
            digest = await service.build(now=NOW)
            ours.append(time.perf_counter() - started)
            started = time.perf_counter()
            naive_digest = await naive(sessions, NOW - timedelta(days=7))
            theirs.append(time.perf_counter() - started)
        assert digest is not None and naive_digest is not None
        assert digest.open_count == naive_digest.open_count == OPEN
        assert digest.activity == naive_digest.activity
        return {
            "open": digest.open_count,
            "lessons_with_open": sum(len(p.lessons) for p in digest.programs),
            "build_ms": round(statistics.median(ours) * 1000, 1),
            "naive_ms": round(statistics.median(theirs) * 1000, 1),
        }
    finally:
        await engine.dispose()


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        upgrade(url)
        started = time.perf_counter()
        fill(url)
        filled = time.perf_counter() - started
        result = asyncio.run(measure(url))
    print(
        json.dumps(
            {
                "bench": "digest",
                "database": "sqlite",
                "questions": QUESTIONS,
                "lessons": LESSONS,
                **result,
                "aim_build_ms": 250,
                "bulk_fill_seconds": round(filled, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
