"""Git's smart HTTP protocol on the sandbox, driven by the real `git` binary."""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from github import Github

from sandboxes.github import GitHubSandbox
from tests.sandboxes.github.conftest import LESSON, LESSON_TEXT, Reply, http
from tests.sandboxes.github.test_routes_pulls import suggest

# The person's own git configuration (credential helpers, URL rewrites) stays out of it.
GIT_ENV = {
    **os.environ,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
}


def git(*args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run the git client and return what it did."""
    return subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True, check=check
    )


def bare(sandbox: GitHubSandbox, *args: str) -> str:
    """Run git on the sandbox's bare repository."""
    return subprocess.run(
        ["git", "-C", str(sandbox.git_dir), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def test_clone_with_and_without_dot_git_matches_the_repository(
    sandbox: GitHubSandbox, raw: Callable[..., Reply], tmp_path: Path
) -> None:
    clone_url = raw("GET", "/repos/lessons/content").json()["clone_url"]
    assert clone_url == f"{sandbox.base_url}/lessons/content.git"

    git("clone", "--quiet", clone_url, str(tmp_path / "a"))
    git("clone", "--quiet", clone_url.removesuffix(".git"), str(tmp_path / "b"))

    main = bare(sandbox, "rev-parse", "refs/heads/main")
    for name in ("a", "b"):
        assert git("rev-parse", "HEAD", cwd=tmp_path / name).stdout.strip() == main
        assert (tmp_path / name / LESSON).read_text(encoding="utf-8") == LESSON_TEXT
    # Each git round trip is in the request log, as REST calls are.
    assert {"method": "POST", "path": "/lessons/content.git/git-upload-pack", "status": 200} in (
        sandbox.requests
    )


def test_pull_request_heads_are_fetchable_and_follow_new_commits(
    sandbox: GitHubSandbox, gh: Callable[..., Github], tmp_path: Path
) -> None:
    url = f"{sandbox.base_url}/lessons/content.git"
    repo = gh("lessonbot").get_repo("lessons/content")
    first = suggest(repo, "suggest-1", b"two commands", b"two programs")
    pull = repo.create_pull(base="main", head="suggest-1", title="Clearer wording")

    listed = git("ls-remote", url).stdout
    assert f"{first}\trefs/pull/{pull.number}/head" in listed

    # A new commit on the branch moves the pull request's ref with it.
    current = repo.get_contents(LESSON, ref="suggest-1")
    text = current.decoded_content.replace(b"Keep each tool small.", b"Keep tools small.")
    second = repo.update_file(LESSON, "Shorter", text, current.sha, "suggest-1")["commit"].sha
    assert bare(sandbox, "rev-parse", f"refs/pull/{pull.number}/head") == second

    work = tmp_path / "work"
    git("clone", "--quiet", url, str(work))
    git("fetch", "--quiet", "origin", f"pull/{pull.number}/head", cwd=work)
    assert git("rev-parse", "FETCH_HEAD", cwd=work).stdout.strip() == second
    shown = git("show", f"FETCH_HEAD:{LESSON}", cwd=work).stdout
    assert "two programs" in shown and "Keep tools small." in shown


def test_fetch_gets_commits_made_through_the_api(
    sandbox: GitHubSandbox, gh: Callable[..., Github], tmp_path: Path
) -> None:
    work = tmp_path / "work"
    git("clone", "--quiet", f"{sandbox.base_url}/lessons/content", str(work))
    repo = gh("maintainer").get_repo("lessons/content")
    current = repo.get_contents(LESSON, ref="main")
    text = current.decoded_content.replace(b"title: Pipes", b"title: Pipes and Filters")
    sha = repo.update_file(LESSON, "Rename", text, current.sha, "main")["commit"].sha

    git("fetch", "--quiet", "origin", cwd=work)

    assert git("rev-parse", "origin/main", cwd=work).stdout.strip() == sha
    assert "title: Pipes and Filters" in git("show", f"origin/main:{LESSON}", cwd=work).stdout


def test_a_large_negotiation_is_served(sandbox: GitHubSandbox, tmp_path: Path) -> None:
    # Enough refs that git sends its want list gzipped and chunked.
    main = bare(sandbox, "rev-parse", "refs/heads/main")
    for i in range(60):
        bare(sandbox, "update-ref", f"refs/heads/topic-with-a-long-name-{i:03d}", main)

    mirror = tmp_path / "mirror"
    git("clone", "--quiet", "--mirror", f"{sandbox.base_url}/lessons/content.git", str(mirror))

    mirrored = git("for-each-ref", "--format=%(refname)", "refs/heads/", cwd=mirror).stdout
    assert len(mirrored.split()) == 61


def test_pushes_are_refused(sandbox: GitHubSandbox, tmp_path: Path) -> None:
    url = f"{sandbox.base_url}/lessons/content.git"
    work = tmp_path / "work"
    git("clone", "--quiet", url, str(work))
    before = bare(sandbox, "for-each-ref")

    pushed = git(
        "-c",
        "http.extraHeader=Authorization: token maintainer",
        "push",
        "origin",
        "HEAD:refs/heads/sneaky",
        cwd=work,
        check=False,
    )

    assert pushed.returncode != 0
    assert "Permission to lessons/content.git denied to maintainer." in pushed.stderr
    assert "403" in pushed.stderr
    assert bare(sandbox, "for-each-ref") == before


def test_credentials_are_checked_as_the_rest_api_checks_them(
    sandbox: GitHubSandbox, tmp_path: Path
) -> None:
    url = f"{sandbox.base_url}/lessons/content.git"
    token = base64.b64encode(b"x-access-token:maintainer").decode()
    for header in (
        "Authorization: Bearer maintainer",
        "Authorization: token maintainer",
        f"Authorization: Basic {token}",
    ):
        listed = git("-c", f"http.extraHeader={header}", "ls-remote", url, check=False)
        assert listed.returncode == 0, (header, listed.stderr)
        assert "refs/heads/main" in listed.stdout

    refused = git("-c", "http.extraHeader=Authorization: Basic %%%", "ls-remote", url, check=False)

    assert refused.returncode != 0
    assert sandbox.requests[-1]["status"] == 401
    challenge = http(
        sandbox.base_url,
        "GET",
        "/lessons/content.git/info/refs?service=git-upload-pack",
        login=None,
        headers={"Authorization": "Basic %%%"},
    )
    assert challenge.status == 401
    assert challenge.headers["WWW-Authenticate"] == 'Basic realm="GitHub"'


def test_unknown_repositories_and_faults_fail_clearly(sandbox: GitHubSandbox) -> None:
    missing = git("ls-remote", f"{sandbox.base_url}/lessons/nope.git", check=False)
    assert missing.returncode != 0
    assert "Repository not found." in missing.stderr

    sandbox.add_fault("GET /lessons/content.git/info/refs")
    failed = git("ls-remote", f"{sandbox.base_url}/lessons/content.git", check=False)
    assert failed.returncode != 0 and "502" in failed.stderr
    assert git("ls-remote", f"{sandbox.base_url}/lessons/content.git").returncode == 0


def test_dumb_http_is_not_served(raw: Callable[..., Reply]) -> None:
    answer = raw("GET", "/lessons/content.git/info/refs", login=None)

    assert answer.status == 403
    assert b"upgrade your git client" in answer.body
