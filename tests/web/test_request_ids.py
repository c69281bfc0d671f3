"""Every request runs under a correlation id: the client's when sane, GitHub's delivery id
for a webhook, else a new one; it is echoed back and carried into the work it starts."""

from __future__ import annotations

import json

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import correlation
from bot.web.app import REQUEST_ID_HEADER
from bot.web.keys import BACKGROUND_TASKS
from bot.web.router import WebhookDelivery, WebhookRouter
from tests.web.conftest import ClientMaker
from tests.web.support import deliver, settings_with_secret

Sessions = async_sessionmaker[AsyncSession]


async def test_a_sane_request_id_is_echoed_and_a_bad_one_replaced(
    make_client: ClientMaker, session_factory: Sessions
) -> None:
    client = await make_client(
        settings_with_secret(), session_factory=session_factory, router=WebhookRouter()
    )
    kept = await client.get("/healthz", headers={REQUEST_ID_HEADER: "lb-4f2a.9"})
    assert kept.headers[REQUEST_ID_HEADER] == "lb-4f2a.9"
    for bad in ("two words", "x" * 65, "<script>"):
        made = await client.get("/healthz", headers={REQUEST_ID_HEADER: bad})
        assert made.headers[REQUEST_ID_HEADER].startswith("web-"), bad
    # An error answer carries it too.
    missing = await client.get("/no/such/page")
    assert missing.status == 404 and missing.headers[REQUEST_ID_HEADER].startswith("web-")
    first = (await client.get("/healthz")).headers[REQUEST_ID_HEADER]
    assert first != (await client.get("/healthz")).headers[REQUEST_ID_HEADER]


async def test_a_webhook_delivery_is_followed_under_githubs_delivery_id(
    make_client: ClientMaker, session_factory: Sessions
) -> None:
    seen: list[str | None] = []

    async def handler(delivery: WebhookDelivery) -> None:
        seen.append(correlation.current())

    router = WebhookRouter()
    router.on("push", None, handler)
    client = await make_client(
        settings_with_secret(), session_factory=session_factory, router=router
    )
    body = json.dumps({"ref": "refs/heads/main", "commits": []}).encode()
    answer = await deliver(client, "push", body, delivery_id="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    await client.app[BACKGROUND_TASKS].drain()
    assert answer.headers[REQUEST_ID_HEADER] == "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    assert seen == ["72d3162e-cc78-11e3-81ab-4c9367dc0958"]
