"""End to end: the offline environment keeps its world, links at start and tells others
where it runs (sandbox.env); a database of a world that is gone is moved aside."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.config import Settings
from bot.net import bind_listener
from bot.offline import (
    SandboxEnvironment,
    run_sandbox,
    sandbox_environment,
    wipe_world,
)
from bot.running_sandbox import lessonbot_command
from bot.store.models import LessonLink
from tests.conftest import PROJECT

LESSONS = PROJECT / "lessons"


async def _links(env: SandboxEnvironment) -> list[tuple[int | None, int | None, str | None]]:
    """Return the stored links: thread id, issue number, issue URL."""
    async with env.app.sessions() as session:
        rows = (await session.execute(select(LessonLink))).scalars().all()
    return sorted(
        (row.discord_thread_id, row.github_issue_number, row.github_issue_url) for row in rows
    )


async def _get(url: str, headers: dict[str, str]) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        return response.status, await response.json()


async def _assert_live(env: SandboxEnvironment, links: list[Any]) -> None:
    """Check every stored post and issue exists in the running sandboxes, via their REST."""
    discord = {"Authorization": f"Bot {env.discord.bot_token}"}
    github = {"Authorization": "token maintainer"}
    repo = f"{env.github.base_url}/repos/{env.github.repository}"
    for thread_id, number, url in links:
        status, thread = await _get(f"{env.discord.api_base_url}/channels/{thread_id}", discord)
        assert status == 200 and thread["type"] == 11
        status, issue = await _get(f"{repo}/issues/{number}", github)
        assert status == 200 and issue["html_url"] == url


async def test_a_restart_resumes_the_world_and_keeps_the_links_live(tmp_path: Path) -> None:
    state = tmp_path / "state"
    async with sandbox_environment(
        Settings(), content_dir=LESSONS, state_dir=state, link_at_start=True
    ) as first:
        assert first.linked is not None and first.linked.startswith("Linked at start.")
        assert not first.description["restored"]
        links = await _links(first)
        assert len(links) == 6 and all(None not in link for link in links)
        world, guild = first.description["world_id"], first.guild
        token = first.discord.bot_token
        urls = (first.discord.base_url, first.github.base_url)

    async with sandbox_environment(
        Settings(), content_dir=LESSONS, state_dir=state, link_at_start=True
    ) as second:
        assert second.description["restored"] and second.description["world_id"] == world
        # The Discord-shaped token is the same, so a sourced sandbox.env still works.
        assert second.discord.bot_token == token and token.count(".") == 2
        assert second.stale_database is None
        assert second.guild == guild
        assert (second.discord.base_url, second.github.base_url) == urls
        assert await _links(second) == links  # the second sync made nothing new
        await _assert_live(second, links)
        issues = await second.app.github.list_issues(label="lesson-discussion")
        assert len(issues) == 6
        web_url = second.app.web_url
        assert web_url == first.app.web_url  # the webhook URL stays valid too

    github_port = int(urls[1].rsplit(":", 1)[1])
    with bind_listener("127.0.0.1", github_port) as blocker:
        blocker.listen()  # another program took the GitHub sandbox's port meanwhile
        async with sandbox_environment(Settings(), content_dir=LESSONS, state_dir=state) as third:
            moved = third.github.base_url
            assert moved != urls[1] and third.description["world_id"] == world
            followed = await _links(third)
            assert [url for _, _, url in followed] == [
                url.replace(urls[1], moved) for _, _, url in links
            ]
            await _assert_live(third, followed)
            # The posts' first messages link the issues at their new address.
            thread_id, _, issue_url = followed[0]
            assert issue_url in third.discord.channel_messages(thread_id)[0]["content"]

    discord_port = int(urls[0].rsplit(":", 1)[1])
    with bind_listener("127.0.0.1", discord_port) as blocker:
        blocker.listen()  # and then the Discord sandbox's: its viewer moves with it
        async with sandbox_environment(Settings(), content_dir=LESSONS, state_dir=state) as fourth:
            viewer = fourth.discord.web_url
            assert viewer != urls[0] and fourth.description["world_id"] == world
            # The issues link the posts in the viewer at its new address.
            issues = await fourth.app.github.list_issues(label="lesson-discussion")
            assert len(issues) == 6
            assert all(f"{viewer}/channels/" in issue.body for issue in issues)
            assert not any(f"{urls[0]}/" in issue.body for issue in issues)


async def test_a_database_of_another_world_is_moved_aside(tmp_path: Path) -> None:
    state = tmp_path / "state"
    async with sandbox_environment(
        Settings(), content_dir=LESSONS, state_dir=state, link_at_start=True
    ) as first:
        old_world = first.description["world_id"]
        assert len(await _links(first)) == 6
    # The sandboxes' worlds go (deleted by hand), the bot's database stays.
    await asyncio.to_thread(wipe_world_but_database, state)

    async with sandbox_environment(Settings(), content_dir=LESSONS, state_dir=state) as second:
        assert second.description["world_id"] != old_world
        stale = second.stale_database
        assert stale is not None and stale.name.startswith("sandbox.db.stale-")
        assert await asyncio.to_thread(stale.exists)
        assert await _links(second) == []
        marker = await asyncio.to_thread((state / "sandbox-world").read_text)
        assert marker.strip() == second.description["world_id"]


def wipe_world_but_database(state: Path) -> None:
    """Remove the sandboxes' worlds, keeping sandbox.db and its world marker."""
    shutil.rmtree(state / "sandbox")


async def test_fresh_wipes_the_world_and_the_database(tmp_path: Path) -> None:
    state = tmp_path / "state"
    async with sandbox_environment(
        Settings(), content_dir=LESSONS, state_dir=state, link_at_start=True
    ) as first:
        old_world = first.description["world_id"]
    deleted = await asyncio.to_thread(wipe_world, state)
    names = {path.name for path in deleted}
    assert {"sandbox", "sandbox.db", "sandbox-world", "sandbox.env", "sandbox.json"} <= names
    async with sandbox_environment(Settings(), content_dir=LESSONS, state_dir=state) as second:
        assert second.description["world_id"] != old_world
        assert not second.description["restored"] and second.stale_database is None
        assert await _links(second) == []


async def test_the_command_links_at_start_and_prints_a_guide(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    await asyncio.to_thread(state.mkdir)
    await asyncio.to_thread((state / "sandbox.db").write_text, "not a database of this world")
    task = asyncio.create_task(
        run_sandbox(Settings(), content_dir=LESSONS, state_dir=state, fresh=True)
    )
    printed = ""
    try:
        for _ in range(600):
            printed += capsys.readouterr().out
            if "Press Ctrl+C" in printed or task.done():
                break
            await asyncio.sleep(0.1)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert "Press Ctrl+C" in printed, printed
    assert "Fresh start" in printed and "Sandbox world:    new" in printed
    assert "Linked at start. Lessons: 6. GitHub issues created: 6" in printed
    assert "/_sandbox/interactions/commands" in printed and "token maintainer" in printed
    # Commands that run as printed: this process's own way of running lessonbot, after
    # sourcing sandbox.env (a state folder other commands do not look in).
    assert "sandbox.env; set +a` first" in printed
    assert f"\n  {lessonbot_command()} jobs list\n" in printed
    # --fresh removed the old database rather than moving it aside.
    assert not list(state.glob("sandbox.db.stale-*"))
    async with sandbox_environment(Settings(), content_dir=LESSONS, state_dir=state) as again:
        assert again.description["restored"] and len(await _links(again)) == 6


async def test_sandbox_env_points_lessonbot_at_the_running_sandbox(tmp_path: Path) -> None:
    state = tmp_path / "state"
    async with sandbox_environment(
        Settings(), content_dir=LESSONS, state_dir=state, link_at_start=True
    ) as env:
        text = await asyncio.to_thread((state / "sandbox.env").read_text)
        assert text.startswith("#") and "open nothing but the local" in text
        assert f"LESSONBOT_GITHUB_BASE_URL={env.github.base_url}" in text
        # A clean environment, another directory: only the file says where things are.
        clean = {k: v for k, v in os.environ.items() if not k.startswith("LESSONBOT_")}
        clean["PYTHONPATH"] = str(PROJECT)
        elsewhere = tmp_path / "elsewhere"
        await asyncio.to_thread(elsewhere.mkdir)
        script = f'set -a; . "$1"; set +a; exec "{sys.executable}" -m bot sync --dry-run --json'
        process = await asyncio.create_subprocess_exec(
            "sh",
            "-c",
            script,
            "sh",
            str(state / "sandbox.env"),
            env=clean,
            cwd=elsewhere,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 120)
        assert process.returncode == 0, err.decode()
        figures = json.loads(out)
        assert figures["lessons"] == 6 and figures["dry_run"] is True
        assert figures["issues_created"] == figures["threads_created"] == 0
        async with env.app.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(LessonLink)) == 6
