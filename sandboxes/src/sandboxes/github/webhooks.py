"""Signed webhook delivery, in order, after the response that caused it."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

HOOK_ID = 1_000_001
DELIVERY_TIMEOUT = 10.0


def signature_256(secret: str, body: bytes) -> str:
    """Return the `X-Hub-Signature-256` value GitHub computes for a body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_1(secret: str, body: bytes) -> str:
    """Return the legacy `X-Hub-Signature` (HMAC-SHA1) value."""
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


@dataclass
class Delivery:
    """One webhook delivery and what the receiver answered."""

    event: str
    action: str | None
    delivery_id: str
    payload: dict[str, Any]
    body: bytes
    url: str
    status: int | None = None
    error: str | None = None
    done: bool = False
    # What GET /repos/{o}/{r}/hooks/{id}/deliveries shows: its number, when it was posted
    # and how long the receiver took (seconds).
    id: int = 0
    delivered_at: datetime | None = None
    duration: float = 0.0
    # Set once the API response that caused the event has been written.
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def to_json(self) -> dict[str, Any]:
        """Return the delivery as `GitHubSandbox.deliveries` lists it."""
        return {
            "event": self.event,
            "action": self.action,
            "delivery_id": self.delivery_id,
            "status": self.status,
            "error": self.error,
            "payload": self.payload,
        }


class WebhookSender:
    """Queue webhook deliveries and post them one by one from a background task."""

    def __init__(self, url: str | None, secret: str | None, repository_id: int = 0) -> None:
        self.url = url
        self.secret = secret
        self.repository_id = repository_id
        self.deliveries: list[Delivery] = []
        self._queue: asyncio.Queue[Delivery] | None = None
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._held: list[Delivery] | None = None
        self._ids = itertools.count(1)
        self.created_at = datetime.now(UTC)

    async def start(self) -> None:
        """Start the delivery task on the running loop."""
        self._queue = asyncio.Queue()
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=DELIVERY_TIMEOUT))
        self._task = asyncio.create_task(self._worker(), name="github-sandbox-webhooks")

    async def close(self) -> None:
        """Stop delivering; deliveries still queued are recorded as not sent."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for delivery in self.deliveries:
            if not delivery.done:
                delivery.error = delivery.error or "sandbox stopped before delivery"
                delivery.done = True
        if self._session is not None:
            await self._session.close()
            self._session = None

    def send(self, event: str, payload: dict[str, Any]) -> Delivery | None:
        """Queue one event for delivery; do nothing when no webhook URL is set."""
        if not self.url or self._queue is None:
            return None
        # Serialize now: the payload is a snapshot of the moment the event happened.
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        delivery = Delivery(
            event=event,
            action=payload.get("action"),
            delivery_id=str(uuid.uuid4()),
            payload=json.loads(body),
            body=body,
            url=self.url,
            id=next(self._ids),
        )
        self.deliveries.append(delivery)
        # Queued now, so deliveries keep the order of the changes; posted only once the
        # response to the request that made the change is out.
        self._queue.put_nowait(delivery)
        if self._held is not None:
            self._held.append(delivery)
        else:
            delivery.released.set()
        return delivery

    def hold(self) -> list[Delivery]:
        """Start collecting the deliveries of one request; they wait for `release`."""
        self._held = []
        return self._held

    def unhold(self) -> None:
        """Stop collecting: later deliveries are released at once."""
        self._held = None

    @staticmethod
    def release(deliveries: list[Delivery]) -> None:
        """Let held deliveries go out."""
        for delivery in deliveries:
            delivery.released.set()

    async def join(self) -> None:
        """Wait until every queued delivery was attempted."""
        if self._queue is not None:
            await self._queue.join()

    def headers(self, delivery: Delivery) -> dict[str, str]:
        """Return the headers GitHub sends with a delivery."""
        repository = delivery.payload.get("repository") or {}
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/sandbox",
            "Accept": "*/*",
            "X-GitHub-Event": delivery.event,
            "X-GitHub-Delivery": delivery.delivery_id,
            "X-GitHub-Hook-ID": str(HOOK_ID),
            "X-GitHub-Hook-Installation-Target-Type": "repository",
            "X-GitHub-Hook-Installation-Target-ID": str(repository.get("id", self.repository_id)),
        }
        if self.secret:
            headers["X-Hub-Signature"] = signature_1(self.secret, delivery.body)
            headers["X-Hub-Signature-256"] = signature_256(self.secret, delivery.body)
        return headers

    async def _worker(self) -> None:
        """Deliver queued events in order, recording each receiver's answer."""
        assert self._queue is not None and self._session is not None
        while True:
            delivery = await self._queue.get()
            started = 0.0
            try:
                await delivery.released.wait()
                delivery.delivered_at = datetime.now(UTC)
                started = time.monotonic()
                async with self._session.post(
                    delivery.url, data=delivery.body, headers=self.headers(delivery)
                ) as response:
                    await response.read()
                    delivery.status = response.status
            except Exception as error:
                # A receiver that is down, slow or broken is the receiver's problem, as on
                # GitHub: the delivery is marked failed and the next one goes ahead.
                delivery.error = f"{type(error).__name__}: {error}"
                log.info("webhook %s to %s failed: %s", delivery.event, delivery.url, error)
            finally:
                delivery.duration = round(time.monotonic() - started, 3) if started else 0.0
                delivery.done = True
                self._queue.task_done()
