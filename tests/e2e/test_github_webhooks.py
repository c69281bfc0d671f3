"""End to end: the adapter changes the sandbox, whose signed webhooks reach the bot's app."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import GitHubSettings, Secret, Settings
from bot.domain.markers import marker
from bot.github.adapter import GitHubAdapter
from bot.services.ports import ProposedChange
from bot.store.models import WebhookDeliveryRecord
from bot.web.app import create_web_app
from bot.web.keys import BACKGROUND_TASKS
from bot.web.router import WebhookDelivery, WebhookRouter
from sandboxes.github import GitHubSandbox
from tests.conftest import FIXTURES

SECRET = "e2e-webhook-secret"


class Received:
    """A handler that keeps what it is given."""

    def __init__(self) -> None:
        self.deliveries: list[WebhookDelivery] = []

    async def __call__(self, delivery: WebhookDelivery) -> None:
        """Keep the delivery."""
        self.deliveries.append(delivery)

    def events(self) -> list[tuple[str, str | None]]:
        """Return (event, action) of each delivery, in order."""
        return [(delivery.event, delivery.action) for delivery in self.deliveries]


@pytest.fixture
async def bot_app(
    session_factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[tuple[web.Application, str, Received]]:
    """Serve the bot's web app on a real port with a router that records everything."""
    received = Received()
    router = WebhookRouter()
    for event in ("issues", "issue_comment", "pull_request", "push"):
        router.on(event, None, received)
    settings = Settings(github=GitHubSettings(webhook_secret=Secret(SECRET)))
    app = create_web_app(settings, session_factory=session_factory, webhook_router=router)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield app, f"http://127.0.0.1:{port}/webhooks/github", received
    await runner.cleanup()


async def test_sandbox_webhooks_reach_the_bot_signed_and_recorded(
    bot_app: tuple[web.Application, str, Received],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    app, webhook_url, received = bot_app
    async with GitHubSandbox(
        FIXTURES / "content", "lessons/content", webhook_url=webhook_url, webhook_secret=SECRET
    ) as sandbox:
        settings = GitHubSettings(
            base_url=sandbox.base_url,
            repository=sandbox.repository,
            token=Secret("lessonbot"),
            seconds_between_requests=0,
            seconds_between_writes=0,
        )
        adapter = GitHubAdapter.from_settings(settings)
        hidden = marker("lesson", "demo/pipes")
        issue = await adapter.create_issue("Pipes", hidden, ["lesson-discussion"], hidden)
        await adapter.create_comment(issue.number, "What does answer=1 mean?")
        pull = await adapter.open_pull_request(
            ProposedChange(
                branch="suggestion-1",
                path="programs/demo/lessons/en/pipes.mdx",
                content="edited\n",
                commit_message="Edit",
                title="Edit",
                body="An edit.",
            )
        )
        await sandbox.wait_for_webhooks()
        deliveries = sandbox.deliveries
    await app[BACKGROUND_TASKS].drain()

    assert deliveries and all(d["status"] == 202 for d in deliveries), deliveries
    events = received.events()
    assert ("issues", "opened") in events
    assert ("issue_comment", "created") in events
    assert ("pull_request", "opened") in events
    assert ("push", None) in events
    opened = next(d for d in received.deliveries if (d.event, d.action) == ("issues", "opened"))
    assert opened.payload["issue"]["number"] == issue.number
    assert opened.payload["sender"]["login"] == "lessonbot"
    push = next(d for d in received.deliveries if d.event == "push")
    assert push.payload["ref"] == "refs/heads/suggestion-1"
    pr = next(d for d in received.deliveries if d.event == "pull_request")
    assert pr.payload["pull_request"]["number"] == pull.number

    async with session_factory() as session:
        rows = (await session.execute(select(WebhookDeliveryRecord))).scalars().all()
    assert sorted(row.delivery_id for row in rows) == sorted(d["delivery_id"] for d in deliveries)
    assert {row.status.value for row in rows} == {"handled"}
