"""Benchmark: one nudge scan over many open questions, next to reading them alone.

Run as a script (never inside the test suite): stores `--questions` open Discord questions
(5,000) spread over `--posts` posts (500), all waiting past `nudge_after`, then times the
first scan (which claims the daily cap of every post, each claim one transaction with its
outbox job) and a second scan the same day (nothing left to claim), next to the baseline:
one SELECT of the same open questions, the read no scan can skip. Prints one JSON line, on
SQLite and, with --postgres URL, PostgreSQL too.

    .venv/bin/python tests/bench/bench_nudges.py [--questions N] [--posts N] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select

from bot.config import QuestionsSettings, Settings
from bot.services.outbox import Outbox
from bot.services.questions.nudges import NudgeService
from bot.store.engine import make_engine, make_session_factory
from bot.store.migrate import upgrade
from bot.store.models import Question, QuestionSource

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


async def measure(url: str, questions: int, posts: int) -> dict[str, float | int]:
    """Return the scans' and the baseline's milliseconds, and how many were claimed."""
    upgrade(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    rows = [
        {
            "source": QuestionSource.DISCORD,
            "external_id": str(10_000 + n),
            "container_id": str(n % posts),
            "url": f"https://discord.com/channels/1/{n % posts}/{10_000 + n}",
            "program": "demo",
            "author_id": "7",
            "author_name": "ana",
            "text": f"How do I do step {n}?",
            "asked_at": NOW - timedelta(days=2, minutes=n % 600),
            "locale": "en",
            "created_at": NOW,
            "updated_at": NOW,
        }
        for n in range(questions)
    ]
    settings = Settings(questions=QuestionsSettings(helper_role_id="1"))
    nudges = NudgeService(
        sessions, Outbox(sessions, clock=lambda: NOW), settings, clock=lambda: NOW
    )
    try:
        async with sessions() as session, session.begin():
            await session.execute(insert(Question), rows)
        started = time.perf_counter()
        async with sessions() as session:
            read = len(
                list(await session.scalars(select(Question).where(Question.resolved_at.is_(None))))
            )
        baseline = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        claimed = await nudges.scan()
        first = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        again = await nudges.scan()
        second = (time.perf_counter() - started) * 1000
    finally:
        await engine.dispose()
    return {
        "questions": read,
        "claimed": claimed,
        "claimed_again": again,
        "first_scan_ms": round(first, 1),
        "first_scan_ms_per_claim": round(first / max(claimed, 1), 2),
        "second_scan_ms": round(second, 1),
        "baseline_read_ms": round(baseline, 1),
    }


def main() -> None:
    """Print one JSON line of figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=5000)
    parser.add_argument("--posts", type=int, default=500)
    parser.add_argument("--postgres", default="")
    options = parser.parse_args()
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        figures["sqlite"] = asyncio.run(measure(url, options.questions, options.posts))
    if options.postgres:
        figures["postgresql"] = asyncio.run(
            measure(options.postgres, options.questions, options.posts)
        )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
