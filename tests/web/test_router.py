"""The webhook router finds every handler registered for an (event, action) pair."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from bot.services.events import EventHandler, PushEvent
from bot.web.github_events import parse_event
from bot.web.router import MALFORMED, WebhookDelivery, WebhookRouter
from tests.web.support import Recorder


def test_an_exact_pair_resolves_to_its_handler() -> None:
    router = WebhookRouter()
    opened, closed = Recorder(), Recorder()
    router.on("issues", "opened", opened)
    router.on("issues", "closed", closed)

    assert router.resolve("issues", "opened") == (opened,)
    assert router.resolve("issues", "closed") == (closed,)


def test_an_unknown_pair_resolves_to_nothing() -> None:
    router = WebhookRouter()
    router.on("issues", "opened", Recorder())

    assert router.resolve("issues", "deleted") == ()
    assert router.resolve("pull_request", "opened") == ()
    assert router.resolve("issues", None) == ()


def test_none_matches_every_action_and_none() -> None:
    router = WebhookRouter()
    push = Recorder()
    router.on("push", None, push)

    assert router.resolve("push", None) == (push,)
    assert router.resolve("push", "anything") == (push,)
    assert router.resolve("issues", None) == ()


def test_several_concerns_share_a_pair_exact_ones_first() -> None:
    router = WebhookRouter()
    every, first, second = Recorder(), Recorder(), Recorder()
    router.on("issues", None, every)
    router.on("issues", "closed", first)
    router.on("issues", "closed", second)

    assert router.resolve("issues", "closed") == (first, second, every)
    assert router.resolve("issues", "opened") == (every,)


def test_on_returns_the_handler_and_refuses_an_empty_event() -> None:
    router = WebhookRouter()
    handler = Recorder()
    assert router.on("push", None, handler) is handler
    with pytest.raises(ValueError, match="event"):
        router.on("", None, handler)


def test_a_delivery_is_frozen_and_keeps_its_payload_out_of_repr() -> None:
    delivery = WebhookDelivery(
        event="issues",
        action="opened",
        delivery_id="d-1",
        payload={"issue": {"body": "private text"}},
        received_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert "private text" not in repr(delivery)
    assert "d-1" in repr(delivery)
    with pytest.raises(AttributeError):
        delivery.event = "push"  # type: ignore[misc]


def _delivery(event: str, payload: dict[str, object]) -> WebhookDelivery:
    return WebhookDelivery(
        event=event,
        action=None,
        delivery_id="d-2",
        payload=payload,
        received_at=datetime(2026, 1, 1, tzinfo=UTC),
        parsed=parse_event(event, payload),
    )


async def test_a_service_handler_gets_its_typed_event_and_the_router_logs_the_outcome(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[PushEvent] = []

    async def on_push(push: PushEvent) -> str:
        seen.append(push)
        return "followed"

    router = WebhookRouter()
    router.follow(EventHandler(PushEvent, "content", on_push))
    [handler] = router.resolve("push", None)
    caplog.set_level(logging.INFO, logger="bot.web.router")

    await handler(_delivery("push", {"ref": "refs/heads/main"}))
    await handler(_delivery("push", {"ref": 7}))

    assert [push.ref for push in seen] == ["refs/heads/main"]
    assert "push 'd-2' (content): followed" in caplog.text
    assert f"push 'd-2' (content): {MALFORMED}" in caplog.text
