"""Digests from the database: one run per period, one delivery per destination, retried."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import (
    DigestSettings,
    DiscordSettings,
    MailSettings,
    MaintainerSettings,
    Settings,
    WebSettings,
)
from bot.services.digests import DigestService, RunResult, period_key
from bot.services.outbox import Outbox
from bot.services.ports import ChatEmbed, ChatMessage, MailError, OutgoingMail
from bot.services.signing import Signer
from bot.services.worker import JobWorker
from bot.store.engine import make_engine, make_session_factory
from bot.store.models import (
    DeliveryStatus,
    DigestRun,
    DigestRunStatus,
    Lesson,
    LessonFile,
    OutboxJob,
    Question,
    QuestionSource,
    Suggestion,
    SuggestionSource,
    SuggestionStatus,
)

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 11, 30, 9, 0, 30, tzinfo=UTC)  # a Monday, just after 09:00
CHANNEL = 555


class FakeChat:
    """Records posts; can fail a number of times, after posting or before."""

    user_id = 1

    def __init__(self) -> None:
        self.posts: list[tuple[int, str, ChatEmbed | None]] = []
        self.fail_after_posts: int | None = None

    async def post_message(
        self, channel_id: int, content: str, *, embed: ChatEmbed | None = None
    ) -> list[int]:
        if self.fail_after_posts is not None and len(self.posts) >= self.fail_after_posts:
            self.fail_after_posts = None
            raise ConnectionError("Discord went away")
        self.posts.append((channel_id, content, embed))
        return [len(self.posts)]

    async def recent_messages(self, channel_id: int, limit: int = 100) -> list[ChatMessage]:
        return [
            ChatMessage(i, self.user_id, content, embeds=(embed,) if embed else ())
            for i, (channel, content, embed) in enumerate(reversed(self.posts))
            if channel == channel_id
        ][:limit]


class FakeMail:
    """Records emails; addresses in `failing` fail that many times first."""

    def __init__(self) -> None:
        self.sent: list[OutgoingMail] = []
        self.failing: dict[str, int] = {}

    async def send(self, mail: OutgoingMail) -> None:
        [address] = mail.to
        if self.failing.get(address, 0) > 0:
            self.failing[address] -= 1
            raise MailError("SMTP 451 try again later")
        self.sent.append(mail)


def settings(**digest: object) -> Settings:
    return Settings(
        discord=DiscordSettings(digest_channel_id=CHANNEL),
        web=WebSettings(public_url="https://bot.example"),
        mail=MailSettings(
            maintainers=(
                MaintainerSettings(address="ana@example.org", programs=("python",)),
                MaintainerSettings(address="Bo@Example.org", locale="ar", locales=("ar",)),
            )
        ),
        digest=DigestSettings(**digest),  # type: ignore[arg-type]
    )


def make(
    sessions: Sessions, config: Settings | None = None, *, clock: datetime = NOW
) -> tuple[DigestService, JobWorker, FakeChat, FakeMail]:
    outbox = Outbox(sessions, backoff_base=0.0, backoff_cap=0.0, clock=lambda: clock)
    chat, mail = FakeChat(), FakeMail()
    service = DigestService(
        sessions,
        outbox,
        config or settings(),
        signer=Signer(b"k" * 32),
        chat=chat,  # type: ignore[arg-type]
        mail=mail,
        clock=lambda: clock,
    )
    worker = JobWorker(outbox, {DigestService.JOB_KIND: service.run_job})
    return service, worker, chat, mail


async def seed(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        lessons = {}
        for program, slug in (("python", "loops"), ("python", "functions"), ("data", "pandas")):
            lesson = Lesson(program=program, slug=slug)
            lesson.files.append(
                LessonFile(locale="en", title=slug.title(), path=f"{program}/{slug}.mdx")
            )
            session.add(lesson)
            lessons[slug] = lesson
        await session.flush()

        def question(n: int, slug: str, hours: float, text: str, **extra: object) -> Question:
            return Question(
                source=QuestionSource.DISCORD,
                external_id=str(n),
                container_id="1",
                url=f"https://discord.com/channels/1/2/{n}",
                lesson_id=lessons[slug].id,
                author_id=str(n),
                author_name=f"learner{n}",
                text=text,
                asked_at=NOW - timedelta(hours=hours),
                **extra,
            )

        session.add_all(
            [
                question(1, "loops", 200, "How do I stop a loop?"),
                question(2, "functions", 30, "لماذا لا تعيد الدالة شيئًا؟", locale="ar"),
                question(3, "pandas", 80, "How do I read a CSV?", locale="en"),
                # Deleted, or edited into a statement: kept, but in no digest.
                question(6, "pandas", 90, "Gone now?", dropped_at=NOW - timedelta(hours=1)),
                question(4, "loops", 50, "Why?", answered_at=NOW - timedelta(hours=40)),
                question(5, "loops", 10, "Where?", resolved_at=NOW - timedelta(hours=2)),
            ]
        )
        session.add(
            Suggestion(
                source=SuggestionSource.WEB,
                author_id="x",
                author_name="X",
                lesson_id=lessons["loops"].id,
                locale="en",
                edit={},
                status=SuggestionStatus.OPEN,
                idempotency_key="s1",
                created_at=NOW - timedelta(days=6),
            )
        )


async def drain(worker: JobWorker) -> None:
    while await worker.run_once():
        pass


async def test_a_run_delivers_once_to_discord_and_each_maintainer(session_factory: Sessions):
    await seed(session_factory)
    service, worker, chat, mail = make(session_factory)
    result = await service.run()
    assert result.created and result.period_key == "scheduled:2026-11-30T09:00Z"
    assert result.open_questions == 3 and result.waiting_suggestions == 1
    await drain(worker)
    assert len(chat.posts) >= 2 and all(channel == CHANNEL for channel, _, _ in chat.posts)
    summary = chat.posts[0][2]
    assert summary is not None and "3 open questions" in summary.description
    assert sorted(m.to[0] for m in mail.sent) == ["Bo@Example.org", "ana@example.org"]
    ana = next(m for m in mail.sent if m.to[0] == "ana@example.org")
    # Ana follows python only: the pandas question is not in her email.
    assert "How do I stop a loop?" in ana.text and "CSV" not in ana.text
    assert ana.subject == "[lessonbot] 2 open questions, 1 edit awaiting review"
    assert ana.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert ana.headers["List-Unsubscribe"].startswith(
        "<https://bot.example/digest/unsubscribe?address=ana%40example.org&token="
    )
    bo = next(m for m in mail.sent if m.to[0] == "Bo@Example.org")
    # Bo reads Arabic and follows Arabic questions (and those of no known locale).
    assert 'dir="rtl"' in (bo.html or "")
    assert "لماذا لا تعيد الدالة" in bo.text and "CSV" not in bo.text
    assert all("Gone now" not in m.text for m in mail.sent)
    async with session_factory() as session:
        run = (await session.execute(select(DigestRun))).scalar_one()
        assert run.status == DigestRunStatus.DONE and run.finished_at is not None
    deliveries = await service.deliveries(result.period_key)
    assert [d.status for d in deliveries] == [DeliveryStatus.SENT] * 3
    # The same period again, from a restart or a second fire: nothing more is sent.
    again = await service.run(now=NOW + timedelta(minutes=3))
    assert not again.created
    await drain(worker)
    assert len(mail.sent) == 2


async def test_two_services_on_one_database_send_once(migrated_url: str) -> None:
    engines = [make_engine(migrated_url) for _ in range(2)]
    try:
        factories = [make_session_factory(engine) for engine in engines]
        await seed(factories[0])
        made = [make(factory) for factory in factories]
        results = await asyncio.gather(*(service.run() for service, _, _, _ in made))
        assert sorted(result.created for result in results) == [False, True]
        await asyncio.gather(*(drain(worker) for _, worker, _, _ in made))
        emails = [m.to[0] for _, _, _, mail in made for m in mail.sent]
        assert sorted(emails) == ["Bo@Example.org", "ana@example.org"]
        summaries = [
            embed
            for _, _, chat, _ in made
            for _, _, embed in chat.posts
            if embed is not None and embed.title == "Open questions digest"
        ]
        assert len(summaries) == 1
    finally:
        for engine in engines:
            await engine.dispose()


async def test_an_interrupted_run_completes_the_rest_on_restart(session_factory: Sessions):
    await seed(session_factory)
    service, worker, chat, mail = make(session_factory)
    await service.run()
    # One delivery goes out, then the process stops.
    assert await worker.run_once(limit=1) == 1
    sent_before = len(mail.sent) + (1 if chat.posts else 0)
    assert sent_before == 1
    # A new process on the same database: it finds the period recorded and sends the rest.
    restarted, worker2, chat2, mail2 = make(session_factory)
    assert not (await restarted.run()).created
    await drain(worker2)
    assert len(mail.sent) + len(mail2.sent) == 2
    assert (1 if chat.posts else 0) + (1 if chat2.posts else 0) == 1


async def test_a_discord_digest_cut_short_posts_only_the_missing_parts(
    session_factory: Sessions,
) -> None:
    await seed(session_factory)
    service, worker, chat, _ = make(session_factory)
    chat.fail_after_posts = 1  # the first part goes out, then Discord fails
    await service.run()
    await drain(worker)
    parts = [embed for _, _, embed in chat.posts]
    assert len(parts) == len(set(parts)) >= 2  # every part once, none twice
    deliveries = await service.deliveries("scheduled:2026-11-30T09:00Z")
    discord = next(d for d in deliveries if d.channel == "discord")
    assert discord.status == DeliveryStatus.SENT and discord.attempts == 2


async def test_a_retried_digest_never_takes_an_earlier_identical_digest_for_its_own(
    session_factory: Sessions,
) -> None:
    await seed(session_factory)
    config = settings(schedule="* * * * *")
    first, worker, chat, _ = make(session_factory, config, clock=NOW)
    await first.run()
    await drain(worker)
    earlier = [embed for _, _, embed in chat.posts if embed is not None]
    # A minute later the same digest again, to the same channel; Discord fails before
    # its first part lands, so the retry looks for parts already posted.
    second, worker2, _, _ = make(session_factory, config, clock=NOW + timedelta(minutes=1))
    second.chat = chat  # type: ignore[assignment]
    chat.fail_after_posts = len(chat.posts)
    assert (await second.run()).created
    await drain(worker2)

    later = [embed for _, _, embed in chat.posts if embed is not None][len(earlier) :]
    assert [embed.title for embed in later] == [embed.title for embed in earlier]
    # Each part shows when its digest was taken.
    assert {embed.timestamp for embed in earlier} == {NOW}
    assert {embed.timestamp for embed in later} == {NOW + timedelta(minutes=1)}


async def test_a_failed_delivery_is_retried_and_never_stops_the_others(
    session_factory: Sessions,
) -> None:
    await seed(session_factory)
    service, worker, chat, mail = make(session_factory)
    mail.failing["ana@example.org"] = 1
    await service.run()
    await drain(worker)
    assert [m.to[0] for m in mail.sent].count("ana@example.org") == 1
    assert "Bo@Example.org" in [m.to[0] for m in mail.sent] and chat.posts
    ana = next(d for d in await service.deliveries(service.scheduled_key()) if "ana" in d.target)
    assert ana.status == DeliveryStatus.SENT and ana.attempts == 2 and ana.last_error is None


async def test_a_delivery_that_keeps_failing_is_marked_failed(session_factory: Sessions):
    await seed(session_factory)
    service, worker, _, mail = make(session_factory)
    mail.failing["ana@example.org"] = 100
    await service.run()
    await drain(worker)
    ana = next(d for d in await service.deliveries(service.scheduled_key()) if "ana" in d.target)
    assert ana.status == DeliveryStatus.FAILED and "451" in (ana.last_error or "")
    async with session_factory() as session:
        run = (await session.execute(select(DigestRun))).scalar_one()
        assert run.status == DigestRunStatus.FAILED


async def test_an_empty_digest_sends_nothing_unless_asked(session_factory: Sessions) -> None:
    service, worker, chat, mail = make(session_factory)
    result = await service.run()
    assert result.created and result.deliveries == ()
    await drain(worker)
    assert not chat.posts and not mail.sent
    eager, worker2, chat2, mail2 = make(session_factory, settings(send_empty=True))
    await eager.run("manual:test")
    await drain(worker2)
    assert chat2.posts and len(mail2.sent) == 2


async def test_dry_run_records_and_sends_nothing(session_factory: Sessions) -> None:
    await seed(session_factory)
    service, worker, chat, mail = make(session_factory)
    result = await service.run(dry_run=True)
    assert result.dry_run and len(result.deliveries) == 3
    await drain(worker)
    assert not chat.posts and not mail.sent
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(DigestRun)) == 0
        assert await session.scalar(select(func.count()).select_from(OutboxJob)) == 0


async def test_unsubscribed_addresses_get_no_more_digests(session_factory: Sessions) -> None:
    await seed(session_factory)
    service, worker, _, mail = make(session_factory)
    token = service.unsubscribe_token("ana@example.org")
    assert service.check_unsubscribe("ANA@example.org ", token)
    assert not service.check_unsubscribe("bo@example.org", token)
    assert not service.check_unsubscribe("ana@example.org", token[:-1] + "x")
    await service.unsubscribe("ana@example.org")
    await service.unsubscribe("ana@example.org")  # twice is fine
    assert await service.is_unsubscribed("Ana@Example.org")
    await service.run()
    await drain(worker)
    assert [m.to[0] for m in mail.sent] == ["Bo@Example.org"]


async def test_a_weekly_maintainer_gets_one_email_a_week(session_factory: Sessions) -> None:
    await seed(session_factory)
    config = dataclasses.replace(
        settings(schedule="0 9 * * *"),
        mail=MailSettings(
            maintainers=(MaintainerSettings(address="w@example.org", frequency="weekly"),)
        ),
    )
    sent: list[str] = []
    for day in range(8):  # Monday to the next Monday
        moment = NOW + timedelta(days=day)
        service, worker, _, mail = make(session_factory, config, clock=moment)
        await service.run()
        await drain(worker)
        sent += [moment.strftime("%a") for _ in mail.sent]
    assert sent == ["Mon", "Mon"]


def test_the_period_key_is_the_latest_scheduled_time() -> None:
    monday = "0 9 * * 1"
    assert period_key(monday, "UTC", NOW) == "scheduled:2026-11-30T09:00Z"
    later = NOW + timedelta(hours=5)  # a late (misfired) run still belongs to 09:00
    assert period_key(monday, "UTC", later, lookback=timedelta(hours=6)) == (
        "scheduled:2026-11-30T09:00Z"
    )
    # In New York, 09:00 local is 14:00 UTC in winter.
    assert period_key("0 9 * * *", "America/New_York", NOW + timedelta(hours=6)) == (
        "scheduled:2026-11-30T14:00Z"
    )


async def test_a_manual_digest_moments_after_another_is_not_sent_unless_forced(
    session_factory: Sessions,
) -> None:
    await seed(session_factory)
    service, _, _, _ = make(session_factory)
    first = await service.run_now()
    assert first.created and first.period_key.startswith("now:")
    # Within digest.min_interval_seconds (5 minutes by default): nothing more is recorded.
    later, _, _, _ = make(session_factory, clock=NOW + timedelta(minutes=4))
    skipped = await later.run_now()
    assert not skipped.created and skipped.period_key == first.period_key
    assert skipped.previous_at == NOW
    forced = await later.run_now(force=True)
    assert forced.created and forced.period_key != first.period_key
    # Past the interval, and after a scheduled digest too, a manual one goes out again.
    await later.run()
    again, _, _, _ = make(session_factory, clock=NOW + timedelta(minutes=10))
    assert (await again.run_now()).created
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(DigestRun)) == 4
        # Discord and both maintainers, once per recorded digest.
        assert await session.scalar(select(func.count()).select_from(OutboxJob)) == 3 * 4


async def test_two_manual_digests_at_once_record_one(migrated_url: str) -> None:
    engines = [make_engine(migrated_url) for _ in range(2)]
    try:
        factories = [make_session_factory(engine) for engine in engines]
        await seed(factories[0])
        # No interval: only the claim on the period key keeps the two apart.
        services = [make(factory, settings(min_interval_seconds=0))[0] for factory in factories]
        # Both read the latest digest before either records theirs, as two processes may.
        barrier = asyncio.Barrier(2)
        for service in services:
            run = service.run

            async def gated(key: str | None = None, *, _run=run, **options: Any) -> RunResult:
                await barrier.wait()
                return await _run(key, **options)

            service.run = gated  # type: ignore[method-assign]
        results = await asyncio.gather(*(service.run_now() for service in services))
        assert sorted(result.created for result in results) == [False, True]
        assert results[0].period_key == results[1].period_key
        loser = next(result for result in results if not result.created)
        assert loser.previous_at == NOW
        async with factories[0]() as session:
            assert await session.scalar(select(func.count()).select_from(DigestRun)) == 1
    finally:
        for engine in engines:
            await engine.dispose()


async def test_each_email_names_lessons_and_programs_in_its_readers_language(
    session_factory: Sessions,
) -> None:
    await seed(session_factory)
    async with session_factory() as session, session.begin():
        functions = await session.scalar(select(Lesson).where(Lesson.slug == "functions"))
        assert functions is not None
        session.add(LessonFile(lesson_id=functions.id, locale="ar", title="الدوال", path="p"))
    service, worker, chat, mail = make(session_factory)
    await service.run()
    await drain(worker)
    bo = next(m for m in mail.sent if m.to[0] == "Bo@Example.org")
    ana = next(m for m in mail.sent if m.to[0] == "ana@example.org")
    # The title the last sync stored in each locale; without a program.json at hand, the
    # program's slug as words.
    assert "الدوال" in bo.text and "Functions" not in bo.text and "Python (" in bo.text
    assert "Functions" in ana.text and "الدوال" not in ana.text
    assert all("python/" not in m.text for m in mail.sent)
    # The first digest names no last one.
    assert all("last digest" not in m.text for m in mail.sent)
    summary = chat.posts[0][2]
    assert summary is not None and "Over the last 7 days" in summary.description
