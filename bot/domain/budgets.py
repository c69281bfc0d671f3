"""Budgets for external rate limits: the window math, with no I/O.

A budget allows at most `count` spends in any `seconds` long window, for each of its
windows, and spends at least `min_interval` apart. What was spent is a log of spend times
(epoch seconds); a budget may also be blocked until a time a service reported (a spent
primary limit, a Discord bucket at 0, a 429).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Window:
    """At most `count` spends in any `seconds` long window."""

    count: int
    seconds: float


@dataclass(frozen=True, slots=True)
class BudgetRule:
    """One external limit, shared by every process: its name, windows and description.

    `description` is what an operator reads in `lessonbot jobs list` ("waiting for
    {description} until ..."); `kind` is the metrics label (one per family of budgets, so
    Discord's many route buckets share one label).
    """

    name: str
    description: str
    windows: tuple[Window, ...] = ()
    min_interval: float = 0.0
    kind: str = ""

    @property
    def label(self) -> str:
        """Return the metrics label of this budget."""
        return self.kind or self.name

    @property
    def horizon(self) -> float:
        """Return how far back spends still matter (older ones can be pruned)."""
        return max([self.min_interval, *(window.seconds for window in self.windows)], default=0.0)

    @property
    def depth(self) -> int:
        """Return how many of the latest spends the math needs."""
        needed = [window.count for window in self.windows]
        if self.min_interval > 0:
            needed.append(1)
        return max(needed, default=0)

    @property
    def counted(self) -> bool:
        """Tell whether spends are logged (a budget of windows), not only blocks."""
        return self.depth > 0


def budget_wait(
    rule: BudgetRule, spent: Sequence[float], now: float, blocked_until: float | None = None
) -> float:
    """Return how long a spend arriving at `now` must wait (0: go now).

    `spent` holds the spend times, newest first; only the first `rule.depth` matter.
    """
    waits = [0.0]
    if blocked_until is not None:
        waits.append(blocked_until - now)
    if spent and rule.min_interval > 0:
        waits.append(spent[0] + rule.min_interval - now)
    for window in rule.windows:
        if window.count < 1:
            continue
        if len(spent) >= window.count:
            # The count-th newest spend must have left the window before another goes.
            waits.append(spent[window.count - 1] + window.seconds - now)
    return max(waits)


def most_in_any_window(times: Sequence[float], seconds: float) -> int:
    """Return the most spends that fall in any `seconds` long half-open window."""
    ordered = sorted(times)
    most = 0
    start = 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= seconds:
            start += 1
        most = max(most, end - start + 1)
    return most


def github_content_writes(per_minute: int, per_hour: int, min_interval: float) -> BudgetRule:
    """Return GitHub's secondary limits on content-creating requests."""
    return BudgetRule(
        name="github.content_writes",
        description=f"GitHub's content-write budget ({per_minute} a minute, {per_hour} an hour)",
        windows=(Window(per_minute, 60.0), Window(per_hour, 3600.0)),
        min_interval=min_interval,
    )


# GitHub's primary limit (requests an hour) is never counted here: GitHub counts it and
# says what is left in each response's headers; a spent one blocks the budget until reset.
GITHUB_PRIMARY = BudgetRule(name="github.primary", description="GitHub's rate limit")


# A spend is recorded before its request reaches Discord (a new connection, a busy event
# loop come between), and Discord counts arrivals: a window this much longer than Discord's
# second keeps arrivals that drift apart from tipping one of its windows over.
DISCORD_WINDOW_SLACK = 0.1


def discord_global(per_second: int) -> BudgetRule:
    """Return Discord's global limit on a bot's requests."""
    return BudgetRule(
        name="discord.global",
        description=f"Discord's global rate limit ({per_second} requests a second)",
        windows=(Window(per_second, 1.0 + DISCORD_WINDOW_SLACK),),
    )


def discord_route(route: str) -> BudgetRule:
    """Return the budget of one Discord route (method, path and major parameters)."""
    return BudgetRule(
        name=f"discord.route:{route}"[:200],
        description=f"Discord's rate limit on {route}",
        kind="discord.route",
    )
