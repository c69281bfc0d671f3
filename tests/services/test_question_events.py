"""Questions' events applied in batches: one transaction for what queued together, in
arrival order, an outcome per caller, a bad event failing alone; and which lesson each
post is, remembered until linking changes it."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.linking import WantedLesson
from bot.services.linking.store import LinkStore
from bot.services.outbox import Outbox
from bot.services.questions import QuestionService
from bot.services.questions.event_queue import Applied, EventQueue
from bot.services.questions.lesson_threads import LessonThreads
from bot.store.models import Lesson, LessonLink
from tests.services.test_questions import (
    GUILD,
    OTHER_THREAD,
    T0,
    THREAD,
    Clock,
    FakeChat,
    lessons,  # noqa: F401 - the fixture
    rows,
    say,
    settings,
)

Sessions = async_sessionmaker[AsyncSession]


class CountingSessions:
    """The session factory, counting the sessions (each intake batch opens one)."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions
        self.opened = 0

    def __call__(self) -> AsyncSession:
        self.opened += 1
        return self._sessions()


def counted_service(sessions: Sessions) -> tuple[QuestionService, CountingSessions]:
    counting = CountingSessions(sessions)
    questions = QuestionService(
        counting,  # type: ignore[arg-type]
        settings(),
        chat=FakeChat(),
        clock=Clock(),  # type: ignore[arg-type]
    )
    return questions, counting


async def test_events_queued_together_apply_in_one_transaction_in_their_order(
    lessons: Sessions,  # noqa: F811
) -> None:
    questions, counting = counted_service(lessons)
    # Started together, as discord.py starts a task per event: a question, a reply to it,
    # another question, its edit into a statement, the asker's ✅ and a deletion.
    outcomes = await asyncio.gather(
        say(questions, 1, 1, "How do I pipe?"),
        say(questions, 2, 2, "Use |.", minutes=1, reply_to=1),
        say(questions, 3, 3, "Why does grep hang?", minutes=2),
        questions.on_discord_edit(3, "grep hangs, I see."),
        questions.on_reaction(1, 1, "✅", True),
        say(questions, 4, 4, "What is tee for?", minutes=3),
        questions.on_discord_delete(4),
    )

    assert counting.opened == 1
    assert outcomes[0].startswith("question")
    assert outcomes[1:] == [
        "answered 1",
        outcomes[2],
        "dropped: no longer a question",
        "resolved",
        outcomes[5],
        "dropped: deleted",
    ]
    assert outcomes[2].startswith("question") and outcomes[5].startswith("question")
    first, second, third = await rows(lessons)
    assert (first.answer_id, first.answered_how, first.resolved_how) == ("2", "reply", "reaction")
    assert second.drop_reason == "not_a_question"
    assert third.drop_reason == "deleted"


async def test_a_failing_event_fails_alone_and_the_batch_around_it_is_kept(
    lessons: Sessions,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    questions, _ = counted_service(lessons)
    bad = questions.on_discord_message(
        THREAD,
        3,
        3,
        "user3",
        "Why?",
        created_at="yesterday",
        guild_id=GUILD,  # type: ignore[arg-type]
    )
    outcomes = await asyncio.gather(
        say(questions, 1, 1, "How do I pipe?"),
        bad,
        say(questions, 2, 2, "Use |.", minutes=1, reply_to=1),
        say(questions, 4, 4, "What is tee for?", minutes=2),
        return_exceptions=True,
    )

    assert isinstance(outcomes[1], Exception)
    assert outcomes[0].startswith("question") and outcomes[3].startswith("question")
    # Applied again one by one, in order: the reply still answers the question before it.
    assert outcomes[2] == "answered 1"
    assert [row.external_id for row in await rows(lessons)] == ["1", "4"]
    assert "applying them one by one" in caplog.text


async def test_each_caller_gets_its_own_outcome_and_later_events_start_a_new_batch(
    lessons: Sessions,  # noqa: F811
) -> None:
    questions, counting = counted_service(lessons)
    first = await asyncio.gather(
        *(say(questions, n, n, f"How do I do step {n}?", minutes=n) for n in range(1, 6)),
        say(questions, 6, 6, "Thanks!", minutes=7),
        say(questions, 7, 1, "How?", thread=12345),
    )
    assert counting.opened == 1
    assert all(outcome.startswith("question") for outcome in first[:5])
    assert first[5:] == ["ignored: not a question", "ignored: not a lesson post"]

    # Events that come once a batch is under way queue for the next one.
    assert await say(questions, 8, 8, "Do step 5 first.", minutes=8) == "answered 1"
    assert counting.opened == 2


async def test_a_batch_is_cut_at_its_cap(session_factory: Sessions) -> None:
    applied: list[int] = []
    counting = CountingSessions(session_factory)
    queue = EventQueue(counting, cap=3)  # type: ignore[arg-type]

    async def change(n: int, session: AsyncSession) -> Applied:
        applied.append(n)
        return Applied(f"event {n}")

    outcomes = await asyncio.gather(
        *(queue.apply(lambda session, n=n: change(n, session)) for n in range(7))
    )
    assert outcomes == [f"event {n}" for n in range(7)]
    assert applied == list(range(7))
    assert counting.opened == 3


async def test_an_event_alone_keeps_its_place_in_the_order(session_factory: Sessions) -> None:
    seen: list[str] = []
    queue = EventQueue(session_factory)

    async def change(name: str, session: AsyncSession) -> Applied:
        seen.append(name)
        return Applied(name)

    async def alone() -> str:
        seen.append("alone")
        return "alone"

    outcomes = await asyncio.gather(
        queue.apply(lambda session: change("before", session)),
        queue.apply_alone(alone),
        queue.apply(lambda session: change("after", session)),
    )
    assert outcomes == seen == ["before", "alone", "after"]


async def test_what_follows_the_commit_ends_the_outcome(session_factory: Sessions) -> None:
    queue = EventQueue(session_factory)
    committed: list[bool] = []

    async def after() -> str:
        committed.append(True)
        return ", then posted"

    async def change(session: AsyncSession) -> Applied:
        return Applied("recorded", after)

    assert await queue.apply(change) == "recorded, then posted"
    assert committed == [True]


async def test_a_lesson_post_is_remembered_until_linking_changes_it(
    lessons: Sessions,  # noqa: F811
) -> None:
    questions, _ = counted_service(lessons)
    await say(questions, 1, 1, "How do I pipe?")
    # Another process moves demo/pipes's post elsewhere: this one still knows the old one.
    async with lessons() as session, session.begin():
        await session.execute(
            update(LessonLink)
            .where(LessonLink.discord_thread_id == THREAD)
            .values(discord_thread_id=555)
        )
    assert (await say(questions, 2, 2, "Why?", minutes=1)).startswith("question")

    questions.forget_lesson_threads()
    assert await say(questions, 3, 3, "And now?", minutes=2) == "ignored: not a lesson post"
    # A thread that was no lesson's post is asked about every time: linked now, it counts.
    assert (await say(questions, 4, 4, "Here?", minutes=3, thread=555)).startswith("question")
    assert [row.external_id for row in await rows(lessons)] == ["1", "2", "4"]


async def test_a_remembered_lesson_post_is_asked_again_after_a_while(
    lessons: Sessions,  # noqa: F811
) -> None:
    now = [0.0]
    threads = LessonThreads(seconds=30, clock=lambda: now[0])
    async with lessons() as session:
        lesson = await threads.lesson_of(session, OTHER_THREAD)
        assert lesson is not None
        await session.execute(update(Lesson).values(removed_at=T0))
        now[0] = 29.0
        assert await threads.lesson_of(session, OTHER_THREAD) == lesson
        now[0] = 31.0
        assert await threads.lesson_of(session, OTHER_THREAD) is None


async def test_linking_tells_when_a_post_is_linked_or_a_lesson_removed(
    session_factory: Sessions,
) -> None:
    told: list[bool] = []
    outbox = Outbox(session_factory)
    store = LinkStore(session_factory, outbox, on_threads_changed=lambda: told.append(True))
    wanted = WantedLesson(
        identity="demo/pipes",
        program="demo",
        slug="pipes",
        title="Pipes",
        path="programs/demo/lessons/en/pipes.mdx",
        page_url="https://example.org/demo/pipes",
        difficulty=None,
        locales=("en",),
    )
    claim = await outbox.claim(await outbox.enqueue("link", "demo/pipes", {}))
    assert claim is not None
    state = await store.load_state(claim, wanted)
    state = await store.save(claim, state, issue_number=7)
    assert told == []
    state = await store.save(claim, state, thread_id=321)
    assert told == [True]
    await store.mark_removed(state)
    assert told == [True, True]
    async with session_factory() as session:
        link = await session.scalar(select(LessonLink))
    assert link is not None and link.discord_thread_id == 321


async def test_a_redelivered_message_in_a_batch_is_recorded_once(
    lessons: Sessions,  # noqa: F811
) -> None:
    questions, _ = counted_service(lessons)
    await say(questions, 1, 1, "How do I pipe?")
    # A resumed gateway session delivers messages again, one already stored, one twice.
    outcomes = await asyncio.gather(
        say(questions, 1, 1, "How do I pipe?"),
        say(questions, 2, 2, "Why does grep hang?", minutes=1),
        say(questions, 2, 2, "Why does grep hang?", minutes=1),
        say(questions, 3, 3, "Use |.", minutes=2, reply_to=2),
    )
    assert outcomes[0] == outcomes[2] == "ignored: already recorded"
    assert outcomes[1].startswith("question") and outcomes[3] == "answered 1"
    assert [row.external_id for row in await rows(lessons)] == ["1", "2"]
