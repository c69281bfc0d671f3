"""The JSON API for suggested edits: send, follow, revise, accept and withdraw.

Every refusal is `{"error": {"code", "field", "message"}}` with a 4xx status, the message in
the request's Accept-Language (an unknown lesson adds `did_you_mean`, the closest lessons);
only a real bug answers 500 (and is logged).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.domain.review_flow import shown_status
from bot.services.suggestions import Author, SuggestionError, SuggestionInput
from bot.store.models import SuggestionSource
from bot.web.guard import BodyTooLargeError, client_handle, read_capped
from bot.web.keys import SUGGEST_DEPS
from bot.web.locales import api_locale
from bot.web.openapi import openapi_document
from bot.web.shared import (
    MAX_EMAIL,
    MAX_ID,
    MAX_IDEMPOTENCY_KEY,
    SuggestDeps,
    wait_json,
    web_message,
)

log = logging.getLogger(__name__)

API_PREFIX = "/api/"
IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_TOKEN = 200
# What a suggestion body must hold, in the order their type errors are reported.
SUGGESTION_FIELDS = ("lesson", "locale", "find", "replace", "reason")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    """A refusal of the web door itself (not the service's): code, field, status, params."""

    def __init__(self, code: str, status: int, field: str | None = None, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.status = status
        self.field = field
        self.params = params
        self.headers: dict[str, str] = {}


def add_routes(app: web.Application) -> None:
    """Register the API's routes and the middleware that keeps its errors in JSON."""
    app.router.add_post("/api/suggestions", create)
    # [0-9], not \d: \d also matches other scripts' digits, which int() would read as an id.
    app.router.add_get(r"/api/suggestions/{id:[0-9]{1,12}}", show)
    app.router.add_post(r"/api/suggestions/{id:[0-9]{1,12}}/revise", revise)
    app.router.add_post(r"/api/suggestions/{id:[0-9]{1,12}}/accept", accept)
    app.router.add_delete(r"/api/suggestions/{id:[0-9]{1,12}}", withdraw)
    app.router.add_get("/api/openapi.json", openapi)
    app.middlewares.append(json_errors)


def error_body(code: str, field: str | None, message: str) -> dict[str, Any]:
    """Return the API's error envelope."""
    return {"error": {"code": code, "field": field, "message": message}}


def _refusal(
    request: web.Request, code: str, status: int, field: str | None, message: str | None = None
) -> web.Response:
    locale = api_locale(request.headers.get("Accept-Language"))
    text = message if message is not None else web_message(locale, code)
    return web.json_response(error_body(code, field, text), status=status)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer every refusal under /api/ in the error envelope; log and hide real bugs."""
    if not request.path.startswith(API_PREFIX):
        return await handler(request)
    locale = api_locale(request.headers.get("Accept-Language"))
    try:
        return await handler(request)
    except ApiError as error:
        message = web_message(locale, error.code, **error.params)
        response = web.json_response(
            error_body(error.code, error.field, message), status=error.status
        )
        response.headers.update(error.headers)
        return response
    except SuggestionError as error:
        body = error_body(error.code, error.field, error.message(locale))
        if error.code == "lesson_unknown":
            # For a program to retry with: the message holds them too, worded for people.
            body["error"]["did_you_mean"] = list(error.params.get("did_you_mean") or ())
        response = web.json_response(body, status=error.status)
        if error.status == 429:
            response.headers["Retry-After"] = "3600"
        return response
    except web.HTTPException as error:
        if error.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}.get(
            error.status, "bad_request"
        )
        message = web_message(locale, code, limit="")
        response = web.json_response(error_body(code, None, message), status=error.status)
        if "Allow" in error.headers:
            response.headers["Allow"] = error.headers["Allow"]
        return response
    except Exception:
        log.exception("API %s %s failed", request.method, request.path)
        message = web_message(locale, "internal")
        return web.json_response(error_body("internal", None, message), status=500)


# --- reading requests -----------------------------------------------------------------------


def _deps(request: web.Request) -> SuggestDeps:
    return request.app[SUGGEST_DEPS]


def _limit(request: web.Request) -> None:
    deps = _deps(request)
    wait = deps.limiter.hit(request.remote or "unknown")
    if wait is not None:
        error = ApiError("rate_limited", 429, limit=deps.limiter.per_hour, seconds=math.ceil(wait))
        error.headers["Retry-After"] = str(math.ceil(wait))
        raise error


async def _json_body(request: web.Request, *, optional: bool = False) -> dict[str, Any]:
    """Return the body as a JSON object, or refuse it (413, 400)."""
    deps = _deps(request)
    try:
        body = await read_capped(request, deps.max_form_bytes)
    except BodyTooLargeError:
        raise ApiError("body_too_large", 413, limit=deps.max_form_bytes) from None
    if optional and not body.strip():
        return {}
    if request.content_type != "application/json":
        # Only JSON: another site's page cannot post it here without asking first (CORS).
        raise ApiError("not_json", 400)
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ApiError("invalid_json", 400) from None
    except RecursionError:
        # Python's parser recurses per level: thousands of nested brackets exhaust the stack.
        raise ApiError("too_deep", 400) from None
    if not isinstance(data, dict):
        raise ApiError("not_object", 400)
    return data


def _text(data: dict[str, Any], name: str, *, prefix: str = "") -> str:
    """Return a text field ("" when missing or null), or refuse another type (400)."""
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ApiError("not_string", 400, field=f"{prefix}{name}", field_name=f"{prefix}{name}")
    return value


def _require(data: dict[str, Any], *names: str) -> None:
    """Refuse a body that leaves out a required field (or sends it as null)."""
    # After the type checks, so a body with a wrong type and a missing field names the type.
    for name in names:
        if data.get(name) is None:
            raise ApiError("field_missing", 400, field=name, field_name=name)


def _suggestion_id(request: web.Request) -> int:
    value = int(request.match_info["id"])
    if not 0 < value <= MAX_ID:
        raise SuggestionError("not_found", status=404, id=value)
    return value


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()[:MAX_TOKEN]


# --- handlers -------------------------------------------------------------------------------


async def create(request: web.Request) -> web.Response:
    """Take a suggested edit: 202 with its id, status page and the sender's token."""
    _limit(request)
    deps = _deps(request)
    data = await _json_body(request)
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is not None and (
        not key.strip()
        or len(key) > MAX_IDEMPOTENCY_KEY
        or not key.isascii()
        or not key.isprintable()
    ):
        raise ApiError("idempotency_key_invalid", 400, field=IDEMPOTENCY_HEADER)
    author_data = data.get("author")
    if author_data is None:
        author_data = {}
    if not isinstance(author_data, dict):
        raise ApiError("not_object_field", 400, field="author", field_name="author")
    name = _text(author_data, "name", prefix="author.")
    email = _text(author_data, "email", prefix="author.")
    texts = {field: _text(data, field) for field in SUGGESTION_FIELDS}
    _require(data, *SUGGESTION_FIELDS)
    # The service sees them trimmed; the limits the OpenAPI description states are on what
    # was sent, so a name padded past its limit is refused here rather than taken.
    limits = deps.settings.suggestions
    if len(name) > limits.max_name_chars:
        raise SuggestionError("field_too_long", field="name", limit=limits.max_name_chars)
    if len(email) > MAX_EMAIL:
        raise SuggestionError("email_invalid", field="email")
    locale = api_locale(request.headers.get("Accept-Language"))
    submitted = await deps.suggestions.submit(
        SuggestionInput(
            lesson=texts["lesson"],
            locale=texts["locale"],
            find=texts["find"],
            replace=texts["replace"],
            reason=texts["reason"],
            source=SuggestionSource.API,
            author=Author(
                name=name.strip(),
                email=email.strip() or None,
                handle=client_handle(deps.signer, request.remote),
                locale=locale,
            ),
            idempotency_key=key,
        )
    )
    status_url = deps.suggestions.status_url(submitted.id)
    return web.json_response(
        {"id": submitted.id, "status_url": status_url, "token": submitted.token},
        status=202,
        headers={"Location": f"/api/suggestions/{submitted.id}"},
    )


async def show(request: web.Request) -> web.Response:
    """Answer a suggestion's record: status, PR and events."""
    suggestion_id = _suggestion_id(request)
    deps = _deps(request)
    view = await deps.suggestions.view(suggestion_id)
    if view is None:
        raise SuggestionError("not_found", status=404, id=suggestion_id)
    # A queued suggestion says when it goes on if it waits out GitHub's rate limit.
    record = {**view.as_json(), "waiting": wait_json(await deps.waiting(view))}
    # A rejection as spam reads as held: a spammer learns nothing to change (write-path.md).
    record["status"] = shown_status(view.status)
    return web.json_response(record, headers={"Cache-Control": "no-store"})


async def revise(request: web.Request) -> web.Response:
    """Apply a further edit for the suggestion's sender (bearer token)."""
    _limit(request)
    suggestion_id = _suggestion_id(request)
    data = await _json_body(request)
    find, replace, reason = (_text(data, field) for field in ("find", "replace", "reason"))
    _require(data, "find", "replace")
    view = await _deps(request).suggestions.revise(
        suggestion_id, find, replace, reason, token=_bearer(request)
    )
    return web.json_response(view.as_json())


async def accept(request: web.Request) -> web.Response:
    """Commit a reviewer's proposed text (the newest, or the one of `comment_id`)."""
    _limit(request)
    suggestion_id = _suggestion_id(request)
    data = await _json_body(request, optional=True)
    comment_id = data.get("comment_id")
    if isinstance(comment_id, float) and comment_id.is_integer():
        # JSON has one kind of number: 7.0 is the whole number 7, as JSON Schema counts it.
        comment_id = int(comment_id)
    if comment_id is not None and (
        not isinstance(comment_id, int) or isinstance(comment_id, bool) or comment_id < 0
    ):
        raise ApiError("not_integer", 400, field="comment_id", field_name="comment_id")
    view = await _deps(request).suggestions.accept(
        suggestion_id, comment_id, token=_bearer(request)
    )
    return web.json_response(view.as_json())


async def withdraw(request: web.Request) -> web.Response:
    """Withdraw the sender's suggestion; the PR is closed when nobody else sent it."""
    _limit(request)
    suggestion_id = _suggestion_id(request)
    view = await _deps(request).suggestions.withdraw(suggestion_id, token=_bearer(request))
    return web.json_response(view.as_json())


async def openapi(request: web.Request) -> web.Response:
    """Serve the OpenAPI 3.1 description of this API, with the limits this server applies."""
    deps = _deps(request)
    return web.json_response(openapi_document(deps.settings.suggestions, deps.max_form_bytes))
