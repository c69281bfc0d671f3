"""Typed keys for what the web app's handlers need, set by `create_web_app`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.config import Settings
from bot.web.router import WebhookRouter
from bot.web.tasks import BackgroundTasks

if TYPE_CHECKING:
    from bot.services.discussion import DiscussionService
    from bot.web.shared import SuggestDeps

SETTINGS = web.AppKey("settings", Settings)
SESSION_FACTORY = web.AppKey("session_factory", async_sessionmaker)
WEBHOOK_ROUTER = web.AppKey("webhook_router", WebhookRouter)
WEBHOOK_MAX_BYTES = web.AppKey("webhook_max_bytes", int)
BACKGROUND_TASKS = web.AppKey("background_tasks", BackgroundTasks)
# Set only when the app serves the suggest form and API (see bot/web/shared.py).
SUGGEST_DEPS: web.AppKey[SuggestDeps] = web.AppKey("suggest_deps")
# Set only when the app serves the lesson pages' embed (see bot/web/embed.py).
DISCUSSION: web.AppKey[DiscussionService] = web.AppKey("discussion")
