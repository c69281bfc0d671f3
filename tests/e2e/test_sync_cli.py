"""`lessonbot sync` against both sandboxes, run on threads as a deployed bot would reach them."""

from __future__ import annotations

import json
import os
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
    _, github = sandboxes

    planned = _sync(capsys, "--json", "--dry-run")

    assert planned["issues_created"] == planned["threads_created"] == 1
    assert not [r for r in github.requests if r["method"] != "GET"]  # a dry run writes nothing

    first = _sync(capsys, "--json")

    assert set(first) == {
        "lessons",
        "issues_created",
        "issues_updated",
        "threads_created",
        "threads_updated",
        "github_requests",
        "discord_requests",
    }
    assert (first["lessons"], first["issues_created"], first["threads_created"]) == (1, 1, 1)
    # One listing, one issue; the sandbox's forum read and given its tags, the post, its
    # starter edited.
    assert first["github_requests"] == 2
    assert first["discord_requests"] == 4
    issues = [r for r in github.requests if r["method"] == "POST" and r["path"].endswith("/issues")]
    assert len(issues) == 1

    second = _sync(capsys, "--json")

    assert second == {
        "lessons": 1,
        "issues_created": 0,
        "issues_updated": 0,
        "threads_created": 0,
        "threads_updated": 0,
        "github_requests": 0,
        "discord_requests": 0,
    }


def test_sync_prints_a_summary_without_json(
    sandboxes: tuple[DiscordSandbox, GitHubSandbox], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sync", "--content", str(CONTENT)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "Lessons: 1. GitHub issues created: 1, updated: 0. Discord posts created: 1"
    )
