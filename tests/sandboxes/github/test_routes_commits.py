"""Commits listing, compare, statuses, checks and the diff / patch / raw media types."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from github import Github

from sandboxes.github import GitHubSandbox
from tests.sandboxes.github.conftest import LESSON, LESSON_TEXT, Reply, http, validate
from tests.sandboxes.github.test_payloads import REPO, ok, open_pull, validate_list

DIFF = {"Accept": "application/vnd.github.diff"}
PATCH = {"Accept": "application/vnd.github.v3.patch"}


def _main_sha(raw: Callable[..., Reply]) -> str:
    return ok(raw("GET", f"{REPO}/git/ref/heads/main")).json()["object"]["sha"]


def _commit_on_main(raw: Callable[..., Reply], text: bytes, message: str) -> str:
    current = ok(raw("GET", f"{REPO}/contents/README.md")).json()
    data = {"message": message, "content": base64.b64encode(text).decode(), "sha": current["sha"]}
    return ok(raw("PUT", f"{REPO}/contents/README.md", data)).json()["commit"]["sha"]


def test_commits_status_and_check_runs_are_not_swallowed_by_the_commit_route(
    models: Any, raw: Callable[..., Reply]
) -> None:
    sha = _main_sha(raw)
    combined = ok(raw("GET", f"{REPO}/commits/main/status"))
    validate(models.CombinedCommitStatus, combined.body)
    assert combined.json()["state"] == "pending" and combined.json()["total_count"] == 0
    assert combined.json()["sha"] == sha
    checks = ok(raw("GET", f"{REPO}/commits/{sha}/check-runs")).json()
    assert checks == {"total_count": 0, "check_runs": []}
    assert raw("GET", f"{REPO}/commits/nope/status").status == 422


def test_statuses_combine_as_github_does(models: Any, raw: Callable[..., Reply]) -> None:
    sha = _main_sha(raw)
    status = {"state": "pending", "context": "ci/lint", "target_url": "https://ci.example/1"}
    created = ok(raw("POST", f"{REPO}/statuses/{sha}", status), 201)
    validate(models.Status, created.body)
    assert created.json()["creator"]["login"] == "maintainer"
    ok(raw("POST", f"{REPO}/statuses/{sha}", {"state": "success", "context": "ci/test"}), 201)
    assert ok(raw("GET", f"{REPO}/commits/{sha}/status")).json()["state"] == "pending"
    ok(raw("POST", f"{REPO}/statuses/{sha}", {"state": "success", "context": "ci/lint"}), 201)
    combined = ok(raw("GET", f"{REPO}/commits/main/status")).json()
    assert combined["state"] == "success"
    assert sorted(s["context"] for s in combined["statuses"]) == ["ci/lint", "ci/test"]
    ok(raw("POST", f"{REPO}/statuses/{sha}", {"state": "error", "context": "ci/test"}), 201)
    assert ok(raw("GET", f"{REPO}/commits/{sha}/status")).json()["state"] == "failure"
    listed = ok(raw("GET", f"{REPO}/commits/{sha}/statuses"))
    validate_list(models.Status, listed)
    assert len(listed.json()) == 4 and listed.json()[0]["state"] == "error"
    assert raw("POST", f"{REPO}/statuses/{sha}", {"state": "done"}).status == 422
    assert raw("POST", f"{REPO}/statuses/{'0' * 40}", {"state": "success"}).status == 422


def test_pygithub_reads_and_writes_statuses(
    gh: Callable[..., Github], raw: Callable[..., Reply]
) -> None:
    repo = gh("maintainer").get_repo("lessons/content")
    commit = repo.get_commit("main")
    commit.create_status("failure", "https://ci.example/2", "Lint failed", "ci/lint")
    combined = commit.get_combined_status()
    assert combined.state == "failure"
    assert [status.description for status in combined.statuses] == ["Lint failed"]
    assert [status.context for status in commit.get_statuses()] == ["ci/lint"]
    assert commit.get_check_runs().totalCount == 0


def test_commits_list_filters_and_paginates(
    models: Any, raw: Callable[..., Reply], gh: Callable[..., Github]
) -> None:
    first = _main_sha(raw)
    second = _commit_on_main(raw, b"# Lessons\n\nTwo.\n", "Second")
    third = _commit_on_main(raw, b"# Lessons\n\nThree.\n", "Third")
    listed = ok(raw("GET", f"{REPO}/commits"))
    validate_list(models.Commit, listed)
    assert [c["sha"] for c in listed.json()] == [third, second, first]
    page = ok(raw("GET", f"{REPO}/commits?per_page=1&page=2"))
    assert [c["sha"] for c in page.json()] == [second]
    assert 'rel="next"' in page.headers["Link"] and 'rel="prev"' in page.headers["Link"]
    by_path = ok(raw("GET", f"{REPO}/commits?path={LESSON}")).json()
    assert [c["sha"] for c in by_path] == [first]
    assert [c["sha"] for c in ok(raw("GET", f"{REPO}/commits?sha={second}")).json()] == [
        second,
        first,
    ]
    assert ok(raw("GET", f"{REPO}/commits?until=2000-01-01T00:00:00Z")).json() == []
    assert raw("GET", f"{REPO}/commits?sha=nope").status == 404
    repo = gh("maintainer").get_repo("lessons/content")
    assert [c.sha for c in repo.get_commits(path="README.md")] == [third, second, first]


def test_compare_reports_ahead_behind_and_files(
    models: Any, raw: Callable[..., Reply], gh: Callable[..., Github]
) -> None:
    number = open_pull(raw)
    fork = _main_sha(raw)
    ahead = ok(raw("GET", f"{REPO}/compare/main...fix"))
    validate(models.CommitComparison, ahead.body)
    data = ahead.json()
    assert (data["status"], data["ahead_by"], data["behind_by"]) == ("ahead", 1, 0)
    assert data["merge_base_commit"]["sha"] == fork
    assert [f["filename"] for f in data["files"]] == [LESSON]
    assert "+One more line." in data["files"][0]["patch"]
    _commit_on_main(raw, b"# Lessons\n\nMoved on.\n", "Move main")
    diverged = ok(raw("GET", f"{REPO}/compare/main...fix")).json()
    assert (diverged["status"], diverged["ahead_by"], diverged["behind_by"]) == ("diverged", 1, 1)
    behind = ok(raw("GET", f"{REPO}/compare/fix...{fork}")).json()
    assert (behind["status"], behind["behind_by"]) == ("behind", 1)
    assert ok(raw("GET", f"{REPO}/compare/main...main")).json()["status"] == "identical"
    assert raw("GET", f"{REPO}/compare/main...nope").status == 404
    comparison = gh("maintainer").get_repo("lessons/content").compare("main", "fix")
    assert comparison.status == "diverged" and comparison.ahead_by == 1
    assert [f.filename for f in comparison.files] == [LESSON]
    assert number


def test_pull_diff_and_patch_media_types_and_urls(
    sandbox: GitHubSandbox, raw: Callable[..., Reply]
) -> None:
    number = open_pull(raw)
    diff = ok(raw("GET", f"{REPO}/pulls/{number}", headers=DIFF))
    assert diff.headers["Content-Type"].startswith("application/vnd.github.diff")
    text = diff.body.decode()
    assert text.startswith(f"diff --git a/{LESSON} b/{LESSON}\nindex ")
    assert "\n+One more line.\n" in text
    same = ok(
        raw("GET", f"{REPO}/pulls/{number}", headers={"Accept": "application/vnd.github.v3.diff"})
    )
    assert same.body == diff.body
    patch = ok(raw("GET", f"{REPO}/pulls/{number}", headers=PATCH)).body.decode()
    assert patch.startswith("From ") and "Subject: [PATCH] Add a line" in patch
    assert "\n+One more line.\n" in patch
    pull = ok(raw("GET", f"{REPO}/pulls/{number}")).json()
    for url, expected in ((pull["diff_url"], diff.body), (pull["patch_url"], patch.encode())):
        assert url.startswith(sandbox.base_url)
        served = ok(http(sandbox.base_url, "GET", url.removeprefix(sandbox.base_url), login=None))
        assert served.headers["Content-Type"].startswith("text/plain")
        assert served.body == expected
    assert raw("GET", "/lessons/content/pull/999.diff").status == 404


def test_commit_and_compare_diffs(sandbox: GitHubSandbox, raw: Callable[..., Reply]) -> None:
    open_pull(raw)
    head = ok(raw("GET", f"{REPO}/git/ref/heads/fix")).json()["object"]["sha"]
    diff = ok(raw("GET", f"{REPO}/commits/{head}", headers=DIFF)).body.decode()
    assert diff.startswith("diff --git") and "+One more line." in diff
    patch = ok(raw("GET", f"{REPO}/commits/{head}", headers=PATCH)).body.decode()
    assert patch.startswith(f"From {head} ")
    sha = ok(raw("GET", f"{REPO}/commits/fix", headers={"Accept": "application/vnd.github.sha"}))
    assert sha.body.decode() == head
    compared = ok(raw("GET", f"{REPO}/compare/main...fix", headers=DIFF)).body
    assert compared.decode() == diff
    commit = ok(raw("GET", f"{REPO}/commits/{head}")).json()
    assert json.loads(json.dumps(commit))["sha"] == head  # JSON is still the default
    web = ok(raw("GET", f"/lessons/content/commit/{head}.diff", login=None)).body.decode()
    assert web == diff
    web_compare = raw("GET", "/lessons/content/compare/main...fix.patch", login=None)
    assert ok(web_compare).body.decode().startswith(f"From {head} ")


def test_contents_raw_media_type(raw: Callable[..., Reply]) -> None:
    for accept in ("application/vnd.github.raw", "application/vnd.github.raw+json"):
        reply = ok(raw("GET", f"{REPO}/contents/{LESSON}", headers={"Accept": accept}))
        assert reply.body == LESSON_TEXT.encode()
        assert reply.headers["Content-Type"].startswith("application/vnd.github.raw")
    listing = raw(
        "GET", f"{REPO}/contents/programs", headers={"Accept": "application/vnd.github.raw"}
    )
    assert isinstance(ok(listing).json(), list)  # a directory stays a JSON listing


def test_a_new_status_sends_the_status_webhook(
    sandbox: GitHubSandbox,
    raw: Callable[..., Reply],
    webhook_model_validator: Callable[[str, str | None, dict[str, Any]], None],
) -> None:
    sandbox.webhook_url = "http://127.0.0.1:9/hooks"  # deliveries are recorded even if lost
    sha = _main_sha(raw)
    status = {"state": "failure", "context": "ci/lint", "description": "2 errors"}
    ok(raw("POST", f"{REPO}/statuses/{sha}", status), 201)
    sandbox.wait_for_webhooks_blocking()
    [delivery] = [d for d in sandbox.deliveries if d["event"] == "status"]
    payload = delivery["payload"]
    webhook_model_validator("status", None, payload)
    assert (payload["sha"], payload["state"], payload["context"]) == (sha, "failure", "ci/lint")
    assert [branch["name"] for branch in payload["branches"]] == ["main"]
    assert payload["sender"]["login"] == "maintainer"
