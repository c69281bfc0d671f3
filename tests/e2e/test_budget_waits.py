"""A worker defers a job for a shared budget, and `lessonbot jobs list` says which and until
when.

Two workers (two engines on one database, as two processes) share GitHub's content-write
budget, set to 2 a minute, against the GitHub sandbox: each job moves a branch where it
already is (one content-creating request). The third job would wait most of a minute, far
longer than a job waits in place, so it is deferred, its attempts untouched, and listed
with the budget in readable English.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import GitHubSettings, Secret
from bot.github.adapter import GitHubAdapter
from bot.services.budgets import Budgets
from bot.services.outbox import Claim, Outbox
from bot.services.worker import JobWorker
from bot.store.engine import make_engine, make_session_factory
from bot.store.migrate import upgrade
from sandboxes.github import GitHubSandbox
from tests.conftest import FIXTURES

KIND = "probe"
REASON = "GitHub's content-write budget (2 a minute, 500 an hour)"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    """Run the command in an empty folder, on a fresh migrated database."""
    for name in list(os.environ):
        if name.startswith("LESSONBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LESSONBOT_DATABASE_URL", database_url)
    upgrade(database_url)


async def run_two_workers(sandbox: GitHubSandbox, url: str) -> list[str]:
    """Queue three one-write jobs and let two workers, one engine each, run them."""
    settings = GitHubSettings(
        base_url=sandbox.base_url,
        repository=sandbox.repository,
        token=Secret("lessonbot"),
        seconds_between_requests=0,
        seconds_between_writes=0,
        writes_per_minute=2,
    )
    engines = [make_engine(url), make_engine(url)]
    adapters: list[GitHubAdapter] = []
    try:
        workers = []
        for engine in engines:
            sessions = make_session_factory(engine)
            outbox = Outbox(sessions)
            github = GitHubAdapter.from_settings(
                settings, budgets=Budgets(sessions, job_wait=2.0), backoff=0.01
            )
            adapters.append(github)

            async def move(claim: Claim, outbox: Outbox = outbox, github: GitHubAdapter = github):
                async def work() -> None:
                    sha = await github.branch_sha("main")
                    assert sha is not None
                    await github.reset_branch("main", sha)
                    await outbox.complete(claim)

                return await outbox.attempt(claim, work)

            workers.append((outbox, JobWorker(outbox, {KIND: move})))
        for n in range(3):
            await workers[0][0].enqueue(KIND, f"probe:{n}", {})
        # Each worker runs one job at a time, as `lessonbot run --role worker` does.
        for _ in range(3):
            for _, worker in workers:
                await worker.run_once(limit=1)
        return [view.status for view in await workers[0][0].jobs()]
    finally:
        for github in adapters:
            github.close()
        for engine in engines:
            await engine.dispose()


def test_a_job_deferred_for_a_budget_is_listed_with_it(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with GitHubSandbox(FIXTURES / "content") as sandbox:
        statuses = asyncio.run(run_two_workers(sandbox, database_url))
        writes = [entry for entry in sandbox.requests if entry["method"] == "PATCH"]

    assert sorted(statuses) == ["done", "done", "waiting"]
    assert len(writes) == 2  # the third write was never sent
    assert main(["jobs", "list"]) == 0
    listed = capsys.readouterr().out
    line = next(line for line in listed.splitlines() if "waiting" in line)
    assert f"waiting for {REASON} until " in line
    assert " UTC" in line
    assert "budget" in line and "github.content_writes" not in line  # no internal key
