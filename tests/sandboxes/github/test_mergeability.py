"""Mergeability: unknown when a pull request opens, computed after, draft pulls refused."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sandboxes.github import GitHubSandbox
from tests.sandboxes.github.conftest import LESSON, Receiver, Reply, http, validate

REPO = "/repos/lessons/content"


def branch_with(raw: Callable[..., Reply], branch: str, old: str, new: str) -> None:
    """Branch off main and replace `old` with `new` in the lesson there, as the bot does."""
    main = raw("GET", f"{REPO}/git/ref/heads/main", login="lessonbot").json()["object"]["sha"]
    created = raw(
        "POST", f"{REPO}/git/refs", {"ref": f"refs/heads/{branch}", "sha": main}, login="lessonbot"
    )
    assert created.status == 201
    current = raw("GET", f"{REPO}/contents/{LESSON}?ref={branch}", login="lessonbot").json()
    text = base64.b64decode(current["content"]).decode()
    assert old in text
    put = raw(
        "PUT",
        f"{REPO}/contents/{LESSON}",
        {
            "message": f"Edit on {branch}",
            "content": base64.b64encode(text.replace(old, new).encode()).decode(),
            "sha": current["sha"],
            "branch": branch,
        },
        login="lessonbot",
    )
    assert put.status == 200, put.body


def open_pull(raw: Callable[..., Reply], head: str, **extra: Any) -> Reply:
    """Open a pull request from `head` into main as the bot."""
    data = {"title": f"From {head}", "head": head, "base": "main", **extra}
    return raw("POST", f"{REPO}/pulls", data, login="lessonbot")


def test_a_new_pull_is_unknown_then_computed(raw: Callable[..., Reply], models: Any) -> None:
    branch_with(raw, "clean", "two commands", "two programs")
    created = open_pull(raw, "clean")
    assert created.status == 201
    body = created.json()
    assert (body["mergeable"], body["rebaseable"], body["mergeable_state"]) == (
        None,
        None,
        "unknown",
    )
    validate(models.PullRequest, created.body)
    later = raw("GET", f"{REPO}/pulls/{body['number']}")
    validate(models.PullRequest, later.body)
    assert (later.json()["mergeable"], later.json()["mergeable_state"]) == (True, "clean")


def test_a_moved_base_is_recomputed_and_a_conflict_is_dirty(raw: Callable[..., Reply]) -> None:
    branch_with(raw, "first", "two commands", "two programs")
    branch_with(raw, "second", "two commands", "two tools")
    first = open_pull(raw, "first").json()["number"]
    second = open_pull(raw, "second").json()["number"]
    assert raw("GET", f"{REPO}/pulls/{second}").json()["mergeable_state"] == "clean"
    assert raw("PUT", f"{REPO}/pulls/{first}/merge", {}).status == 200
    after = raw("GET", f"{REPO}/pulls/{second}").json()
    assert (after["mergeable"], after["mergeable_state"]) == (False, "dirty")


def test_a_draft_reports_draft_and_cannot_be_merged(raw: Callable[..., Reply]) -> None:
    branch_with(raw, "draft", "two commands", "two programs")
    number = open_pull(raw, "draft", draft=True).json()["number"]
    pull = raw("GET", f"{REPO}/pulls/{number}").json()
    assert (pull["draft"], pull["mergeable_state"]) == (True, "draft")
    refused = raw("PUT", f"{REPO}/pulls/{number}/merge", {})
    assert refused.status == 405
    assert refused.json()["message"] == "Pull Request is still a draft"
    assert raw("GET", f"{REPO}/pulls/{number}").json()["merged"] is False


async def test_the_opened_webhook_says_unknown(content_dir: Path, receiver: Receiver) -> None:
    sandbox = GitHubSandbox(content_dir, webhook_url=receiver.url)
    async with sandbox:

        def send(method: str, path: str, data: Any = None, **options: Any) -> Reply:
            return http(sandbox.base_url, method, path, data, **options)

        await asyncio.to_thread(branch_with, send, "hooked", "two commands", "two programs")
        number = (await asyncio.to_thread(open_pull, send, "hooked")).json()["number"]
        computed = await asyncio.to_thread(send, "GET", f"{REPO}/pulls/{number}")
        await sandbox.wait_for_webhooks()
        deliveries = sandbox.deliveries
    [opened] = [d["payload"] for d in deliveries if d["action"] == "opened"]
    assert opened["pull_request"]["mergeable"] is None
    assert opened["pull_request"]["mergeable_state"] == "unknown"
    assert computed.json()["mergeable"] is True
