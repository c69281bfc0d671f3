"""Catching up after a fresh gateway session: what was said in lesson and help posts while
no session was up is read back from each post's mark and recorded once, in order with the
live messages that arrive meanwhile; posts with nothing new are not read at all."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import QuestionsSettings, Settings
from bot.domain.snowflakes import snowflake_at
from bot.services.ports import ActivePost, PostMessage
from bot.services.questions import QuestionService
from bot.store.models import HelpPost, ThreadMark
from tests.services.test_questions import (
    FORUM,
    GUILD,
    OTHER_THREAD,
    STAFF_ROLE,
    T0,
    THREAD,
    Clock,
    FakeChat,
    lessons,  # noqa: F401 - the fixture
    rows,
    settings,
)

Sessions = async_sessionmaker[AsyncSession]
# Ids as Discord makes them: a snowflake of when each message was sent (T0 + minutes).
BASE = snowflake_at(T0)
HELP_THREAD = snowflake_at(T0 + timedelta(minutes=30))


def sid(minutes: int) -> int:
    """Return the id of a message sent `minutes` after T0."""
    return snowflake_at(T0 + timedelta(minutes=minutes))


def said(
    minutes: int,
    author: int,
    text: str,
    *,
    thread: int = THREAD,
    reply_to: int | None = None,
    roles: Sequence[str] = (),
) -> PostMessage:
    return PostMessage(
        thread,
        sid(minutes),
        author,
        f"user{author}",
        text,
        reply_to=reply_to,
        roles=tuple(roles),
        created_at=T0 + timedelta(minutes=minutes),
        guild_id=GUILD,
        forum_id=FORUM,
        post_title="Stuck on pipes",
        post_owner_id=author,
    )


class FakeHistory:
    """Posts' histories as Discord keeps them; counts reads, may pause in one."""

    def __init__(self, *messages: PostMessage) -> None:
        self.messages = list(messages)
        self.reads: list[tuple[int, int, int]] = []
        self.reading = asyncio.Event()
        self.go_on: asyncio.Event | None = None

    def post(self, thread: int) -> ActivePost:
        """Return the post as a session's GUILD_CREATE lists it."""
        ids = [m.message_id for m in self.messages if m.thread_id == thread]
        return ActivePost(thread, GUILD, FORUM, "post", None, max(ids, default=None))

    async def read(self, post: ActivePost, after: int, limit: int) -> list[PostMessage]:
        self.reads.append((post.thread_id, after, limit))
        found = sorted(
            (m for m in self.messages if m.thread_id == post.thread_id and m.message_id > after),
            key=lambda m: m.message_id,
        )[:limit]
        self.reading.set()
        if self.go_on is not None:
            await self.go_on.wait()
        return found


def service(sessions: Sessions, **catch_up: int) -> QuestionService:
    clock = Clock()
    clock.now = T0 + timedelta(hours=2)
    return QuestionService(
        sessions,
        Settings(
            questions=QuestionsSettings(staff_role_ids=(STAFF_ROLE,), **catch_up),
            linking=settings().linking,
        ),
        chat=FakeChat(),
        clock=clock,  # type: ignore[arg-type]
    )


async def live(questions: QuestionService, message: PostMessage) -> str:
    """Hand a message over as the gateway does."""
    return await questions.on_post_message(message)


async def marks(sessions: Sessions) -> dict[int, int]:
    async with sessions() as session:
        found = await session.execute(
            select(ThreadMark.discord_thread_id, ThreadMark.last_message_id)
        )
        return {thread: message for thread, message in found}


async def test_messages_said_while_down_are_recorded_once_in_order_and_marked(
    lessons: Sessions,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    questions = service(lessons)
    assert (await live(questions, said(1, 1, "How do I pipe?"))).startswith("question")
    assert await marks(lessons) == {THREAD: sid(1)}
    # Down: two questions, an answer replying to the first, a thanks; and the first one
    # Discord still lists (it was applied: nothing is read before the mark).
    history = FakeHistory(
        said(1, 1, "How do I pipe?"),
        said(2, 2, "Why does grep hang?"),
        said(3, 3, "What is tee for?"),
        said(4, 4, "Use tee to split the output.", reply_to=sid(3)),
        said(5, 3, "Thanks!"),
    )
    caplog.set_level("INFO")

    report = await questions.catch_up([history.post(THREAD)], history)

    assert history.reads == [(THREAD, sid(1), 500)]
    assert (report.posts_read, report.messages_seen, report.questions_recorded) == (1, 4, 2)
    found = await rows(lessons)
    assert [row.external_id for row in found] == [str(sid(m)) for m in (1, 2, 3)]
    assert found[2].answer_id == str(sid(4)) and found[2].answered_how == "reply"
    assert found[0].answered_at is None and found[1].answered_at is None
    assert await marks(lessons) == {THREAD: sid(5)}
    assert "catch-up: 1 of 1 active posts read back, 4 messages seen, 2 questions" in caplog.text

    # Another fresh session with nothing new: the post is not read, nothing is added.
    again = await questions.catch_up([history.post(THREAD)], history)
    assert len(history.reads) == 1 and again.posts_read == 0
    assert len(await rows(lessons)) == 3


async def test_a_live_reply_to_a_question_being_caught_up_answers_it(
    lessons: Sessions,  # noqa: F811
) -> None:
    questions = service(lessons)
    await live(questions, said(1, 1, "How do I pipe?"))
    history = FakeHistory(said(1, 1, "How do I pipe?"), said(2, 2, "Why does grep hang?"))
    history.go_on = asyncio.Event()
    catching_up = asyncio.create_task(questions.catch_up([history.post(THREAD)], history))
    await history.reading.wait()

    # While the post is read back, a maintainer replies to the question asked while down,
    # and someone asks in another post (not being caught up: applied at once).
    reply = asyncio.create_task(
        live(questions, said(3, 9, "Use timeout.", reply_to=sid(2), roles=(STAFF_ROLE,)))
    )
    other = await live(questions, said(4, 5, "How do loops end?", thread=OTHER_THREAD))
    assert other.startswith("question") and not reply.done()
    history.go_on.set()
    report = await catching_up

    assert await reply == "answered 1"
    assert report.questions_recorded == 1
    by_id = {row.external_id: row for row in await rows(lessons)}
    grep = by_id[str(sid(2))]
    assert (grep.answer_id, grep.answered_how, grep.answered_by_staff) == (
        str(sid(3)),
        "reply",
        True,
    )
    assert by_id[str(sid(1))].answered_at is None
    assert await marks(lessons) == {THREAD: sid(3), OTHER_THREAD: sid(4)}
    # Caught up: the next live message is applied at once.
    assert (await live(questions, said(6, 6, "And tee?"))).startswith("question")


async def test_only_our_recent_posts_are_read_and_at_most_the_limit(
    lessons: Sessions,  # noqa: F811
) -> None:
    questions = service(lessons, catch_up_days=1, catch_up_messages=2)
    history = FakeHistory(
        *(said(m, m, f"Question {m}?") for m in range(1, 5)),
        said(1, 1, "Is this ours?", thread=777),
    )
    # Thread 777 is in a forum of no program; the lesson post 200 was last active long
    # before the window.
    foreign = ActivePost(777, GUILD, 12345, "chat", None, sid(1))
    stale = ActivePost(OTHER_THREAD, GUILD, FORUM, "post", None, sid(-3 * 24 * 60))

    report = await questions.catch_up([history.post(THREAD), foreign, stale], history)

    # Without a mark, read from the window's start (a day before the clock's now).
    window = snowflake_at(T0 + timedelta(hours=2) - timedelta(days=1))
    assert history.reads == [(THREAD, window, 2)]
    assert (report.posts_read, report.messages_seen, report.truncated) == (1, 2, 1)
    assert [row.external_id for row in await rows(lessons)] == [str(sid(1)), str(sid(2))]


async def test_a_help_post_opened_while_down_is_recorded(
    lessons: Sessions,  # noqa: F811
) -> None:
    questions = service(lessons)
    starter = PostMessage(
        HELP_THREAD,
        HELP_THREAD,
        7,
        "user7",
        "I cannot get pipes to work",
        created_at=T0 + timedelta(minutes=30),
        guild_id=GUILD,
        forum_id=FORUM,
        post_title="Stuck on pipes",
        post_owner_id=7,
    )
    history = FakeHistory(starter)

    report = await questions.catch_up([history.post(HELP_THREAD)], history)

    assert report.questions_recorded == 1
    async with lessons() as session:
        post = await session.scalar(select(HelpPost))
    assert post is not None and post.discord_thread_id == HELP_THREAD
    assert await marks(lessons) == {HELP_THREAD: HELP_THREAD}


async def test_a_post_that_cannot_be_read_back_still_takes_live_messages(
    lessons: Sessions,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    questions = service(lessons)

    class Broken(FakeHistory):
        async def read(self, post: ActivePost, after: int, limit: int) -> list[PostMessage]:
            raise RuntimeError("403 Missing Access")

    history = Broken(said(2, 2, "Why does grep hang?"))
    report = await questions.catch_up([history.post(THREAD)], history)

    assert report.failed == 1 and report.posts_read == 0
    assert "could not read post 100 back: RuntimeError" in caplog.text
    assert (await live(questions, said(3, 3, "What is tee for?"))).startswith("question")


async def test_the_mark_never_goes_back(
    lessons: Sessions,  # noqa: F811
) -> None:
    questions = service(lessons)
    # Two processes' batches may commit out of order: the older message comes second.
    await live(questions, said(5, 1, "How do I pipe?"))
    await live(questions, said(2, 2, "Why does grep hang?"))
    assert await marks(lessons) == {THREAD: sid(5)}


async def test_live_messages_from_the_session_start_wait_for_the_catch_up(
    lessons: Sessions,  # noqa: F811
) -> None:
    questions = service(lessons)
    await live(questions, said(1, 1, "How do I pipe?"))
    await live(questions, said(2, 2, "How do loops end?", thread=OTHER_THREAD))
    # Asked while down, in the lesson post 100.
    history = FakeHistory(said(3, 3, "Why does grep hang?"), said(4, 4, "What is tee for?"))

    # A fresh session starts: its first live messages come while the guilds still load,
    # before the catch-up has looked at any mark.
    questions.begin_catch_up("session", lambda guild_id: guild_id == GUILD)
    newer = asyncio.create_task(live(questions, said(5, 5, "And what is xargs?")))
    loops = asyncio.create_task(
        live(questions, said(6, 6, "Is a while loop slower?", thread=OTHER_THREAD))
    )
    await asyncio.sleep(0.05)
    assert not newer.done() and not loops.done()
    assert len(await rows(lessons)) == 2

    posts = [history.post(THREAD), ActivePost(OTHER_THREAD, GUILD, FORUM, "p", None, sid(6))]
    report = await questions.catch_up(posts, history, "session")

    # The newer live question did not hide what was asked before it: all are recorded.
    assert (await newer).startswith("question") and (await loops).startswith("question")
    # Post 200 is read too: Discord lists a message newer than its mark (the held one).
    assert history.reads == [(THREAD, sid(1), 500), (OTHER_THREAD, sid(2), 500)]
    assert report.questions_recorded == 2
    recorded = [row.external_id for row in await rows(lessons) if row.container_id == "100"]
    assert recorded == [str(sid(m)) for m in (1, 3, 4, 5)]
    assert await marks(lessons) == {THREAD: sid(5), OTHER_THREAD: sid(6)}
    # The session is caught up: nothing is held any more.
    assert (await live(questions, said(7, 7, "What about tee -a?"))).startswith("question")
