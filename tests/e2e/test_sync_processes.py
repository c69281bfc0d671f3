"""Several `lessonbot` processes on one database, and processes killed right after a write.

The sandboxes run on threads of the test; every sync is a real `python -m bot` process. The
real lesson corpus is used where present (153 lessons), else the project's own lessons.
The sandboxes are counted through their REST APIs with plain HTTP, not the bot's clients.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from github import Auth, Github

from bot.discord.chat import chat_message
from bot.domain.catalogue import load_catalogue
from bot.domain.link_texts import LESSON_LABEL
from bot.domain.markers import find_markers
from bot.offline import GUILD_NAME, SANDBOX_BOT_TOKEN, guild_channels
from bot.services.linking import parse_post_key
from sandboxes.discord import DiscordSandbox
from sandboxes.discord.ratelimits import RateLimitSettings
from sandboxes.github import GitHubSandbox
from tests.conftest import CORPUS, PROJECT
from tests.e2e.support import sandbox_settings_env
from tests.ports import free_port

WEBHOOK_SECRET = "process-test-secret"


def _content() -> Path:
    return CORPUS if (CORPUS / "programs").is_dir() else PROJECT / "lessons"


@dataclass
class World:
    """Both sandboxes, a content copy and the settings every process gets."""

    discord: DiscordSandbox
    github: GitHubSandbox
    guild_id: int
    content: Path
    environment: dict[str, str]
    cwd: Path

    def lessons(self) -> set[str]:
        """Return the published lessons of the content copy."""
        catalogue = load_catalogue(self.content, "en")
        return {
            lesson.identity
            for lesson in catalogue.lessons.values()
            if lesson.file("en", "en").published
        }

    def start(self, *arguments: str) -> subprocess.Popen[str]:
        """Start `lessonbot ARGUMENTS` as a process of its own."""
        return subprocess.Popen(
            [sys.executable, "-m", "bot", *arguments],
            env=self.environment,
            cwd=self.cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def sync(self, *options: str) -> subprocess.Popen[str]:
        """Start `lessonbot sync --json` over the content copy."""
        return self.start("sync", "--json", "--content", str(self.content), *options)

    def issues(self) -> list[dict[str, Any]]:
        """Return every lesson issue, through the REST API (all pages)."""
        found: list[dict[str, Any]] = []
        url = (
            f"{self.github.base_url}/repos/{self.github.repository}/issues"
            f"?labels={LESSON_LABEL}&state=all&per_page=100"
        )
        while url:
            page, links = _get(url)
            found += page
            url = next(
                (
                    part.split(";")[0].strip()[1:-1]
                    for part in links.split(",")
                    if 'rel="next"' in part
                ),
                "",
            )
        return found

    def comments(self, number: int) -> list[dict[str, Any]]:
        """Return an issue's comments through the REST API."""
        url = (
            f"{self.github.base_url}/repos/{self.github.repository}/issues/{number}/comments"
            "?per_page=100"
        )
        return list(_get(url)[0])

    def posts(self) -> dict[int, dict[str, Any]]:
        """Return the bot's forum posts by thread id, with their starter message's key (in
        its button, where people do not read it) and text."""
        posts = {}
        for channel in self.discord.channels(self.guild_id):
            if channel["type"] != 15:
                continue
            for thread in self.discord.threads(int(channel["id"])):
                if int(thread["owner_id"]) != self.discord.bot_user_id:
                    continue
                starter = self.discord.message(int(thread["id"]), int(thread["id"]))
                posts[int(thread["id"])] = {
                    **thread,
                    "key": parse_post_key(chat_message(starter)),
                    "text": starter["content"],
                }
        return posts


def _get(url: str) -> tuple[Any, str]:
    """GET a sandbox URL as a maintainer; return the JSON and the Link header."""
    request = urllib.request.Request(url, headers={"Authorization": "token maintainer"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
        return json.load(response), response.headers.get("Link") or ""


def _assert_one_issue_and_one_post_each(world: World, lessons: set[str]) -> None:
    issues = world.issues()
    keys = [find_markers(issue["body"]).get("lesson") for issue in issues]
    assert sorted(k for k in keys if k) == sorted(lessons), "one issue per lesson, no more"
    posts = world.posts()
    post_keys = [post["key"] for post in posts.values()]
    assert sorted(k for k in post_keys if k) == sorted(lessons), "one post per lesson, no more"
    assert len(posts) == len(lessons), "no post without a lesson key"
    assert not [post for post in posts.values() if "lessonbot" in post["text"]], "a key shows"


def _finish(process: subprocess.Popen[str], timeout: float = 600) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[World]:
    """Start both sandboxes over a copy of the content; settings point processes at them."""
    content = tmp_path / "content"
    shutil.copytree(_content(), content)
    # Several processes may rename one thread within minutes, beyond Discord's 2 name edits
    # per thread per 10 minutes that discord.py would wait out: relaxed here, on purpose.
    limits = RateLimitSettings()
    limits.rules["channel_name_topic"] = (10, 600.0)
    discord = DiscordSandbox(bot_token=SANDBOX_BOT_TOKEN, rate_limits=limits).start_in_thread()
    try:
        github = GitHubSandbox(
            content, "lessons/content", webhook_secret=WEBHOOK_SECRET
        ).start_in_thread()
        try:
            guild = discord.create_guild(GUILD_NAME, channels=guild_channels(content, "en"))
            settings = {
                **sandbox_settings_env(discord, github, guild, database_url),
                "GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "GITHUB_WRITES_PER_MINUTE": "100000",
                "GITHUB_WRITES_PER_HOUR": "1000000",
                "CONTENT_DIR": str(content),
                "JOBS_LEASE_SECONDS": "20",
                "LOG_LEVEL": "WARNING",
            }
            environment = {
                name: value
                for name, value in os.environ.items()
                if not name.startswith("LESSONBOT_")
            }
            environment.update({f"LESSONBOT_{name}": value for name, value in settings.items()})
            yield World(discord, github, int(guild["id"]), content, environment, tmp_path)
        finally:
            github.stop()
    finally:
        discord.stop()


def test_two_syncs_and_a_running_bot_handling_a_push_link_each_lesson_once(world: World) -> None:
    lessons = world.lessons()
    web_port = free_port()
    world.environment["LESSONBOT_WEB_PORT"] = str(web_port)
    world.github.webhook_url = f"http://127.0.0.1:{web_port}/webhooks/github"
    bot = world.start("run")
    try:
        _wait_for(f"http://127.0.0.1:{web_port}/healthz", bot)
        first = world.sync()
        time.sleep(0.3)
        second = world.sync()
        # Meanwhile a maintainer renames a lesson on main: the bot's push handler syncs it.
        renamed = _rename_a_lesson(world)
        results = [_finish(first), _finish(second)]
        for code, out, err in results:
            assert code == 0, err
            assert "Traceback" not in err
            json.loads(out)
        _wait_until(lambda: _issue_title(world, renamed) == f"Lesson: {renamed} renamed")
    finally:
        bot.send_signal(signal.SIGINT)
        _finish(bot, timeout=60)
    _assert_one_issue_and_one_post_each(world, lessons)
    # Both processes' work adds up to every lesson once.
    reports = [json.loads(out) for _, out, _ in results]
    assert sum(r["issues_created"] + r["issues_adopted"] for r in reports) <= len(lessons) + 1


def _wait_for(url: str, process: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1]
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer")


def _wait_until(check: Any, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError("timed out")


def _rename_a_lesson(world: World) -> str:
    """Commit a new title for one lesson on main, as a maintainer; return its identity."""
    catalogue = load_catalogue(world.content, "en")
    lesson = next(
        lesson for lesson in catalogue.ordered_lessons() if lesson.file("en", "en").published
    )
    english = lesson.file("en", "en")
    client = Github(base_url=world.github.base_url, auth=Auth.Token("maintainer"), retry=None)
    repo = client.get_repo(world.github.repository)
    current = repo.get_contents(english.path, ref="main")
    text = current.decoded_content.decode("utf-8")
    old_title = english.meta["title"]
    new_text = text.replace(f"title: {old_title}", f"title: {lesson.identity} renamed", 1)
    if new_text == text:
        new_text = text.replace(f'title: "{old_title}"', f'title: "{lesson.identity} renamed"', 1)
    assert new_text != text
    repo.update_file(english.path, "Rename a lesson", new_text, current.sha, branch="main")
    (world.content / english.path).write_text(new_text, encoding="utf-8")
    return lesson.identity


def _issue_title(world: World, identity: str) -> str | None:
    for issue in world.issues():
        if find_markers(issue["body"]).get("lesson") == identity:
            return str(issue["title"])
    return None


# Each kind of write the sync makes, on the sandbox that receives it.
DISCORD_CREATE_POST = "POST /api/v10/channels/*/threads"
DISCORD_EDIT_STARTER = "PATCH /api/v10/channels/*/messages/*"
DISCORD_EDIT_THREAD = "PATCH /api/v10/channels/*"
GITHUB_CREATE_ISSUE = "POST /repos/*/issues"
GITHUB_COMMENT = "POST /repos/*/issues/*/comments"
GITHUB_EDIT_ISSUE = "PATCH /repos/*/issues/*"


def _kill_after(world: World, sandbox: str, match: str, *options: str) -> None:
    """Run a sync, let its first write matching `match` go through, then kill -9 it."""
    target = world.discord if sandbox == "discord" else world.github
    target.add_fault(match, mode="hang")
    process = world.sync(*options)
    try:
        _wait_until(lambda: not _pending_faults(target), timeout=300)
        time.sleep(0.5)  # the write itself completes; only its answer is held back
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
        target.clear_faults()


def _pending_faults(target: Any) -> list[Any]:
    return list(target.context.faults.to_json())


def test_a_sync_killed_after_any_write_then_run_again_links_each_lesson_once(
    world: World,
) -> None:
    lessons = world.lessons()
    _kill_after(world, "discord", DISCORD_CREATE_POST)
    _kill_after(world, "github", GITHUB_CREATE_ISSUE)
    _kill_after(world, "discord", DISCORD_EDIT_STARTER)
    code, out, err = _finish(world.sync())
    assert code == 0, err
    _assert_one_issue_and_one_post_each(world, lessons)

    # Two lessons leave; removals are killed after the comment and after closing.
    catalogue = load_catalogue(world.content, "en")
    gone = [lesson for lesson in catalogue.ordered_lessons() if lesson.identity in lessons][:2]
    for lesson in gone:
        for lesson_file in lesson.files.values():
            (world.content / lesson_file.path).unlink()
    _kill_after(world, "github", GITHUB_COMMENT)
    _kill_after(world, "github", GITHUB_EDIT_ISSUE)
    _kill_after(world, "discord", DISCORD_EDIT_THREAD)
    code, _, err = _finish(world.sync())
    assert code == 0, err
    removed = {lesson.identity for lesson in gone}
    for issue in world.issues():
        identity = find_markers(issue["body"]).get("lesson")
        if identity in removed:
            assert issue["state"] == "closed"
            notes = [c for c in world.comments(issue["number"]) if "lesson_removed" in c["body"]]
            assert len(notes) == 1, f"{identity}: {len(notes)} removal comments"
    for post in world.posts().values():
        assert post["thread_metadata"]["archived"] == (post["key"] in removed)
    # And a run with nothing to do makes no request to GitHub.
    code, out, err = _finish(world.sync())
    assert code == 0, err
    assert json.loads(out)["github_requests"] == 0


def test_an_empty_content_folder_removes_nothing(world: World, tmp_path: Path) -> None:
    code, _, err = _finish(world.sync())
    assert code == 0, err
    empty = tmp_path / "empty"
    empty.mkdir()
    process = world.start("sync", "--json", "--content", str(empty))
    code, out, err = _finish(process)
    assert code == 1
    assert "holds no lessons" in err and str(empty) in err
    assert "--allow-removals" in err and "Traceback" not in err
    assert all(issue["state"] == "open" for issue in world.issues())
    assert not any(post["thread_metadata"]["archived"] for post in world.posts().values())
    assert json.loads(out)["refused_removals"]
