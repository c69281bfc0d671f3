"""Benchmark: `POST /api/suggestions` at 64 concurrent clients, and 202 to open PR.

Serves the real web app (`create_web_app` with the suggestion service) on a TCP port and
posts distinct suggestions (one per line of generated lessons, so none joins another) with
aiohttp from 64 concurrent clients, on SQLite and, when its server answers, on PostgreSQL
(a fresh database, dropped after). Reports throughput, latency percentiles, errors and
whether every 202 was stored; then, with the GitHub sandbox and a running JobWorker, the
time from each 202 to its open pull request and the GitHub requests per PR. The figures
stand next to the issue's aims. Prints one JSON line; never asserts a time.

    .venv/bin/python tests/bench/bench_suggestions.py
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT))  # run as a script: import the project

import aiohttp  # noqa: E402
import psycopg  # noqa: E402
from aiohttp import web  # noqa: E402
from psycopg import sql  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker  # noqa: E402

from bot.config import (  # noqa: E402
    GitHubSettings,
    Secret,
    Settings,
    SuggestionSettings,
    WebSettings,
)
from bot.domain.catalogue import load_catalogue  # noqa: E402
from bot.github.adapter import GitHubAdapter  # noqa: E402
from bot.services.outbox import Outbox  # noqa: E402
from bot.services.signing import Signer  # noqa: E402
from bot.services.suggestions import SuggestionService  # noqa: E402
from bot.services.worker import JobWorker  # noqa: E402
from bot.store.engine import make_engine, make_session_factory  # noqa: E402
from bot.store.migrate import upgrade  # noqa: E402
from bot.store.models import JobStatus, Suggestion, SuggestionEvent  # noqa: E402
from bot.web.app import create_web_app  # noqa: E402
from bot.web.router import WebhookRouter  # noqa: E402
from sandboxes.github import GitHubSandbox  # noqa: E402

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
CLIENTS = 64
POSTS = 1920  # 30 per client
PR_POSTS = 120  # of those, how many go on to a PR (under the sandbox's hourly allowance)
LESSONS = 12
LINES = (POSTS + PR_POSTS) // LESSONS + 1
PROGRAM = "bench"
AIM = {"posts_per_second": 300, "p99_ms": 100, "github_requests_per_pr": 6}
Sessions = async_sessionmaker[AsyncSession]


def line(lesson: int, index: int) -> str:
    """Return one sentence of a generated lesson, unlike every other one."""
    return f"Lesson {lesson:02d} sentence {index:04d} says the tide turns at noon."


def write_content(root: Path) -> Path:
    """Write LESSONS lessons of LINES distinct sentences each; return the content folder."""
    program = root / "programs" / PROGRAM
    (program / "lessons" / "en").mkdir(parents=True)
    (program / "program.json").write_text(json.dumps({"slug": PROGRAM, "title": "Bench"}))
    for lesson in range(LESSONS):
        sentences = "\n\n".join(line(lesson, index) for index in range(LINES))
        (program / "lessons" / "en" / f"tides-{lesson:02d}.mdx").write_text(
            f'---\ntitle: "Tides {lesson:02d}"\npublished: true\n---\n\n{sentences}\n',
            encoding="utf-8",
        )
    return root


def body(number: int) -> dict[str, Any]:
    """Return the API body of suggestion `number` (each one a different sentence)."""
    lesson, index = number % LESSONS, number // LESSONS
    return {
        "lesson": f"{PROGRAM}/tides-{lesson:02d}",
        "locale": "en",
        "find": line(lesson, index),
        "replace": line(lesson, index).replace("at noon", "around noon"),
        "reason": "More precise",
        "author": {"name": f"Bencher {number}", "email": f"b{number}@example.org"},
    }


def percentile(values: list[float], share: float) -> float:
    """Return the `share` percentile (nearest rank) of `values`."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


@contextlib.asynccontextmanager
async def database(backend: str, scratch: Path) -> AsyncIterator[str]:
    """Yield the URL of a fresh, migrated database (a new PostgreSQL database, dropped after)."""
    if backend == "sqlite":
        url = f"sqlite:///{scratch}/bench-{secrets.token_hex(4)}.db"
        await asyncio.to_thread(upgrade, url)
        yield url
        return
    name = f"bench_suggestions_{secrets.token_hex(6)}"
    admin = make_url(POSTGRES)
    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = admin.set(database=name).render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(upgrade, url)
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


async def serve(
    sessions: Sessions, content: Path, github: GitHubAdapter | None, wake: Any = None
) -> tuple[web.AppRunner, str, SuggestionService]:
    """Serve the web app with the suggestion service; return its runner, URL and service."""
    settings = Settings(
        web=WebSettings(per_ip_per_hour=0),
        suggestions=SuggestionSettings(per_person_per_hour=0, moderation="none"),
    )
    catalogue = load_catalogue(content, "en")
    signer = Signer(b"b" * 32)
    service = SuggestionService(
        sessions,
        Outbox(sessions),
        settings,
        catalogue=lambda: catalogue,
        signer=signer,
        github=github,
        wake=wake,
    )
    app = create_web_app(
        settings,
        session_factory=sessions,
        webhook_router=WebhookRouter(),
        suggestions=service,
        lessons=lambda: catalogue,
        signer=signer,
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}", service


async def post_all(url: str, numbers: list[int]) -> dict[str, Any]:
    """POST the suggestions from CLIENTS concurrent clients; return what came back."""
    queue = list(reversed(numbers))
    latencies: list[float] = []
    accepted: dict[int, float] = {}  # suggestion id -> wall time of its 202
    statuses: dict[str, int] = {}
    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(connector=connector) as client:

        async def one_client() -> None:
            while queue:
                number = queue.pop()
                started = time.perf_counter()
                try:
                    async with client.post(f"{url}/api/suggestions", json=body(number)) as answer:
                        data = await answer.json()
                        status = str(answer.status)
                except (aiohttp.ClientError, ValueError) as error:
                    status, data = type(error).__name__, {}
                latencies.append(time.perf_counter() - started)
                statuses[status] = statuses.get(status, 0) + 1
                if status == "202":
                    accepted[int(data["id"])] = time.time()

        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(CLIENTS)))
        seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "latencies": latencies,
        "accepted": accepted,
        "statuses": statuses,
    }


async def stored(sessions: Sessions) -> int:
    """Return how many suggestions the database holds."""
    async with sessions() as session:
        return int((await session.execute(select(func.count(Suggestion.id)))).scalar_one())


async def throughput(url_: str, content: Path) -> dict[str, Any]:
    """Measure POST /api/suggestions alone (no GitHub: jobs wait in the outbox)."""
    engine = make_engine(url_)
    try:
        sessions = make_session_factory(engine)
        runner, url, _ = await serve(sessions, content, None)
        try:
            run = await post_all(url, list(range(POSTS)))
        finally:
            await runner.cleanup()
        rows = await stored(sessions)
    finally:
        await engine.dispose()
    latencies = run["latencies"]
    return {
        "posts": POSTS,
        "clients": CLIENTS,
        "posts_per_second": round(POSTS / run["seconds"], 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "errors": POSTS - run["statuses"].get("202", 0),
        "statuses": run["statuses"],
        "every_202_stored": rows == len(run["accepted"]),
        "stored": rows,
    }


async def to_pull_requests(url_: str, content: Path) -> dict[str, Any]:
    """Measure 202 -> open PR with the GitHub sandbox and a running JobWorker."""
    engine = make_engine(url_)
    sandbox = GitHubSandbox(content, "lessons/content").start_in_thread()
    github = GitHubAdapter.from_settings(
        GitHubSettings(
            base_url=sandbox.base_url,
            repository=sandbox.repository,
            token=Secret("lessonbot"),
            seconds_between_requests=0,
            seconds_between_writes=0,
            writes_per_minute=100_000,
            writes_per_hour=1_000_000,
        )
    )
    try:
        sessions = make_session_factory(engine)
        outbox = Outbox(sessions)
        wake: list[JobWorker] = []
        runner, url, service = await serve(
            sessions, content, github, wake=lambda: wake[0].wake() if wake else None
        )
        worker = JobWorker(
            outbox,
            {service.JOB_KIND: service.run_job, service.NOTIFY_KIND: service.run_job},
            poll_seconds=0.05,
        )
        wake.append(worker)
        running = asyncio.create_task(worker.run())
        try:
            run = await post_all(url, list(range(POSTS, POSTS + PR_POSTS)))
            accepted: dict[int, float] = run["accepted"]
            opened = await wait_for_prs(sessions, set(accepted), deadline=60.0)
            # Let the worker finish what follows (notices, posts) before it is stopped.
            for _ in range(200):
                if not await outbox.jobs([JobStatus.PENDING, JobStatus.RUNNING]):
                    break
                await asyncio.sleep(0.05)
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
            await runner.cleanup()
    finally:
        github.close()
        sandbox.stop()
        await engine.dispose()
    waits = [opened[sid] - accepted[sid] for sid in opened]
    span = max(opened.values(), default=0.0) - min(accepted.values(), default=0.0)
    return {
        "suggestions": PR_POSTS,
        "prs_opened": len(opened),
        "p50_ms": round(percentile(waits, 0.50) * 1000, 1),
        "p99_ms": round(percentile(waits, 0.99) * 1000, 1),
        # One worker opens PRs one at a time: a burst waits its turn, hence the p99.
        "prs_per_second": round(len(opened) / span, 1) if span > 0 else 0.0,
        "github_requests_per_pr": round(github.total_requests / max(len(opened), 1), 2),
    }


async def wait_for_prs(sessions: Sessions, ids: set[int], *, deadline: float) -> dict[int, float]:
    """Wait until each suggestion has its pr_opened event; return id -> its wall time."""
    ends = time.monotonic() + deadline
    opened: dict[int, float] = {}
    while time.monotonic() < ends:
        async with sessions() as session:
            rows = (
                await session.execute(
                    select(SuggestionEvent.suggestion_id, SuggestionEvent.created_at).where(
                        SuggestionEvent.kind == "pr_opened"
                    )
                )
            ).all()
        opened = {sid: _wall(at) for sid, at in rows if sid in ids}
        if len(opened) == len(ids):
            break
        await asyncio.sleep(0.1)
    return opened


def _wall(at: datetime) -> float:
    # SQLite gives the stored UTC time back without its zone.
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


async def main() -> None:
    """Run every figure on each backend and print one JSON line."""
    logging.basicConfig(level=logging.ERROR)
    backends = ["sqlite", *(["postgresql"] if postgres_answers() else [])]
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        content = write_content(scratch / "content")
        for backend in backends:
            async with database(backend, scratch) as url:
                figures[backend] = {"post": await throughput(url, content)}
            async with database(backend, scratch) as url:
                figures[backend]["to_pr"] = await to_pull_requests(url, content)
    print(json.dumps({"backends": figures, "aim": AIM}))


if __name__ == "__main__":
    asyncio.run(main())
