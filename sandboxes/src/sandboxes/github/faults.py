"""Injected failures: lost responses, bad gateways, rate limits and hangs on chosen routes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sandboxes.faults import FaultQueue, RouteFault

# "hang" applies the change and then holds the answer back (HANG_SECONDS): the client is
# stuck right after its write, where a test kills it to prove nothing is written twice.
MODES = ("before", "after", "secondary", "primary", "hang")
HANG_SECONDS = 60.0


@dataclass
class Fault(RouteFault):
    """Fail the next `count` matching GitHub requests: 502 before or after, a rate limit, or
    an answer held back."""

    MODES: ClassVar[tuple[str, ...]] = MODES
    EXAMPLE: ClassVar[str] = "POST /repos/*/pulls"


class FaultList(FaultQueue[Fault]):
    """The GitHub sandbox's pending faults."""

    def __init__(self) -> None:
        super().__init__(Fault)

    def add(self, match: str, mode: str, count: int = 1) -> Fault:  # type: ignore[override]
        """Add a fault; raise ValueError when it is malformed."""
        return super().add(match=match, mode=mode, count=count)

    def take(self, method: str, path: str) -> str | None:
        """Consume one use of the first fault matching the request and return its mode."""
        fault = self.take_fault(method, path)
        return fault.mode if fault else None
