"""The gateway with the real discord.py client: READY, GUILD_CREATE, RESUME, intents."""

from __future__ import annotations

import json
import zlib
from typing import Any

import aiohttp
import discord
import pytest

from sandboxes.discord import DiscordSandbox
from tests.sandboxes.discord.conftest import ANA, BEN, RecordingBot, eventually, running


async def test_on_ready_sees_guilds_channels_members_and_roles(
    sandbox: DiscordSandbox, guild: dict[str, Any], bot: RecordingBot
) -> None:
    assert bot.user is not None and bot.user.id == sandbox.bot_user_id
    assert bot.application_id == sandbox.application_id
    server = bot.get_guild(guild["id"])
    assert server is not None and server.name == "Lessons"
    assert {c.name for c in server.channels} == {"Programs", "general", "data-basics"}
    forum = server.get_channel(guild["channels"]["data-basics"])
    assert isinstance(forum, discord.ForumChannel)
    assert forum.category is not None and forum.category.name == "Programs"
    assert [t.name for t in forum.available_tags] == ["lesson", "es", "question"]
    assert isinstance(server.get_channel(guild["channels"]["general"]), discord.TextChannel)
    # Every member arrived in GUILD_CREATE, so the guild counts as chunked and on_ready fired.
    assert {m.id for m in server.members} == {sandbox.bot_user_id, ANA, BEN}
    assert server.member_count == 3 and server.chunked
    ben = server.get_member(BEN)
    assert ben is not None and [r.name for r in ben.roles] == ["@everyone", "maintainers"]
    assert server.me.guild_permissions.administrator and server.owner_id == sandbox.bot_user_id
    assert ben.guild_permissions.manage_messages and not ben.guild_permissions.administrator
    ana = server.get_member(ANA)
    assert ana is not None and not ana.guild_permissions.manage_messages
    assert [s["identifies"] for s in sandbox.sessions] == [1]
    assert sandbox.requests[:2] == [
        {"method": "GET", "path": "/api/v10/users/@me", "status": 200},
        {"method": "GET", "path": "/api/v10/oauth2/applications/@me", "status": 200},
    ]


async def test_guild_created_while_connected_reaches_the_bot(
    sandbox: DiscordSandbox, bot: RecordingBot
) -> None:
    mark = bot.mark()
    created = sandbox.create_guild("Second", channels=[{"name": "chat", "type": 0}])
    (joined,) = await bot.expect("guild_join", after=mark)
    assert joined.id == created["id"]
    assert joined.get_channel(created["channels"]["chat"]).name == "chat"


async def test_dropped_connection_is_resumed_and_missed_events_replayed(
    sandbox: DiscordSandbox, guild: dict[str, Any], bot: RecordingBot
) -> None:
    general = guild["channels"]["general"]
    mark = bot.mark()
    assert await sandbox.drop_gateway() == 1
    # Sent while the bot is away: kept in the session and replayed after RESUME.
    await sandbox.post_message(general, ANA, "while you were away")
    (message,) = await bot.expect("message", after=mark)
    assert message.content == "while you were away"
    await bot.expect("resumed", after=mark)
    assert not bot.events("ready", mark)
    (session,) = sandbox.sessions
    assert session["resumes"] == 1 and session["connected"]
    assert sandbox.gateway_counts["identify"] == 1
    assert sandbox.gateway_counts["resume"] == 1
    # The resumed session keeps working both ways.
    sent = await bot.get_channel(general).send("back")
    assert sandbox.channel_messages(general)[-1]["id"] == str(sent.id)


async def test_cut_tcp_connection_is_resumed_too(
    sandbox: DiscordSandbox, guild: dict[str, Any], bot: RecordingBot
) -> None:
    mark = bot.mark()
    await sandbox.drop_gateway(code=None)
    await sandbox.post_message(guild["channels"]["general"], BEN, "after the cut")
    (message,) = await bot.expect("message", after=mark)
    assert message.content == "after the cut"
    assert sandbox.gateway_counts["resume"] == 1 and sandbox.gateway_counts["identify"] == 1


async def test_without_message_content_intent_content_is_withheld(
    sandbox: DiscordSandbox, guild: dict[str, Any], point_discord: None
) -> None:
    general = guild["channels"]["general"]
    async with running(RecordingBot(intents=discord.Intents.default()), sandbox) as bot:
        mark = bot.mark()
        await sandbox.post_message(general, ANA, "secret words")
        await sandbox.post_message(general, ANA, f"<@{sandbox.bot_user_id}> hello")
        (second,) = await bot.expect("message", lambda m: "hello" in m.content, after=mark)
        (first,) = bot.events("message", mark)[0]
        assert (
            first.author.id == ANA and first.content == ""
        )  # as on Discord without the privileged intent
        assert second.content.endswith("hello")  # mentioning the bot shows the content
        server = bot.get_guild(guild["id"])
        # Without the members intent only the bot's own member comes in GUILD_CREATE.
        assert [m.id for m in server.members] == [sandbox.bot_user_id]
        assert server.member_count == 3


async def test_closed_bot_disconnects_and_stops_receiving(
    sandbox: DiscordSandbox, guild: dict[str, Any], point_discord: None
) -> None:
    async with running(RecordingBot(), sandbox) as bot:
        assert sandbox.sessions[0]["connected"] is True
    await eventually(lambda: not sandbox.sessions[0]["connected"])
    mark = bot.mark()
    await sandbox.post_message(guild["channels"]["general"], ANA, "nobody listens")
    assert not bot.events("message", mark)


async def _frames(ws: aiohttp.ClientWebSocketResponse, count: int) -> list[dict[str, Any]]:
    """Read `count` JSON frames."""
    return [json.loads((await ws.receive(timeout=5)).data) for _ in range(count)]


async def test_raw_protocol_hello_heartbeat_identify_resume(
    sandbox: DiscordSandbox, guild: dict[str, Any]
) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{sandbox.gateway_url}?v=10&encoding=json") as ws:
            (hello,) = await _frames(ws, 1)
            assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] == 41250
            await ws.send_json({"op": 1, "d": None})
            assert (await _frames(ws, 1))[0]["op"] == 11
            identify = {"token": sandbox.bot_token, "intents": 513, "properties": {}}
            await ws.send_json({"op": 2, "d": identify})
            ready, created = await _frames(ws, 2)
            assert (ready["t"], ready["s"], created["t"], created["s"]) == (
                "READY",
                1,
                "GUILD_CREATE",
                2,
            )
            assert ready["d"]["guilds"] == [{"id": str(guild["id"]), "unavailable": True}]
            assert ready["d"]["resume_gateway_url"] == sandbox.gateway_url
            assert created["d"]["member_count"] == 3
            session_id = ready["d"]["session_id"]
            await ws.send_json(
                {"op": 8, "d": {"guild_id": str(guild["id"]), "query": "a", "limit": 0}}
            )
            (chunk,) = await _frames(ws, 1)
            assert chunk["t"] == "GUILD_MEMBERS_CHUNK"
            assert [m["user"]["username"] for m in chunk["d"]["members"]] == ["ana"]
            await ws.close(code=4000)  # not a clean close: the session stays resumable
        async with session.ws_connect(sandbox.gateway_url) as ws:
            await _frames(ws, 1)
            resume = {"token": sandbox.bot_token, "session_id": session_id, "seq": 2}
            await ws.send_json({"op": 6, "d": resume})
            (replayed, resumed) = await _frames(ws, 2)
            assert (replayed["t"], replayed["s"]) == ("GUILD_MEMBERS_CHUNK", 3)
            assert (resumed["t"], resumed["s"]) == ("RESUMED", 4)
            # A clean close (1000) ends the session: it can no longer be resumed.
            await ws.close(code=1000)
        await eventually(lambda: sandbox.sessions[0]["ended"])
        for stale in (session_id, "unknown"):
            async with session.ws_connect(sandbox.gateway_url) as ws:
                await _frames(ws, 1)
                resume = {"token": sandbox.bot_token, "session_id": stale, "seq": 4}
                await ws.send_json({"op": 6, "d": resume})
                assert (await _frames(ws, 1))[0] == {"op": 9, "d": False, "s": None, "t": None}


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"op": 2, "d": {"token": "wrong", "intents": 0, "properties": {}}}, 4004),
        ({"op": 8, "d": {"guild_id": "1"}}, 4003),
        ({"op": 99, "d": None}, 4003),
    ],
)
async def test_raw_protocol_errors_close_with_gateway_codes(
    sandbox: DiscordSandbox, frame: dict[str, Any], code: int
) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(sandbox.gateway_url) as ws:
        await _frames(ws, 1)
        await ws.send_json(frame)
        closing = await ws.receive(timeout=5)
        assert closing.type is aiohttp.WSMsgType.CLOSE
        assert ws.close_code == code


async def test_wrong_token_fails_login(sandbox: DiscordSandbox, point_discord: None) -> None:
    bot = RecordingBot()
    with pytest.raises(discord.LoginFailure):
        await bot.login("not-the-token")
    await bot.close()


def _identify(sandbox: DiscordSandbox, **extra: Any) -> dict[str, Any]:
    """Return an IDENTIFY frame for the sandbox's bot."""
    return {
        "op": 2,
        "d": {"token": sandbox.bot_token, "intents": 513, "properties": {}, **extra},
    }


async def test_json_in_binary_frames_is_accepted(
    sandbox: DiscordSandbox, guild: dict[str, Any]
) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(sandbox.gateway_url) as ws:
        await _frames(ws, 1)
        await ws.send_bytes(json.dumps({"op": 1, "d": None}).encode())
        assert (await _frames(ws, 1))[0]["op"] == 11
        # A zlib-compressed JSON payload in a binary frame is read too.
        await ws.send_bytes(zlib.compress(json.dumps(_identify(sandbox)).encode()))
        ready, created = await _frames(ws, 2)
        assert (ready["t"], created["t"]) == ("READY", "GUILD_CREATE")
        await ws.send_bytes(b"\xff\xfe not json")
        assert (await ws.receive(timeout=5)).type is aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 4002


async def test_zlib_stream_sends_binary_frames_from_one_context(
    sandbox: DiscordSandbox, guild: dict[str, Any]
) -> None:
    url = f"{sandbox.gateway_url}?v=10&encoding=json&compress=zlib-stream"
    inflate = zlib.decompressobj()

    async def frame() -> dict[str, Any]:
        message = await ws.receive(timeout=5)
        assert message.type is aiohttp.WSMsgType.BINARY
        assert message.data.endswith(b"\x00\x00\xff\xff")
        return json.loads(inflate.decompress(message.data))

    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        hello = await frame()
        assert hello["op"] == 10
        await ws.send_json(_identify(sandbox))
        ready, created = await frame(), await frame()
        assert (ready["t"], created["t"]) == ("READY", "GUILD_CREATE")
        await ws.send_json({"op": 1, "d": 2})
        assert (await frame())["op"] == 11
    # A fresh inflater cannot read the second payload: the context spans the connection.
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.receive(timeout=5)
        await ws.send_json({"op": 1, "d": None})
        second = (await ws.receive(timeout=5)).data
        with pytest.raises(zlib.error):
            json.loads(zlib.decompressobj().decompress(second))


async def test_identify_compress_sends_dispatches_zlib_compressed(
    sandbox: DiscordSandbox, guild: dict[str, Any]
) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(sandbox.gateway_url) as ws:
        await _frames(ws, 1)
        await ws.send_json(_identify(sandbox, compress=True))
        ready = await ws.receive(timeout=5)
        assert ready.type is aiohttp.WSMsgType.BINARY
        assert json.loads(zlib.decompress(ready.data))["t"] == "READY"
        await ws.receive(timeout=5)  # GUILD_CREATE
        # Only dispatches are compressed; the heartbeat ACK stays a text frame.
        await ws.send_json({"op": 1, "d": 2})
        assert (await _frames(ws, 1))[0]["op"] == 11


@pytest.mark.parametrize(
    "query", ["encoding=etf", "encoding=xml", "compress=zstd-stream", "compress=gzip"]
)
async def test_unsupported_encoding_or_compression_is_refused(
    sandbox: DiscordSandbox, query: str
) -> None:
    url = f"{sandbox.gateway_url}?v=10&{query}"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        closing = await ws.receive(timeout=5)
        assert closing.type is aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 4002
