"""The sandbox's lifecycle, request log, admin routes, concurrency and `serve()`."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import subprocess
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
from github import Github

from sandboxes.github import GitHubSandbox, serve
from tests.sandboxes.github.conftest import LESSON, Reply, http

REPO = "/repos/lessons/content"


async def test_async_context_serves_and_cleans_up(content_dir: Path) -> None:
    async with GitHubSandbox(content_dir, "acme/lessons", bot_login="acme-bot") as sandbox:
        assert sandbox.base_url.startswith("http://127.0.0.1:")
        assert sandbox.repository == "acme/lessons"
        git_dir = sandbox.git_dir
        assert (git_dir / "HEAD").is_file()
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{sandbox.base_url}/repos/acme/lessons") as response:
                assert response.status == 200
                assert (await response.json())["full_name"] == "acme/lessons"
            headers = {"Authorization": "Bearer acme-bot"}
            url = f"{sandbox.base_url}/repos/acme/lessons/collaborators/acme-bot/permission"
            async with session.get(url, headers=headers) as response:
                assert (await response.json())["permission"] == "write"
    assert not git_dir.exists()
    with pytest.raises(aiohttp.ClientConnectionError):
        async with aiohttp.ClientSession() as session, session.get(sandbox.base_url):
            pass


def test_thread_mode_start_stop_and_context_manager(content_dir: Path) -> None:
    with GitHubSandbox(content_dir).start_in_thread() as sandbox:
        assert http(sandbox.base_url, "GET", REPO).status == 200
        base = sandbox.base_url
    with pytest.raises(OSError):
        http(base, "GET", REPO)


def test_bad_arguments_fail_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        GitHubSandbox(tmp_path, "no-slash")
    with pytest.raises(FileNotFoundError):
        GitHubSandbox(tmp_path / "missing").start_in_thread()


def test_request_log_lists_api_calls_and_can_be_cleared(
    sandbox: GitHubSandbox, raw: Callable[..., Reply]
) -> None:
    raw("POST", f"{REPO}/issues", {"title": "x"})
    raw("GET", f"{REPO}/issues/9")
    assert sandbox.requests == [
        {"method": "POST", "path": f"{REPO}/issues", "status": 201},
        {"method": "GET", "path": f"{REPO}/issues/9", "status": 404},
    ]
    assert raw("GET", "/_sandbox/requests").json() == sandbox.requests
    assert raw("DELETE", "/_sandbox/requests").status == 204
    assert sandbox.requests == []


def test_collaborators_shape_author_association(
    sandbox: GitHubSandbox, gh: Callable[..., Github], raw: Callable[..., Reply]
) -> None:
    issue = gh("learner").get_repo("lessons/content").create_issue("Question")
    reply = gh("helper").get_repo("lessons/content").get_issue(issue.number).create_comment("A")
    assert reply.raw_data["author_association"] == "NONE"
    sandbox.add_collaborator("helper")
    assert raw("GET", f"{REPO}/issues/comments/{reply.id}").json()["author_association"] == (
        "COLLABORATOR"
    )
    added = raw("POST", "/_sandbox/collaborators", {"login": "editor", "permission": "admin"})
    assert added.status == 201
    permission = raw("GET", f"{REPO}/collaborators/editor/permission").json()["permission"]
    assert permission == "admin"
    assert raw("GET", f"{REPO}/collaborators/learner").status == 404
    assert raw("GET", f"{REPO}/collaborators/editor").status == 204


async def test_concurrent_writes_stay_consistent(content_dir: Path) -> None:
    async with GitHubSandbox(content_dir) as sandbox:
        headers = {"Authorization": "token lessonbot"}
        async with aiohttp.ClientSession(base_url=sandbox.base_url, headers=headers) as session:

            async def create(n: int) -> int:
                async with session.post(f"{REPO}/issues", json={"title": f"t{n}"}) as response:
                    return (await response.json())["number"]

            numbers = await asyncio.gather(*(create(n) for n in range(40)))
            assert sorted(numbers) == list(range(1, 41))

            async with session.get(f"{REPO}/contents/{LESSON}") as response:
                sha = (await response.json())["sha"]

            async def edit(n: int) -> int:
                body = {
                    "message": f"edit {n}",
                    "content": base64.b64encode(f"version {n}\n".encode()).decode(),
                    "sha": sha,
                }
                async with session.put(f"{REPO}/contents/{LESSON}", json=body) as response:
                    return response.status

            statuses = await asyncio.gather(*(edit(n) for n in range(5)))
            # Exactly one edit of the same version wins; the others see a stale sha.
            assert sorted(statuses) == [200, 409, 409, 409, 409]
        done = await asyncio.to_thread(
            subprocess.run,
            ["git", "-C", str(sandbox.git_dir), "log", "--format=%s", "main"],
            check=True,
            capture_output=True,
            text=True,
        )
        log = done.stdout.splitlines()
        assert len(log) == 2 and log[0].startswith("edit ")


async def test_serve_prints_where_it_listens_and_runs_until_cancelled(
    content_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    task = asyncio.create_task(serve(content_dir, "lessons/content", "127.0.0.1", 0, None, None))
    try:
        output = ""
        for _ in range(500):
            await asyncio.sleep(0.01)
            output += capsys.readouterr().out
            if "listening on" in output or task.done():
                break
        assert not task.done()
        url = output.split("listening on ", 1)[1].split()[0]
        async with aiohttp.ClientSession() as session, session.get(url + REPO) as response:
            assert response.status == 200
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert task.cancelled()


def test_builds_from_the_real_corpus(corpus: Path) -> None:
    with GitHubSandbox(corpus).start_in_thread() as sandbox:
        listed = subprocess.run(
            ["git", "-C", str(sandbox.git_dir), "ls-tree", "-r", "--name-only", "main"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        on_disk = [
            path.relative_to(corpus).as_posix()
            for path in corpus.rglob("*")
            if path.is_file() and ".git" not in path.relative_to(corpus).parts
        ]
        assert sorted(listed) == sorted(on_disk)
        lesson = next(name for name in listed if name.endswith(".mdx"))
        reply = http(sandbox.base_url, "GET", f"{REPO}/contents/{lesson}")
        assert base64.b64decode(reply.json()["content"]) == (corpus / lesson).read_bytes()


async def test_more_repositories_can_be_added(content_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    (other / "docs").mkdir(parents=True)
    (other / "docs" / "index.md").write_text("Other\n")
    async with GitHubSandbox(content_dir) as sandbox:
        git_dir = await sandbox.add_repository("someone/notes", other)
        assert git_dir != sandbox.git_dir and (git_dir / "HEAD").is_file()
        with pytest.raises(ValueError):
            await sandbox.add_repository("lessons/content", other)
        headers = {"Authorization": "token maintainer"}
        async with aiohttp.ClientSession(base_url=sandbox.base_url, headers=headers) as session:
            async with session.get("/repos/someone/notes/contents/docs/index.md") as response:
                assert base64.b64decode((await response.json())["content"]) == b"Other\n"
            async with session.post("/repos/someone/notes/issues", json={"title": "t"}) as r:
                assert (await r.json())["number"] == 1
            async with session.post("/repos/lessons/content/issues", json={"title": "t"}) as r:
                assert (await r.json())["number"] == 1  # numbering is per repository
