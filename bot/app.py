"""Composition root: settings -> database -> services -> Discord client and web server."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import ConfigError, Settings, env_name
from bot.discord.client import BotServices, LessonBot, create_bot
from bot.discord.cogs.bridge import BridgeCog
from bot.domain.catalogue import Catalogue, load_catalogue
from bot.github.adapter import GitHubAdapter
from bot.net import PortInUseError, is_port_in_use
from bot.services.bridge import CommentBridge
from bot.services.lessons import LessonDirectory
from bot.services.linking import LinkDirectory, LinkingService, SyncReport
from bot.services.outbox import Outbox
from bot.services.worker import JobHandler, JobWorker
from bot.store.engine import make_engine, make_session_factory
from bot.store.migrate import upgrade
from bot.web.app import create_web_app
from bot.web.router import WebhookDelivery, WebhookHandler, WebhookRouter

log = logging.getLogger(__name__)


@dataclass
class RunningApp:
    """The parts of a started bot, for the caller to run and inspect."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    bot: LessonBot
    web_url: str
    catalogue: Catalogue | None = None
    web_app: web.Application | None = None
    # Present when GitHub is configured (a repository and credentials).
    github: GitHubAdapter | None = None
    linking: LinkingService | None = None
    outbox: Outbox | None = None
    worker: JobWorker | None = None


@asynccontextmanager
async def started_app(
    settings: Settings,
    *,
    guild_ready_timeout: float | None = None,
    serve_web: bool = True,
    migrate: bool = True,
) -> AsyncIterator[RunningApp]:
    """Migrate the database, load the lessons and serve the web app; close all on exit.

    The Discord client is built but not connected: `run_bot` (or a test) starts it.
    Without `serve_web` (one-off commands such as `sync`) no port is taken, so a running
    bot on the same machine is not disturbed; without `migrate` (a dry run) the database
    is only read.
    """
    if not settings.discord.token:
        raise ConfigError(
            f"setting discord.token ({env_name('discord', 'token')}) is required to run the bot"
        )
    if not settings.content.dir.is_dir():
        raise ConfigError(f"content directory not found: {settings.content.dir}")
    if migrate:
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
        outbox = make_outbox(settings, sessions)
        lessons = LessonDirectory(
            catalogue,
            settings.content.default_locale,
            lesson_url_template=settings.site.lesson_url_template,
        )
        links = LinkDirectory(sessions)
        services = BotServices(lessons=lessons, links=links)
        options = (
            {} if guild_ready_timeout is None else {"guild_ready_timeout": guild_ready_timeout}
        )
        bot = create_bot(settings, services, **options)
        # Handlers for lesson issues, suggestions and questions register here as they land.
        router = WebhookRouter()
        github = _github_adapter(settings)
        linking = None
        bridge = None
        if github is not None:
            linking = _linking_service(settings, sessions, github, bot, outbox)
            router.on("push", None, _push_handler(linking, catalogue))
            bridge = CommentBridge(
                sessions,
                bot.chat,
                bot_login=github.login,
                locale=settings.locale,
                github=github,
                mirror=settings.linking.mirror_to_github,
                outbox=outbox,
            )
            router.on("issue_comment", None, _comment_handler(bridge))
            if settings.linking.mirror_to_github:
                # Off by default: what people write on Discord reaches GitHub only by choice.
                await bot.add_cog(BridgeCog(bridge))
            if settings.linking.mode == "lazy":
                links.creator = functools.partial(linking.ensure, catalogue)
        web_app = create_web_app(settings, session_factory=sessions, webhook_router=router)
        web_url = ""
        if serve_web:
            runner = web.AppRunner(web_app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, settings.web.host, settings.web.port)
            try:
                await site.start()
            except OSError as error:
                if is_port_in_use(error):
                    raise PortInUseError(settings.web.host, settings.web.port) from error
                raise
            host, port = runner.addresses[0][:2]
            web_url = f"http://{host}:{port}"
            log.info("web server listening on %s", web_url)
        handlers: dict[str, JobHandler] = {}
        if linking is not None and bridge is not None:
            handlers = {LinkingService.JOB_KIND: linking.run_job, bridge.JOB_KIND: bridge.run_job}
        worker = JobWorker(outbox, handlers, poll_seconds=settings.jobs.poll_seconds)
        try:
            yield RunningApp(
                settings,
                engine,
                sessions,
                bot,
                web_url,
                catalogue,
                web_app,
                github,
                linking,
                outbox,
                worker,
            )
        finally:
            if not bot.is_closed():
                await bot.close()
            if github is not None:
                github.close()
    finally:
        if runner is not None:
            await runner.cleanup()
        await engine.dispose()


async def run_bot(settings: Settings) -> None:
    """Run the bot until it is cancelled or Discord closes the session for good."""
    async with started_app(settings) as app:
        token = settings.discord.token
        assert token is not None  # started_app checked it
        # Retries, and work a stopped process left, are picked up while the bot runs.
        assert app.worker is not None
        worker = asyncio.create_task(app.worker.run())
        try:
            await app.bot.start(token.reveal())
        finally:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)


def _github_adapter(settings: Settings) -> GitHubAdapter | None:
    """Return the GitHub adapter, or None when no repository and credentials are set."""
    github = settings.github
    has_auth = bool(github.token) or bool(
        github.app_id and github.installation_id and github.app_private_key
    )
    if not (github.repository and has_auth):
        log.info("GitHub is not configured: lessons are not linked to issues")
        return None
    return GitHubAdapter.from_settings(github)


def make_outbox(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> Outbox:
    """Return the write path with the configured lease and retry policy."""
    jobs = settings.jobs
    return Outbox(
        sessions,
        lease=timedelta(seconds=jobs.lease_seconds),
        max_attempts=jobs.max_attempts,
        backoff_base=jobs.backoff_seconds,
        backoff_cap=jobs.max_backoff_seconds,
    )


def _linking_service(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    github: GitHubAdapter,
    bot: LessonBot,
    outbox: Outbox | None = None,
) -> LinkingService:
    return LinkingService(
        sessions,
        github,
        bot.chat,
        default_locale=settings.content.default_locale,
        locales=settings.content.locales,
        lesson_url_template=settings.site.lesson_url_template,
        locale=settings.locale,
        eager=settings.linking.mode == "eager",
        outbox=outbox or make_outbox(settings, sessions),
        max_removals=settings.linking.max_removals,
    )


def _push_handler(linking: LinkingService, catalogue: Catalogue) -> WebhookHandler:
    """Return the handler that syncs the lessons a push to the default branch touched."""

    async def on_push(delivery: WebhookDelivery) -> None:
        repository = delivery.payload.get("repository") or {}
        branch = repository.get("default_branch") or "main"
        report = await linking.on_push(catalogue, delivery.payload, branch=branch)
        if report is not None:
            log.info("push %s: %s", delivery.delivery_id, report.as_json())

    return on_push


def _comment_handler(bridge: CommentBridge) -> WebhookHandler:
    """Return the handler that bridges comments on lesson issues to their forum posts."""

    async def on_comment(delivery: WebhookDelivery) -> None:
        outcome = await bridge.on_issue_comment(delivery.payload)
        log.info("issue_comment %s: %s", delivery.delivery_id, outcome)

    return on_comment


def linking_service(app: RunningApp, github: GitHubAdapter) -> LinkingService:
    """Return a linking service over the app's database and Discord client."""
    return _linking_service(app.settings, app.sessions, github, app.bot, app.outbox)


async def sync_lessons(
    settings: Settings,
    *,
    dry_run: bool = False,
    allow_removals: bool = False,
    progress: Callable[[str], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    ready_timeout: float = 60.0,
) -> SyncReport:
    """Log the Discord client in, sync every lesson's post and issue, and close.

    A dry run plans from the database alone: no migration, no Discord session, no request
    anywhere. The report counts every request the command made, its login included.
    """
    async with started_app(settings, serve_web=False, migrate=not dry_run) as app:
        if app.linking is None or app.catalogue is None or app.github is None:
            raise ConfigError(
                f"sync needs setting github.repository ({env_name('github', 'repository')}) "
                f"and {env_name('github', 'token')} (or GitHub App settings)"
            )
        linking, catalogue = app.linking, app.catalogue
        if on_start is not None:
            on_start(len(linking.published(catalogue)))
        if dry_run:
            report = await linking.sync(catalogue, dry_run=True, progress=progress)
            return _with_all_requests(report, app)
        app.bot.sync_commands = False
        token = settings.discord.token
        assert token is not None  # started_app checked it
        client = asyncio.create_task(app.bot.start(token.reveal()))
        try:
            ready = asyncio.create_task(app.bot.wait_until_ready())
            done, _ = await asyncio.wait(
                {client, ready}, timeout=ready_timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if ready not in done:
                ready.cancel()
                if client in done:
                    client.result()  # a failed login raises its own error here
                raise ConfigError(f"Discord was not ready within {ready_timeout:.0f}s")
            # In lazy mode this keeps existing links right and creates none.
            report = await linking.sync(catalogue, progress=progress, allow_removals=allow_removals)
            return _with_all_requests(report, app)
        finally:
            await app.bot.close()
            await asyncio.gather(client, return_exceptions=True)


def _with_all_requests(report: SyncReport, app: RunningApp) -> SyncReport:
    """Count every request the command made (its login too), not only the sync's."""
    assert app.github is not None
    report.github_requests = sum(app.github.request_counts.values())
    report.discord_requests = sum(app.bot.chat.request_counts.values())
    return report
