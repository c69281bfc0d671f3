"""Nudges through discord.py against the Discord sandbox: an unanswered question is raised
once with the helper role pinged; an answered one asks its asker with "Solved" / "Still
stuck", which only the asker may press; "Still stuck" puts it back in the digest."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import QuestionsSettings, Settings
from bot.discord.client import BotServices, LessonBot, create_bot
from bot.domain.catalogue import load_catalogue
from bot.i18n import t
from bot.services.digests import DigestService
from bot.services.lessons import LessonDirectory
from bot.services.linking import LinkDirectory
from bot.services.outbox import Outbox
from bot.services.questions import QuestionService
from bot.services.questions.nudges import NUDGE_KIND, SOLVED, STUCK, NudgeService, nudge_button_id
from bot.services.signing import Signer
from bot.store.models import Question
from tests.discord.support import LESSONS, make_settings
from tests.e2e.discord.support import ANA, ANSWER_TIMEOUT, BEN, log_in, stop_bot
from tests.e2e.discord.test_questions_live import LESSON, eventually, link_lesson, question_of

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
def guild_roles() -> list[str]:
    """Return the helpers' role the nudges mention."""
    return ["helpers"]


@pytest.fixture
def guild_members() -> list[dict[str, Any]]:
    """Return a Spanish-speaking asker and an English-speaking learner."""
    return [
        {"id": ANA, "username": "ana", "locale": "es-ES"},
        {"id": BEN, "username": "ben", "locale": "en-US"},
    ]


class Clock:
    """The nudges' clock, moved on by the test (Discord's own times stay real)."""

    def __init__(self) -> None:
        self.now = datetime.now().astimezone()

    def __call__(self) -> datetime:
        return self.now


@dataclasses.dataclass
class Running:
    """The bot with the questions and nudges cogs, its services and the lesson post."""

    bot: LessonBot
    nudges: NudgeService
    clock: Clock
    thread: int
    settings: Settings
    role: int


@pytest.fixture
async def running(
    sandbox: Any, guild: dict[str, Any], session_factory: Sessions
) -> AsyncIterator[Running]:
    """Yield the real bot logged in, wired as the app wires it, with one linked lesson post."""
    role = int(guild["roles"]["helpers"])
    settings = make_settings(sandbox.api_base_url, sandbox.gateway_url, guild["id"])
    # No quiet hours: the test's clock starts at the machine's time, whatever it is.
    settings = dataclasses.replace(
        settings, questions=QuestionsSettings(helper_role_id=str(role), quiet_hours="")
    )
    catalogue = load_catalogue(LESSONS)
    bot = create_bot(settings, guild_ready_timeout=0.1)
    clock = Clock()
    questions = QuestionService(session_factory, settings, chat=bot.chat)
    nudges = NudgeService(
        session_factory, Outbox(session_factory, clock=clock), settings, chat=bot.chat, clock=clock
    )
    services = BotServices(
        lessons=LessonDirectory(catalogue, "en"),
        links=LinkDirectory(session_factory),
        questions=questions,
        nudges=nudges,
    )
    await bot.add_service_cogs(services)
    task = await log_in(bot)
    thread = await link_lesson(session_factory, bot, guild, LESSON)
    yield Running(bot, nudges, clock, thread, settings, role)
    await stop_bot(bot, task)


async def work(running: Running, sessions: Sessions) -> list[str]:
    """Run the nudge jobs due now, as the worker does."""
    claims = await Outbox(sessions, clock=running.clock).claim_due(10, [NUDGE_KIND])
    return [await running.nudges.run_job(claim) for claim in claims]


async def recorded(sessions: Sessions, message_id: int) -> Question:
    """Wait until the bot recorded the question a message asks; return it."""

    async def found() -> bool:
        return await question_of(sessions, message_id) is not None

    await eventually(found, f"question {message_id} recorded")
    row = await question_of(sessions, message_id)
    assert row is not None
    return row


def bot_messages(sandbox: Any, thread: int, bot_id: int) -> list[dict[str, Any]]:
    return [m for m in sandbox.channel_messages(thread) if int(m["author"]["id"]) == bot_id]


async def click(
    sandbox: Any, message: dict[str, Any], user: int, custom_id: str, locale: str
) -> Any:
    """Press a button under a message as a user; return the bot's one answer."""
    pressed = await sandbox.click(
        int(message["channel_id"]), int(message["id"]), user, custom_id, locale=locale
    )
    (answer,) = await sandbox.wait_for_interaction_response(pressed, timeout=ANSWER_TIMEOUT)
    return answer


async def test_an_unanswered_question_gets_one_nudge_that_pings_the_helpers(
    sandbox: Any, running: Running, session_factory: Sessions
) -> None:
    asked = await sandbox.post_message(running.thread, ANA, "¿Cómo se limpian los datos?")
    question = await recorded(session_factory, int(asked["id"]))
    before = len(bot_messages(sandbox, running.thread, sandbox.bot_user_id))

    running.clock.now = question.asked_at + timedelta(hours=25)
    assert await running.nudges.scan() == 1
    assert len(await work(running, session_factory)) == 1
    assert await running.nudges.scan() == 0
    assert await work(running, session_factory) == []

    posted = bot_messages(sandbox, running.thread, sandbox.bot_user_id)[before:]
    assert len(posted) == 1
    (nudge,) = posted
    assert nudge["content"].startswith(f"<@&{running.role}> esta pregunta lleva 25 horas")
    assert "¿Cómo se limpian los datos?" in nudge["content"] and question.url in nudge["content"]
    # Pinged: the sandbox, like Discord, lists only the mentions allowed_mentions let through.
    assert nudge["mention_roles"] == [str(running.role)]


async def test_still_stuck_from_the_asker_reopens_it_and_others_are_refused(
    sandbox: Any, running: Running, session_factory: Sessions
) -> None:
    asked = await sandbox.post_message(running.thread, ANA, "¿Cómo se limpian los datos?")
    await sandbox.post_message(running.thread, BEN, "Use dropna to drop the empty rows.")
    question = await recorded(session_factory, int(asked["id"]))

    async def answered() -> bool:
        row = await question_of(session_factory, int(asked["id"]))
        return row is not None and row.answered_at is not None

    await eventually(answered, "the question answered")
    row = await question_of(session_factory, int(asked["id"]))
    assert row is not None and row.answered_at is not None
    running.clock.now = row.answered_at + timedelta(days=3, hours=1)
    assert await running.nudges.scan() == 1
    assert len(await work(running, session_factory)) == 1

    nudge = bot_messages(sandbox, running.thread, sandbox.bot_user_id)[-1]
    assert nudge["content"].startswith(f"<@{ANA}>, tu pregunta recibió una respuesta hace 3 días")
    buttons = [c for row_ in nudge["components"] for c in row_["components"]]
    stuck = nudge_button_id(STUCK, question.id, 0)
    assert [(b["label"], b["custom_id"]) for b in buttons] == [
        ("Resuelta", nudge_button_id(SOLVED, question.id, 0)),
        ("Sigo atascado", stuck),
    ]
    assert nudge["mentions"][0]["id"] == str(ANA) and nudge["mention_roles"] == []

    refused = await click(sandbox, nudge, BEN, stuck, "en-US")
    assert refused["ephemeral"] is True
    assert refused["data"]["content"] == t("en", "nudge.not_asker")
    row = await question_of(session_factory, int(asked["id"]))
    assert row is not None and row.answered_at is not None and row.reopen_count == 0

    reopened = await click(sandbox, nudge, ANA, stuck, "es-ES")
    assert reopened["ephemeral"] is True
    assert reopened["data"]["content"] == t("es", "nudge.reopened")
    row = await question_of(session_factory, int(asked["id"]))
    assert row is not None and row.answered_at is None and row.reopen_count == 1

    digest = await DigestService(
        session_factory, Outbox(session_factory), running.settings, signer=Signer(b"k" * 32)
    ).build()
    shown = [q.id for p in digest.programs for lesson in p.lessons for q in lesson.questions]
    assert shown == [question.id] and digest.open_count == 1

    # A second press of the same button changes nothing, and says so.
    again = await click(sandbox, nudge, ANA, stuck, "es-ES")
    assert again["data"]["content"] == t("es", "nudge.stale")


async def test_solved_from_the_asker_resolves_it_by_button(
    sandbox: Any, running: Running, session_factory: Sessions
) -> None:
    asked = await sandbox.post_message(running.thread, BEN, "How do I load a CSV file?")
    await sandbox.post_message(running.thread, ANA, "Usa pandas.read_csv con la ruta del archivo.")

    async def answered() -> bool:
        row = await question_of(session_factory, int(asked["id"]))
        return row is not None and row.answered_at is not None

    await eventually(answered, "the question answered")
    row = await question_of(session_factory, int(asked["id"]))
    assert row is not None and row.answered_at is not None
    running.clock.now = row.answered_at + timedelta(days=4)
    assert await running.nudges.scan() == 1
    await work(running, session_factory)
    nudge = bot_messages(sandbox, running.thread, sandbox.bot_user_id)[-1]
    assert nudge["content"].startswith(f"<@{BEN}>, your question was answered 4 days ago")

    solved = await click(sandbox, nudge, BEN, nudge_button_id(SOLVED, row.id, 0), "en-US")
    assert solved["ephemeral"] is True and solved["data"]["content"] == t("en", "nudge.solved")
    row = await question_of(session_factory, int(asked["id"]))
    assert row is not None and row.resolved_at is not None
    assert (row.resolved_by, row.resolved_how) == (str(BEN), "button")
    digest = await DigestService(
        session_factory, Outbox(session_factory), running.settings, signer=Signer(b"k" * 32)
    ).build()
    assert digest.open_count == 0
