"""Privileged intents: a client asking for one the application lacks gets 4014."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import discord
import pytest

from bot.discord.client import bot_intents
from sandboxes.discord import DiscordSandbox
from sandboxes.discord.gateway import MESSAGE_CONTENT
from tests.sandboxes.discord.conftest import RecordingBot, running


async def _identify(sandbox: DiscordSandbox, intents: int) -> tuple[int | None, dict[str, Any]]:
    """IDENTIFY with `intents`; return the close code (None if open) and the first frame."""
    async with aiohttp.ClientSession() as session, session.ws_connect(sandbox.gateway_url) as ws:
        await ws.receive(timeout=5)
        await ws.send_json({"op": 2, "d": {"token": sandbox.bot_token, "intents": intents}})
        frame = await ws.receive(timeout=5)
        if frame.type is aiohttp.WSMsgType.CLOSE:
            return ws.close_code, {}
        return None, json.loads(frame.data)


async def test_privileged_intents_the_application_lacks_close_the_gateway_with_4014() -> None:
    # An application with only message content enabled: lessonbot's own intents connect.
    async with DiscordSandbox(privileged_intents=MESSAGE_CONTENT) as sandbox:
        code, ready = await _identify(sandbox, bot_intents().value)
        assert code is None and ready["t"] == "READY"
        for privileged in (discord.Intents(members=True), discord.Intents(presences=True)):
            assert (await _identify(sandbox, privileged.value))[0] == 4014
    async with DiscordSandbox(privileged_intents=0) as sandbox:
        assert (await _identify(sandbox, bot_intents().value))[0] == 4014
        assert (await _identify(sandbox, discord.Intents.default().value))[0] is None


async def test_discord_py_reports_the_missing_privileged_intent(
    sandbox: DiscordSandbox, guild: dict[str, Any], point_discord: None
) -> None:
    # By default the sandbox enables message content and members, not presences.
    with pytest.raises(discord.PrivilegedIntentsRequired):
        async with running(RecordingBot(intents=discord.Intents.all()), sandbox):
            pass
