"""Webhooks: signed, ordered, asynchronous delivery of payloads GitHub's schemas accept."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from github import Auth, Github
from pydantic import ValidationError

from sandboxes.github import GitHubSandbox
from sandboxes.github.webhooks import WebhookSender, signature_256
from tests.sandboxes.github.conftest import LESSON, WEBHOOK_EXAMPLES, Receiver, http

SECRET = "s3cret"
Validator = Callable[[str, str | None, dict[str, Any]], None]


def client(sandbox: GitHubSandbox, login: str) -> Github:
    """Return an unthrottled PyGithub client acting as `login`."""
    return Github(
        base_url=sandbox.base_url,
        auth=Auth.Token(login),
        seconds_between_requests=0,
        seconds_between_writes=0,
        retry=None,
    )


def test_signature_matches_githubs_definition() -> None:
    body = b'{"zen":"Keep it logically awesome."}'
    expected = hmac.new(b"key", body, hashlib.sha256).hexdigest()
    assert signature_256("key", body) == f"sha256={expected}"


def test_schema_validator_accepts_githubs_examples_and_rejects_broken_ones(
    webhook_validator: Validator,
) -> None:
    # The validator must be able to fail, or the payload tests below prove nothing.
    for event, action in [("issues", "opened"), ("pull_request", "opened"), ("push", None)]:
        name = f"{action}.payload.json" if action else "payload.json"
        example = json.loads((WEBHOOK_EXAMPLES / event / name).read_text())
        webhook_validator(event, action, example)
        broken = dict(example)
        broken.pop("sender")
        with pytest.raises(jsonschema.ValidationError):
            webhook_validator(event, action, broken)
    example = json.loads((WEBHOOK_EXAMPLES / "issues" / "opened.payload.json").read_text())
    example["issue"]["surprise"] = True  # additionalProperties: false
    with pytest.raises(jsonschema.ValidationError):
        webhook_validator("issues", "opened", example)


def run_scenario(sandbox: GitHubSandbox) -> dict[str, Any]:
    """Drive every event the sandbox emits through PyGithub, as the bot and a maintainer."""
    bot = client(sandbox, "lessonbot")
    maintainer = client(sandbox, "maintainer")
    repo = bot.get_repo("lessons/content")
    issue = repo.create_issue("Typo", body="There is a typo.", labels=["bug"])
    issue.edit(title="Typo in pipes", body="There is a typo in pipes.")
    issue.add_to_labels("question")
    issue.remove_from_labels("bug")
    comment = issue.create_comment("Which line?")
    comment.edit("Which line is it?")
    comment.delete()
    issue.edit(state="closed", state_reason="not_planned")
    issue.edit(state="open")
    main = repo.get_branch("main").commit.sha
    repo.create_git_ref("refs/heads/suggest-1", main)
    current = repo.get_contents(LESSON, ref="suggest-1")
    first = repo.update_file(
        LESSON, "Fix typo", current.decoded_content + b"fixed\n", current.sha, branch="suggest-1"
    )
    pull = repo.create_pull(base="main", head="suggest-1", title="Fix typo", body="From a learner.")
    pull.add_to_labels("documentation")
    pull.create_review_request(reviewers=["maintainer"])
    sandbox.add_collaborator("helper", "read")  # reviews are requested from collaborators
    pull.create_review_request(reviewers=["helper"])
    pull.delete_review_request(reviewers=["helper"])
    second = repo.update_file(
        LESSON, "Polish", b"polished\n", first["content"].sha, branch="suggest-1"
    )
    pull.edit(title="Fix a typo in pipes")
    mine = maintainer.get_repo("lessons/content").get_pull(pull.number)
    mine.create_review(event="REQUEST_CHANGES", body="Please keep the title.")
    mine.create_review(event="APPROVE", body="Thanks!")
    mine.edit(state="closed")
    mine.edit(state="open")
    merged = mine.merge(commit_message="Thanks, learner")
    return {
        "main": main,
        "first": first["commit"].sha,
        "second": second["commit"].sha,
        "merge": merged.sha,
        "pull": pull.number,
    }


EXPECTED = [
    ("issues", "opened"),
    ("issues", "labeled"),
    ("issues", "edited"),
    ("issues", "labeled"),
    ("issues", "unlabeled"),
    ("issue_comment", "created"),
    ("issue_comment", "edited"),
    ("issue_comment", "deleted"),
    ("issues", "closed"),
    ("issues", "reopened"),
    ("push", None),
    ("push", None),
    ("pull_request", "opened"),
    ("pull_request", "labeled"),
    ("pull_request", "review_requested"),
    ("pull_request", "review_requested"),
    ("pull_request", "review_request_removed"),
    ("push", None),
    ("pull_request", "synchronize"),
    ("pull_request", "edited"),
    ("pull_request_review", "submitted"),
    ("pull_request_review", "submitted"),
    ("pull_request", "closed"),
    ("pull_request", "reopened"),
    ("push", None),
    ("pull_request", "closed"),
]


async def test_every_event_is_delivered_signed_in_order_and_valid(
    content_dir: Path,
    receiver: Receiver,
    webhook_validator: Validator,
    webhook_model_validator: Validator,
) -> None:
    sandbox = GitHubSandbox(content_dir, webhook_url=receiver.url, webhook_secret=SECRET)
    async with sandbox:
        shas = await asyncio.to_thread(run_scenario, sandbox)
        await sandbox.wait_for_webhooks()
        deliveries = sandbox.deliveries

    assert [(d["event"], d["action"]) for d in deliveries] == EXPECTED
    assert all(d["status"] == 200 for d in deliveries)
    assert len(receiver.received) == len(EXPECTED)
    for delivery, received in zip(deliveries, receiver.received, strict=True):
        headers, body = received["headers"], received["body"]
        expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-Hub-Signature-256"] == f"sha256={expected}"
        assert headers["X-Hub-Signature"].startswith("sha1=")
        assert headers["X-GitHub-Event"] == delivery["event"]
        assert headers["X-GitHub-Delivery"] == delivery["delivery_id"]
        uuid.UUID(headers["X-GitHub-Delivery"])
        assert headers["User-Agent"] == "GitHub-Hookshot/sandbox"
        assert headers["Content-Type"] == "application/json"
        assert headers["X-GitHub-Hook-ID"].isdigit()
        payload = json.loads(body)
        assert payload == delivery["payload"]
        webhook_validator(delivery["event"], delivery["action"], payload)
        webhook_model_validator(delivery["event"], delivery["action"], payload)

    def find(event: str, action: str | None, nth: int = 0) -> dict[str, Any]:
        found = [d["payload"] for d in deliveries if (d["event"], d["action"]) == (event, action)]
        return found[nth]

    assert find("issues", "edited")["changes"] == {
        "title": {"from": "Typo"},
        "body": {"from": "There is a typo."},
    }
    assert find("issues", "closed")["issue"]["state_reason"] == "not_planned"
    assert find("issues", "labeled")["label"]["name"] == "bug"
    assert find("issues", "unlabeled")["issue"]["labels"][0]["name"] == "question"
    assert find("issue_comment", "edited")["changes"] == {"body": {"from": "Which line?"}}

    created_branch, first_push = find("push", None, 0), find("push", None, 1)
    assert created_branch["created"] and created_branch["commits"] == []
    assert created_branch["ref"] == "refs/heads/suggest-1"
    assert first_push["before"] == shas["main"] and first_push["after"] == shas["first"]
    assert first_push["commits"][0]["modified"] == [LESSON]
    assert first_push["head_commit"]["id"] == shas["first"]
    assert first_push["pusher"]["name"] == "lessonbot"

    synchronize = find("pull_request", "synchronize")
    assert (synchronize["before"], synchronize["after"]) == (shas["first"], shas["second"])
    assert synchronize["pull_request"]["head"]["sha"] == shas["second"]
    assert find("pull_request", "review_requested")["requested_reviewer"]["login"] == "maintainer"
    removed = find("pull_request", "review_request_removed")
    assert removed["requested_reviewer"]["login"] == "helper"
    assert find("pull_request", "edited")["changes"] == {"title": {"from": "Fix typo"}}
    reviews = [find("pull_request_review", "submitted", n)["review"]["state"] for n in (0, 1)]
    assert reviews == ["changes_requested", "approved"]
    assert find("pull_request", "closed", 0)["pull_request"]["merged"] is False

    merge_push, merged = find("push", None, 3), find("pull_request", "closed", 1)
    assert merge_push["ref"] == "refs/heads/main" and merge_push["after"] == shas["merge"]
    pushed = {c["id"]: c["distinct"] for c in merge_push["commits"]}
    # The branch's own commits were pushed before; only the merge commit is new.
    assert pushed == {shas["first"]: False, shas["second"]: False, shas["merge"]: True}
    assert merge_push["head_commit"]["modified"] == [LESSON]
    assert merged["pull_request"]["merged"] is True
    assert merged["pull_request"]["merge_commit_sha"] == shas["merge"]
    assert merged["pull_request"]["merged_by"]["login"] == "maintainer"


def test_model_validator_accepts_githubs_current_shape_and_rejects_broken_ones(
    webhook_model_validator: Validator,
) -> None:
    # The current models must be able to fail, or the scenario's model check proves nothing.
    if not WEBHOOK_EXAMPLES.is_dir():
        pytest.skip(
            f"GitHub's example payloads are not present at {WEBHOOK_EXAMPLES} "
            "(a fresh clone has no ../shared/specs)"
        )
    example = json.loads((WEBHOOK_EXAMPLES / "push" / "payload.json").read_text())
    webhook_model_validator("push", None, example)
    broken = dict(example)
    broken.pop("pusher")
    with pytest.raises(ValidationError):
        webhook_model_validator("push", None, broken)
    example["repository"]["id"] = "1"  # strict: a string is not an integer
    with pytest.raises(ValidationError):
        webhook_model_validator("push", None, example)


async def test_webhook_labels_and_organization_agree_with_rest(
    content_dir: Path, receiver: Receiver, webhook_model_validator: Validator
) -> None:
    sandbox = GitHubSandbox(content_dir, webhook_url=receiver.url)
    async with sandbox:
        gh = client(sandbox, "lessonbot")
        repo = await asyncio.to_thread(gh.get_repo, "lessons/content")
        issue = await asyncio.to_thread(repo.create_issue, "Labelled", labels=["bug"])
        await asyncio.to_thread(issue.add_to_labels, "question")
        comment = await asyncio.to_thread(issue.create_comment, "Which line?")

        def get(path: str) -> dict[str, Any]:
            return http(sandbox.base_url, "GET", f"/repos/lessons/content/{path}").json()

        rest_label = await asyncio.to_thread(get, "labels/question")
        rest_issue = await asyncio.to_thread(get, f"issues/{issue.number}")
        rest_comment = await asyncio.to_thread(get, f"issues/comments/{comment.id}")
        org = await asyncio.to_thread(http, sandbox.base_url, "GET", "/repos/lessons/content")
        await sandbox.wait_for_webhooks()
        deliveries = sandbox.deliveries
    labeled = [d["payload"] for d in deliveries if d["action"] == "labeled"][-1]
    # One builder per object: a webhook carries exactly what REST answers for the same thing.
    assert labeled["label"] == rest_label
    assert {"archived_at", "archived_by"} <= set(labeled["issue"]["labels"][0])
    commented = deliveries[-1]["payload"]
    assert commented["comment"] == rest_comment
    # Webhook issues carry no `closed_by` (GitHub's schema forbids it there); all else agrees.
    assert commented["issue"] == {k: v for k, v in rest_issue.items() if k != "closed_by"}
    owner = org.json()["owner"]
    assert owner["type"] == "Organization"
    for delivery in deliveries:
        organization = delivery["payload"]["organization"]
        assert (organization["login"], organization["id"]) == (owner["login"], owner["id"])
        webhook_model_validator(delivery["event"], delivery["action"], delivery["payload"])


async def test_a_user_owned_repository_sends_no_organization(
    content_dir: Path, receiver: Receiver
) -> None:
    sandbox = GitHubSandbox(content_dir, webhook_url=receiver.url)
    async with sandbox:
        gh = client(sandbox, "lessonbot")
        await asyncio.to_thread(lambda: gh.get_user().login)
        # An owner login that is already a person's account makes a user-owned repository.
        await sandbox.add_repository("lessonbot/notes", content_dir)
        repo = await asyncio.to_thread(gh.get_repo, "lessonbot/notes")
        assert repo.owner.type == "User"
        await asyncio.to_thread(repo.create_issue, "Personal")
        await sandbox.wait_for_webhooks()
        [delivery] = sandbox.deliveries
    assert "organization" not in delivery["payload"]


async def test_a_failing_receiver_is_recorded_and_later_deliveries_still_go(
    content_dir: Path, receiver: Receiver
) -> None:
    receiver.status = 500
    sandbox = GitHubSandbox(content_dir, webhook_url=receiver.url)
    async with sandbox:
        gh = client(sandbox, "lessonbot")
        repo = await asyncio.to_thread(gh.get_repo, "lessons/content")
        await asyncio.to_thread(repo.create_issue, "first")
        await sandbox.wait_for_webhooks()
        receiver.status = 204
        await asyncio.to_thread(repo.create_issue, "second")
        await sandbox.wait_for_webhooks()
        statuses = [d["status"] for d in sandbox.deliveries]
        # No secret configured: no signature headers, as on GitHub.
        assert "X-Hub-Signature-256" not in receiver.received[0]["headers"]
    assert statuses == [500, 204]


async def test_an_unreachable_receiver_is_recorded_not_raised(content_dir: Path) -> None:
    sandbox = GitHubSandbox(content_dir, webhook_url="http://127.0.0.1:9/hooks")
    async with sandbox:
        gh = client(sandbox, "lessonbot")
        repo = await asyncio.to_thread(gh.get_repo, "lessons/content")
        issue = await asyncio.to_thread(repo.create_issue, "still created")
        await sandbox.wait_for_webhooks()
        [delivery] = sandbox.deliveries
    assert issue.number == 1
    assert delivery["status"] is None and delivery["error"]


async def test_without_a_webhook_url_nothing_is_queued(content_dir: Path) -> None:
    async with GitHubSandbox(content_dir) as sandbox:
        repo = await asyncio.to_thread(client(sandbox, "lessonbot").get_repo, "lessons/content")
        await asyncio.to_thread(repo.create_issue, "quiet")
        await sandbox.wait_for_webhooks()
        assert sandbox.deliveries == []


async def test_deliveries_snapshot_the_state_at_the_time_of_the_event(receiver: Receiver) -> None:
    sender = WebhookSender(receiver.url, None)
    await sender.start()
    try:
        payload = {"action": "opened", "issue": {"title": "before"}}
        sender.send("issues", payload)
        payload["issue"]["title"] = "after"
        await sender.join()
    finally:
        await sender.close()
    assert json.loads(receiver.received[0]["body"])["issue"]["title"] == "before"


async def test_held_deliveries_wait_for_release_and_keep_their_order(receiver: Receiver) -> None:
    sender = WebhookSender(receiver.url, None)
    await sender.start()
    try:
        held = sender.hold()
        sender.send("issues", {"action": "opened"})  # made while a request is being answered
        sender.unhold()
        sender.send("issues", {"action": "closed"})  # released at once, but queued behind
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.shield(sender.join()), 0.1)
        assert receiver.received == []
        WebhookSender.release(held)
        await sender.join()
    finally:
        await sender.close()
    actions = [json.loads(item["body"])["action"] for item in receiver.received]
    assert actions == ["opened", "closed"]
