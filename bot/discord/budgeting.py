"""Hold discord.py's requests to Discord's rate limits across every process of the bot.

discord.py keeps its own limiter, in one process. These hooks on its HTTP session's trace
add the shared budgets: before a request goes out (`on_request_start` may sleep, or raise
to defer a job), one transaction spends a unit of the global limit and checks the route's
bucket; after it (`on_request_end`) a bucket Discord reports empty, or a 429, blocks that
bucket (or the global limit) for every process until its reset.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from types import SimpleNamespace
from urllib.parse import urlsplit

import aiohttp

from bot.discord.metering import retry_after
from bot.domain.budgets import BudgetRule, discord_global, discord_route
from bot.services.ports import BudgetPort, RequestMeter

log = logging.getLogger(__name__)

# Parameters that make a route a bucket of its own on Discord (discord.py's `Route`).
MAJOR_PARAMETERS = frozenset({"channels", "guilds"})
# Interaction callbacks and follow-ups (whose URL holds the interaction's token) are not
# bound to the global limit, and their token must never be stored.
EXEMPT = re.compile(r"^/(interactions|webhooks)/")


def route_key(method: str, path: str) -> str:
    """Return a request's route: its method and path, ids other than the major one erased."""
    kept: list[str] = []
    previous = ""
    for segment in path.strip("/").split("/"):
        if previous == "reactions":
            kept.append("{emoji}")
        elif segment.isdigit() and previous not in MAJOR_PARAMETERS:
            kept.append("{id}")
        else:
            kept.append(segment)
        previous = segment
    return f"{method.upper()} /{'/'.join(kept)}"


class DiscordBudgetHooks:
    """The trace callbacks that spend and block Discord's shared budgets."""

    def __init__(
        self,
        budgets: BudgetPort,
        api_base_url: str,
        *,
        per_second: int = 50,
        meter: RequestMeter | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._budgets = budgets
        self._base = api_base_url.rstrip("/")
        self._base_path = urlsplit(self._base).path
        self.global_rule = discord_global(per_second)
        self._meter = meter
        self._clock = clock

    def add_to(self, trace: aiohttp.TraceConfig) -> aiohttp.TraceConfig:
        """Hook the callbacks into a trace (the one discord.py's session is built with)."""
        trace.on_request_start.append(self._on_start)
        trace.on_request_end.append(self._on_end)
        return trace

    def route_of(self, method: str, url: str) -> BudgetRule | None:
        """Return the route budget of a request, or None when no budget applies to it."""
        if not url.startswith(f"{self._base}/"):
            return None  # the gateway's websocket, or a CDN
        path = urlsplit(url).path[len(self._base_path) :]
        if EXEMPT.match(path):
            return None
        return discord_route(route_key(method, path))

    async def _on_start(
        self,
        _session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        route = self.route_of(params.method, str(params.url))
        context.lessonbot_route = route
        if route is None:
            return
        waited = await self._budgets.spend(self.global_rule, (route,))
        if waited > 0 and self._meter is not None:
            self._meter.waited("pacing", waited, self.global_rule.label)

    async def _on_end(
        self,
        _session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        route: BudgetRule | None = getattr(context, "lessonbot_route", None)
        if route is None:
            return
        response = params.response
        headers = response.headers
        now = self._clock()
        if response.status == 429:
            wait = retry_after(headers.get("Retry-After"))
            is_global = headers.get("X-RateLimit-Global", "").lower() == "true"
            if is_global or headers.get("X-RateLimit-Scope") == "global":
                await self._budgets.block(self.global_rule, now + wait)
            else:
                await self._budgets.block(route, now + wait)
            return
        if headers.get("X-RateLimit-Remaining") == "0":
            try:
                reset_after = float(headers.get("X-RateLimit-Reset-After", ""))
            except ValueError:
                return
            await self._budgets.block(route, now + reset_after)
