"""Injected failures on chosen routes: rate limits (429) and server errors (500)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sandboxes.faults import FaultQueue, RouteFault

# "hang" performs the request and then holds the answer back (HANG_SECONDS): the client
# is stuck right after its write, where a test kills it to prove nothing is written twice.
MODES = ("rate_limit", "server_error", "hang")
# Earlier spellings still accepted, shown under the documented name.
ALIASES = {"ratelimit": "rate_limit"}
HANG_SECONDS = 60.0


@dataclass
class Fault(RouteFault):
    """Fail the next `count` matching Discord requests: a 429, a 500, or an answer held
    back."""

    MODES: ClassVar[tuple[str, ...]] = MODES
    EXAMPLE: ClassVar[str] = "POST /api/v10/channels/*/messages"

    retry_after: float = 0.5

    def __post_init__(self) -> None:
        self.mode = ALIASES.get(self.mode, self.mode)
        super().__post_init__()
        if isinstance(self.retry_after, bool) or not isinstance(self.retry_after, (int, float)):
            raise ValueError("retry_after must be a number of seconds")
        if not 0 <= self.retry_after <= 60:
            raise ValueError("retry_after must be between 0 and 60 seconds")


class FaultList(FaultQueue[Fault]):
    """The Discord sandbox's pending faults."""

    def __init__(self) -> None:
        super().__init__(Fault)

    def add(  # type: ignore[override]
        self, match: str, mode: str, count: int = 1, retry_after: float = 0.5
    ) -> Fault:
        """Add a fault; raise ValueError when it is malformed."""
        return super().add(match=match, mode=mode, count=count, retry_after=retry_after)

    def take(self, method: str, path: str) -> Fault | None:
        """Consume one use of the first fault matching the request and return it."""
        return self.take_fault(method, path)
