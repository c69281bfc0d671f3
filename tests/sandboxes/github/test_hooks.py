"""The repository's webhook and its recent deliveries, read as GitHub's REST API shapes them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from githubkit_schemas.latest.models import Hook, HookDeliveryItem
from pydantic import TypeAdapter

from sandboxes.github import GitHubSandbox
from sandboxes.github.webhooks import HOOK_ID
from tests.sandboxes.github.conftest import Receiver, http

HOOKS = "/repos/lessons/content/hooks"


def _strict(model: Any, body: bytes) -> Any:
    """Validate a body against githubkit's model without coercion; return it parsed."""
    TypeAdapter(model).validate_json(body, strict=True)
    return json.loads(body)


async def _get(sandbox: GitHubSandbox, path: str, login: str = "maintainer") -> Any:
    return await asyncio.to_thread(http, sandbox.base_url, "GET", path, None, login)


async def test_an_admin_sees_the_hook_and_its_deliveries_newest_first(
    content_dir: Path, receiver: Receiver
) -> None:
    sandbox = GitHubSandbox(content_dir, webhook_url=receiver.url, webhook_secret="s3cret")
    async with sandbox:
        unused = await _get(sandbox, HOOKS)
        created = await asyncio.to_thread(
            http, sandbox.base_url, "POST", "/repos/lessons/content/issues", {"title": "One"}
        )
        assert created.status == 201
        await sandbox.wait_for_webhooks()
        receiver.status = 500
        await asyncio.to_thread(
            http, sandbox.base_url, "POST", "/repos/lessons/content/issues", {"title": "Two"}
        )
        await sandbox.wait_for_webhooks()
        hooks = await _get(sandbox, HOOKS)
        hook = await _get(sandbox, f"{HOOKS}/{HOOK_ID}")
        deliveries = await _get(sandbox, f"{HOOKS}/{HOOK_ID}/deliveries")
        page = await _get(sandbox, f"{HOOKS}/{HOOK_ID}/deliveries?per_page=1")

    assert json.loads(unused.body)[0]["last_response"]["status"] == "unused"
    [listed] = _strict(list[Hook], hooks.body)
    assert listed == _strict(Hook, hook.body)
    assert listed["config"] == {
        "content_type": "json",
        "insecure_ssl": "0",
        "url": receiver.url,
        "secret": "********",
    }
    assert listed["last_response"] == {
        "code": 500,
        "status": "misconfigured",
        "message": "Invalid HTTP Response: 500",
    }
    items = _strict(list[HookDeliveryItem], deliveries.body)
    assert [(item["event"], item["status_code"], item["status"]) for item in items] == [
        ("issues", 500, "Invalid HTTP Response: 500"),
        ("issues", 200, "OK"),
    ]
    assert items[0]["id"] > items[1]["id"]
    assert [item["guid"] for item in items] == [
        d["delivery_id"] for d in reversed(sandbox.deliveries)
    ]
    assert len(json.loads(page.body)) == 1 and 'rel="next"' in page.headers["Link"]


async def test_hooks_are_hidden_from_non_admins_and_absent_without_a_url(
    content_dir: Path, receiver: Receiver
) -> None:
    async with GitHubSandbox(content_dir, webhook_url=receiver.url) as sandbox:
        writer = await _get(sandbox, HOOKS, login="lessonbot")
        stranger = await _get(sandbox, f"{HOOKS}/{HOOK_ID}/deliveries", login="someone")
    async with GitHubSandbox(content_dir) as unhooked:
        none = await _get(unhooked, HOOKS)
        missing = await _get(unhooked, f"{HOOKS}/{HOOK_ID}/deliveries")

    assert (writer.status, stranger.status) == (404, 404)
    assert (none.status, json.loads(none.body)) == (200, [])
    assert missing.status == 404


async def test_a_receiver_that_is_down_shows_as_a_failed_connection(content_dir: Path) -> None:
    async with GitHubSandbox(content_dir, webhook_url="http://127.0.0.1:9/hooks") as sandbox:
        await asyncio.to_thread(
            http, sandbox.base_url, "POST", "/repos/lessons/content/issues", {"title": "One"}
        )
        await sandbox.wait_for_webhooks()
        deliveries = await _get(sandbox, f"{HOOKS}/{HOOK_ID}/deliveries")

    [item] = _strict(list[HookDeliveryItem], deliveries.body)
    assert (item["status_code"], item["status"]) == (0, "failed to connect to host")
