"""The GitHub webhook endpoint: signed, recorded once, answered at once, handled later."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import WebSettings
from bot.store.engine import make_engine, make_session_factory
from bot.store.models import WebhookDeliveryRecord, WebhookDeliveryStatus
from bot.web.keys import BACKGROUND_TASKS
from bot.web.router import WebhookDelivery, WebhookRouter
from bot.web.signatures import sign
from tests.web.conftest import ClientMaker
from tests.web.support import (
    EXAMPLES,
    SECRET,
    Client,
    Recorder,
    deliver,
    encode,
    github_headers,
    new_delivery_id,
    settings_with_secret,
)

Sessions = async_sessionmaker[AsyncSession]
URL = "/webhooks/github"
# Appears in request bodies only: finding it in a log line means a body was logged.
BODY_MARKER = "body-marker-7d3e0a"
ISSUE_OPENED: dict[str, Any] = {
    "action": "opened",
    "issue": {"number": 7, "title": "¿Qué es un tensor? — ما هو الموتر؟", "body": BODY_MARKER},
    "repository": {"full_name": "lessonbot/lessons"},
}
PUSH: dict[str, Any] = {"ref": "refs/heads/main", "commits": [{"message": BODY_MARKER}]}


@pytest.fixture
def opened() -> Recorder:
    """Return the handler for `issues.opened`."""
    return Recorder()


@pytest.fixture
def pushed() -> Recorder:
    """Return the handler for every `push`."""
    return Recorder()


@pytest.fixture
def router(opened: Recorder, pushed: Recorder) -> WebhookRouter:
    """Return a router with one exact and one any-action route."""
    router = WebhookRouter()
    router.on("issues", "opened", opened)
    router.on("push", None, pushed)
    return router


@pytest.fixture
async def client(
    make_client: ClientMaker, session_factory: Sessions, router: WebhookRouter
) -> AsyncIterator[Client]:
    """Yield a client of the app with a webhook secret, on a migrated database."""
    yield await make_client(settings_with_secret(), session_factory=session_factory, router=router)


async def _drain(client: Client) -> None:
    await client.app[BACKGROUND_TASKS].drain()


async def _rows(sessions: Sessions) -> list[WebhookDeliveryRecord]:
    async with sessions() as session:
        result = await session.scalars(
            select(WebhookDeliveryRecord).order_by(WebhookDeliveryRecord.id)
        )
        return list(result)


async def _assert_refused(
    client: Client, sessions: Sessions, handlers: list[Recorder], status: int, **post: Any
) -> dict[str, Any]:
    response = await client.post(URL, **post)
    assert response.status == status
    body = await response.json()
    await _drain(client)
    assert all(handler.deliveries == [] for handler in handlers)
    assert await _rows(sessions) == []
    return body


async def test_a_signed_delivery_reaches_its_handler_with_the_parsed_payload(
    client: Client, session_factory: Sessions, opened: Recorder
) -> None:
    delivery_id = new_delivery_id()

    response = await deliver(client, "issues", encode(ISSUE_OPENED), delivery_id=delivery_id)

    assert response.status == 202
    assert await response.json() == {"status": "accepted"}
    await _drain(client)
    [delivery] = opened.deliveries
    assert delivery.event == "issues"
    assert delivery.action == "opened"
    assert delivery.delivery_id == delivery_id
    assert delivery.payload == ISSUE_OPENED
    assert delivery.received_at.utcoffset() == timedelta(0)
    [row] = await _rows(session_factory)
    assert (row.delivery_id, row.event, row.action) == (delivery_id, "issues", "opened")
    assert row.status is WebhookDeliveryStatus.HANDLED
    assert row.received_at == delivery.received_at


async def test_a_delivery_without_an_action_matches_an_any_action_route(
    client: Client, session_factory: Sessions, pushed: Recorder, opened: Recorder
) -> None:
    response = await deliver(client, "push", encode(PUSH))

    assert response.status == 202
    await _drain(client)
    [delivery] = pushed.deliveries
    assert delivery.action is None
    assert delivery.payload == PUSH
    assert opened.deliveries == []
    [row] = await _rows(session_factory)
    assert row.action is None
    assert row.status is WebhookDeliveryStatus.HANDLED


REAL_EXAMPLES = [
    ("issues", "issues/opened.payload.json", "opened"),
    ("issue_comment", "issue_comment/created.payload.json", "created"),
    ("pull_request", "pull_request/closed.payload.json", "closed"),
    ("pull_request_review", "pull_request_review/submitted.payload.json", "submitted"),
    ("push", "push/payload.json", None),
]


def _example(relative: str) -> Path:
    path = EXAMPLES / relative
    if not path.is_file():
        pytest.skip(f"GitHub's example payloads are not present at {EXAMPLES} (no ../shared)")
    return path


@pytest.mark.parametrize(("event", "relative", "action"), REAL_EXAMPLES)
async def test_real_github_examples_reach_their_handlers(
    make_client: ClientMaker,
    session_factory: Sessions,
    event: str,
    relative: str,
    action: str | None,
) -> None:
    body = _example(relative).read_bytes()
    handler = Recorder()
    router = WebhookRouter()
    router.on(event, action, handler)
    client = await make_client(
        settings_with_secret(), session_factory=session_factory, router=router
    )

    # The file's own bytes, indentation and all: the signature is over the raw body.
    response = await deliver(client, event, body)

    assert response.status == 202
    await _drain(client)
    [delivery] = handler.deliveries
    assert delivery.event == event
    assert delivery.action == action
    assert delivery.payload == json.loads(body)
    assert delivery.payload["repository"]["full_name"] == "Codertocat/Hello-World"
    [row] = await _rows(session_factory)
    assert (row.event, row.action, row.status) == (event, action, WebhookDeliveryStatus.HANDLED)


async def test_githubs_real_ping_is_answered_with_pong(
    client: Client, session_factory: Sessions
) -> None:
    body = _example("ping/payload.json").read_bytes()

    response = await deliver(client, "ping", body)

    assert response.status == 200
    assert await response.json() == {"status": "pong"}
    assert await _rows(session_factory) == []


async def test_ping_is_answered_with_pong_and_nothing_is_handled(
    make_client: ClientMaker, session_factory: Sessions
) -> None:
    handler = Recorder()
    router = WebhookRouter()
    router.on("ping", None, handler)
    client = await make_client(
        settings_with_secret(), session_factory=session_factory, router=router
    )

    response = await deliver(client, "ping", encode({"zen": "Keep it simple.", "hook_id": 1}))

    assert response.status == 200
    assert await response.json() == {"status": "pong"}
    await _drain(client)
    assert handler.deliveries == []
    assert await _rows(session_factory) == []


async def test_a_forged_signature_is_refused(
    client: Client, session_factory: Sessions, opened: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    body = encode(ISSUE_OPENED)
    headers = github_headers("issues", body, secret="not the secret")

    answer = await _assert_refused(
        client, session_factory, [opened], 401, data=body, headers=headers
    )

    assert answer["error"] == "missing or invalid X-Hub-Signature-256"
    [warning] = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert headers["X-GitHub-Delivery"] in warning.getMessage()
    assert "invalid X-Hub-Signature-256" in warning.getMessage()


async def test_an_unsigned_delivery_is_refused(
    client: Client, session_factory: Sessions, opened: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    body = encode(ISSUE_OPENED)
    headers = github_headers("issues", body)
    del headers["X-Hub-Signature-256"]

    await _assert_refused(client, session_factory, [opened], 401, data=body, headers=headers)

    assert "missing X-Hub-Signature-256" in caplog.text


async def test_a_signature_of_another_body_is_refused(
    client: Client, session_factory: Sessions, opened: Recorder
) -> None:
    body = encode(ISSUE_OPENED)
    headers = github_headers("issues", encode({**ISSUE_OPENED, "action": "closed"}))

    await _assert_refused(client, session_factory, [opened], 401, data=body, headers=headers)


@pytest.mark.parametrize(
    "signature",
    [
        "sha1=" + sign(SECRET, b"x").removeprefix("sha256="),
        sign(SECRET, b"x").removeprefix("sha256="),
        sign(SECRET, b"x").upper(),
        "sha256=",
    ],
    ids=["sha1-prefix", "no-prefix", "upper-case", "empty-digest"],
)
async def test_malformed_signatures_are_refused(
    client: Client, session_factory: Sessions, opened: Recorder, signature: str
) -> None:
    headers = github_headers("issues", b"x")
    headers["X-Hub-Signature-256"] = signature

    await _assert_refused(client, session_factory, [opened], 401, data=b"x", headers=headers)


async def test_a_replayed_delivery_is_a_duplicate_and_handled_once(
    client: Client, session_factory: Sessions, opened: Recorder
) -> None:
    delivery_id = new_delivery_id()
    body = encode(ISSUE_OPENED)

    first = await deliver(client, "issues", body, delivery_id=delivery_id)
    await _drain(client)
    second = await deliver(client, "issues", body, delivery_id=delivery_id)
    await _drain(client)

    assert (first.status, await first.json()) == (202, {"status": "accepted"})
    assert (second.status, await second.json()) == (200, {"status": "duplicate"})
    assert len(opened.deliveries) == 1
    [row] = await _rows(session_factory)
    assert row.status is WebhookDeliveryStatus.HANDLED


async def test_concurrent_copies_of_one_delivery_are_handled_once(
    client: Client, session_factory: Sessions, opened: Recorder
) -> None:
    delivery_id = new_delivery_id()
    body = encode(ISSUE_OPENED)

    responses = await asyncio.gather(
        *(deliver(client, "issues", body, delivery_id=delivery_id) for _ in range(5))
    )
    await _drain(client)

    assert sorted(response.status for response in responses) == [200, 200, 200, 200, 202]
    assert len(opened.deliveries) == 1
    assert len(await _rows(session_factory)) == 1


@pytest.mark.parametrize(
    ("event", "payload", "action"),
    [
        ("star", {"action": "created", "starred_at": None}, "created"),
        ("issues", {**ISSUE_OPENED, "action": "deleted"}, "deleted"),
        ("workflow_run", {"workflow_run": {}}, None),
    ],
    ids=["unknown-event", "unknown-action", "no-action"],
)
async def test_an_unrouted_delivery_is_ignored_and_recorded(
    client: Client,
    session_factory: Sessions,
    opened: Recorder,
    pushed: Recorder,
    event: str,
    payload: dict[str, Any],
    action: str | None,
) -> None:
    response = await deliver(client, event, encode(payload))

    assert response.status == 202
    assert await response.json() == {"status": "ignored"}
    await _drain(client)
    assert opened.deliveries == pushed.deliveries == []
    [row] = await _rows(session_factory)
    assert (row.event, row.action, row.status) == (event, action, WebhookDeliveryStatus.IGNORED)


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"", b"[1, 2]", b'"a string"', b"\xff\xfe{}", b"[" * 100_000],
    ids=["broken", "empty", "array", "string", "not-utf8", "absurdly-deep"],
)
async def test_a_body_that_is_not_a_json_object_is_refused(
    client: Client, session_factory: Sessions, opened: Recorder, body: bytes
) -> None:
    headers = github_headers("issues", body)

    answer = await _assert_refused(
        client, session_factory, [opened], 400, data=body, headers=headers
    )

    assert answer["error"] == "the body is not a JSON object"


@pytest.mark.parametrize("header", ["X-GitHub-Event", "X-GitHub-Delivery"])
async def test_a_delivery_without_its_github_headers_is_refused(
    client: Client, session_factory: Sessions, opened: Recorder, header: str
) -> None:
    body = encode(ISSUE_OPENED)
    headers = github_headers("issues", body)
    del headers[header]

    answer = await _assert_refused(
        client, session_factory, [opened], 400, data=body, headers=headers
    )

    assert answer["error"] == f"missing {header} header"


async def test_an_overlong_delivery_id_is_refused(
    client: Client, session_factory: Sessions, opened: Recorder
) -> None:
    body = encode(ISSUE_OPENED)
    headers = github_headers("issues", body, delivery_id="d" * 101)

    await _assert_refused(client, session_factory, [opened], 400, data=body, headers=headers)


async def test_a_form_encoded_delivery_is_refused_with_a_hint(
    client: Client, session_factory: Sessions, opened: Recorder
) -> None:
    body = b"payload=%7B%7D"
    headers = github_headers("issues", body)
    headers["Content-Type"] = "application/x-www-form-urlencoded"

    answer = await _assert_refused(
        client, session_factory, [opened], 415, data=body, headers=headers
    )

    assert "application/json" in answer["error"]


def test_the_body_limit_defaults_to_githubs_25_mb_cap() -> None:
    assert WebSettings().max_webhook_bytes == 25 * 1024 * 1024


LIMIT = 1024


def _padded(size: int) -> bytes:
    """Return a signed-able JSON object of exactly `size` bytes."""
    body = encode({**PUSH, "padding": ""})
    return body[:-2] + b"x" * (size - len(body)) + body[-2:]


@pytest.fixture
async def small_client(
    make_client: ClientMaker, session_factory: Sessions, router: WebhookRouter
) -> Client:
    """Return a client of an app set (web.max_webhook_bytes) to take at most LIMIT bytes."""
    settings = dataclasses.replace(settings_with_secret(), web=WebSettings(max_webhook_bytes=LIMIT))
    return await make_client(settings, session_factory=session_factory, router=router)


async def test_a_body_at_the_limit_is_accepted(small_client: Client, pushed: Recorder) -> None:
    body = _padded(LIMIT)
    assert len(body) == LIMIT

    response = await deliver(small_client, "push", body)

    assert response.status == 202
    await _drain(small_client)
    assert len(pushed.deliveries) == 1


async def test_a_body_over_the_limit_is_refused(
    small_client: Client,
    session_factory: Sessions,
    pushed: Recorder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = _padded(LIMIT + 1)

    answer = await _assert_refused(
        small_client,
        session_factory,
        [pushed],
        413,
        data=body,
        headers=github_headers("push", body),
    )

    assert answer["error"] == "payload too large"
    assert "body larger than 1024 bytes" in caplog.text


async def test_a_chunked_body_over_the_limit_is_refused(
    small_client: Client, session_factory: Sessions, pushed: Recorder
) -> None:
    body = _padded(4 * LIMIT)

    async def chunks() -> AsyncIterator[bytes]:
        # A streamed body declares no Content-Length: the limit must hold while reading.
        for start in range(0, len(body), 256):
            yield body[start : start + 256]

    await _assert_refused(
        small_client,
        session_factory,
        [pushed],
        413,
        data=chunks(),
        headers=github_headers("push", body),
    )


async def test_a_failing_handler_marks_the_delivery_failed_and_the_app_goes_on(
    make_client: ClientMaker, session_factory: Sessions, caplog: pytest.LogCaptureFixture
) -> None:
    failing = Recorder(RuntimeError("the handler broke"))
    after = Recorder()
    router = WebhookRouter()
    router.on("issues", "opened", failing)
    router.on("issues", None, after)
    client = await make_client(
        settings_with_secret(), session_factory=session_factory, router=router
    )
    failed_id, next_id = new_delivery_id(), new_delivery_id()

    response = await deliver(client, "issues", encode(ISSUE_OPENED), delivery_id=failed_id)
    await _drain(client)

    assert response.status == 202  # answered before the handler ran
    # The other concern on the same event still got the delivery.
    assert [delivery.delivery_id for delivery in after.deliveries] == [failed_id]
    [error] = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert failed_id in error.getMessage()
    assert error.exc_info is not None
    assert "the handler broke" in caplog.text

    failing.error = None
    response = await deliver(client, "issues", encode(ISSUE_OPENED), delivery_id=next_id)
    await _drain(client)

    assert response.status == 202
    statuses = {row.delivery_id: row.status for row in await _rows(session_factory)}
    assert statuses == {
        failed_id: WebhookDeliveryStatus.FAILED,
        next_id: WebhookDeliveryStatus.HANDLED,
    }


async def test_without_a_secret_every_delivery_is_refused(
    make_client: ClientMaker,
    session_factory: Sessions,
    router: WebhookRouter,
    opened: Recorder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = await make_client(
        settings_with_secret(None), session_factory=session_factory, router=router
    )
    body = encode(ISSUE_OPENED)

    for secret in (SECRET, ""):
        answer = await _assert_refused(
            client,
            session_factory,
            [opened],
            503,
            data=body,
            headers=github_headers("issues", body, secret=secret),
        )
        assert answer["status"] == "unavailable"

    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 2  # once per request
    assert all("LESSONBOT_GITHUB_WEBHOOK_SECRET" in record.getMessage() for record in errors)


async def test_a_delivery_is_refused_while_the_database_is_down(
    make_client: ClientMaker, router: WebhookRouter, opened: Recorder, tmp_path: Path
) -> None:
    # A directory is no SQLite database: every connection fails.
    engine = make_engine(f"sqlite:///{tmp_path}")
    try:
        client = await make_client(
            settings_with_secret(), session_factory=make_session_factory(engine), router=router
        )

        response = await deliver(client, "issues", encode(ISSUE_OPENED))

        assert response.status == 503
        assert await response.json() == {
            "status": "unavailable",
            "error": "database unavailable",
        }
        await _drain(client)
        assert opened.deliveries == []
    finally:
        await engine.dispose()


async def test_shutdown_cancels_a_handler_that_outlives_the_grace(
    make_client: ClientMaker, session_factory: Sessions
) -> None:
    started = asyncio.Event()
    cancelled: list[str] = []

    async def stuck(delivery: WebhookDelivery) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(delivery.delivery_id)
            raise

    router = WebhookRouter()
    router.on("push", None, stuck)
    client = await make_client(
        settings_with_secret(), session_factory=session_factory, router=router, shutdown_grace=0
    )
    delivery_id = new_delivery_id()

    response = await deliver(client, "push", encode(PUSH), delivery_id=delivery_id)
    assert response.status == 202
    await started.wait()
    await client.close()  # runs the app's cleanup

    assert cancelled == [delivery_id]
    [row] = await _rows(session_factory)
    # Never finished, so never marked handled: the row says it was interrupted.
    assert row.status is WebhookDeliveryStatus.RECEIVED


async def test_logs_carry_neither_the_secret_nor_bodies(
    make_client: ClientMaker, session_factory: Sessions, caplog: pytest.LogCaptureFixture
) -> None:
    router = WebhookRouter()
    router.on("issues", "opened", Recorder(RuntimeError("failed")))
    client = await make_client(
        settings_with_secret(), session_factory=session_factory, router=router
    )
    body = encode(ISSUE_OPENED)
    forged = github_headers("issues", body, secret="wrong")
    broken = b'{"note": "' + BODY_MARKER.encode() + b'"'

    assert (await client.post(URL, data=body, headers=forged)).status == 401
    assert (await client.post(URL, data=broken, headers=github_headers("x", broken))).status == 400
    assert (await deliver(client, "issues", body)).status == 202
    assert (await deliver(client, "star", encode({"action": BODY_MARKER[:5]}))).status == 202
    await _drain(client)

    assert {record.levelname for record in caplog.records} >= {"WARNING", "ERROR", "INFO"}
    assert SECRET not in caplog.text
    assert BODY_MARKER not in caplog.text
    assert sign(SECRET, body) not in caplog.text


async def test_a_delivery_older_than_its_retention_is_pruned_and_then_accepted_again(
    client: Client, session_factory: Sessions, opened: Recorder
) -> None:
    from bot.config import RetentionSettings
    from bot.services.outbox import Outbox
    from bot.services.retention import RetentionService

    old_id, recent_id = new_delivery_id(), new_delivery_id()
    body = encode(ISSUE_OPENED)
    for delivery_id in (old_id, recent_id):
        await deliver(client, "issues", body, delivery_id=delivery_id)
    await _drain(client)
    rows = {row.delivery_id: row for row in await _rows(session_factory)}
    # A prune 31 days after the first delivery, 29 after the second (30 days kept).
    later = rows[old_id].received_at + timedelta(days=31)
    async with session_factory() as session, session.begin():
        row = await session.get(WebhookDeliveryRecord, rows[recent_id].id)
        assert row is not None
        row.received_at = later - timedelta(days=29)
    service = RetentionService(session_factory, Outbox(session_factory), RetentionSettings())
    report = await service.prune(later)
    assert report.removed["webhook_deliveries"] == 1

    # Within the retention a redelivery is still recognised; past it, it is handled again.
    again_recent = await deliver(client, "issues", body, delivery_id=recent_id)
    again_old = await deliver(client, "issues", body, delivery_id=old_id)
    await _drain(client)
    assert (again_recent.status, await again_recent.json()) == (200, {"status": "duplicate"})
    assert (again_old.status, await again_old.json()) == (202, {"status": "accepted"})
    assert len(opened.deliveries) == 3
