"""Benchmark: building the digest from 100,000 questions (2,000 open, 600 lessons).

Our build reads open questions, the activity since the last digest and waiting edits in
three queries, then groups them in memory; the naive baseline asks the database once per
lesson for its open questions and again for its activity, as a per-lesson loop would.
Both build the same digest (checked). SQLite, in a temporary folder.

Then ingest: 5,000 learners' messages in eight languages (about half of them questions) are
posted into six linked lesson posts through the Discord sandbox's admin API, from eight
clients in their own thread, and reach the real bot (discord.py, the questions cog) as
gateway MESSAGE_CREATE events; timed from the first send until the database holds every
expected question row (polled). The baseline hands the same messages straight to
`QuestionService.on_discord_message`, in order, without the gateway: the difference is the
gateway's share. On SQLite and, when its server answers, on a fresh PostgreSQL database
(dropped after). Prints one JSON line; never asserts a time.

    .venv/bin/python tests/bench/bench_digest.py
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

import aiohttp  # noqa: E402
import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402
from sqlalchemy import and_, func, insert, or_, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.config import DatabaseSettings, DiscordSettings, Secret, Settings  # noqa: E402
from bot.discord.client import BotServices, create_bot  # noqa: E402
from bot.discord.cogs.questions import add_questions_cog  # noqa: E402
from bot.domain.catalogue import load_catalogue  # noqa: E402
from bot.domain.digest import QuestionRecord, build_digest  # noqa: E402
from bot.domain.questions import classify  # noqa: E402
from bot.services.digests import DigestService  # noqa: E402
from bot.services.lessons import LessonDirectory  # noqa: E402
from bot.services.linking import LinkDirectory  # noqa: E402
from bot.services.outbox import Outbox  # noqa: E402
from bot.services.questions import QuestionService  # noqa: E402
from bot.services.signing import Signer  # noqa: E402
from bot.store.engine import make_engine, make_session_factory, make_sync_engine  # noqa: E402
from bot.store.migrate import upgrade  # noqa: E402
from bot.store.models import (  # noqa: E402
    Lesson,
    LessonFile,
    LessonLink,
    ProgramForum,
    Question,
    QuestionSource,
)
from sandboxes.discord import DiscordSandbox  # noqa: E402

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


# --- ingest: questions through the real discord.py event path -------------------------------

MESSAGES = 5_000
THREADS = 6
SENDERS = 8  # concurrent admin-API clients in their own thread
INGEST_TIMEOUT = 45.0
AIM_INGEST_PER_SECOND = 2_000
BOT_TOKEN = "bench-bot-token"
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
# Learners' messages in the bot's locales: questions and remarks, as people write them.
PHRASES = (
    "How do I load the CSV file from step {n}?",
    "why does my chart stay empty after step {n}",
    "Great lesson, thanks! Step {n} finally clicked.",
    "Can someone explain what a prompt template is",
    "I finished step {n} and moved on.",
    "¿Cómo limpio los datos antes del paso {n}?",
    "No entiendo por qué falla el paso {n}",
    "Gracias, el paso {n} quedó claro.",
    "Comment est-ce que je sauvegarde le tableau de l'étape {n} ?",
    "Merci, tout marche à l'étape {n}.",
    "Hoe open ik het bestand uit stap {n}?",
    "Stap {n} werkt nu bij mij.",
    "كيف أحفظ الملف في الخطوة {n}؟",
    "شكرا، الخطوة {n} واضحة الآن.",
    "第{n}步的数据怎么导入\uff1f",  # a full-width question mark, as typed in Chinese
    "第{n}步我已经完成了。",
    "चरण {n} में फ़ाइल कैसे खोलें?",
    "धन्यवाद, चरण {n} समझ में आ गया।",
    "దశ {n}లో ఫైల్ ఎలా తెరవాలి?",
    "దశ {n} పూర్తి చేశాను.",
)
AUTHORS = (3001, 3002, 3003, 3004, 3005, 3006, 3007, 3008)


def messages() -> list[tuple[int, int, str]]:
    """Return (thread slot, author, text) for every message, mixed and repeatable."""
    rng = random.Random(11)
    return [
        (rng.randrange(THREADS), rng.choice(AUTHORS), rng.choice(PHRASES).format(n=n))
        for n in range(MESSAGES)
    ]


@contextlib.contextmanager
def database(backend: str, folder: str) -> Iterator[str]:
    """Yield the URL of a fresh, migrated database (a new PostgreSQL database, dropped after)."""
    if backend == "sqlite":
        url = f"sqlite:///{folder}/ingest-{secrets.token_hex(4)}.db"
        upgrade(url)
        yield url
        return
    name = f"bench_ingest_{secrets.token_hex(6)}"
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


async def link(sessions: Any, index: int, forum: int, guild: int, thread: int, first: int) -> None:
    """Store a lesson and its post's link, as the bot's sync does."""
    async with sessions() as session, session.begin():
        if index == 0:
            session.add(
                ProgramForum(
                    program="bench",
                    discord_guild_id=guild,
                    discord_forum_id=forum,
                    tag_ids={},
                )
            )
        lesson = Lesson(program="bench", slug=f"lesson-{index}")
        session.add(lesson)
        await session.flush()
        session.add(
            LessonLink(
                lesson_id=lesson.id,
                discord_forum_id=forum,
                discord_thread_id=thread,
                discord_starter_message_id=first,
            )
        )


async def count_questions(sessions: Any) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Question)) or 0)


def send_all(admin: str, threads: list[int], batch: list[tuple[int, int, str]]) -> float:
    """Post every message through the sandbox's admin API from SENDERS clients; return when."""

    async def run() -> None:
        queue = iter(batch)
        async with aiohttp.ClientSession() as client:

            async def sender() -> None:
                for slot, author, text in queue:
                    url = f"{admin}/channels/{threads[slot]}/messages"
                    body = {"author_id": str(author), "content": text}
                    async with client.post(url, json=body) as response:
                        response.raise_for_status()

            await asyncio.gather(*(sender() for _ in range(SENDERS)))

    asyncio.run(run())
    return time.perf_counter()


async def through_gateway(url: str, batch: list[tuple[int, int, str]], expected: int) -> Any:
    """Run the sandbox and the real bot; time the messages from first send to last row."""
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    try:
        async with DiscordSandbox(bot_token=BOT_TOKEN) as sandbox:
            guild = sandbox.create_guild(
                "Bench",
                channels=[{"name": "bench", "type": 15}],
                members=[{"id": a, "username": f"learner{a}"} for a in AUTHORS],
            )
            settings = Settings(
                discord=DiscordSettings(
                    api_base_url=sandbox.api_base_url,
                    gateway_url=sandbox.gateway_url,
                    guild_id=guild["id"],
                    token=Secret(BOT_TOKEN),
                )
            )
            bot = create_bot(settings, guild_ready_timeout=0.1)
            await bot.add_service_cogs(
                BotServices(
                    lessons=LessonDirectory(load_catalogue(PROJECT / "lessons"), "en"),
                    links=LinkDirectory(sessions),
                )
            )
            questions = QuestionService(sessions, settings, chat=bot.chat)
            await add_questions_cog(bot, questions)
            task = asyncio.create_task(bot.start(BOT_TOKEN))
            try:
                await asyncio.wait_for(bot.wait_until_ready(), 15)
                forum = guild["channels"]["bench"]
                threads = []
                for index in range(THREADS):
                    post = await bot.chat.create_forum_post(forum, f"Lesson {index}", "Ask here.")
                    await link(
                        sessions, index, forum, guild["id"], post.thread_id, post.message_ids[0]
                    )
                    threads.append(post.thread_id)
                admin = f"{sandbox.base_url}/_sandbox"
                started = time.perf_counter()
                sending = asyncio.create_task(asyncio.to_thread(send_all, admin, threads, batch))
                stored = 0
                while stored < expected and time.perf_counter() - started < INGEST_TIMEOUT:
                    await asyncio.sleep(0.01)
                    stored = await count_questions(sessions)
                done = time.perf_counter()
                sent = await sending
            finally:
                await bot.close()
                await asyncio.wait_for(task, 15)
    finally:
        await engine.dispose()
    return stored, done - started, sent - started


async def direct(url: str, batch: list[tuple[int, int, str]], expected: int) -> Any:
    """Hand the same messages to the service in order, without the gateway."""
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    service = QuestionService(sessions, Settings())
    try:
        for index in range(THREADS):
            await link(sessions, index, 1, 1, 100 + index, 1000 + index)
        started = time.perf_counter()
        for n, (slot, author, text) in enumerate(batch):
            await service.on_discord_message(
                100 + slot, 10_000 + n, author, f"learner{author}", text, guild_id=1
            )
        elapsed = time.perf_counter() - started
        stored = await count_questions(sessions)
    finally:
        await engine.dispose()
    return stored, elapsed


def ingest(folder: str) -> dict[str, Any]:
    """Measure ingest on SQLite and, when its server answers, PostgreSQL."""
    batch = messages()
    expected = sum(classify(text).is_question for _, _, text in batch)
    figures: dict[str, Any] = {"messages": MESSAGES, "questions": expected, "threads": THREADS}
    for backend in ["sqlite", *(["postgresql"] if postgres_answers() else [])]:
        with database(backend, folder) as url:
            stored, seconds, sending = asyncio.run(through_gateway(url, batch, expected))
        with database(backend, folder) as url:
            direct_stored, direct_seconds = asyncio.run(direct(url, batch, expected))
        figures[backend] = {
            "complete": stored == expected,
            "stored": stored,
            "seconds": round(seconds, 2),
            "send_seconds": round(sending, 2),
            "questions_per_second": round(stored / seconds),
            "messages_per_second": round(MESSAGES / seconds) if stored == expected else None,
            "direct_complete": direct_stored == expected,
            "direct_seconds": round(direct_seconds, 2),
            "direct_messages_per_second": round(MESSAGES / direct_seconds),
            "direct_questions_per_second": round(direct_stored / direct_seconds),
        }
    figures["aim_questions_per_second"] = AIM_INGEST_PER_SECOND
    return figures


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        upgrade(url)
        started = time.perf_counter()
        fill(url)
        filled = time.perf_counter() - started
        result = asyncio.run(measure(url))
        ingested = ingest(folder)
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
                "ingest": ingested,
            }
        )
    )


if __name__ == "__main__":
    main()
