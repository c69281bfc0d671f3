"""The GitHub webhook endpoint: verify, record once, answer at once, handle in the background."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import env_name
from bot.store.models import WebhookDeliveryRecord, WebhookDeliveryStatus, utcnow
from bot.web.github_events import parse_event
from bot.web.keys import (
    BACKGROUND_TASKS,
    SESSION_FACTORY,
    SETTINGS,
    WEBHOOK_MAX_BYTES,
    WEBHOOK_ROUTER,
)
from bot.web.router import WebhookDelivery, WebhookHandler
from bot.web.signatures import SIGNATURE_HEADER, verify

log = logging.getLogger(__name__)

EVENT_HEADER = "X-GitHub-Event"
DELIVERY_HEADER = "X-GitHub-Delivery"
SECRET_SETTING = env_name("github", "webhook_secret")
# The width of the event, action and delivery_id columns.
_MAX_NAME = 100
_CHUNK = 64 * 1024

Sessions = async_sessionmaker[AsyncSession]


def _reply(status: int, body: dict[str, Any]) -> web.Response:
    return web.json_response(body, status=status)


def _refuse(status: int, error: str) -> web.Response:
    return _reply(status, {"status": "rejected", "error": error})


def _shown(value: str | None) -> str:
    """Return an untrusted header value fit for a log line: short, quoted, escaped."""
    # repr escapes newlines, so a crafted header cannot forge extra log lines.
    return repr((value or "")[:_MAX_NAME])


async def receive_github_webhook(request: web.Request) -> web.Response:
    """Verify, record and hand off one GitHub delivery, answering before it is handled."""
    app = request.app
    delivery_id = request.headers.get(DELIVERY_HEADER, "")
    event = request.headers.get(EVENT_HEADER, "")
    secret = app[SETTINGS].github.webhook_secret
    if not secret:
        # Never accept unsigned payloads: without the secret nothing can be verified.
        log.error(
            "refusing GitHub webhook delivery %s: %s is not set, so no signature can be checked",
            _shown(delivery_id),
            SECRET_SETTING,
        )
        return _reply(503, {"status": "unavailable", "error": "webhook secret is not configured"})

    body = await _read_body(request, app[WEBHOOK_MAX_BYTES])
    if body is None:
        log.warning(
            "refusing GitHub webhook delivery %s: body larger than %d bytes",
            _shown(delivery_id),
            app[WEBHOOK_MAX_BYTES],
        )
        return _refuse(413, "payload too large")

    signature = request.headers.get(SIGNATURE_HEADER)
    if not verify(secret.reveal(), body, signature):
        log.warning(
            "refusing GitHub webhook delivery %s (event %s) from %s: %s %s",
            _shown(delivery_id),
            _shown(event),
            request.remote,
            "invalid" if signature else "missing",
            SIGNATURE_HEADER,
        )
        return _refuse(401, f"missing or invalid {SIGNATURE_HEADER}")

    problem = _header_problem(event, delivery_id)
    if problem:
        log.warning("refusing GitHub webhook delivery %s: %s", _shown(delivery_id), problem)
        return _refuse(400, problem)
    if request.content_type == "application/x-www-form-urlencoded":
        log.warning("refusing GitHub webhook delivery %s: form-encoded", _shown(delivery_id))
        return _refuse(415, "set the webhook's content type to application/json")
    payload = _parse(body)
    if payload is None:
        log.warning("refusing GitHub webhook delivery %s: not a JSON object", _shown(delivery_id))
        return _refuse(400, "the body is not a JSON object")

    if event == "ping":
        # GitHub's check that the hook works; it changes nothing, so it is not recorded.
        log.info("GitHub webhook ping, delivery %s", _shown(delivery_id))
        return _reply(200, {"status": "pong"})

    action = payload.get("action")
    action = action if isinstance(action, str) and action else None
    if action is not None and len(action) > _MAX_NAME:
        log.warning("refusing GitHub webhook delivery %s: action too long", _shown(delivery_id))
        return _refuse(400, "the action is too long")
    return await _accept(app, event, action, delivery_id, payload)


async def _accept(
    app: web.Application,
    event: str,
    action: str | None,
    delivery_id: str,
    payload: dict[str, Any],
) -> web.Response:
    """Record a verified delivery once and schedule its handlers."""
    tasks = app[BACKGROUND_TASKS]
    if tasks.closing:
        return _reply(503, {"status": "unavailable", "error": "shutting down"})
    handlers = app[WEBHOOK_ROUTER].resolve(event, action)
    sessions: Sessions = app[SESSION_FACTORY]
    received_at = utcnow()
    status = WebhookDeliveryStatus.RECEIVED if handlers else WebhookDeliveryStatus.IGNORED
    try:
        is_new = await _record(sessions, delivery_id, event, action, status, received_at)
    except (SQLAlchemyError, OSError) as error:
        # Not recorded, so not handled: a 503 lets GitHub (or a maintainer) redeliver it.
        log.error(
            "cannot record GitHub webhook delivery %s: database unavailable (%s)",
            _shown(delivery_id),
            type(error).__name__,
        )
        return _reply(503, {"status": "unavailable", "error": "database unavailable"})
    what = f"{event}.{action}" if action else event
    if not is_new:
        log.info("GitHub webhook delivery %s (%s) seen before", _shown(delivery_id), what)
        return _reply(200, {"status": "duplicate"})
    if not handlers:
        log.info("GitHub webhook delivery %s (%s) ignored", _shown(delivery_id), what)
        return _reply(202, {"status": "ignored"})

    delivery = WebhookDelivery(
        event=event,
        action=action,
        delivery_id=delivery_id,
        payload=payload,
        received_at=received_at,
        # Once, here at the edge: every handler gets the same typed event.
        parsed=parse_event(event, payload),
    )
    # GitHub gives up after 10 seconds: answer now, handle after.
    tasks.spawn(_dispatch(sessions, delivery, handlers), name=f"webhook {delivery_id}")
    log.info("GitHub webhook delivery %s (%s) accepted", _shown(delivery_id), what)
    return _reply(202, {"status": "accepted"})


async def _read_body(request: web.Request, limit: int) -> bytes | None:
    """Return the raw body, or None when it exceeds the limit (declared or actual)."""
    if request.content_length is not None and request.content_length > limit:
        return None
    # A chunked body declares no length: count while reading, never buffer past the limit.
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(_CHUNK):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _header_problem(event: str, delivery_id: str) -> str | None:
    """Return what is wrong with the event and delivery headers, if anything."""
    if not event:
        return f"missing {EVENT_HEADER} header"
    if not delivery_id:
        return f"missing {DELIVERY_HEADER} header"
    if len(event) > _MAX_NAME or len(delivery_id) > _MAX_NAME:
        return f"{EVENT_HEADER} or {DELIVERY_HEADER} is too long"
    return None


def _parse(body: bytes) -> dict[str, Any] | None:
    """Return the body as a JSON object, or None when it is not one."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        # ValueError covers bad JSON and bad UTF-8; RecursionError absurdly deep nesting.
        return None
    return payload if isinstance(payload, dict) else None


async def _record(
    sessions: Sessions,
    delivery_id: str,
    event: str,
    action: str | None,
    status: WebhookDeliveryStatus,
    received_at: datetime,
) -> bool:
    """Insert the delivery; return False when its id was already recorded."""
    # Insert first and let the unique constraint decide: two concurrent copies of one
    # delivery cannot both pass, which a select-then-insert would allow.
    async with sessions() as session:
        session.add(
            WebhookDeliveryRecord(
                delivery_id=delivery_id,
                event=event,
                action=action,
                status=status,
                received_at=received_at,
            )
        )
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
            return False
    return True


async def _dispatch(
    sessions: Sessions, delivery: WebhookDelivery, handlers: tuple[WebhookHandler, ...]
) -> None:
    """Run every handler for a delivery, then record whether all of them succeeded."""
    status = WebhookDeliveryStatus.HANDLED
    for handler in handlers:
        try:
            await handler(delivery)
        except Exception:
            # One failing concern must not stop the others, nor the app.
            status = WebhookDeliveryStatus.FAILED
            log.exception(
                "webhook handler %s failed on GitHub delivery %s (%s)",
                getattr(handler, "__qualname__", type(handler).__qualname__),
                _shown(delivery.delivery_id),
                f"{delivery.event}.{delivery.action}" if delivery.action else delivery.event,
            )
    try:
        async with sessions() as session:
            await session.execute(
                update(WebhookDeliveryRecord)
                .where(WebhookDeliveryRecord.delivery_id == delivery.delivery_id)
                .values(status=status)
            )
            await session.commit()
    except (SQLAlchemyError, OSError) as error:
        log.error(
            "cannot mark GitHub webhook delivery %s %s: %s",
            _shown(delivery.delivery_id),
            status.value,
            type(error).__name__,
        )
