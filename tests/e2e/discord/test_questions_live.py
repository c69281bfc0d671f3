"""Questions in lesson posts through discord.py against the Discord sandbox: people post,
reply, react ✅, edit and delete in a lesson's post, and run `/ask` and `/resolve`."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import QuestionsSettings, Settings
from bot.discord.client import BotServices, LessonBot, create_bot
from bot.discord.cogs.questions import add_questions_cog
from bot.domain.catalogue import load_catalogue
from bot.i18n import t
from bot.services.digests import DigestService
from bot.services.lessons import LessonDirectory
from bot.services.linking import LinkDirectory
from bot.services.outbox import Outbox
from bot.services.questions import QuestionService
from bot.services.signing import Signer
from bot.store.models import Lesson, LessonLink, ProgramForum, Question
from tests.discord.support import LESSONS, make_settings
from tests.e2e.discord.support import ANA, ANSWER_TIMEOUT, BEN, EPHEMERAL, STRING, log_in, stop_bot

POLL_SECONDS = 0.02
MAYA = 1003  # a maintainer
LESSON = "data-basics/what-is-data"
OTHER = "prompt-craft/checking-answers"

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
def guild_roles() -> list[str]:
    """Return the maintainers' role."""
    return ["maintainers"]


@pytest.fixture
def guild_members() -> list[dict[str, Any]]:
    """Return two learners and a maintainer."""
    return [
        {"id": ANA, "username": "ana", "locale": "es-ES"},
        {"id": BEN, "username": "ben", "locale": "en-US"},
        {"id": MAYA, "username": "maya", "locale": "en-US", "roles": ["maintainers"]},
    ]


@dataclasses.dataclass
class Running:
    """The bot, its question service and the lesson post it watches."""

    bot: LessonBot
    questions: QuestionService
    thread: int
    created: list[str]
    settings: Settings


async def link_lesson(
    sessions: Sessions, bot: LessonBot, guild: dict[str, Any], identity: str
) -> int:
    """Open a lesson's post as the bot does and store its link; return the thread id."""
    forum = guild["channels"]["data-basics"]
    post = await bot.chat.create_forum_post(forum, identity, f"Discuss {identity} here.")
    program, _, slug = identity.partition("/")
    async with sessions() as session, session.begin():
        # One forum serves both programs here: its guild is what the links need.
        known = select(ProgramForum).where(ProgramForum.discord_forum_id == forum)
        if await session.scalar(known) is None:
            session.add(
                ProgramForum(
                    program=program,
                    discord_guild_id=guild["id"],
                    discord_forum_id=forum,
                    tag_ids={},
                )
            )
        lesson = Lesson(program=program, slug=slug)
        session.add(lesson)
        await session.flush()
        session.add(
            LessonLink(
                lesson_id=lesson.id,
                discord_forum_id=forum,
                discord_thread_id=post.thread_id,
                discord_starter_message_id=post.message_ids[0],
            )
        )
    return post.thread_id


@pytest.fixture
async def running(
    sandbox: Any, guild: dict[str, Any], session_factory: Sessions
) -> AsyncIterator[Running]:
    """Yield the real bot with the questions cog, logged in, with one linked lesson post."""
    settings = make_settings(sandbox.api_base_url, sandbox.gateway_url, guild["id"])
    settings = dataclasses.replace(
        settings,
        questions=QuestionsSettings(staff_role_ids=(str(guild["roles"]["maintainers"]),)),
    )
    catalogue = load_catalogue(LESSONS)
    directory = LessonDirectory(catalogue, "en")
    bot = create_bot(settings, guild_ready_timeout=0.1)
    questions = QuestionService(
        session_factory, settings, chat=bot.chat, catalogue=lambda: catalogue
    )
    created: list[str] = []

    async def create(identity: str) -> None:
        # Lazy mode: the first /ask about a lesson opens its post.
        created.append(identity)
        await link_lesson(session_factory, bot, guild, identity)

    links = LinkDirectory(session_factory, creator=create)
    await bot.add_service_cogs(BotServices(lessons=directory, links=links))
    # Added before login, so the bot registers /ask and /resolve with the rest.
    await add_questions_cog(bot, questions, directory, links)
    task = await log_in(bot)
    thread = await link_lesson(session_factory, bot, guild, LESSON)
    yield Running(bot, questions, thread, created, settings)
    await stop_bot(bot, task)


async def questions_in(sessions: Sessions) -> list[Question]:
    async with sessions() as session:
        return list(await session.scalars(select(Question).order_by(Question.id)))


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Wait until the bot has handled the gateway events `check` looks for in the database."""
    for _ in range(int(ANSWER_TIMEOUT / POLL_SECONDS)):
        if await check():
            return
        await asyncio.sleep(POLL_SECONDS)
    raise AssertionError(f"not seen in {ANSWER_TIMEOUT}s: {what}")


async def question_of(sessions: Sessions, message_id: int) -> Question | None:
    async with sessions() as session:
        return await session.scalar(select(Question).where(Question.external_id == str(message_id)))


async def run(
    sandbox: Any,
    guild: dict[str, Any],
    channel: int,
    user: int,
    name: str,
    options: list[dict[str, Any]],
    locale: str,
) -> dict[str, Any]:
    """Run a slash command as a user and return the bot's one answer."""
    interaction_id = await sandbox.run_command(
        guild["id"], channel, user, name, options=options, locale=locale
    )
    (answer,) = await sandbox.wait_for_interaction_response(interaction_id, timeout=ANSWER_TIMEOUT)
    return answer


async def test_posts_are_captured_answered_by_staff_and_resolved_with_a_check_mark(
    sandbox: Any, guild: dict[str, Any], running: Running, session_factory: Sessions
) -> None:
    thread = running.thread
    ana = await sandbox.post_message(thread, ANA, "¿Cómo se limpian los datos?")
    ben = await sandbox.post_message(thread, BEN, "How do I load a CSV file")
    answer = await sandbox.post_message(thread, BEN, "Use dropna to drop empty rows.")
    ana_id, ben_id = int(ana["id"]), int(ben["id"])

    async def both_recorded() -> bool:
        rows = await questions_in(session_factory)
        return len(rows) == 2 and rows[0].answer_id is not None

    await eventually(both_recorded, "both questions recorded, Ana's answered")
    first, second = await questions_in(session_factory)
    assert (first.author_id, first.locale, first.rule) == (str(ANA), "es", "question_mark")
    assert (second.author_id, second.locale) == (str(BEN), "en")
    assert first.url == f"https://discord.com/channels/{guild['id']}/{thread}/{ana_id}"
    # Ben's answer is a later message by someone else: it answers the newest open question
    # that is not his own, Ana's.
    assert first.answer_id == answer["id"] and not first.answered_by_staff
    assert first.answered_how == "later_message"

    # The maintainer replies to Ben's question: a staff answer to that one.
    await sandbox.post_message(thread, MAYA, "Use pandas.read_csv.", reply_to=ben_id)

    async def staff_answered() -> bool:
        found = await question_of(session_factory, ben_id)
        return found is not None and found.answered_by_staff

    await eventually(staff_answered, "Ben's question answered by staff")
    found = await question_of(session_factory, ben_id)
    assert found is not None and found.answered_how == "reply"

    # Someone else's ✅ changes nothing; the asker's resolves; taking it back reopens.
    await sandbox.add_reaction(thread, ben_id, ANA, "✅")
    await sandbox.add_reaction(thread, ben_id, BEN, "✅")

    async def resolved() -> bool:
        found = await question_of(session_factory, ben_id)
        return found is not None and found.resolved_at is not None

    await eventually(resolved, "resolved by the asker's ✅")
    found = await question_of(session_factory, ben_id)
    assert found is not None and (found.resolved_by, found.resolved_how) == (str(BEN), "reaction")

    await sandbox.remove_reaction(thread, ben_id, BEN, "✅")

    async def reopened() -> bool:
        found = await question_of(session_factory, ben_id)
        return found is not None and found.resolved_at is None

    await eventually(reopened, "reopened when the ✅ is taken back")
    # The maintainer's ✅ resolves someone else's question.
    await sandbox.add_reaction(thread, ana_id, MAYA, "✅")

    async def ana_resolved() -> bool:
        found = await question_of(session_factory, ana_id)
        return found is not None and found.resolved_by == str(MAYA)

    await eventually(ana_resolved, "resolved by a maintainer's ✅")


async def test_thanks_from_someone_else_leave_the_question_open_in_the_digest(
    sandbox: Any, guild: dict[str, Any], running: Running, session_factory: Sessions
) -> None:
    thread = running.thread
    asked = await sandbox.post_message(thread, ANA, "¿Cómo se limpian los datos?")
    await sandbox.post_message(thread, BEN, "Great lesson, thanks!")
    await sandbox.post_message(thread, MAYA, "+1, same here")
    # A marker message the bot handles after the chatter: once it is recorded, all was seen.
    marker = await sandbox.post_message(thread, BEN, "How do I load a CSV file?")

    async def seen() -> bool:
        return await question_of(session_factory, int(marker["id"])) is not None

    await eventually(seen, "the chatter and the marker question handled")
    found = await question_of(session_factory, int(asked["id"]))
    assert found is not None and found.answered_at is None and found.answer_id is None

    digests = DigestService(
        session_factory,
        Outbox(session_factory),
        running.settings,
        signer=Signer(b"k" * 32),
    )
    digest = await digests.build()
    shown = {q.id: q for p in digest.programs for lesson in p.lessons for q in lesson.questions}
    assert found.id in shown and shown[found.id].excerpt == "¿Cómo se limpian los datos?"
    assert digest.open_count == 2


async def test_edits_and_deletions_are_re_evaluated(
    sandbox: Any, guild: dict[str, Any], running: Running, session_factory: Sessions
) -> None:
    thread = running.thread
    asked = await sandbox.post_message(thread, BEN, "Why is my chart empty?")
    deleted = await sandbox.post_message(thread, ANA, "¿Dónde está el archivo?")
    statement = await sandbox.post_message(thread, ANA, "Los datos son números.")

    async def recorded() -> bool:
        return len(await questions_in(session_factory)) == 2

    await eventually(recorded, "two questions recorded")
    await sandbox.edit_message(thread, int(asked["id"]), "My chart was empty; fixed it.")
    await sandbox.delete_message(thread, int(deleted["id"]))
    await sandbox.edit_message(thread, int(statement["id"]), "¿Los datos son solo números?")

    async def settled() -> bool:
        rows = await questions_in(session_factory)
        return len(rows) == 3 and all(row.dropped_at is not None for row in rows[:2])

    await eventually(settled, "edited and deleted questions dropped, the new one recorded")
    edited, gone, new = await questions_in(session_factory)
    assert (edited.drop_reason, gone.drop_reason, new.dropped_at) == (
        "not_a_question",
        "deleted",
        None,
    )
    assert new.external_id == statement["id"] and new.locale == "es"
    assert [view.text for view in await running.questions.list()] == [
        "¿Los datos son solo números?"
    ]


async def test_the_bots_own_messages_are_ignored(
    sandbox: Any, guild: dict[str, Any], running: Running, session_factory: Sessions
) -> None:
    thread = running.thread
    # What the bridge posts (a GitHub comment shown in the post) is the bot's message.
    await running.bot.chat.post_message(thread, "**maya** commented: Why not use tee?")
    question = await sandbox.post_message(thread, ANA, "¿Qué es un CSV?")
    await running.bot.chat.post_message(thread, "**maya** commented: It is a text table.")
    marker = await sandbox.post_message(thread, BEN, "Just a note.")

    async def seen() -> bool:
        return await question_of(session_factory, int(question["id"])) is not None

    await eventually(seen, "Ana's question recorded")

    # Ben's later message is handled after the bot's: once it answers, the bot's were seen.
    async def answered() -> bool:
        found = await question_of(session_factory, int(question["id"]))
        return found is not None and found.answered_at is not None

    await eventually(answered, "answered by Ben")
    [row] = await questions_in(session_factory)
    assert row.answer_id == marker["id"]


async def test_ask_in_the_post_and_resolve_it(
    sandbox: Any, guild: dict[str, Any], running: Running, session_factory: Sessions
) -> None:
    thread = running.thread
    answer = await run(
        sandbox,
        guild,
        thread,
        ANA,
        "ask",
        [{"name": "question", "type": STRING, "value": "qué significa @everyone aquí"}],
        "es-ES",
    )
    assert answer["data"]["flags"] & EPHEMERAL
    [row] = await questions_in(session_factory)
    assert (row.rule, row.author_id, row.text) == ("ask", str(ANA), "qué significa @everyone aquí")
    url = f"https://discord.com/channels/{guild['id']}/{thread}/{row.external_id}"
    assert answer["data"]["content"] == t("es", "questions.asked", url=url)
    posted = sandbox.message(thread, int(row.external_id))
    assert (
        f"<@{ANA}>" in posted["content"] and "> qué significa @everyone aquí" in posted["content"]
    )
    assert posted["author"]["id"] == str(sandbox.bot_user_id)

    # Ben may not resolve Ana's question; Ana may, naming it by its link.
    refused = await run(
        sandbox,
        guild,
        thread,
        BEN,
        "resolve",
        [{"name": "message_link", "type": STRING, "value": url}],
        "en-US",
    )
    assert refused["data"]["content"] == t("en", "questions.resolve_forbidden")
    done = await run(
        sandbox,
        guild,
        thread,
        ANA,
        "resolve",
        [{"name": "message_link", "type": STRING, "value": url}],
        "es-ES",
    )
    assert done["data"]["content"] == t("es", "questions.resolved", count=1)
    [row] = await questions_in(session_factory)
    assert (row.resolved_by, row.resolved_how) == (str(ANA), "command")

    again = await run(sandbox, guild, thread, ANA, "resolve", [], "es-ES")
    assert again["data"]["content"] == t("es", "questions.resolve_none")
    elsewhere = await run(
        sandbox,
        guild,
        thread,
        ANA,
        "resolve",
        [{"name": "message_link", "type": STRING, "value": "https://discord.com/channels/1/2/3"}],
        "es-ES",
    )
    assert elsewhere["data"]["content"] == t("es", "questions.bad_link")


async def test_ask_names_a_lesson_and_creates_its_post_lazily(
    sandbox: Any, guild: dict[str, Any], running: Running, session_factory: Sessions
) -> None:
    general = guild["channels"]["general"]
    nowhere = await run(
        sandbox,
        guild,
        general,
        BEN,
        "ask",
        [{"name": "question", "type": STRING, "value": "Is this the place?"}],
        "en-US",
    )
    assert nowhere["data"]["content"] == t("en", "questions.not_a_lesson_post")
    unknown = await run(
        sandbox,
        guild,
        general,
        BEN,
        "ask",
        [
            {"name": "question", "type": STRING, "value": "Why?"},
            {"name": "lesson", "type": STRING, "value": "no-such/lesson"},
        ],
        "en-US",
    )
    assert unknown["data"]["content"] == t(
        "en", "questions.unknown_lesson", lesson="no-such/lesson"
    )

    answer = await run(
        sandbox,
        guild,
        general,
        BEN,
        "ask",
        [
            {"name": "question", "type": STRING, "value": "How do I check an answer"},
            {"name": "lesson", "type": STRING, "value": OTHER},
        ],
        "en-US",
    )
    assert running.created == [OTHER]
    [row] = await questions_in(session_factory)
    thread = await running.questions.thread_of(OTHER)
    assert thread is not None and row.container_id == str(thread)
    assert answer["data"]["content"] == t("en", "questions.asked", url=row.url)
    assert [m["content"] for m in sandbox.channel_messages(thread)][-1].endswith(
        "> How do I check an answer"
    )


async def test_a_post_a_learner_opens_is_tracked_and_linked_by_the_lesson_picker(
    sandbox: Any, guild: dict[str, Any], running: Running, session_factory: Sessions
) -> None:
    forum = guild["channels"]["data-basics"]
    # Naming a lesson's title links the post at once; no picker.
    named = await sandbox.create_thread(
        forum, BEN, "Stuck on Cleaning Data", "My notebook drops every row"
    )
    # Naming none: the author is offered the program's lessons, in the post's language.
    post = await sandbox.create_thread(
        forum, ANA, "Atascado en el cuestionario", "No consigo pasar la pregunta 3."
    )
    thread = int(post["id"])

    def picker_message() -> dict[str, Any] | None:
        for message in sandbox.channel_messages(thread):
            if message["author"]["id"] == str(sandbox.bot_user_id) and message["components"]:
                return message
        return None

    async def offered() -> bool:
        return picker_message() is not None

    await eventually(offered, "the lesson picker posted in Ana's post")
    picker = picker_message()
    assert picker is not None
    assert picker["content"] == t("es", "questions.picker.prompt", user=f"<@{ANA}>")
    [select] = picker["components"][0]["components"]
    assert (select["type"], select["custom_id"]) == (3, f"lessonbot:pick:{thread}")
    assert select["placeholder"] == t("es", "questions.picker.placeholder")
    options = {option["value"]: option["label"] for option in select["options"]}
    assert options["data-basics/cleaning-data"] == "Limpieza de datos"
    assert len(options) == 3  # the program's lessons, not the other program's

    [first, second] = await questions_in(session_factory)
    assert (first.container_id, first.rule, first.program) == (
        named["id"],
        "help_post",
        "data-basics",
    )
    assert first.lesson_id is not None
    assert (second.container_id, second.lesson_id, second.program) == (
        str(thread),
        None,
        "data-basics",
    )
    assert second.text == "Atascado en el cuestionario\nNo consigo pasar la pregunta 3."
    [unlinked] = [view for view in await running.questions.list() if not view.lesson]
    assert unlinked.external_id == str(thread)

    # Someone else's pick is refused, quietly; the author's links the post and says so.
    refused = await sandbox.click(
        thread, int(picker["id"]), BEN, select["custom_id"], ["data-basics/what-is-data"]
    )
    (answer,) = await sandbox.wait_for_interaction_response(refused, timeout=ANSWER_TIMEOUT)
    assert answer["data"]["content"] == t("en", "questions.picker.forbidden")
    assert answer["data"]["flags"] & EPHEMERAL
    picked = await sandbox.click(
        thread, int(picker["id"]), ANA, select["custom_id"], ["data-basics/cleaning-data"]
    )
    (update,) = await sandbox.wait_for_interaction_response(picked, timeout=ANSWER_TIMEOUT)
    assert update["type"] == 7
    linked = t("es", "questions.picker.linked", lesson="Limpieza de datos")
    assert sandbox.message(thread, int(picker["id"]))["content"] == linked
    assert sandbox.message(thread, int(picker["id"]))["components"] == []
    [view] = [view for view in await running.questions.list() if view.external_id == str(thread)]
    assert view.lesson == "data-basics/cleaning-data"

    # Later messages follow the rules of lesson posts: thanks answer nothing, an answer does.
    await sandbox.post_message(thread, BEN, "¡Gracias por preguntar!")
    await sandbox.post_message(thread, BEN, "Tienes que leer la pista bajo el gráfico.")

    async def answered() -> bool:
        found = await question_of(session_factory, thread)
        return found is not None and found.answered_at is not None

    await eventually(answered, "Ana's post answered by Ben's answer")
    found = await question_of(session_factory, thread)
    assert found is not None and found.answered_how == "later_message"
    assert found.answer_id != str(thread) and found.answered_by == "ben"
