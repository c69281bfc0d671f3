"""GET /readyz: whether this process can work now (its database, Discord, GitHub)."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)

PATH = "/readyz"
# A probe must answer even when a check hangs: a check that takes longer fails.
CHECK_TIMEOUT_SECONDS = 5.0
# How long a remote check's answer is reused: a probe every few seconds must not become a
# request every few seconds.
CACHE_SECONDS = 30.0
OK, UNAVAILABLE = "ok", "unavailable"

ReadinessCheck = Callable[[], bool | Awaitable[bool]]


class CachedCheck:
    """A check answered from its last result for `max_age` seconds, run once at a time."""

    def __init__(
        self,
        check: ReadinessCheck,
        *,
        max_age: float = CACHE_SECONDS,
        timeout: float = CHECK_TIMEOUT_SECONDS - 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._check = check
        self._max_age = max_age
        self._timeout = timeout
        self._clock = clock
        self._lock = asyncio.Lock()
        self._result = False
        self._error: Exception | None = None
        self._at: float | None = None

    def _fresh(self) -> bool:
        return self._at is not None and self._clock() - self._at < self._max_age

    async def __call__(self) -> bool:
        """Return the cached answer (or raise the cached error), else run the check."""
        if not self._fresh():
            async with self._lock:
                if not self._fresh():  # another probe may have run it while this one waited
                    await self._refresh()
        if self._error is not None:
            raise self._error
        return self._result

    async def _refresh(self) -> None:
        self._result, self._error = False, None
        try:
            async with asyncio.timeout(self._timeout):
                self._result = await _answer(self._check)
        except Exception as error:  # a hang too: kept, so the next probes do not pile up
            self._error = error
        self._at = self._clock()


class Readiness:
    """The checks behind /readyz, the database's first; logs when one starts or stops failing."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], checks: Mapping[str, ReadinessCheck]
    ) -> None:
        self._checks: dict[str, ReadinessCheck] = {"database": _database(sessions), **checks}
        self._failing: set[str] = set()

    async def run(self) -> dict[str, bool]:
        """Run every check at once; return whether each passed."""
        names = list(self._checks)
        results = await asyncio.gather(*(self._passes(name) for name in names))
        return dict(zip(names, results, strict=True))

    async def _passes(self, name: str) -> bool:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
                passed = await _answer(self._checks[name])
        except Exception as error:
            # First line only: the driver's reason (host, port, refusal), never a full URL.
            reason = str(error).partition("\n")[0][:200]
            self._note(name, False, f"{type(error).__name__}: {reason}")
            return False
        self._note(name, passed, "")
        return passed

    def _note(self, name: str, passed: bool, reason: str) -> None:
        """Log a check's change of state, not every probe's answer."""
        if passed and name in self._failing:
            self._failing.discard(name)
            log.info("readiness: %s is back", name)
        elif not passed and name not in self._failing:
            self._failing.add(name)
            log.warning("readiness: %s is unavailable%s", name, f": {reason}" if reason else "")


def _database(sessions: async_sessionmaker[AsyncSession]) -> ReadinessCheck:
    async def answers() -> bool:
        async with sessions() as session:
            await session.execute(text("SELECT 1"))
        return True

    return answers


async def _answer(check: ReadinessCheck) -> bool:
    """Run a check that may or may not be a coroutine function."""
    result = check()
    if inspect.isawaitable(result):
        result = await result
    return bool(result)


READINESS: web.AppKey[Readiness] = web.AppKey("readiness", Readiness)


def add_routes(
    app: web.Application,
    sessions: async_sessionmaker[AsyncSession],
    checks: Mapping[str, ReadinessCheck] | None = None,
) -> None:
    """Serve GET /readyz over the database and the given checks."""
    app[READINESS] = Readiness(sessions, checks or {})
    app.router.add_get(PATH, readyz)


async def readyz(request: web.Request) -> web.Response:
    """Answer 200 when every check passes, else 503 naming the ones that failed."""
    results = await request.app[READINESS].run()
    failing = [name for name, passed in results.items() if not passed]
    body = {
        "status": UNAVAILABLE if failing else OK,
        "checks": {name: OK if passed else UNAVAILABLE for name, passed in results.items()},
        "failing": failing,
    }
    return web.json_response(
        body, status=503 if failing else 200, headers={"Cache-Control": "no-store"}
    )
