"""The bot's clone of the content repository, against the GitHub sandbox's git over HTTP."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from github import Auth, Github

from bot.github.content import ContentRepository, ContentSource, ContentSyncError, TokenProvider
from sandboxes.github import GitHubSandbox
from sandboxes.github.state import now
from tests.conftest import FIXTURES, PROJECT

CONTENT = FIXTURES / "content"
LESSON = "programs/demo/lessons/en/pipes.mdx"
TOKEN = "ghs_sandboxInstallationToken0123456789"  # a made-up sandbox token


@pytest.fixture
async def sandbox() -> AsyncIterator[GitHubSandbox]:
    """Start a sandbox whose repository holds the fixture lessons."""
    async with GitHubSandbox(CONTENT, "lessons/content") as running:
        yield running


def url_of(sandbox: GitHubSandbox) -> str:
    """Return the repository's clone URL on the sandbox."""
    return f"{sandbox.base_url}/{sandbox.repository}.git"


def token_of(value: str | None) -> TokenProvider:
    """Return a token provider giving `value`."""

    async def provide() -> str | None:
        return value

    return provide


def git(cwd: Path, *args: str) -> str:
    """Run git in a work tree and return its output."""
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def half_made(parent: Path) -> list[str]:
    """Return the staging directories of clones left in `parent`."""
    return [path.name for path in parent.glob(".content-*")]


async def rename_on_main(sandbox: GitHubSandbox, title: str) -> str:
    """Commit a new title for the lesson on main through the REST API; return the commit."""
    client = Github(
        base_url=sandbox.base_url,
        auth=Auth.Token("maintainer"),
        retry=None,
        seconds_between_requests=0,
        seconds_between_writes=0,
    )

    def commit() -> str:
        repo = client.get_repo(sandbox.repository)
        current = repo.get_contents(LESSON, ref="main")
        text = current.decoded_content.decode().replace(
            'title: "Quizzes With Pipes"', f'title: "{title}"'
        )
        return repo.update_file(LESSON, "Rename", text, current.sha, "main")["commit"].sha

    try:
        return await asyncio.to_thread(commit)
    finally:
        client.close()


async def test_refresh_clones_then_follows_the_default_branch(
    sandbox: GitHubSandbox, tmp_path: Path
) -> None:
    clone = ContentRepository(url_of(sandbox), tmp_path / "state" / "content")

    path = await clone.refresh()

    assert path == tmp_path / "state" / "content"
    assert (path / LESSON).read_bytes() == (CONTENT / LESSON).read_bytes()
    sha = await rename_on_main(sandbox, "Pipes, Renamed")
    # Local edits and stray files are not the source of truth: a refresh drops them.
    (path / LESSON).write_text("edited by hand\n", encoding="utf-8")
    stray = path / "programs/demo/lessons/en/stray.mdx"
    stray.write_text("---\ntitle: Stray\n---\n", encoding="utf-8")

    assert await clone.refresh() == path

    assert git(path, "rev-parse", "HEAD") == sha
    assert 'title: "Pipes, Renamed"' in (path / LESSON).read_text(encoding="utf-8")
    assert not stray.exists()
    assert git(path, "status", "--porcelain") == ""
    # The remote holds no credentials, and no token is written into the clone.
    assert git(path, "config", "--get", "remote.origin.url") == url_of(sandbox)


async def test_a_clone_of_another_remote_is_replaced_but_other_files_are_kept(
    sandbox: GitHubSandbox, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    git(tmp_path, "init", "--quiet", str(other))
    directory = tmp_path / "content"
    git(tmp_path, "clone", "--quiet", str(other), str(directory))

    await ContentRepository(url_of(sandbox), directory).refresh()

    assert git(directory, "config", "--get", "remote.origin.url") == url_of(sandbox)
    assert (directory / LESSON).is_file()

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me\n", encoding="utf-8")
    with pytest.raises(ContentSyncError, match="is not a clone"):
        await ContentRepository(url_of(sandbox), mine).refresh()
    assert (mine / "notes.txt").read_text(encoding="utf-8") == "keep me\n"


async def test_the_token_is_sent_but_never_shown(
    sandbox: GitHubSandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    directory = tmp_path / "content"
    # A token the sandbox knows as expired: it answers 401 only if the token was sent.
    sandbox.context.apps.tokens[TOKEN] = ("lessonbot[bot]", now() - timedelta(hours=1))
    clone = ContentRepository(url_of(sandbox), directory, token=token_of(TOKEN))

    with pytest.raises(ContentSyncError) as refused:
        await clone.refresh()

    assert {"method": "GET", "path": "/lessons/content.git/info/refs", "status": 401} in (
        sandbox.requests
    )
    message = str(refused.value)
    assert len(message.splitlines()) == 1
    assert url_of(sandbox) in message
    assert TOKEN not in message and TOKEN not in caplog.text

    # With a valid token the clone works; a failing fetch later still hides the token.
    sandbox.context.apps.tokens[TOKEN] = ("lessonbot[bot]", now() + timedelta(hours=1))
    await clone.refresh()
    sandbox.add_fault("GET /lessons/content.git/info/refs")
    with pytest.raises(ContentSyncError) as failed:
        await clone.refresh()
    assert "git fetch" in str(failed.value) and "502" in str(failed.value)
    assert TOKEN not in str(failed.value) and TOKEN not in caplog.text
    assert TOKEN not in (directory / ".git" / "config").read_text(encoding="utf-8")


async def test_an_unreachable_remote_is_one_clear_line(tmp_path: Path) -> None:
    clone = ContentRepository("http://127.0.0.1:9/lessons/content.git", tmp_path / "content")

    with pytest.raises(ContentSyncError) as failed:
        await clone.refresh()

    message = str(failed.value)
    assert message.startswith("git clone of http://127.0.0.1:9/lessons/content.git")
    assert "\n" not in message
    assert not (tmp_path / "content").exists()


REFRESH_SCRIPT = """
import asyncio, sys
from pathlib import Path
from bot.github.content import ContentRepository

async def main() -> None:
    clone = ContentRepository(sys.argv[1], Path(sys.argv[2]))
    for _ in range(3):
        await clone.refresh()

asyncio.run(main())
"""


async def test_processes_refreshing_one_directory_at_once_leave_it_whole(
    sandbox: GitHubSandbox, tmp_path: Path
) -> None:
    directory = tmp_path / "content"
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            REFRESH_SCRIPT,
            url_of(sandbox),
            str(directory),
            cwd=PROJECT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(3)
    ]
    # Meanwhile, in this process too.
    here = ContentRepository(url_of(sandbox), directory)
    await asyncio.gather(here.refresh(), here.refresh())

    for process in processes:
        _, err = await process.communicate()
        assert process.returncode == 0, err.decode()
    assert git(directory, "fsck", "--no-progress") == ""
    assert git(directory, "status", "--porcelain") == ""
    assert (directory / LESSON).read_bytes() == (CONTENT / LESSON).read_bytes()
    assert half_made(tmp_path) == []


async def test_a_content_source_keeps_one_current_catalogue(
    sandbox: GitHubSandbox, tmp_path: Path
) -> None:
    source = ContentSource(
        "en", repository=ContentRepository(url_of(sandbox), tmp_path / "content")
    )
    first = await source.refresh()
    assert source.catalogue is first
    assert first.lessons["demo/pipes"].title("en") == "Quizzes With Pipes"

    await rename_on_main(sandbox, "Pipes, Renamed")
    second = await source.refresh("main")

    assert source.catalogue is second
    assert second.lessons["demo/pipes"].title("en") == "Pipes, Renamed"
    assert source.from_github

    local = ContentSource("en", directory=CONTENT)
    assert not local.from_github
    assert (await local.refresh()).lessons["demo/pipes"].title("en") == "Quizzes With Pipes"
