"""Discord's ids (snowflakes) carry the time they were made: the bounds of a history read."""

from __future__ import annotations

from datetime import UTC, datetime

# Discord's epoch, the first second of 2015, in milliseconds since the Unix epoch.
DISCORD_EPOCH_MS = 1_420_070_400_000


def snowflake_at(when: datetime) -> int:
    """Return the smallest id Discord could give anything made at `when` (0 before 2015)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    milliseconds = int(when.timestamp() * 1000) - DISCORD_EPOCH_MS
    return max(milliseconds, 0) << 22
