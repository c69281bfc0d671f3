"""The world `lessonbot doctor` is tested in: three sandboxes, a database, a webhook receiver."""

from __future__ import annotations

import json
import os
import threading
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from bot.cli import main
from bot.domain.doctor import PERMISSIONS
from bot.offline import SANDBOX_BOT_TOKEN
from bot.store.engine import make_sync_engine
from bot.store.migrate import upgrade
from bot.store.models import ProgramForum
from sandboxes.discord import DiscordSandbox
from sandboxes.discord.gateway import GUILD_MEMBERS, MESSAGE_CONTENT
from sandboxes.github import GitHubSandbox
from sandboxes.mail import MailSandbox
from tests.conftest import FIXTURES
from tests.e2e.support import sandbox_settings_env

CONTENT = FIXTURES / "content"
SMTP_PASSWORD = "mail-s3cret"
GITHUB_TOKEN = "lessonbot"
# What a careful admin gives the bot's role, instead of Administrator.
BOT_ROLE = sum(
    PERMISSIONS[name]
    for name in (
        "VIEW_CHANNEL",
        "SEND_MESSAGES",
        "SEND_MESSAGES_IN_THREADS",
        "MANAGE_THREADS",
        "MANAGE_CHANNELS",
        "READ_MESSAGE_HISTORY",
        "EMBED_LINKS",
        "ADD_REACTIONS",
    )
)


def http(method: str, url: str, authorization: str, body: Any = None) -> None:
    """Make one request to a sandbox, as a person acting there would."""
    request = urllib.request.Request(  # noqa: S310 - the sandboxes' own http:// URLs
        url,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": authorization, "Content-Type": "application/json"},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310
        pass


class _Receiver(BaseHTTPRequestHandler):
    """The bot's webhook endpoint, standing in: answers with the server's `status`."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@dataclass
class World:
    """The three sandboxes, the database and the settings pointing at them."""

    discord: DiscordSandbox
    github: GitHubSandbox
    mail: MailSandbox
    receiver: ThreadingHTTPServer
    guild: dict[str, Any]
    database: str
    env: dict[str, str] = field(default_factory=dict)

    @property
    def forum_id(self) -> int:
        return int(self.guild["channels"]["demo"])

    @property
    def bot_role(self) -> int:
        return int(self.guild["roles"]["lessonbot"])

    def deliver(self, status: int) -> None:
        """Have the receiver answer `status`, and make GitHub send one delivery."""
        self.receiver.status = status  # type: ignore[attr-defined]
        http(
            "POST",
            f"{self.github.base_url}/repos/{self.github.repository}/issues",
            "token maintainer",
            {"title": "A question"},
        )
        self.github.wait_for_webhooks_blocking()

    def doctor(self, capsys: pytest.CaptureFixture[str], *options: str) -> tuple[int, str]:
        """Run `lessonbot doctor` with the world's settings; return its status and output."""
        for name, value in self.env.items():
            os.environ[f"LESSONBOT_{name}"] = value
        self.discord.clear_requests()
        github_before = len(self.github.requests)
        status = main(["doctor", *options])
        out = capsys.readouterr().out
        # It changed nothing: only reads reached the sandboxes, and no mail was sent.
        assert {r["method"] for r in self.discord.requests} <= {"GET"}
        assert {r["method"] for r in self.github.requests[github_before:]} <= {"GET"}
        assert self.mail.messages == []
        for secret in (SANDBOX_BOT_TOKEN, SMTP_PASSWORD, "Bot "):
            assert secret not in out
        return status, out


def world_builder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., World]]:
    """Return a builder of a world where every check passes (given the intents)."""
    for name in list(os.environ):
        if name.startswith("LESSONBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    stops: list[Callable[[], None]] = []

    def build(privileged_intents: int = MESSAGE_CONTENT | GUILD_MEMBERS) -> World:
        receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
        receiver.status = 200  # type: ignore[attr-defined]
        threading.Thread(target=receiver.serve_forever, daemon=True).start()
        stops.append(receiver.server_close)
        stops.append(receiver.shutdown)
        public_url = f"http://127.0.0.1:{receiver.server_address[1]}"
        discord = DiscordSandbox(
            bot_token=SANDBOX_BOT_TOKEN, privileged_intents=privileged_intents
        ).start_in_thread()
        stops.append(discord.stop)
        github = GitHubSandbox(
            CONTENT, "lessons/content", webhook_url=f"{public_url}/webhooks/github"
        ).start_in_thread()
        stops.append(github.stop)
        github.add_collaborator("lessonbot", "admin")  # admins may list the hooks
        mail = MailSandbox(logins={"bot": SMTP_PASSWORD}).start_in_thread()
        stops.append(mail.stop)
        guild = discord.create_guild(
            "doctor",
            channels=[
                {"name": "digests", "type": 0},
                {"name": "demo", "type": 15, "topic": "Demo"},
            ],
            members=[{"username": "owner", "owner": True}],
        )
        discord.set_role_permissions(guild["id"], guild["roles"]["lessonbot"], BOT_ROLE)
        database = tmp_path / "doctor.db"
        url = f"sqlite:///{database}"
        upgrade(url)
        engine = make_sync_engine(url)
        with engine.begin() as connection:
            connection.execute(
                insert(ProgramForum).values(
                    program="demo",
                    discord_guild_id=guild["id"],
                    discord_forum_id=guild["channels"]["demo"],
                    tag_ids={},
                )
            )
        engine.dispose()
        world = World(discord, github, mail, receiver, guild, url)
        world.env = {
            **sandbox_settings_env(discord, github, guild, url),
            "GITHUB_TOKEN": GITHUB_TOKEN,
            "DISCORD_DIGEST_CHANNEL_ID": str(guild["channels"]["digests"]),
            "WEB_PUBLIC_URL": public_url,
            "MAIL_SMTP_HOST": "127.0.0.1",
            "MAIL_SMTP_PORT": str(mail.smtp_port),
            "MAIL_SMTP_USERNAME": "bot",
            "MAIL_SMTP_PASSWORD": SMTP_PASSWORD,
        }
        for name in world.env:
            monkeypatch.setenv(f"LESSONBOT_{name}", world.env[name])
        world.deliver(200)
        return world

    yield build
    for stop in reversed(stops):
        stop()
