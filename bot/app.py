"""Composition root: settings -> database -> services -> Discord client and web server."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import ConfigError, Settings, env_name
from bot.discord.client import BotServices, LessonBot, ShardedLessonBot, create_bot
from bot.discord.cogs.bridge import BridgeCog
from bot.domain.catalogue import Catalogue
from bot.domain.roles import EVERY_ROLE, GATEWAY, SCHEDULER, WEB, WORKER, describe
from bot.github.adapter import GitHubAdapter
from bot.github.content import ContentRepository, ContentSource
from bot.mail.smtp import SmtpMailer
from bot.net import AddressNotHereError, PortInUseError, is_address_not_here, is_port_in_use
from bot.scheduler import DigestScheduler
from bot.services.bridge import CommentBridge
from bot.services.budgets import Budgets
from bot.services.content_updates import ContentUpdates
from bot.services.digests import DigestService
from bot.services.discussion import DiscussionService
from bot.services.lessons import LessonDirectory
from bot.services.linking import LinkBacklog, LinkDirectory, LinkingService, SyncReport
from bot.services.metrics import RequestTally
from bot.services.outbox import Outbox
from bot.services.ports import ChatPort
from bot.services.questions import QuestionService
from bot.services.questions.change_notices import ChangeNotices
from bot.services.questions.nudges import NudgeService
from bot.services.retention import RetentionService
from bot.services.signing import Signer, load_signer
from bot.services.suggestions import SuggestionService
from bot.services.worker import JobWorker
from bot.store.engine import make_engine, make_session_factory
from bot.store.migrate import upgrade
from bot.web.app import create_web_app
from bot.web.readiness import CachedCheck, ReadinessCheck
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
    # Where the lessons come from; its catalogue follows pushes to the default branch.
    content: ContentSource | None = None
    web_app: web.Application | None = None
    # Present when GitHub is configured (a repository and credentials).
    github: GitHubAdapter | None = None
    linking: LinkingService | None = None
    outbox: Outbox | None = None
    worker: JobWorker | None = None
    lessons: LessonDirectory | None = None
    suggestions: SuggestionService | None = None
    signer: Signer | None = None
    digests: DigestService | None = None
    questions: QuestionService | None = None
    # Prunes finished records past their retention, daily (see `background_work`).
    retention: RetentionService | None = None
    # What this process does (bot.domain.roles): `run_bot` and `background_work` start
    # only these parts.
    roles: frozenset[str] = EVERY_ROLE
    # Nudges waiting questions' posts (scheduled scan; the worker posts).
    nudges: NudgeService | None = None

    @property
    def catalogue(self) -> Catalogue | None:
        """Return the current catalogue (a push to the default branch replaces it)."""
        return self.content.catalogue if self.content is not None else None


@asynccontextmanager
async def started_app(
    settings: Settings,
    *,
    guild_ready_timeout: float | None = None,
    serve_web: bool = True,
    migrate: bool = True,
    roles: Iterable[str] = EVERY_ROLE,
) -> AsyncIterator[RunningApp]:
    """Migrate the database, load the lessons and serve the web app; close all on exit.

    The Discord client is built but not connected: `run_bot` (or a test) starts it.
    Without `serve_web` (one-off commands such as `sync`) no port is taken, so a running
    bot on the same machine is not disturbed; without `migrate` (a dry run) the database
    is only read. Without the `web` role no port is taken either, and without `gateway`
    the client gets no cogs and registers no slash commands when it logs in.
    """
    roles = frozenset(roles)
    if not settings.discord.token:
        raise ConfigError(
            f"setting discord.token ({env_name('discord', 'token')}) is required to run the bot"
        )
    from_github = content_from_github(settings)
    if not from_github and not settings.content.dir.is_dir():
        raise ConfigError(f"content directory not found: {settings.content.dir}")
    if migrate:
        revision = await asyncio.to_thread(upgrade, settings.database.url)
        log.info("database at revision %s", revision)
    engine = make_engine(settings.database.url)
    runner: web.AppRunner | None = None
    github: GitHubAdapter | None = None
    backlog: LinkBacklog | None = None
    # Each adapter counts its requests here, for /metrics.
    meters = {"discord": RequestTally(), "github": RequestTally()}
    try:
        sessions = make_session_factory(engine)
        # One budget per external limit, in the database: every process counts against it.
        # A dry run (no migration) may meet a database without their tables: it only reads.
        budgets = Budgets(sessions, job_wait=settings.jobs.budget_wait_seconds) if migrate else None
        github = _github_adapter(settings, meters["github"], budgets)
        content = content_source(settings, github if from_github else None)
        # A failed fetch stops the start (ContentSyncError): lessons from a stale copy
        # would undo what was pushed since.
        catalogue = await content.refresh()
        log.info(
            "%d lessons in %d files from %s",
            len(catalogue.lessons),
            len(catalogue.files),
            content.repository.url if content.repository else catalogue.root,
        )
        outbox = make_outbox(settings, sessions)
        worker = JobWorker(outbox, {}, poll_seconds=settings.jobs.poll_seconds)
        # A lesson a person touches (/lesson, a question, a suggestion) goes before bulk
        # linking.
        backlog = LinkBacklog(sessions, outbox)
        retention = RetentionService(sessions, outbox, settings.retention, wake=worker.wake)
        worker.add_handler(RetentionService.JOB_KIND, retention.run_job)
        # A dry run only reads: it must not make the signing key (a write).
        signer = await load_signer(sessions, settings.web.secret) if migrate else None
        lessons = LessonDirectory(
            catalogue,
            settings.content.default_locale,
            lesson_url_template=settings.site.lesson_url_template,
        )
        options = (
            {} if guild_ready_timeout is None else {"guild_ready_timeout": guild_ready_timeout}
        )
        # The client, not yet connected, comes first: its chat adapter is what the services
        # talk to people through, and its cogs need the services.
        bot = create_bot(settings, meter=meters["discord"], budgets=budgets, **options)
        # Slash commands are registered by the process that answers them; of several
        # gateway processes sharing the shards, by the one holding shard 0 alone.
        bot.sync_commands = GATEWAY in roles and settings.discord.holds_first_shard
        if GATEWAY in roles and not bot.sync_commands:
            log.info("slash commands are registered by the process holding shard 0")
        suggestions = None
        digests = None
        mailer = SmtpMailer(settings.mail)
        if signer is not None:
            suggestions = SuggestionService(
                sessions,
                outbox,
                settings,
                catalogue=lambda: content.catalogue,
                signer=signer,
                github=github,
                chat=bot.chat,
                # Without an SMTP server, suggesters follow their status page only.
                mail=mailer if settings.mail.configured else None,
                wake=worker.wake,
                touch=backlog.touch,
            )
            worker.add_handler(SuggestionService.JOB_KIND, suggestions.run_job)
            worker.add_handler(SuggestionService.NOTIFY_KIND, suggestions.run_job)
            digests = DigestService(
                sessions,
                outbox,
                settings,
                signer=signer,
                chat=bot.chat,
                mail=mailer,
                wake=worker.wake,
                catalogue=lambda: content.catalogue,
            )
            worker.add_handler(DigestService.JOB_KIND, digests.run_job)
        questions = QuestionService(
            sessions,
            settings,
            github=github,
            chat=bot.chat,
            catalogue=lambda: content.catalogue,
            touch_lesson=backlog.touch_lesson,
        )
        nudges = NudgeService(sessions, outbox, settings, chat=bot.chat, wake=worker.wake)
        worker.add_handler(NudgeService.JOB_KIND, nudges.run_job)
        # Each service names the GitHub webhooks it follows; the router hands them the
        # parsed events and logs what each made of them.
        router = WebhookRouter()
        router.follow(*questions.webhook_handlers())
        linking = None
        bridge = None
        creator = None
        if github is not None:
            linking = _linking_service(
                settings,
                sessions,
                github,
                bot.chat,
                outbox,
                backlog,
                on_threads_changed=questions.forget_lesson_threads,
            )
            updates = ContentUpdates(content, lessons, linking, suggestions)
            router.follow(*updates.webhook_handlers())
            if suggestions is not None:
                router.follow(*suggestions.webhook_handlers())
            change_notices = ChangeNotices(
                sessions, outbox, settings, github=github, chat=bot.chat, wake=worker.wake
            )
            router.follow(*change_notices.webhook_handlers())
            worker.add_handler(ChangeNotices.JOB_KIND, change_notices.run_job)
            bridge = CommentBridge(
                sessions,
                bot.chat,
                bot_login=github.login,
                locale=settings.locale,
                github=github,
                mirror=settings.linking.mirror_to_github,
                outbox=outbox,
                discord_web_url=settings.discord.web_url,
            )
            router.follow(*bridge.webhook_handlers())
            if settings.linking.mode == "lazy":
                # A lesson gets its post and issue the first time someone asks for them.
                creator = functools.partial(_ensure_current, linking, content)
        links = LinkDirectory(
            sessions,
            discord_web_url=settings.discord.web_url,
            creator=creator,
            touch=backlog.touch if linking is not None else None,
        )
        if GATEWAY in roles:
            await bot.add_service_cogs(
                BotServices(
                    lessons=lessons,
                    links=links,
                    suggestions=suggestions,
                    questions=questions,
                    nudges=nudges,
                )
            )
        if GATEWAY in roles and bridge is not None and settings.linking.mirror_to_github:
            # Off by default: what people write on Discord reaches GitHub only by choice.
            await bot.add_cog(BridgeCog(bridge))
        web_app = create_web_app(
            settings,
            session_factory=sessions,
            webhook_router=router,
            suggestions=suggestions,
            lessons=lambda: content.catalogue,
            signer=signer,
            digests=digests,
            request_meters=meters if github is not None else {"discord": meters["discord"]},
            readiness_checks=readiness_checks(bot, github, roles),
            discussion=DiscussionService(
                sessions,
                chat=bot.chat,
                github=github,
                discord_web_url=settings.discord.web_url,
                ttl_seconds=settings.web.embed_cache_seconds,
            ),
        )
        web_url = ""
        if serve_web and WEB in roles:
            runner = web.AppRunner(web_app, access_log=None)
            await runner.setup()
            # SO_REUSEPORT: several web processes may listen on one port and the kernel
            # spreads connections over them (Linux; a socket without it still gets EADDRINUSE).
            site = web.TCPSite(runner, settings.web.host, settings.web.port, reuse_port=True)
            try:
                await site.start()
            except OSError as error:
                if is_port_in_use(error):
                    raise PortInUseError(settings.web.host, settings.web.port) from error
                if is_address_not_here(error):
                    raise AddressNotHereError(
                        settings.web.host, settings.web.port, error.strerror or str(error)
                    ) from error
                raise
            host, port = runner.addresses[0][:2]
            web_url = f"http://{host}:{port}"
            log.info("web server listening on %s", web_url)
        if linking is not None and bridge is not None:
            worker.add_handler(LinkingService.JOB_KIND, linking.run_job)
            worker.add_handler(LinkingService.ISSUE_JOB_KIND, linking.run_job)
            worker.add_handler(bridge.JOB_KIND, bridge.run_job)
        try:
            yield RunningApp(
                settings,
                engine,
                sessions,
                bot,
                web_url,
                content,
                web_app,
                github,
                linking,
                outbox,
                worker,
                lessons,
                suggestions,
                signer,
                digests,
                questions,
                retention,
                roles,
                nudges=nudges,
            )
        finally:
            if not bot.is_closed():
                await bot.close()
    finally:
        if github is not None:
            github.close()
        if runner is not None:
            await runner.cleanup()
        if backlog is not None:
            await backlog.close()
        await engine.dispose()


async def run_bot(settings: Settings, roles: Iterable[str] = EVERY_ROLE) -> None:
    """Run the bot's parts for these roles until cancelled (or, with the gateway, until
    Discord closes the session for good)."""
    async with started_app(settings, roles=roles) as app:
        token = settings.discord.token
        assert token is not None  # started_app checked it
        log.info("running as %s", describe(app.roles))
        async with background_work(app):
            if GATEWAY in app.roles:
                await app.bot.start(token.reveal())
                return
            if app.roles & {WEB, WORKER}:
                # Discord's REST API only, no gateway session: the worker posts and sends
                # notices, and the web's webhooks try a bridged comment at once.
                await app.bot.login(token.reveal())
            await asyncio.Event().wait()  # until cancelled (SIGTERM, Ctrl+C)


# How long a stopping process waits for the job under way before cancelling it.
WORKER_STOP_SECONDS = 10.0


@asynccontextmanager
async def background_work(app: RunningApp) -> AsyncIterator[None]:
    """Run the job worker and the digest and prune schedules while the bot runs (each
    when the app has its role: worker, scheduler); stop them after.

    Retries, work a stopped process left, new suggestions' PRs, digest deliveries and the
    daily prune are picked up by the worker. The schedule's job store in the database
    keeps one job of each for every process, and a run's period key makes a second firing
    send (or prune) nothing.
    """
    assert app.worker is not None
    worker = asyncio.create_task(app.worker.run()) if WORKER in app.roles else None
    scheduler = (
        DigestScheduler(app.settings, app.digests, retention=app.retention, nudges=app.nudges)
        if app.digests and SCHEDULER in app.roles
        else None
    )
    try:
        if scheduler is not None:
            await scheduler.start()
        yield
    finally:
        if worker is not None:
            await _stop_worker(app.worker, worker)
        if scheduler is not None:
            await scheduler.shutdown()


async def _stop_worker(job_worker: JobWorker, worker: asyncio.Task[None]) -> None:
    """Let the job under way finish rather than cancel it mid-write; one that takes too
    long (a remote that stopped answering) is cancelled and handed back."""
    job_worker.stop()
    try:
        await asyncio.wait_for(asyncio.shield(worker), WORKER_STOP_SECONDS)
    except (TimeoutError, Exception):
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)


def _github_configured(settings: Settings) -> bool:
    """Tell whether a repository and credentials for it are set."""
    github = settings.github
    has_auth = bool(github.token) or bool(
        github.app_id and github.installation_id and github.app_private_key
    )
    return bool(github.repository and has_auth)


def _github_adapter(
    settings: Settings, meter: RequestTally | None = None, budgets: Budgets | None = None
) -> GitHubAdapter | None:
    """Return the GitHub adapter, or None when no repository and credentials are set."""
    if not _github_configured(settings):
        log.info("GitHub is not configured: lessons are not linked to issues")
        return None
    return GitHubAdapter.from_settings(settings.github, meter=meter, budgets=budgets)


def readiness_checks(
    bot: LessonBot, github: GitHubAdapter | None, roles: frozenset[str] = EVERY_ROLE
) -> dict[str, ReadinessCheck]:
    """Return what /readyz asks besides the database: the gateway where this process holds
    it, and GitHub if configured."""
    checks: dict[str, ReadinessCheck] = {}
    if GATEWAY in roles and isinstance(bot, ShardedLessonBot):
        # One check per shard held: the answer names the shard that is down.
        for shard_id in bot.shard_ids or ():
            checks[f"discord_gateway_shard_{shard_id}"] = functools.partial(
                bot.shard_connected, shard_id
            )
    elif GATEWAY in roles:
        checks["discord_gateway"] = bot.gateway_connected
    if github is not None:
        # Cached: a probe every few seconds asks GitHub at most every 30 s.
        checks["github"] = CachedCheck(github.reachable)
    return checks


def content_from_github(settings: Settings) -> bool:
    """Tell whether the lessons come from the GitHub repository (content.source)."""
    source = settings.content.source
    if source == "directory":
        return False
    if _github_configured(settings):
        return True
    if source == "github":
        raise ConfigError(
            f"setting content.source is github, which needs github.repository "
            f"({env_name('github', 'repository')}) and {env_name('github', 'token')} "
            "(or GitHub App settings)"
        )
    return False


def clone_url(base_url: str, repository: str) -> str:
    """Return the HTTPS clone URL of `owner/name` for a REST API base URL."""
    base = base_url.rstrip("/")
    if base == "https://api.github.com":
        return f"https://github.com/{repository}.git"
    if base.endswith("/api/v3"):  # GitHub Enterprise Server serves git at its root
        return f"{base.removesuffix('/api/v3')}/{repository}.git"
    # The sandbox (or anything else) serves git beside its API, as its clone_url says.
    return f"{base}/{repository}.git"


def content_source(settings: Settings, github: GitHubAdapter | None) -> ContentSource:
    """Return where the lessons come from: a clone through `github`, else the directory."""
    content = settings.content
    if github is None:
        return ContentSource(content.default_locale, directory=content.dir)
    repository = ContentRepository(
        clone_url(settings.github.base_url, settings.github.repository),
        content.clone_dir,
        token=github.git_token,
    )
    return ContentSource(content.default_locale, repository=repository)


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
    chat: ChatPort,
    outbox: Outbox | None = None,
    backlog: LinkBacklog | None = None,
    on_threads_changed: Callable[[], None] | None = None,
) -> LinkingService:
    return LinkingService(
        sessions,
        github,
        chat,
        default_locale=settings.content.default_locale,
        locales=settings.content.locales,
        lesson_url_template=settings.site.lesson_url_template,
        locale=settings.locale,
        eager=settings.linking.mode == "eager",
        outbox=outbox or make_outbox(settings, sessions),
        max_removals=settings.linking.max_removals,
        # The bot serves suggested edits wherever it links lessons.
        suggest_button=True,
        discord_web_url=settings.discord.web_url,
        backlog=backlog,
        # The question intake remembers which lesson each post is: tell it of changes.
        on_threads_changed=on_threads_changed,
    )


async def _ensure_current(linking: LinkingService, content: ContentSource, identity: str) -> object:
    """Link one lesson of the current catalogue (lazy mode), whichever push loaded it."""
    return await linking.ensure(content.catalogue, identity)


def linking_service(app: RunningApp, github: GitHubAdapter) -> LinkingService:
    """Return a linking service over the app's database and Discord client."""
    forget = app.questions.forget_lesson_threads if app.questions is not None else None
    return _linking_service(
        app.settings, app.sessions, github, app.bot.chat, app.outbox, on_threads_changed=forget
    )


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
        app.bot.catch_up_questions = False
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
