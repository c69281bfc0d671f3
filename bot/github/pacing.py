"""Pace content-creating requests under GitHub's secondary rate limits.

With a shared budget (the running bot's), the pacer asks it, so every process on the
database counts against one budget; without one (a test, a benchmark) it paces this
process alone, in memory.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.domain.budgets import GITHUB_PRIMARY, BudgetRule, github_content_writes
from bot.services.ports import BudgetPort


@dataclass(frozen=True, slots=True)
class WriteLimits:
    """GitHub's documented secondary limits for content-creating requests."""

    per_minute: int = 80
    per_hour: int = 500
    # GitHub asks for about a second between writes; the sandbox runs with 0.
    min_interval: float = 1.0


class WritePacer:
    """A queue every content-creating request waits in, so callers never sleep themselves.

    Writes go out in arrival order (an asyncio.Lock is FIFO), at most `per_minute` in any
    60 seconds and `per_hour` in any hour, and `min_interval` apart: across every process
    when `budgets` is given, else in this one.
    """

    def __init__(
        self,
        limits: WriteLimits | None = None,
        *,
        budgets: BudgetPort | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.limits = limits or WriteLimits()
        self.budgets = budgets
        self.rule: BudgetRule = github_content_writes(
            self.limits.per_minute, self.limits.per_hour, self.limits.min_interval
        )
        self._clock = clock
        self._sleep = sleep
        self._lock = asyncio.Lock()
        # Send times of the last `per_hour` writes: enough to answer both windows.
        self._sent: deque[float] = deque(maxlen=max(self.limits.per_hour, self.limits.per_minute))
        self.waited = 0.0  # total seconds spent waiting, for metrics and benchmarks

    def delay(self, now: float) -> float:
        """Return how long a write arriving at `now` must wait."""
        limits = self.limits
        waits = [0.0]
        if self._sent:
            waits.append(self._sent[-1] + limits.min_interval - now)
        if len(self._sent) >= limits.per_minute:
            waits.append(self._sent[-limits.per_minute] + 60.0 - now)
        if len(self._sent) >= limits.per_hour:
            waits.append(self._sent[-limits.per_hour] + 3600.0 - now)
        return max(waits)

    async def acquire(self) -> float:
        """Wait for this write's turn, record it as sent, and return the seconds it waited."""
        if self.budgets is not None:
            # GitHub's primary limit gates writes too: one transaction asks both.
            shared = await self.budgets.spend(self.rule, (GITHUB_PRIMARY,))
            self.waited += shared
            return shared
        waited = 0.0
        async with self._lock:
            while (wait := self.delay(self._clock())) > 0:
                self.waited += wait
                waited += wait
                await self._sleep(wait)
            self._sent.append(self._clock())
        return waited
