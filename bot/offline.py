"""`lessonbot sandbox`: the Discord, GitHub and mail sandboxes (the `sandboxes` distribution)
and the real bot against them, offline, on one loop."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import json
import logging
import os
import secrets
import shlex
import shutil
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url

from bot.app import RunningApp, background_work, started_app
from bot.config import DISCORD_WEB_URL, MaintainerSettings, Secret, Settings, env_name
from bot.domain.catalogue import load_catalogue
from bot.domain.link_texts import forum_name
from bot.i18n import t
from bot.running_sandbox import (
    DEFAULT_STATE_DIR,
    ENV_FILE,
    LOCK_FILE,
    lessonbot_command,
    written_by_line,
)
from bot.store.engine import make_sync_engine, masked_url
from bot.store.migrate import upgrade
from bot.store.models import (
    AppSecret,
    Base,
    BridgedComment,
    DigestRun,
    Lesson,
    LessonLink,
    OutboxJob,
    ProgramForum,
    Question,
    Suggestion,
    WebhookDeliveryRecord,
)
from sandboxes.discord import DiscordSandbox
from sandboxes.github import GitHubSandbox
from sandboxes.mail import MESSAGES_PATH, MailSandbox
from sandboxes.persist import read_json, write_json

log = logging.getLogger(__name__)

GUILD_NAME = "lessonbot sandbox"
# People to act as from the admin API, in the locales the site serves.
MEMBERS = (
    {"id": 1001, "username": "ana", "locale": "es-ES"},
    {"id": 1002, "username": "li", "locale": "zh-CN"},
    {"id": 1003, "username": "maya", "locale": "hi"},
    {"id": 1004, "username": "sam", "locale": "en-US"},
    {"id": 1005, "username": "maintainer", "locale": "en-GB"},
)
# A fixed token for a Discord sandbox run beside separate lessonbot processes (tests pass
# it to both); `lessonbot sandbox` itself uses the Discord-shaped token its sandbox issues.
SANDBOX_BOT_TOKEN = "sandbox-bot-token"  # noqa: S105


# Where a sandbox world lives in the state directory: both sandboxes' worlds and the
# environment's own (the bot's web port, the webhook secret) under `sandbox/`, the bot's
# database beside it with the id of the world it belongs to in `sandbox-world`.
WORLD_DIR = "sandbox"
DATABASE = "sandbox.db"
DATABASE_WORLD = "sandbox-world"
DESCRIPTION = "sandbox.json"
CLONE_DIR = "content"
# How long a start waits for its state folder's lock: other commands take it for an
# instant to see whether a sandbox runs there.
LOCK_WAIT_SECONDS = 2.0
# Who gets the digest email when the settings name nobody: a reader of the default locale
# and, when it is served, one of Arabic, whose email is laid out right to left. Each gets
# the whole digest in their language.
MAINTAINER_LOCALES = ("ar",)
MAINTAINER_ADDRESS = "maintainer-{locale}@sandbox.test"
# The longest the start waits for the webhooks linking caused before printing the guide.
SETTLE_SECONDS = 30.0
# In a database named by `database.url`, the app_secrets row naming the world it holds.
WORLD_MARK = "sandbox-world"
# Tables a bot fills only by talking to Discord, GitHub or people: rows in them, in a
# database no sandbox world has claimed, are a real bot's links, questions and jobs.
_BOT_DATA = (
    LessonLink,
    ProgramForum,
    BridgedComment,
    Suggestion,
    Question,
    DigestRun,
    OutboxJob,
    WebhookDeliveryRecord,
)


def _free_port(host: str, preferred: int | None = None) -> int:
    """Return a port free right now, `preferred` when it is (the bot's web server takes it
    a moment later)."""
    for port in (preferred, 0) if preferred else (0,):
        with socket.socket() as probe:
            # As the web server binds: a port the last run just left (TIME_WAIT) is free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise AssertionError("port 0 always binds")


def wipe_world(state_dir: Path) -> list[Path]:
    """Delete the sandbox world in `state_dir`: both sandboxes, the bot's sandbox database
    and its lesson clone, the description and env files; return what was deleted."""
    names = [WORLD_DIR, CLONE_DIR, DATABASE_WORLD, ENV_FILE, DESCRIPTION]
    names += [f"{DATABASE}{suffix}" for suffix in ("", "-wal", "-shm", "-journal")]
    deleted = []
    for name in names:
        path = state_dir / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        else:
            continue
        deleted.append(path)
    return deleted


def claim_database(state_dir: Path, world_id: str) -> Path | None:
    """Make `state_dir/sandbox.db` belong to the world `world_id`: a database of another
    world (or of none recorded) is moved aside to `sandbox.db.stale-<time>`, which is
    returned, so no stored link points into a world that is gone."""
    database, marker = state_dir / DATABASE, state_dir / DATABASE_WORLD
    recorded = marker.read_text(encoding="utf-8").strip() if marker.exists() else None
    moved = None
    if database.exists() and recorded != world_id:
        moved = state_dir / f"{DATABASE}.stale-{time.strftime('%Y%m%d-%H%M%S')}"
        for suffix in ("", "-wal", "-shm", "-journal"):
            if (state_dir / f"{DATABASE}{suffix}").exists():
                (state_dir / f"{DATABASE}{suffix}").replace(f"{moved}{suffix}")
        log.warning(
            "The sandbox database belonged to another sandbox world (its posts and issues "
            "are gone); moved it to %s and starting with a fresh one",
            moved,
        )
    if recorded != world_id:
        marker.write_text(f"{world_id}\n", encoding="utf-8")
    return moved


def _described_world(state_dir: Path) -> str | None:
    """Return the id of the world the last start described in sandbox.json, if any."""
    try:
        described = read_json(state_dir / DESCRIPTION)
    except (OSError, ValueError):  # unreadable or cut short: no world to name
        return None
    world = described.get("world_id") if isinstance(described, dict) else None
    return world if isinstance(world, str) else None


def _kept_settings(state_dir: Path) -> dict[str, Any]:
    """Return the environment's own kept settings: the bot's web port, the webhook secret."""
    return read_json(state_dir / WORLD_DIR / "world.json") or {}


def guild_channels(content_dir: Path, default_locale: str) -> list[dict[str, Any]]:
    """Return the sandbox guild's channels: general, digests and a forum per program.

    Forums are named as `lessonbot sync` names them (from the program's title), so the
    sync finds them rather than opening a second forum per program.
    """
    catalogue = load_catalogue(content_dir, default_locale)
    forums = [
        {
            "name": forum_name(program.title(default_locale), program.slug),
            "type": 15,
            "topic": program.title(default_locale),
        }
        for program in sorted(catalogue.programs.values(), key=lambda program: program.slug)
    ]
    return [{"name": "general", "type": 0}, {"name": "digests", "type": 0}, *forums]


def sandbox_database_url(state_dir: Path) -> str:
    """Return the URL of the sandbox's own SQLite database in `state_dir`."""
    return f"sqlite:///{state_dir / 'sandbox.db'}"


def is_sandbox_database(url: str, state_dir: Path) -> bool:
    """Tell whether `url` names the sandbox's own SQLite file in `state_dir` (as a sourced
    sandbox.env does)."""
    try:
        parsed = make_url(url)
    except Exception:  # not a URL: the settings check says so elsewhere
        return False
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return False
    # abspath also folds `..`, so `state/../state/sandbox.db` is the same file.
    return os.path.abspath(parsed.database) == os.path.abspath(state_dir / DATABASE)


class SandboxDatabaseError(Exception):
    """The database named for the sandbox holds another world's, or a real bot's, data."""

    def __init__(self, url: str, world: str | None) -> None:
        held = f"sandbox world {world}" if world else "a bot's data and no sandbox world"
        super().__init__(f"{masked_url(url)} holds {held}")
        self.url = url
        # The world the database holds; None: a bot's data, no world recorded.
        self.world = world


def claim_named_database(url: str, world_id: str, *, reset_world: str | None = None) -> None:
    """Make the database at `url` belong to the world `world_id`, or raise
    SandboxDatabaseError and change nothing.

    An empty database is claimed (an app_secrets row names the world), one of this world
    resumed, one of `reset_world` (the world `--fresh` just wiped) emptied and claimed.
    Any other is refused: unlike the sandbox's own file it cannot be moved aside, and the
    bot would send its pending jobs into the sandboxes and replace its links to real (or
    another world's) posts and issues with ones that exist only here.
    """
    upgrade(url)
    engine = make_sync_engine(url)
    try:
        with engine.begin() as connection:
            recorded = _recorded_world(connection)
            if recorded is None and _holds_bot_data(connection):
                raise SandboxDatabaseError(url, None)
            if recorded not in (None, world_id):
                if recorded != reset_world:
                    raise SandboxDatabaseError(url, recorded)
                for table in reversed(Base.metadata.sorted_tables):
                    connection.execute(table.delete())
                log.warning("Emptied the database %s of the wiped world", masked_url(url))
            if recorded != world_id:
                insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
                connection.execute(
                    insert(AppSecret)
                    .values(name=WORLD_MARK, value=world_id)
                    .on_conflict_do_nothing(index_elements=["name"])
                )
                # Two sandboxes claiming one empty database at once: the first one wins.
                if (winner := _recorded_world(connection)) != world_id:
                    raise SandboxDatabaseError(url, winner)
    finally:
        engine.dispose()


def _recorded_world(connection: Connection) -> str | None:
    return connection.scalar(select(AppSecret.value).where(AppSecret.name == WORLD_MARK))


def _holds_bot_data(connection: Connection) -> bool:
    return any(
        connection.scalar(select(literal(1)).select_from(model).limit(1)) is not None
        for model in _BOT_DATA
    )


def sandbox_settings(
    settings: Settings,
    discord: DiscordSandbox,
    github: GitHubSandbox,
    *,
    guild_id: int,
    digest_channel_id: int,
    web_port: int,
    webhook_secret: str,
    state_dir: Path,
    database_url: str | None = None,
    mail: MailSandbox | None = None,
) -> Settings:
    """Return the settings that point the real bot at the sandboxes (and at a SQLite
    database in `state_dir` unless `database_url` is given; its mail at the SMTP catcher
    `mail` when given, for the maintainers the settings name or else the sandbox's own)."""
    replace = dataclasses.replace
    database_url = database_url or sandbox_database_url(state_dir)
    if mail is not None:
        # The catcher takes mail in the clear without a login: none is sent to it.
        settings = replace(
            settings,
            mail=replace(
                settings.mail,
                smtp_host=mail.host,
                smtp_port=mail.smtp_port,
                starttls=False,
                smtp_username="",
                smtp_password=None,
                maintainers=sandbox_maintainers(settings),
            ),
        )
    return replace(
        settings,
        database=replace(settings.database, url=database_url),
        # The lessons come from the sandbox's repository, cloned into the state directory,
        # so what is pushed there is what the bot shows and syncs.
        content=replace(settings.content, source="github", clone_dir=state_dir / "content"),
        discord=replace(
            settings.discord,
            api_base_url=discord.api_base_url,
            gateway_url=discord.gateway_url,
            # Links to posts and messages open in the Discord sandbox's viewer.
            web_url=discord.web_url,
            guild_id=guild_id,
            digest_channel_id=digest_channel_id,
            token=Secret(discord.bot_token),
        ),
        github=replace(
            settings.github,
            base_url=github.base_url,
            repository=github.repository,
            token=Secret("lessonbot"),
            webhook_secret=Secret(webhook_secret),
            app_id=None,
            installation_id=None,
            seconds_between_requests=0.0,
            seconds_between_writes=0.0,
            # The local sandbox has no secondary limits: a first sync of a whole corpus
            # would otherwise wait out GitHub's 500 writes an hour.
            writes_per_minute=100_000,
            writes_per_hour=1_000_000,
        ),
        web=replace(
            settings.web,
            host="127.0.0.1",
            port=web_port,
            public_url=f"http://127.0.0.1:{web_port}",
        ),
    )


def sandbox_maintainers(settings: Settings) -> tuple[MaintainerSettings, ...]:
    """Return who gets the digest email: the maintainers the settings name, else one
    reader of the default locale and one of each of MAINTAINER_LOCALES that is served.

    Without any, a digest would be said to go out and no email would reach the catcher.
    """
    if settings.mail.maintainers:
        return settings.mail.maintainers
    content = settings.content
    served = [locale for locale in MAINTAINER_LOCALES if locale in content.locales]
    return tuple(
        MaintainerSettings(address=MAINTAINER_ADDRESS.format(locale=locale), locale=locale)
        for locale in dict.fromkeys([content.default_locale, *served])
    )


def _maintainers_json(maintainers: tuple[MaintainerSettings, ...]) -> str | None:
    """Return maintainers as the JSON array LESSONBOT_MAIL_MAINTAINERS reads (None: none)."""
    if not maintainers:
        return None
    default = MaintainerSettings()
    return json.dumps(
        [
            {
                name: list(value) if isinstance(value, tuple) else value
                for name, value in dataclasses.asdict(maintainer).items()
                if name == "address" or value != getattr(default, name)
            }
            for maintainer in maintainers
        ],
        ensure_ascii=False,
    )


@dataclasses.dataclass
class SandboxEnvironment:
    """Both sandboxes and the connected bot, as `sandbox_environment` yields them."""

    discord: DiscordSandbox
    github: GitHubSandbox
    app: RunningApp
    guild: dict[str, Any]
    description: dict[str, Any]
    bot_task: asyncio.Task[None]
    # The one-line summary of the links made at start, or why they could not be made.
    linked: str | None = None
    # Where a database of another world was moved to, when one was.
    stale_database: Path | None = None
    # The SMTP catcher the bot's mail goes to.
    mail: MailSandbox | None = None


@asynccontextmanager
async def sandbox_environment(
    settings: Settings,
    *,
    content_dir: Path,
    state_dir: Path = Path(".lessonbot"),
    repository: str = "lessons/content",
    ready_timeout: float = 60.0,
    database_url: str | None = None,
    link_at_start: bool = False,
    reset_world: str | None = None,
) -> AsyncIterator[SandboxEnvironment]:
    """Start both sandboxes and the real bot against them; write `state_dir/sandbox.json`
    and `state_dir/sandbox.env`.

    The sandboxes keep their world in `state_dir/sandbox/`, so a second start resumes the
    first (same guild, posts, repository, issues and, when free, ports); the bot's
    sandbox database is started afresh when it belongs to another world. A database
    named by `database_url` must be empty or this world's (or `reset_world`'s, which is
    emptied), else SandboxDatabaseError. With `link_at_start`, every lesson is linked
    once the bot is ready.
    """
    if database_url is not None and is_sandbox_database(database_url, state_dir):
        database_url = None  # the sandbox's own file, named (a sourced sandbox.env)
    world_dir = state_dir / WORLD_DIR
    await asyncio.to_thread(world_dir.mkdir, parents=True, exist_ok=True)
    kept = await asyncio.to_thread(_kept_settings, state_dir)
    webhook_secret = kept.get("webhook_secret") or secrets.token_hex(16)
    web_port = await asyncio.to_thread(_free_port, "127.0.0.1", kept.get("web_port"))
    webhook_url = f"http://127.0.0.1:{web_port}/webhooks/github"
    await asyncio.to_thread(
        write_json,
        world_dir / "world.json",
        {"web_port": web_port, "webhook_secret": webhook_secret},
    )
    channels = await asyncio.to_thread(guild_channels, content_dir, settings.content.default_locale)
    async with (
        # The sandbox issues a Discord-shaped token, derived from the kept bot user: the same
        # on every start of this world, so sandbox.env stays valid.
        DiscordSandbox(state_dir=world_dir / "discord") as discord,
        GitHubSandbox(
            content_dir,
            repository,
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
            state_dir=world_dir / "github",
        ) as github,
        MailSandbox(state_dir=world_dir / "mail") as mail,
    ):
        guild = (discord.find_guild(GUILD_NAME) if discord.restored else None) or (
            discord.create_guild(GUILD_NAME, channels=channels, members=list(MEMBERS))
        )
        world_id = f"{discord.world_id}+{github.world_id}"
        stale = None
        if database_url is None:
            stale = await asyncio.to_thread(claim_database, state_dir, world_id)
        else:
            await asyncio.to_thread(
                claim_named_database, database_url, world_id, reset_world=reset_world
            )
        moved = github.previous_base_url not in (None, github.base_url)
        if moved:
            # Posts link issues on the GitHub sandbox's own host: follow it to its new port.
            discord.replace_text(f"{github.previous_base_url}/", f"{github.base_url}/")
        viewer_moves = _viewer_moves(discord)
        for old, new in viewer_moves:
            # Issues, comments and messages link posts in the Discord sandbox's viewer.
            discord.replace_text(old, new)
            github.replace_text(old, new)
        bot_settings = sandbox_settings(
            dataclasses.replace(
                settings, content=dataclasses.replace(settings.content, dir=content_dir)
            ),
            discord,
            github,
            guild_id=int(guild["id"]),
            digest_channel_id=int(guild["channels"]["digests"]),
            web_port=web_port,
            webhook_secret=webhook_secret,
            state_dir=state_dir,
            database_url=database_url,
            mail=mail,
        )
        async with started_app(bot_settings) as app:
            if moved:
                await _follow_links(
                    app,
                    (LessonLink.github_issue_url, Question.url),
                    f"{github.previous_base_url}/",
                    f"{github.base_url}/",
                )
            for old, new in viewer_moves:
                await _follow_links(app, (Question.url,), old, new)
            bot_task = asyncio.create_task(app.bot.start(discord.bot_token))
            try:
                await asyncio.wait_for(app.bot.wait_until_ready(), timeout=ready_timeout)
                description = {
                    "world_id": world_id,
                    "restored": discord.restored and github.restored,
                    "discord": {
                        "url": discord.base_url,
                        "web_url": discord.web_url,
                        "api_base_url": discord.api_base_url,
                        "gateway_url": discord.gateway_url,
                        "bot_user_id": discord.bot_user_id,
                        "application_id": discord.application_id,
                        "guild_id": int(guild["id"]),
                        "channels": {name: int(id_) for name, id_ in guild["channels"].items()},
                        "members": [dict(member) for member in MEMBERS],
                    },
                    "github": {
                        "url": github.base_url,
                        "repository": github.repository,
                        "git_dir": str(github.git_dir),
                        "clone_url": f"{github.base_url}/{github.repository}.git",
                        "webhook_url": webhook_url,
                        "webhook_secret": webhook_secret,
                    },
                    "mail": {
                        "smtp_host": mail.host,
                        "smtp_port": mail.smtp_port,
                        "url": mail.url,
                        "messages_url": f"{mail.url}{MESSAGES_PATH}",
                    },
                    "bot": {"web_url": app.web_url, "healthz": f"{app.web_url}/healthz"},
                    "database": masked_url(bot_settings.database.url),
                }
                await asyncio.to_thread(
                    (state_dir / DESCRIPTION).write_text,
                    json.dumps(description, indent=2) + "\n",
                )
                await asyncio.to_thread(
                    _write_text_atomically,
                    state_dir / ENV_FILE,
                    sandbox_env(bot_settings, state_dir),
                )
                environment = SandboxEnvironment(
                    discord,
                    github,
                    app,
                    guild,
                    description,
                    bot_task,
                    stale_database=stale,
                    mail=mail,
                )
                if link_at_start:
                    environment.linked = await _link_all_lessons(app)
                yield environment
            finally:
                await app.bot.close()
                await asyncio.gather(bot_task, return_exceptions=True)


async def _link_all_lessons(app: RunningApp) -> str:
    """Link every lesson now; return the sync's one-line summary, or why it failed."""
    locale = app.settings.locale
    if app.linking is None or app.catalogue is None:
        return "Linking at start: skipped (no lessons loaded)."
    try:
        report = await app.linking.sync(app.catalogue)
    except Exception as error:  # a failure here leaves the sandbox usable: say so, go on
        log.exception("Linking the lessons at start failed")
        return f"Linking at start failed: {type(error).__name__}: {error}"
    summary = t(locale, "sync.summary", **report.as_json())
    if report.failed:
        summary += " " + t(locale, "sync.failed_summary", count=len(report.failed))
    return f"Linked at start. {summary}"


def _viewer_moves(discord: DiscordSandbox) -> list[tuple[str, str]]:
    """Return (old, new) prefixes of links to Discord messages to rewrite: those of the
    viewer's last address when it moved, and Discord's own, which a world kept from before
    the viewer holds (its ids are the sandbox's, so they open in the viewer)."""
    new = f"{discord.web_url}/channels/"
    olds = [f"{DISCORD_WEB_URL}/channels/"]
    if discord.previous_base_url not in (None, discord.base_url):
        olds.append(f"{discord.previous_base_url}/channels/")
    return [(old, new) for old in olds]


async def _follow_links(app: RunningApp, columns: tuple[Any, ...], old: str, new: str) -> None:
    """Point the bot's stored links that start with `old` at `new` instead."""
    changed = 0
    async with app.sessions() as session, session.begin():
        for column in columns:
            result = await session.execute(
                update(column.class_)
                .where(column.startswith(old))
                .values({column.key: func.replace(column, old, new)})
            )
            changed += getattr(result, "rowcount", 0) or 0
    if changed:
        log.warning("Sandbox links moved from %s to %s; %d stored links follow", old, new, changed)


def _write_text_atomically(path: Path, text: str) -> None:
    """Write a text file so that a reader sees the old or the new one, never half."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def _absolute_sqlite(url: str) -> str:
    """Return a SQLite URL with an absolute path, so it works from any directory."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(f"{prefix}/"):
        return f"{prefix}{Path(url[len(prefix) :]).absolute()}"
    return url


def sandbox_env(settings: Settings, state_dir: Path) -> str:
    """Return `LESSONBOT_*` lines, quoted for sh, that point `lessonbot` at the sandbox."""
    database = _absolute_sqlite(settings.database.url)
    # A database password is a real secret, unlike the sandboxes' tokens: left out, the
    # commands use the LESSONBOT_DATABASE_URL (or config file) the sandbox was given.
    hidden = masked_url(database) != database
    values: list[tuple[str, str, object]] = [
        ("database", "url", None if hidden else database),
        ("content", "source", settings.content.source),
        ("content", "clone_dir", Path(settings.content.clone_dir).absolute()),
        ("discord", "api_base_url", settings.discord.api_base_url),
        ("discord", "gateway_url", settings.discord.gateway_url),
        ("discord", "web_url", settings.discord.web_url),
        ("discord", "guild_id", settings.discord.guild_id),
        ("discord", "digest_channel_id", settings.discord.digest_channel_id),
        ("discord", "token", _reveal(settings.discord.token)),
        ("github", "base_url", settings.github.base_url),
        ("github", "repository", settings.github.repository),
        ("github", "token", _reveal(settings.github.token)),
        ("github", "webhook_secret", _reveal(settings.github.webhook_secret)),
        ("github", "seconds_between_requests", settings.github.seconds_between_requests),
        ("github", "seconds_between_writes", settings.github.seconds_between_writes),
        ("github", "writes_per_minute", settings.github.writes_per_minute),
        ("github", "writes_per_hour", settings.github.writes_per_hour),
        ("web", "host", settings.web.host),
        ("web", "port", settings.web.port),
        ("web", "public_url", settings.web.public_url),
        ("mail", "smtp_host", settings.mail.smtp_host),
        ("mail", "smtp_port", settings.mail.smtp_port),
        ("mail", "starttls", str(settings.mail.starttls).lower()),
        ("mail", "smtp_username", settings.mail.smtp_username),
        # The digest is rendered where it is queued: `digest --now` needs the maintainers.
        ("mail", "maintainers", _maintainers_json(settings.mail.maintainers)),
    ]
    lines = [
        "# lessonbot sandbox: `set -a; . ./sandbox.env; set +a` points every lessonbot",
        "# command at the running sandbox. These tokens open nothing but the local",
        "# sandboxes; they are not secrets. Rewritten at each start of `lessonbot sandbox`.",
        # Commands run beside a running sandbox read this file without being told to;
        # this line tells them it is the running one's, not an earlier run's.
        written_by_line(),
    ]
    if hidden:
        lines.append(
            f"# {env_name('database', 'url')} is not written here: it holds a password. "
            f"Set it as for the sandbox ({masked_url(database)})."
        )
    for section, key, value in values:
        if value is not None:
            lines.append(f"{env_name(section, key)}={shlex.quote(str(value))}")
    return "\n".join(lines) + "\n"


def _reveal(secret: Secret | None) -> str | None:
    return None if secret is None else secret.reveal()


def sandbox_guide(
    environment: SandboxEnvironment, state_dir: Path, *, thread_id: int | None = None
) -> str:
    """Return a short guide: act as a learner on Discord, as a maintainer on GitHub, run
    lessonbot commands against the sandbox and read the digest emails; `thread_id` is the
    first lesson's post, to ask a question in."""
    discord, github = environment.description["discord"], environment.description["github"]
    admin = f"{discord['url']}/_sandbox"
    guild_id, general = discord["guild_id"], discord["channels"]["general"]
    lesson = _first_lesson(environment)
    run = json.dumps(
        {
            "guild_id": str(guild_id),
            "channel_id": str(general),
            "user_id": "1001",
            "name": "lesson",
            "locale": "es-ES",
            "options": [{"name": "lesson", "type": 3, "value": lesson}],
        }
    )
    asked = json.dumps({"author_id": "1001", "content": QUESTION}, ensure_ascii=False)
    thread = str(thread_id) if thread_id is not None else "<thread_id>"
    lessonbot = lessonbot_command()
    return "\n".join(
        [
            "Act as a learner on Discord (ana, es-ES; also li 1002, maya 1003, sam 1004): "
            "run /lesson, then read the bot's answer:",
            f"  curl -s -X POST {admin}/interactions/commands -H 'Content-Type: "
            f"application/json' -d {shlex.quote(run)}",
            f"  curl -s '{admin}/interactions/<interaction_id>/responses?timeout=10'",
            f"Ask a question in {lesson}'s post as ana (the bot records it for the digest):",
            f"  curl -s -X POST {admin}/channels/{thread}/messages -H 'Content-Type: "
            f"application/json' -d {shlex.quote(asked)}",
            "Suggest an edit as a learner: on Discord run /suggest edit "
            f"lesson:{lesson} (or press a lesson post's Suggest an edit button), or open "
            "the web form:",
            f"  {suggest_form_url(environment.app.settings.web.public_url, lesson)}",
            "  The bot opens a pull request labelled suggested-edit and tells the learner "
            "as it is reviewed.",
            "Act as a maintainer on GitHub: list the lesson issues, or clone the lessons:",
            "  curl -s -H 'Authorization: token maintainer' "
            f"'{github['url']}/repos/{github['repository']}/issues?labels=lesson-discussion'",
            f"  git clone {github['clone_url']}",
            *_commands_guide(environment, state_dir, lessonbot),
            *_mail_guide(environment, lessonbot),
            f"A restart resumes this world; `{_sandbox_command(environment, state_dir)} "
            f"--fresh` starts a new one. Logs show warnings and errors; add -v for every step.",
        ]
    )


def _sandbox_command(environment: SandboxEnvironment, state_dir: Path) -> str:
    """Return the `lessonbot sandbox` command that runs this world again."""
    words = ["sandbox", "--content", str(environment.app.settings.content.dir)]
    if state_dir.absolute() != DEFAULT_STATE_DIR.absolute():
        words += ["--state-dir", str(state_dir)]
    return f"{lessonbot_command()} {shlex.join(words)}"


# What ana asks in the guide's example: a question in her language, as the bot tells them.
QUESTION = "¿Qué diferencia hay entre un dato y una información?"


def _commands_guide(environment: SandboxEnvironment, state_dir: Path, lessonbot: str) -> list[str]:
    """Return the guide's lines on running lessonbot commands against this sandbox."""
    source = f"set -a; . {shlex.quote(str((state_dir / ENV_FILE).absolute()))}; set +a"
    if state_dir.absolute() == DEFAULT_STATE_DIR.absolute():
        # Commands run here find the lock and sandbox.env themselves (bot/running_sandbox.py).
        anywhere = f"{source}; {lessonbot_command(relative=False)} jobs list"
        where = (
            f"lessonbot commands run in {Path.cwd()} use this sandbox; from anywhere: `{anywhere}`"
        )
    else:
        where = f"run `{source}` first"
    lines = [
        f"See what the bot recorded and the writes it has still to do ({where}):",
        f"  {lessonbot} questions list",
        f"  {lessonbot} suggestions list",
        f"  {lessonbot} jobs list",
    ]
    database = environment.app.settings.database.url
    if masked_url(database) != database:
        variable = env_name("database", "url")
        lines.append(
            f"  (set {variable} as for the sandbox too: sandbox.env leaves its password out)"
        )
    return lines


def _mail_guide(environment: SandboxEnvironment, lessonbot: str) -> list[str]:
    """Return the guide's lines on sending the digest and reading the emails it sends."""
    mail = environment.description.get("mail")
    if not mail:
        return []
    maintainers = environment.app.settings.mail.maintainers
    readers = ", ".join(
        f"{maintainer.address} ({maintainer.locale or environment.app.settings.locale})"
        for maintainer in maintainers
    )
    return [
        "Send the digest of open questions now: the bot posts it in #digests and emails "
        f"each maintainer ({readers or 'none configured'}); a suggestion sent with an email "
        "address is emailed each step of its review. The SMTP catcher keeps that mail (add "
        "?to=ADDRESS for one reader's; DELETE clears it):",
        f"  {lessonbot} digest --now",
        f"  curl -s '{mail['messages_url']}'",
    ]


def suggest_form_url(public_url: str, lesson: str) -> str:
    """Return the web form that suggests an edit of the lesson `program/slug`."""
    program, _, slug = lesson.partition("/")
    return (
        f"{public_url.rstrip('/')}/lessons/{quote(program, safe='')}/{quote(slug, safe='')}/suggest"
    )


def _first_lesson(environment: SandboxEnvironment) -> str:
    """Return a lesson identity to show in examples."""
    lessons = environment.app.catalogue.ordered_lessons() if environment.app.catalogue else []
    return lessons[0].identity if lessons else "program/slug"


class StateDirBusyError(Exception):
    """Another `lessonbot sandbox` holds this state folder."""

    def __init__(self, state_dir: Path, holder: str) -> None:
        super().__init__(f"{state_dir} is in use by {holder or 'another process'}")
        self.state_dir = state_dir
        self.holder = holder


@contextlib.contextmanager
def holding_state_dir(state_dir: Path) -> Iterator[None]:
    """Hold the state folder for this process, or raise StateDirBusyError.

    Two sandboxes on one folder would each save their own world over the other's (and
    the second would re-link every lesson on its own ports): the second one must stop.
    The lock goes with the process, so a crashed sandbox never leaves it held.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / LOCK_FILE
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the whole block
    try:
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                # Another sandbox, or a command looking for one here (bot/running_sandbox.py),
                # which lets go at once: only a lock still held after the wait is a sandbox's.
                if time.monotonic() > deadline:
                    handle.seek(0)
                    raise StateDirBusyError(state_dir, handle.read().strip()) from None
                time.sleep(0.05)
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()}\n")
        handle.flush()
        yield
    finally:
        handle.close()


async def run_sandbox(
    settings: Settings,
    *,
    content_dir: Path,
    state_dir: Path = Path(".lessonbot"),
    fresh: bool = False,
    database_url: str | None = None,
    database_setting: str = "",
) -> None:
    """Run both sandboxes and the bot until cancelled, printing where each listens; link
    every lesson at start. `fresh` wipes the kept world first. The bot uses the database
    `database_url` (named by `database_setting`) when given, else its own file in
    `state_dir`."""
    with holding_state_dir(state_dir):
        await _run_sandbox(
            settings,
            content_dir=content_dir,
            state_dir=state_dir,
            fresh=fresh,
            database_url=database_url,
            database_setting=database_setting,
        )


async def _run_sandbox(
    settings: Settings,
    *,
    content_dir: Path,
    state_dir: Path,
    fresh: bool,
    database_url: str | None,
    database_setting: str,
) -> None:
    previous_world = None
    if fresh:
        # A named database cannot be deleted with the world: it is emptied at start if it
        # holds the world wiped here (and no other), so the description is read first.
        previous_world = await asyncio.to_thread(_described_world, state_dir)
        deleted = await asyncio.to_thread(wipe_world, state_dir)
        if deleted:
            print(f"Fresh start: removed the sandbox world in {state_dir}", flush=True)
    async with (
        sandbox_environment(
            settings,
            content_dir=content_dir,
            state_dir=state_dir,
            link_at_start=True,
            database_url=database_url,
            reset_world=previous_world,
        ) as environment,
        background_work(environment.app),
    ):
        # As `lessonbot run` does: suggestions become PRs, digests go out on schedule. The
        # lines below are printed once all has started, so that the guide is the last
        # thing on the screen rather than buried under the start's own output.
        await _settled(environment)
        discord, github = environment.description["discord"], environment.description["github"]
        resumed = "resumed" if environment.description["restored"] else "new"
        print(f"Sandbox world:    {resumed} ({state_dir / WORLD_DIR})", flush=True)
        database = environment.description["database"]
        if environment.app.settings.database.url == database_url:
            print(f"Database:         {database}, from {database_setting}", flush=True)
        else:
            variable = env_name("database", "url")
            print(
                f"Database:         {database}, the sandbox's own (set {variable} for another)",
                flush=True,
            )
        if environment.stale_database is not None:
            print(f"Old database:     moved to {environment.stale_database}", flush=True)
        print(f"Discord sandbox:  {discord['url']} (guild {discord['guild_id']})", flush=True)
        print(f"  in a browser:   {discord['url']}/channels/{discord['guild_id']}", flush=True)
        print(f"GitHub sandbox:   {github['url']} ({github['repository']})", flush=True)
        print(f"  in a browser:   {github['url']}/{github['repository']}", flush=True)
        print(f"Lessons:          git clone {github['clone_url']}", flush=True)
        print(
            f"lessonbot web:    {environment.app.web_url}/ (lessons, suggest form; webhooks)",
            flush=True,
        )
        if mail := environment.description.get("mail"):
            print(
                f"Mail catcher:     SMTP {mail['smtp_host']}:{mail['smtp_port']}, read at "
                f"{mail['url']}",
                flush=True,
            )
        print(f"Details:          {state_dir / DESCRIPTION}, {state_dir / ENV_FILE}", flush=True)
        if environment.linked:
            print(environment.linked, flush=True)
        thread_id = await _first_thread(environment)
        print(sandbox_guide(environment, state_dir, thread_id=thread_id), flush=True)
        print("The bot is connected. Press Ctrl+C to stop.", flush=True)
        await environment.bot_task


async def _settled(environment: SandboxEnvironment) -> None:
    """Wait until the GitHub sandbox delivered the webhooks the start caused (linking
    opens issues), so their handling is over before the guide is printed."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(SETTLE_SECONDS):
            await environment.github.wait_for_webhooks()


async def _first_thread(environment: SandboxEnvironment) -> int | None:
    """Return the Discord post of the lesson the guide shows, when it is linked."""
    program, _, slug = _first_lesson(environment).partition("/")
    async with environment.app.sessions() as session:
        return await session.scalar(
            select(LessonLink.discord_thread_id)
            .join(Lesson, Lesson.id == LessonLink.lesson_id)
            .where(Lesson.program == program, Lesson.slug == slug)
        )
