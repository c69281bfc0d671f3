"""`lessonbot run --role ...` as separate processes on one database, against the sandboxes.

A web process serves HTTP and never opens a Discord gateway session; a worker serves no
port and does the jobs (a suggestion's pull request, a digest posted by Discord's REST API
alone); a gateway process connects; two scheduler processes record each period once.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.offline import GUILD_NAME, SANDBOX_BOT_TOKEN, guild_channels
from bot.services.retention import RetentionService
from bot.store.engine import make_sync_engine
from bot.store.models import JobStatus, OutboxJob
from sandboxes.discord import DiscordSandbox
from sandboxes.github import GitHubSandbox
from tests.conftest import FIXTURES
from tests.e2e.support import sandbox_settings_env
from tests.ports import free_port

CONTENT = FIXTURES / "content"
LESSONBOT = Path(sys.executable).with_name("lessonbot")
# Generous bounds on waiting; what is asserted is the outcome, never the time it took.
TIMEOUT = 120.0


class Process:
    """A `lessonbot` process in a folder of its own, its stderr (the log) kept in a file."""

    def __init__(self, folder: Path, argv: list[str], environment: dict[str, str]) -> None:
        folder.mkdir()
        self.log_path = folder / "stderr.txt"
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [str(LESSONBOT), *argv],
                cwd=folder,
                env=environment,
                stdout=subprocess.DEVNULL,
                stderr=log,
                text=True,
            )

    def log(self) -> str:
        """Return what the process logged so far."""
        return self.log_path.read_text()

    def wait_for_log(self, pattern: str) -> None:
        """Wait until the log has a line matching `pattern`; fail if the process ends."""
        until(lambda: re.search(pattern, self.log()) is not None, pattern, self)

    def stop(self) -> None:
        """Stop it with SIGTERM; assert it ended cleanly."""
        self.process.send_signal(signal.SIGTERM)
        try:
            status = self.process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running after SIGTERM:\n{self.log()}")
        assert status == 0 and "Traceback" not in self.log(), self.log()


def until(condition: Callable[[], bool], what: str, *watched: Process) -> None:
    """Wait until `condition` holds; fail at once when a watched process ends."""
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        for process in watched:
            if process.process.poll() is not None:
                pytest.fail(f"exited {process.process.returncode} before {what}:\n{process.log()}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def listening_ports(pid: int) -> set[int]:
    """Return the TCP ports a process listens on (Linux: its sockets in /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd) if fd.is_symlink() else ""
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    ports = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def get_json(url: str, **headers: str) -> Any:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - local sandboxes
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
        return json.loads(answer.read())


class World:
    """Both sandboxes and the settings every process gets; starts processes in it."""

    def __init__(self, tmp_path: Path, discord: DiscordSandbox, github: GitHubSandbox) -> None:
        self.tmp_path, self.discord, self.github = tmp_path, discord, github
        self.guild = discord.create_guild(GUILD_NAME, channels=guild_channels(CONTENT, "en"))
        self.processes: list[Process] = []
        self.environment: dict[str, str] = {}

    def start(self, name: str, *argv: str, **settings: str) -> Process:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("LESSONBOT_")}
        environment.update(self.environment)
        environment.update({f"LESSONBOT_{k}": v for k, v in settings.items()})
        process = Process(self.tmp_path / name, list(argv), environment)
        self.processes.append(process)
        return process

    def pulls(self) -> list[dict[str, Any]]:
        """Return the content repository's pull requests, as GitHub's REST API lists them."""
        url = f"{self.github.base_url}/repos/{self.github.repository}/pulls?state=all"
        return get_json(url, Authorization="token maintainer")


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[World]:
    """Yield both sandboxes and a migrated database; kill what a failed test left running."""
    with (
        DiscordSandbox(bot_token=SANDBOX_BOT_TOKEN) as discord,
        GitHubSandbox(CONTENT, "lessons/content") as github,
    ):
        world = World(tmp_path, discord, github)
        settings = {
            **sandbox_settings_env(discord, github, world.guild, database_url),
            "CONTENT_DIR": str(CONTENT),
            "DISCORD_DIGEST_CHANNEL_ID": str(world.guild["channels"]["digests"]),
            "MAIL_SMTP_HOST": "",
            "JOBS_POLL_SECONDS": "0.2",
        }
        world.environment = {f"LESSONBOT_{k}": v for k, v in settings.items()}
        # Migrated once before the processes start, as operations.md says to deploy.
        upgrade = world.start("upgrade", "db", "upgrade")
        assert upgrade.process.wait(timeout=TIMEOUT) == 0, upgrade.log()
        try:
            yield world
        finally:
            for process in world.processes:
                if process.process.poll() is None:
                    process.process.kill()
                    process.process.wait()


def test_a_web_process_takes_suggestions_and_a_worker_process_does_the_work(
    world: World,
) -> None:
    port = free_port()
    web = world.start("web", "run", "--role", "web", WEB_PORT=str(port))
    web.wait_for_log(rf"web server listening on http://127\.0\.0\.1:{port}")
    base = f"http://127.0.0.1:{port}"
    assert get_json(f"{base}/healthz")["status"] == "ok"
    body = {
        "lesson": "demo/pipes",
        "locale": "en",
        "find": "Fixtures are small on purpose.",
        "replace": "Fixtures are kept small on purpose.",
        "reason": "Clearer",
    }
    request = urllib.request.Request(  # noqa: S310 - the local bot
        f"{base}/api/suggestions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
        assert answer.status == 202
        suggestion = json.loads(answer.read())
    assert listening_ports(web.process.pid) == {port}

    worker = world.start("worker", "run", "--role", "worker", WEB_PORT=str(free_port()))
    status = f"{base}/api/suggestions/{suggestion['id']}"
    until(lambda: get_json(status)["status"] == "open", "the pull request", web, worker)
    [pull] = world.pulls()
    assert pull["number"] == get_json(status)["pr_number"]
    # The worker serves nothing; neither process opened a gateway session.
    assert listening_ports(worker.process.pid) == set()
    assert world.discord.sessions == []

    # A digest recorded now is posted by the worker, through Discord's REST API alone.
    digest = world.start("digest", "digest", "--now")
    assert digest.process.wait(timeout=TIMEOUT) == 0, digest.log()
    channel = int(world.guild["channels"]["digests"])
    until(lambda: world.discord.channel_messages(channel) != [], "the digest", worker)
    assert world.discord.sessions == [] and world.discord.commands(world.guild["id"]) == []
    web.stop()
    worker.stop()


def test_two_web_processes_share_one_port(world: World) -> None:
    port = free_port()
    webs = [
        world.start(name, "run", "--role", "web", WEB_PORT=str(port)) for name in ("web-1", "web-2")
    ]
    for web in webs:
        web.wait_for_log(rf"web server listening on http://127\.0\.0\.1:{port}")
    assert [listening_ports(web.process.pid) for web in webs] == [{port}, {port}]
    base = f"http://127.0.0.1:{port}"
    assert get_json(f"{base}/healthz")["status"] == "ok"

    # One of them stopping leaves the port served by the other.
    webs[0].stop()
    assert get_json(f"{base}/healthz")["status"] == "ok"
    webs[1].stop()


def test_a_gateway_process_connects_and_serves_no_port(world: World) -> None:
    gateway = world.start("gateway", "run", "--role", "gateway", WEB_PORT=str(free_port()))
    until(
        lambda: any(session["connected"] for session in world.discord.sessions),
        "a gateway session",
        gateway,
    )
    # It registers the slash commands it answers.
    until(lambda: world.discord.commands(world.guild["id"]) != [], "the commands", gateway)
    assert listening_ports(gateway.process.pid) == set()
    gateway.stop()
    [session] = world.discord.sessions
    assert session["ended"]


def test_two_scheduler_processes_record_each_period_once(world: World) -> None:
    schedulers = [
        world.start(name, "run", "--role", "scheduler", WEB_PORT=str(free_port()))
        for name in ("scheduler-1", "scheduler-2")
    ]
    for scheduler in schedulers:
        scheduler.wait_for_log("schedules caught up")
    engine = make_sync_engine(world.environment["LESSONBOT_DATABASE_URL"])
    try:
        with engine.connect() as connection:
            prunes = connection.execute(
                select(OutboxJob.status).where(OutboxJob.kind == RetentionService.JOB_KIND)
            ).all()
    finally:
        engine.dispose()
    # One prune of the latest scheduled time, recorded and left to a worker: none runs.
    assert [status for (status,) in prunes] == [JobStatus.PENDING]
    for scheduler in schedulers:
        assert listening_ports(scheduler.process.pid) == set()
    assert world.discord.sessions == []
    for scheduler in schedulers:
        scheduler.stop()
