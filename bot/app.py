"""Composition root: settings -> database -> services -> Discord client and web server."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import ConfigError, Settings, env_name
from bot.discord.client import BotServices, LessonBot, create_bot
from bot.domain.catalogue import load_catalogue
from bot.services.lessons import LessonDirectory
from bot.store.engine import make_engine, make_session_factory
from bot.store.migrate import upgrade
from bot.web.app import create_web_app
from bot.web.router import WebhookRouter

log = logging.getLogger(__name__)


@dataclass
class RunningApp:
    """The parts of a started bot, for the caller to run and inspect."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    bot: LessonBot
    web_url: str


@asynccontextmanager
async def started_app(
    settings: Settings, *, guild_ready_timeout: float | None = None
) -> AsyncIterator[RunningApp]:
    """Migrate the database, load the lessons and serve the web app; close all on exit.

    The Discord client is built but not connected: `run_bot` (or a test) starts it.
    """
    if not settings.discord.token:
        raise ConfigError(
            f"setting discord.token ({env_name('discord', 'token')}) is required to run the bot"
        )
    if not settings.content.dir.is_dir():
        raise ConfigError(f"content directory not found: {settings.content.dir}")
    revision = await asyncio.to_thread(upgrade, settings.database.url)
    log.info("database at revision %s", revision)
    catalogue = await asyncio.to_thread(
        load_catalogue, settings.content.dir, settings.content.default_locale
    )
    log.info("%d lessons in %d files", len(catalogue.lessons), len(catalogue.files))
    engine = make_engine(settings.database.url)
    runner: web.AppRunner | None = None
    try:
        sessions = make_session_factory(engine)
        lessons = LessonDirectory(
            catalogue,
            settings.content.default_locale,
            lesson_url_template=settings.site.lesson_url_template,
        )
        services = BotServices(lessons=lessons)
        options = (
            {} if guild_ready_timeout is None else {"guild_ready_timeout": guild_ready_timeout}
        )
        bot = create_bot(settings, services, **options)
        # Handlers for lesson issues, suggestions and questions register here as they land.
        router = WebhookRouter()
        web_app = create_web_app(settings, session_factory=sessions, webhook_router=router)
        runner = web.AppRunner(web_app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, settings.web.host, settings.web.port)
        await site.start()
        host, port = runner.addresses[0][:2]
        web_url = f"http://{host}:{port}"
        log.info("web server listening on %s", web_url)
        try:
            yield RunningApp(settings, engine, sessions, bot, web_url)
        finally:
            if not bot.is_closed():
                await bot.close()
    finally:
        if runner is not None:
            await runner.cleanup()
        await engine.dispose()


async def run_bot(settings: Settings) -> None:
    """Run the bot until it is cancelled or Discord closes the session for good."""
    async with started_app(settings) as app:
        token = settings.discord.token
        assert token is not None  # started_app checked it
        await app.bot.start(token.reveal())
