"""A merged change that may answer a question, end to end: a learner asks in a lesson's
post on the Discord sandbox, a maintainer merges a PR editing that sentence on the GitHub
sandbox, its webhook reaches the bot's web app, and the asker is told once in the post;
a ✅ on that notice resolves the question."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import select

from bot.config import GitHubSettings, QuestionsSettings, Secret
from bot.discord.client import BotServices, LessonBot, create_bot
from bot.discord.cogs.questions import add_questions_cog
from bot.domain.catalogue import load_catalogue
from bot.github.adapter import GitHubAdapter
from bot.services.lessons import LessonDirectory
from bot.services.linking import LinkDirectory
from bot.services.outbox import Outbox
from bot.services.questions import QuestionService
from bot.services.questions.change_notices import ChangeNotices
from bot.services.worker import JobWorker
from bot.store.models import ChangeNotice, Question
from bot.web.app import create_web_app
from bot.web.keys import BACKGROUND_TASKS
from bot.web.router import WebhookRouter
from sandboxes.github import GitHubSandbox
from tests.discord.support import LESSONS, make_settings
from tests.e2e.discord.support import ANA, BEN, log_in, stop_bot
from tests.e2e.discord.test_questions_live import (
    Sessions,
    eventually,
    link_lesson,
    question_of,
    questions_in,
)
from tests.services.test_change_notices import _merge_an_edit

SECRET = "change-notice-secret"
LESSON = "data-basics/train-test-split"


@pytest.fixture
def guild_members() -> list[dict[str, Any]]:
    """Return two learners."""
    return [
        {"id": ANA, "username": "ana", "locale": "es-ES"},
        {"id": BEN, "username": "ben", "locale": "en-US"},
    ]


@dataclass
class World:
    """The bot on both sandboxes: its post, its web app, its worker."""

    bot: LessonBot
    github: GitHubSandbox
    app: web.Application
    worker: JobWorker
    thread: int

    async def settle(self) -> None:
        """Let every webhook reach the app and its handlers finish, then run due jobs."""
        for _ in range(3):
            await self.github.wait_for_webhooks()
            await self.app[BACKGROUND_TASKS].drain()
            while await self.worker.run_once():
                pass


@pytest.fixture
async def world(
    sandbox: Any, guild: dict[str, Any], session_factory: Sessions
) -> AsyncIterator[World]:
    """Yield the logged-in bot following the GitHub sandbox's webhooks."""
    settings = make_settings(sandbox.api_base_url, sandbox.gateway_url, guild["id"])
    catalogue = load_catalogue(LESSONS)
    directory = LessonDirectory(catalogue, "en")
    bot = create_bot(settings, guild_ready_timeout=0.1)
    links = LinkDirectory(session_factory)
    await bot.add_service_cogs(BotServices(lessons=directory, links=links))
    questions = QuestionService(
        session_factory, settings, chat=bot.chat, catalogue=lambda: catalogue
    )
    await add_questions_cog(bot, questions, directory, links)
    task = await log_in(bot)
    thread = await link_lesson(session_factory, bot, guild, LESSON)
    router = WebhookRouter()
    web_settings = dataclasses.replace(
        settings, github=GitHubSettings(webhook_secret=Secret(SECRET))
    )
    app = create_web_app(web_settings, session_factory=session_factory, webhook_router=router)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    hook = f"http://127.0.0.1:{runner.addresses[0][1]}/webhooks/github"
    try:
        async with GitHubSandbox(
            LESSONS, "lessons/content", webhook_url=hook, webhook_secret=SECRET
        ) as github_sandbox:
            adapter = GitHubAdapter.from_settings(
                GitHubSettings(
                    base_url=github_sandbox.base_url,
                    repository=github_sandbox.repository,
                    token=Secret("lessonbot"),
                    seconds_between_requests=0,
                    seconds_between_writes=0,
                )
            )
            outbox = Outbox(session_factory)
            notices = ChangeNotices(
                session_factory,
                outbox,
                dataclasses.replace(
                    settings,
                    github=GitHubSettings(repository=github_sandbox.repository),
                    questions=QuestionsSettings(change_notices=True),
                ),
                github=adapter,
                chat=bot.chat,
            )
            router.follow(*notices.webhook_handlers())
            worker = JobWorker(outbox, {ChangeNotices.JOB_KIND: notices.run_job})
            try:
                yield World(bot, github_sandbox, app, worker, thread)
            finally:
                adapter.close()
    finally:
        await runner.cleanup()
        await stop_bot(bot, task)


async def test_the_asker_is_told_once_in_the_post_and_a_check_mark_resolves(
    sandbox: Any, world: World, session_factory: Sessions
) -> None:
    thread = world.thread
    asked = await sandbox.post_message(
        thread, BEN, "Why does shuffling randomly before splitting make both parts look alike?"
    )
    other = await sandbox.post_message(
        thread, ANA, "¿Para qué sirve el conjunto de validación si el de prueba queda aparte?"
    )

    async def both_recorded() -> bool:
        return len(await questions_in(session_factory)) == 2

    await eventually(both_recorded, "both questions recorded")
    before = len(sandbox.channel_messages(thread))

    number = await asyncio.to_thread(_merge_an_edit, world.github.base_url, world.github.repository)
    await world.settle()
    pull_url = f"{world.github.base_url}/lessons/content/pull/{number}"

    told = sandbox.channel_messages(thread)[before:]
    assert len(told) == 1
    (notice,) = told
    assert notice["content"].startswith(f"<@{BEN}> ")
    assert pull_url in notice["content"]
    assert "fixed random seed" in notice["content"]
    assert not any(f"<@{ANA}>" in message["content"] for message in told)

    # Whatever runs again tells nobody twice.
    await world.settle()
    assert len(sandbox.channel_messages(thread)) == before + 1

    await sandbox.add_reaction(thread, int(notice["id"]), BEN, "✅")

    async def resolved() -> bool:
        found = await question_of(session_factory, int(asked["id"]))
        return found is not None and found.resolved_at is not None

    await eventually(resolved, "Ben's question resolved by ✅ on the notice")
    unrelated = await question_of(session_factory, int(other["id"]))
    assert unrelated is not None and unrelated.resolved_at is None
    async with session_factory() as session:
        rows = list(await session.scalars(select(ChangeNotice)))
        ben = await session.scalar(select(Question).where(Question.author_id == str(BEN)))
    assert [(row.question_id, row.message_id) for row in rows] == [
        (ben.id if ben else 0, int(notice["id"]))
    ]
