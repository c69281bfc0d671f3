"""Helpers for the web tests: a secret, signed deliveries, and a handler that remembers."""

from __future__ import annotations

import json
import uuid
from typing import Any

from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

from bot.config import GitHubSettings, Secret, Settings
from bot.web.router import WebhookDelivery
from bot.web.signatures import sign
from tests.conftest import SHARED

# Distinctive, so a test can tell that it never reached a log line.
SECRET = "s3cr3t-that-must-never-be-logged-9f1c"
EXAMPLES = SHARED / "specs" / "github-webhooks" / "examples"

Client = TestClient[web.Request, web.Application]


def settings_with_secret(secret: str | None = SECRET) -> Settings:
    """Return default settings with (or without) a webhook secret."""
    return Settings(github=GitHubSettings(webhook_secret=Secret(secret) if secret else None))


def encode(payload: dict[str, Any]) -> bytes:
    """Return a payload as GitHub sends it: compact JSON bytes."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def new_delivery_id() -> str:
    """Return a fresh delivery GUID, as GitHub makes them."""
    return str(uuid.uuid4())


def github_headers(
    event: str, body: bytes, *, delivery_id: str | None = None, secret: str = SECRET
) -> dict[str, str]:
    """Return the headers GitHub sends with a body, signed with a secret."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/test",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id or new_delivery_id(),
        "X-Hub-Signature-256": sign(secret, body),
    }


async def deliver(
    client: Client,
    event: str,
    body: bytes,
    *,
    delivery_id: str | None = None,
    secret: str = SECRET,
) -> ClientResponse:
    """POST a correctly signed delivery to the webhook endpoint."""
    headers = github_headers(event, body, delivery_id=delivery_id, secret=secret)
    return await client.post("/webhooks/github", data=body, headers=headers)


class Recorder:
    """A webhook handler that remembers each delivery it gets, and can be told to fail."""

    def __init__(self, error: Exception | None = None) -> None:
        self.deliveries: list[WebhookDelivery] = []
        self.error = error

    async def __call__(self, delivery: WebhookDelivery) -> None:
        """Remember the delivery, then fail if told to."""
        self.deliveries.append(delivery)
        if self.error is not None:
            raise self.error
