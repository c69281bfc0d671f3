"""The repository's webhook, read-only: GET its hooks and their recent deliveries.

The sandbox has one webhook (the URL it was started with, on the repository it was built
from); like GitHub, only a repository admin may see hooks, and others get 404.
"""

from __future__ import annotations

from aiohttp import web

from sandboxes.github.access import has
from sandboxes.github.api import context, find_repo, paginate, path_int, require_user, respond
from sandboxes.github.errors import not_found
from sandboxes.github.payloads import iso
from sandboxes.github.state import Repo
from sandboxes.github.webhooks import HOOK_ID, Delivery, WebhookSender

REPO = "/repos/{owner}/{repo}"
JSON = dict[str, object]


def _hooked_repo(request: web.Request) -> tuple[Repo, WebhookSender | None]:
    """Return the repository, and its webhook when it has one; 404 for a non-admin."""
    repo = find_repo(request)
    user = require_user(request)
    ctx = context(request)
    if not has(ctx.state, repo, user, "admin"):
        raise not_found()
    sender = ctx.webhooks
    hooked = bool(sender.url) and repo.id == sender.repository_id
    return repo, sender if hooked else None


def _hook(request: web.Request, repo: Repo, sender: WebhookSender) -> JSON:
    """Return the hook object (Hook) as GitHub lists it."""
    base = f"{context(request).payloads.base}/repos/{repo.owner.login}/{repo.name}/hooks/{HOOK_ID}"
    done = [delivery for delivery in sender.deliveries if delivery.delivered_at is not None]
    last = done[-1] if done else None
    if last is None:
        last_response: JSON = {"code": None, "status": "unused", "message": None}
    else:
        ok = last.status is not None and 200 <= last.status < 300
        last_response = {
            "code": last.status,
            "status": "active" if ok else "misconfigured",
            "message": "OK" if ok else _status(last),
        }
    config: JSON = {"content_type": "json", "insecure_ssl": "0", "url": sender.url}
    if sender.secret:
        config["secret"] = "********"  # noqa: S105 - GitHub shows a set secret masked
    created = iso(sender.created_at)
    return {
        "type": "Repository",
        "id": HOOK_ID,
        "name": "web",
        "active": True,
        "events": ["*"],
        "config": config,
        "updated_at": created,
        "created_at": created,
        "url": base,
        "test_url": f"{base}/test",
        "ping_url": f"{base}/pings",
        "deliveries_url": f"{base}/deliveries",
        "last_response": last_response,
    }


def _status(delivery: Delivery) -> str:
    """Return a delivery's `status` as GitHub words it."""
    if delivery.status is None:
        return "failed to connect to host"
    if 200 <= delivery.status < 300:
        return "OK"
    return f"Invalid HTTP Response: {delivery.status}"


def delivery_item(
    delivery: Delivery, repository_id: int, installation_id: int | None = None
) -> JSON:
    """Return one delivery (HookDeliveryItem), of a repository's hook or an App's."""
    return {
        "id": delivery.id,
        "guid": delivery.delivery_id,
        "delivered_at": iso(delivery.delivered_at),
        "redelivery": False,
        "duration": delivery.duration,
        "status": _status(delivery),
        "status_code": delivery.status or 0,
        "event": delivery.event,
        "action": delivery.action,
        "installation_id": installation_id,
        "repository_id": repository_id,
        "throttled_at": None,
    }


async def list_hooks(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/hooks."""
    repo, sender = _hooked_repo(request)
    return respond([] if sender is None else [_hook(request, repo, sender)])


async def get_hook(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/hooks/{hook_id}."""
    repo, sender = _hooked_repo(request)
    if sender is None or path_int(request, "hook_id") != HOOK_ID:
        raise not_found()
    return respond(_hook(request, repo, sender))


async def list_deliveries(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/hooks/{hook_id}/deliveries: newest first."""
    repo, sender = _hooked_repo(request)
    if sender is None or path_int(request, "hook_id") != HOOK_ID:
        raise not_found()
    attempted = [delivery for delivery in sender.deliveries if delivery.delivered_at is not None]
    newest_first = sorted(attempted, key=lambda delivery: delivery.id, reverse=True)
    return paginate(request, newest_first, lambda delivery: delivery_item(delivery, repo.id))


def routes() -> list[web.RouteDef]:
    """Return the hook routes."""
    hook = REPO + "/hooks/{hook_id}"
    return [
        web.get(REPO + "/hooks", list_hooks),
        web.get(hook, get_hook),
        web.get(hook + "/deliveries", list_deliveries),
    ]
