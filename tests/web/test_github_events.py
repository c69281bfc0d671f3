"""GitHub webhook payloads parse into the typed events services take, or into nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.services.events import (
    IssueCommentEvent,
    PullRequestEvent,
    PushCommit,
    PushEvent,
    ReviewCommentEvent,
    ReviewEvent,
)
from bot.web.github_events import BODY_LIMIT, EVENT_NAMES, parse_event
from tests.web.support import EXAMPLES


def example(relative: str) -> Any:
    path = EXAMPLES / relative
    if not path.is_file():
        pytest.skip(f"GitHub's example payloads are not present at {EXAMPLES} (no ../shared)")
    return json.loads(path.read_text())


# --- GitHub's own examples -----------------------------------------------------------------


def test_a_real_merged_or_closed_pull_request_parses() -> None:
    event = parse_event("pull_request", example("pull_request/closed.payload.json"))

    assert isinstance(event, PullRequestEvent)
    assert (event.action, event.repository, event.sender) == (
        "closed",
        "Codertocat/Hello-World",
        "Codertocat",
    )
    pull = event.pull_request
    assert pull.number == 2
    assert pull.url == "https://github.com/Codertocat/Hello-World/pull/2"
    assert (pull.author, pull.head_ref, pull.base_ref) == ("Codertocat", "changes", "master")
    assert pull.head_repository == "Codertocat/Hello-World"
    assert pull.head_sha == "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
    assert (pull.merged, pull.merged_by) == (False, "")
    assert pull.merge_commit_sha == "c4295bd74fb0f4fda03689c3df3f2803b658fd85"


@pytest.mark.parametrize(
    "relative", sorted(p.name for p in Path(EXAMPLES, "pull_request").glob("*.json"))
)
def test_every_real_pull_request_example_parses(relative: str) -> None:
    payload = example(f"pull_request/{relative}")
    event = parse_event("pull_request", payload)
    assert isinstance(event, PullRequestEvent)
    assert event.action == payload["action"]
    assert event.pull_request.number == payload["pull_request"]["number"]


def test_a_real_review_parses_with_its_null_body_as_empty() -> None:
    event = parse_event(
        "pull_request_review", example("pull_request_review/submitted.payload.json")
    )

    assert isinstance(event, ReviewEvent)
    assert (event.action, event.pull_request.number) == ("submitted", 2)
    review = event.review
    assert (review.id, review.state, review.body) == (237895671, "commented", "")
    assert (review.reviewer, review.association) == ("Codertocat", "OWNER")
    assert review.commit_id == "ec26c3e57ca3a959ca5aad62de7213c562f8c821"


def test_a_real_dismissed_review_parses() -> None:
    event = parse_event(
        "pull_request_review", example("pull_request_review/dismissed.payload.json")
    )
    assert isinstance(event, ReviewEvent)
    assert (event.action, event.review.state) == ("dismissed", "dismissed")


@pytest.mark.parametrize("action", ["created", "edited", "deleted"])
def test_real_issue_comments_parse(action: str) -> None:
    event = parse_event("issue_comment", example(f"issue_comment/{action}.payload.json"))

    assert isinstance(event, IssueCommentEvent)
    assert (event.action, event.repository, event.sender) == (
        action,
        "Codertocat/Hello-World",
        "Codertocat",
    )
    issue, comment = event.issue, event.comment
    assert (issue.number, issue.title, issue.is_pull_request) == (
        1,
        "Spelling error in the README file",
        False,
    )
    assert issue.url == "https://github.com/Codertocat/Hello-World/issues/1"
    assert comment.id == 492700400
    assert (comment.author, comment.author_type, comment.association) == (
        "Codertocat",
        "User",
        "OWNER",
    )
    assert comment.url == f"{issue.url}#issuecomment-492700400"
    assert comment.created_at == datetime(2019, 5, 15, 15, 20, 21, tzinfo=UTC)


def test_a_real_push_of_a_tag_parses_and_is_not_to_the_default_branch() -> None:
    event = parse_event("push", example("push/payload.json"))

    assert isinstance(event, PushEvent)
    assert (event.ref, event.default_branch, event.deleted) == (
        "refs/tags/simple-tag",
        "master",
        True,
    )
    assert not event.to_default_branch
    assert event.commits == event.changed_paths == ()


def test_a_real_push_to_the_default_branch_lists_its_changed_files() -> None:
    event = parse_event("push", example("push/with-new-branch.payload.json"))

    assert isinstance(event, PushEvent)
    assert event.to_default_branch
    assert event.commits == (PushCommit(added=("README.md",)),)
    assert event.changed_paths == ("README.md",)


@pytest.mark.parametrize("relative", ["issues/opened.payload.json", "ping/payload.json"])
def test_events_the_bot_does_not_follow_parse_to_nothing(relative: str) -> None:
    assert parse_event(relative.split("/")[0], example(relative)) is None


# --- small payloads, so a fresh clone tests the parser too ------------------------------------

PULL = {"number": 7, "head": {"ref": "lessonbot/suggest/3", "repo": {"full_name": "o/r"}}}


def test_a_minimal_pull_request_event_leaves_what_is_missing_empty() -> None:
    event = parse_event("pull_request", {"action": "closed", "pull_request": {"number": 7}})

    assert isinstance(event, PullRequestEvent)
    assert (event.repository, event.sender) == ("", "")
    pull = event.pull_request
    assert (pull.number, pull.url, pull.author, pull.head_ref, pull.head_sha) == (
        7,
        None,
        "",
        "",
        "",
    )
    assert (pull.merged, pull.merge_commit_sha, pull.merged_by) == (False, None, "")


def test_a_merged_pull_request_says_who_merged_it() -> None:
    payload = {
        "action": "closed",
        "repository": {"full_name": "o/r"},
        "sender": {"login": "mia"},
        "pull_request": {
            **PULL,
            "merged": True,
            "merged_by": {"login": "mia"},
            "merge_commit_sha": "abc",
            "user": {"login": "lessonbot"},
            "html_url": "https://github.test/o/r/pull/7",
        },
    }
    event = parse_event("pull_request", payload)

    assert isinstance(event, PullRequestEvent)
    pull = event.pull_request
    assert (pull.merged, pull.merged_by, pull.merge_commit_sha) == (True, "mia", "abc")
    assert (pull.author, pull.head_ref, pull.head_repository) == (
        "lessonbot",
        "lessonbot/suggest/3",
        "o/r",
    )


def test_a_review_state_is_lower_case() -> None:
    payload = {
        "action": "submitted",
        "pull_request": PULL,
        "review": {"id": 70, "state": "CHANGES_REQUESTED", "user": {"login": "mia"}, "body": None},
    }
    event = parse_event("pull_request_review", payload)

    assert isinstance(event, ReviewEvent)
    assert (event.review.state, event.review.body, event.review.reviewer) == (
        "changes_requested",
        "",
        "mia",
    )


def test_an_outdated_line_comment_keeps_its_original_line() -> None:
    comment = {
        "id": 55,
        "pull_request_review_id": 70,
        "user": {"login": "mia"},
        "path": "a.mdx",
        "line": None,
        "original_line": 16,
        "start_line": None,
        "body": "```suggestion\nx\n```",
        "html_url": "https://github.test/o/r/pull/7#discussion_r55",
    }
    event = parse_event(
        "pull_request_review_comment",
        {"action": "created", "pull_request": PULL, "comment": comment},
    )

    assert isinstance(event, ReviewCommentEvent)
    line = event.comment
    assert (line.id, line.review_id, line.author, line.path) == (55, 70, "mia", "a.mdx")
    assert (line.line, line.start_line, line.url) == (16, None, comment["html_url"])


def test_a_comment_on_a_pull_request_is_marked_so() -> None:
    payload = {
        "action": "created",
        "issue": {"number": 3, "pull_request": {}, "labels": [{"name": "lesson-discussion"}]},
        "comment": {"id": 1, "body": "Hi", "user": {"login": "ana", "type": "User"}},
    }
    event = parse_event("issue_comment", payload)

    assert isinstance(event, IssueCommentEvent)
    assert event.issue.is_pull_request
    assert event.issue.labels == ("lesson-discussion",)
    assert event.comment.created_at is None  # the service takes its own clock then


def test_a_body_longer_than_github_keeps_is_cut_to_its_limit() -> None:
    long = "Why? " + "x" * (BODY_LIMIT * 3)
    payload = {
        "action": "created",
        "issue": {"number": 3, "body": long},
        "comment": {"id": 1, "body": long, "user": {"login": "ana", "type": "User"}},
    }
    event = parse_event("issue_comment", payload)

    assert isinstance(event, IssueCommentEvent)
    assert event.comment.body == long[:BODY_LIMIT]
    assert event.issue.body == long[:BODY_LIMIT]


def test_a_push_lists_each_changed_file_once_in_its_commits_order() -> None:
    payload = {
        "ref": "refs/heads/main",
        "after": "f" * 40,
        "commits": [
            {"added": ["b.mdx"], "modified": ["a.mdx"], "removed": []},
            {"added": [], "modified": ["b.mdx"], "removed": ["c.mdx"]},
        ],
    }
    event = parse_event("push", payload)

    assert isinstance(event, PushEvent)
    assert event.changed_paths == ("b.mdx", "a.mdx", "c.mdx")
    assert event.commits[1] == PushCommit(modified=("b.mdx",), removed=("c.mdx",))
    # Without the repository's default branch named, main is taken to be it.
    assert (event.default_branch, event.to_default_branch, event.deleted) == ("main", True, False)


def test_every_followed_event_kind_has_a_webhook_name() -> None:
    assert set(EVENT_NAMES.values()) == {
        "pull_request",
        "pull_request_review",
        "pull_request_review_comment",
        "issue_comment",
        "push",
    }


@pytest.mark.parametrize(
    ("name", "payload"),
    [
        ("issue_comment", {"action": "created"}),
        ("issue_comment", {"issue": {"number": 1}, "comment": {"id": "1"}}),
        ("issue_comment", {"issue": {"number": True}, "comment": {"id": 1}}),
        ("issue_comment", {"issue": [], "comment": {"id": 1}}),
        ("issue_comment", {"issue": {"number": 1}, "comment": {"id": 1, "body": 5}}),
        ("issue_comment", {"issue": {"number": 1, "labels": ["x"]}, "comment": {"id": 1}}),
        ("pull_request", {"action": "closed"}),
        ("pull_request", {"action": "closed", "pull_request": None}),
        ("pull_request", {"action": "closed", "pull_request": {"number": "7"}}),
        ("pull_request", {"action": "closed", "pull_request": {"number": 7, "merged": "yes"}}),
        ("pull_request", {"action": 1, "pull_request": {"number": 7}}),
        ("pull_request_review", {"action": "submitted", "pull_request": {"number": 7}}),
        ("pull_request_review", {"pull_request": {"number": 7}, "review": {"user": "mia"}}),
        ("pull_request_review_comment", {"pull_request": {"number": 7}, "comment": {"line": "1"}}),
        ("push", {"ref": "refs/heads/main", "commits": {"added": []}}),
        ("push", {"ref": "refs/heads/main", "commits": [{"added": [1]}]}),
        ("push", {"ref": "refs/heads/main", "deleted": "false"}),
        ("push", {"ref": ["refs/heads/main"]}),
        ("push", ["not", "an", "object"]),
    ],
)
def test_a_malformed_payload_parses_to_nothing_and_is_logged(
    name: str, payload: Any, caplog: pytest.LogCaptureFixture
) -> None:
    assert parse_event(name, payload) is None
    assert "ignoring a" in caplog.text and name in caplog.text
