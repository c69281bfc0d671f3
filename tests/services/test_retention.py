"""The prune: what is past its retention goes, in batches; what pending work needs stays."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import RetentionSettings
from bot.domain.retention import RetentionPolicy, cutoffs
from bot.services.outbox import Outbox
from bot.services.retention import RetentionService
from bot.services.worker import JobWorker
from bot.store.models import (
    DeliveryChannel,
    DeliveryStatus,
    DigestDelivery,
    DigestRun,
    DigestRunStatus,
    JobStatus,
    Lesson,
    OutboxJob,
    Question,
    QuestionSource,
    Suggestion,
    SuggestionEvent,
    SuggestionSource,
    SuggestionStatus,
    WebhookDeliveryRecord,
)

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 12, 1, 4, 30, tzinfo=UTC)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def job(key: str, status: JobStatus, days: float, kind: str = "linking") -> OutboxJob:
    return OutboxJob(
        kind=kind,
        dedupe_key=key,
        payload={},
        status=status,
        run_after=ago(days),
        created_at=ago(days + 1),
        updated_at=ago(days),
    )


def delivery(delivery_id: str, days: float) -> WebhookDeliveryRecord:
    return WebhookDeliveryRecord(
        delivery_id=delivery_id, event="issues", action="opened", received_at=ago(days)
    )


async def add(sessions: Sessions, *rows: Any) -> None:
    async with sessions() as session, session.begin():
        session.add_all(rows)


async def lesson(sessions: Sessions) -> int:
    row = Lesson(program="demo", slug="pipes")
    await add(sessions, row)
    return row.id


async def suggestion(
    sessions: Sessions, lesson_id: int, status: SuggestionStatus, days: float, key: str
) -> int:
    row = Suggestion(
        source=SuggestionSource.WEB,
        author_id="a@example.org",
        author_name="Ana",
        lesson_id=lesson_id,
        locale="en",
        edit={"find": "a", "replace": "b"},
        status=status,
        idempotency_key=key,
        created_at=ago(days + 5),
        updated_at=ago(days),
    )
    await add(sessions, row)
    return row.id


async def keys(sessions: Sessions) -> set[str]:
    async with sessions() as session:
        return {key for key in await session.scalars(select(OutboxJob.dedupe_key)) if key}


async def count(sessions: Sessions, model: Any) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def service(sessions: Sessions, **settings: Any) -> RetentionService:
    return RetentionService(
        sessions, Outbox(sessions), RetentionSettings(**settings), clock=lambda: NOW
    )


def test_failed_jobs_and_digest_runs_are_kept_at_least_as_long_as_what_they_follow() -> None:
    cut = cutoffs(RetentionPolicy(done_jobs_days=30, failed_jobs_days=7, digest_runs_days=1), NOW)
    assert (cut.done_jobs, cut.failed_jobs, cut.digest_runs) == (ago(30), ago(30), ago(30))
    kept = cutoffs(RetentionPolicy(done_jobs_days=0), NOW)
    assert (kept.done_jobs, kept.failed_jobs, kept.digest_runs) == (None, None, None)
    assert kept.suggestion_events is None  # by default, as long as the suggestion


async def test_old_finished_jobs_and_deliveries_go_and_the_rest_stays(
    session_factory: Sessions,
) -> None:
    lesson_id = await lesson(session_factory)
    moving = await suggestion(session_factory, lesson_id, SuggestionStatus.OPEN, 200, "s1")
    merged = await suggestion(session_factory, lesson_id, SuggestionStatus.MERGED, 200, "s2")
    await add(
        session_factory,
        job("old-done", JobStatus.DONE, 15),
        job("recent-done", JobStatus.DONE, 13),
        job("old-pending", JobStatus.PENDING, 400),
        job("old-running", JobStatus.RUNNING, 400),
        job("recent-failed", JobStatus.FAILED, 60),
        job("old-failed", JobStatus.FAILED, 91),
        # A failed job of a suggestion still under review stays for people to retry.
        job(f"suggestion:{moving}:revise:1", JobStatus.FAILED, 200, "suggestion"),
        job(f"suggestion:{merged}:post:9", JobStatus.FAILED, 200, "suggestion"),
        delivery("old", 31),
        delivery("recent", 29),
    )

    report = await service(session_factory).prune()

    assert await keys(session_factory) == {
        "recent-done",
        "old-pending",
        "old-running",
        "recent-failed",
        f"suggestion:{moving}:revise:1",
    }
    async with session_factory() as session:
        left = set(await session.scalars(select(WebhookDeliveryRecord.delivery_id)))
    assert left == {"recent"}
    assert report.removed["outbox_jobs (done)"] == 1
    assert report.removed["outbox_jobs (failed)"] == 2
    assert report.removed["webhook_deliveries"] == 1


async def test_a_dry_run_counts_the_same_and_removes_nothing(session_factory: Sessions) -> None:
    await add(
        session_factory,
        *(job(f"done-{index}", JobStatus.DONE, 20) for index in range(5)),
        *(delivery(f"d-{index}", 40) for index in range(3)),
    )
    dry = await service(session_factory).prune(dry_run=True)
    assert (dry.dry_run, dry.removed["outbox_jobs (done)"], dry.total) == (True, 5, 8)
    assert await count(session_factory, OutboxJob) == 5
    assert await count(session_factory, WebhookDeliveryRecord) == 3
    done = await service(session_factory).prune()
    assert done.removed == dry.removed
    assert await count(session_factory, OutboxJob) == 0


async def test_more_rows_than_a_batch_are_all_removed_batch_by_batch(
    session_factory: Sessions,
) -> None:
    await add(
        session_factory,
        *(job(f"done-{index}", JobStatus.DONE, 20) for index in range(23)),
        *(job(f"pending-{index}", JobStatus.PENDING, 20) for index in range(4)),
        *(delivery(f"d-{index}", 40) for index in range(17)),
    )
    renewals: list[int] = []

    async def renew() -> None:
        renewals.append(1)

    report = await service(session_factory, batch_size=5).prune(renew=renew)
    assert report.removed["outbox_jobs (done)"] == 23
    assert report.removed["webhook_deliveries"] == 17
    assert await keys(session_factory) == {f"pending-{index}" for index in range(4)}
    assert len(renewals) >= 23 // 5 + 17 // 5  # the claim is renewed between batches


async def test_events_stay_with_their_suggestion_unless_a_setting_says_otherwise(
    session_factory: Sessions,
) -> None:
    lesson_id = await lesson(session_factory)
    moving = await suggestion(session_factory, lesson_id, SuggestionStatus.OPEN, 100, "s1")
    merged = await suggestion(session_factory, lesson_id, SuggestionStatus.MERGED, 100, "s2")
    closed = await suggestion(session_factory, lesson_id, SuggestionStatus.CLOSED, 100, "s3")
    events = [
        SuggestionEvent(suggestion_id=sid, kind="submitted", created_at=ago(120))
        for sid in (moving, merged, closed)
    ]
    await add(session_factory, *events)
    # A notice about the closed one's event is still to go out: its event stays.
    await add(
        session_factory,
        job(f"notify:{events[2].id}:1", JobStatus.PENDING, 1, "suggestion_notify"),
    )

    kept = await service(session_factory).prune()
    assert kept.removed["suggestion_events (finished suggestions)"] == 0
    assert await count(session_factory, SuggestionEvent) == 3

    report = await service(session_factory, suggestion_events_days=60).prune()
    assert report.removed["suggestion_events (finished suggestions)"] == 1
    async with session_factory() as session:
        left = set(await session.scalars(select(SuggestionEvent.suggestion_id)))
    assert left == {moving, closed}
    assert await count(session_factory, Suggestion) == 3  # suggestions themselves stay


async def test_a_held_suggestion_is_not_finished_so_its_events_stay(
    session_factory: Sessions,
) -> None:
    lesson_id = await lesson(session_factory)
    held = await suggestion(session_factory, lesson_id, SuggestionStatus.HELD, 100, "h1")
    closed = await suggestion(session_factory, lesson_id, SuggestionStatus.CLOSED, 100, "h2")
    await add(
        session_factory,
        *(
            SuggestionEvent(suggestion_id=sid, kind="submitted", created_at=ago(120))
            for sid in (held, closed)
        ),
    )

    report = await service(session_factory, suggestion_events_days=60).prune()

    assert report.removed["suggestion_events (finished suggestions)"] == 1
    async with session_factory() as session:
        left = set(await session.scalars(select(SuggestionEvent.suggestion_id)))
    # A moderator still reads what was submitted; approving it later opens its PR.
    assert left == {held}


async def test_only_questions_resolved_or_dropped_long_ago_go(session_factory: Sessions) -> None:
    lesson_id = await lesson(session_factory)

    def question(external_id: str, **moments: datetime) -> Question:
        return Question(
            source=QuestionSource.DISCORD,
            external_id=external_id,
            container_id="1",
            lesson_id=lesson_id,
            author_id="u",
            author_name="U",
            text="Why?",
            asked_at=ago(800),
            **moments,
        )

    await add(
        session_factory,
        question("open"),
        question("answered", answered_at=ago(700)),
        question("resolved-old", resolved_at=ago(400)),
        question("resolved-recent", resolved_at=ago(100)),
        question("dropped-old", dropped_at=ago(400)),
    )
    report = await service(session_factory).prune()
    assert report.removed["questions (resolved or dropped)"] == 2
    async with session_factory() as session:
        left = set(await session.scalars(select(Question.external_id)))
    assert left == {"open", "answered", "resolved-recent"}


async def test_old_digest_runs_go_but_the_ones_the_next_digest_needs_stay(
    session_factory: Sessions,
) -> None:
    def run(key: str, days: float, status: DigestRunStatus = DigestRunStatus.DONE) -> DigestRun:
        return DigestRun(period_key=key, status=status, started_at=ago(days))

    runs = [
        run("scheduled:old-1", 500),
        run("scheduled:old-2", 450),
        run("scheduled:latest", 400),  # the latest: the next digest counts from it
        run("now:by-hand", 420, DigestRunStatus.FAILED),
        run("scheduled:recent", 10, DigestRunStatus.FAILED),
    ]
    await add(session_factory, *runs)
    await add(
        session_factory,
        DigestDelivery(
            run_id=runs[0].id,
            channel=DeliveryChannel.EMAIL,
            target="ana@example.org",
            status=DeliveryStatus.SENT,
        ),
        # Bo's latest email: a monthly frequency looks back to it.
        DigestDelivery(
            run_id=runs[1].id,
            channel=DeliveryChannel.EMAIL,
            target="bo@example.org",
            status=DeliveryStatus.SENT,
        ),
        DigestDelivery(
            run_id=runs[2].id,
            channel=DeliveryChannel.EMAIL,
            target="ana@example.org",
            status=DeliveryStatus.SENT,
        ),
    )
    report = await service(session_factory).prune()
    assert (report.removed["digest_runs"], report.removed["digest_deliveries"]) == (2, 1)
    async with session_factory() as session:
        left = set(await session.scalars(select(DigestRun.period_key)))
    assert left == {"scheduled:old-2", "scheduled:latest", "scheduled:recent"}


async def test_the_scheduled_prune_runs_once_per_period_through_the_worker(
    session_factory: Sessions,
) -> None:
    await add(session_factory, job("old-done", JobStatus.DONE, 30))
    outbox = Outbox(session_factory)
    first = RetentionService(session_factory, outbox, RetentionSettings(), clock=lambda: NOW)
    second = RetentionService(
        session_factory, Outbox(session_factory), RetentionSettings(), clock=lambda: NOW
    )
    # Two processes fire the same scheduled time, a little apart: one job is recorded.
    assert await first.schedule() is not None
    assert await second.schedule(NOW + timedelta(minutes=3)) is None
    assert first.period_key() == "prune:2026-12-01T04:30Z"

    worker = JobWorker(outbox, {RetentionService.JOB_KIND: first.run_job})
    assert await worker.run_once() == 1
    assert await keys(session_factory) == {"prune:2026-12-01T04:30Z"}
    [done] = await outbox.jobs([JobStatus.DONE])
    assert done.kind == "prune"
    # The same period again (a late fire after it ran) records and runs nothing.
    assert await second.schedule() is None
    assert await worker.run_once() == 0
    # The next day's is a new period.
    assert await first.schedule(NOW + timedelta(days=1)) is not None


@pytest.mark.parametrize("days", [1, 2])
def test_webhook_retention_shorter_than_redelivery_is_refused(days: int) -> None:
    from bot.config import ConfigError, Settings, _validate

    settings = Settings(retention=RetentionSettings(webhook_deliveries_days=days))
    with pytest.raises(ConfigError, match="webhook_deliveries_days"):
        _validate(settings)
    _validate(dataclasses.replace(settings, retention=RetentionSettings()))
