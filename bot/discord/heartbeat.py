"""Measure gateway latency from the heartbeat an ACK answers, even when the ACK is quick.

discord.py 2.7's keep-alive thread stamps a heartbeat as sent (`_last_send`) only once the
event loop has finished sending it. A gateway that answers before that thread wakes up
again (the local sandbox always can, with no network in between; a proxy next to the bot
too) has its ACK measured from the beat before: a whole interval, which logs "Can't keep
up, shard ID None websocket is 41.3s behind" with no load at all. Fixed upstream by
stamping on the event loop just before sending (Rapptz/discord.py#10448, commit f9c66a6 on
master after 2.7.1, in no release yet); until then the bot installs a keep-alive that
does the same. Under a release with the fix it only stamps the beat twice, harmlessly.

Remove this module and its call in `create_bot` once pyproject requires a discord.py
release with that fix (expected 2.8.0). To check a release: `git tag --contains f9c66a6`
in discord.py names it, its `KeepAliveHandler.run` no longer sets `_last_send` after the
send, and tests/discord/test_heartbeat.py passes with `stamp_heartbeats_before_sending()`
taken out of `create_bot`.
"""

from __future__ import annotations

import time
from typing import Any

import discord.gateway


class StampedKeepAlive(discord.gateway.KeepAliveHandler):
    """discord.py's keep-alive thread, stamping each beat as sent before it goes out."""

    def get_payload(self) -> dict[str, Any]:
        """Return the heartbeat, stamped now: its ACK can only come after this."""
        # Every beat is built here just before it is sent: on HELLO, on the thread's
        # schedule and (through beat()) when the gateway asks for one.
        self._last_send = time.perf_counter()
        return super().get_payload()


def stamp_heartbeats_before_sending() -> None:
    """Make discord.py's gateway use StampedKeepAlive for every new connection.

    Process-wide, like the endpoints: discord.py builds the handler from its module on each
    HELLO. Harmless to repeat, and a release with the fix only makes it redundant.
    """
    gateway: Any = discord.gateway
    if gateway.KeepAliveHandler is not StampedKeepAlive:
        gateway.KeepAliveHandler = StampedKeepAlive
