"""GET /metrics: the Prometheus text format, counted from a real database at scrape time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.services.metrics import RequestTally
from bot.services.outbox import Outbox
from bot.services.suggestions import SuggestionService
from bot.store.models import (
    DeliveryChannel,
    DeliveryStatus,
    DigestDelivery,
    DigestRun,
    DigestRunStatus,
    Lesson,
    Question,
    QuestionSource,
)
from bot.web.router import WebhookRouter
from tests.web.conftest import ClientMaker
from tests.web.suggest_support import api_body, copy_content, open_door
from tests.web.support import Client

Sessions = async_sessionmaker[AsyncSession]
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
MAINTAINER = "maintainer-metrics@example.org"


async def scrape(client: Client) -> tuple[str, Samples]:
    """GET /metrics; return its text and every sample by (name, labels)."""
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    text = await response.text()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """Return one sample's value; a missing one fails the test."""
    return samples[(name, frozenset(labels.items()))]


async def test_suggestions_and_their_jobs_are_counted_after_each_is_recorded(
    session_factory: Sessions, tmp_path: Path
) -> None:
    door = await open_door(session_factory, copy_content(tmp_path))
    try:
        _, before = await scrape(door.client)
        assert value(before, "lessonbot_database_up") == 1
        # Every known status and source has a series before anything happened.
        assert value(before, "lessonbot_suggestions", status="queued", source="api") == 0
        assert value(before, "lessonbot_suggestions", status="merged", source="discord") == 0
        assert value(before, "lessonbot_jobs_oldest_pending_age_seconds") == 0

        sent = await door.client.post("/api/suggestions", json=api_body())
        assert sent.status == 202

        _, after = await scrape(door.client)
        assert value(after, "lessonbot_suggestions", status="queued", source="api") == 1
        assert value(after, "lessonbot_suggestions", status="queued", source="web") == 0
        kind = SuggestionService.JOB_KIND
        assert value(after, "lessonbot_jobs", kind=kind, status="pending") == 1
        assert value(after, "lessonbot_jobs", kind=kind, status="done") == 0
    finally:
        await door.client.close()


async def test_jobs_by_kind_and_status_and_the_oldest_pending_age(
    make_client: ClientMaker, session_factory: Sessions
) -> None:
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    await Outbox(session_factory, clock=lambda: an_hour_ago).enqueue("demo", "old", {})
    outbox = Outbox(session_factory)
    done = await outbox.enqueue("demo", "done", {})
    await outbox.enqueue("other", "new", {})
    claim = await outbox.claim(done)
    assert claim is not None and await outbox.complete(claim)
    client = await make_client(Settings(), session_factory=session_factory, router=WebhookRouter())

    _, samples = await scrape(client)

    assert value(samples, "lessonbot_jobs", kind="demo", status="pending") == 1
    assert value(samples, "lessonbot_jobs", kind="demo", status="done") == 1
    assert value(samples, "lessonbot_jobs", kind="other", status="pending") == 1
    assert value(samples, "lessonbot_jobs", kind="other", status="failed") == 0
    # Queued an hour before the scrape: at least that old, whenever the scrape ran.
    assert value(samples, "lessonbot_jobs_oldest_pending_age_seconds") >= 3600


async def _record_questions(sessions: Sessions, now: datetime) -> None:
    """Store questions of a lesson and of a help post, in each state, and a dropped one."""
    async with sessions() as session, session.begin():
        lesson = Lesson(program="demo", slug="pipes")
        session.add(lesson)
        await session.flush()

        def question(n: int, **fields: object) -> Question:
            fields.setdefault("lesson_id", lesson.id)
            fields.setdefault("asked_at", now - timedelta(hours=3))
            return Question(
                source=QuestionSource.DISCORD,
                external_id=str(n),
                container_id="100",
                author_id="1",
                author_name="ana",
                text="¿Por qué?",
                **fields,
            )

        session.add_all(
            [
                question(1, locale="es"),
                question(2, locale="es"),
                # Answered an hour after being asked, within the window.
                question(3, locale="en", answered_at=now - timedelta(hours=2)),
                # Answered three hours after, within the window too.
                question(
                    4,
                    locale="en",
                    asked_at=now - timedelta(hours=5),
                    answered_at=now - timedelta(hours=2),
                ),
                question(5, locale="en", answered_at=now - timedelta(hours=2), resolved_at=now),
                # Answered long ago: counted as resolved, outside the first-reply window.
                question(
                    6,
                    locale="en",
                    asked_at=now - timedelta(days=30),
                    answered_at=now - timedelta(days=29),
                    resolved_at=now - timedelta(days=29),
                ),
                # A help post's question, its lesson not known yet, language not told.
                question(7, lesson_id=None, program="help-only"),
                question(8, locale="es", dropped_at=now, drop_reason="deleted"),
            ]
        )


async def test_questions_by_state_program_and_locale_and_the_time_to_first_reply(
    make_client: ClientMaker, session_factory: Sessions
) -> None:
    client = await make_client(Settings(), session_factory=session_factory, router=WebhookRouter())
    _, empty = await scrape(client)
    assert value(empty, "lessonbot_question_first_reply_seconds_count") == 0

    await _record_questions(session_factory, datetime.now(UTC))
    _, samples = await scrape(client)

    def questions(state: str, program: str, locale: str) -> float:
        return value(samples, "lessonbot_questions", state=state, program=program, locale=locale)

    assert questions("open", "demo", "es") == 2  # the dropped one is not counted
    assert questions("answered", "demo", "es") == 0
    assert questions("open", "demo", "en") == 0
    assert questions("answered", "demo", "en") == 2
    assert questions("resolved", "demo", "en") == 2
    assert questions("open", "help-only", "unknown") == 1
    # The window's answers: one an hour after asking, one three hours after, one an hour.
    assert value(samples, "lessonbot_question_first_reply_seconds_count") == 3
    assert value(samples, "lessonbot_question_first_reply_seconds_sum") == pytest.approx(5 * 3600)
    quantile = "lessonbot_question_first_reply_quantile_seconds"
    assert value(samples, quantile, quantile="0.5") == pytest.approx(3600)
    assert 3600 < value(samples, quantile, quantile="0.9") <= 3 * 3600


async def test_digest_runs_and_deliveries_by_status_never_showing_addresses(
    make_client: ClientMaker, session_factory: Sessions
) -> None:
    async with session_factory() as session, session.begin():
        session.add_all(
            [
                DigestRun(
                    period_key="2026-W01",
                    status=DigestRunStatus.DONE,
                    deliveries=[
                        DigestDelivery(
                            channel=DeliveryChannel.DISCORD,
                            target="42",
                            status=DeliveryStatus.SENT,
                        ),
                        DigestDelivery(
                            channel=DeliveryChannel.EMAIL,
                            target=MAINTAINER,
                            status=DeliveryStatus.FAILED,
                        ),
                    ],
                ),
                DigestRun(period_key="2026-W02", status=DigestRunStatus.RUNNING),
            ]
        )
    client = await make_client(Settings(), session_factory=session_factory, router=WebhookRouter())

    text, samples = await scrape(client)

    assert value(samples, "lessonbot_digest_runs", status="done") == 1
    assert value(samples, "lessonbot_digest_runs", status="running") == 1
    assert value(samples, "lessonbot_digest_runs", status="failed") == 0
    deliveries = "lessonbot_digest_deliveries"
    assert value(samples, deliveries, status="sent", channel="discord") == 1
    assert value(samples, deliveries, status="failed", channel="email") == 1
    assert value(samples, deliveries, status="pending", channel="email") == 0
    assert MAINTAINER not in text


async def test_each_adapters_requests_and_waits_are_counters(
    make_client: ClientMaker, session_factory: Sessions
) -> None:
    github, discord = RequestTally(), RequestTally()
    client = await make_client(
        Settings(),
        session_factory=session_factory,
        router=WebhookRouter(),
        request_meters={"github": github, "discord": discord},
    )
    _, before = await scrape(client)
    assert value(before, "lessonbot_github_requests_total", outcome="ok") == 0
    assert value(before, "lessonbot_discord_waits_total", reason="rate_limit", budget="") == 0

    github.request("ok")
    github.request("ok")
    github.request("rate_limited")
    github.waited("rate_limit", 1.5)
    github.waited("pacing", 0.25)
    github.waited("pacing", 0.5, budget="github.content_writes")
    discord.request("network_error")
    _, after = await scrape(client)

    assert value(after, "lessonbot_github_requests_total", outcome="ok") == 2
    assert value(after, "lessonbot_github_requests_total", outcome="rate_limited") == 1
    assert value(after, "lessonbot_github_waits_total", reason="rate_limit", budget="") == 1
    seconds = "lessonbot_github_wait_seconds_total"
    assert value(after, seconds, reason="rate_limit", budget="") == 1.5
    assert value(after, seconds, reason="pacing", budget="") == 0.25
    # A wait a shared budget asked for is counted under its budget.
    assert value(after, seconds, reason="pacing", budget="github.content_writes") == 0.5
    assert value(after, "lessonbot_discord_requests_total", outcome="network_error") == 1
    assert value(after, "lessonbot_discord_requests_total", outcome="ok") == 0


async def test_a_database_that_is_gone_leaves_the_process_counters(
    make_client: ClientMaker, dead_sessions: Sessions, caplog: pytest.LogCaptureFixture
) -> None:
    github = RequestTally()
    github.request("ok")
    client = await make_client(
        Settings(),
        session_factory=dead_sessions,
        router=WebhookRouter(),
        request_meters={"github": github},
    )

    _, samples = await scrape(client)

    assert value(samples, "lessonbot_database_up") == 0
    assert value(samples, "lessonbot_github_requests_total", outcome="ok") == 1
    assert not any(name == "lessonbot_suggestions" for name, _ in samples)
    assert "metrics: database counts unavailable: OperationalError" in caplog.text


async def test_every_app_has_its_own_registry(
    make_client: ClientMaker, session_factory: Sessions
) -> None:
    # A global registry would refuse the second app's collectors, or mix their counts.
    first, second = RequestTally(), RequestTally()
    first.request("ok")
    one = await make_client(
        Settings(),
        session_factory=session_factory,
        router=WebhookRouter(),
        request_meters={"github": first},
    )
    two = await make_client(
        Settings(),
        session_factory=session_factory,
        router=WebhookRouter(),
        request_meters={"github": second},
    )

    _, from_one = await scrape(one)
    _, from_two = await scrape(two)

    assert value(from_one, "lessonbot_github_requests_total", outcome="ok") == 1
    assert value(from_two, "lessonbot_github_requests_total", outcome="ok") == 0


async def test_the_write_paths_depth_by_kind_and_priority_and_how_long_work_waits(
    make_client: ClientMaker, session_factory: Sessions
) -> None:
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    early = Outbox(session_factory, clock=lambda: an_hour_ago)
    await early.enqueue_many(
        "linking_issue", [(f"lesson-issue:p/{n}", {}) for n in range(4)], priority=3
    )
    outbox = Outbox(session_factory)
    await outbox.enqueue("suggestion", "suggestion:1:open", {"op": "open"})
    async with session_factory() as session, session.begin():
        session.add(Lesson(program="p", slug="0"))
    client = await make_client(Settings(), session_factory=session_factory, router=WebhookRouter())

    _, samples = await scrape(client)

    assert value(samples, "lessonbot_jobs_pending", kind="linking_issue", priority="bulk") == 4
    assert value(samples, "lessonbot_jobs_pending", kind="linking_issue", priority="urgent") == 0
    assert value(samples, "lessonbot_jobs_pending", kind="suggestion", priority="urgent") == 1
    # Due for an hour before the scrape, whenever it ran; nothing touched is waiting.
    assert value(samples, "lessonbot_jobs_oldest_due_seconds", priority="bulk") >= 3600
    assert value(samples, "lessonbot_jobs_oldest_due_seconds", priority="touched") == 0
    assert value(samples, "lessonbot_jobs_oldest_due_seconds", priority="urgent") < 3600
    assert value(samples, "lessonbot_linking_lessons", has="any") == 1
    assert value(samples, "lessonbot_linking_lessons", has="post") == 0
    assert value(samples, "lessonbot_linking_lessons", has="issue") == 0
