"""Ride out a database that is briefly unreachable: a restart, a failover, a dropped link."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

log = logging.getLogger(__name__)
T = TypeVar("T")
# Waits between attempts (seconds): together longer than a PostgreSQL restart takes.
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)


def database_unreachable(error: BaseException) -> bool:
    """Tell whether an error says the database could not be reached (trying again may work)."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, OperationalError | InterfaceError)


async def while_unreachable(
    call: Callable[[], Awaitable[T]],
    what: str,
    *,
    delays: Sequence[float] = RETRY_DELAYS,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Run `call`, again after each wait while the database is unreachable; `call` must be
    safe to repeat (an event that is recorded once however often it is handed over)."""
    for delay in delays:
        try:
            return await call()
        except Exception as error:
            if not database_unreachable(error):
                raise
            log.warning("%s: the database is unreachable; trying again in %.1fs", what, delay)
        await sleep(delay)
    return await call()
