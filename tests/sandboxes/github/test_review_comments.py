"""Review comments on a pull request's diff: line comments, suggestions, replies, dismissals."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from github import Auth, Github, GithubException

from sandboxes.github import GitHubSandbox
from tests.sandboxes.github.conftest import (
    LESSON,
    WEBHOOK_SCHEMAS,
    Receiver,
    Reply,
    http,
    validate,
)
from tests.sandboxes.github.test_routes_pulls import suggest

REPO = "/repos/lessons/content"
Validator = Callable[[str, str | None, dict[str, Any]], None]
# The lesson's line 8 ("A pipe joins two commands.") is the one the suggestion changes; git
# shows it in one hunk, "@@ -5,6 +5,6 @@", with lines 5-7 and 9-10 around it.
SUGGESTION = "Clearer:\n\n```suggestion\nA pipe joins two programs.\n```\n"


def ok(reply: Reply, status: int = 200) -> Reply:
    """Assert a reply's status, showing the body when it is wrong."""
    assert reply.status == status, reply.body[:500]
    return reply


def open_suggestion(gh: Callable[..., Github]) -> tuple[Any, str]:
    """Open the bot's pull request changing line 8; return it as the maintainer sees it."""
    repo = gh("lessonbot").get_repo("lessons/content")
    head = suggest(repo, "suggest-1", b"two commands", b"two programs")
    number = repo.create_pull(base="main", head="suggest-1", title="Wording").number
    return gh("maintainer").get_repo("lessons/content").get_pull(number), head


def test_a_review_keeps_its_line_comments_and_suggestion_blocks(
    gh: Callable[..., Github], raw: Callable[..., Reply], models: Any
) -> None:
    pull, head = open_suggestion(gh)
    review = pull.create_review(
        body="Two notes.",
        event="REQUEST_CHANGES",
        comments=[
            {"path": LESSON, "line": 8, "side": "RIGHT", "body": SUGGESTION},
            {"path": LESSON, "line": 8, "side": "LEFT", "body": "The old wording."},
            {"path": LESSON, "start_line": 6, "line": 9, "body": "This paragraph."},
        ],
    )
    comments = list(pull.get_review_comments())
    assert [c.body for c in comments] == [SUGGESTION, "The old wording.", "This paragraph."]
    assert all(c.pull_request_review_id == review.id for c in comments)
    assert [(c.line, c.side, c.position) for c in comments] == [
        (8, "RIGHT", 5),
        (8, "LEFT", 4),
        (9, "RIGHT", 6),
    ]
    first = comments[0]
    assert first.diff_hunk.startswith("@@ -5,6 +5,6 @@")
    assert first.diff_hunk.endswith("\n+A pipe joins two programs.")
    assert (first.commit_id, first.original_commit_id, first.path) == (head, head, LESSON)
    assert first.user.login == "maintainer" and first.in_reply_to_id is None
    assert comments[2].start_line == 6 and comments[2].start_side == "RIGHT"
    assert [c.id for c in pull.get_single_review_comments(review.id)] == [c.id for c in comments]
    assert pull.get_review_comment(first.id).body == SUGGESTION
    assert gh().get_repo("lessons/content").get_pull(pull.number).review_comments == 3

    # Every shape, strictly, as GitHub's models define them.
    listed = ok(raw("GET", f"{REPO}/pulls/{pull.number}/comments")).json()
    for item in listed:
        checked = validate(models.PullRequestReviewComment, json.dumps(item))
        assert checked.subject_type == "line"
    assert listed[0]["body"] == SUGGESTION  # the fenced block survives byte for byte
    for item in ok(raw("GET", f"{REPO}/pulls/{pull.number}/reviews/{review.id}/comments")).json():
        validate(models.ReviewComment, json.dumps(item))
    single = ok(raw("GET", f"{REPO}/pulls/comments/{first.id}")).body
    validate(models.PullRequestReviewComment, single)
    full = validate(models.PullRequest, ok(raw("GET", f"{REPO}/pulls/{pull.number}")).body)
    assert full.review_comments == 3
    # Line comments are enough for a COMMENT review; its body may then be empty.
    quiet = pull.create_review(
        event="COMMENT", comments=[{"path": LESSON, "line": 10, "body": "Nice ending."}]
    )
    assert quiet.state == "COMMENTED" and quiet.body == ""
    assert [c.line for c in pull.get_single_review_comments(quiet.id)] == [10]
    assert raw("GET", f"{REPO}/pulls/{pull.number}/reviews/999/comments").status == 404


def test_comments_follow_the_head_or_become_outdated(
    gh: Callable[..., Github], raw: Callable[..., Reply], models: Any
) -> None:
    pull, first = open_suggestion(gh)
    pull.create_review(
        event="COMMENT",
        comments=[
            {"path": LESSON, "line": 8, "body": SUGGESTION},
            {"path": LESSON, "line": 10, "body": "Fine."},
        ],
    )
    # The suggester revises line 8; line 10 still reads the same in the new diff.
    repo = gh("lessonbot").get_repo("lessons/content")
    current = repo.get_contents(LESSON, ref="suggest-1")
    revised = current.decoded_content.replace(b"two programs", b"two tools")
    head = repo.update_file(LESSON, "Revise", revised, current.sha, "suggest-1")["commit"].sha
    listed = ok(raw("GET", f"{REPO}/pulls/{pull.number}/comments")).json()
    for item in listed:
        validate(models.PullRequestReviewComment, json.dumps(item))
    outdated, kept = listed
    assert (outdated["position"], outdated["line"]) == (None, None)
    assert (outdated["original_position"], outdated["original_line"]) == (5, 8)
    assert outdated["commit_id"] == outdated["original_commit_id"] == first
    assert (kept["position"], kept["line"], kept["commit_id"]) == (7, 10, head)
    assert kept["original_commit_id"] == first
    # A reply to an outdated thread is outdated with it.
    reply = pull.create_review_comment_reply(outdated["id"], "Now it reads well.")
    assert (reply.position, reply.original_position, reply.line) == (None, 5, None)


def test_single_comments_replies_edits_and_deletes(
    gh: Callable[..., Github], raw: Callable[..., Reply], models: Any
) -> None:
    pull, head = open_suggestion(gh)
    comment = pull.create_review_comment(SUGGESTION, head, LESSON, line=8, side="RIGHT")
    assert comment.body == SUGGESTION and comment.line == 8 and comment.position == 5
    reviews = list(pull.get_reviews())
    assert [(r.state, r.body, r.id) for r in reviews] == [
        ("COMMENTED", "", comment.pull_request_review_id)
    ]
    reply = gh("lessonbot").get_repo("lessons/content").get_pull(pull.number)
    answer = reply.create_review_comment_reply(comment.id, "Applied, thanks.")
    assert answer.in_reply_to_id == comment.id and answer.diff_hunk == comment.diff_hunk
    # A reply to a reply joins the thread's first comment, as on GitHub.
    again = ok(
        raw(
            "POST", f"{REPO}/pulls/{pull.number}/comments", {"body": "OK", "in_reply_to": answer.id}
        ),
        201,
    ).json()
    assert again["in_reply_to_id"] == comment.id and again["line"] == 8
    validate(models.PullRequestReviewComment, json.dumps(again))

    # A range on the file: start_line to line in one hunk; a whole-file comment.
    ranged = ok(
        raw(
            "POST",
            f"{REPO}/pulls/{pull.number}/comments",
            {"body": "These", "commit_id": head, "path": LESSON, "start_line": 7, "line": 8},
        ),
        201,
    ).json()
    assert (ranged["start_line"], ranged["start_side"], ranged["line"]) == (7, "RIGHT", 8)
    whole = ok(
        raw(
            "POST",
            f"{REPO}/pulls/{pull.number}/comments",
            {"body": "All of it", "commit_id": head, "path": LESSON, "subject_type": "file"},
        ),
        201,
    ).json()
    assert whole["subject_type"] == "file" and whole["line"] is None
    validate(models.PullRequestReviewComment, json.dumps(whole))
    # The legacy `position` finds its line: position 4 is the removed line 8.
    legacy = ok(
        raw(
            "POST",
            f"{REPO}/pulls/{pull.number}/comments",
            {"body": "Old", "commit_id": head, "path": LESSON, "position": 4},
        ),
        201,
    ).json()
    assert (legacy["line"], legacy["side"], legacy["position"]) == (8, "LEFT", 4)

    repo = gh("maintainer").get_repo("lessons/content")
    everywhere = list(repo.get_pulls_review_comments())
    assert [c.id for c in everywhere] == [
        comment.id,
        answer.id,
        again["id"],
        ranged["id"],
        whole["id"],
        legacy["id"],
    ]
    newest = list(repo.get_pulls_review_comments(sort="created", direction="desc"))
    assert newest[0].id == legacy["id"]

    edited = pull.get_review_comment(comment.id)
    edited.edit("Better:\n\n```suggestion\nA pipe links two programs.\n```")
    assert pull.get_review_comment(comment.id).body.endswith("links two programs.\n```")
    edited.delete()
    assert raw("GET", f"{REPO}/pulls/comments/{comment.id}").status == 404
    assert len(list(pull.get_review_comments())) == 5
    assert raw("DELETE", f"{REPO}/pulls/comments/{comment.id}").status == 404


def test_comments_that_do_not_fit_the_diff_are_refused(
    gh: Callable[..., Github], raw: Callable[..., Reply]
) -> None:
    pull, head = open_suggestion(gh)
    reviews = f"{REPO}/pulls/{pull.number}/reviews"
    comments = f"{REPO}/pulls/{pull.number}/comments"

    def review(*items: Any, **extra: Any) -> dict[str, Any]:
        body = {"event": "COMMENT", "body": "Notes", "comments": list(items), **extra}
        return ok(raw("POST", reviews, body), 422).json()

    not_a_list = ok(
        raw("POST", reviews, {"event": "COMMENT", "body": "x", "comments": "notalist"}), 422
    ).json()
    assert not_a_list["message"] == (
        "Invalid request.\n\nFor 'properties/comments', \"notalist\" is not an array."
    )
    assert review({"line": 8, "body": "x"})["message"] == (
        'Invalid request.\n\n"path" wasn\'t supplied.'
    )
    outside = review({"path": LESSON, "line": 2, "body": "x"})
    assert outside["message"] == "Unprocessable Entity"
    assert outside["errors"] == ["Pull request review thread line must be part of the diff"]
    added_only = review({"path": LESSON, "line": 11, "side": "LEFT", "body": "x"})
    assert added_only["errors"] == ["Pull request review thread line must be part of the diff"]
    backwards = review({"path": LESSON, "start_line": 9, "line": 8, "body": "x"})
    assert backwards["errors"] == [
        "Pull request review thread start line must precede the end line."
    ]
    untouched = review({"path": "README.md", "line": 1, "body": "x"})
    assert untouched["errors"] == ["Path could not be resolved"]
    # One bad comment refuses the whole review: nothing was stored.
    assert raw("GET", reviews).json() == []
    assert ok(raw("GET", f"{REPO}/pulls/{pull.number}")).json()["review_comments"] == 0

    def single(data: dict[str, Any]) -> dict[str, Any]:
        return ok(raw("POST", comments, {"body": "x", **data}), 422).json()

    line_error = single({"commit_id": head, "path": LESSON, "line": 1})
    assert line_error["message"] == "Validation Failed"
    assert line_error["errors"] == [
        {
            "resource": "PullRequestReviewComment",
            "code": "custom",
            "field": "pull_request_review_thread.line",
            "message": "pull_request_review_thread.line must be part of the diff",
        }
    ]
    start_error = single({"commit_id": head, "path": LESSON, "start_line": 8, "line": 8})
    assert start_error["errors"][0]["message"] == (
        "pull_request_review_thread.start_line must precede the end line."
    )
    assert single({"commit_id": head, "line": 8})["message"] == (
        'Invalid request.\n\n"path" wasn\'t supplied.'
    )
    assert single({"in_reply_to": 42})["errors"] == [
        {"resource": "PullRequestReviewComment", "field": "in_reply_to", "code": "invalid"}
    ]
    stranger = single({"commit_id": "0" * 40, "path": LESSON, "line": 8})
    assert stranger["errors"][0]["message"] == "commit_id is not part of the pull request"
    assert raw("POST", f"{comments}/42/replies", {"body": "x"}).status == 404
    with pytest.raises(GithubException) as refused:
        pull.create_review_comment("x", head, LESSON, line=1, side="RIGHT")
    assert refused.value.status == 422
    assert raw("GET", comments).json() == [] and raw("GET", reviews).json() == []


def test_a_pending_reviews_comments_appear_when_it_is_submitted(
    gh: Callable[..., Github], raw: Callable[..., Reply]
) -> None:
    pull, _ = open_suggestion(gh)
    pending = ok(
        raw(
            "POST",
            f"{REPO}/pulls/{pull.number}/reviews",
            {"comments": [{"path": LESSON, "line": 8, "body": SUGGESTION}]},
        )
    ).json()
    assert pending["state"] == "PENDING"
    assert raw("GET", f"{REPO}/pulls/{pull.number}/comments").json() == []
    mine = raw("GET", f"{REPO}/pulls/{pull.number}/reviews/{pending['id']}/comments").json()
    assert [c["body"] for c in mine] == [SUGGESTION]
    ok(
        raw(
            "POST",
            f"{REPO}/pulls/{pull.number}/reviews/{pending['id']}/events",
            {"event": "COMMENT", "body": "Done"},
        )
    )
    listed = raw("GET", f"{REPO}/pulls/{pull.number}/comments").json()
    assert [c["pull_request_review_id"] for c in listed] == [pending["id"]]


def test_a_review_is_dismissed_with_a_message(
    gh: Callable[..., Github], raw: Callable[..., Reply], models: Any
) -> None:
    pull, _ = open_suggestion(gh)
    review = pull.create_review(body="Not yet.", event="REQUEST_CHANGES")
    commented = pull.create_review(body="Just a note.", event="COMMENT")
    path = f"{REPO}/pulls/{pull.number}/reviews/{review.id}/dismissals"
    missing = ok(raw("PUT", path, {}), 422).json()
    assert missing["message"] == 'Invalid request.\n\n"message" wasn\'t supplied.'
    review.dismiss("The suggestion was revised.")
    again = ok(raw("GET", f"{REPO}/pulls/{pull.number}/reviews/{review.id}"))
    assert validate(models.PullRequestReview, again.body).state == "DISMISSED"
    assert pull.get_review(review.id).state == "DISMISSED"
    other = f"{REPO}/pulls/{pull.number}/reviews/{commented.id}/dismissals"
    assert ok(raw("PUT", other, {"message": "x"}), 422).json()["message"] == (
        "Can not dismiss a commented pull request review"
    )
    assert raw("POST", path, {"message": "x"}).status in (404, 405)  # GitHub uses PUT


def common_schema_check(name: str, value: Any) -> None:
    """Validate a part of a payload against one of the official schemas in `common/`."""
    from jsonschema import Draft7Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT7

    common = WEBHOOK_SCHEMAS / "common"
    registry = Registry().with_resources(
        (path.name, Resource.from_contents(json.loads(path.read_text()), DRAFT7))
        for path in common.glob("*.schema.json")
    )
    schema = json.loads((common / f"{name}.schema.json").read_text())
    Draft7Validator(schema, registry=registry).validate(value)


def _scenario(sandbox: GitHubSandbox) -> None:
    """Comment, edit, delete, review with comments and dismiss, through PyGithub."""
    maintainer = Github(
        base_url=sandbox.base_url,
        auth=Auth.Token("maintainer"),
        seconds_between_requests=0,
        seconds_between_writes=0,
        retry=None,
    )
    bot = Github(
        base_url=sandbox.base_url,
        auth=Auth.Token("lessonbot"),
        seconds_between_requests=0,
        seconds_between_writes=0,
        retry=None,
    )
    repo = bot.get_repo("lessons/content")
    head = suggest(repo, "suggest-1", b"two commands", b"two programs")
    number = repo.create_pull(base="main", head="suggest-1", title="Wording").number
    pull = maintainer.get_repo("lessons/content").get_pull(number)
    comment = pull.create_review_comment(SUGGESTION, head, LESSON, line=8, side="RIGHT")
    comment.edit("Edited.")
    comment.delete()
    review = pull.create_review(
        body="See the line.",
        event="REQUEST_CHANGES",
        comments=[{"path": LESSON, "start_line": 7, "line": 8, "body": SUGGESTION}],
    )
    review.dismiss("Revised.")
    bot.close()
    maintainer.close()


async def test_review_comment_webhooks_are_sent_and_valid(
    content_dir: Path,
    receiver: Receiver,
    webhook_validator: Validator,
    webhook_model_validator: Validator,
) -> None:
    sandbox = GitHubSandbox(content_dir, webhook_url=receiver.url, webhook_secret="s")
    async with sandbox:
        await asyncio.to_thread(_scenario, sandbox)
        await sandbox.wait_for_webhooks()
        deliveries = [d for d in sandbox.deliveries if d["event"].startswith("pull_request_review")]
    assert [(d["event"], d["action"]) for d in deliveries] == [
        ("pull_request_review_comment", "created"),
        ("pull_request_review", "submitted"),
        ("pull_request_review_comment", "edited"),
        ("pull_request_review_comment", "deleted"),
        ("pull_request_review_comment", "created"),
        ("pull_request_review", "submitted"),
        ("pull_request_review", "dismissed"),
    ]
    for delivery in deliveries:
        # The frozen JSON Schemas have no pull_request_review_comment event; GitHub's
        # current models (githubkit) have every one...
        if delivery["event"] == "pull_request_review":
            webhook_validator(delivery["event"], delivery["action"], delivery["payload"])
        webhook_model_validator(delivery["event"], delivery["action"], delivery["payload"])
        if delivery["event"] == "pull_request_review_comment":
            # ... but they describe the comment, the repository and the sender in `common/`.
            common_schema_check("pull-request-review-comment", delivery["payload"]["comment"])
            common_schema_check("repository", delivery["payload"]["repository"])
            common_schema_check("user", delivery["payload"]["sender"])
    created, _, edited, deleted, ranged = (d["payload"] for d in deliveries[:5])
    assert created["comment"]["body"] == SUGGESTION and created["comment"]["line"] == 8
    assert created["pull_request"]["number"] == 1
    assert edited["changes"] == {"body": {"from": SUGGESTION}}
    assert edited["comment"]["body"] == "Edited."
    assert deleted["comment"]["id"] == created["comment"]["id"]
    assert (ranged["comment"]["start_line"], ranged["comment"]["line"]) == (7, 8)
    dismissed = deliveries[-1]["payload"]
    assert dismissed["review"]["state"] == "dismissed"
    assert dismissed["review"]["id"] == ranged["comment"]["pull_request_review_id"]


def test_review_comments_survive_a_restart(content_dir: Path, tmp_path: Path) -> None:
    state_dir = tmp_path / "github"
    with GitHubSandbox(content_dir, state_dir=state_dir) as sandbox:
        client = Github(
            base_url=sandbox.base_url,
            auth=Auth.Token("lessonbot"),
            retry=None,
            seconds_between_requests=0,
            seconds_between_writes=0,
        )
        repo = client.get_repo("lessons/content")
        head = suggest(repo, "suggest-1", b"two commands", b"two programs")
        number = repo.create_pull(base="main", head="suggest-1", title="Wording").number
        body = {"body": SUGGESTION, "commit_id": head, "path": LESSON, "line": 8}
        made = http(sandbox.base_url, "POST", f"{REPO}/pulls/{number}/comments", body).json()
        client.close()
    with GitHubSandbox(content_dir, state_dir=state_dir) as again:
        listed = http(again.base_url, "GET", f"{REPO}/pulls/{number}/comments").json()
        assert listed == [made]
        later = http(again.base_url, "POST", f"{REPO}/pulls/{number}/comments", body).json()
        assert later["id"] > made["id"]


def test_anyone_comments_but_only_authors_and_writers_edit_or_dismiss(
    gh: Callable[..., Github], raw: Callable[..., Reply]
) -> None:
    pull, head = open_suggestion(gh)
    comments = f"{REPO}/pulls/{pull.number}/comments"
    line = {"commit_id": head, "path": LESSON, "line": 8}
    theirs = ok(raw("POST", comments, {"body": SUGGESTION, **line}, login="learner"), 201).json()
    mine = ok(raw("POST", comments, {"body": "Agreed.", **line}), 201).json()
    refused = raw("PATCH", f"{REPO}/pulls/comments/{mine['id']}", {"body": "x"}, login="learner")
    assert refused.status == 403
    assert refused.json()["message"] == "Must have push access to repository"
    assert raw("DELETE", f"{REPO}/pulls/comments/{mine['id']}", login="learner").status == 403
    edited = ok(raw("PATCH", f"{REPO}/pulls/comments/{theirs['id']}", {"body": "Tidied."}))
    assert edited.json()["body"] == "Tidied."
    assert raw("DELETE", f"{REPO}/pulls/comments/{theirs['id']}", login="learner").status == 204
    review = pull.create_review(body="Not yet.", event="REQUEST_CHANGES")
    dismissal = f"{REPO}/pulls/{pull.number}/reviews/{review.id}/dismissals"
    assert raw("PUT", dismissal, {"message": "x"}, login="learner").status == 403
    assert pull.get_review(review.id).state == "CHANGES_REQUESTED"


def test_a_review_comment_takes_reactions_counted_in_its_rollup(
    gh: Callable[..., Github], raw: Callable[..., Reply]
) -> None:
    pull, head = open_suggestion(gh)
    comment = pull.create_review_comment(SUGGESTION, head, LESSON, line=8, side="RIGHT")
    path = f"{REPO}/pulls/comments/{comment.id}/reactions"
    vote = ok(raw("POST", path, {"content": "+1"}, login="ana"), 201).json()
    assert ok(raw("POST", path, {"content": "+1"}, login="ana")).json()["id"] == vote["id"]
    ok(raw("POST", path, {"content": "heart"}, login="maintainer"), 201)
    assert [r["content"] for r in ok(raw("GET", path)).json()] == ["+1", "heart"]
    rollup = ok(raw("GET", f"{REPO}/pulls/comments/{comment.id}")).json()["reactions"]
    assert (rollup["total_count"], rollup["+1"], rollup["heart"]) == (2, 1, 1)
    assert raw("DELETE", f"{path}/{vote['id']}", login="maintainer").status == 403
    ok(raw("DELETE", f"{path}/{vote['id']}", login="ana"), 204)
    assert raw("POST", f"{REPO}/pulls/comments/999999/reactions", {"content": "+1"}).status == 404
