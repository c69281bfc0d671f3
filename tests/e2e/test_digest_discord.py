"""The digest posted through the real Discord adapter into the sandbox's digests channel."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

from bot.config import Settings
from bot.sandbox.everything import sandbox_environment
from bot.services.digests import DigestService
from bot.services.worker import JobWorker
from bot.store.models import Lesson, Question, QuestionSource, utcnow
from tests.conftest import PROJECT


async def test_a_long_digest_reaches_the_channel_whole_and_once(tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(PROJECT / "lessons", content)
    async with sandbox_environment(
        Settings(), content_dir=content, state_dir=tmp_path / "state"
    ) as env:
        app = env.app
        assert app.signer is not None and app.outbox is not None
        channel = app.settings.discord.digest_channel_id
        assert channel is not None
        now = utcnow()
        async with app.sessions() as session, session.begin():
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
                for n in range(400)
            )
        service = DigestService(
            app.sessions, app.outbox, app.settings, signer=app.signer, chat=app.bot.chat
        )
        worker = JobWorker(app.outbox, {DigestService.JOB_KIND: service.run_job})
        result = await service.run("manual:e2e")
        assert result.deliveries == (f"discord:{channel}",)
        assert not (await service.run("manual:e2e")).created
        while await worker.run_once():
            pass
        messages = env.discord.channel_messages(channel)
        parts = [m for m in messages if "manual:e2e" in m["content"]]
        assert len(parts) > 3
        # Each part once, in order, each a full embed Discord accepted.
        assert [m["content"].split(" · ")[1] for m in parts] == [
            f"{index}/{len(parts)}" for index in range(1, len(parts) + 1)
        ]
        shown = "".join(
            field["value"]
            for m in parts
            for embed in m["embeds"]
            for field in embed.get("fields", [])
        )
        for n in range(400):
            assert f"/2/{n})" in shown, n
        assert "400 open questions" in parts[0]["embeds"][0]["description"]
