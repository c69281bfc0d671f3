"""The bot's aiohttp application: GitHub webhooks, a health check and, when given the
suggestion service, the suggest form, status pages and JSON API."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.domain.catalogue import Catalogue
from bot.services import correlation
from bot.services.metrics import RequestTally
from bot.services.signing import Signer
from bot.web import metrics, readiness
from bot.web.keys import (
    BACKGROUND_TASKS,
    SESSION_FACTORY,
    SETTINGS,
    SUGGEST_DEPS,
    WEBHOOK_MAX_BYTES,
    WEBHOOK_ROUTER,
)
from bot.web.router import WebhookRouter
from bot.web.tasks import BackgroundTasks
from bot.web.webhooks import DELIVERY_HEADER, receive_github_webhook

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from bot.services.digests import DigestService
    from bot.services.discussion import DiscussionService
    from bot.services.suggestions import SuggestionService

log = logging.getLogger(__name__)

# A health probe must answer even when the database hangs instead of refusing.
HEALTH_TIMEOUT_SECONDS = 5.0
# How long shutdown waits for webhook handlers before cancelling them.
SHUTDOWN_GRACE_SECONDS = 5.0
# The request's correlation id: taken from the client when sane, echoed in every answer.
REQUEST_ID_HEADER = "X-Request-Id"
WEBHOOK_PATH = "/webhooks/github"


def create_web_app(
    settings: Settings,
    *,
    session_factory: async_sessionmaker[AsyncSession],
    webhook_router: WebhookRouter,
    webhook_max_bytes: int | None = None,
    shutdown_grace: float = SHUTDOWN_GRACE_SECONDS,
    suggestions: SuggestionService | None = None,
    lessons: Callable[[], Catalogue] | None = None,
    signer: Signer | None = None,
    clock: Callable[[], float] = time.time,
    poll_seconds: float = 5.0,
    digests: DigestService | None = None,
    registry: CollectorRegistry | None = None,
    request_meters: Mapping[str, RequestTally] | None = None,
    readiness_checks: Mapping[str, readiness.ReadinessCheck] | None = None,
    discussion: DiscussionService | None = None,
) -> web.Application:
    """Build the web app; the caller owns the engine behind the session factory.

    `webhook_max_bytes` overrides the `web.max_webhook_bytes` setting (for tests). The
    suggest form, status pages and JSON API are served only when `suggestions`, `lessons`
    and `signer` are all given; `clock` (wall seconds, for CSRF windows) and
    `poll_seconds` (how often a status page looks for news) are for tests.

    `/metrics` renders `registry` (a new one per app when none is given) with the database's
    counts and `request_meters` (each adapter's requests, by service name); `/readyz`
    runs the database check and `readiness_checks` (by name). With `discussion` too, it
    serves the lesson pages' embed (`/embed.js`, its JSON and the no-script page).
    """
    # First, so it is the outermost: every other middleware's lines carry the id.
    app = web.Application(middlewares=[correlate])
    app[SETTINGS] = settings
    app[SESSION_FACTORY] = session_factory
    app[WEBHOOK_ROUTER] = webhook_router
    app[WEBHOOK_MAX_BYTES] = (
        settings.web.max_webhook_bytes if webhook_max_bytes is None else webhook_max_bytes
    )
    tasks = BackgroundTasks()
    app[BACKGROUND_TASKS] = tasks

    async def close_tasks(_app: web.Application) -> None:
        await tasks.close(shutdown_grace)

    app.on_cleanup.append(close_tasks)
    app.router.add_get("/healthz", healthz)
    metrics.add_routes(app, session_factory, registry=registry, meters=request_meters)
    readiness.add_routes(app, session_factory, readiness_checks)
    app.router.add_post(WEBHOOK_PATH, receive_github_webhook)
    if suggestions is not None and lessons is not None and signer is not None:
        _add_suggestion_routes(app, settings, suggestions, lessons, signer, clock, poll_seconds)
        if discussion is not None:
            from bot.web import embed

            embed.add_routes(app, discussion)
    if digests is not None:  # the digest email's signed unsubscribe link
        from bot.web import unsubscribe

        unsubscribe.add_routes(app, digests)
    return app


@web.middleware
async def correlate(request: web.Request, handler: Any) -> web.StreamResponse:
    """Run the request under its correlation id, log its outcome, and echo the id back.

    A webhook delivery's id is GitHub's `X-GitHub-Delivery`; any other request's is a
    sane `X-Request-Id` it brought, else a new one.
    """
    inbound = request.headers.get(
        DELIVERY_HEADER if request.path == WEBHOOK_PATH else REQUEST_ID_HEADER
    )
    correlation_id = correlation.sane(inbound) or correlation.new_id("web")
    with correlation.correlated(correlation_id):
        started = time.monotonic()
        try:
            response = await handler(request)
        except web.HTTPException as error:
            error.headers[REQUEST_ID_HEADER] = correlation_id
            _log_request(request, error.status, started)
            raise
        if not response.prepared:  # a streamed answer has sent its headers already
            response.headers[REQUEST_ID_HEADER] = correlation_id
        _log_request(request, response.status, started)
        return response


def _log_request(request: web.Request, status: int, started: float) -> None:
    # Reads are many (probes, status pages polling): only writes and failures show at INFO.
    # The path alone: a query string may hold a token.
    quiet = request.method in ("GET", "HEAD") and status < 400
    log.log(
        logging.DEBUG if quiet else logging.INFO,
        "%s %s -> %d (%.0f ms)",
        request.method,
        request.path[:200],
        status,
        (time.monotonic() - started) * 1000,
    )


def _add_suggestion_routes(
    app: web.Application,
    settings: Settings,
    suggestions: SuggestionService,
    lessons: Callable[[], Catalogue],
    signer: Signer,
    clock: Callable[[], float],
    poll_seconds: float,
) -> None:
    """Serve the suggest form, status pages and JSON API."""
    # Imported here: an app that only takes webhooks needs none of the suggestion code.
    import aiohttp_jinja2
    import jinja2

    from bot.web import api, confirm, index, suggest
    from bot.web.guard import RateLimiter
    from bot.web.shared import SuggestDeps

    app[SUGGEST_DEPS] = SuggestDeps(
        settings=settings,
        suggestions=suggestions,
        lessons=lessons,
        signer=signer,
        limiter=RateLimiter(settings.web.per_ip_per_hour),
        clock=clock,
        poll_seconds=poll_seconds,
        max_form_bytes=settings.web.max_form_bytes,
    )
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(suggest.TEMPLATES),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
    )
    suggest.add_routes(app)
    index.add_routes(app)
    api.add_routes(app)
    confirm.add_routes(app, suggestions.confirmations)


async def healthz(request: web.Request) -> web.Response:
    """Answer 200 when the app and its database work, 503 when the database does not."""
    headers = {"Cache-Control": "no-store"}
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS):
            async with request.app[SESSION_FACTORY]() as session:
                await session.execute(text("SELECT 1"))
    except Exception as error:
        # Whatever broke, the probe gets a plain 503; the reason goes to the log, not the client.
        # First line only: the driver's reason (host, port, refusal), never the full URL.
        reason = str(error).partition("\n")[0][:200]
        log.warning("health check: database unavailable: %s: %s", type(error).__name__, reason)
        return web.json_response(
            {"status": "unavailable", "database": "unavailable"}, status=503, headers=headers
        )
    return web.json_response({"status": "ok", "database": "ok"}, headers=headers)
