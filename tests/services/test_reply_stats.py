"""The first-reply figures read from the store: one query, the same in the CLI and digest."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import QuestionsSettings, Settings
from bot.services.questions import QuestionService
from bot.store.models import Lesson, Question, QuestionSource
from tests.services.test_digests import NOW, make, seed, settings

Sessions = async_sessionmaker[AsyncSession]


def service(sessions: Sessions, config: Settings | None = None) -> QuestionService:
    return QuestionService(sessions, config or Settings(), clock=lambda: NOW)


async def test_the_last_days_count_what_was_decided_in_them(session_factory: Sessions) -> None:
    # Seeded: asked 200h, 30h (ar) and 80h ago, unanswered (missed 176h, 6h and 56h ago);
    # one answered 10h after it was asked 50h ago (met); one resolved unanswered, asked 10h
    # ago (pending); one dropped (left out).
    await seed(session_factory)
    questions = service(session_factory)
    stats = await questions.reply_stats(timedelta(days=3))
    overall = stats.overall
    assert (overall.met, overall.missed, overall.pending) == (1, 2, 1)
    assert overall.median_first_reply == timedelta(hours=10)
    assert [(name, tally.met, tally.missed) for name, tally in stats.programs] == [
        ("data", 0, 1),
        ("python", 1, 1),
    ]
    assert [code for code, _ in stats.locales] == ["ar", "en", None]
    assert [(item.program, item.lesson) for item in stats.worst] == [
        ("data", "pandas"),
        ("python", "functions"),
    ]
    everything = await questions.reply_stats(None)
    assert (everything.overall.met, everything.overall.missed) == (1, 3)
    only_data = await questions.reply_stats(None, program="data")
    assert (only_data.overall.missed, only_data.overall.total) == (1, 1)
    arabic = await questions.reply_stats(None, locale="ar")
    assert [code for code, _ in arabic.locales] == ["ar"] and arabic.overall.missed == 1


async def test_a_regional_locale_counts_under_its_language(session_factory: Sessions) -> None:
    await seed(session_factory)
    async with session_factory() as session, session.begin():
        lesson = await session.get(Lesson, 1)
        assert lesson is not None
        session.add(
            Question(
                source=QuestionSource.DISCORD,
                external_id="70",
                container_id="1",
                lesson_id=lesson.id,
                author_id="7",
                author_name="ana",
                text="¿Cómo?",
                asked_at=NOW - timedelta(hours=30),
                locale="es-MX",
            )
        )
    stats = await service(session_factory).reply_stats(None, locale="es")
    assert [code for code, _ in stats.locales] == ["es-MX"] and stats.overall.missed == 1


async def test_another_target_changes_what_counts(session_factory: Sessions) -> None:
    await seed(session_factory)
    strict = Settings(questions=QuestionsSettings(first_reply_target="50% within 5h"))
    stats = await service(session_factory, strict).reply_stats(timedelta(days=3))
    # The answer after 10 hours misses 5 hours, and the one asked 10 hours ago is late
    # too; the one asked 80 hours ago missed before these three days.
    assert (stats.overall.met, stats.overall.missed, stats.overall.pending) == (0, 3, 0)


async def test_the_figures_take_one_query(session_factory: Sessions) -> None:
    await seed(session_factory)
    statements: list[str] = []
    engine = session_factory.kw["bind"]

    def seen(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        await service(session_factory).reply_stats(timedelta(days=30))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


async def test_the_digest_counts_what_the_command_counts_over_its_period(
    session_factory: Sessions,
) -> None:
    await seed(session_factory)
    async with session_factory() as session, session.begin():
        # Asked before the digest's week began, resolved (never answered) before it too:
        # its 24 hours ended inside the week, a miss the digest must read back.
        session.add(
            Question(
                source=QuestionSource.DISCORD,
                external_id="80",
                container_id="1",
                lesson_id=1,
                author_id="8",
                author_name="bo",
                text="Hello?",
                asked_at=NOW - timedelta(hours=178),
                resolved_at=NOW - timedelta(hours=170),
            )
        )
    digests, *_ = make(session_factory, settings())
    digest = await digests.build(now=NOW)
    assert digest.replies is not None
    overall = digest.replies.overall
    assert (overall.met, overall.missed, overall.pending) == (1, 3, 1)
    command = await service(session_factory).reply_stats(timedelta(days=7))
    assert command.overall == overall
    assert "First replies: target 80% within 1 day" in await digests.preview("text", now=NOW)
