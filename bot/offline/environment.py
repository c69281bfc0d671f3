"""Start the Discord, GitHub and mail sandboxes and the real bot against them, on one loop."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import func, update

from bot.app import RunningApp, started_app
from bot.config import DISCORD_WEB_URL, Settings
from bot.domain.catalogue import load_catalogue
from bot.domain.link_texts import forum_name
from bot.i18n import t
from bot.offline.env_file import sandbox_env
from bot.offline.settings import sandbox_settings
from bot.offline.state import (
    DESCRIPTION,
    WORLD_DIR,
    claim_database,
    claim_named_database,
    is_sandbox_database,
)
from bot.running_sandbox import ENV_FILE
from bot.store.engine import masked_url
from bot.store.models import LessonLink, Question
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


def _reserve_port(host: str, preferred: int | None = None) -> socket.socket:
    """Return a socket holding a free port, `preferred` when it is free, until closed.

    The socket is bound but not listening, with SO_REUSEPORT as the web server binds, so
    the web server can take the port while it is held and nothing else can: an outgoing
    connection or another process's sandbox picked the port between a probe and the bind.
    """
    for port in (preferred, 0) if preferred else (0,):
        holder = socket.socket()
        # As the web server binds: a port the last run just left (TIME_WAIT) is free.
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            holder.bind((host, port))
        except OSError:
            holder.close()
            continue
        return holder
    raise AssertionError("port 0 always binds")


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
    port_holder = await asyncio.to_thread(_reserve_port, "127.0.0.1", kept.get("web_port"))
    with port_holder:
        web_port = int(port_holder.getsockname()[1])
        webhook_url = f"http://127.0.0.1:{web_port}/webhooks/github"
        await asyncio.to_thread(
            write_json,
            world_dir / "world.json",
            {"web_port": web_port, "webhook_secret": webhook_secret},
        )
        channels = await asyncio.to_thread(
            guild_channels, content_dir, settings.content.default_locale
        )
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
                port_holder.close()  # the web server listens on the port now
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
