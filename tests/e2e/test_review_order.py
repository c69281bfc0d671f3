"""Statuses only move forward, whatever order review and merge webhooks arrive in.

Signed deliveries reach the bot's web app at once, as GitHub sends an approval and the merge
that follows it a few milliseconds apart; the handlers then race on the database.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import GitHubSettings, Secret, Settings
from bot.domain.catalogue import load_catalogue
from bot.services.outbox import Outbox
from bot.services.signing import Signer
from bot.services.suggestions import (
    Author,
    SuggestionError,
    SuggestionInput,
    SuggestionService,
)
from bot.store.models import Suggestion, SuggestionSource, SuggestionStatus
from bot.web.app import create_web_app
from bot.web.keys import BACKGROUND_TASKS
from bot.web.router import WebhookRouter
from tests.conftest import FIXTURES
from tests.web.support import encode, github_headers

Sessions = async_sessionmaker[AsyncSession]
SECRET = "review-order-secret"
REPOSITORY = "lessons/content"
PAIRS = 20


@dataclasses.dataclass
class Bot:
    url: str
    app: web.Application
    service: SuggestionService


@pytest.fixture
async def bot(session_factory: Sessions, tmp_path: Path) -> AsyncIterator[Bot]:
    content = tmp_path / "content"
    shutil.copytree(FIXTURES / "content", content)
    catalogue = load_catalogue(content, "en")
    settings = Settings(github=GitHubSettings(webhook_secret=Secret(SECRET), repository=REPOSITORY))
    router = WebhookRouter()
    service = SuggestionService(
        session_factory,
        Outbox(session_factory),
        settings,
        catalogue=lambda: catalogue,
        signer=Signer(b"s" * 32),
    )
    router.follow(*service.webhook_handlers())
    app = create_web_app(settings, session_factory=session_factory, webhook_router=router)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield Bot(f"http://127.0.0.1:{runner.addresses[0][1]}", app, service)
    finally:
        await runner.cleanup()


async def open_suggestions(bot: Bot, sessions: Sessions, count: int) -> dict[int, int]:
    """Submit `count` suggestions and mark each as having an open PR; return id -> number."""
    numbers = {}
    for index in range(count):
        submitted = await bot.service.submit(
            SuggestionInput(
                lesson="demo/pipes",
                locale="en",
                find="Fixtures are small on purpose.",
                replace=f"Fixtures are small on purpose ({index}).",
                reason="Clearer",
                source=SuggestionSource.API,
                author=Author(name=f"P{index}", handle=f"ip:{index}"),
            )
        )
        numbers[submitted.id] = 100 + index
    async with sessions() as session, session.begin():
        for suggestion_id, number in numbers.items():
            await session.execute(
                update(Suggestion)
                .where(Suggestion.id == suggestion_id)
                .values(pr_number=number, status=SuggestionStatus.OPEN)
            )
    return numbers


def pull(number: int, suggestion_id: int, **fields: Any) -> dict[str, Any]:
    return {
        "number": number,
        "html_url": f"https://github.test/{REPOSITORY}/pull/{number}",
        "head": {
            "ref": f"lessonbot/suggest/{suggestion_id}",
            "repo": {"full_name": REPOSITORY},
        },
        "user": {"login": "lessonbot"},
        **fields,
    }


async def post(http: ClientSession, url: str, event: str, payload: dict[str, Any]) -> int:
    body = encode({**payload, "repository": {"full_name": REPOSITORY}})
    headers = github_headers(event, body, secret=SECRET)
    async with http.post(f"{url}/webhooks/github", data=body, headers=headers) as response:
        return response.status


async def test_a_merge_and_the_approval_before_it_end_merged_in_any_arrival_order(
    bot: Bot, session_factory: Sessions
) -> None:
    numbers = await open_suggestions(bot, session_factory, PAIRS)
    shuffle = random.Random(7)

    async def pair(http: ClientSession, suggestion_id: int, number: int) -> list[int]:
        approval = post(
            http,
            bot.url,
            "pull_request_review",
            {
                "action": "submitted",
                "review": {"id": number, "state": "approved", "user": {"login": "mia"}},
                "pull_request": pull(number, suggestion_id),
            },
        )
        merge = post(
            http,
            bot.url,
            "pull_request",
            {
                "action": "closed",
                "pull_request": pull(
                    number, suggestion_id, merged=True, merged_by={"login": "mia"}
                ),
                "sender": {"login": "mia"},
            },
        )
        first, second = (approval, merge) if shuffle.random() < 0.5 else (merge, approval)
        gap = shuffle.uniform(0, 0.005)

        async def later() -> int:
            await asyncio.sleep(gap)
            return await second

        return list(await asyncio.gather(first, later()))

    async with ClientSession() as http:
        statuses = await asyncio.gather(
            *(pair(http, suggestion_id, number) for suggestion_id, number in numbers.items())
        )
    assert {status for answer in statuses for status in answer} == {202}
    await bot.app[BACKGROUND_TASKS].drain()

    for suggestion_id in numbers:
        view = await bot.service.view(suggestion_id)
        assert view is not None
        kinds = [event.kind for event in view.events]
        assert view.status == "merged", kinds
        # Nothing after the merge claims the suggestion is back under review.
        assert "approved" not in kinds[kinds.index("merged") :]
        with pytest.raises(SuggestionError) as refused:
            await bot.service.revise(
                suggestion_id, "Fixtures", "Tests", "late", discord_user_id=None, token="x"
            )
        assert refused.value.code in ("not_revisable", "token_invalid")


async def test_an_event_for_a_pr_the_bot_did_not_record_is_ignored(
    bot: Bot, session_factory: Sessions
) -> None:
    [(suggestion_id, number)] = (await open_suggestions(bot, session_factory, 1)).items()
    async with ClientSession() as http:
        # Same branch name, another PR number, opened by someone else: not ours.
        decoy = pull(number + 50, suggestion_id, merged=False, user={"login": "mallory"})
        assert (
            await post(http, bot.url, "pull_request", {"action": "closed", "pull_request": decoy})
            == 202
        )
        # Our PR number, but another repository's event.
        body = encode(
            {
                "action": "closed",
                "pull_request": pull(number, suggestion_id, merged=False),
                "repository": {"full_name": "mallory/content"},
            }
        )
        headers = github_headers("pull_request", body, secret=SECRET)
        async with http.post(f"{bot.url}/webhooks/github", data=body, headers=headers) as answer:
            assert answer.status == 202
    await bot.app[BACKGROUND_TASKS].drain()
    view = await bot.service.view(suggestion_id)
    assert view is not None and view.status == "open"
