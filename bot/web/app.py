"""The bot's aiohttp application: GitHub webhooks and a health check, from what it is given."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.web.keys import (
    BACKGROUND_TASKS,
    SESSION_FACTORY,
    SETTINGS,
    WEBHOOK_MAX_BYTES,
    WEBHOOK_ROUTER,
)
from bot.web.router import WebhookRouter
from bot.web.tasks import BackgroundTasks
from bot.web.webhooks import receive_github_webhook

log = logging.getLogger(__name__)

# A health probe must answer even when the database hangs instead of refusing.
HEALTH_TIMEOUT_SECONDS = 5.0
# How long shutdown waits for webhook handlers before cancelling them.
SHUTDOWN_GRACE_SECONDS = 5.0


def create_web_app(
    settings: Settings,
    *,
    session_factory: async_sessionmaker[AsyncSession],
    webhook_router: WebhookRouter,
    webhook_max_bytes: int | None = None,
    shutdown_grace: float = SHUTDOWN_GRACE_SECONDS,
) -> web.Application:
    """Build the web app; the caller owns the engine behind the session factory.

    `webhook_max_bytes` overrides the `web.max_webhook_bytes` setting (for tests).
    """
    app = web.Application()
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
    app.router.add_post("/webhooks/github", receive_github_webhook)
    return app


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
