"""`lessonbot digest`: show the digest, dry or for real; --now queues it for the bot."""

from __future__ import annotations

import asyncio
import json
import os
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
