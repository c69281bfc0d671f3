"""The server itself: auth, error shapes, faults, the request log, admin API, lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import urllib.request
from collections.abc import Callable
from typing import Any

import aiohttp
import discord
import pytest

from sandboxes.discord import DiscordSandbox, serve
from tests.sandboxes.discord.conftest import ANA, RecordingBot, running


async def test_rest_needs_the_bot_token_except_token_urls(
    sandbox: DiscordSandbox, raw: Callable[..., Any]
) -> None:
    assert (await raw("GET", "/users/@me"))[0] == 200
    for token in (None, "wrong"):
        status, headers, body = await raw("GET", "/users/@me", token=token)
        assert (status, body) == (401, {"message": "401: Unauthorized", "code": 0})
        assert headers["Content-Type"] == "application/json"
    status, _, body = await raw("GET", "/gateway", token=None)
    assert status == 200 and body == {"url": sandbox.gateway_url}
    status, _, body = await raw("GET", "/gateway/bot")
    assert body["shards"] == 1 and body["url"] == sandbox.gateway_url


async def test_json_responses_have_exactly_application_json(
    sandbox: DiscordSandbox, guild: dict[str, Any], raw: Callable[..., Any]
) -> None:
    for path in ("/users/@me", f"/guilds/{guild['id']}", "/channels/1", "/nowhere"):
        _, headers, _ = await raw("GET", path)
        assert headers["Content-Type"] == "application/json", path


@pytest.mark.parametrize(
    ("method", "path", "status", "code", "message"),
    [
        ("GET", "/channels/123", 404, 10003, "Unknown Channel"),
        ("GET", "/channels/{general}/messages/123", 404, 10008, "Unknown Message"),
        ("GET", "/guilds/123", 404, 10004, "Unknown Guild"),
        ("GET", "/users/123", 404, 10013, "Unknown User"),
        ("GET", "/nowhere", 404, 0, "404: Not Found"),
        ("PUT", "/users/@me", 405, 0, "405: Method Not Allowed"),
    ],
)
async def test_errors_have_discords_codes(
    guild: dict[str, Any],
    raw: Callable[..., Any],
    method: str,
    path: str,
    status: int,
    code: int,
    message: str,
) -> None:
    got = await raw(method, path.format(general=guild["channels"]["general"]))
    assert (got[0], got[2]) == (status, {"message": message, "code": code})


async def test_invalid_form_body_carries_the_error_tree(
    guild: dict[str, Any], raw: Callable[..., Any]
) -> None:
    body = {"content": "x" * 2001, "embeds": [{"fields": [{"name": "", "value": "v"}]}]}
    status, _, answer = await raw(
        "POST", f"/channels/{guild['channels']['general']}/messages", body
    )
    assert status == 400
    assert answer == {
        "message": "Invalid Form Body",
        "code": 50035,
        "errors": {
            "content": {
                "_errors": [
                    {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}
                ]
            },
            "embeds": {
                "0": {
                    "fields": {
                        "0": {
                            "name": {
                                "_errors": [
                                    {
                                        "code": "BASE_TYPE_REQUIRED",
                                        "message": "This field is required",
                                    }
                                ]
                            }
                        }
                    }
                }
            },
        },
    }
    status, _, answer = await raw("POST", f"/channels/{guild['channels']['general']}/messages", "{")
    assert (status, answer["code"]) == (400, 50035)


async def test_rate_limit_fault_is_waited_out_and_retried_by_discord_py(
    sandbox: DiscordSandbox, guild: dict[str, Any], bot: RecordingBot
) -> None:
    general = guild["channels"]["general"]
    path = f"/api/v10/channels/{general}/messages"
    # `ratelimit`, the mode's earlier name, still works and reads as documented.
    fault = sandbox.add_fault(
        match="POST /api/v10/channels/*/messages", mode="ratelimit", retry_after=0.05
    )
    assert fault == {
        "match": "POST /api/v10/channels/*/messages",
        "mode": "rate_limit",
        "count": 1,
        "retry_after": 0.05,
    }
    sandbox.clear_requests()
    sent = await bot.get_channel(general).send("after a short wait")
    assert sandbox.requests == [
        {"method": "POST", "path": path, "status": 429},
        {"method": "POST", "path": path, "status": 200},
    ]
    assert [m["id"] for m in sandbox.channel_messages(general)] == [str(sent.id)]


async def test_rate_limit_and_server_error_answers(
    sandbox: DiscordSandbox, guild: dict[str, Any], raw: Callable[..., Any]
) -> None:
    status, _, fault = await raw(
        "POST",
        "/_sandbox/faults",
        {"match": "GET /api/v10/users/*", "mode": "server_error", "count": 2},
        base=sandbox.base_url,
    )
    assert status == 201 and fault["count"] == 2
    sandbox.add_fault("GET /api/v10/users/@me", "ratelimit", retry_after=1.5)
    status, headers, body = await raw("GET", "/users/@me")
    assert status == 500 and body == {"message": "500: Internal Server Error", "code": 0}
    # The first matching fault is used up first; the next one still answers 500.
    assert (await raw("GET", "/users/@me"))[0] == 500
    status, headers, body = await raw("GET", "/users/@me")
    assert status == 429 and headers["Retry-After"] == "2" and headers["Via"]
    assert body == {
        "message": "You are being rate limited.",
        "retry_after": 1.5,
        "global": False,
        "code": 0,
    }
    # The fault is used up, but as on Discord a retry before the advertised reset gets
    # another 429 (the time left, not a fresh 1.5 s).
    status, headers, body = await raw("GET", "/users/@me")
    assert status == 429 and 0 < body["retry_after"] <= 1.5
    assert float(headers["X-RateLimit-Reset-After"]) == body["retry_after"]
    assert headers["X-RateLimit-Remaining"] == "0" and headers["X-RateLimit-Scope"] == "user"
    assert (await raw("GET", "/_sandbox/faults", base=sandbox.base_url))[2] == []
    status, _, body = await raw(
        "POST",
        "/_sandbox/faults",
        {"match": "GET /x", "mode": "rate_limit"},
        base=sandbox.base_url,
    )
    assert status == 201 and body["mode"] == "rate_limit"
    await raw("DELETE", "/_sandbox/faults", base=sandbox.base_url)
    status, _, body = await raw(
        "POST", "/_sandbox/faults", {"match": "x", "mode": "boom"}, base=sandbox.base_url
    )
    assert status == 400 and "match" in body["message"]


async def test_request_log_lists_the_bots_rest_calls_only(
    sandbox: DiscordSandbox, guild: dict[str, Any], raw: Callable[..., Any]
) -> None:
    await raw("GET", "/users/@me")
    await raw("GET", "/channels/1")
    await raw("GET", "/_sandbox/info", base=sandbox.base_url)
    assert sandbox.requests == [
        {"method": "GET", "path": "/api/v10/users/@me", "status": 200},
        {"method": "GET", "path": "/api/v10/channels/1", "status": 404},
    ]
    _, _, logged = await raw("GET", "/_sandbox/requests", base=sandbox.base_url)
    assert logged == sandbox.requests
    await raw("DELETE", "/_sandbox/requests", base=sandbox.base_url)
    assert sandbox.requests == []


async def test_admin_http_api_drives_a_whole_conversation(
    sandbox: DiscordSandbox, raw: Callable[..., Any], point_discord: None
) -> None:
    base = sandbox.base_url

    async def admin(method: str, path: str, body: Any = None) -> Any:
        status, _, answer = await raw(method, f"/_sandbox{path}", body, base=base, token=None)
        assert status < 300, (path, status, answer)
        return answer

    info = await admin("GET", "/info")
    assert info["gateway_url"] == sandbox.gateway_url
    # Snowflakes go out as strings (JavaScript's numbers would round them) and come in as either.
    assert info["bot_user_id"] == str(sandbox.bot_user_id)
    assert info["application_id"] == str(sandbox.application_id)
    created = await admin(
        "POST",
        "/guilds",
        {
            "name": "Over HTTP",
            "channels": [{"name": "general", "type": 0}],
            "members": [{"id": ANA, "username": "ana"}],
        },
    )
    general = created["channels"]["general"]
    assert isinstance(created["id"], str) and isinstance(general, str)
    assert created["members"] == [str(ANA)]
    assert (await admin("GET", "/info"))["guilds"] == {"Over HTTP": created["id"]}
    assert (await admin("POST", "/users", {"id": "1003", "username": "cy"}))["id"] == "1003"
    dm = await admin("POST", "/users/1003/dm")
    assert isinstance(dm["id"], str)
    async with running(RecordingBot(), sandbox) as bot:
        mark = bot.mark()
        posted = await admin(
            "POST", f"/channels/{general}/messages", {"author_id": ANA, "content": "hi"}
        )
        (message,) = await bot.expect("message", after=mark)
        assert message.id == int(posted["id"])
        await admin(
            "POST",
            f"/channels/{general}/messages/{posted['id']}/reactions",
            {"user_id": ANA, "emoji": "👍"},
        )
        await bot.expect("raw_reaction_add", after=mark)
        listed = await admin("GET", f"/channels/{general}/messages")
        assert [m["content"] for m in listed] == ["hi"]

        @bot.tree.command(name="ping", description="Ping")
        async def ping(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("pong")

        await bot.tree.sync()
        run = await admin(
            "POST",
            "/interactions/commands",
            {"guild_id": created["id"], "channel_id": general, "user_id": ANA, "name": "ping"},
        )
        assert isinstance(run["interaction_id"], str)
        answers = await admin("GET", f"/interactions/{run['interaction_id']}/responses?timeout=5")
        assert answers[0]["message"]["content"] == "pong"
        sessions = await admin("GET", "/gateway/sessions")
        assert sessions["counts"]["identify"] == 1
        assert (await admin("POST", "/gateway/drop", {}))["dropped"] == 1
        await bot.expect("resumed", after=mark)
    status, _, body = await raw(
        "POST", "/_sandbox/channels/1/messages", {"author_id": ANA}, base=base
    )
    assert status == 404 and "no channel" in body["message"]
    status, _, body = await raw("POST", "/_sandbox/guilds", {"name": ""}, base=base)
    assert status == 400


async def test_create_guild_checks_its_specs_and_builds_all_or_nothing(
    sandbox: DiscordSandbox,
) -> None:
    with pytest.raises(ValueError, match="available_tags"):
        sandbox.create_guild(
            "Broken",
            channels=[
                {"name": "fine", "type": 0},
                {"name": "forum", "type": 15, "available_tags": [{"name": "x" * 21}]},
            ],
        )
    with pytest.raises(ValueError, match="unknown role"):
        sandbox.create_guild("Broken", members=[{"id": ANA, "username": "ana", "roles": ["x"]}])
    with pytest.raises(ValueError, match="unknown category"):
        sandbox.create_guild("Broken", channels=[{"name": "c", "type": 0, "parent": "Nope"}])
    assert sandbox.context.state.guilds == {}
    owned = sandbox.create_guild("Owned", members=[{"id": ANA, "username": "ana", "owner": True}])
    assert sandbox.context.state.guilds[owned["id"]].owner_id == ANA
    assert owned["channels"] == {} and owned["members"] == [ANA]


def test_thread_mode_serves_blocking_callers() -> None:
    with DiscordSandbox().start_in_thread() as sandbox:
        created = sandbox.create_guild("Threaded", channels=[{"name": "general", "type": 0}])
        request = urllib.request.Request(  # noqa: S310 - a local URL
            f"{sandbox.api_base_url}/guilds/{created['id']}/channels",
            headers={"Authorization": f"Bot {sandbox.bot_token}"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            assert [c["name"] for c in json.loads(response.read())] == ["general"]
        assert sandbox.channels(created["id"])[0]["name"] == "general"
        base = sandbox.base_url
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{base}/api/v10/gateway", timeout=2)  # noqa: S310


async def test_thread_mode_async_methods_run_on_the_sandbox_loop() -> None:
    sandbox = DiscordSandbox().start_in_thread()
    try:
        created = sandbox.create_guild(
            "Threaded",
            channels=[{"name": "general", "type": 0}],
            members=[{"id": ANA, "username": "ana"}],
        )
        posted = await sandbox.post_message(
            created["channels"]["general"], ANA, "from another loop"
        )
        assert sandbox.channel_messages(created["channels"]["general"])[0]["id"] == posted["id"]
        with pytest.raises(ValueError):
            await sandbox.post_message(created["channels"]["general"], ANA, "")
    finally:
        sandbox.stop()


async def test_serve_prints_where_it_listens(capsys: pytest.CaptureFixture[str]) -> None:
    demo = {"name": "Demo", "channels": [{"name": "general", "type": 0}]}
    task = asyncio.create_task(serve("127.0.0.1", 0, guilds=[demo]))
    loop = asyncio.get_running_loop()
    end = loop.time() + 5
    printed = ""
    try:
        while "bot token" not in printed:
            assert not task.done() and loop.time() < end, printed
            await asyncio.sleep(0.01)
            printed += capsys.readouterr().out
        found = re.search(r"listening on (http://\S+)", printed)
        assert found is not None
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{found.group(1)}/_sandbox/info") as response,
        ):
            info = await response.json()
        assert list(info["guilds"]) == ["Demo"] and info["gateway_url"] in printed
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def test_gateway_bot_recommends_a_shard_per_thousand_guilds() -> None:
    from sandboxes.discord.routes_users import recommended_shards

    assert [recommended_shards(n) for n in (0, 1, 1000, 1001, 2500)] == [1, 1, 1, 2, 3]
