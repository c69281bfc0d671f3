"""Hand test payloads (GitHub's webhook JSON) to services the way the router does."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.services.events import (
    EventHandler,
    IssueCommentEvent,
    PullRequestEvent,
    PushEvent,
    ReviewCommentEvent,
    ReviewEvent,
)
from bot.web.github_events import EVENT_NAMES, parse_event
from bot.web.router import handle_event

E = TypeVar("E", PullRequestEvent, ReviewEvent, ReviewCommentEvent, IssueCommentEvent, PushEvent)


def parsed(kind: type[E], payload: object) -> E:
    """Return a payload parsed by the bot's parser; fail the test when it does not parse."""
    event = parse_event(EVENT_NAMES[kind], payload)
    assert isinstance(event, kind), f"the payload does not parse as a {kind.__name__}"
    return event


async def handled(kind: type[E], handle: Callable[[E], Awaitable[str]], payload: object) -> str:
    """Parse a payload and hand it to a service's entry point, as the router does."""
    event = parse_event(EVENT_NAMES[kind], payload)
    return await handle_event(EventHandler(kind, "test", handle), event)
