"""Nothing said while the gateway is down is lost: the real bot, stopped and started again
against the Discord sandbox, reads its lesson post back and records what it missed, once."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import QuestionsSettings
from bot.discord.client import LessonBot, create_bot
from bot.discord.cogs.questions import QuestionsCog, add_questions_cog
from bot.services.questions import QuestionService
from tests.discord.support import make_settings
from tests.e2e.discord.support import ANA, ANSWER_TIMEOUT, BEN, log_in, stop_bot
from tests.e2e.discord.test_questions_live import (
    LESSON,
    MAYA,
    eventually,
    guild_members,  # noqa: F401 - the fixture
    guild_roles,  # noqa: F401 - the fixture
    link_lesson,
    question_of,
    questions_in,
)

Sessions = async_sessionmaker[AsyncSession]


@dataclasses.dataclass
class Process:
    """One gateway process: its bot, the task running it, its questions cog."""

    bot: LessonBot
    task: asyncio.Task[None]
    cog: QuestionsCog


async def start(sandbox: Any, guild: dict[str, Any], sessions: Sessions) -> Process:
    """Start a gateway process as `lessonbot run` does: a new bot, a new session (IDENTIFY)."""
    settings = make_settings(sandbox.api_base_url, sandbox.gateway_url, guild["id"])
    settings = dataclasses.replace(
        settings,
        questions=QuestionsSettings(staff_role_ids=(str(guild["roles"]["maintainers"]),)),
    )
    bot = create_bot(settings, guild_ready_timeout=0.1)
    questions = QuestionService(sessions, settings, chat=bot.chat)
    cog = await add_questions_cog(bot, questions)
    return Process(bot, await log_in(bot), cog)


async def caught_up(process: Process) -> None:
    """Wait until the process's catch-up after its session became ready has ended."""
    for _ in range(int(ANSWER_TIMEOUT / 0.02)):
        if process.cog.catch_ups_ended:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the catch-up did not end in {ANSWER_TIMEOUT}s")


def history_reads(sandbox: Any, thread: int) -> list[dict[str, Any]]:
    path = f"/api/v10/channels/{thread}/messages"
    return [r for r in sandbox.requests if r["method"] == "GET" and r["path"] == path]


async def test_questions_asked_while_the_gateway_is_down_are_recorded_after_a_restart(
    sandbox: Any, guild: dict[str, Any], session_factory: Sessions
) -> None:
    first = await start(sandbox, guild, session_factory)
    thread = await link_lesson(session_factory, first.bot, guild, LESSON)
    asked = await sandbox.post_message(thread, ANA, "¿Cómo se limpian los datos?")

    async def seen_live() -> bool:
        return await question_of(session_factory, int(asked["id"])) is not None

    await eventually(seen_live, "the question asked live")
    await caught_up(first)
    await stop_bot(first.bot, first.task)

    # Down: two questions, and a maintainer's reply to the second.
    ben = await sandbox.post_message(thread, BEN, "How do I load a CSV file?")
    ana = await sandbox.post_message(thread, ANA, "What does dropna do?")
    await sandbox.post_message(thread, MAYA, "Use pandas.read_csv.", reply_to=int(ben["id"]))
    sandbox.clear_requests()

    second = await start(sandbox, guild, session_factory)
    await caught_up(second)
    rows = await questions_in(session_factory)
    assert [row.external_id for row in rows] == [asked["id"], ben["id"], ana["id"]]
    by_ben = rows[1]
    assert (by_ben.answered_how, by_ben.answered_by_staff) == ("reply", True)
    assert rows[0].answered_at is None and rows[2].answered_at is None
    # One page read, of the lesson's post only.
    assert len(history_reads(sandbox, thread)) == 1
    await stop_bot(second.bot, second.task)

    # Started again with nothing new: no post is read, nothing is recorded twice.
    sandbox.clear_requests()
    third = await start(sandbox, guild, session_factory)
    await caught_up(third)
    assert history_reads(sandbox, thread) == []
    assert len(await questions_in(session_factory)) == 3

    # Live messages are recorded as before.
    later = await sandbox.post_message(thread, BEN, "Is there a read_json too?")

    async def seen_later() -> bool:
        return await question_of(session_factory, int(later["id"])) is not None

    await eventually(seen_later, "a question asked after the catch-up")
    await stop_bot(third.bot, third.task)
