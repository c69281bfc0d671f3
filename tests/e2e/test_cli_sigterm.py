"""SIGTERM stops `lessonbot run` and the sandboxes as Ctrl+C does: cleaned up, status 0.

Each command runs as a real process with a private TMPDIR, so "its temporary git
repositories are removed" is checked as "its TMPDIR is empty afterwards".
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
from typing import IO

import pytest

from bot.offline import GUILD_NAME, SANDBOX_BOT_TOKEN, guild_channels
from sandboxes.discord import DiscordSandbox
from sandboxes.discord.tokens import token_user_id
from sandboxes.github import GitHubSandbox
from tests.conftest import FIXTURES

CONTENT = FIXTURES / "content"
LESSONBOT = Path(sys.executable).with_name("lessonbot")
# Generous bounds on waiting for a start; what is asserted is the outcome, not the time.
START_TIMEOUT = 120.0
STOP_TIMEOUT = 60.0


class Command:
    """A running `lessonbot` process whose stdout is read line by line."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.tmpdir = cwd / "tmp"
        self.tmpdir.mkdir()
        self.stderr_path = cwd / "stderr.txt"
        environment = {k: v for k, v in os.environ.items() if not k.startswith("LESSONBOT_")}
        environment.update(env, TMPDIR=str(self.tmpdir))
        with self.stderr_path.open("w") as stderr:
            self.process = subprocess.Popen(
                [str(LESSONBOT), *argv],
                cwd=cwd,
                env=environment,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )

    @property
    def stdout(self) -> IO[str]:
        """Return the process's standard output."""
        assert self.process.stdout is not None
        return self.process.stdout

    def wait_for_line(self, pattern: str) -> re.Match[str]:
        """Read stdout until a line matches; fail if the process ends first."""
        for line in self.stdout:
            if match := re.search(pattern, line):
                return match
        self.process.wait()
        pytest.fail(f"exited {self.process.returncode} before {pattern!r}: {self.stderr()}")

    def stderr(self) -> str:
        """Return what the process wrote to stderr so far."""
        return self.stderr_path.read_text()

    def terminate(self) -> int:
        """Send SIGTERM and return the exit status."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            # What it wrote, with every thread's stack it dumps when a stop is slow.
            pytest.fail(f"still running {STOP_TIMEOUT:.0f} s after SIGTERM:\n{self.stderr()}")

    def kill(self) -> None:
        """Kill the process if a test left it running."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.stdout.close()


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Command]]:
    """Yield start(*argv, **env) -> Command, killing whatever a failed test left running."""
    commands: list[Command] = []

    def start_command(*argv: str, **env: str) -> Command:
        command = Command(list(argv), tmp_path, {f"LESSONBOT_{k}": v for k, v in env.items()})
        commands.append(command)
        return command

    yield start_command
    for command in commands:
        command.kill()


def assert_stopped_cleanly(command: Command) -> None:
    """Assert SIGTERM ended the command with status 0, no traceback, no temporary files."""
    status = command.terminate()
    stderr = command.stderr()
    assert status == 0, stderr
    assert "Traceback" not in stderr
    assert "SIGTERM received: stopping" in stderr
    assert list(command.tmpdir.iterdir()) == []


def _wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_sigterm_stops_run_and_closes_its_connections(
    start: Callable[..., Command], tmp_path: Path
) -> None:
    with (
        DiscordSandbox(bot_token=SANDBOX_BOT_TOKEN) as discord,
        GitHubSandbox(CONTENT, "lessons/content") as github,
    ):
        guild = discord.create_guild(GUILD_NAME, channels=guild_channels(CONTENT, "en"))
        database = tmp_path / "bot.db"
        command = start(
            "run",
            DISCORD_API_BASE_URL=discord.api_base_url,
            DISCORD_GATEWAY_URL=discord.gateway_url,
            DISCORD_GUILD_ID=str(guild["id"]),
            DISCORD_TOKEN=SANDBOX_BOT_TOKEN,
            GITHUB_BASE_URL=github.base_url,
            GITHUB_REPOSITORY=github.repository,
            GITHUB_TOKEN="lessonbot",
            CONTENT_DIR=str(CONTENT),
            DATABASE_URL=f"sqlite:///{database}",
            WEB_PORT="0",
        )
        _wait_until(
            lambda: (
                any(session["connected"] for session in discord.sessions)
                or command.process.poll() is not None
            ),
            "the bot to connect to the Discord sandbox",
        )
        assert command.process.poll() is None, command.stderr()

        assert_stopped_cleanly(command)

        # discord.py closed the gateway with 1000, which ends its session for good.
        [session] = discord.sessions
        assert session["ended"] and not session["connected"]
    # The last connection to a WAL database checkpoints and removes the -wal file on close.
    assert database.exists() and not Path(f"{database}-wal").exists()


def test_sigterm_stops_the_sandbox_and_removes_its_repository(
    start: Callable[..., Command], tmp_path: Path
) -> None:
    state = tmp_path / "state"
    command = start("sandbox", "--content", str(CONTENT), "--state-dir", str(state))
    command.wait_for_line(r"The bot is connected")
    description = json.loads((state / "sandbox.json").read_text())
    git_dir = Path(description["github"]["git_dir"])
    assert git_dir.is_dir()

    assert_stopped_cleanly(command)

    if git_dir.is_relative_to(command.tmpdir):
        assert not git_dir.exists()
    else:  # kept in the state folder, for the next run to resume
        assert git_dir.is_relative_to(state) and git_dir.is_dir()
    assert not (state / "sandbox.db-wal").exists()


def test_sigterm_stops_the_github_sandbox_and_removes_its_repository(
    start: Callable[..., Command],
) -> None:
    command = start("sandbox", "github", "--port", "0", "--content", str(CONTENT))
    git_dir = Path(command.wait_for_line(r"git repository: (\S+)").group(1))
    assert git_dir.is_dir()

    assert_stopped_cleanly(command)

    assert not git_dir.exists()


def test_sigterm_stops_the_discord_sandbox(start: Callable[..., Command], tmp_path: Path) -> None:
    command = start("sandbox", "discord", "--port", "0")
    bot_id = command.wait_for_line(r"bot user (\d+),").group(1)
    # Unless told otherwise, the token is shaped like Discord's and names the bot user.
    token = command.wait_for_line(r"bot token: (\S+)").group(1)
    assert token_user_id(token) == int(bot_id) and token.count(".") == 2

    assert_stopped_cleanly(command)


@pytest.mark.parametrize(
    ("argv", "env"), [(["--token", "my-token"], {}), ([], {"DISCORD_TOKEN": "my-token"})]
)
def test_the_discord_sandbox_takes_its_token_from_an_option_or_the_environment(
    start: Callable[..., Command], argv: list[str], env: dict[str, str]
) -> None:
    command = start("sandbox", "discord", "--port", "0", *argv, **env)
    assert command.wait_for_line(r"bot token: (\S+)").group(1) == "my-token"
    assert_stopped_cleanly(command)


def test_a_second_sandbox_on_the_same_state_folder_stops_with_one_line(
    start: Callable[..., Command], tmp_path: Path
) -> None:
    state = tmp_path / "state"
    first = start("sandbox", "--content", str(CONTENT), "--state-dir", str(state))
    first.wait_for_line(r"The bot is connected")
    world = (state / "sandbox" / "world.json").read_text()

    second = subprocess.run(
        [str(LESSONBOT), "sandbox", "--content", str(CONTENT), "--state-dir", str(state)],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if not k.startswith("LESSONBOT_")},
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
        check=False,
    )

    assert second.returncode == 2
    [line] = second.stderr.strip().splitlines()
    assert line.startswith("lessonbot: A lessonbot sandbox is already running on the state")
    assert f"process {first.process.pid}" in line and "--state-dir" in line
    # The running world was not touched, and the first sandbox still serves it.
    assert (state / "sandbox" / "world.json").read_text() == world
    assert first.process.poll() is None
    assert_stopped_cleanly(first)


def test_the_sandbox_runs_the_job_worker_so_a_suggestion_becomes_a_pull_request(
    start: Callable[..., Command], tmp_path: Path
) -> None:
    state = tmp_path / "state"
    command = start("sandbox", "--content", str(CONTENT), "--state-dir", str(state))
    command.wait_for_line(r"The bot is connected")
    web = json.loads((state / "sandbox.json").read_text())["bot"]["web_url"]
    body = {
        "lesson": "demo/pipes",
        "locale": "en",
        "find": "Fixtures are small on purpose.",
        "replace": "Fixtures are kept small on purpose.",
        "reason": "Clearer",
    }
    request = urllib.request.Request(  # noqa: S310 - the local sandbox
        f"{web}/api/suggestions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - local sandbox
        assert answer.status == 202
        suggestion = json.loads(answer.read())

    deadline = time.monotonic() + START_TIMEOUT
    status = "queued"
    while status == "queued" and time.monotonic() < deadline:
        time.sleep(0.2)
        url = f"{web}/api/suggestions/{suggestion['id']}"
        with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 - local sandbox
            record = json.loads(answer.read())
        status = record["status"]

    assert status == "open" and record["pr_number"] is not None
    assert_stopped_cleanly(command)
