"""`lessonbot sync` against both sandboxes, run on threads as a deployed bot would reach them."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.offline import GUILD_NAME, SANDBOX_BOT_TOKEN, guild_channels
from sandboxes.discord import DiscordSandbox
from sandboxes.github import GitHubSandbox
from tests.conftest import FIXTURES
from tests.e2e.support import sandbox_settings_env

CONTENT = FIXTURES / "content"


@pytest.fixture
def sandboxes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[DiscordSandbox, GitHubSandbox]]:
    """Start both sandboxes on threads and point the command's settings at them."""
    for name in list(os.environ):
        if name.startswith("LESSONBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    discord = DiscordSandbox(bot_token=SANDBOX_BOT_TOKEN).start_in_thread()
    try:
        github = GitHubSandbox(CONTENT, "lessons/content").start_in_thread()
        try:
            guild = discord.create_guild(GUILD_NAME, channels=guild_channels(CONTENT, "en"))
            environment = sandbox_settings_env(
                discord, github, guild, f"sqlite:///{tmp_path / 'sync.db'}"
            )
            for name, value in environment.items():
                monkeypatch.setenv(f"LESSONBOT_{name}", value)
            yield discord, github
        finally:
            github.stop()
    finally:
        discord.stop()


def _sync(capsys: pytest.CaptureFixture[str], *options: str) -> dict[str, int]:
    assert main(["sync", "--content", str(CONTENT), *options]) == 0
    return json.loads(capsys.readouterr().out)


def test_sync_prints_one_json_object_and_a_second_run_changes_nothing(
    sandboxes: tuple[DiscordSandbox, GitHubSandbox], capsys: pytest.CaptureFixture[str]
) -> None:
    discord, github = sandboxes

    planned = _sync(capsys, "--json", "--dry-run")

    assert planned["issues_created"] == planned["threads_created"] == 1
    # A dry run plans from the database alone: not one request, not even a login.
    assert (planned["github_requests"], planned["discord_requests"]) == (0, 0)
    assert github.requests == [] and discord.requests == []
    assert discord.sessions == []
    assert not Path("sync.db").exists() or _tables("sync.db") == []

    first = _sync(capsys, "--json")

    assert (first["lessons"], first["issues_created"], first["threads_created"]) == (1, 1, 1)
    assert first["failed"] == {} and first["busy"] == [] and first["refused_removals"] == []
    issues = [r for r in github.requests if r["method"] == "POST" and r["path"].endswith("/issues")]
    assert len(issues) == 1
    # Every request the command made is counted, its login included.
    assert first["github_requests"] == len(github.requests)
    assert first["discord_requests"] == len(discord.requests)
    # A one-off command leaves registering slash commands to the running bot.
    assert not [r for r in discord.requests if "/commands" in r["path"]]

    github_before, discord_before = len(github.requests), len(discord.requests)
    second = _sync(capsys, "--json")

    assert second["github_requests"] == len(github.requests) - github_before == 0
    # Discord sees only the login: no write, nothing read for the lessons.
    logins = discord.requests[discord_before:]
    assert second["discord_requests"] == len(logins)
    assert all(r["method"] == "GET" and "/channels/" not in r["path"] for r in logins)
    assert (second["issues_created"], second["threads_created"]) == (0, 0)
    assert (second["issues_updated"], second["threads_updated"]) == (0, 0)


def _tables(path: str) -> list[str]:
    with sqlite3.connect(path) as connection:
        return [row[0] for row in connection.execute("SELECT name FROM sqlite_master")]


def test_sync_prints_a_summary_without_json(
    sandboxes: tuple[DiscordSandbox, GitHubSandbox], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sync", "--content", str(CONTENT)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "Lessons: 1. GitHub issues created: 1, updated: 0. Discord posts created: 1"
    )


def test_a_lesson_that_keeps_failing_is_reported_kept_and_retried(
    sandboxes: tuple[DiscordSandbox, GitHubSandbox], capsys: pytest.CaptureFixture[str]
) -> None:
    _, github = sandboxes
    # GitHub answers 502 to every attempt at opening the issue.
    github.add_fault("POST /repos/*/issues", mode="before", count=50)

    assert main(["sync", "--content", str(CONTENT), "--json"]) == 1
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert list(report["failed"]) == ["demo/pipes"]
    assert "demo/pipes: failed: " in captured.err
    assert "lessonbot jobs list" in captured.err and "Traceback" not in captured.err

    assert main(["jobs", "list", "--json"]) == 0
    [job] = json.loads(capsys.readouterr().out)
    # The post was made; its issue's job is what failed.
    assert (job["key"], job["status"], job["attempts"]) == (
        "lesson-issue:demo/pipes",
        "pending",
        1,
    )
    assert job["last_error"]

    github.clear_faults()
    assert main(["jobs", "retry", str(job["id"])]) == 0
    assert f"Job {job['id']} (lesson-issue:demo/pipes) will run again" in capsys.readouterr().out
    assert main(["sync", "--content", str(CONTENT), "--json"]) == 0
    after = json.loads(capsys.readouterr().out)
    # The post made by the failed run is found again, not opened twice.
    assert (after["issues_created"], after["threads_created"], after["failed"]) == (1, 0, {})
    assert main(["jobs", "list"]) == 0
    assert "No pending or failed jobs." in capsys.readouterr().err
    assert main(["jobs", "retry", "999"]) == 1
    assert "There is no job 999." in capsys.readouterr().err
