"""Posts learners open in a program's forum: tracked as the program's questions, linked to
the lesson they name or the one their author picks, answered by the same rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import QuestionsSettings, Settings
from bot.domain.catalogue import load_catalogue
from bot.i18n import t
from bot.services.digests import DigestService
from bot.services.outbox import Outbox
from bot.services.ports import ChatSelect
from bot.services.questions import PICKER_PREFIX, QuestionService
from bot.services.signing import Signer
from bot.store.models import HelpPost, Lesson, LessonLink, ProgramForum, Question
from tests.conftest import PROJECT

Sessions = async_sessionmaker[AsyncSession]
T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
GUILD, FORUM, OTHER_FORUM, LESSON_THREAD = 9, 10, 11, 100
BOT_ID, STAFF_ROLE = 999, "4242"
ANA, BEN, CHO = 1, 2, 3
CATALOGUE = load_catalogue(PROJECT / "lessons")


class FakeChat:
    """Records what the bot posts, select menus included."""

    def __init__(self) -> None:
        self.posts: list[tuple[int, str, ChatSelect | None]] = []
        self.next_id = 5000

    @property
    def user_id(self) -> int:
        return BOT_ID

    async def post_message(
        self, channel_id: int, content: str, *, select: ChatSelect | None = None, **_: Any
    ) -> list[int]:
        self.posts.append((channel_id, content, select))
        self.next_id += 1
        return [self.next_id]


@pytest.fixture
async def forums(session_factory: Sessions) -> Sessions:
    """Store the data-basics forum with one linked lesson post (what-is-data, thread 100)."""
    async with session_factory() as session, session.begin():
        session.add(
            ProgramForum(
                program="data-basics", discord_guild_id=GUILD, discord_forum_id=FORUM, tag_ids={}
            )
        )
        lesson = Lesson(program="data-basics", slug="what-is-data")
        session.add(lesson)
        await session.flush()
        session.add(
            LessonLink(
                lesson_id=lesson.id,
                discord_forum_id=FORUM,
                discord_thread_id=LESSON_THREAD,
                github_issue_url="https://github.com/lessons/content/issues/1",
            )
        )
    return session_factory


def service(sessions: Sessions) -> tuple[QuestionService, FakeChat]:
    chat = FakeChat()
    settings = Settings(questions=QuestionsSettings(staff_role_ids=(STAFF_ROLE,)))
    found = QuestionService(sessions, settings, chat=chat, catalogue=lambda: CATALOGUE)
    return found, chat


async def say(
    questions: QuestionService,
    thread: int,
    message: int,
    author: int,
    text: str,
    *,
    title: str = "",
    owner: int = ANA,
    minutes: int = 0,
    forum: int = FORUM,
    reply_to: int | None = None,
) -> str:
    """Post as a member in a post of a forum (the post's first message has its id)."""
    return await questions.on_discord_message(
        thread,
        message,
        author,
        f"user{author}",
        text,
        reply_to=reply_to,
        created_at=T0 + timedelta(minutes=minutes),
        guild_id=GUILD,
        forum_id=forum,
        post_title=title,
        post_owner_id=owner,
    )


async def rows(sessions: Sessions) -> list[Question]:
    async with sessions() as session:
        return list(await session.scalars(select(Question).order_by(Question.id)))


async def open_post(
    questions: QuestionService, thread: int, title: str, text: str, author: int = ANA
) -> str:
    return await say(questions, thread, thread, author, text, title=title, owner=author)


async def test_a_post_naming_a_lesson_is_its_question(forums: Sessions) -> None:
    questions, chat = service(forums)
    outcome = await open_post(
        questions, 700, "Stuck on Cleaning Data", "My notebook drops every row, not sure why"
    )
    assert outcome == "question (help_post, en), linked by title"
    [row] = await rows(forums)
    # The starter is the question, title and message, even without a question mark.
    assert (row.rule, row.program, row.author_id, row.container_id) == (
        "help_post",
        "data-basics",
        str(ANA),
        "700",
    )
    assert row.text == "Stuck on Cleaning Data\nMy notebook drops every row, not sure why"
    assert row.url == f"https://discord.com/channels/{GUILD}/700/700"
    [view] = await questions.list()
    # The lesson had no post yet: its row is made for the question.
    assert (view.lesson, view.program, view.state) == (
        "data-basics/cleaning-data",
        "data-basics",
        "open",
    )
    assert chat.posts == []


async def test_a_post_linking_a_lesson_post_or_page_is_linked_to_it(forums: Sessions) -> None:
    questions, _ = service(forums)
    await open_post(questions, 701, "Help", f"Same as <#{LESSON_THREAD}>: the chart is empty")
    page = "https://example.org/es/programs/data-basics/lessons/train-test-split"
    await open_post(questions, 702, "Ayuda", f"No entiendo esta parte: {page}", author=BEN)
    async with forums() as session:
        posts = list(await session.scalars(select(HelpPost).order_by(HelpPost.id)))
    assert [(p.linked_how, p.locale) for p in posts] == [("post_link", "en"), ("page_link", "es")]
    assert [view.lesson for view in await questions.list()] == [
        "data-basics/what-is-data",
        "data-basics/train-test-split",
    ]


async def test_a_post_naming_no_lesson_offers_a_picker_and_waits_in_the_digest(
    forums: Sessions,
) -> None:
    questions, chat = service(forums)
    outcome = await open_post(
        questions,
        710,
        "Atascado en el cuestionario",
        "No consigo pasar la pregunta 3 de la lección.",
    )
    assert outcome == "question (help_post, es), lesson picker offered"
    [(thread, content, picker)] = chat.posts
    # In the post, in its author's language, naming them; the program's lessons as options.
    assert thread == 710
    assert content == t("es", "questions.picker.prompt", user=f"<@{ANA}>")
    assert picker is not None and picker.custom_id == f"{PICKER_PREFIX}710"
    assert picker.placeholder == t("es", "questions.picker.placeholder")
    assert {option.value for option in picker.options} == {
        "data-basics/what-is-data",
        "data-basics/cleaning-data",
        "data-basics/train-test-split",
    }
    assert "Limpieza de datos" in {option.label for option in picker.options}
    [view] = await questions.list()
    assert (view.lesson, view.program, view.locale) == ("", "data-basics", "es")

    digests = DigestService(forums, Outbox(forums), Settings(), signer=Signer(b"k" * 32))
    digest = await digests.build(now=T0 + timedelta(hours=1))
    [program] = digest.programs
    [group] = program.lessons
    assert (program.program, group.unlinked, [q.id for q in group.questions]) == (
        "data-basics",
        True,
        [view.id],
    )

    # Someone else may not choose; the author may, and the question follows the lesson.
    refused = await questions.choose_lesson(710, BEN, "data-basics/cleaning-data")
    assert refused.outcome == "forbidden"
    unknown = await questions.choose_lesson(710, ANA, "prompt-craft/checking-answers")
    assert unknown.outcome == "unknown_lesson"
    chosen = await questions.choose_lesson(710, ANA, "data-basics/cleaning-data")
    assert (chosen.outcome, chosen.count) == ("linked", 1)
    [view] = await questions.list()
    assert view.lesson == "data-basics/cleaning-data"
    digest = await digests.build(now=T0 + timedelta(hours=1))
    [group] = digest.programs[0].lessons
    assert (group.lesson, group.unlinked) == ("cleaning-data", False)
    # A later question in the post belongs to the lesson picked.
    await say(questions, 710, 712, BEN, "¿Y cómo se cuenta lo que falta?", minutes=2)
    assert [v.lesson for v in await questions.list()] == ["data-basics/cleaning-data"] * 2
    # A maintainer may choose too (another lesson, say).
    staff = await questions.choose_lesson(710, CHO, "data-basics/what-is-data", (STAFF_ROLE,))
    assert (staff.outcome, staff.count) == ("linked", 2)
    assert await questions.choose_lesson(999, ANA, "data-basics/what-is-data") == (
        type(staff)("not_a_help_post")
    )


async def test_later_messages_in_a_post_follow_the_answer_rules(forums: Sessions) -> None:
    questions, _ = service(forums)
    await open_post(questions, 720, "Stuck on the quiz", "I can't get question 3 right")
    assert await say(questions, 720, 721, BEN, "Great lesson, thanks!", minutes=1) == (
        "ignored: not a question"
    )
    assert await say(questions, 720, 722, ANA, "I tried twice.", minutes=2) == (
        "ignored: not a question"
    )
    # An answer in the lesson's own post answers nothing here, and the other way round.
    await questions.on_discord_message(
        LESSON_THREAD, 723, 7, "user7", "Why is data useful?", created_at=T0, guild_id=GUILD
    )
    assert await say(questions, 720, 724, BEN, "Read the hint under the chart.", minutes=4) == (
        "answered 1"
    )
    starter, lesson_question = sorted(await rows(forums), key=lambda row: row.external_id)
    assert (starter.external_id, starter.answered_by, starter.answered_how) == (
        "720",
        "user2",
        "later_message",
    )
    assert lesson_question.answered_at is None
    # A new question in the post is the program's too; a reply answers it.
    asked = await say(questions, 720, 725, CHO, "How many tries do we get?", minutes=5)
    assert asked == "question (question_mark, en)"
    assert await say(questions, 720, 726, ANA, "Three.", minutes=6, reply_to=725) == "answered 1"
    [row] = [row for row in await rows(forums) if row.external_id == "725"]
    assert (row.program, row.lesson_id, row.answered_how) == ("data-basics", None, "reply")
    # The author resolves their own with /resolve in the post.
    resolved = await questions.resolve(720, ANA)
    assert (resolved.outcome, resolved.count) == ("resolved", 1)


async def test_an_edited_starter_stays_the_question(forums: Sessions) -> None:
    questions, _ = service(forums)
    await open_post(questions, 730, "Stuck on the quiz", "Question 3 fails")
    assert await questions.on_discord_edit(730, "Fixed it myself.") == "updated"
    [view] = await questions.list()
    assert (view.text, view.state) == ("Stuck on the quiz\nFixed it myself.", "open")


async def test_only_posts_people_open_in_a_programs_forum_count(forums: Sessions) -> None:
    questions, chat = service(forums)
    # Another forum, the bot's own post, a lesson's post whose lesson left: none is a help post.
    assert (
        await open_post(questions, 740, "Hi", "Hello")
        == "question (help_post, en), lesson picker offered"
    )
    assert await say(questions, 741, 741, ANA, "Stuck", forum=OTHER_FORUM) == (
        "ignored: not a lesson post"
    )
    assert await say(questions, 742, 743, ANA, "Why?", owner=BOT_ID) == "ignored: not a lesson post"
    async with forums() as session, session.begin():
        lesson = await session.scalar(select(Lesson).where(Lesson.slug == "what-is-data"))
        assert lesson is not None
        lesson.removed_at = T0
    assert await say(questions, LESSON_THREAD, 744, ANA, "Why?", owner=7) == (
        "ignored: not a lesson post"
    )
    assert len(chat.posts) == 1
    # A redelivered starter is recorded once and offers no second picker.
    assert await open_post(questions, 740, "Hi", "Hello") == "ignored: already recorded"
    assert len(chat.posts) == 1
