"""Request helpers the routes share: the sandbox context, JSON in and out, pagination."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlencode

from aiohttp import web

from sandboxes.github.errors import ApiError, not_found
from sandboxes.github.events import Events
from sandboxes.github.faults import FaultList
from sandboxes.github.gitrepo import Signature
from sandboxes.github.operations import Operations
from sandboxes.github.payloads import JSON, Payloads
from sandboxes.github.state import Apps, Issue, Pull, RateWindow, Repo, State, User
from sandboxes.github.webhooks import WebhookSender

T = TypeVar("T")
DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100


@dataclass
class Context:
    """Everything a route needs, stored on the aiohttp application."""

    state: State
    payloads: Payloads
    events: Events
    ops: Operations
    faults: FaultList
    webhooks: WebhookSender
    requests: list[dict[str, Any]]
    lock: asyncio.Lock
    apps: Apps


CONTEXT = web.AppKey("github_sandbox_context", Context)
USER = web.RequestKey("github_sandbox_user", User)
RATE = web.RequestKey("github_sandbox_rate", RateWindow)


def context(request: web.Request) -> Context:
    """Return the sandbox context of the application serving `request`."""
    return request.app[CONTEXT]


def respond(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """Return a JSON response as GitHub formats it."""
    return web.Response(
        body=json.dumps(data, ensure_ascii=False).encode(),
        status=status,
        content_type="application/json",
        charset="utf-8",
        headers=headers,
    )


def no_content() -> web.Response:
    """Return an empty 204 response."""
    return web.Response(status=204)


async def body(request: web.Request) -> Any:
    """Return the parsed JSON body (None when empty), or answer 400 like GitHub."""
    raw = await request.read()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError as error:
        raise ApiError(400, "Problems parsing JSON") from error


async def body_object(request: web.Request) -> dict[str, Any]:
    """Return the JSON body as an object; anything else is a 400 as on GitHub."""
    data = await body(request)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ApiError(400, "Problems parsing JSON")
    return data


def acting_user(request: web.Request) -> User | None:
    """Return the authenticated user, if any."""
    return request.get(USER)


def require_user(request: web.Request) -> User:
    """Return the authenticated user or answer 401."""
    user = acting_user(request)
    if user is None:
        raise ApiError(401, "Requires authentication")
    return user


def find_repo(request: web.Request) -> Repo:
    """Return the repository named in the path or answer 404."""
    repo = context(request).state.repo(request.match_info["owner"], request.match_info["repo"])
    if repo is None:
        raise not_found()
    return repo


def find_issue(request: web.Request, repo: Repo, key: str = "number") -> Issue:
    """Return the issue (or pull request) numbered in the path, or answer 404."""
    issue = repo.issues.get(path_int(request, key))
    if issue is None:
        raise not_found()
    return issue


def find_pull(request: web.Request, repo: Repo) -> Issue:
    """Return the pull request numbered in the path, or answer 404."""
    issue = find_issue(request, repo)
    if issue.pull is None:
        raise not_found()
    return issue


def find_pull_parts(request: web.Request, repo: Repo) -> tuple[Issue, Pull]:
    """Return the pull request numbered in the path as its issue and its pull details."""
    issue = find_pull(request, repo)
    assert issue.pull is not None  # find_pull answered 404 otherwise
    return issue, issue.pull


def path_int(request: web.Request, key: str) -> int:
    """Return a whole-number path parameter or answer 404."""
    try:
        return int(request.match_info[key])
    except (KeyError, ValueError) as error:
        raise not_found() from error


def text_field(
    data: dict[str, Any], key: str, resource: str, *, required: bool = False
) -> str | None:
    """Return a string field of a request body, validating its type as GitHub does."""
    value = data.get(key)
    if value is None:
        if required:
            raise ApiError(
                422,
                "Validation Failed",
                errors=[{"resource": resource, "field": key, "code": "missing_field"}],
            )
        return None
    if not isinstance(value, str):
        raise ApiError(
            422,
            f"Invalid request.\n\nFor '{key}', {json.dumps(value)} is not a string.",
        )
    return value


def parse_time(value: str | None) -> datetime | None:
    """Parse an ISO 8601 timestamp as GitHub accepts in `since`; None when absent or bad."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def signature_field(data: Any, field: str, when: datetime) -> Signature | None:
    """Parse an optional {name, email, date} author or committer; the date defaults to `when`."""
    if data is None:
        return None
    if not (
        isinstance(data, dict)
        and isinstance(data.get("name"), str)
        and isinstance(data.get("email"), str)
    ):
        raise ApiError(422, f'Invalid request.\n\n"name" and "email" are required in {field}.')
    date = data.get("date")
    return Signature(
        data["name"], data["email"], parse_time(date if isinstance(date, str) else None) or when
    )


def paginate(
    request: web.Request,
    items: Sequence[T],
    render: Callable[[T], JSON],
) -> web.Response:
    """Answer one page of `items` with GitHub's `Link` header (prev, next, last, first)."""
    query = request.query
    try:
        per_page = min(max(int(query.get("per_page", DEFAULT_PER_PAGE)), 1), MAX_PER_PAGE)
    except ValueError:
        per_page = DEFAULT_PER_PAGE
    try:
        page = max(int(query.get("page", 1)), 1)
    except ValueError:
        page = 1
    last = max(1, math.ceil(len(items) / per_page))
    chunk = items[(page - 1) * per_page : page * per_page]
    base = context(request).payloads.base + request.rel_url.raw_path

    def link(number: int, rel: str) -> str:
        pairs = [(key, value) for key, value in query.items() if key != "page"]
        pairs.append(("page", str(number)))
        return f'<{base}?{urlencode(pairs)}>; rel="{rel}"'

    links = []
    if page > 1:
        links.append(link(min(page - 1, last), "prev"))
    if page < last:
        links.append(link(page + 1, "next"))
        links.append(link(last, "last"))
    if page > 1:
        links.append(link(1, "first"))
    headers = {"Link": ", ".join(links)} if links else None
    return respond([render(item) for item in chunk], headers=headers)
