"""`lessonbot doctor` against the three sandboxes: all good, then each thing broken in turn."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.domain.doctor import PERMISSIONS
from bot.offline import SANDBOX_BOT_TOKEN
from bot.store.migrate import downgrade
from sandboxes.discord.gateway import GUILD_MEMBERS
from tests.conftest import rsa_key_pair
from tests.e2e.doctor_support import World, http, world_builder


@pytest.fixture
def make_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., World]]:
    """Return a builder of a world where every check passes (given the intents)."""
    yield from world_builder(tmp_path, monkeypatch)


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
    http(
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


APP_ID, INSTALLATION_ID = 4242, 77


def _as_app(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    *,
    permissions: dict[str, str] | None = None,
    events: list[str] | None = None,
    signed_by_another_key: bool = False,
) -> None:
    """Install a GitHub App on the repository and point the settings at it, not a token."""
    private, public = rsa_key_pair()
    world.github.register_app(
        APP_ID, public, INSTALLATION_ID, permissions=permissions, events=events
    )
    if signed_by_another_key:
        private, _ = rsa_key_pair()
    world.env.pop("GITHUB_TOKEN", None)
    monkeypatch.delenv("LESSONBOT_GITHUB_TOKEN", raising=False)
    world.env |= {
        "GITHUB_APP_ID": str(APP_ID),
        "GITHUB_INSTALLATION_ID": str(INSTALLATION_ID),
        "GITHUB_APP_PRIVATE_KEY": private,
    }


def test_a_github_app_is_checked_by_its_signature_alone(
    make_world: Callable[..., World],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = make_world()
    _as_app(world, monkeypatch)
    tokens_before = _minted(world)

    status, out = world.doctor(capsys)

    assert status == 0, out
    lines = _lines(out)
    assert lines["GitHub repository lessons/content"] == (
        "ok  GitHub repository lessons/content  readable"
    )
    assert lines["GitHub access to lessons/content"] == (
        "ok  GitHub access to lessons/content  the App may write contents, issues and pull requests"
    )
    assert lines["GitHub App events"] == (
        "ok  GitHub App events  subscribed to the 5 events the bot acts on"
    )
    webhook = lines[f"GitHub webhook to {world.env['WEB_PUBLIC_URL']}/webhooks/github"]
    assert webhook.startswith("ok  ")
    # Read with a JWT only: no installation token was minted (that would be a POST).
    assert _minted(world) == tokens_before
    assert world.env["GITHUB_APP_PRIVATE_KEY"].splitlines()[1] not in out


def _minted(world: World) -> int:
    return sum(1 for r in world.github.requests if r["path"].endswith("/access_tokens"))


def test_a_github_app_lacking_a_permission_or_an_event_fails(
    make_world: Callable[..., World],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = make_world()
    _as_app(
        world,
        monkeypatch,
        permissions={"contents": "write", "issues": "read", "metadata": "read"},
        events=["issue_comment", "pull_request", "push"],
    )

    status, out = world.doctor(capsys)

    assert status == 1
    assert _failing(out) == [
        "fail  GitHub access to lessons/content  the App's installation lacks issues (write), "
        "pull_requests (write): grant them in the App's settings (Permissions and events), "
        "then accept them on the installation",
        "fail  GitHub App events  not subscribed to pull_request_review, "
        "pull_request_review_comment: tick them in the App's settings (Permissions and events, "
        "Subscribe to events)",
    ]


def test_a_github_app_with_another_key_or_installation_or_repository_fails(
    make_world: Callable[..., World],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = make_world()
    _as_app(world, monkeypatch, signed_by_another_key=True)

    status, out = world.doctor(capsys)

    assert status == 1
    [refused] = _failing(out)
    assert refused.startswith("fail  GitHub repository lessons/content  GitHub refuses the App's")
    assert "check github.app_id and LESSONBOT_GITHUB_APP_PRIVATE_KEY" in refused

    _as_app(world, monkeypatch)
    world.env["GITHUB_INSTALLATION_ID"] = "78"
    status, out = world.doctor(capsys)
    assert status == 1
    assert _failing(out) == [
        "fail  GitHub access to lessons/content  the App is installed here as installation 77, "
        "but github.installation_id is 78: set it to 77"
    ]

    world.env["GITHUB_INSTALLATION_ID"] = "77"
    world.env["GITHUB_REPOSITORY"] = "lessons/nowhere"
    status, out = world.doctor(capsys)
    assert status == 1
    [missing] = _failing(out)
    assert missing.startswith(
        "fail  GitHub repository lessons/nowhere  the GitHub App is not installed on this "
        "repository (404 Not Found)"
    )


def test_a_github_app_missing_its_key_or_webhook_fails(
    make_world: Callable[..., World],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = make_world()
    _as_app(world, monkeypatch)
    world.github.webhook_url = None

    status, out = world.doctor(capsys)

    assert status == 1
    [line] = _failing(out)
    assert "the App's webhook does not post here: set its Webhook URL to this address" in line

    del world.env["GITHUB_APP_PRIVATE_KEY"]
    monkeypatch.delenv("LESSONBOT_GITHUB_APP_PRIVATE_KEY")
    status, out = world.doctor(capsys)
    assert status == 1
    assert _failing(out) == [
        "fail  GitHub repository  a GitHub App is named (github.app_id), but "
        "LESSONBOT_GITHUB_APP_PRIVATE_KEY is not set: set it, or set LESSONBOT_GITHUB_TOKEN "
        "instead"
    ]
