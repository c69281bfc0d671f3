"""The digest posted through the real Discord adapter into the sandbox's digests channel."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.offline import SandboxEnvironment, sandbox_environment
from bot.services.digests import DigestService
from bot.services.outbox import Outbox
from bot.services.ports import ChatEmbed, ChatError
from bot.services.worker import JobWorker
from bot.store.models import (
    DigestDelivery,
    Lesson,
    OutboxJob,
    Question,
    QuestionSource,
    utcnow,
)
from tests.conftest import PROJECT


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[SandboxEnvironment]:
    """Run the sandboxes and the bot over a copy of the project's lessons."""
    content = tmp_path / "content"
    shutil.copytree(PROJECT / "lessons", content)
    async with sandbox_environment(
        Settings(), content_dir=content, state_dir=tmp_path / "state"
    ) as running:
        yield running


async def _ask(env: SandboxEnvironment, count: int) -> None:
    """Record `count` open questions spread over 30 lessons, each with a long text."""
    now = utcnow()
    async with env.app.sessions() as session, session.begin():
        lessons = [Lesson(program="python", slug=f"lesson-{n}") for n in range(30)]
        session.add_all(lessons)
        await session.flush()
        session.add_all(
            Question(
                source=QuestionSource.DISCORD,
                external_id=str(n),
                container_id="1",
                url=f"https://discord.com/channels/1/2/{n}",
                lesson_id=lessons[n % 30].id,
                author_id=str(n),
                author_name=f"learner{n}",
                text=f"Question number {n}: why does step {n} fail on my machine? " * 3,
                asked_at=now - timedelta(hours=2 + n),
                locale="en",
            )
            for n in range(count)
        )


async def _parts(env: SandboxEnvironment) -> list[dict[str, Any]]:
    """Return the embeds the recorded Discord digest is made of, in order."""
    async with env.app.sessions() as session:
        job = await session.scalar(
            select(OutboxJob).where(
                OutboxJob.kind == DigestService.JOB_KIND,
                OutboxJob.dedupe_key.like("%:discord:%"),
            )
        )
    assert job is not None
    return list(job.payload["embeds"])


class _LosesAnAnswer:
    """The bot's chat, but the answer to one post is lost: the part is in the channel,
    and the bot hears of an error (a dropped connection, a crash right after)."""

    def __init__(self, chat: Any, lose: int) -> None:
        self._chat = chat
        self._lose = lose
        self.posts = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._chat, name)

    async def post_message(
        self, channel_id: int, content: str, *, embed: ChatEmbed | None = None
    ) -> list[int]:
        ids = await self._chat.post_message(channel_id, content, embed=embed)
        self.posts += 1
        if self.posts == self._lose:
            raise ChatError("post message", 0, "the connection dropped before the answer")
        return list(ids)


async def test_a_long_digest_reaches_the_channel_whole_and_once(env: SandboxEnvironment) -> None:
    app = env.app
    assert app.signer is not None and app.outbox is not None
    channel = app.settings.discord.digest_channel_id
    assert channel is not None
    await _ask(env, 400)
    service = DigestService(
        app.sessions, app.outbox, app.settings, signer=app.signer, chat=app.bot.chat
    )
    worker = JobWorker(app.outbox, {DigestService.JOB_KIND: service.run_job})
    result = await service.run("manual:e2e")
    # The channel, and an email to each maintainer the sandbox configures.
    assert result.deliveries[0] == f"discord:{channel}"
    assert all(target.endswith("@sandbox.test") for target in result.deliveries[1:])
    assert not (await service.run("manual:e2e")).created
    while await worker.run_once():
        pass
    parts = env.discord.channel_messages(channel)
    expected = await _parts(env)
    assert len(parts) == len(expected) > 3
    # Each part once, in order, each a full embed Discord accepted, and no text beside it.
    assert [m["embeds"][0]["title"] for m in parts] == [e["title"] for e in expected]
    assert all(m["content"] == "" and len(m["embeds"]) == 1 for m in parts)
    shown = "".join(
        field["value"] for m in parts for embed in m["embeds"] for field in embed.get("fields", [])
    )
    for n in range(400):
        assert f"/2/{n})" in shown, n
    assert "400 open questions" in parts[0]["embeds"][0]["description"]
    # The first-reply target rides in the summary as a field. The questions were asked
    # 2 to 401 hours ago, none answered: those whose 24 hours ended in the week counted
    # (asked 24 to 192 hours ago) all missed, and those under 24 hours wait.
    target = {field["name"]: field["value"] for field in parts[0]["embeds"][0]["fields"]}
    assert target["First replies: target 80% within 1 day"] == (
        "Replied in time: 0% (0 of 168), below target · still within the window: 22\n"
        "By program: Python 0%\nBy language: English 0%"
    )
    worst = target["Lessons missing the target most"].splitlines()
    assert len(worst) == 5 and worst[0].startswith("1\\. ")


async def test_a_digest_whose_answer_was_lost_posts_each_part_once(
    env: SandboxEnvironment,
) -> None:
    app = env.app
    assert app.signer is not None
    channel = app.settings.discord.digest_channel_id
    assert channel is not None
    await _ask(env, 120)
    chat = _LosesAnAnswer(app.bot.chat, lose=2)
    outbox = Outbox(app.sessions, backoff_base=0.0, backoff_cap=0.0)
    service = DigestService(
        app.sessions,
        outbox,
        app.settings,
        signer=app.signer,
        chat=chat,  # type: ignore[arg-type]
    )
    worker = JobWorker(outbox, {DigestService.JOB_KIND: service.run_job})
    await service.run("manual:lost")
    while await worker.run_once():
        pass
    parts = env.discord.channel_messages(channel)
    expected = await _parts(env)
    assert len(expected) > 2
    # The second part went out before its answer was lost: the retry found it (and the
    # first) by what they show, and posted only the rest.
    shown = [
        (embed["title"], [(f["name"], f["value"]) for f in embed.get("fields", [])])
        for embed in (m["embeds"][0] for m in parts)
    ]
    assert shown == [(e["title"], [tuple(f) for f in e["fields"]]) for e in expected]
    assert chat.posts == len(expected)
    async with app.sessions() as session:
        delivery = await session.scalar(select(DigestDelivery))
    assert delivery is not None and delivery.attempts == 2 and delivery.status == "sent"
