"""Benchmark: `POST /api/suggestions` against `lessonbot run --role web` processes, next to
`GET /healthz` in the same run, with the load from a separate client process.

Three kinds of process, none sharing an event loop with another: one serving the GitHub and
Discord sandboxes (over the repository's `lessons/`), the web-role bot process(es), and the
client (this script run as `client`, an aiohttp load generator). Each scenario gets a
fresh, migrated database: a SQLite file, or a new PostgreSQL database dropped after.

- `sqlite_8`, `postgresql_8`: one web process, 8 connections.
- `postgresql_64_two_web`: two web processes sharing one port (`SO_REUSEPORT`), 64
  connections.

Each suggestion is a different replacement of a passage of a real lesson, from a different
person, so none joins another and the per-person rate check runs. The client first measures
`/healthz`, then posts; the figures: rates, p50/p99, errors, whether every 202 was stored
(with its outbox job), and the POST rate as a share of the healthz rate, next to the
issue's aims and the figures measured before. Prints one JSON line; never asserts a time.

    .venv/bin/python tests/bench/bench_intake_http.py
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[2]
LESSONS = PROJECT / "lessons"
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
AIM = {"aim_ratio_to_healthz": 0.25, "aim_p99_ms": 100, "aim_two_web_pg_per_s": 300}
# Measured by the author: 8 connections from a separate client against
# `lessonbot sandbox` over lessons/ on a quiet 2-core machine.
BASELINE = {
    "posts_per_second": 62,
    "p50_ms": 127,
    "p99_ms": 204,
    "healthz_per_second": 1123,
    "ratio_to_healthz": 0.055,
}
# (name, backend, web processes, connections, healthz requests, posts)
SCENARIOS = (
    ("sqlite_8", "sqlite", 1, 8, 4000, 1500),
    ("postgresql_8", "postgresql", 1, 8, 4000, 1500),
    ("postgresql_64_two_web", "postgresql", 2, 64, 6000, 4000),
)
START_TIMEOUT = 120.0


# --- the client process -----------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    """Return the `share` percentile (nearest rank) of `values`."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


async def _load(
    client: Any, connections: int, requests: list[tuple[str, str, Any]]
) -> dict[str, Any]:
    """Send `requests` (method, url, json) from `connections` workers; return what came back."""
    queue = list(reversed(requests))
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    accepted: list[int] = []

    async def worker() -> None:
        while queue:
            method, url, body = queue.pop()
            started = time.perf_counter()
            try:
                async with client.request(method, url, json=body) as answer:
                    data = await answer.read()
                    status = str(answer.status)
            except Exception as error:  # every failure is a figure, never a crash
                status, data = type(error).__name__, b""
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
            if status == "202":
                accepted.append(int(json.loads(data)["id"]))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    seconds = time.perf_counter() - started
    return {
        "requests": len(requests),
        "per_second": round(len(requests) / seconds, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "statuses": statuses,
        "accepted": accepted,
    }


async def run_client(spec: dict[str, Any]) -> dict[str, Any]:
    """Warm up, measure /healthz, then POST every body; return the figures."""
    import aiohttp

    base, connections = spec["url"], spec["connections"]
    bodies: list[dict[str, Any]] = spec["bodies"]
    warm = spec["warm_posts"]
    health = [("GET", f"{base}/healthz", None)] * spec["healthz"]
    posts = [("POST", f"{base}/api/suggestions", body) for body in bodies]
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as client:
        # Open every connection and warm both paths (caches, pools) before timing anything.
        warm_health = await _load(client, connections, health[: connections * 4])
        warm_run = await _load(client, connections, posts[:warm])
        healthz = await _load(client, connections, health)
        post = await _load(client, connections, posts[warm:])
    return {
        "healthz": healthz,
        "post": post,
        "warm_errors": sum(
            count
            for run, ok in ((warm_health, "200"), (warm_run, "202"))
            for status, count in run["statuses"].items()
            if status != ok
        ),
        "accepted": warm_run["accepted"] + post["accepted"],
    }


# --- the sandboxes process --------------------------------------------------------------------


def run_sandboxes() -> None:
    """Serve the GitHub and Discord sandboxes over lessons/; print their URLs; wait for EOF."""
    sys.path.insert(0, str(PROJECT))
    from bot.offline import GUILD_NAME, SANDBOX_BOT_TOKEN, guild_channels
    from sandboxes.discord import DiscordSandbox
    from sandboxes.github import GitHubSandbox

    with (
        DiscordSandbox(bot_token=SANDBOX_BOT_TOKEN) as discord,
        GitHubSandbox(LESSONS, "lessons/content") as github,
    ):
        guild = discord.create_guild(GUILD_NAME, channels=guild_channels(LESSONS, "en"))
        settings = {
            "DISCORD_API_BASE_URL": discord.api_base_url,
            "DISCORD_GATEWAY_URL": discord.gateway_url,
            "DISCORD_GUILD_ID": str(guild["id"]),
            "DISCORD_TOKEN": SANDBOX_BOT_TOKEN,
            "GITHUB_BASE_URL": github.base_url,
            "GITHUB_REPOSITORY": github.repository,
            "GITHUB_TOKEN": "lessonbot",
            "GITHUB_SECONDS_BETWEEN_REQUESTS": "0",
            "GITHUB_SECONDS_BETWEEN_WRITES": "0",
        }
        print(json.dumps(settings), flush=True)
        sys.stdin.read()  # until the bench closes our stdin


# --- the bench ------------------------------------------------------------------------------


def passages() -> list[tuple[str, str, str]]:
    """Return (lesson, locale, find) for passages of lessons/ an edit can take alone."""
    sys.path.insert(0, str(PROJECT))
    from bot.domain import edits
    from bot.domain.catalogue import load_catalogue

    catalogue = load_catalogue(LESSONS, "en")
    found: list[tuple[str, str, str]] = []
    for lesson in catalogue.lessons.values():
        for locale, file in sorted(lesson.files.items()):
            text = (LESSONS / file.path).read_text(encoding="utf-8")
            for line in text.splitlines():
                line = line.strip()
                if len(line) < 30 or not line[0].isalpha():
                    continue  # headings, lists, tables, code, front matter keys
                find = line[:60].rsplit(" ", 1)[0]
                try:
                    edits.apply_edit(text, find, f"{find} (v0)", path=file.path)
                except edits.EditError:
                    continue
                found.append((lesson.identity, locale, find))
    return found


def bodies(start: int, count: int, candidates: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """Return `count` API bodies, each a different replacement by a different person."""
    result = []
    for number in range(start, start + count):
        lesson, locale, find = candidates[number % len(candidates)]
        result.append(
            {
                "lesson": lesson,
                "locale": locale,
                "find": find,
                "replace": f"{find} (v{number})",
                "reason": "Clearer",
                "author": {"name": f"Bencher {number}", "email": f"b{number}@example.org"},
            }
        )
    return result


def free_port() -> int:
    """Return a TCP port free on the loopback now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Database:
    """A fresh, migrated database: a SQLite file, or a PostgreSQL database dropped after."""

    def __init__(self, backend: str, scratch: Path) -> None:
        self.backend = backend
        self.name = f"bench_intake_{secrets.token_hex(6)}"
        if backend == "sqlite":
            self.url = f"sqlite:///{scratch}/{self.name}.db"
        else:
            from sqlalchemy.engine import make_url

            self.url = make_url(POSTGRES).set(database=self.name).render_as_string(False)

    def __enter__(self) -> Database:
        from bot.store.migrate import upgrade

        if self.backend == "postgresql":
            self._admin(f'CREATE DATABASE "{self.name}"')
        upgrade(self.url)
        return self

    def __exit__(self, *_: object) -> None:
        if self.backend == "postgresql":
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    @staticmethod
    def _admin(statement: str) -> None:
        import psycopg

        with psycopg.connect(POSTGRES, autocommit=True) as connection:
            connection.execute(statement.encode())

    def counts(self) -> tuple[int, int]:
        """Return how many suggestions, and how many jobs opening one, the database holds."""
        from sqlalchemy import text

        from bot.store.engine import make_sync_engine

        engine = make_sync_engine(self.url)
        try:
            with engine.connect() as connection:
                stored = connection.execute(text("SELECT count(*) FROM suggestions")).scalar()
                jobs = connection.execute(
                    text("SELECT count(*) FROM outbox_jobs WHERE kind = 'suggestion'")
                ).scalar()
        finally:
            engine.dispose()
        return int(stored or 0), int(jobs or 0)


def postgres_answers() -> bool:
    """Tell whether the bench's PostgreSQL server is there."""
    import psycopg

    try:
        with psycopg.connect(POSTGRES, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


class WebProcess:
    """`python -m bot run --role web` in a folder of its own, its log kept in a file."""

    def __init__(self, folder: Path, environment: dict[str, str]) -> None:
        folder.mkdir()
        self.log_path = folder / "stderr.txt"
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run", "--role", "web"],
                cwd=folder,
                env=environment,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

    def wait_listening(self) -> None:
        """Wait until the web server listens; raise when the process ends first."""
        deadline = time.monotonic() + START_TIMEOUT
        while "web server listening on" not in self.log_path.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"web process did not start:\n{self.log_path.read_text()}")
            time.sleep(0.1)

    def stop(self) -> str:
        """Stop it with SIGTERM; return its log."""
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return self.log_path.read_text()


def scenario(
    scratch: Path,
    sandbox_settings: dict[str, str],
    candidates: list[tuple[str, str, str]],
    offset: int,
    name: str,
    backend: str,
    processes: int,
    connections: int,
    healthz: int,
    posts: int,
) -> dict[str, Any]:
    """Run one scenario on a fresh database; return its figures."""
    folder = scratch / name
    folder.mkdir()
    port = free_port()
    with Database(backend, scratch) as database:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("LESSONBOT_")}
        environment["PYTHONPATH"] = os.pathsep.join(
            [str(PROJECT), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
        settings = {
            **sandbox_settings,
            "DATABASE_URL": database.url,
            "WEB_PORT": str(port),
            "WEB_PER_IP_PER_HOUR": "0",  # every request comes from 127.0.0.1
            "MAIL_SMTP_HOST": "",
        }
        environment.update({f"LESSONBOT_{key}": value for key, value in settings.items()})
        webs = [WebProcess(folder / f"web{i}", environment) for i in range(processes)]
        try:
            for web in webs:
                web.wait_listening()
            warm = connections * 4
            spec = {
                "url": f"http://127.0.0.1:{port}",
                "connections": connections,
                "healthz": healthz,
                "warm_posts": warm,
                "bodies": bodies(offset, warm + posts, candidates),
            }
            spec_path = folder / "spec.json"
            spec_path.write_text(json.dumps(spec))
            client = subprocess.run(
                [sys.executable, __file__, "client", str(spec_path)],
                capture_output=True,
                text=True,
                check=False,
            )
            if client.returncode != 0:
                raise RuntimeError(f"client failed:\n{client.stderr}")
            run = json.loads(client.stdout)
        finally:
            logs = [web.stop() for web in webs]
        stored, jobs = database.counts()
    accepted = run["accepted"]
    post, health = run["post"], run["healthz"]
    tracebacks = sum(log.count("Traceback") for log in logs)
    return {
        "web_processes": processes,
        "connections": connections,
        "healthz_per_second": health["per_second"],
        "healthz_p99_ms": health["p99_ms"],
        "posts": post["requests"],
        "posts_per_second": post["per_second"],
        "p50_ms": post["p50_ms"],
        "p99_ms": post["p99_ms"],
        "errors": post["requests"] - post["statuses"].get("202", 0) + run["warm_errors"],
        "statuses": post["statuses"],
        "every_202_stored": stored == len(set(accepted)) == len(accepted) == jobs,
        "stored": stored,
        "jobs": jobs,
        "ratio_to_healthz": round(post["per_second"] / max(health["per_second"], 0.1), 3),
        "server_tracebacks": tracebacks,
    }


def main() -> None:
    """Start the sandboxes, run each scenario, print one JSON line."""
    sys.path.insert(0, str(PROJECT))
    candidates = passages()
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as scratch_name:
        scratch = Path(scratch_name)
        sandboxes = subprocess.Popen(
            [sys.executable, __file__, "sandboxes"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert sandboxes.stdout is not None
            sandbox_settings = json.loads(sandboxes.stdout.readline())
            offset = 0
            has_postgres = postgres_answers()
            for name, backend, *shape in SCENARIOS:
                if backend == "postgresql" and not has_postgres:
                    figures[name] = "skipped: no PostgreSQL at " + POSTGRES
                    continue
                figures[name] = scenario(
                    scratch, sandbox_settings, candidates, offset, name, backend, *shape
                )
                offset += 10_000
        finally:
            assert sandboxes.stdin is not None
            sandboxes.stdin.close()
            sandboxes.wait(timeout=60)
    print(
        json.dumps(
            {
                "bench": "intake_http",
                "passages": len(candidates),
                "scenarios": figures,
                **AIM,
                "baseline": BASELINE,
            }
        )
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["client"]:
        figures = asyncio.run(run_client(json.loads(Path(sys.argv[2]).read_text())))
        print(json.dumps(figures))
    elif sys.argv[1:2] == ["sandboxes"]:
        run_sandboxes()
    else:
        main()
