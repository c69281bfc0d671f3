"""Questions in lesson posts and issues: captured, answered, resolved, re-evaluated, dropped."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from github import Auth, Github
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import GitHubSettings, LinkingSettings, QuestionsSettings, Secret, Settings
from bot.domain.markers import marker
from bot.github.adapter import GitHubAdapter
from bot.services.events import IssueCommentEvent
from bot.services.ports import ChatMessage
from bot.services.questions import QuestionError, QuestionService
from bot.store.models import (
    BridgedComment,
    Lesson,
    LessonLink,
    ProgramForum,
    Question,
    QuestionSource,
)
from sandboxes.github import GitHubSandbox
from tests.conftest import FIXTURES
from tests.events import handled

Sessions = async_sessionmaker[AsyncSession]
T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
GUILD, FORUM, THREAD, OTHER_THREAD, ISSUE = 9, 10, 100, 200, 7
BOT_ID = 999
STAFF_ROLE = "4242"


class FakeChat:
    """Records what the bot posts (and its buttons and mentions); the bot's own user id is
    BOT_ID; reads back what it posted, newest first."""

    def __init__(self) -> None:
        self.posts: list[tuple[int, str]] = []
        self.options: list[dict[str, Any]] = []
        self.messages: list[tuple[int, ChatMessage]] = []
        self.next_id = 5000

    @property
    def user_id(self) -> int:
        return BOT_ID

    async def post_message(self, channel_id: int, content: str, **options: Any) -> list[int]:
        self.posts.append((channel_id, content))
        self.options.append(options)
        self.next_id += 1
        buttons = tuple(options.get("buttons") or ())
        custom_ids = tuple(button.custom_id for button in buttons if button.custom_id)
        message = ChatMessage(self.next_id, BOT_ID, content, buttons, custom_ids=custom_ids)
        self.messages.append((channel_id, message))
        return [self.next_id]

    async def recent_messages(self, channel_id: int, limit: int = 100) -> list[ChatMessage]:
        mine = [message for channel, message in self.messages if channel == channel_id]
        return mine[::-1][:limit]


class FakeGitHub:
    """Knows the bot's login and each person's permission; counts permission requests."""

    def __init__(self, permissions: dict[str, str]) -> None:
        self.permissions = permissions
        self.asked: list[str] = []

    async def login(self) -> str:
        return "lessonbot[bot]"

    async def permission(self, login: str) -> str:
        self.asked.append(login)
        return self.permissions.get(login, "none")


def settings(**linking: Any) -> Settings:
    return Settings(
        questions=QuestionsSettings(staff_role_ids=(STAFF_ROLE,), staff_logins=("listed",)),
        linking=LinkingSettings(**linking),
    )


class Clock:
    def __init__(self) -> None:
        self.now = T0 + timedelta(hours=1)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def lessons(session_factory: Sessions) -> Sessions:
    """Store two linked lessons: demo/pipes (thread 100, issue 7) and demo/loops (200)."""
    async with session_factory() as session, session.begin():
        session.add(
            ProgramForum(program="demo", discord_guild_id=GUILD, discord_forum_id=FORUM, tag_ids={})
        )
        for slug, thread, issue in (("pipes", THREAD, ISSUE), ("loops", OTHER_THREAD, None)):
            lesson = Lesson(program="demo", slug=slug)
            session.add(lesson)
            await session.flush()
            session.add(
                LessonLink(
                    lesson_id=lesson.id,
                    discord_forum_id=FORUM,
                    discord_thread_id=thread,
                    github_issue_number=issue,
                )
            )
        other = Lesson(program="intro", slug="hello")
        session.add(other)
        await session.flush()
        session.add(LessonLink(lesson_id=other.id, discord_thread_id=300))
    return session_factory


def service(
    sessions: Sessions, github: FakeGitHub | None = None, **linking: Any
) -> tuple[QuestionService, FakeChat, Clock]:
    chat, clock = FakeChat(), Clock()
    found = QuestionService(
        sessions,
        settings(**linking),
        github=github,
        chat=chat,
        clock=clock,  # type: ignore[arg-type]
    )
    return found, chat, clock


async def rows(sessions: Sessions) -> list[Question]:
    async with sessions() as session:
        return list(await session.scalars(select(Question).order_by(Question.id)))


async def say(
    questions: QuestionService,
    message_id: int,
    author: int,
    text: str,
    *,
    minutes: int = 0,
    thread: int = THREAD,
    reply_to: int | None = None,
    roles: Sequence[str] = (),
    is_bot: bool = False,
) -> str:
    return await questions.on_discord_message(
        thread,
        message_id,
        author,
        f"user{author}",
        text,
        is_bot=is_bot,
        reply_to=reply_to,
        roles=roles,
        created_at=T0 + timedelta(minutes=minutes),
        guild_id=GUILD,
    )


QUESTIONS = [
    ("How do I pipe the output of ls into grep", "en"),
    ("¿Por qué no funciona mi tubería?", "es"),
    ("كيف أستخدم الأنابيب في الطرفية", "ar"),
    ("为什么这个命令不工作", "zh"),
    ("Comment est-ce que je redirige la sortie", "fr"),
    ("मैं पाइप का उपयोग कैसे करूँ", "hi"),
    ("Hoe gebruik ik een pipe", "nl"),
    ("పైప్ ఎలా వాడాలి", "te"),
]
NEAR_MISSES = [
    "Thanks, that worked!",
    "I will show how pipes work tomorrow.",
    "Gracias, ya funciona.",
    "```\nwhat is this?\n```",
    "> how do I do this?\nI found it myself.",
]


async def test_questions_in_every_locale_are_captured_with_their_rule(lessons: Sessions) -> None:
    questions, _, _ = service(lessons)
    for n, (text, _) in enumerate(QUESTIONS):
        outcome = await say(questions, 1000 + n, 1, text, minutes=n)
        assert outcome.startswith("question"), (text, outcome)

    stored = await rows(lessons)
    assert [row.text for row in stored] == [text for text, _ in QUESTIONS]
    assert [row.locale for row in stored] == [locale for _, locale in QUESTIONS]
    assert all(row.rule for row in stored)
    assert stored[0].source == QuestionSource.DISCORD
    assert stored[0].url == f"https://discord.com/channels/{GUILD}/{THREAD}/1000"
    assert stored[0].container_id == str(THREAD)


async def test_near_misses_and_other_threads_are_not_captured(lessons: Sessions) -> None:
    questions, _, _ = service(lessons)
    for n, text in enumerate(NEAR_MISSES):
        assert await say(questions, 1000 + n, 1, text) == "ignored: not a question", text
    assert await say(questions, 1100, 1, "How do I?", thread=12345) == (
        "ignored: not a lesson post"
    )
    assert await rows(lessons) == []


async def test_the_bots_own_messages_are_never_questions_or_answers(lessons: Sessions) -> None:
    questions, _, _ = service(lessons)
    await say(questions, 1, 1, "How do I pipe?")
    # A bridged GitHub comment is the bot's message; another bot is no person either.
    assert await say(questions, 2, BOT_ID, "Why not use tee?", minutes=1) == (
        "ignored: written by the bot"
    )
    assert await say(questions, 3, 77, "Use a pipe.", minutes=2, is_bot=True) == (
        "ignored: written by the bot"
    )
    [row] = await rows(lessons)
    assert row.answered_at is None


async def test_a_later_message_by_someone_else_answers_the_newest_open_question(
    lessons: Sessions,
) -> None:
    questions, _, _ = service(lessons)
    await say(questions, 1, 1, "How do I pipe?")
    # The asker adding detail answers nothing; another learner's own question neither.
    assert await say(questions, 2, 1, "I tried ls | grep.", minutes=1) == (
        "ignored: not a question"
    )
    await say(questions, 3, 2, "Why does grep hang?", minutes=2)
    assert await say(questions, 4, 3, "Put the pipe between them.", minutes=3) == "answered 1"

    first, second = await rows(lessons)
    # Only the latest open question is answered: the earlier one stays open for the digest.
    assert first.answered_at is None
    assert (second.answered_by, second.answered_how, second.answer_id) == (
        "user3",
        "later_message",
        "4",
    )
    assert second.answered_at == T0 + timedelta(minutes=3)
    assert not second.answered_by_staff
    # The next answer goes to the next newest one still open.
    assert await say(questions, 5, 4, "Use ls | grep txt.", minutes=4) == "answered 1"
    first, _ = await rows(lessons)
    assert (first.answered_by, first.answer_id) == ("user4", "5")
    assert await say(questions, 6, 5, "Or use find.", minutes=5) == "ignored: not a question"


async def test_chatter_after_a_question_answers_nothing(lessons: Sessions) -> None:
    questions, _, _ = service(lessons)
    await say(questions, 1, 1, "How do I pipe?")
    for n, text in enumerate(
        ["Great lesson, thanks!", "+1, same here", "👍", "https://example.org/pipes", "lol"], 2
    ):
        assert await say(questions, n, n, text, minutes=n) == "ignored: not a question", text
    # A maintainer's thanks is chatter too.
    assert await say(questions, 8, 8, "Thanks everyone!", minutes=8, roles=(STAFF_ROLE,)) == (
        "ignored: not a question"
    )
    [view] = await questions.list(open_only=True)
    assert (view.external_id, view.state) == ("1", "open")

    # Thanks that go on to answer do answer.
    text = "Thanks! You need to restart the kernel after installing."
    assert await say(questions, 9, 9, text, minutes=9) == "answered 1"
    [row] = await rows(lessons)
    assert (row.answered_by, row.answered_how, row.answer_id) == ("user9", "later_message", "9")


async def test_a_later_answer_skips_the_answerers_own_and_resolved_questions(
    lessons: Sessions,
) -> None:
    questions, _, _ = service(lessons)
    await say(questions, 1, 1, "How do I pipe?")
    await say(questions, 2, 2, "Why does grep hang?", minutes=1)
    await say(questions, 3, 3, "What is tee?", minutes=2)
    await questions.on_reaction(3, 3, "✅", True)
    # Learner 2 answers: not their own question, not the resolved one, but learner 1's.
    assert await say(questions, 4, 2, "Pipe it: ls | grep x.", minutes=3) == "answered 1"
    first, second, third = await rows(lessons)
    assert (first.answer_id, second.answered_at, third.answered_at) == ("4", None, None)


async def test_a_reply_answers_only_the_question_it_replies_to(lessons: Sessions) -> None:
    questions, _, _ = service(lessons)
    await say(questions, 1, 1, "How do I pipe?")
    await say(questions, 2, 2, "Why does grep hang?", minutes=1)
    # A reply that is itself a question still answers (a follow-up to the asker).
    assert await say(questions, 3, 3, "Did you quote it?", minutes=2, reply_to=2) == (
        "question (question_mark, en), answered 1"
    )
    first, second, third = await rows(lessons)
    assert first.answered_at is None
    assert (second.answered_how, second.answer_id) == ("reply", "3")
    assert third.answered_at is None


async def test_staff_answers_are_marked_even_after_a_first_reply(lessons: Sessions) -> None:
    questions, _, _ = service(lessons)
    await say(questions, 1, 1, "How do I pipe?")
    assert await say(questions, 2, 2, "No idea, sorry.", minutes=1) == "ignored: not a question"
    await say(questions, 3, 4, "Try piping into grep.", minutes=1)
    [row] = await rows(lessons)
    assert (row.answered_by, row.answered_by_staff) == ("user4", False)
    assert await say(questions, 5, 3, "Use |.", minutes=2, roles=("1", STAFF_ROLE)) == (
        "answered 1"
    )
    [row] = await rows(lessons)
    # The first reply stays the first answer (for the time to first reply).
    assert (row.answered_by, row.answered_by_staff) == ("user4", True)


async def test_questions_of_other_lessons_are_not_answered(lessons: Sessions) -> None:
    questions, _, _ = service(lessons)
    await say(questions, 1, 1, "How do I pipe?", thread=OTHER_THREAD)
    await say(questions, 2, 2, "Use |.", minutes=1)
    [row] = await rows(lessons)
    assert row.answered_at is None


async def test_the_asker_or_staff_resolves_with_a_check_mark_and_undoes_it(
    lessons: Sessions,
) -> None:
    questions, _, clock = service(lessons)
    await say(questions, 1, 1, "How do I pipe?")
    assert await questions.on_reaction(1, 2, "✅", True) == "ignored: neither the asker nor staff"
    assert await questions.on_reaction(1, 1, "👍", True) == "ignored: not the resolve reaction"
    assert await questions.on_reaction(1, BOT_ID, "✅", True) == "ignored: the bot's reaction"
    assert await questions.on_reaction(1, 1, "✅", True) == "resolved"
    [row] = await rows(lessons)
    assert (row.resolved_at, row.resolved_by, row.resolved_how) == (clock.now, "1", "reaction")

    assert await questions.on_reaction(1, 1, "✅", False) == "reopened"
    [row] = await rows(lessons)
    assert row.resolved_at is None

    assert await questions.on_reaction(1, 5, "✅", True, roles=(STAFF_ROLE,)) == "resolved"
    # Someone else's reaction going away leaves the staff member's resolution in place.
    assert (
        await questions.on_reaction(1, 1, "✅", False) == "ignored: not resolved by this reaction"
    )
    [row] = await rows(lessons)
    assert row.resolved_by == "5"


async def test_an_edit_into_a_statement_drops_it_and_back_restores_it(lessons: Sessions) -> None:
    questions, _, _ = service(lessons)
    await say(questions, 1, 1, "How do I pipe?")
    assert await questions.on_discord_edit(1, "Never mind, I found it.") == (
        "dropped: no longer a question"
    )
    assert (await questions.list()) == []
    [row] = await rows(lessons)
    assert row.drop_reason == "not_a_question"

    assert await questions.on_discord_edit(1, "Why does grep hang?") == "question again"
    [view] = await questions.list()
    assert (view.text, view.state) == ("Why does grep hang?", "open")


async def test_an_edit_into_a_question_records_it_as_asked_then(lessons: Sessions) -> None:
    questions, _, _ = service(lessons)
    await say(questions, 1, 1, "Pipes are confusing.")
    outcome = await questions.on_discord_edit(
        1,
        "Pipes are confusing: how do they work?",
        thread_id=THREAD,
        author_id=1,
        author_name="user1",
        created_at=T0,
        guild_id=GUILD,
    )
    assert outcome.endswith("edited into one")
    [row] = await rows(lessons)
    assert row.asked_at == T0


async def test_a_deleted_question_is_dropped_and_stays_dropped(lessons: Sessions) -> None:
    questions, _, _ = service(lessons)
    await say(questions, 1, 1, "How do I pipe?")
    assert await questions.on_discord_delete(1) == "dropped: deleted"
    assert await questions.on_discord_delete(2) == "ignored: not a question"
    assert await questions.on_discord_edit(1, "Why?") == "ignored: deleted"
    assert await questions.list() == []
    [row] = await rows(lessons)
    assert (row.drop_reason, row.dropped_at is not None) == ("deleted", True)
    # A dropped question is answered by nobody and resolved by nobody.
    assert await questions.on_reaction(1, 1, "✅", True) == "ignored: not a question"


async def test_a_deleted_answer_leaves_its_questions_unanswered(lessons: Sessions) -> None:
    questions, _, _ = service(lessons)
    await say(questions, 1, 1, "How do I pipe?")
    await say(questions, 2, 2, "Use |.", minutes=1, roles=(STAFF_ROLE,))
    assert await questions.on_discord_delete(2) == "answer deleted: 1 unanswered"
    [row] = await rows(lessons)
    assert (row.answered_at, row.answer_id, row.answered_by_staff) == (None, None, False)
    assert [view.state for view in await questions.list(open_only=True)] == ["open"]


async def test_a_redelivered_message_is_recorded_once(lessons: Sessions) -> None:
    questions, _, _ = service(lessons)
    await say(questions, 1, 1, "How do I pipe?")
    assert await say(questions, 1, 1, "How do I pipe?") == "ignored: already recorded"
    assert len(await rows(lessons)) == 1


# --- /ask and /resolve ----------------------------------------------------------------------


async def test_ask_posts_the_question_quoted_by_the_bot_and_records_it(lessons: Sessions) -> None:
    questions, chat, clock = service(lessons)
    assert await questions.thread_of("demo/pipes") == THREAD
    result = await questions.ask(THREAD, 1, "Ana", "pipes are odd\nsecond line", locale="en")
    [(thread, content)] = chat.posts
    assert thread == THREAD
    assert "<@1>" in content and "> pipes are odd\n> second line" in content
    assert result.url == f"https://discord.com/channels/{GUILD}/{THREAD}/{result.message_id}"
    [row] = await rows(lessons)
    # /ask is always a question, even without a question mark.
    assert (row.rule, row.author_id, row.author_name, row.asked_at) == (
        "ask",
        "1",
        "Ana",
        clock.now,
    )
    # The bot's own message echoing it changes nothing.
    assert await say(questions, result.message_id, BOT_ID, content) == "ignored: written by the bot"
    # The asker resolves it with ✅ on the bot's message.
    assert await questions.on_reaction(result.message_id, 1, "✅", True) == "resolved"


async def test_ask_refuses_empty_long_and_unlinked(lessons: Sessions) -> None:
    questions, chat, _ = service(lessons)
    for text, key in (("  ", "questions.empty"), ("x" * 1501, "questions.too_long")):
        with pytest.raises(QuestionError) as caught:
            await questions.ask(THREAD, 1, "Ana", text)
        assert caught.value.key == key
    with pytest.raises(QuestionError) as caught:
        await questions.ask(4444, 1, "Ana", "How?")
    assert caught.value.key == "questions.not_a_lesson_post"
    assert chat.posts == []


async def test_resolve_takes_the_askers_own_or_the_named_or_all_for_staff(
    lessons: Sessions,
) -> None:
    questions, _, _ = service(lessons)
    await say(questions, 1, 1, "How do I pipe?")
    await say(questions, 2, 1, "And why does grep hang?", minutes=1)
    await say(questions, 3, 2, "What is tee?", minutes=2)

    assert (await questions.resolve(THREAD, 3)).outcome == "none"
    assert (await questions.resolve(THREAD, 3, message_id=1)).outcome == "forbidden"
    assert (await questions.resolve(THREAD, 1, message_id=77)).outcome == "not_found"
    assert (await questions.resolve(OTHER_THREAD, 1, message_id=1)).outcome == "not_found"
    assert (await questions.resolve(4444, 1)).outcome == "not_a_lesson_post"

    result = await questions.resolve(THREAD, 1, message_id=1)
    assert (result.outcome, result.count) == ("resolved", 1)
    # Naming it again finds nothing left to resolve.
    assert (await questions.resolve(THREAD, 1, message_id=1)).outcome == "none"
    first, second, third = await rows(lessons)
    assert (first.resolved_how, second.resolved_at, third.resolved_at) == ("command", None, None)

    result = await questions.resolve(THREAD, 1)
    assert (result.outcome, result.count) == ("resolved", 1)
    result = await questions.resolve(THREAD, 8, roles=(STAFF_ROLE,))
    assert (result.outcome, result.count) == ("resolved", 1)
    assert all(row.resolved_at is not None for row in await rows(lessons))
    # A reaction removed later cannot reopen what /resolve closed.
    assert (
        await questions.on_reaction(3, 8, "✅", False) == "ignored: not resolved by this reaction"
    )


# --- GitHub ---------------------------------------------------------------------------------


def comment_payload(
    action: str,
    comment_id: int,
    login: str,
    body: str,
    *,
    minutes: int = 0,
    issue: int = ISSUE,
    association: str = "NONE",
    user_type: str = "User",
) -> dict[str, Any]:
    created = (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")
    return {
        "action": action,
        "issue": {"number": issue, "title": "pipes"},
        "comment": {
            "id": comment_id,
            "body": body,
            "html_url": f"https://github.com/lessons/content/issues/{issue}#issuecomment-{comment_id}",
            "created_at": created,
            "author_association": association,
            "user": {"login": login, "type": user_type},
        },
        "sender": {"login": login},
    }


async def test_issue_comments_are_captured_answered_and_dropped(lessons: Sessions) -> None:
    github = FakeGitHub({"maya": "write", "learner": "read"})
    questions, _, _ = service(lessons, github)
    outcome = await handled(
        IssueCommentEvent,
        questions.on_issue_comment,
        comment_payload("created", 1, "learner", "¿Cómo uso las tuberías?"),
    )
    assert outcome == "question (question_mark, es)"
    # A question costs no permission request; the answer does.
    assert github.asked == []
    assert (
        await handled(
            IssueCommentEvent,
            questions.on_issue_comment,
            comment_payload("created", 2, "maya", "Use `|` between them.", minutes=5),
        )
        == "answered 1"
    )
    assert github.asked == ["maya"]
    [row] = await rows(lessons)
    assert (row.source, row.container_id, row.author_id, row.locale) == (
        QuestionSource.GITHUB,
        str(ISSUE),
        "learner",
        "es",
    )
    assert (row.answered_by, row.answered_how, row.answered_by_staff) == (
        "maya",
        "later_comment",
        True,
    )
    assert row.url and row.url.endswith("#issuecomment-1")

    assert await handled(
        IssueCommentEvent, questions.on_issue_comment, comment_payload("deleted", 1, "learner", "")
    ) == ("dropped: deleted")
    assert await questions.list() == []


async def test_chatter_on_the_issue_answers_nothing_and_asks_no_permission(
    lessons: Sessions,
) -> None:
    github = FakeGitHub({"maya": "write"})
    questions, _, _ = service(lessons, github)
    await handled(
        IssueCommentEvent,
        questions.on_issue_comment,
        comment_payload("created", 1, "learner", "Why is it slow?"),
    )
    for n, body in enumerate(["Great lesson, thanks!", "+1", "I have the same question"], 2):
        outcome = await handled(
            IssueCommentEvent,
            questions.on_issue_comment,
            comment_payload("created", n, "maya", body, minutes=n),
        )
        assert outcome == "ignored: not a question", body
    assert github.asked == []
    [row] = await rows(lessons)
    assert row.answered_at is None


async def test_an_issue_comment_answers_the_lessons_discord_questions_too(
    lessons: Sessions,
) -> None:
    github = FakeGitHub({})
    questions, _, _ = service(lessons, github)
    await say(questions, 1, 1, "How do I pipe?")
    assert (
        await handled(
            IssueCommentEvent,
            questions.on_issue_comment,
            comment_payload("created", 2, "helper", "Use a pipe.", minutes=1),
        )
        == "answered 1"
    )
    [row] = await rows(lessons)
    assert (row.answered_by, row.answered_by_staff) == ("helper", False)


async def test_discord_answers_reach_issue_questions_only_when_mirrored(lessons: Sessions) -> None:
    for mirror, expected in ((False, None), (True, "user2")):
        async with lessons() as session, session.begin():
            for row in await session.scalars(select(Question)):
                await session.delete(row)
        questions, _, _ = service(lessons, FakeGitHub({}), mirror_to_github=mirror)
        await handled(
            IssueCommentEvent,
            questions.on_issue_comment,
            comment_payload("created", 1, "learner", "Why?"),
        )
        await say(questions, 2, 2, "Because.", minutes=1)
        [row] = await rows(lessons)
        assert row.answered_by == expected


async def test_issue_comment_edits_are_re_evaluated(lessons: Sessions) -> None:
    questions, _, _ = service(lessons, FakeGitHub({}))
    await handled(
        IssueCommentEvent,
        questions.on_issue_comment,
        comment_payload("created", 1, "learner", "Pipes are odd."),
    )
    assert await rows(lessons) == []
    assert (
        await handled(
            IssueCommentEvent,
            questions.on_issue_comment,
            comment_payload("edited", 1, "learner", "Why are pipes odd?"),
        )
    ).startswith("question")
    assert (
        await handled(
            IssueCommentEvent,
            questions.on_issue_comment,
            comment_payload("edited", 1, "learner", "Pipes are odd."),
        )
        == "dropped: no longer a question"
    )


async def test_bot_and_mirrored_comments_count_once(lessons: Sessions) -> None:
    questions, _, _ = service(lessons, FakeGitHub({}), mirror_to_github=True)
    await say(questions, 1, 1, "How do I pipe?")
    # The mirror of a Discord message carries the bot's marker and the bot's login...
    mirrored = comment_payload(
        "created",
        50,
        "lessonbot[bot]",
        "**user1** wrote: Why?\n\n<!-- lessonbot:discord_message:1 -->",
    )
    assert (await handled(IssueCommentEvent, questions.on_issue_comment, mirrored)).startswith(
        "ignored"
    )
    # ...and one recorded by the bridge is known by its id whoever the author seems to be.
    async with lessons() as session, session.begin():
        session.add(
            BridgedComment(
                github_comment_id=51,
                github_issue_number=ISSUE,
                discord_thread_id=THREAD,
                discord_message_ids={"ids": [2]},
                discord_source_message_id=2,
            )
        )
    assert (
        await handled(
            IssueCommentEvent,
            questions.on_issue_comment,
            comment_payload("created", 51, "someone", "Use it.", minutes=1),
        )
    ).startswith("ignored")
    other_bot = comment_payload("created", 52, "ci", "Why?", user_type="Bot")
    assert (await handled(IssueCommentEvent, questions.on_issue_comment, other_bot)).startswith(
        "ignored"
    )
    [row] = await rows(lessons)
    assert row.answered_at is None


async def test_github_staff_from_settings_or_association_without_a_port(lessons: Sessions) -> None:
    questions, _, _ = service(lessons)  # no GitHub port: the payload's association decides
    assert await questions.is_github_staff("listed")
    assert await questions.is_github_staff("owner", "OWNER")
    assert not await questions.is_github_staff("someone", "CONTRIBUTOR")
    github = FakeGitHub({"maya": "admin"})
    questions, _, _ = service(lessons, github)
    assert await questions.is_github_staff("maya")
    assert await questions.is_github_staff("maya")
    assert github.asked == ["maya"]  # remembered


async def test_malformed_and_foreign_payloads_are_ignored(lessons: Sessions) -> None:
    questions, _, _ = service(lessons, FakeGitHub({}))
    assert (
        await handled(IssueCommentEvent, questions.on_issue_comment, {"action": "created"})
        == "ignored: malformed"
    )
    pull = comment_payload("created", 1, "x", "Why?")
    pull["issue"]["pull_request"] = {}
    assert (
        await handled(IssueCommentEvent, questions.on_issue_comment, pull)
        == "ignored: pull request"
    )
    assert await handled(
        IssueCommentEvent,
        questions.on_issue_comment,
        comment_payload("created", 2, "x", "Why?", issue=99),
    ) == ("ignored: not a lesson issue")


async def test_list_filters_open_and_program_and_serializes(lessons: Sessions) -> None:
    questions, _, _ = service(lessons)
    await say(questions, 1, 1, "How do I pipe?")
    await say(questions, 2, 1, "Why loops?", thread=OTHER_THREAD, minutes=1)
    await say(questions, 3, 1, "What is hello?", thread=300, minutes=2)
    await say(questions, 4, 2, "Like this.", minutes=3)  # answers the first

    assert [view.lesson for view in await questions.list()] == [
        "demo/pipes",
        "demo/loops",
        "intro/hello",
    ]
    assert [view.lesson for view in await questions.list(open_only=True)] == [
        "demo/loops",
        "intro/hello",
    ]
    assert [view.lesson for view in await questions.list(program="intro")] == ["intro/hello"]
    data = (await questions.list())[0].as_json()
    assert (data["state"], data["answered_by"], data["asked_at"]) == (
        "answered",
        "user2",
        T0.isoformat(),
    )


# --- through the GitHub sandbox: real webhook payloads, the real permission request ---------


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[tuple[str, dict[str, Any]]]]]:
    """Serve a webhook receiver; yield its URL and the (event, payload) pairs it received."""
    received: list[tuple[str, dict[str, Any]]] = []

    async def receive(request: web.Request) -> web.Response:
        received.append((request.headers["X-GitHub-Event"], await request.json()))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/webhook", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}/webhook", received
    await runner.cleanup()


async def test_comments_from_the_github_sandbox_are_tracked(
    session_factory: Sessions, receiver: tuple[str, list[tuple[str, dict[str, Any]]]]
) -> None:
    url, received = receiver
    async with GitHubSandbox(FIXTURES / "content", webhook_url=url) as sandbox:
        sandbox.add_collaborator("maya", "write")
        adapter = GitHubAdapter.from_settings(
            GitHubSettings(
                base_url=sandbox.base_url,
                repository=sandbox.repository,
                token=Secret("lessonbot"),
                seconds_between_requests=0,
                seconds_between_writes=0,
            )
        )
        try:
            issue = await adapter.create_issue(
                "pipes",
                f"Discuss pipes.\n\n{marker('lesson', 'demo/pipes')}",
                [],
                marker("lesson", "demo/pipes"),
            )
            async with session_factory() as session, session.begin():
                lesson = Lesson(program="demo", slug="pipes")
                session.add(lesson)
                await session.flush()
                session.add(LessonLink(lesson_id=lesson.id, github_issue_number=issue.number))

            def comment(login: str, body: str) -> Any:
                # PyGithub blocks: it runs off the loop the sandbox serves on.
                client = Github(base_url=sandbox.base_url, auth=Auth.Token(login), retry=None)
                found = client.get_repo(sandbox.repository).get_issue(issue.number)
                return found.create_comment(body)

            asked = await asyncio.to_thread(comment, "learner", "Pourquoi ça bloque")
            # Thanks and "+1" from another learner answer nothing (and cost no request).
            await asyncio.to_thread(comment, "friend", "+1, same here. Thanks!")
            await asyncio.to_thread(comment, "maya", "Add `-u` to the command.")
            # The bot's own comment (a mirror of a Discord message) never counts.
            hidden = marker("discord_message", "1")
            await adapter.create_comment(issue.number, f"Mirrored\n\n{hidden}", marker=hidden)
            await asyncio.to_thread(asked.edit, "Pourquoi ça bloque avec grep")

            for _ in range(250):
                if len([e for e, _ in received if e == "issue_comment"]) == 5:
                    break
                await asyncio.sleep(0.02)
            questions = QuestionService(session_factory, settings(), github=adapter)
            outcomes = [
                await handled(IssueCommentEvent, questions.on_issue_comment, payload)
                for event, payload in received
                if event == "issue_comment"
            ]
        finally:
            adapter.close()
    assert outcomes == [
        "question (interrogative_opening, fr)",
        "ignored: not a question",
        "answered 1",
        "ignored: written by the bot or mirrored from Discord",
        "updated",
    ]
    [first] = await rows(session_factory)
    assert (first.author_id, first.text, first.locale) == (
        "learner",
        "Pourquoi ça bloque avec grep",
        "fr",
    )
    assert (first.answered_by, first.answered_how, first.answered_by_staff) == (
        "maya",
        "later_comment",
        True,
    )
    assert first.url == asked.html_url
