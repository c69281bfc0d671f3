"""Discord's rate limits over HTTP: per-route buckets, their headers, the global limit,
injected 429s that last until reset, and discord.py waiting them out."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from bot.cli import build_parser
from sandboxes.discord import DiscordSandbox
from sandboxes.discord.ratelimits import RateLimitSettings
from tests.sandboxes.discord.conftest import RecordingBot, running

HEADERS = ("Limit", "Remaining", "Reset", "Reset-After", "Bucket")


def _limits(headers: dict[str, str]) -> dict[str, str]:
    """Return a response's X-RateLimit-* headers without the prefix."""
    return {key[12:]: value for key, value in headers.items() if key.startswith("X-RateLimit-")}


async def test_messages_are_five_per_five_seconds_per_channel(
    sandbox: DiscordSandbox, guild: dict[str, Any], raw: Callable[..., Any]
) -> None:
    general = guild["channels"]["general"]
    other = sandbox.create_guild("Other", channels=[{"name": "chat", "type": 0}])
    chat = other["channels"]["chat"]
    seen = []
    for _ in range(5):
        status, headers, _ = await raw("POST", f"/channels/{general}/messages", {"content": "hi"})
        assert status == 200
        seen.append(_limits(headers))
    assert all(set(HEADERS) <= set(limits) for limits in seen)
    assert [limits["Remaining"] for limits in seen] == ["4", "3", "2", "1", "0"]
    assert {limits["Limit"] for limits in seen} == {"5"}
    assert 0 < float(seen[-1]["Reset-After"]) <= 5
    status, headers, body = await raw("POST", f"/channels/{general}/messages", {"content": "6"})
    assert status == 429 and body["global"] is False and 0 < body["retry_after"] <= 5
    assert headers["X-RateLimit-Scope"] == "user" and headers["Retry-After"] in (
        "1",
        "2",
        "3",
        "4",
        "5",
    )
    assert "X-RateLimit-Global" not in headers
    assert len(sandbox.channel_messages(general)) == 5
    # Another channel (another major parameter) has its own bucket with the same hash.
    status, headers, _ = await raw("POST", f"/channels/{chat}/messages", {"content": "hi"})
    assert status == 200 and _limits(headers)["Remaining"] == "4"
    assert _limits(headers)["Bucket"] == seen[0]["Bucket"]


async def test_channel_name_edits_are_two_per_ten_minutes_also_for_threads(
    sandbox: DiscordSandbox, guild: dict[str, Any], raw: Callable[..., Any]
) -> None:
    forum = guild["channels"]["data-basics"]
    status, _, thread = await raw(
        "POST", f"/channels/{forum}/threads", {"name": "post", "message": {"content": "x"}}
    )
    assert status == 201
    for channel in (guild["channels"]["general"], int(thread["id"])):
        for name in ("one", "two"):
            status, headers, _ = await raw("PATCH", f"/channels/{channel}", {"name": name})
            assert status == 200
        assert _limits(headers)["Limit"] == "2" and _limits(headers)["Remaining"] == "0"
        status, headers, body = await raw("PATCH", f"/channels/{channel}", {"topic": "three"})
        assert status == 429 and 590 < body["retry_after"] <= 600
        # Other edits of the channel have their own, looser bucket.
        status, headers, _ = await raw("PATCH", f"/channels/{channel}", {"nsfw": False})
        assert status == 200 and _limits(headers)["Limit"] == "10"
        assert _limits(headers)["Bucket"] != ""


async def test_reactions_are_one_per_quarter_second(
    sandbox: DiscordSandbox, guild: dict[str, Any], raw: Callable[..., Any]
) -> None:
    general = guild["channels"]["general"]
    _, _, message = await raw("POST", f"/channels/{general}/messages", {"content": "hi"})
    path = f"/channels/{general}/messages/{message['id']}/reactions"
    status, headers, _ = await raw("PUT", f"{path}/%F0%9F%91%8D/@me")
    assert status == 204 and _limits(headers)["Limit"] == "1"
    status, _, body = await raw("PUT", f"{path}/%F0%9F%91%80/@me")
    assert status == 429 and body["retry_after"] <= 0.25


@pytest.fixture
async def strict() -> AsyncIterator[DiscordSandbox]:
    """Run a sandbox whose global limit is 3 requests per second."""
    async with DiscordSandbox(rate_limits=RateLimitSettings(global_per_second=3)) as running:
        yield running


async def test_global_limit_answers_a_global_429(strict: DiscordSandbox) -> None:
    headers = {"Authorization": f"Bot {strict.bot_token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        statuses = []
        for path in ("/users/@me", "/gateway/bot", "/users/@me", "/oauth2/applications/@me"):
            async with session.get(strict.api_base_url + path) as response:
                statuses.append(response.status)
                last, body = response.headers, await response.json()
    assert statuses == [200, 200, 200, 429]
    assert last["X-RateLimit-Global"] == "true" and last["X-RateLimit-Scope"] == "global"
    assert body["global"] is True and body["message"] == "You are being rate limited."


async def test_limits_can_be_turned_off() -> None:
    settings = RateLimitSettings(enabled=False)
    async with DiscordSandbox(rate_limits=settings) as sandbox:
        guild = sandbox.create_guild("Quiet", channels=[{"name": "general", "type": 0}])
        url = f"{sandbox.api_base_url}/channels/{guild['channels']['general']}/messages"
        headers = {"Authorization": f"Bot {sandbox.bot_token}"}
        async with aiohttp.ClientSession(headers=headers) as session:
            for _ in range(30):
                async with session.post(url, json={"content": "hi"}) as response:
                    assert response.status == 200
                    assert "X-RateLimit-Limit" not in response.headers


def test_settings_parse_cli_flags() -> None:
    parsed = RateLimitSettings.parse(True, ["message_create=10/1", "global=100"])
    assert parsed.rules["message_create"] == (10, 1.0) and parsed.global_per_second == 100
    assert parsed.rules["reaction"] == (1, 0.25)
    for bad in ("nope=1/1", "message_create=0/1", "message_create=1/x", "global=0"):
        with pytest.raises(ValueError, match=r"rate limit|seconds"):
            RateLimitSettings.parse(True, [bad])


async def test_discord_py_waits_out_the_message_bucket(
    sandbox: DiscordSandbox, guild: dict[str, Any], point_discord: None
) -> None:
    # A shorter window than Discord's 5 s keeps the test quick; the mechanism is the same.
    sandbox.rate_limiter.settings.rules["message_create"] = (2, 0.3)
    general = guild["channels"]["general"]
    async with running(RecordingBot(), sandbox) as bot:
        channel = bot.get_channel(general)
        for number in range(5):
            await channel.send(f"message {number}")
    assert [m["content"] for m in sandbox.channel_messages(general)] == [
        f"message {n}" for n in range(5)
    ]
    posts = [r for r in sandbox.requests if r["method"] == "POST"]
    assert [r["status"] for r in posts] == [200] * 5  # it waited instead of hitting 429


def test_sandbox_command_takes_rate_limit_flags() -> None:
    parser = build_parser()
    arguments = parser.parse_args(
        ["sandbox", "discord", "--no-rate-limits", "--rate-limit", "reaction=4/1"]
    )
    assert arguments.no_rate_limits and arguments.rate_limit == ["reaction=4/1"]
    assert not parser.parse_args(["sandbox", "discord"]).no_rate_limits
    with pytest.raises(SystemExit):
        parser.parse_args(["sandbox", "discord", "--rate-limit", "reaction=4"])


async def test_interaction_callbacks_have_no_bucket_and_followups_have_the_webhook_bucket(
    sandbox: DiscordSandbox, guild: dict[str, Any], raw: Callable[..., Any]
) -> None:
    status, _, _ = await raw(
        "PUT",
        f"/applications/{sandbox.application_id}/commands",
        [{"name": "ping", "description": "Ping"}],
    )
    assert status == 200
    interaction_id = await sandbox.run_command(
        guild["id"], guild["channels"]["general"], 1001, "ping"
    )
    token = sandbox.context.state.interactions[interaction_id].token
    url = f"/interactions/{interaction_id}/{token}/callback"
    status, headers, _ = await raw("POST", url, {"type": 5}, token=None)
    # Discord sends no bucket for callbacks (hikari reports one as an error).
    assert status == 204 and not _limits(headers)
    webhook = f"/webhooks/{sandbox.application_id}/{token}"
    status, headers, _ = await raw("POST", webhook, {"content": "done"}, token=None)
    assert status == 204 and _limits(headers)["Limit"] == "5"
