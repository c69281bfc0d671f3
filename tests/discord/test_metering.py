"""discord.py's HTTP session tells the meter of each request's outcome and each 429's wait."""

from __future__ import annotations

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.discord.metering import DEFAULT_RETRY_AFTER, request_trace, retry_after
from bot.services.metrics import RequestTally


async def test_each_answer_and_each_failure_is_counted() -> None:
    async def answer(request: web.Request) -> web.Response:
        status = int(request.match_info["status"])
        headers = {"Retry-After": request.query["after"]} if "after" in request.query else {}
        return web.json_response({}, status=status, headers=headers)

    app = web.Application()
    app.router.add_get("/{status}", answer)
    meter = RequestTally()
    async with TestServer(app) as server:
        async with aiohttp.ClientSession(trace_configs=[request_trace(meter)]) as http:
            for path in ("/200", "/204", "/404", "/429?after=2.5", "/429", "/502"):
                async with http.get(server.make_url(path)) as response:
                    await response.read()
        gone = f"http://127.0.0.1:{server.port}/200"
    async with aiohttp.ClientSession(trace_configs=[request_trace(meter)]) as http:
        try:
            async with http.get(gone):
                pass
        except aiohttp.ClientConnectionError:
            pass

    assert meter.requests == {
        "ok": 2,
        "client_error": 1,
        "rate_limited": 2,
        "server_error": 1,
        "network_error": 1,
    }
    assert meter.waits == {"rate_limit": 2}
    assert meter.wait_seconds["rate_limit"] == 2.5 + DEFAULT_RETRY_AFTER


def test_retry_after_reads_seconds_and_falls_back() -> None:
    assert retry_after("3") == 3.0
    assert retry_after("0.25") == 0.25
    assert retry_after("-1") == 0.0
    assert retry_after("soon") == DEFAULT_RETRY_AFTER
    assert retry_after(None) == DEFAULT_RETRY_AFTER
