"""Injected faults: matching, consumption, and what each mode does over HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from github import Github

from sandboxes.github import GitHubSandbox
from sandboxes.github.faults import Fault, FaultList
from tests.sandboxes.github.conftest import Reply

ISSUES = "/repos/lessons/content/issues"


def test_fault_matches_method_and_path_glob() -> None:
    fault = Fault(match="POST /repos/*/pulls", mode="before")
    assert fault.matches("POST", "/repos/lessons/content/pulls")
    assert fault.matches("post", "/repos/lessons/content/pulls")
    assert not fault.matches("GET", "/repos/lessons/content/pulls")
    assert not fault.matches("POST", "/repos/lessons/content/pulls/1/reviews")
    assert Fault(match="* /user", mode="before").matches("DELETE", "/user")


@pytest.mark.parametrize(
    ("match", "mode", "count"),
    [("/repos", "before", 1), ("POST /x", "sideways", 1), ("POST /x", "after", 0)],
)
def test_malformed_faults_are_refused(match: str, mode: str, count: int) -> None:
    with pytest.raises(ValueError):
        Fault(match=match, mode=mode, count=count)


def test_fault_list_consumes_in_order_and_forgets_spent_faults() -> None:
    faults = FaultList()
    faults.add("POST /a", "before", count=2)
    faults.add("POST /*", "after")
    assert faults.take("POST", "/a") == "before"
    assert faults.take("POST", "/a") == "before"
    assert faults.take("POST", "/a") == "after"
    assert faults.take("POST", "/a") is None
    assert faults.to_json() == []


def count_issues(raw: Callable[..., Reply]) -> int:
    """Count issues through the API."""
    return len(raw("GET", ISSUES + "?state=all").json())


def test_before_answers_502_without_applying(
    sandbox: GitHubSandbox, raw: Callable[..., Reply]
) -> None:
    reply = raw("POST", "/_sandbox/faults", {"match": "POST /repos/*/issues", "mode": "before"})
    assert reply.status == 201
    assert raw("POST", ISSUES, {"title": "lost"}).status == 502
    assert count_issues(raw) == 0
    assert raw("POST", ISSUES, {"title": "kept"}).status == 201  # count was 1
    assert count_issues(raw) == 1


def test_after_applies_the_write_and_loses_the_answer(
    sandbox: GitHubSandbox, raw: Callable[..., Reply]
) -> None:
    sandbox.add_fault(match="POST /repos/*/issues", mode="after", count=1)
    reply = raw("POST", ISSUES, {"title": "written anyway"})
    assert reply.status == 502
    issues = raw("GET", ISSUES).json()
    assert [issue["title"] for issue in issues] == ["written anyway"]
    assert sandbox.requests[0] == {"method": "POST", "path": ISSUES, "status": 502}


def test_secondary_rate_limit_answers_403_with_retry_after(
    sandbox: GitHubSandbox, raw: Callable[..., Reply]
) -> None:
    sandbox.add_fault(match="GET /repos/*/issues", mode="secondary", count=2)
    for _ in range(2):
        reply = raw("GET", ISSUES)
        assert reply.status == 403
        assert reply.headers["Retry-After"] == "1"
        assert reply.json()["message"].startswith("You have exceeded a secondary rate limit")
    assert raw("GET", ISSUES).status == 200


def test_primary_rate_limit_answers_403_with_nothing_remaining(
    sandbox: GitHubSandbox, raw: Callable[..., Reply]
) -> None:
    sandbox.add_fault(match="GET /repos/*", mode="primary")
    reply = raw("GET", "/repos/lessons/content")
    assert reply.status == 403
    assert reply.headers["X-RateLimit-Remaining"] == "0"
    reset = int(reply.headers["X-RateLimit-Reset"])
    assert time.time() < reset <= time.time() + 3
    assert reply.json()["message"].startswith("API rate limit exceeded")
    assert raw("GET", "/repos/lessons/content").status == 200


def test_admin_routes_list_and_clear_faults(
    sandbox: GitHubSandbox, raw: Callable[..., Reply]
) -> None:
    raw("POST", "/_sandbox/faults", {"match": "GET /user", "mode": "before", "count": 3})
    assert raw("GET", "/_sandbox/faults").json() == [
        {"match": "GET /user", "mode": "before", "count": 3}
    ]
    assert raw("POST", "/_sandbox/faults", {"match": "GET /user", "mode": "nope"}).status == 422
    assert raw("DELETE", "/_sandbox/faults").status == 204
    assert raw("GET", "/user").status == 200
    # Admin calls are not API requests: only GET /user was logged.
    assert [entry["path"] for entry in sandbox.requests] == ["/user"]


def test_pygithub_retries_a_lost_post_and_so_writes_twice(
    sandbox: GitHubSandbox, gh: Callable[..., Github]
) -> None:
    # PyGithub's default GithubRetry resends a POST after a 502: a bot that is not
    # idempotent opens two issues. This is the case the bot's outbox must survive.
    from github import GithubRetry

    client = gh("lessonbot", retry=GithubRetry(backoff_factor=0))
    sandbox.add_fault(match="POST /repos/*/issues", mode="after")
    client.get_repo("lessons/content").create_issue("once")
    titles = [i.title for i in client.get_repo("lessons/content").get_issues()]
    assert titles == ["once", "once"]


def test_pygithub_waits_out_a_secondary_rate_limit(
    sandbox: GitHubSandbox, gh: Callable[..., Github]
) -> None:
    from github import GithubRetry

    client = gh("lessonbot", retry=GithubRetry(secondary_rate_wait=0.1))
    sandbox.add_fault(match="POST /repos/*/issues", mode="secondary")
    issue = client.get_repo("lessons/content").create_issue("after the wait")
    assert issue.number == 1
    posts = [entry["status"] for entry in sandbox.requests if entry["method"] == "POST"]
    assert posts == [403, 201]
