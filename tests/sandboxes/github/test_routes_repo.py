"""Repository, account, branch and contents routes through PyGithub and raw HTTP."""

from __future__ import annotations

import base64
import subprocess
import time
from collections.abc import Callable

import pytest
from github import Github, GithubException, UnknownObjectException

from sandboxes.github import GitHubSandbox
from tests.sandboxes.github.conftest import LESSON, LESSON_TEXT, Reply

REPO = "/repos/lessons/content"


def git(sandbox: GitHubSandbox, *args: str) -> str:
    """Run git on the sandbox's bare repository."""
    return subprocess.run(
        ["git", "-C", str(sandbox.git_dir), *args], check=True, capture_output=True, text=True
    ).stdout


def test_repository_user_and_rate_limit(gh: Callable[..., Github]) -> None:
    client = gh("maintainer")
    repo = client.get_repo("lessons/content")
    assert (repo.full_name, repo.default_branch, repo.private) == ("lessons/content", "main", False)
    assert repo.owner.login == "lessons"
    assert client.get_user().login == "maintainer"
    assert client.get_user("lessonbot").login == "lessonbot"
    limits = client.get_rate_limit()
    assert limits.resources.core.limit == 5000
    assert limits.resources.core.remaining < 5000
    assert repo.get_collaborator_permission("lessonbot") == "write"
    assert gh("stranger").get_user().login == "stranger"  # any token is a user
    assert repo.get_collaborator_permission("stranger") == "read"
    with pytest.raises(UnknownObjectException):
        client.get_repo("lessons/other")


def test_every_response_carries_githubs_headers(raw: Callable[..., Reply]) -> None:
    first = raw("GET", REPO)
    second = raw("GET", f"{REPO}/issues/404")
    for reply in (first, second):
        assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
        assert reply.headers["X-RateLimit-Limit"] == "5000"
        assert reply.headers["X-RateLimit-Resource"] == "core"
        assert int(reply.headers["X-RateLimit-Reset"]) > time.time()
        assert reply.headers["X-GitHub-Request-Id"]
    assert (
        int(second.headers["X-RateLimit-Remaining"])
        == int(first.headers["X-RateLimit-Remaining"]) - 1
    )
    assert second.headers["X-RateLimit-Used"] == "2"
    # Each caller has an allowance of their own.
    assert raw("GET", REPO, login="someone-else").headers["X-RateLimit-Used"] == "1"
    assert raw("GET", REPO, login=None).headers["X-RateLimit-Limit"] == "60"
    unknown = raw("GET", "/no/such/route")
    assert unknown.status == 404 and unknown.json()["message"] == "Not Found"


def test_the_allowance_runs_out_with_a_primary_rate_limit(
    sandbox: GitHubSandbox, raw: Callable[..., Reply]
) -> None:
    window = sandbox.state.rate("user:spender", authenticated=True)
    window.remaining = 1
    assert raw("GET", REPO, login="spender").status == 200
    spent = raw("GET", REPO, login="spender")
    assert spent.status == 403 and spent.headers["X-RateLimit-Remaining"] == "0"
    assert spent.json()["message"].startswith("API rate limit exceeded")


def test_get_contents_of_a_file_and_a_directory(
    sandbox: GitHubSandbox, gh: Callable[..., Github]
) -> None:
    repo = gh().get_repo("lessons/content")
    file = repo.get_contents(LESSON, ref="main")
    assert file.decoded_content == LESSON_TEXT.encode()
    assert file.sha == git(sandbox, "rev-parse", f"main:{LESSON}").strip()
    assert file.size == len(LESSON_TEXT.encode()) and file.name == "pipes.mdx"
    listing = repo.get_contents("programs/demo/lessons")
    assert sorted((item.path, item.type) for item in listing) == [
        ("programs/demo/lessons/en", "dir"),
        ("programs/demo/lessons/es", "dir"),
    ]
    root = repo.get_contents("")
    assert {item.name for item in root} == {"README.md", "programs"}
    with pytest.raises(UnknownObjectException):
        repo.get_contents("programs/missing.mdx")
    spanish = repo.get_contents("programs/demo/lessons/es/pipes.mdx")
    assert "Tuberías" in spanish.decoded_content.decode()


def test_download_url_serves_the_raw_bytes(gh: Callable[..., Github]) -> None:
    import urllib.request

    file = gh().get_repo("lessons/content").get_contents(LESSON)
    with urllib.request.urlopen(file.download_url, timeout=5) as response:  # noqa: S310
        assert response.read() == LESSON_TEXT.encode()


def test_update_file_on_a_branch_is_a_real_commit(
    sandbox: GitHubSandbox, gh: Callable[..., Github]
) -> None:
    repo = gh("lessonbot").get_repo("lessons/content")
    main = repo.get_branch("main").commit.sha
    repo.create_git_ref("refs/heads/suggest-7", main)
    current = repo.get_contents(LESSON, ref="suggest-7")
    new_text = current.decoded_content.replace(b"two commands", b"two programs")
    result = repo.update_file(
        LESSON, "Suggest: clearer wording", new_text, current.sha, "suggest-7"
    )
    commit, content = result["commit"], result["content"]
    assert content.sha == git(sandbox, "rev-parse", f"suggest-7:{LESSON}").strip()
    assert git(sandbox, "show", f"suggest-7:{LESSON}").encode() == new_text
    assert git(sandbox, "rev-parse", "suggest-7").strip() == commit.sha
    assert git(sandbox, "rev-parse", "main").strip() == main  # main is untouched
    log = git(sandbox, "log", "--format=%s|%an|%P", "suggest-7").splitlines()
    assert log[0] == f"Suggest: clearer wording|lessonbot|{main}"
    assert git(sandbox, "diff", "--name-only", main, "suggest-7").split() == [LESSON]
    assert repo.get_contents(LESSON, ref="suggest-7").decoded_content == new_text
    assert repo.get_contents(LESSON, ref="main").decoded_content == LESSON_TEXT.encode()

    with pytest.raises(GithubException) as stale:
        repo.update_file(LESSON, "Again", b"other\n", current.sha, "suggest-7")
    assert stale.value.status == 409
    assert git(sandbox, "rev-parse", "suggest-7").strip() == commit.sha


def test_create_delete_and_refuse_file_writes(
    sandbox: GitHubSandbox, gh: Callable[..., Github], raw: Callable[..., Reply]
) -> None:
    repo = gh("lessonbot").get_repo("lessons/content")
    created = repo.create_file("programs/new/lessons/en/intro.mdx", "Add intro", "Hello\n")
    assert created["content"].path == "programs/new/lessons/en/intro.mdx"
    assert git(sandbox, "show", "main:programs/new/lessons/en/intro.mdx") == "Hello\n"
    no_sha = raw(
        "PUT",
        f"{REPO}/contents/{LESSON}",
        {"message": "x", "content": base64.b64encode(b"x").decode()},
    )
    assert no_sha.status == 422
    no_branch = raw(
        "PUT",
        f"{REPO}/contents/a.md",
        {"message": "x", "content": "eA==", "branch": "nope"},
    )
    assert no_branch.status == 404
    bad = raw("PUT", f"{REPO}/contents/a.md", {"message": "x", "content": "!!!"})
    assert bad.status == 422
    repo.delete_file("README.md", "Drop README", repo.get_contents("README.md").sha)
    assert "README.md" not in git(sandbox, "ls-tree", "--name-only", "main").split()
    assert git(sandbox, "log", "--format=%s", "-1", "main").strip() == "Drop README"


def test_branches(gh: Callable[..., Github]) -> None:
    repo = gh("lessonbot").get_repo("lessons/content")
    main = repo.get_branch("main")
    assert main.name == "main" and main.protected is False
    assert main.commit.commit.message == "Import lesson content"
    repo.create_git_ref("refs/heads/feature/x", main.commit.sha)
    assert sorted(branch.name for branch in repo.get_branches()) == ["feature/x", "main"]
    assert repo.get_branch("feature/x").commit.sha == main.commit.sha
    with pytest.raises(GithubException) as missing:
        repo.get_branch("nope")
    assert missing.value.status == 404
