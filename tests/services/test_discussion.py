"""A lesson's discussion from the store: links, open counts, and the short cache."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.discussion import DiscussionService
from bot.store.models import Lesson, LessonLink, ProgramForum, Question, QuestionSource

Sessions = async_sessionmaker[AsyncSession]
ASKED = datetime(2026, 1, 2, tzinfo=UTC)


async def add_question(sessions: Sessions, lesson_id: int, external_id: str) -> None:
    async with sessions() as session, session.begin():
        session.add(
            Question(
                source=QuestionSource.GITHUB,
                external_id=external_id,
                container_id="7",
                lesson_id=lesson_id,
                author_id="grace",
                author_name="grace",
                text="How?",
                asked_at=ASKED,
            )
        )


async def test_links_and_counts_come_from_the_store_and_are_kept_for_the_ttl(
    session_factory: Sessions,
) -> None:
    async with session_factory() as session, session.begin():
        lesson = Lesson(program="p", slug="s")
        session.add(lesson)
        await session.flush()
        lesson_id = lesson.id
        session.add(ProgramForum(program="p", discord_guild_id=1, discord_forum_id=2, tag_ids={}))
        session.add(
            LessonLink(
                lesson_id=lesson_id,
                discord_thread_id=3,
                discord_starter_message_id=4,
                github_issue_number=7,
                github_issue_url="https://gh.example/issues/7",
            )
        )
    await add_question(session_factory, lesson_id, "1")
    now = [100.0]
    service = DiscussionService(
        session_factory,
        discord_web_url="https://chat.example",
        ttl_seconds=60,
        clock=lambda: now[0],
    )
    first = await service.discussion("p/s")
    assert first.post_url == "https://chat.example/channels/1/3/4"
    assert first.issue_url == "https://gh.example/issues/7"
    assert first.open_questions == 1 and first.open_suggestions == 0
    await add_question(session_factory, lesson_id, "2")
    now[0] += 59
    assert (await service.discussion("p/s")).open_questions == 1  # still the cached one
    now[0] += 2
    assert (await service.discussion("p/s")).open_questions == 2
    service.forget("p/s")
    await add_question(session_factory, lesson_id, "3")
    assert (await service.discussion("p/s")).open_questions == 3


async def test_a_lesson_the_store_does_not_know_has_nothing_open(
    session_factory: Sessions,
) -> None:
    found = await DiscussionService(session_factory).discussion("p/unknown")
    assert found.post_url is None and found.issue_url is None
    assert (found.open_questions, found.open_suggestions, found.entries) == (0, 0, ())
