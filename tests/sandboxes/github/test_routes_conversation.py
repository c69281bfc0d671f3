"""Reactions, lock and unlock, assignees and the issue timeline."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from github import Github

from sandboxes.github import GitHubSandbox
from tests.sandboxes.github.conftest import LESSON, Reply, http, validate
from tests.sandboxes.github.test_payloads import REPO, ok, open_pull, validate_list


def _issue(raw: Callable[..., Reply], login: str = "someone") -> int:
    return ok(raw("POST", f"{REPO}/issues", {"title": "A question"}, login=login), 201).json()[
        "number"
    ]


def test_reactions_on_issues_and_comments(models: Any, raw: Callable[..., Reply]) -> None:
    number = _issue(raw)
    path = f"{REPO}/issues/{number}/reactions"
    first = ok(raw("POST", path, {"content": "+1"}, login="someone"), 201)
    validate(models.Reaction, first.body)
    again = ok(raw("POST", path, {"content": "+1"}, login="someone"), 200)
    assert again.json()["id"] == first.json()["id"]
    ok(raw("POST", path, {"content": "+1"}, login="maintainer"), 201)
    ok(raw("POST", path, {"content": "rocket"}, login="maintainer"), 201)
    assert raw("POST", path, {"content": "thumbsup"}).status == 422
    validate_list(models.Reaction, ok(raw("GET", path)))
    assert len(ok(raw("GET", path + "?content=%2B1")).json()) == 2
    issue = ok(raw("GET", f"{REPO}/issues/{number}"))
    validate(models.Issue, issue.body)
    rollup = issue.json()["reactions"]
    assert (rollup["total_count"], rollup["+1"], rollup["rocket"]) == (3, 2, 1)
    reaction_id = first.json()["id"]
    assert raw("DELETE", f"{path}/{reaction_id}", login="maintainer").status == 403
    assert raw("DELETE", f"{path}/{reaction_id}", login="someone").status == 204
    assert raw("DELETE", f"{path}/{reaction_id}", login="someone").status == 404
    assert ok(raw("GET", f"{REPO}/issues/{number}")).json()["reactions"]["+1"] == 1

    comment = ok(
        raw("POST", f"{REPO}/issues/{number}/comments", {"body": "```suggestion\nx\n```"}), 201
    ).json()
    comment_path = f"{REPO}/issues/comments/{comment['id']}/reactions"
    ok(raw("POST", comment_path, {"content": "heart"}, login="someone"), 201)
    shown = ok(raw("GET", f"{REPO}/issues/comments/{comment['id']}"))
    validate(models.IssueComment, shown.body)
    assert shown.json()["reactions"]["heart"] == 1
    assert raw("GET", f"{REPO}/issues/comments/1/reactions").status == 404


def test_pygithub_reactions(gh: Callable[..., Github]) -> None:
    repo = gh("someone").get_repo("lessons/content")
    issue = repo.create_issue("Vote here")
    reaction = issue.create_reaction("+1")
    assert reaction.content == "+1" and reaction.user.login == "someone"
    comment = issue.create_comment("A suggestion")
    comment.create_reaction("eyes")
    assert [r.content for r in comment.get_reactions()] == ["eyes"]
    assert [r.content for r in issue.get_reactions()] == ["+1"]
    assert issue.delete_reaction(reaction.id) is True
    assert repo.get_issue(issue.number).reactions["total_count"] == 0


def test_lock_and_unlock(models: Any, raw: Callable[..., Reply], gh: Callable[..., Github]) -> None:
    number = _issue(raw)
    lock = f"{REPO}/issues/{number}/lock"
    assert raw("PUT", lock, {"lock_reason": "resolved"}, login="someone").status == 403
    assert raw("PUT", lock, {"lock_reason": "because"}).status == 422
    assert raw("PUT", lock, {"lock_reason": "resolved"}).status == 204
    issue = ok(raw("GET", f"{REPO}/issues/{number}"))
    validate(models.Issue, issue.body)
    assert (issue.json()["locked"], issue.json()["active_lock_reason"]) == (True, "resolved")
    refused = raw("POST", f"{REPO}/issues/{number}/comments", {"body": "Hi"}, login="someone")
    assert refused.status == 403
    ok(raw("POST", f"{REPO}/issues/{number}/comments", {"body": "Closing note"}), 201)
    assert raw("DELETE", lock).status == 204
    unlocked = ok(raw("GET", f"{REPO}/issues/{number}")).json()
    assert (unlocked["locked"], unlocked["active_lock_reason"]) == (False, None)
    ok(raw("POST", f"{REPO}/issues/{number}/comments", {"body": "Hi"}, login="someone"), 201)
    issue_obj = gh("maintainer").get_repo("lessons/content").get_issue(number)
    issue_obj.lock("spam")
    locked = gh("maintainer").get_repo("lessons/content").get_issue(number)
    assert (locked.locked, locked.active_lock_reason) == (True, "spam")
    issue_obj.unlock()
    assert not gh("maintainer").get_repo("lessons/content").get_issue(number).locked


def test_assignees(models: Any, raw: Callable[..., Reply], gh: Callable[..., Github]) -> None:
    number = _issue(raw)
    listed = ok(raw("GET", f"{REPO}/assignees"))
    validate_list(models.SimpleUser, listed)
    assert sorted(u["login"] for u in listed.json()) == ["lessonbot", "maintainer"]
    assert raw("GET", f"{REPO}/assignees/maintainer").status == 204
    assert raw("GET", f"{REPO}/assignees/someone").status == 404
    assert raw("GET", f"{REPO}/assignees/nobody-at-all").status == 404
    path = f"{REPO}/issues/{number}/assignees"
    added = ok(raw("POST", path, {"assignees": ["maintainer", "someone"]}), 201)
    validate(models.Issue, added.body)
    assert [u["login"] for u in added.json()["assignees"]] == ["maintainer"]
    raw("POST", path, {"assignees": ["lessonbot"]}, login="someone")  # no push access
    unchanged = ok(raw("GET", f"{REPO}/issues/{number}")).json()
    assert [u["login"] for u in unchanged["assignees"]] == ["maintainer"]
    removed = ok(raw("DELETE", path, {"assignees": ["maintainer"]}))
    assert removed.json()["assignees"] == []
    assert raw("POST", path, {"assignees": 5}).status == 422
    repo = gh("maintainer").get_repo("lessons/content")
    assert sorted(u.login for u in repo.get_assignees()) == ["lessonbot", "maintainer"]
    assert repo.has_in_assignees("lessonbot") and not repo.has_in_assignees("someone")
    issue = repo.get_issue(number)
    issue.add_to_assignees("lessonbot")
    assert [u.login for u in repo.get_issue(number).assignees] == ["lessonbot"]
    issue.remove_from_assignees("lessonbot")
    assert repo.get_issue(number).assignees == []


def test_timeline_lists_what_happened(models: Any, raw: Callable[..., Reply]) -> None:
    number = open_pull(raw)
    ok(raw("POST", f"{REPO}/issues/{number}/comments", {"body": "Looks good"}), 201)
    ok(raw("POST", f"{REPO}/issues/{number}/assignees", {"assignees": ["maintainer"]}), 201)
    review = {"event": "APPROVE", "body": "Thanks"}
    ok(raw("POST", f"{REPO}/pulls/{number}/reviews", review))
    assert raw("PUT", f"{REPO}/issues/{number}/lock", {}).status == 204
    timeline = ok(raw("GET", f"{REPO}/issues/{number}/timeline")).json()
    # Oldest first; items of one second keep no order between kinds.
    assert [item["created_at"] for item in timeline if "created_at" in item] == sorted(
        item["created_at"] for item in timeline if "created_at" in item
    )
    events = {item["event"]: item for item in timeline}
    assert sorted(events) == ["assigned", "commented", "committed", "locked", "reviewed"]
    assert events["commented"]["body"] == "Looks good"
    assert events["commented"]["actor"]["login"] == "maintainer"
    assert events["assigned"]["assignee"]["login"] == "maintainer"
    assert events["reviewed"]["state"] == "approved"
    for event, model in (
        ("commented", models.TimelineCommentEvent),
        ("assigned", models.TimelineAssignedIssueEvent),
        ("reviewed", models.TimelineReviewedEvent),
        ("locked", models.LockedIssueEvent),
    ):
        validate(model, json.dumps(events[event]))
    assert raw("GET", f"{REPO}/issues/999/timeline").status == 404


def test_update_branch_merges_base_into_head(
    raw: Callable[..., Reply], gh: Callable[..., Github]
) -> None:
    number = open_pull(raw)
    path = f"{REPO}/pulls/{number}/update-branch"
    assert raw("PUT", path, {}).status == 422  # nothing new on main yet
    readme = ok(raw("GET", f"{REPO}/contents/README.md")).json()
    moved = {"message": "Move main", "content": "IyBNb3ZlZAo=", "sha": readme["sha"]}
    ok(raw("PUT", f"{REPO}/contents/README.md", moved))
    main = ok(raw("GET", f"{REPO}/git/ref/heads/main")).json()["object"]["sha"]
    head = ok(raw("GET", f"{REPO}/pulls/{number}")).json()["head"]["sha"]
    assert raw("PUT", path, {"expected_head_sha": main}).status == 422
    accepted = ok(raw("PUT", path, {"expected_head_sha": head}), 202).json()
    assert accepted["message"] == "Updating pull request branch."
    pull = ok(raw("GET", f"{REPO}/pulls/{number}")).json()
    merge = ok(raw("GET", f"{REPO}/commits/{pull['head']['sha']}")).json()
    assert [p["sha"] for p in merge["parents"]] == [head, main]
    compared = ok(raw("GET", f"{REPO}/compare/main...fix")).json()
    assert (compared["status"], compared["behind_by"]) == ("ahead", 0)
    assert raw("PUT", path, {}).status == 422
    readme = ok(raw("GET", f"{REPO}/contents/README.md")).json()
    again = {"message": "Again", "content": "IyBBZ2Fpbgo=", "sha": readme["sha"]}
    ok(raw("PUT", f"{REPO}/contents/README.md", again))
    assert gh("maintainer").get_repo("lessons/content").get_pull(number).update_branch() is True
    assert ok(raw("GET", f"{REPO}/compare/main...fix")).json()["behind_by"] == 0


def test_update_branch_refuses_a_conflict(raw: Callable[..., Reply]) -> None:
    number = open_pull(raw)
    lesson = ok(raw("GET", f"{REPO}/contents/{LESSON}")).json()
    text = base64.b64decode(lesson["content"]) + b"\nA different line.\n"
    change = {"message": "Clash", "content": base64.b64encode(text).decode(), "sha": lesson["sha"]}
    ok(raw("PUT", f"{REPO}/contents/{LESSON}", change))
    refused = raw("PUT", f"{REPO}/pulls/{number}/update-branch", {})
    assert refused.status == 422 and "conflict" in refused.json()["message"]


def test_timeline_records_labels_renames_state_and_merges(
    models: Any, raw: Callable[..., Reply]
) -> None:
    number = _issue(raw)
    issue = f"{REPO}/issues/{number}"
    ok(raw("POST", f"{issue}/labels", {"labels": ["question"]}))
    ok(raw("DELETE", f"{issue}/labels/question"))
    ok(raw("PATCH", issue, {"title": "A better question"}))
    ok(raw("PATCH", issue, {"state": "closed"}))
    ok(raw("PATCH", issue, {"state": "open"}))
    events = ok(raw("GET", f"{issue}/timeline")).json()
    assert sorted(e["event"] for e in events) == [
        "closed",
        "labeled",
        "renamed",
        "reopened",
        "unlabeled",
    ]
    by_name = {e["event"]: e for e in events}
    assert by_name["labeled"]["label"] == {"name": "question", "color": "d876e3"}
    assert by_name["renamed"]["rename"] == {"from": "A question", "to": "A better question"}
    for name, model in (
        ("labeled", models.LabeledIssueEvent),
        ("unlabeled", models.UnlabeledIssueEvent),
        ("renamed", models.RenamedIssueEvent),
        ("closed", models.StateChangeIssueEvent),
        ("reopened", models.StateChangeIssueEvent),
    ):
        validate(model, json.dumps(by_name[name]))

    pull = open_pull(raw)
    requested = {"reviewers": ["maintainer"]}
    ok(raw("POST", f"{REPO}/pulls/{pull}/requested_reviewers", requested, login="lessonbot"), 201)
    merged = ok(raw("PUT", f"{REPO}/pulls/{pull}/merge", {})).json()
    events = ok(raw("GET", f"{REPO}/issues/{pull}/timeline")).json()
    by_name = {e["event"]: e for e in events}
    assert sorted(by_name) == ["closed", "committed", "merged", "review_requested"]
    assert by_name["committed"]["message"] == "Add a line"
    validate(models.TimelineCommittedEvent, json.dumps(by_name["committed"]))
    assert by_name["merged"]["commit_id"] == merged["sha"]
    assert by_name["review_requested"]["requested_reviewer"]["login"] == "maintainer"
    validate(models.ReviewRequestedIssueEvent, json.dumps(by_name["review_requested"]))
    validate(models.StateChangeIssueEvent, json.dumps(by_name["merged"]))


def test_lock_and_assignees_send_their_webhooks(
    sandbox: GitHubSandbox,
    raw: Callable[..., Reply],
    webhook_validator: Callable[[str, str | None, dict[str, Any]], None],
) -> None:
    sandbox.webhook_url = "http://127.0.0.1:9/hooks"  # deliveries are recorded even if lost
    number = _issue(raw)
    pull = open_pull(raw)
    for subject in (number, pull):
        assignees = {"assignees": ["maintainer"]}
        ok(raw("POST", f"{REPO}/issues/{subject}/assignees", assignees), 201)
        ok(raw("DELETE", f"{REPO}/issues/{subject}/assignees", assignees))
        assert raw("PUT", f"{REPO}/issues/{subject}/lock", {"lock_reason": "spam"}).status == 204
        assert raw("DELETE", f"{REPO}/issues/{subject}/lock").status == 204
    sandbox.wait_for_webhooks_blocking()
    seen = []
    for delivery in sandbox.deliveries:
        action = delivery["payload"].get("action")
        if action in ("assigned", "unassigned", "locked", "unlocked"):
            webhook_validator(delivery["event"], action, delivery["payload"])
            seen.append((delivery["event"], action))
    expected = ["assigned", "unassigned", "locked", "unlocked"]
    assert seen == [("issues", a) for a in expected] + [("pull_request", a) for a in expected]


def test_statuses_reactions_locks_and_timelines_survive_a_restart(
    content_dir: Path, tmp_path: Path
) -> None:
    state_dir = tmp_path / "github"
    with GitHubSandbox(content_dir, state_dir=state_dir) as sandbox:
        base = sandbox.base_url
        number = ok(http(base, "POST", f"{REPO}/issues", {"title": "Keep me"}), 201).json()
        path = f"{REPO}/issues/{number['number']}"
        ok(http(base, "POST", f"{path}/reactions", {"content": "heart"}), 201)
        assert http(base, "PUT", f"{path}/lock", {"lock_reason": "resolved"}).status == 204
        sha = ok(http(base, "GET", f"{REPO}/git/ref/heads/main")).json()["object"]["sha"]
        ok(http(base, "POST", f"{REPO}/statuses/{sha}", {"state": "success"}), 201)
    with GitHubSandbox(content_dir, state_dir=state_dir) as sandbox:
        assert sandbox.restored
        base = sandbox.base_url
        issue = ok(http(base, "GET", path)).json()
        assert issue["reactions"]["heart"] == 1
        assert issue["active_lock_reason"] == "resolved"
        assert [e["event"] for e in ok(http(base, "GET", f"{path}/timeline")).json()] == ["locked"]
        assert ok(http(base, "GET", f"{REPO}/commits/{sha}/status")).json()["state"] == "success"
        # New ids do not collide with the restored ones.
        again = ok(http(base, "POST", f"{path}/reactions", {"content": "eyes"}), 201).json()
        assert again["id"] != ok(http(base, "GET", f"{path}/reactions")).json()[0]["id"]
