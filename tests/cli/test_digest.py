"""`lessonbot digest`: show the digest, dry or for real; --now queues it for the bot."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli import main
from bot.store.engine import make_engine, make_session_factory
from bot.store.migrate import upgrade
from bot.store.models import DigestRun, OutboxJob
from tests.services.test_digests import seed

Capture = pytest.CaptureFixture[str]


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    """Run each command in an empty folder, on a database holding three open questions."""
    for name in list(os.environ):
        if name.startswith("LESSONBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LESSONBOT_DATABASE_URL", database_url)
    monkeypatch.setenv("LESSONBOT_DISCORD_DIGEST_CHANNEL_ID", "555")
    monkeypatch.setenv("LESSONBOT_MAIL_MAINTAINERS", "ana@example.org")
    upgrade(database_url)

    async def fill() -> None:
        engine = make_engine(database_url)
        try:
            await seed(make_session_factory(engine))
        finally:
            await engine.dispose()

    asyncio.run(fill())


def counts(database_url: str) -> tuple[int, int]:
    async def count() -> tuple[int, int]:
        engine = make_engine(database_url)
        try:
            async with make_session_factory(engine)() as session:
                runs = await session.scalar(select(func.count()).select_from(DigestRun))
                jobs = await session.scalar(
                    select(func.count()).select_from(OutboxJob).where(OutboxJob.kind == "digest")
                )
                return runs or 0, jobs or 0
        finally:
            await engine.dispose()

    return asyncio.run(count())


def test_digest_prints_markdown_and_sends_nothing(capsys: Capture, database_url: str) -> None:
    assert main(["digest"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("# Open questions digest")
    assert "How do I stop a loop?" in out and "3 open questions" in out
    assert "nothing was sent" in err
    assert counts(database_url) == (0, 0)


@pytest.mark.parametrize(("fmt", "start"), [("html", "<!DOCTYPE html>"), ("text", "Open q")])
def test_digest_prints_html_or_text(capsys: Capture, fmt: str, start: str) -> None:
    assert main(["digest", "--format", fmt]) == 0
    assert capsys.readouterr().out.startswith(start)


def test_dry_run_json_names_the_deliveries(capsys: Capture, database_url: str) -> None:
    assert main(["digest", "--now", "--dry-run", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["dry_run"] is True and record["open_questions"] == 3
    assert record["deliveries"] == ["discord:555", "email:ana@example.org"]
    assert record["digest"].startswith("# ")
    assert counts(database_url) == (0, 0)


def test_now_queues_one_job_per_destination(capsys: Capture, database_url: str) -> None:
    assert main(["digest", "--now", "--json"]) == 0
    out, err = capsys.readouterr()
    record = json.loads(out)
    assert record["created"] is True and record["period"].startswith("now:")
    assert "2 deliveries queued" in err
    assert counts(database_url) == (1, 2)


def test_a_second_now_moments_later_sends_nothing_and_says_when(
    capsys: Capture, database_url: str
) -> None:
    assert main(["digest", "--now"]) == 0
    capsys.readouterr()
    time.sleep(1.2)  # as in the report: a second run in another second, not the same one
    assert main(["digest", "--now"]) == 0
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("Not sent: a digest went out moments ago, at 20"), line
    assert "digest.min_interval_seconds" in line and "--force" in line
    assert counts(database_url) == (1, 2)

    assert main(["digest", "--now", "--force", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["created"] is True and "2 deliveries queued" in err
    assert counts(database_url) == (2, 4)


def test_a_skipped_now_names_the_last_digest_in_json(capsys: Capture, database_url: str) -> None:
    assert main(["digest", "--now", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(["digest", "--now", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["created"] is False and record["period"] == first["period"]
    assert record["previous_at"].startswith("20")
    assert counts(database_url) == (1, 2)


def test_two_now_processes_started_at_once_send_one_digest(
    tmp_path: Path, database_url: str
) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LESSONBOT_")}
    environment.update(
        LESSONBOT_DATABASE_URL=database_url,
        LESSONBOT_DISCORD_DIGEST_CHANNEL_ID="555",
        LESSONBOT_MAIL_MAINTAINERS="ana@example.org",
    )
    command = [sys.executable, "-m", "bot", "digest", "--now", "--json"]
    processes = [
        subprocess.Popen(
            command,
            cwd=tmp_path,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outcomes = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outcomes
    created = sorted(json.loads(out)["created"] for out, _ in outcomes)
    assert created == [False, True], outcomes
    [skipped] = [err for out, err in outcomes if not json.loads(out)["created"]]
    assert skipped.strip().splitlines()[-1].startswith("Not sent: a digest went out moments ago")
    assert counts(database_url) == (1, 2)
