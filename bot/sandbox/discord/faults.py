"""Injected failures on chosen routes: rate limits (429) and server errors (500)."""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass
from typing import Any

MODES = ("ratelimit", "server_error")


@dataclass
class Fault:
    """Fail the next `count` requests matching `METHOD path-glob` in the given mode."""

    match: str
    mode: str
    count: int = 1
    retry_after: float = 0.5

    def __post_init__(self) -> None:
        method, _, pattern = self.match.strip().partition(" ")
        if not pattern or not method:
            raise ValueError(
                "match must be 'METHOD /path-glob', e.g. 'POST /api/v10/channels/*/messages'"
            )
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        if not isinstance(self.count, int) or isinstance(self.count, bool) or self.count < 1:
            raise ValueError("count must be a positive whole number")
        if isinstance(self.retry_after, bool) or not isinstance(self.retry_after, (int, float)):
            raise ValueError("retry_after must be a number of seconds")
        if not 0 <= self.retry_after <= 60:
            raise ValueError("retry_after must be between 0 and 60 seconds")
        self._method = method.upper()
        self._pattern = pattern.strip()

    def matches(self, method: str, path: str) -> bool:
        """Tell whether a request falls under this fault."""
        return (self._method in ("*", method.upper())) and fnmatch.fnmatchcase(path, self._pattern)

    def to_json(self) -> dict[str, Any]:
        """Return the fault as the admin API shows it."""
        return {
            "match": self.match,
            "mode": self.mode,
            "count": self.count,
            "retry_after": self.retry_after,
        }


class FaultList:
    """Pending faults, consumed in the order they were added; safe to use from any thread."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, match: str, mode: str, count: int = 1, retry_after: float = 0.5) -> Fault:
        """Add a fault; raise ValueError when it is malformed."""
        fault = Fault(match=match, mode=mode, count=count, retry_after=retry_after)
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
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
