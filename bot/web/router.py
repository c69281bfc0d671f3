"""Route verified GitHub webhook deliveries to handlers by (event, action)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class WebhookDelivery:
    """One verified, parsed GitHub webhook delivery, as handlers receive it."""

    event: str
    action: str | None
    delivery_id: str
    # Kept out of repr so that logging a delivery never writes its payload.
    payload: dict[str, Any] = field(repr=False)
    received_at: datetime


WebhookHandler = Callable[[WebhookDelivery], Awaitable[None]]


class WebhookRouter:
    """Map (event, action) pairs to async handlers; an action of None matches any action."""

    def __init__(self) -> None:
        self._handlers: dict[tuple[str, str | None], list[WebhookHandler]] = {}

    def on(self, event: str, action: str | None, handler: WebhookHandler) -> WebhookHandler:
        """Register a handler for an event and action (None: every action of the event)."""
        if not event:
            raise ValueError("a webhook handler needs an event name")
        self._handlers.setdefault((event, action), []).append(handler)
        return handler

    def resolve(self, event: str, action: str | None) -> tuple[WebhookHandler, ...]:
        """Return the handlers for a delivery: exact-action ones first, then any-action ones."""
        # Several concerns may follow the same event, so every match runs, not just the first.
        exact = self._handlers.get((event, action), []) if action is not None else []
        return (*exact, *self._handlers.get((event, None), []))
