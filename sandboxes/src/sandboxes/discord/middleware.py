"""The middleware in front of every route: bot-token auth, injected faults, Discord's
error shapes and the log of the bot's REST requests."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from sandboxes.discord.api import CONTEXT, Context, respond
from sandboxes.discord.errors import ApiError, method_not_allowed, not_found, unauthorized
from sandboxes.discord.faults import HANG_SECONDS, Fault
from sandboxes.discord.ratelimits import RATE_LIMITER, RateLimiter
from sandboxes.faults import hold_back

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
API_PREFIX = "/api/v10"
# Routes whose credential is in the URL (an interaction token), not a bot token.
TOKENLESS = re.compile(r"^/(gateway|interactions/\d+/[^/]+/callback|webhooks/\d+/[^/]+(/.*)?)$")


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Authenticate, inject faults and log the bot's REST requests; render errors."""
    if not request.path.startswith(f"{API_PREFIX}/"):
        return await _call(request, handler)
    ctx = request.app[CONTEXT]
    response = await _api(request, handler, ctx)
    ctx.requests.append({"method": request.method, "path": request.path, "status": response.status})
    return response


async def _api(request: web.Request, handler: Handler, ctx: Context) -> web.StreamResponse:
    """Check the bot token (unless the URL carries its own credential) and faults."""
    relative = request.path[len(API_PREFIX) :]
    if not TOKENLESS.match(relative) and request.headers.get("Authorization") != f"Bot {ctx.token}":
        return _error(unauthorized())
    limiter = request.app.get(RATE_LIMITER)
    if limiter is not None and (held := limiter.held_429(request.method, request.path)):
        return held
    fault = ctx.faults.take(request.method, request.path)
    if fault is not None and fault.mode == "hang":
        response = await _call(request, handler)
        await hold_back(request, HANG_SECONDS)
        return response
    if fault is not None:
        if limiter is not None and fault.mode != "server_error":
            # As on Discord, retrying before the advertised reset gets another 429.
            limiter.hold(fault, fault.retry_after)
        return _fault(fault)
    if limiter is None:
        return await _call(request, handler)
    return await _limited(request, handler, limiter, relative)


async def _limited(
    request: web.Request, handler: Handler, limiter: RateLimiter, relative: str
) -> web.StreamResponse:
    """Count a request against Discord's rate limits; add their headers to the answer."""
    body = None
    if request.method == "PATCH" and request.can_read_body:
        # Channel name/topic edits have their own bucket: peek at the (cached) body.
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            body = json.loads(await request.read() or b"null")
    verdict = limiter.check(request.method, relative, body)
    if verdict.limited is not None:
        return verdict.limited
    response = await _call(request, handler)
    if not response.prepared:
        response.headers.update(verdict.headers)
    return response


def _fault(fault: Fault) -> web.Response:
    """Answer an injected fault the way Discord's edge does."""
    if fault.mode == "server_error":
        return respond({"message": "500: Internal Server Error", "code": 0}, status=500)
    reset = time.time() + fault.retry_after
    headers = {
        "Retry-After": str(max(1, math.ceil(fault.retry_after))),
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": f"{reset:.3f}",
        "X-RateLimit-Reset-After": f"{fault.retry_after:.3f}",
        "X-RateLimit-Bucket": "sandbox-fault",
        "X-RateLimit-Scope": "user",
        # discord.py retries a 429 only when it came through Discord's proxy (Via).
        "Via": "1.1 google",
    }
    body = {
        "message": "You are being rate limited.",
        "retry_after": fault.retry_after,
        "global": False,
        "code": 0,
    }
    return respond(body, status=429, headers=headers)


def _error(error: ApiError) -> web.Response:
    """Render an ApiError."""
    return respond(error.body(), status=error.status, headers=error.headers)


async def _call(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Run a route, turning every failure into Discord's JSON error shape."""
    try:
        return await handler(request)
    except ApiError as error:
        return _error(error)
    except web.HTTPException as error:
        if error.status == 405:
            return _error(method_not_allowed())
        if error.status == 404:
            return _error(not_found())
        return _error(ApiError(error.status, 0, f"{error.status}: {error.reason}"))
    except Exception:
        log.exception("Discord sandbox route %s %s failed", request.method, request.path)
        return _error(ApiError(500, 0, "500: Internal Server Error"))
