"""The models round-trip through both databases, keep UTC, and their constraints hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bot.store.models import (
    DeliveryChannel,
    DeliveryStatus,
    DigestDelivery,
    DigestRun,
    DigestRunStatus,
    JobStatus,
    Lesson,
    LessonFile,
    LessonLink,
    OutboxJob,
    Question,
    QuestionSource,
    Suggestion,
    SuggestionSource,
    SuggestionStatus,
)

Sessions = async_sessionmaker[AsyncSession]

# Discord snowflakes: beyond 2**53, where a float (or a JSON number in JS) loses digits.
FORUM_ID = 1_187_654_321_098_765_432
THREAD_ID = 2**63 - 1
STARTER_ID = 2**53 + 1

IST = timezone(timedelta(hours=5, minutes=30))
ASKED_AT = datetime(2026, 3, 1, 12, 0, 30, 123456, tzinfo=IST)
ASKED_AT_UTC = datetime(2026, 3, 1, 6, 30, 30, 123456, tzinfo=UTC)

ARABIC_EDIT: dict[str, Any] = {
    "find": "مرحبا بالعالم",
    "replace": "أهلاً وسهلاً بالعالم",
    "context": ["سطر أول", "שורה שנייה", "‏mixed RTL/LTR‏"],
    "line": 12,
}


def _assert_utc(value: datetime | None) -> None:
    assert value is not None
    assert value.tzinfo is not None
    assert value.utcoffset() == timedelta(0)


async def _add_lesson(sessions: Sessions, program: str = "python", slug: str = "loops") -> int:
    async with sessions() as session:
        lesson = Lesson(program=program, slug=slug)
        session.add(lesson)
        await session.commit()
        return lesson.id


def _suggestion(lesson_id: int, key: str, **overrides: Any) -> Suggestion:
    fields: dict[str, Any] = {
        "source": SuggestionSource.DISCORD,
        "author_id": "123456789012345678",
        "author_name": "Amal",
        "lesson_id": lesson_id,
        "locale": "ar",
        "edit": {"find": "a", "replace": "b"},
        "idempotency_key": key,
    }
    fields.update(overrides)
    return Suggestion(**fields)


def _question(lesson_id: int, external_id: str, **overrides: Any) -> Question:
    fields: dict[str, Any] = {
        "source": QuestionSource.DISCORD,
        "external_id": external_id,
        "container_id": str(THREAD_ID),
        "lesson_id": lesson_id,
        "author_id": "42",
        "author_name": "Ravi",
        "text": "Why does the loop stop early?",
        "asked_at": ASKED_AT,
    }
    fields.update(overrides)
    return Question(**fields)


async def test_lesson_round_trips_with_its_files_and_link(session_factory: Sessions) -> None:
    synced_at = datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC)
    async with session_factory() as session:
        lesson = Lesson(
            program="python",
            slug="loops",
            files=[
                LessonFile(locale="fr", title="Les boucles", path="fr/python/loops.md"),
                LessonFile(
                    locale="en",
                    title="Loops",
                    path="en/python/loops.md",
                    blob_sha="0123456789abcdef0123456789abcdef01234567",
                ),
            ],
            link=LessonLink(
                discord_forum_id=FORUM_ID,
                discord_thread_id=THREAD_ID,
                discord_starter_message_id=STARTER_ID,
                github_issue_number=17,
                synced_title="Loops",
                synced_at=synced_at,
            ),
        )
        session.add(lesson)
        await session.commit()
        lesson_id = lesson.id

    async with session_factory() as session:
        loaded = (
            await session.execute(
                select(Lesson)
                .where(Lesson.id == lesson_id)
                .options(selectinload(Lesson.files), selectinload(Lesson.link))
            )
        ).scalar_one()
        assert loaded.identity == "python/loops"
        assert loaded.removed_at is None
        _assert_utc(loaded.created_at)
        _assert_utc(loaded.updated_at)
        # Ordered by locale, whatever the insertion order.
        assert [(f.locale, f.title, f.path) for f in loaded.files] == [
            ("en", "Loops", "en/python/loops.md"),
            ("fr", "Les boucles", "fr/python/loops.md"),
        ]
        assert loaded.files[0].blob_sha == "0123456789abcdef0123456789abcdef01234567"
        assert loaded.files[1].blob_sha is None
        link = loaded.link
        assert link is not None
        assert link.lesson_id == lesson_id
        assert (link.discord_forum_id, link.discord_thread_id) == (FORUM_ID, THREAD_ID)
        assert link.discord_starter_message_id == STARTER_ID
        assert type(link.discord_thread_id) is int
        assert link.github_issue_number == 17
        assert link.synced_title == "Loops"
        assert link.synced_at == synced_at
        _assert_utc(link.synced_at)

        # The snowflake is exact in SQL too, not just after a Python round trip.
        found = await session.scalar(
            select(LessonLink.id).where(LessonLink.discord_thread_id == THREAD_ID)
        )
        assert found == link.id


async def test_suggestion_round_trips_json_with_rtl_text(session_factory: Sessions) -> None:
    lesson_id = await _add_lesson(session_factory)
    async with session_factory() as session:
        suggestion = _suggestion(
            lesson_id,
            "discord:1:2",
            edit=ARABIC_EDIT,
            reason="تصحيح إملائي",
            author_locale="ar",
            status=SuggestionStatus.CHANGES_REQUESTED,
            pr_number=321,
            branch="suggest/321-loops-ar",
        )
        session.add(suggestion)
        await session.commit()
        suggestion_id = suggestion.id

    async with session_factory() as session:
        loaded = await session.get(Suggestion, suggestion_id)
        assert loaded is not None
        assert loaded.edit == ARABIC_EDIT
        assert loaded.reason == "تصحيح إملائي"
        assert loaded.source is SuggestionSource.DISCORD
        assert loaded.status is SuggestionStatus.CHANGES_REQUESTED
        assert (loaded.pr_number, loaded.branch) == (321, "suggest/321-loops-ar")
        assert loaded.author_locale == "ar"
        assert loaded.last_error is None
        _assert_utc(loaded.created_at)
        # Enums are stored as their values, readable in plain SQL.
        raw = await session.scalar(
            text("SELECT status FROM suggestions WHERE id = :id"), {"id": suggestion_id}
        )
        assert raw == "changes_requested"


async def test_suggestion_defaults(session_factory: Sessions) -> None:
    lesson_id = await _add_lesson(session_factory)
    async with session_factory() as session:
        suggestion = _suggestion(lesson_id, "web:abc", source=SuggestionSource.WEB)
        session.add(suggestion)
        await session.commit()
        suggestion_id = suggestion.id
    async with session_factory() as session:
        loaded = await session.get(Suggestion, suggestion_id)
        assert loaded is not None
        assert loaded.status is SuggestionStatus.QUEUED
        assert loaded.author_locale == "en"
        assert loaded.pr_number is None


async def test_question_round_trips(session_factory: Sessions) -> None:
    lesson_id = await _add_lesson(session_factory)
    answered_at = datetime(2026, 3, 1, 7, 0, tzinfo=UTC)
    async with session_factory() as session:
        question = _question(
            lesson_id,
            "1300000000000000001",
            url="https://discord.com/channels/1/2/3",
            text="لماذا تتوقف الحلقة؟",
            answered_at=answered_at,
            answered_by="maintainer",
        )
        session.add(question)
        await session.commit()
        question_id = question.id

    async with session_factory() as session:
        loaded = await session.get(Question, question_id)
        assert loaded is not None
        assert loaded.source is QuestionSource.DISCORD
        assert loaded.external_id == "1300000000000000001"
        assert loaded.container_id == str(THREAD_ID)
        assert loaded.text == "لماذا تتوقف الحلقة؟"
        assert loaded.url == "https://discord.com/channels/1/2/3"
        assert loaded.answered_at == answered_at
        assert loaded.answered_by == "maintainer"
        assert loaded.resolved_at is None


async def test_digest_run_round_trips_with_two_deliveries(session_factory: Sessions) -> None:
    finished_at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    async with session_factory() as session:
        run = DigestRun(
            period_key="weekly:2026-W09",
            status=DigestRunStatus.DONE,
            finished_at=finished_at,
            open_questions=3,
            waiting_suggestions=5,
            deliveries=[
                DigestDelivery(
                    channel=DeliveryChannel.DISCORD,
                    target=str(FORUM_ID),
                    status=DeliveryStatus.SENT,
                    attempts=1,
                    sent_at=finished_at,
                ),
                DigestDelivery(
                    channel=DeliveryChannel.EMAIL,
                    target="maintainer@example.org",
                    status=DeliveryStatus.FAILED,
                    attempts=3,
                    last_error="550 mailbox unavailable",
                ),
            ],
        )
        session.add(run)
        await session.commit()
        run_id = run.id

    async with session_factory() as session:
        loaded = (
            await session.execute(
                select(DigestRun)
                .where(DigestRun.id == run_id)
                .options(selectinload(DigestRun.deliveries))
            )
        ).scalar_one()
        assert loaded.period_key == "weekly:2026-W09"
        assert loaded.status is DigestRunStatus.DONE
        _assert_utc(loaded.started_at)
        assert loaded.finished_at == finished_at
        assert (loaded.open_questions, loaded.waiting_suggestions) == (3, 5)
        deliveries = sorted(loaded.deliveries, key=lambda d: d.channel.value)
        assert [(d.channel, d.target, d.status, d.attempts) for d in deliveries] == [
            (DeliveryChannel.DISCORD, str(FORUM_ID), DeliveryStatus.SENT, 1),
            (DeliveryChannel.EMAIL, "maintainer@example.org", DeliveryStatus.FAILED, 3),
        ]
        assert deliveries[0].sent_at == finished_at
        assert deliveries[1].sent_at is None
        assert deliveries[1].last_error == "550 mailbox unavailable"
        assert all(d.run_id == run_id for d in deliveries)


async def test_digest_run_defaults(session_factory: Sessions) -> None:
    before = datetime.now(UTC)
    async with session_factory() as session:
        run = DigestRun(period_key="daily:2026-03-02")
        session.add(run)
        await session.commit()
        run_id = run.id
    async with session_factory() as session:
        loaded = await session.get(DigestRun, run_id)
        assert loaded is not None
        assert loaded.status is DigestRunStatus.RUNNING
        assert (loaded.open_questions, loaded.waiting_suggestions) == (0, 0)
        assert loaded.finished_at is None
        _assert_utc(loaded.started_at)
        assert before <= loaded.started_at <= datetime.now(UTC)


async def test_outbox_job_round_trips_with_defaults(session_factory: Sessions) -> None:
    payload: dict[str, Any] = {"suggestion_id": 7, "title": "اقتراح", "ids": [THREAD_ID]}
    before = datetime.now(UTC)
    async with session_factory() as session:
        job = OutboxJob(kind="open_pull_request", payload=payload, dedupe_key="pr:7")
        session.add(job)
        await session.commit()
        job_id = job.id

    async with session_factory() as session:
        loaded = await session.get(OutboxJob, job_id)
        assert loaded is not None
        assert loaded.kind == "open_pull_request"
        assert loaded.payload == payload
        assert loaded.dedupe_key == "pr:7"
        assert loaded.status is JobStatus.PENDING
        assert (loaded.attempts, loaded.max_attempts) == (0, 8)
        assert loaded.locked_until is None
        _assert_utc(loaded.run_after)
        assert before <= loaded.run_after <= datetime.now(UTC)


async def test_outbox_jobs_without_dedupe_key_may_repeat(session_factory: Sessions) -> None:
    async with session_factory() as session:
        session.add_all([OutboxJob(kind="sync", payload={}), OutboxJob(kind="sync", payload={})])
        await session.commit()
        assert await session.scalar(select(func.count()).select_from(OutboxJob)) == 2


async def test_offset_datetime_comes_back_as_the_same_instant_in_utc(
    session_factory: Sessions,
) -> None:
    lesson_id = await _add_lesson(session_factory)
    async with session_factory() as session:
        question = _question(lesson_id, "q1", asked_at=ASKED_AT)
        session.add(question)
        await session.commit()
        question_id = question.id

    async with session_factory() as session:
        loaded = await session.get(Question, question_id)
        assert loaded is not None
        _assert_utc(loaded.asked_at)
        assert loaded.asked_at == ASKED_AT
        # Same wall-clock fields as the UTC instant, not the +05:30 ones relabelled.
        assert loaded.asked_at.replace(tzinfo=None) == ASKED_AT_UTC.replace(tzinfo=None)


async def test_datetime_comparisons_use_the_instant(session_factory: Sessions) -> None:
    lesson_id = await _add_lesson(session_factory)
    async with session_factory() as session:
        session.add(_question(lesson_id, "q1", asked_at=ASKED_AT))
        await session.commit()

    # 06:00 UTC is before the question; as +05:30 text it would compare after it.
    just_before = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
    just_after = datetime(2026, 3, 1, 12, 0, tzinfo=IST) + timedelta(seconds=31)
    async with session_factory() as session:
        later = await session.scalar(
            select(func.count()).select_from(Question).where(Question.asked_at > just_before)
        )
        earlier = await session.scalar(
            select(func.count()).select_from(Question).where(Question.asked_at < just_after)
        )
        exact = await session.scalar(
            select(func.count()).select_from(Question).where(Question.asked_at == ASKED_AT_UTC)
        )
    assert (later, earlier, exact) == (1, 1, 1)


async def test_naive_datetime_is_refused(session_factory: Sessions) -> None:
    lesson_id = await _add_lesson(session_factory)
    async with session_factory() as session:
        session.add(_question(lesson_id, "q1", asked_at=datetime(2026, 3, 1, 12, 0)))
        with pytest.raises(StatementError) as caught:
            await session.commit()
    assert isinstance(caught.value.orig, ValueError)
    assert "naive datetime" in str(caught.value.orig)
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Question)) == 0


async def test_duplicate_idempotency_key_is_refused(session_factory: Sessions) -> None:
    lesson_id = await _add_lesson(session_factory)
    async with session_factory() as session:
        session.add(_suggestion(lesson_id, "same-key"))
        await session.commit()
    async with session_factory() as session:
        session.add(_suggestion(lesson_id, "same-key", author_name="Someone else"))
        with pytest.raises(IntegrityError):
            await session.commit()


async def test_duplicate_program_and_slug_is_refused(session_factory: Sessions) -> None:
    await _add_lesson(session_factory, "python", "loops")
    # Same slug in another program, or another slug in the same program, is fine.
    await _add_lesson(session_factory, "rust", "loops")
    await _add_lesson(session_factory, "python", "functions")
    with pytest.raises(IntegrityError):
        await _add_lesson(session_factory, "python", "loops")


async def test_duplicate_question_source_and_external_id_is_refused(
    session_factory: Sessions,
) -> None:
    lesson_id = await _add_lesson(session_factory)
    async with session_factory() as session:
        session.add(_question(lesson_id, "555"))
        # The same external id on another platform is another question.
        session.add(_question(lesson_id, "555", source=QuestionSource.GITHUB))
        await session.commit()
    async with session_factory() as session:
        session.add(_question(lesson_id, "555", text="asked again"))
        with pytest.raises(IntegrityError):
            await session.commit()


async def test_a_question_needs_a_lesson_or_a_program(session_factory: Sessions) -> None:
    async with session_factory() as session:
        # A help post's question before its lesson is known: the program is enough.
        session.add(_question(None, "601", program="python"))  # type: ignore[arg-type]
        await session.commit()
    async with session_factory() as session:
        session.add(_question(None, "602"))  # type: ignore[arg-type]
        with pytest.raises(IntegrityError):
            await session.commit()


async def test_duplicate_outbox_dedupe_key_is_refused(session_factory: Sessions) -> None:
    async with session_factory() as session:
        session.add(OutboxJob(kind="open_pull_request", payload={}, dedupe_key="pr:1"))
        await session.commit()
    async with session_factory() as session:
        session.add(OutboxJob(kind="open_pull_request", payload={"x": 1}, dedupe_key="pr:1"))
        with pytest.raises(IntegrityError):
            await session.commit()


async def _seed_one_of_each(sessions: Sessions) -> None:
    lesson_id = await _add_lesson(sessions)
    async with sessions() as session:
        session.add_all(
            [
                _suggestion(lesson_id, "k1"),
                _question(lesson_id, "q1"),
                DigestRun(
                    period_key="p1",
                    deliveries=[DigestDelivery(channel=DeliveryChannel.EMAIL, target="a@b.c")],
                ),
                OutboxJob(kind="sync", payload={}),
            ]
        )
        await session.commit()


ENUM_COLUMNS = [
    ("suggestions", "source", "web"),
    ("suggestions", "status", "merged"),
    ("questions", "source", "github"),
    ("digest_runs", "status", "failed"),
    ("digest_deliveries", "channel", "discord"),
    ("digest_deliveries", "status", "sent"),
    ("outbox_jobs", "status", "done"),
]


@pytest.mark.parametrize(("table", "column", "valid"), ENUM_COLUMNS)
async def test_enum_column_refuses_an_unknown_value_in_raw_sql(
    session_factory: Sessions, table: str, column: str, valid: str
) -> None:
    await _seed_one_of_each(session_factory)
    # Table and column names come from ENUM_COLUMNS above, never from input.
    statement = text(f"UPDATE {table} SET {column} = :value")  # noqa: S608
    async with session_factory() as session:
        # A known value passes, so the failure below is the CHECK constraint, not the SQL.
        result = await session.execute(statement, {"value": valid})
        assert result.rowcount == 1  # type: ignore[attr-defined]
        await session.commit()
    async with session_factory() as session:
        with pytest.raises((IntegrityError, DBAPIError)):
            await session.execute(statement, {"value": "bogus"})
    async with session_factory() as session:
        stored = await session.scalar(text(f"SELECT {column} FROM {table}"))  # noqa: S608
        assert stored == valid


async def test_file_for_a_missing_lesson_is_refused(session_factory: Sessions) -> None:
    async with session_factory() as session:
        session.add(LessonFile(lesson_id=999_999, locale="en", title="Ghost", path="ghost.md"))
        with pytest.raises(IntegrityError):
            await session.commit()
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(LessonFile)) == 0


async def _lesson_with_files_and_link(sessions: Sessions, slug: str) -> int:
    async with sessions() as session:
        lesson = Lesson(
            program="python",
            slug=slug,
            files=[
                LessonFile(locale="en", title="T", path=f"en/{slug}.md"),
                LessonFile(locale="hi", title="T", path=f"hi/{slug}.md"),
            ],
            link=LessonLink(discord_thread_id=None, github_issue_number=None),
        )
        session.add(lesson)
        await session.commit()
        return lesson.id


async def _counts(sessions: Sessions) -> tuple[int, int, int]:
    async with sessions() as session:
        lessons = await session.scalar(select(func.count()).select_from(Lesson))
        files = await session.scalar(select(func.count()).select_from(LessonFile))
        links = await session.scalar(select(func.count()).select_from(LessonLink))
    return lessons or 0, files or 0, links or 0


async def test_deleting_a_lesson_cascades_to_its_files_and_link(
    session_factory: Sessions,
) -> None:
    doomed = await _lesson_with_files_and_link(session_factory, "loops")
    await _lesson_with_files_and_link(session_factory, "functions")
    assert await _counts(session_factory) == (2, 4, 2)

    async with session_factory() as session:
        lesson = await session.get(Lesson, doomed)
        assert lesson is not None
        await session.delete(lesson)
        await session.commit()

    # Only the deleted lesson's rows went; the other lesson keeps its own.
    assert await _counts(session_factory) == (1, 2, 1)
    async with session_factory() as session:
        remaining = await session.scalar(
            select(func.count()).select_from(LessonFile).where(LessonFile.lesson_id == doomed)
        )
    assert remaining == 0


async def test_deleting_a_lesson_in_sql_cascades_in_the_database(
    session_factory: Sessions,
) -> None:
    doomed = await _lesson_with_files_and_link(session_factory, "loops")
    await _lesson_with_files_and_link(session_factory, "functions")
    async with session_factory() as session:
        await session.execute(text("DELETE FROM lessons WHERE id = :id"), {"id": doomed})
        await session.commit()
    assert await _counts(session_factory) == (1, 2, 1)


async def test_removing_a_file_from_a_lesson_deletes_the_orphan(
    session_factory: Sessions,
) -> None:
    lesson_id = await _lesson_with_files_and_link(session_factory, "loops")
    async with session_factory() as session:
        lesson = (
            await session.execute(
                select(Lesson).where(Lesson.id == lesson_id).options(selectinload(Lesson.files))
            )
        ).scalar_one()
        lesson.files = [f for f in lesson.files if f.locale != "hi"]
        await session.commit()
    assert await _counts(session_factory) == (1, 1, 1)
