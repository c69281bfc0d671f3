"""Injected failures on chosen routes, shared by the sandboxes: match, count and consume."""

from __future__ import annotations

import asyncio
import fnmatch
import threading
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Generic, TypeVar


@dataclass
class RouteFault:
    """Fail the next `count` requests matching `METHOD path-glob` in the given mode."""

    MODES: ClassVar[tuple[str, ...]] = ()
    EXAMPLE: ClassVar[str] = "POST /path/*"

    match: str
    mode: str
    count: int = 1

    def __post_init__(self) -> None:
        method, _, pattern = self.match.strip().partition(" ")
        if not pattern or not method:
            raise ValueError(f"match must be 'METHOD /path-glob', e.g. '{self.EXAMPLE}'")
        if self.mode not in self.MODES:
            raise ValueError(f"mode must be one of {', '.join(self.MODES)}")
        if not isinstance(self.count, int) or isinstance(self.count, bool) or self.count < 1:
            raise ValueError("count must be a positive whole number")
        self._method = method.upper()
        self._pattern = pattern.strip()

    def matches(self, method: str, path: str) -> bool:
        """Tell whether a request falls under this fault."""
        return (self._method in ("*", method.upper())) and fnmatch.fnmatchcase(path, self._pattern)

    def to_json(self) -> dict[str, Any]:
        """Return the fault as the admin API shows it."""
        return asdict(self)


F = TypeVar("F", bound=RouteFault)


class FaultQueue(Generic[F]):
    """Pending faults, consumed in the order they were added; safe to use from any thread."""

    def __init__(self, fault_type: type[F]) -> None:
        self._fault_type = fault_type
        self._faults: list[F] = []
        self._lock = threading.Lock()

    def add(self, **fields: Any) -> F:
        """Add a fault; raise ValueError when it is malformed."""
        fault = self._fault_type(**fields)
        with self._lock:
            self._faults.append(fault)
        return fault

    def take_fault(self, method: str, path: str) -> F | None:
        """Consume one use of the first fault matching the request and return it."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.count -= 1
                    if fault.count == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        """Drop every pending fault."""
        with self._lock:
            self._faults.clear()

    def to_json(self) -> list[dict[str, Any]]:
        """Return the pending faults."""
        with self._lock:
            return [fault.to_json() for fault in self._faults]


async def hold_back(request: Any, seconds: float) -> None:
    """Hold an answer back for `seconds`, or until the client hangs up (it was killed)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        transport = request.transport
        if transport is None or transport.is_closing():
            return
        await asyncio.sleep(0.05)
