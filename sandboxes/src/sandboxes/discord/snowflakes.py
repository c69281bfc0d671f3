"""Discord snowflake ids: time-ordered 64-bit integers sent as strings."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

DISCORD_EPOCH_MS = 1_420_070_400_000
WORKER_ID = 1
PROCESS_ID = 0


class SnowflakeGenerator:
    """Hand out unique, increasing snowflakes built from the current time."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> int:
        """Return a new snowflake, later than every one returned before."""
        with self._lock:
            now_ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
            candidate = (now_ms << 22) | (WORKER_ID << 17) | (PROCESS_ID << 12)
            # Many ids in one millisecond: count up the low bits so order and uniqueness hold.
            self._last = max(candidate, self._last + 1)
            return self._last

    def reserve(self, snowflake: int) -> None:
        """Keep a snowflake given from outside (a seeded user's) out of every later id."""
        with self._lock:
            self._last = max(self._last, snowflake)


def snowflake_time(snowflake: int) -> datetime:
    """Return when a snowflake was made."""
    return datetime.fromtimestamp(((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000, tz=UTC)


def parse_snowflake(value: Any) -> int | None:
    """Return an id given as a string or an integer, or None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def to_str(snowflake: int | None) -> str | None:
    """Render an id as Discord does: a string, or None."""
    return None if snowflake is None else str(snowflake)
