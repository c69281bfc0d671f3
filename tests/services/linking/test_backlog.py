"""The linking backlog: a lesson someone touched jumps the queue, cheaply; progress counts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.priorities import LINKING, LINKING_ISSUE, JobPriority
from bot.services.linking import LinkBacklog
from bot.services.outbox import Outbox
from bot.store.models import Lesson, LessonLink, utcnow

Sessions = async_sessionmaker[AsyncSession]


async def _bulk_backlog(outbox: Outbox, count: int) -> None:
    intents = [(f"lesson:p/{n}", {"identity": f"p/{n}"}) for n in range(count)]
    await outbox.enqueue_many(LINKING, intents, priority=JobPriority.BULK)


def _statements(sessions: Sessions) -> list[str]:
    """Record every SQL statement sent through the factory's engine from now on."""
    seen: list[str] = []
    engine = sessions.kw["bind"].sync_engine

    @event.listens_for(engine, "before_cursor_execute")
    def _seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    return seen


async def test_a_touched_lesson_jumps_the_bulk_queue(session_factory: Sessions) -> None:
    outbox = Outbox(session_factory)
    await _bulk_backlog(outbox, 30)
    await outbox.enqueue(
        LINKING_ISSUE, "lesson-issue:p/17", {"identity": "p/17"}, priority=JobPriority.BULK
    )
    backlog = LinkBacklog(session_factory, outbox)

    assert await backlog.touch("p/17")

    [first, second] = await outbox.claim_due(2)
    assert {first.key, second.key} == {"lesson:p/17", "lesson-issue:p/17"}
    assert first.priority == second.priority == JobPriority.TOUCHED
    # Touched again: nothing is left to move, and nothing else moved.
    assert not await backlog.touch("p/17")
    [bulk] = await outbox.claim_due(1)
    assert (bulk.key, bulk.priority) == ("lesson:p/0", JobPriority.BULK)


async def test_touching_a_lesson_with_nothing_pending_sends_no_query(
    session_factory: Sessions,
) -> None:
    outbox = Outbox(session_factory)
    await _bulk_backlog(outbox, 3)
    backlog = LinkBacklog(session_factory, outbox, refresh_seconds=3600)
    await backlog.refresh()
    seen = _statements(session_factory)

    assert not await backlog.touch("p/not-pending")
    assert not await backlog.touch_lesson(12345)

    assert seen == []


async def test_a_question_in_a_lessons_post_touches_it_by_its_row(
    session_factory: Sessions,
) -> None:
    outbox = Outbox(session_factory)
    async with session_factory() as session, session.begin():
        lesson = Lesson(program="p", slug="1")
        session.add(lesson)
        await session.flush()
        lesson_id = lesson.id
    await _bulk_backlog(outbox, 3)
    backlog = LinkBacklog(session_factory, outbox)

    assert await backlog.touch_lesson(lesson_id)

    [claim] = await outbox.claim_due(1)
    assert (claim.key, claim.priority) == ("lesson:p/1", JobPriority.TOUCHED)


async def test_the_backlog_counts_posts_issues_and_the_jobs_still_to_run(
    session_factory: Sessions,
) -> None:
    outbox = Outbox(session_factory)
    now = utcnow()
    async with session_factory() as session, session.begin():
        for n, (thread, issue) in enumerate([(11, 21), (12, None), (None, None)]):
            lesson = Lesson(program="p", slug=str(n))
            session.add(lesson)
            await session.flush()
            session.add(
                LessonLink(
                    lesson_id=lesson.id,
                    discord_thread_id=thread,
                    github_issue_number=issue,
                    created_at=now,
                    updated_at=now,
                )
            )
    # Lesson p/1 waits for its issue, p/2 for its post; p/3 and p/4 have no row yet.
    await outbox.enqueue(LINKING_ISSUE, "lesson-issue:p/1", {}, priority=JobPriority.BULK)
    await outbox.enqueue_many(
        LINKING, [(f"lesson:p/{n}", {}) for n in (2, 3, 4)], priority=JobPriority.BULK
    )

    counts = await LinkBacklog(session_factory, outbox).counts()

    assert counts.as_json() == {
        "lessons": 5,
        "with_post": 2,
        "with_issue": 1,
        "posts_pending": 3,
        "issues_pending": 1,
    }
    assert counts.busy
