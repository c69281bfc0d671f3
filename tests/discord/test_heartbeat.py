"""Heartbeats against a gateway that answers at once: the latency discord.py reports is real.

The sandbox acknowledges a heartbeat as soon as it reads it, as Discord does, only with no
network in between. discord.py 2.7's keep-alive thread stamped a beat as sent only after
the send finished, so an ACK that came back first was measured from the beat before:
"Can't keep up, shard ID None websocket is 41.3s behind" one interval after connecting.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator

import pytest

from sandboxes.discord import DiscordSandbox
from tests.discord.support import BOT_TOKEN, make_bot, make_settings

# Short, so one test sees many beats; the default is Discord's 41,250 ms.
INTERVAL_MS = 200
BEATS = 15
READY_TIMEOUT = 15.0


@pytest.fixture
async def sandbox() -> AsyncIterator[DiscordSandbox]:
    """Yield a Discord sandbox that asks for a heartbeat every INTERVAL_MS."""
    async with DiscordSandbox(bot_token=BOT_TOKEN, heartbeat_interval=INTERVAL_MS) as running:
        running.create_guild("Lessons", channels=[{"name": "general", "type": 0}])
        yield running


async def test_heartbeat_latency_is_measured_from_the_beat_it_answers(
    sandbox: DiscordSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="discord.gateway")
    settings = make_settings(sandbox.api_base_url, sandbox.gateway_url)
    bot = await make_bot(settings, guild_ready_timeout=0.1)
    task = asyncio.create_task(bot.start(BOT_TOKEN))
    seen: list[float] = []
    try:
        # A task started after the bot's: by the time it runs, the bot has begun logging in.
        ready = asyncio.create_task(bot.wait_until_ready())
        done, _ = await asyncio.wait(
            {task, ready}, timeout=READY_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
        assert ready in done, "the bot was not ready"
        # Read the latency discord.py reports after each ACK (it holds until the next).
        async with asyncio.timeout(READY_TIMEOUT + BEATS * INTERVAL_MS / 1000):
            while len(seen) < BEATS:
                latency = bot.latency
                if math.isfinite(latency) and (not seen or latency != seen[-1]):
                    seen.append(latency)
                await asyncio.sleep(INTERVAL_MS / 1000 / 10)
    finally:
        await bot.close()
        await asyncio.wait_for(task, READY_TIMEOUT)

    # An ACK measured from the beat before reads a whole interval or more; a real one, on
    # loopback, a fraction of it.
    assert max(seen) < INTERVAL_MS / 1000, seen
    assert "Can't keep up" not in caplog.text
