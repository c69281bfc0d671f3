"""`lessonbot sync` against both sandboxes, run on threads as a deployed bot would reach them."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.sandbox.discord import DiscordSandbox
from bot.sandbox.everything import GUILD_NAME, SANDBOX_BOT_TOKEN, guild_channels
from bot.sandbox.github import GitHubSandbox
from tests.conftest import FIXTURES

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
            environment = {
                "DISCORD_API_BASE_URL": discord.api_base_url,
                "DISCORD_GATEWAY_URL": discord.gateway_url,
                "DISCORD_GUILD_ID": str(guild["id"]),
                "DISCORD_TOKEN": SANDBOX_BOT_TOKEN,
                "GITHUB_BASE_URL": github.base_url,
                "GITHUB_REPOSITORY": github.repository,
                "GITHUB_TOKEN": "lessonbot",
                "GITHUB_SECONDS_BETWEEN_REQUESTS": "0",
                "GITHUB_SECONDS_BETWEEN_WRITES": "0",
                "DATABASE_URL": f"sqlite:///{tmp_path / 'sync.db'}",
            }
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
