"""`lessonbot doctor` against the three sandboxes: all good, then each thing broken in turn."""

from __future__ import annotations

import json
import os
import socket
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
from bot.store.migrate import downgrade, upgrade
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


def _http(method: str, url: str, authorization: str, body: Any = None) -> None:
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
        _http(
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


@pytest.fixture
def make_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., World]]:
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


def _lines(out: str) -> dict[str, str]:
    """Return each output line by the status and `what` it starts with."""
    return {line.split("  ")[1]: line for line in out.splitlines()}


def _failing(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("fail")]


def test_all_good_prints_ok_lines_and_exits_0(
    make_world: Callable[..., World], capsys: pytest.CaptureFixture[str]
) -> None:
    world = make_world()

    status, out = world.doctor(capsys)

    assert status == 0, out
    lines = out.splitlines()
    assert all(line.startswith("ok  ") for line in lines), out
    whats = [line.split("  ")[1] for line in lines]
    assert whats == [
        f"database {world.database}",
        "Discord token",
        "Discord intents",
        "Discord server doctor",
        "lesson forum #demo (demo)",
        "digest channel #digests",
        "GitHub repository lessons/content",
        "GitHub access to lessons/content",
        f"GitHub webhook to {world.env['WEB_PUBLIC_URL']}/webhooks/github",
        f"mail server 127.0.0.1:{world.mail.smtp_port}",
    ]
    assert "accepts connections and the login of bot" in out


def test_json_gives_one_record_per_check(
    make_world: Callable[..., World], capsys: pytest.CaptureFixture[str]
) -> None:
    world = make_world()

    status, out = world.doctor(capsys, "--json")

    records = json.loads(out)
    assert status == 0
    assert [record["check"] for record in records][:3] == [
        "database",
        "discord.token",
        "discord.intents",
    ]
    assert {record["status"] for record in records} == {"ok"}
    assert records[1]["message"] == "valid: the bot is lessonbot"


def test_lines_follow_the_locale(
    make_world: Callable[..., World], capsys: pytest.CaptureFixture[str]
) -> None:
    world = make_world()
    world.env["LOCALE"] = "es"

    status, out = world.doctor(capsys)

    assert status == 0
    assert "token de Discord  válido: el bot es lessonbot" in out


def test_a_wrong_discord_token_fails(
    make_world: Callable[..., World], capsys: pytest.CaptureFixture[str]
) -> None:
    world = make_world()
    world.env["DISCORD_TOKEN"] = "not-the-token"

    status, out = world.doctor(capsys)

    assert status == 1
    assert _failing(out) == [
        "fail  Discord token  refused by Discord (401: Unauthorized): set a valid bot "
        "token in LESSONBOT_DISCORD_TOKEN"
    ]
    assert "not-the-token" not in out


def test_a_missing_intent_fails(
    make_world: Callable[..., World], capsys: pytest.CaptureFixture[str]
) -> None:
    world = make_world(privileged_intents=GUILD_MEMBERS)

    status, out = world.doctor(capsys)

    assert status == 1
    assert _failing(out) == [
        "fail  Discord intents  not enabled for the application: MESSAGE_CONTENT; turn them "
        "on in the Developer Portal (Bot, Privileged Gateway Intents)"
    ]


def test_a_forum_the_bot_cannot_see_fails(
    make_world: Callable[..., World], capsys: pytest.CaptureFixture[str]
) -> None:
    world = make_world()
    world.discord.set_permission_overwrite(
        world.forum_id, world.bot_role, deny=PERMISSIONS["VIEW_CHANNEL"]
    )

    status, out = world.doctor(capsys)

    assert status == 1
    [line] = _failing(out)
    assert line.startswith("fail  lesson forum #demo (demo)  the bot lacks VIEW_CHANNEL, ")


def test_a_forum_where_the_bot_lacks_a_permission_fails(
    make_world: Callable[..., World], capsys: pytest.CaptureFixture[str]
) -> None:
    world = make_world()
    # @everyone's overwrite takes it from the bot too, and its role's overwrite gives it back.
    everyone, manage = int(world.guild["id"]), PERMISSIONS["MANAGE_THREADS"]
    world.discord.set_permission_overwrite(world.forum_id, everyone, deny=manage)
    assert world.doctor(capsys)[0] == 1
    world.discord.set_permission_overwrite(world.forum_id, world.bot_role, allow=manage)
    assert world.doctor(capsys)[0] == 0
    world.discord.set_permission_overwrite(
        world.forum_id, world.bot_role, deny=PERMISSIONS["MANAGE_THREADS"]
    )

    status, out = world.doctor(capsys)

    assert status == 1
    assert _failing(out) == [
        "fail  lesson forum #demo (demo)  the bot lacks MANAGE_THREADS here: grant them to "
        "its role in the forum's permissions"
    ]


def test_a_deleted_forum_fails(
    make_world: Callable[..., World], capsys: pytest.CaptureFixture[str]
) -> None:
    world = make_world()
    _http(
        "DELETE",
        f"{world.discord.api_base_url}/channels/{world.forum_id}",
        f"Bot {SANDBOX_BOT_TOKEN}",
    )

    status, out = world.doctor(capsys)

    assert status == 1
    [line] = _failing(out)
    assert line.startswith(f"fail  lesson forum demo  forum {world.forum_id} is not in the server")


def test_a_token_without_push_fails(
    make_world: Callable[..., World], capsys: pytest.CaptureFixture[str]
) -> None:
    world = make_world()
    world.github.add_collaborator("lessonbot", "triage")

    status, out = world.doctor(capsys)

    assert status == 1
    assert _failing(out) == [
        "fail  GitHub access to lessons/content  the token cannot push: the bot cannot open "
        "branches and pull requests; give its account the write role"
    ]
    # Without admin the hooks are hidden: said, but not a failure.
    assert _lines(out)[f"GitHub webhook to {world.env['WEB_PUBLIC_URL']}/webhooks/github"]
    assert "warn  GitHub webhook" in out


def test_a_missing_repository_fails(
    make_world: Callable[..., World], capsys: pytest.CaptureFixture[str]
) -> None:
    world = make_world()
    world.env["GITHUB_REPOSITORY"] = "lessons/nowhere"

    status, out = world.doctor(capsys)

    assert status == 1
    assert _failing(out) == [
        "fail  GitHub repository lessons/nowhere  not found, or the token cannot see it "
        "(404 Not Found): check github.repository and the token's access"
    ]


def test_no_webhook_fails(
    make_world: Callable[..., World], capsys: pytest.CaptureFixture[str]
) -> None:
    world = make_world()
    world.github.webhook_url = None

    status, out = world.doctor(capsys)

    assert status == 1
    [line] = _failing(out)
    assert line.startswith("fail  GitHub webhook to http://127.0.0.1:")
    assert "no webhook posts here" in line


def test_failing_deliveries_fail(
    make_world: Callable[..., World], capsys: pytest.CaptureFixture[str]
) -> None:
    world = make_world()
    world.deliver(500)

    status, out = world.doctor(capsys)

    assert status == 1
    [line] = _failing(out)
    assert "the latest delivery (issues) got 500, and 1 of the last 2 failed" in line


def test_smtp_down_fails(
    make_world: Callable[..., World], capsys: pytest.CaptureFixture[str]
) -> None:
    world = make_world()
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        world.env["MAIL_SMTP_PORT"] = str(unused.getsockname()[1])

    status, out = world.doctor(capsys)

    assert status == 1
    [line] = _failing(out)
    assert line.startswith("fail  mail server 127.0.0.1:")
    assert "cannot be reached (connection refused)" in line


def test_smtp_refusing_the_login_fails(
    make_world: Callable[..., World], capsys: pytest.CaptureFixture[str]
) -> None:
    world = make_world()
    world.env["MAIL_SMTP_PASSWORD"] = "wrong-password"

    status, out = world.doctor(capsys)

    assert status == 1
    [line] = _failing(out)
    assert "the login is refused (535" in line
    assert "wrong-password" not in out


def test_a_database_not_migrated_fails(
    make_world: Callable[..., World], capsys: pytest.CaptureFixture[str]
) -> None:
    world = make_world()
    downgrade(world.database, "-1")

    status, out = world.doctor(capsys)

    assert status == 1
    [line] = _failing(out)
    assert line.startswith(f"fail  database {world.database}  at revision ")
    assert line.endswith(": run `lessonbot db upgrade`")
    # The forums are not read from a database at another revision; said, not failed.
    assert "warn  lesson forums  not checked" in out


def test_a_missing_or_unreachable_database_fails_and_creates_nothing(
    make_world: Callable[..., World], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    world = make_world()
    missing = tmp_path / "none" / "lessonbot.db"
    world.env["DATABASE_URL"] = f"sqlite:///{missing}"

    status, out = world.doctor(capsys)

    assert status == 1
    [line] = _failing(out)
    assert f"no database file at {missing}" in line
    assert not missing.parent.exists()

    world.env["DATABASE_URL"] = "postgresql://doctor:pw@127.0.0.1:1/nowhere"
    status, out = world.doctor(capsys)

    assert status == 1
    [line] = _failing(out)
    assert line.startswith("fail  database postgresql://doctor:***@127.0.0.1:1/nowhere  cannot")
    assert ":pw@" not in out
