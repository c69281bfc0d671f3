"""Route verified GitHub webhook deliveries to handlers by (event, action)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.services.events import EventHandler, GitHubEvent
from bot.web.github_events import EVENT_NAMES

log = logging.getLogger(__name__)

# What a handler's delivery comes to when its payload did not parse into its event.
MALFORMED = "ignored: malformed"


@dataclass(frozen=True)
class WebhookDelivery:
    """One verified, parsed GitHub webhook delivery, as handlers receive it."""

    event: str
    action: str | None
    delivery_id: str
    # Kept out of repr so that logging a delivery never writes its payload.
    payload: dict[str, Any] = field(repr=False)
    received_at: datetime
    # The typed event, parsed once for every handler; None for events the bot does not
    # follow and for malformed payloads.
    parsed: GitHubEvent | None = field(default=None, repr=False)


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

    def follow(self, *handlers: EventHandler[Any]) -> None:
        """Hand each service handler every delivery of its event kind, and log its outcome."""
        for handler in handlers:
            self.on(EVENT_NAMES[handler.kind], None, _logged(handler))

    def resolve(self, event: str, action: str | None) -> tuple[WebhookHandler, ...]:
        """Return the handlers for a delivery: exact-action ones first, then any-action ones."""
        # Several concerns may follow the same event, so every match runs, not just the first.
        exact = self._handlers.get((event, action), []) if action is not None else []
        return (*exact, *self._handlers.get((event, None), []))


async def handle_event(handler: EventHandler[Any], event: GitHubEvent | None) -> str:
    """Hand an event to a handler of its kind; one whose payload did not parse is ignored."""
    if not isinstance(event, handler.kind):
        return MALFORMED
    return await handler.handle(event)


def _logged(handler: EventHandler[Any]) -> WebhookHandler:
    """Return a delivery handler that runs a service's handler and logs what it did."""

    async def on_delivery(delivery: WebhookDelivery) -> None:
        outcome = await handle_event(handler, delivery.parsed)
        # The delivery id is an untrusted header: repr keeps it to one log line.
        log.info("%s %r (%s): %s", delivery.event, delivery.delivery_id, handler.concern, outcome)

    # Named after the concern, so a failure's log line says whose handler failed.
    on_delivery.__qualname__ = f"{handler.concern}.{handler.kind.__name__}"
    return on_delivery
