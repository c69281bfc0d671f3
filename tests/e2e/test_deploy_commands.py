"""The commands the systemd unit and the container image run, run as they are written
against the sandboxes: the migration first, then the bot (one process, or each role as its
own), which serves /healthz where it is told to listen and stops with status 0 on the
signal its supervisor sends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.domain.roles import ROLES
from bot.offline import GUILD_NAME, SANDBOX_BOT_TOKEN, guild_channels
from sandboxes.discord import DiscordSandbox
from sandboxes.github import GitHubSandbox
from tests.conftest import FIXTURES
from tests.deploy_files import (
    compose,
    dockerfile_command,
    dockerfile_environment,
    dockerfile_values,
    unit,
    unit_commands,
)
from tests.ports import free_port

CONTENT = FIXTURES / "content"
# The installed command, standing in for /opt/lessonbot/bin/lessonbot and the image's PATH.
LESSONBOT = Path(sys.executable).with_name("lessonbot")
# Generous bounds on waiting; what is asserted is the outcome, not the time.
START_TIMEOUT = 120.0
STOP_TIMEOUT = 60.0


@dataclass(frozen=True)
class Deployment:
    """What a supervisor runs: commands to finish first, the bot, the signal that stops it."""

    before: list[list[str]]
    main: list[list[str]]  # one process each
    stop_signal: str
    environment: dict[str, str]


def _systemd() -> Deployment:
    parsed = unit()
    before, main = unit_commands(parsed)
    # The template's instance for one process doing everything: `lessonbot@all`.
    main = [word.replace("%i", "all") for word in main]
    return Deployment(before, [main], parsed["Service"]["KillSignal"], {})


def _compose() -> Deployment:
    entrypoint = dockerfile_command()[:1]
    services = compose()["services"]
    [stop_signal] = dockerfile_values("STOPSIGNAL")
    return Deployment(
        [[*entrypoint, *services["migrate"]["command"]]],
        # Each role, as its service runs it.
        [[*entrypoint, *services[role]["command"]] for role in ROLES],
        stop_signal,
        dockerfile_environment(),
    )


def _installed(argv: list[str]) -> list[str]:
    """Run this checkout's `lessonbot` where the file names the installed one."""
    assert Path(argv[0]).name == "lessonbot"
    return [str(LESSONBOT), *argv[1:]]


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            return answer.status == 200
    except (OSError, urllib.error.URLError):
        return False


@pytest.mark.parametrize("deployment", [_systemd, _compose], ids=["systemd", "compose"])
def test_the_deployed_commands_migrate_run_and_stop_cleanly(
    deployment: Callable[[], Deployment], tmp_path: Path
) -> None:
    deployed = deployment()
    port = free_port()
    with (
        DiscordSandbox(bot_token=SANDBOX_BOT_TOKEN) as discord,
        GitHubSandbox(CONTENT, "lessons/content") as github,
    ):
        guild = discord.create_guild(GUILD_NAME, channels=guild_channels(CONTENT, "en"))
        environment = {k: v for k, v in os.environ.items() if not k.startswith("LESSONBOT_")}
        environment.update(
            deployed.environment,
            LESSONBOT_DISCORD_API_BASE_URL=discord.api_base_url,
            LESSONBOT_DISCORD_GATEWAY_URL=discord.gateway_url,
            LESSONBOT_DISCORD_GUILD_ID=str(guild["id"]),
            LESSONBOT_DISCORD_TOKEN=SANDBOX_BOT_TOKEN,
            LESSONBOT_GITHUB_BASE_URL=github.base_url,
            LESSONBOT_GITHUB_REPOSITORY=github.repository,
            LESSONBOT_GITHUB_TOKEN="lessonbot",
            LESSONBOT_CONTENT_DIR=str(CONTENT),
            LESSONBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
            LESSONBOT_WEB_PORT=str(port),
        )
        for command in deployed.before:
            done = subprocess.run(
                _installed(command),
                cwd=tmp_path,
                env=environment,
                capture_output=True,
                text=True,
                timeout=START_TIMEOUT,
                check=False,
            )
            assert done.returncode == 0, done.stderr
        logs = [tmp_path / f"stderr-{n}.txt" for n in range(len(deployed.main))]
        processes = []
        for command, log_path in zip(deployed.main, logs, strict=True):
            with log_path.open("w") as stderr:
                processes.append(
                    subprocess.Popen(
                        _installed(command),
                        cwd=tmp_path,
                        env=environment,
                        stdout=subprocess.DEVNULL,
                        stderr=stderr,
                    )
                )
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not (_healthy(port) and any(s["connected"] for s in discord.sessions)):
                for process, log_path in zip(processes, logs, strict=True):
                    assert process.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "the bot never became healthy"
                time.sleep(0.1)

            for process in processes:
                process.send_signal(signal.Signals[deployed.stop_signal])
            statuses = [process.wait(timeout=STOP_TIMEOUT) for process in processes]
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()
                    process.wait()
    texts = [log_path.read_text() for log_path in logs]
    assert statuses == [0] * len(processes), texts
    assert not any("Traceback" in text for text in texts), texts
