"""`lessonbot jobs list` and `lessonbot prune`: the write path and old records, for people."""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cli import main
from bot.domain.priorities import JobPriority
from bot.services.outbox import Outbox
from bot.services.ports import RateLimitedError
from bot.store.engine import make_engine, make_session_factory
from bot.store.migrate import upgrade
from bot.store.models import JobStatus, OutboxJob, WebhookDeliveryRecord

Capture = pytest.CaptureFixture[str]
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    """Run each command in an empty folder, on a fresh migrated database."""
    for name in list(os.environ):
        if name.startswith("LESSONBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LESSONBOT_DATABASE_URL", database_url)
    upgrade(database_url)


def in_database(url: str, use: Callable[[Sessions], Awaitable[Any]]) -> Any:
    """Run one call on the test database, as the CLI sees it."""

    async def run() -> Any:
        engine = make_engine(url)
        try:
            return await use(make_session_factory(engine))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_a_job_waiting_for_a_rate_limit_is_listed_as_waiting_with_its_time(
    database_url: str, capsys: Capture
) -> None:
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=41)

    async def rate_limited(sessions: Sessions) -> None:
        outbox = Outbox(sessions)
        job_id = await outbox.enqueue("suggestion", "suggestion:7:open", {"op": "open"})
        await outbox.enqueue("suggestion", "suggestion:8:open", {"op": "open"})
        claim = await outbox.claim(job_id)
        assert claim is not None
        error = RateLimitedError("rate limited", retry_at=until.timestamp(), service="GitHub")
        await outbox.fail(claim, "GitHubRateLimitedError: rate limited", cause=error)

    in_database(database_url, rate_limited)

    assert main(["jobs", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    waiting = next(line for line in lines if "suggestion:7:open" in line)
    due = next(line for line in lines if "suggestion:8:open" in line)
    shown = (
        f"{until:%H:%M}" if until.date() == datetime.now(UTC).date() else f"{until:%Y-%m-%d %H:%M}"
    )
    # The second too, when the wait does not end on the minute (budgets wait seconds).
    shown += f":{until:%S}" if until.second else ""
    assert " waiting " in waiting and "0/8" in waiting
    assert waiting.endswith(f"waiting for GitHub's rate limit until {shown} UTC")
    assert " pending " in due and "waiting for" not in due  # merely due: not waiting

    assert main(["jobs", "list", "--json"]) == 0
    records = {record["key"]: record for record in json.loads(capsys.readouterr().out)}
    record = records["suggestion:7:open"]
    assert (record["status"], record["attempts"]) == ("waiting", 0)
    assert record["wait_reason"] == "GitHub's rate limit"
    assert datetime.fromisoformat(record["run_after"]) == until
    assert records["suggestion:8:open"]["wait_reason"] is None


def test_prune_dry_run_removes_nothing_then_prune_removes_what_it_listed(
    database_url: str, capsys: Capture
) -> None:
    old = datetime.now(UTC) - timedelta(days=20)

    async def seed(sessions: Sessions) -> None:
        async with sessions() as session, session.begin():
            for index in range(3):
                session.add(
                    OutboxJob(
                        kind="linking",
                        dedupe_key=f"lesson:old-{index}",
                        payload={},
                        status=JobStatus.DONE,
                        run_after=old,
                        created_at=old,
                        updated_at=old,
                    )
                )
            session.add(
                WebhookDeliveryRecord(
                    delivery_id="gone", event="push", received_at=old - timedelta(days=20)
                )
            )
        await Outbox(sessions).enqueue("linking", "lesson:pending", {})

    async def counts(sessions: Sessions) -> tuple[int, int]:
        async with sessions() as session:
            jobs = await session.scalar(select(func.count()).select_from(OutboxJob))
            deliveries = await session.scalar(
                select(func.count()).select_from(WebhookDeliveryRecord)
            )
        return int(jobs or 0), int(deliveries or 0)

    in_database(database_url, seed)

    assert main(["prune", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Dry run, nothing removed. Old records that would be removed, 4 in all:")
    assert re.search(r"^  outbox_jobs \(done\) +3$", out, re.MULTILINE)
    assert re.search(r"^  webhook_deliveries +1$", out, re.MULTILINE)
    assert in_database(database_url, counts) == (4, 1)

    assert main(["prune", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["dry_run"] is False and record["total"] == 4
    assert record["removed"]["outbox_jobs (done)"] == 3
    assert in_database(database_url, counts) == (1, 0)  # the pending job stays

    assert main(["prune"]) == 0
    assert capsys.readouterr().out.startswith("Old records removed, 0 in all:")


def test_jobs_list_shows_how_far_linking_has_come_and_the_time_its_issues_take(
    database_url: str, capsys: Capture
) -> None:
    async def backlog(sessions: Sessions) -> None:
        outbox = Outbox(sessions)
        posts = [(f"lesson:p/{n}", {}) for n in range(3)]
        await outbox.enqueue_many("linking", posts, priority=JobPriority.BULK)
        issues = [(f"lesson-issue:p/{n}", {}) for n in range(3, 1003)]
        await outbox.enqueue_many("linking_issue", issues, priority=JobPriority.BULK)

    in_database(database_url, backlog)

    assert main(["jobs", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    # 1,000 issues at GitHub's 500 an hour: two hours.
    assert out[0] == (
        "Linking: 0 of 1,003 lessons have a forum post, 0 an issue; "
        "issues at GitHub's pace, about 2 h 0 min left."
    )
    # The progress line, 50 jobs, and how many more there are.
    assert len(out) == 1 + 50 + 1
    assert out[-1].startswith("… and 953 more.")
    assert main(["jobs", "list", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert {record["priority"] for record in records} == {"bulk"}


def test_a_long_list_shows_failed_jobs_first_and_says_how_many_more(
    database_url: str, capsys: Capture
) -> None:
    async def backlog(sessions: Sessions) -> None:
        outbox = Outbox(sessions)
        for n in range(60):
            await outbox.enqueue("linking", f"lesson:p/{n}", {}, priority=JobPriority.BULK)
        failing = await outbox.enqueue("suggestion", "suggestion:9:open", {"op": "open"})
        claim = await outbox.claim(failing)
        assert claim is not None
        await outbox.fail(claim, "GitHubError: 422", retry=False)

    in_database(database_url, backlog)

    assert main(["jobs", "list", "--limit", "5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    listed = [line for line in lines if re.match(r"\s*\d+  ", line)]
    assert len(listed) == 5
    assert any("suggestion:9:open" in line and " failed " in line for line in listed)
    assert lines[-1] == "… and 56 more. `lessonbot jobs list --limit 0` lists every one."

    assert main(["jobs", "list"]) == 0  # 50 by default
    assert "… and 11 more." in capsys.readouterr().out
    assert main(["jobs", "list", "--limit", "0", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 61
    assert main(["jobs", "list", "--json"]) == 0  # a machine gets every job unless it asks
    assert len(json.loads(capsys.readouterr().out)) == 61
