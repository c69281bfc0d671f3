"""Conditional requests as GitHub answers them: weak ETags, Last-Modified and 304s."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime

from aiohttp import web

from sandboxes.github.api import parse_time
from sandboxes.github.state import RateWindow

CACHE_CONTROL = "private, max-age=60, s-maxage=60"
VARY = "Accept, Authorization, Cookie, X-GitHub-OTP"
# What a 304 repeats from the 200 it stands for.
KEPT = ("ETag", "Last-Modified", "Cache-Control", "Vary", "Link")


def _last_modified(body: bytes) -> datetime | None:
    """Return when a JSON object says it changed (`updated_at`), if it does."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if isinstance(data, dict) and isinstance(data.get("updated_at"), str):
        return parse_time(data["updated_at"])
    return None


def _matches(header: str, etag: str) -> bool:
    """Tell whether an If-None-Match header names the ETag (weakly, as GitHub compares)."""
    wanted = etag.removeprefix("W/")
    tags = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    return "*" in tags or wanted in tags


def _not_modified_since(header: str, last_modified: datetime | None) -> bool:
    """Tell whether If-Modified-Since is at or after the resource's last change."""
    if last_modified is None:
        return False
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    return since is not None and since.tzinfo is not None and last_modified <= since


def apply(
    request: web.Request, response: web.StreamResponse, window: RateWindow | None
) -> web.StreamResponse:
    """Tag a successful GET; answer 304 to a matching condition, giving the request back."""
    if request.method not in ("GET", "HEAD") or response.status != 200:
        return response
    if not isinstance(response, web.Response) or response.prepared:
        return response
    body = response.body
    if not isinstance(body, bytes):
        return response
    etag = f'W/"{hashlib.sha256(body).hexdigest()}"'
    response.headers["ETag"] = etag
    response.headers.setdefault("Cache-Control", CACHE_CONTROL)
    response.headers.setdefault("Vary", VARY)
    last_modified = _last_modified(body) if response.content_type == "application/json" else None
    if last_modified is not None:
        response.headers["Last-Modified"] = format_datetime(last_modified, usegmt=True)
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        fresh = _matches(if_none_match, etag)
    else:
        since = request.headers.get("If-Modified-Since")
        fresh = since is not None and _not_modified_since(since, last_modified)
    if not fresh:
        return response
    if window is not None and window.remaining < window.limit and request.path != "/rate_limit":
        window.remaining += 1  # a 304 does not count against the rate limit on GitHub
    headers = {key: response.headers[key] for key in KEPT if key in response.headers}
    return web.Response(status=304, headers=headers)
