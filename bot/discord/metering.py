"""Count every HTTP request discord.py sends, and the rate-limit waits it sits out."""

from __future__ import annotations

from types import SimpleNamespace

import aiohttp

from bot.services.metrics import NETWORK_ERROR, outcome_of_status
from bot.services.ports import RequestMeter

# Discord's 429s say how long to wait; without a number discord.py still waits about this.
DEFAULT_RETRY_AFTER = 1.0


def request_trace(meter: RequestMeter) -> aiohttp.TraceConfig:
    """Return a trace for discord.py's HTTP session that tells the meter of each request.

    discord.py waits out a 429 and retries inside its own request loop, with no hook of its
    own; the session's trace sees every attempt, the 429s among them.
    """
    trace = aiohttp.TraceConfig()

    async def on_end(
        _session: aiohttp.ClientSession,
        _context: SimpleNamespace,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        status = params.response.status
        meter.request(outcome_of_status(status))
        if status == 429:
            meter.waited("rate_limit", retry_after(params.response.headers.get("Retry-After")))

    async def on_exception(
        _session: aiohttp.ClientSession,
        _context: SimpleNamespace,
        _params: aiohttp.TraceRequestExceptionParams,
    ) -> None:
        meter.request(NETWORK_ERROR)

    trace.on_request_end.append(on_end)
    trace.on_request_exception.append(on_exception)
    return trace


def retry_after(header: str | None) -> float:
    """Return the seconds a 429's Retry-After header asks for."""
    try:
        return max(0.0, float(header)) if header is not None else DEFAULT_RETRY_AFTER
    except ValueError:
        return DEFAULT_RETRY_AFTER
