"""Nudges in questions' posts: claimed once across scans, processes and restarts, posted once
through the outbox, held in quiet hours and capped per post; the asker's buttons resolve or
reopen, and a reopened question is back in the digest as unanswered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import QuestionsSettings, Settings
from bot.services.digests import DigestService
from bot.services.outbox import Outbox
from bot.services.questions import QuestionService
from bot.services.questions.nudges import NUDGE_KIND, SOLVED, STUCK, NudgeService, nudge_button_id
from bot.services.signing import Signer
from bot.store.engine import make_engine, make_session_factory
from bot.store.models import JobStatus, OutboxJob, Question, QuestionNudge, QuestionSource
from tests.services.test_questions import BOT_ID, FakeChat

Sessions = async_sessionmaker[AsyncSession]
# Noon UTC on a weekday: outside the default quiet hours (22:00-07:00).
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
THREAD, OTHER_THREAD = 100, 200
ASKER, HELPER = 1001, 1002
ROLE = "777"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def nudge_settings(**questions: object) -> Settings:
    values: dict[str, object] = {"helper_role_id": ROLE}
    values.update(questions)
    return Settings(questions=QuestionsSettings(**values))  # type: ignore[arg-type]


async def ask(
    sessions: Sessions,
    text: str = "How do I drop empty rows?",
    *,
    thread: int = THREAD,
    asked_at: datetime = T0,
    answered_at: datetime | None = None,
    source: QuestionSource = QuestionSource.DISCORD,
    message_id: int | None = None,
) -> int:
    """Store a question asked by ASKER in a post; return its id."""
    async with sessions() as session, session.begin():
        count = await session.scalar(select(func.count(Question.id)))
        external = str(message_id or 7000 + (count or 0))
        row = Question(
            source=source,
            external_id=external,
            container_id=str(thread),
            url=f"https://discord.com/channels/9/{thread}/{external}",
            program="demo",
            author_id=str(ASKER),
            author_name="ana",
            text=text,
            asked_at=asked_at,
            answered_at=answered_at,
            answered_by="ben" if answered_at else None,
            answer_id="8000" if answered_at else None,
            locale="en",
        )
        session.add(row)
        await session.flush()
        return row.id


def service(
    sessions: Sessions, clock: Clock, chat: FakeChat, settings: Settings | None = None
) -> NudgeService:
    return NudgeService(
        sessions,
        Outbox(sessions, clock=clock),
        settings or nudge_settings(),
        chat=chat,  # type: ignore[arg-type]
        clock=clock,
    )


async def work(nudges: NudgeService, sessions: Sessions, clock: Clock) -> list[str]:
    """Run the nudge jobs due now, as the worker does; return what each did."""
    claims = await Outbox(sessions, clock=clock).claim_due(20, [NUDGE_KIND])
    return [await nudges.run_job(claim) for claim in claims]


async def nudges_of(sessions: Sessions) -> list[QuestionNudge]:
    async with sessions() as session:
        return list(await session.scalars(select(QuestionNudge).order_by(QuestionNudge.id)))


async def question(sessions: Sessions, question_id: int) -> Question:
    async with sessions() as session:
        found = await session.get(Question, question_id)
        assert found is not None
        return found


async def test_an_unanswered_question_is_nudged_once_with_the_helper_role(
    session_factory: Sessions,
) -> None:
    clock, chat = Clock(T0 + timedelta(hours=23)), FakeChat()
    nudges = service(session_factory, clock, chat)
    asked = await ask(session_factory)
    await ask(session_factory, "Where is the CSV?", source=QuestionSource.GITHUB, thread=7)

    assert await nudges.scan() == 0  # not a day yet
    clock.now = T0 + timedelta(hours=25)
    assert await nudges.scan() == 1  # the GitHub issue's question is never nudged
    assert await nudges.scan() == 0
    done = await work(nudges, session_factory, clock)
    assert len(done) == 1 and done[0].startswith("sent unanswered nudge")
    assert await work(nudges, session_factory, clock) == []
    assert await nudges.scan() == 0

    ((channel, content),) = chat.posts
    assert channel == THREAD
    assert content.startswith(f"<@&{ROLE}> ") and "How do I drop empty rows?" in content
    assert "25 hours" in content and f"https://discord.com/channels/9/{THREAD}/" in content
    assert chat.options[0]["mention_roles"] == [777] and chat.options[0]["buttons"] == ()
    (row,) = await nudges_of(session_factory)
    assert (row.question_id, row.kind, row.round, row.message_id) == (
        asked,
        "unanswered",
        0,
        chat.next_id,
    )


async def test_without_a_helper_role_the_nudge_pings_nobody(session_factory: Sessions) -> None:
    clock, chat = Clock(T0 + timedelta(days=2)), FakeChat()
    nudges = service(session_factory, clock, chat, nudge_settings(helper_role_id=""))
    await ask(session_factory)
    assert await nudges.scan() == 1
    await work(nudges, session_factory, clock)
    ((_, content),) = chat.posts
    assert "<@&" not in content and content.startswith("This question has waited 2 days")
    assert chat.options[0]["mention_roles"] == []


async def test_an_answered_question_asks_its_asker_with_two_buttons(
    session_factory: Sessions,
) -> None:
    clock, chat = Clock(T0 + timedelta(days=3)), FakeChat()
    nudges = service(session_factory, clock, chat)
    asked = await ask(session_factory, answered_at=T0 + timedelta(hours=1))
    assert await nudges.scan() == 0
    clock.now = T0 + timedelta(days=3, hours=2)
    assert await nudges.scan() == 1
    await work(nudges, session_factory, clock)
    ((_, content),) = chat.posts
    assert content.startswith(f"<@{ASKER}>, your question was answered 3 days ago")
    options = chat.options[0]
    assert [b.custom_id for b in options["buttons"]] == [
        nudge_button_id(SOLVED, asked, 0),
        nudge_button_id(STUCK, asked, 0),
    ]
    assert [b.label for b in options["buttons"]] == ["Solved", "Still stuck"]
    assert options["mention_users"] == [ASKER] and options["mention_roles"] == []


async def test_quiet_hours_hold_the_scan_and_the_send_until_they_end(
    session_factory: Sessions,
) -> None:
    clock, chat = Clock(T0 + timedelta(hours=9, minutes=30)), FakeChat()  # 21:30
    nudges = service(session_factory, clock, chat)
    await ask(session_factory, "First?", asked_at=T0 - timedelta(hours=15))  # due at 21:00
    assert await nudges.scan() == 1
    await ask(session_factory, "Second?", asked_at=T0 - timedelta(hours=14))  # due at 22:00
    clock.now = T0 + timedelta(hours=10, minutes=30)  # 22:30: quiet
    # The first, claimed before the quiet hours, waits for their end; the second is not
    # claimed in them.
    assert await work(nudges, session_factory, clock) == ["waiting for the end of the quiet hours"]
    assert await nudges.scan() == 0
    assert chat.posts == []
    morning = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
    async with session_factory() as session:
        job = await session.scalar(select(OutboxJob).where(OutboxJob.kind == NUDGE_KIND))
        assert job is not None and job.run_after == morning
    clock.now = morning - timedelta(minutes=1)
    assert await nudges.scan() == 0
    assert await work(nudges, session_factory, clock) == []
    clock.now = morning
    assert await nudges.scan() == 1
    assert len(await work(nudges, session_factory, clock)) == 2
    assert sorted(content.split("“")[1].split("”")[0] for _, content in chat.posts) == [
        "First?",
        "Second?",
    ]


async def test_the_cap_per_post_and_day_holds_the_rest_for_the_next_day(
    session_factory: Sessions,
) -> None:
    clock, chat = Clock(T0 + timedelta(days=2)), FakeChat()
    nudges = service(session_factory, clock, chat)
    for hour in range(3):
        await ask(session_factory, f"Question {hour}?", asked_at=T0 + timedelta(hours=hour))
    await ask(session_factory, "Another post?", thread=OTHER_THREAD)
    assert await nudges.scan() == 3  # two in the first post, one in the other
    assert await nudges.scan() == 0
    await work(nudges, session_factory, clock)
    assert sorted(channel for channel, _ in chat.posts) == [THREAD, THREAD, OTHER_THREAD]
    assert "Question 2?" not in "".join(content for _, content in chat.posts)
    clock.now += timedelta(days=1)
    assert await nudges.scan() == 1
    await work(nudges, session_factory, clock)
    assert "Question 2?" in chat.posts[-1][1]


async def test_a_question_answered_after_its_claim_is_not_nudged(
    session_factory: Sessions,
) -> None:
    clock, chat = Clock(T0 + timedelta(days=2)), FakeChat()
    nudges = service(session_factory, clock, chat)
    asked = await ask(session_factory)
    assert await nudges.scan() == 1
    async with session_factory() as session, session.begin():
        row = await session.get(Question, asked)
        assert row is not None
        row.answered_at, row.answered_by = clock.now, "ben"
    assert await work(nudges, session_factory, clock) == ["skipped: the question was answered"]
    assert chat.posts == []


@pytest.fixture
async def two_processes(migrated_url: str) -> AsyncIterator[tuple[Sessions, Sessions]]:
    """Yield two session factories on separate engines: two processes on one database."""
    first, second = make_engine(migrated_url), make_engine(migrated_url)
    try:
        yield make_session_factory(first), make_session_factory(second)
    finally:
        await first.dispose()
        await second.dispose()


async def test_two_processes_scanning_at_once_claim_each_nudge_once_within_the_cap(
    two_processes: tuple[Sessions, Sessions],
) -> None:
    one, two = two_processes
    clock, chat = Clock(T0 + timedelta(days=2)), FakeChat()
    for index in range(4):
        await ask(one, f"Question {index}?", asked_at=T0 + timedelta(minutes=index))
    await ask(one, "Other post?", thread=OTHER_THREAD)
    first, second = service(one, clock, chat), service(two, clock, chat)
    counts = await asyncio.gather(*(s.scan() for s in (first, second, first, second)))
    assert sum(counts) == 3
    rows = await nudges_of(one)
    assert sorted((row.post, row.slot) for row in rows) == [
        (str(THREAD), 0),
        (str(THREAD), 1),
        (str(OTHER_THREAD), 0),
    ]
    async with one() as session:
        jobs = list(await session.scalars(select(OutboxJob).where(OutboxJob.kind == NUDGE_KIND)))
    assert len(jobs) == 3
    # Both processes' workers at once: each job runs once.
    done = await asyncio.gather(work(first, one, clock), work(second, two, clock))
    assert sum(len(d) for d in done) == 3
    assert len(chat.posts) == 3


async def test_a_restart_between_the_claim_and_the_send_sends_once(migrated_url: str) -> None:
    clock, chat = Clock(T0 + timedelta(days=2)), FakeChat()
    engine = make_engine(migrated_url)
    sessions = make_session_factory(engine)
    await ask(sessions)
    assert await service(sessions, clock, chat).scan() == 1
    await engine.dispose()  # the process stops after the claim's commit

    engine = make_engine(migrated_url)
    try:
        sessions = make_session_factory(engine)
        restarted = service(sessions, clock, chat)
        assert await restarted.scan() == 0  # claimed already: not claimed again
        assert len(await work(restarted, sessions, clock)) == 1
        assert len(chat.posts) == 1
    finally:
        await engine.dispose()


class DropsAfterPosting(FakeChat):
    """Posts, then loses the response once (as a connection cut after Discord posted)."""

    def __init__(self) -> None:
        super().__init__()
        self.drops = 1

    async def post_message(self, channel_id: int, content: str, **options: object) -> list[int]:
        ids = await super().post_message(channel_id, content, **options)
        if self.drops:
            self.drops -= 1
            raise ConnectionResetError("connection lost")
        return ids


@pytest.mark.parametrize("answered", [False, True])
async def test_a_send_whose_answer_was_lost_is_found_not_posted_again(
    session_factory: Sessions, answered: bool
) -> None:
    clock, chat = Clock(T0 + timedelta(days=4)), DropsAfterPosting()
    nudges = service(session_factory, clock, chat)
    await ask(session_factory, answered_at=T0 + timedelta(hours=1) if answered else None)
    assert await nudges.scan() == 1
    (first,) = await work(nudges, session_factory, clock)
    assert first.startswith("queued")
    clock.now += timedelta(hours=1)  # past any backoff
    (second,) = await work(nudges, session_factory, clock)
    assert second.startswith("sent")
    assert len(chat.posts) == 1
    (row,) = await nudges_of(session_factory)
    assert row.message_id == chat.messages[0][1].id and chat.messages[0][1].author_id == BOT_ID


async def test_still_stuck_reopens_into_the_digest_and_starts_a_new_round(
    session_factory: Sessions,
) -> None:
    clock, chat = Clock(T0 + timedelta(days=4)), FakeChat()
    nudges = service(session_factory, clock, chat)
    asked = await ask(session_factory, answered_at=T0 + timedelta(hours=1))
    assert await nudges.scan() == 1
    await work(nudges, session_factory, clock)

    assert (await nudges.press(asked, 0, STUCK, HELPER)).outcome == "not_asker"
    assert (await nudges.press(asked, 0, STUCK, ASKER)).outcome == "reopened"
    assert (await nudges.press(asked, 0, STUCK, ASKER)).outcome == "stale"
    row = await question(session_factory, asked)
    assert row.answered_at is None and row.answer_id is None and row.resolved_at is None
    assert (row.reopened_at, row.reopen_count) == (clock.now, 1)
    # Its first reply still counts for the first-reply figures: an hour, within the target.
    assert row.first_answered_at == T0 + timedelta(hours=1)
    stats = await QuestionService(session_factory, Settings(), clock=lambda: clock.now).reply_stats(
        None
    )
    assert (stats.overall.met, stats.overall.missed) == (1, 0)

    digests = DigestService(
        session_factory, Outbox(session_factory), Settings(), signer=Signer(b"k" * 32)
    )
    digest = await digests.build(now=clock.now)
    shown = [q for p in digest.programs for lesson in p.lessons for q in lesson.questions]
    assert [q.id for q in shown] == [asked]
    assert digest.open_count == 1

    # Nudged again only nudge_after from the reopening, in round 1.
    clock.now += timedelta(hours=23)
    assert await nudges.scan() == 0
    clock.now += timedelta(hours=2)
    assert await nudges.scan() == 1
    await work(nudges, session_factory, clock)
    assert [(row.kind, row.round) for row in await nudges_of(session_factory)] == [
        ("ask_resolved", 0),
        ("unanswered", 1),
    ]
    assert chat.posts[-1][1].startswith(f"<@&{ROLE}> this question has waited 25 hours")


async def test_solved_resolves_by_button_once(session_factory: Sessions) -> None:
    clock, chat = Clock(T0 + timedelta(days=4)), FakeChat()
    nudges = service(session_factory, clock, chat)
    asked = await ask(session_factory, answered_at=T0 + timedelta(hours=1))
    assert (await nudges.press(asked, 0, SOLVED, HELPER)).outcome == "not_asker"
    assert (await nudges.press(asked, 0, SOLVED, ASKER)).outcome == "solved"
    assert (await nudges.press(asked, 0, STUCK, ASKER)).outcome == "stale"
    assert (await nudges.press(asked + 50, 0, SOLVED, ASKER)).outcome == "gone"
    row = await question(session_factory, asked)
    assert (row.resolved_at, row.resolved_by, row.resolved_how) == (clock.now, str(ASKER), "button")
    assert row.answered_at is not None
    assert await nudges.scan() == 0


async def test_a_nudge_job_left_done_is_not_sent_again_after_a_new_scan(
    session_factory: Sessions,
) -> None:
    clock, chat = Clock(T0 + timedelta(days=2)), FakeChat()
    nudges = service(session_factory, clock, chat)
    await ask(session_factory)
    await nudges.scan()
    await work(nudges, session_factory, clock)
    clock.now += timedelta(days=3)
    assert await nudges.scan() == 0
    async with session_factory() as session:
        statuses = list(await session.scalars(select(OutboxJob.status)))
    assert statuses == [JobStatus.DONE]
    assert len(chat.posts) == 1


async def test_a_question_nudged_unanswered_then_answered_still_asks_its_asker(
    session_factory: Sessions,
) -> None:
    clock, chat = Clock(T0 + timedelta(days=2)), FakeChat()
    nudges = service(session_factory, clock, chat)
    asked = await ask(session_factory)
    assert await nudges.scan() == 1
    await work(nudges, session_factory, clock)
    async with session_factory() as session, session.begin():
        row = await session.get(Question, asked)
        assert row is not None
        row.answered_at, row.answered_by = clock.now, "ben"
    clock.now += timedelta(days=3)
    assert await nudges.scan() == 1
    await work(nudges, session_factory, clock)
    assert [(row.kind, row.round) for row in await nudges_of(session_factory)] == [
        ("unanswered", 0),
        ("ask_resolved", 0),
    ]
    assert len(chat.posts) == 2 and chat.options[1]["buttons"]
    clock.now += timedelta(days=3)
    assert await nudges.scan() == 0
