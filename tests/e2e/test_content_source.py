"""The repository is the lessons' source of truth: a push reaches the bot, a sync keeps it."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from bot.app import sync_lessons
from bot.cli import main
from bot.config import Settings
from bot.domain.link_texts import LESSON_LABEL
from bot.domain.markers import find_markers
from bot.offline import sandbox_environment
from tests.conftest import PROJECT
from tests.e2e.test_linking_sync import _as_maintainer, _pushed, linking_issue

IDENTITY = "data-basics/cleaning-data"
PATH = "programs/data-basics/lessons/en/cleaning-data.mdx"


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


async def test_a_title_pushed_to_main_reaches_the_bot_and_a_later_sync_keeps_it(
    tmp_path: Path,
) -> None:
    content = tmp_path / "content"
    shutil.copytree(PROJECT / "lessons", content)
    state = tmp_path / "state"
    async with sandbox_environment(Settings(), content_dir=content, state_dir=state) as env:
        source, linking, lessons = env.app.content, env.app.linking, env.app.lessons
        assert source is not None and linking is not None and lessons is not None
        assert source.repository is not None
        assert source.repository.directory == (state / "content").absolute()
        assert env.description["github"]["clone_url"] == source.repository.url
        assert (await linking.sync(source.catalogue)).issues_created > 0
        assert env.app.github is not None
        [issue_number] = [
            issue.number
            for issue in await env.app.github.list_issues(label=LESSON_LABEL)
            if find_markers(issue.body).get("lesson") == IDENTITY
        ]
        assert (await linking_issue(env, issue_number)).title == "Lesson: Cleaning Data"

        # A maintainer renames the lesson on main, on GitHub; the push webhook follows.
        repo = _as_maintainer(env)

        def rename() -> None:
            current = repo.get_contents(PATH, ref="main")
            text = current.decoded_content.decode().replace(
                'title: "Cleaning Data"', 'title: "Cleaning Messy Data"'
            )
            repo.update_file(PATH, "Rename a lesson", text, current.sha, branch="main")

        await asyncio.to_thread(rename)
        await _pushed(env)

        # The bot fetched its clone: the catalogue, /lesson and the issue all follow.
        assert env.app.catalogue is source.catalogue
        assert source.catalogue.lessons[IDENTITY].title("en") == "Cleaning Messy Data"
        summary = lessons.describe(IDENTITY, "en")
        assert summary is not None and summary.title == "Cleaning Messy Data"
        assert [c.identity for c in lessons.search("messy", "en")] == [IDENTITY]
        assert (await linking_issue(env, issue_number)).title == "Lesson: Cleaning Messy Data"
        assert 'title: "Cleaning Messy Data"' in _read(state / "content" / PATH)

        # The folder the sandbox was built from still has the old title: a sync that read
        # it renamed the issue back. A fresh sync reads the repository and changes nothing.
        assert 'title: "Cleaning Data"' in _read(content / PATH)
        report = await sync_lessons(env.app.settings)

        assert report.ok, report.as_json()
        assert report.content == str((state / "content").absolute())
        assert (report.issues_updated, report.threads_updated) == (0, 0)
        assert (await linking_issue(env, issue_number)).title == "Lesson: Cleaning Messy Data"


def test_sync_without_content_reads_github_and_reports_a_failed_fetch_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    token = "ghp_doNotShowThisToken42"  # made up
    for name, value in {
        "LESSONBOT_DISCORD_TOKEN": "sandbox-bot-token",
        "LESSONBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "LESSONBOT_GITHUB_BASE_URL": "http://127.0.0.1:9",  # nothing listens there
        "LESSONBOT_GITHUB_REPOSITORY": "lessons/content",
        "LESSONBOT_GITHUB_TOKEN": token,
        "LESSONBOT_LOCALE": "es",
    }.items():
        monkeypatch.setenv(name, value)

    assert main(["sync"]) == 1

    err = capsys.readouterr().err
    assert err.startswith(
        "lessonbot: No se pudieron actualizar las lecciones desde GitHub: "
        "git clone of http://127.0.0.1:9/lessons/content.git"
    )
    assert err.count("\n") == 1 and token not in err
    assert not (tmp_path / ".lessonbot" / "content").exists()


def test_a_github_source_needs_github_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LESSONBOT_CONTENT_SOURCE", "github")

    assert main(["sync"]) == 2

    err = capsys.readouterr().err
    assert "content.source is github" in err and "LESSONBOT_GITHUB_REPOSITORY" in err
