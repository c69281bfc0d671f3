"""The digest's unsubscribe link: a page that asks, a POST that unsubscribes (one-click too)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.web.router import WebhookRouter
from tests.services.test_digests import drain, make, seed, settings
from tests.web.conftest import ClientMaker

Sessions = async_sessionmaker[AsyncSession]


async def client_for(make_client: ClientMaker, sessions: Sessions):
    service, worker, _, mail = make(sessions)
    client = await make_client(
        settings(), session_factory=sessions, router=WebhookRouter(), digests=service
    )
    return client, service, worker, mail


def path_of(url: str) -> str:
    return url.removeprefix("https://bot.example")


async def test_the_link_asks_first_and_a_post_unsubscribes(
    make_client: ClientMaker, session_factory: Sessions
) -> None:
    client, service, _, _ = await client_for(make_client, session_factory)
    path = path_of(service.unsubscribe_url("ana@example.org"))
    page = await client.get(path)
    assert page.status == 200
    text = await page.text()
    assert "ana@example.org" in text and 'method="post"' in text
    assert "'none'" in page.headers["Content-Security-Policy"]
    # Opening the link (as a mail scanner does) unsubscribes nobody.
    assert not await service.is_unsubscribed("ana@example.org")
    done = await client.post(path)
    assert done.status == 200 and "ana@example.org" in await done.text()
    assert await service.is_unsubscribed("ana@example.org")
    assert (await client.post(path)).status == 200  # again: still fine


async def test_the_address_keeps_its_order_inside_an_arabic_sentence(
    make_client: ClientMaker, session_factory: Sessions
) -> None:
    client, service, _, _ = await client_for(make_client, session_factory)
    path = path_of(service.unsubscribe_url("ana@example.org"))
    arabic = {"Accept-Language": "ar"}

    asked = await (await client.get(path, headers=arabic)).text()
    done = await (await client.post(path, headers=arabic)).text()

    assert 'dir="rtl"' in asked and "<bdi>ana@example.org</bdi>" in asked
    assert "<bdi>ana@example.org</bdi>" in done


async def test_one_click_unsubscribe_sends_no_more_digests(
    make_client: ClientMaker, session_factory: Sessions
) -> None:
    await seed(session_factory)
    client, service, worker, mail = await client_for(make_client, session_factory)
    await service.run("manual:1")
    await drain(worker)
    ana = next(m for m in mail.sent if m.to[0] == "ana@example.org")
    link = ana.headers["List-Unsubscribe"].strip("<>")
    # RFC 8058: the provider POSTs this body to the List-Unsubscribe URL.
    answer = await client.post(
        path_of(link),
        data="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status == 200
    mail.sent.clear()
    await service.run("manual:2")
    await drain(worker)
    assert [m.to[0] for m in mail.sent] == ["Bo@Example.org"]


async def test_a_forged_or_broken_link_is_refused_in_the_readers_language(
    make_client: ClientMaker, session_factory: Sessions
) -> None:
    client, service, _, _ = await client_for(make_client, session_factory)
    token = service.unsubscribe_token("ana@example.org")
    for query in (
        f"?address=bo%40example.org&token={token}",
        "?address=ana%40example.org&token=forged",
        "",
        "?address=" + "a" * 5000,
    ):
        answer = await client.post(f"/digest/unsubscribe{query}", headers={"Accept-Language": "ar"})
        assert answer.status == 400
        text = await answer.text()
        assert "رابط إلغاء الاشتراك هذا غير صالح" in text and 'dir="rtl"' in text
        assert (await client.get(f"/digest/unsubscribe{query}")).status == 400
    assert not await service.is_unsubscribed("bo@example.org")


async def test_without_the_digest_service_there_is_no_unsubscribe_route(
    make_client: ClientMaker, session_factory: Sessions
) -> None:
    client = await make_client(settings(), session_factory=session_factory, router=WebhookRouter())
    assert (await client.get("/digest/unsubscribe")).status == 404
