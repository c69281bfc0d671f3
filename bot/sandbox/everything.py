"""`lessonbot sandbox`: Discord and GitHub sandboxes and the real bot, offline, on one loop."""

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

from bot.app import RunningApp, started_app
from bot.config import Secret, Settings
from bot.domain.catalogue import load_catalogue
from bot.sandbox.discord import DiscordSandbox
from bot.sandbox.github import GitHubSandbox
from bot.services.linking import forum_name

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
# The sandbox's own bot token: it opens nothing but the local Discord sandbox.
SANDBOX_BOT_TOKEN = "sandbox-bot-token"  # noqa: S105


def _free_port(host: str) -> int:
    """Return a port free right now (the bot's web server takes it a moment later)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


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
) -> Settings:
    """Return the settings that point the real bot at the sandboxes (and at a SQLite
    database in `state_dir` unless `database_url` is given)."""
    replace = dataclasses.replace
    database_url = database_url or sandbox_database_url(state_dir)
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
            guild_id=guild_id,
            digest_channel_id=digest_channel_id,
            token=Secret(SANDBOX_BOT_TOKEN),
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


@dataclasses.dataclass
class SandboxEnvironment:
    """Both sandboxes and the connected bot, as `sandbox_environment` yields them."""

    discord: DiscordSandbox
    github: GitHubSandbox
    app: RunningApp
    guild: dict[str, Any]
    description: dict[str, Any]
    bot_task: asyncio.Task[None]


@asynccontextmanager
async def sandbox_environment(
    settings: Settings,
    *,
    content_dir: Path,
    state_dir: Path = Path(".lessonbot"),
    repository: str = "lessons/content",
    ready_timeout: float = 60.0,
    database_url: str | None = None,
) -> AsyncIterator[SandboxEnvironment]:
    """Start both sandboxes and the real bot against them; write `state_dir/sandbox.json`."""
    await asyncio.to_thread(state_dir.mkdir, parents=True, exist_ok=True)
    webhook_secret = secrets.token_hex(16)
    web_port = _free_port("127.0.0.1")
    webhook_url = f"http://127.0.0.1:{web_port}/webhooks/github"
    channels = await asyncio.to_thread(guild_channels, content_dir, settings.content.default_locale)
    async with (
        DiscordSandbox(bot_token=SANDBOX_BOT_TOKEN) as discord,
        GitHubSandbox(
            content_dir, repository, webhook_url=webhook_url, webhook_secret=webhook_secret
        ) as github,
    ):
        guild = discord.create_guild(GUILD_NAME, channels=channels, members=list(MEMBERS))
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
        )
        async with started_app(bot_settings) as app:
            bot_task = asyncio.create_task(app.bot.start(SANDBOX_BOT_TOKEN))
            try:
                await asyncio.wait_for(app.bot.wait_until_ready(), timeout=ready_timeout)
                description = {
                    "discord": {
                        "url": discord.base_url,
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
                    "bot": {"web_url": app.web_url, "healthz": f"{app.web_url}/healthz"},
                    "database": bot_settings.database.url,
                }
                await asyncio.to_thread(
                    (state_dir / "sandbox.json").write_text,
                    json.dumps(description, indent=2) + "\n",
                )
                yield SandboxEnvironment(discord, github, app, guild, description, bot_task)
            finally:
                await app.bot.close()
                await asyncio.gather(bot_task, return_exceptions=True)


async def run_sandbox(
    settings: Settings,
    *,
    content_dir: Path,
    state_dir: Path = Path(".lessonbot"),
) -> None:
    """Run both sandboxes and the bot until cancelled, printing where each listens."""
    async with sandbox_environment(
        settings, content_dir=content_dir, state_dir=state_dir
    ) as environment:
        discord, github = environment.description["discord"], environment.description["github"]
        print(f"Discord sandbox:  {discord['url']} (guild {discord['guild_id']})", flush=True)
        print(f"GitHub sandbox:   {github['url']} ({github['repository']})", flush=True)
        print(f"Lessons:          git clone {github['clone_url']}", flush=True)
        print(f"lessonbot web:    {environment.app.web_url} (webhooks from GitHub)", flush=True)
        print(f"Details:          {state_dir / 'sandbox.json'}", flush=True)
        print("The bot is connected. Press Ctrl+C to stop.", flush=True)
        await environment.bot_task
