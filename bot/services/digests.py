"""Digests of open questions: built from the database once per period, delivered once per
(run, destination) through the write path.

`run` records a `DigestRun` under a period key (the scheduled time it stands for) with one
`DigestDelivery` and one outbox job per destination, all in one transaction: of two
processes, or a restart, only the first records the period, and the rest find it done.
`run_now` (`lessonbot digest --now`) claims the same way a key naming the latest run it
follows, so of two manual digests started at once one is sent, and one moments after a
digest (`digest.min_interval_seconds`) is not sent unless forced.
Each job (`run_job`) posts the Discord digest or sends one maintainer's email; a failure is
retried with backoff and never stops the other deliveries.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import zoneinfo
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import MaintainerSettings, Settings
from bot.domain.catalogue import Catalogue
from bot.domain.cron import latest_fire
from bot.domain.digest import (
    EVERYONE,
    WAITING_STATUSES,
    Audience,
    Digest,
    Names,
    QuestionRecord,
    SuggestionRecord,
    build_digest,
    render_embeds,
    render_markdown,
    render_text,
)
from bot.domain.digest_email import render_email
from bot.domain.reply_stats import ReplyTarget
from bot.services.outbox import Claim, JobFailure, Outbox
from bot.services.ports import ChatEmbed, ChatPort, MailPort, OutgoingMail
from bot.services.signing import Signer
from bot.store.models import (
    AppSecret,
    DeliveryChannel,
    DeliveryStatus,
    DigestDelivery,
    DigestRun,
    DigestRunStatus,
    Lesson,
    LessonFile,
    Question,
    Suggestion,
    SuggestionStatus,
    utcnow,
)
from bot.store.upsert import insert_new

log = logging.getLogger(__name__)

UNSUBSCRIBE_PURPOSE = "digest-unsubscribe"
UNSUBSCRIBE_PATH = "/digest/unsubscribe"
# Unsubscribed addresses are kept as app_secrets rows under this prefix (a hash, not the
# address), until the schema has a table of its own for them.
_UNSUBSCRIBED = "digest-unsubscribed:"
# Without an earlier digest, activity is counted over this long.
DEFAULT_LOOKBACK = timedelta(days=7)
# How far the bot's clock and Discord's may disagree when finding a run's posted parts.
_CLOCK_LEEWAY = timedelta(minutes=1)
_ERROR_LIMIT = 2000


@dataclass(frozen=True, slots=True)
class RunResult:
    """What `run` did: the period, whether this call recorded it, and its deliveries."""

    period_key: str
    created: bool
    deliveries: tuple[str, ...] = ()  # "discord:<channel>" / "email:<address>"
    open_questions: int = 0
    waiting_suggestions: int = 0
    dry_run: bool = False
    # When not created by a manual run: when the digest that made it needless was recorded.
    previous_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        """Return the record `lessonbot digest --json` prints."""
        return {
            "period": self.period_key,
            "created": self.created,
            "deliveries": list(self.deliveries),
            "open_questions": self.open_questions,
            "waiting_suggestions": self.waiting_suggestions,
            "dry_run": self.dry_run,
            "previous_at": self.previous_at.isoformat() if self.previous_at else None,
        }


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything a digest is built from, read in one go."""

    now: datetime
    since: datetime | None  # the last scheduled digest; None before the first
    questions: tuple[QuestionRecord, ...]
    suggestions: tuple[SuggestionRecord, ...]
    names: Names = field(default_factory=Names)
    # Where activity was read from: `since`, or a week back without one.
    start: datetime | None = None
    # The first-reply target the digest measures the period against.
    target: ReplyTarget | None = None

    def digest(self, audience: Audience, wait_days: int) -> Digest:
        """Build the digest one audience sees."""
        return build_digest(
            self.questions,
            self.suggestions,
            now=self.now,
            since=self.since,
            counted_from=self.start,
            wait_days=wait_days,
            audience=audience,
            names=self.names,
            target=self.target,
        )


def period_key(
    schedule: str, timezone: str, now: datetime, *, lookback: timedelta = timedelta(days=1)
) -> str:
    """Return the key of the scheduled time `now` belongs to: the latest fire time of the
    cron line at or before `now` (looked for within `lookback`, else `now`), in UTC."""
    chosen = latest_fire(schedule, timezone, now, lookback) or now.replace(second=0, microsecond=0)
    return "scheduled:" + chosen.astimezone(zoneinfo.ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%MZ")


def address_key(address: str) -> str:
    """Return how an address is compared: trimmed and lower-cased."""
    return address.strip().lower()


class DigestService:
    """Build digests of open questions and deliver each once per destination."""

    JOB_KIND = "digest"

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        settings: Settings,
        *,
        signer: Signer,
        chat: ChatPort | None = None,
        mail: MailPort | None = None,
        wake: Callable[[], None] | None = None,
        clock: Callable[[], datetime] = utcnow,
        catalogue: Callable[[], Catalogue | None] | None = None,
    ) -> None:
        self._sessions = sessions
        self._outbox = outbox
        self._settings = settings
        self._signer = signer
        # The lessons as published, for program and lesson titles in every locale; without
        # it the titles the last sync stored are used, and programs go by their slug.
        self._catalogue = catalogue or (lambda: None)
        # None in commands run without the bot (`lessonbot digest`): the Discord part is
        # posted by the bot's worker, which has both.
        self.chat = chat
        self.mail = mail
        self._wake = wake or (lambda: None)
        self._clock = clock

    # --- reading ---------------------------------------------------------------------------

    async def snapshot(self, now: datetime | None = None) -> Snapshot:
        """Read open questions, recent activity, waiting edits and the lessons' titles
        (four queries in all)."""
        now = now or self._clock()
        async with self._sessions() as session:
            return await self._read(session, now, await self._last_digest(session))

    async def _read(self, session: AsyncSession, now: datetime, since: datetime | None) -> Snapshot:
        """Read what a digest after the one at `since` (None: the first) is built from."""
        start = since or now - DEFAULT_LOOKBACK
        target = self._settings.questions.reply_target
        # A question decided in the period (met or missed) was asked at most a window
        # before it began.
        questions = tuple(await self._questions(session, start, start - target.window))
        suggestions = tuple(await self._suggestions(session))
        names = await self._names(session, questions, suggestions)
        return Snapshot(now, since, questions, suggestions, names, start, target)

    async def _names(
        self,
        session: AsyncSession,
        questions: Sequence[QuestionRecord],
        suggestions: Sequence[SuggestionRecord],
    ) -> Names:
        """Return the titles of the programs and lessons a digest names, in every locale:
        from the catalogue where it has them, else as the last sync stored them."""
        default = self._settings.content.default_locale
        wanted = {(q.program, q.lesson) for q in questions}
        wanted |= {(s.program, s.lesson) for s in suggestions}
        lessons: dict[tuple[str, str], dict[str, str]] = {}
        if wanted:
            rows = await session.execute(
                select(Lesson.program, Lesson.slug, LessonFile.locale, LessonFile.title).join(
                    LessonFile, LessonFile.lesson_id == Lesson.id
                )
            )
            for program, slug, locale, title in rows.all():
                if (program, slug) in wanted:
                    lessons.setdefault((program, slug), {})[locale] = title
        programs: dict[str, dict[str, str]] = {}
        catalogue = self._catalogue()
        if catalogue is not None:
            for program, slug in wanted:
                found = catalogue.get(f"{program}/{slug}")
                if found is not None:
                    titles = lessons.setdefault((program, slug), {})
                    titles.update({loc: f.title for loc, f in found.files.items()})
            for program in {program for program, _ in wanted}:
                if program in catalogue.programs:
                    programs[program] = catalogue.programs[program].titles(default)
        return Names(default, programs, lessons)

    async def build(self, audience: Audience = EVERYONE, *, now: datetime | None = None) -> Digest:
        """Return the digest one audience would get now."""
        snapshot = await self.snapshot(now)
        return snapshot.digest(audience, self._settings.digest.suggestion_wait_days)

    @staticmethod
    async def _last_digest(session: AsyncSession) -> datetime | None:
        return await session.scalar(
            select(func.max(DigestRun.started_at)).where(
                DigestRun.status != DigestRunStatus.FAILED,
                DigestRun.period_key.like("scheduled:%"),
            )
        )

    async def _questions(
        self, session: AsyncSession, since: datetime, asked_after: datetime | None = None
    ) -> list[QuestionRecord]:
        """Return open questions, those asked, answered or resolved since `since` and those
        asked after `asked_after`, with their lesson, if any (one query); dropped ones
        (deleted, edited into a statement) are left out."""
        query = (
            select(
                Question.id,
                # A help post's question may have no lesson yet: its own program says where.
                func.coalesce(Lesson.program, Question.program).label("program"),
                Lesson.slug,
                LessonFile.title,
                Question.author_name,
                Question.text,
                Question.asked_at,
                Question.url,
                Question.locale,
                Question.answered_at,
                Question.resolved_at,
            )
            .outerjoin(Lesson, Lesson.id == Question.lesson_id)
            .outerjoin(
                LessonFile,
                and_(
                    LessonFile.lesson_id == Lesson.id,
                    LessonFile.locale == self._settings.content.default_locale,
                ),
            )
            .where(
                Question.dropped_at.is_(None),
                or_(
                    and_(Question.resolved_at.is_(None), Question.answered_at.is_(None)),
                    Question.asked_at > min(since, asked_after or since),
                    Question.answered_at > since,
                    Question.resolved_at > since,
                ),
            )
        )
        return [
            QuestionRecord(
                id=row.id,
                program=row.program,
                lesson=row.slug,
                title=row.title or row.slug or "",
                author=row.author_name,
                text=row.text,
                asked_at=row.asked_at,
                url=row.url,
                locale=row.locale,
                answered_at=row.answered_at,
                resolved_at=row.resolved_at,
            )
            for row in (await session.execute(query)).all()
        ]

    @staticmethod
    async def _suggestions(session: AsyncSession) -> list[SuggestionRecord]:
        query = (
            select(
                Suggestion.id,
                Lesson.program,
                Lesson.slug,
                Suggestion.locale,
                Suggestion.status,
                Suggestion.created_at,
                Suggestion.pr_url,
            )
            .join(Lesson, Lesson.id == Suggestion.lesson_id)
            .where(Suggestion.status.in_([SuggestionStatus(s) for s in WAITING_STATUSES]))
        )
        return [
            SuggestionRecord(row[0], row[1], row[2], row[3], str(row[4]), row[5], row[6])
            for row in (await session.execute(query)).all()
        ]

    # --- a run -----------------------------------------------------------------------------

    def scheduled_key(self, now: datetime | None = None) -> str:
        """Return the period key of the scheduled digest `now` belongs to."""
        digest = self._settings.digest
        lookback = timedelta(seconds=digest.misfire_grace_seconds) + timedelta(minutes=5)
        return period_key(digest.schedule, digest.timezone, now or self._clock(), lookback=lookback)

    async def catch_up(self) -> RunResult | None:
        """Run the digest of a scheduled time that passed within the misfire grace time
        without being recorded (a process stopped between its time and its run)."""
        digest = self._settings.digest
        now = self._clock()
        grace = timedelta(seconds=digest.misfire_grace_seconds)
        if latest_fire(digest.schedule, digest.timezone, now, grace) is None:
            return None
        key = self.scheduled_key(now)
        async with self._sessions() as session:
            if await session.scalar(select(DigestRun.id).where(DigestRun.period_key == key)):
                return None
        return await self.run(key, now=now)

    async def run_now(self, *, force: bool = False, now: datetime | None = None) -> RunResult:
        """Record a digest now, outside the schedule, unless one was recorded less than
        `digest.min_interval_seconds` ago or a concurrent call records it; `force` records
        one whatever went before."""
        now = now or self._clock()
        if force:
            return await self.run(f"now:{now:%Y-%m-%dT%H:%M:%S.%fZ}", now=now)
        async with self._sessions() as session:
            latest_id = await session.scalar(select(func.max(DigestRun.id)))
            recent = (
                await session.execute(
                    select(DigestRun.period_key, DigestRun.started_at)
                    .where(DigestRun.status != DigestRunStatus.FAILED)
                    .order_by(DigestRun.started_at.desc())
                    .limit(1)
                )
            ).first()
        interval = timedelta(seconds=self._settings.digest.min_interval_seconds)
        # A clock behind the recorded time counts as moments later too.
        if recent is not None and now - recent.started_at < interval:
            return RunResult(recent.period_key, created=False, previous_at=recent.started_at)
        # Calls that found the same latest run claim the same key: only the first records it,
        # as two processes firing one scheduled time do.
        result = await self.run(f"now:after:{latest_id or 0}", now=now)
        if result.created:
            return result
        async with self._sessions() as session:
            previous = await session.scalar(
                select(DigestRun.started_at).where(DigestRun.period_key == result.period_key)
            )
        return dataclasses.replace(result, previous_at=previous)

    async def run(
        self, key: str | None = None, *, now: datetime | None = None, dry_run: bool = False
    ) -> RunResult:
        """Record the digest of period `key` (default: the scheduled one `now` is in) with a
        delivery and a job per destination, unless it was recorded already; return what was
        (or, dry, would be) sent."""
        now = now or self._clock()
        key = key or self.scheduled_key(now)
        if dry_run:
            snapshot = await self.snapshot(now)
            async with self._sessions() as session:
                plan = await self._plan(session, snapshot)
            return self._result(key, True, snapshot, plan, dry_run=True)
        async with self._sessions() as session, session.begin():
            # Claim the period first: of two processes the second waits here, then finds it.
            inserted = await session.execute(
                insert_new(session, DigestRun, ["period_key"])
                .values(period_key=key, status=DigestRunStatus.RUNNING, started_at=now)
                .returning(DigestRun.id)
            )
            run_id = inserted.scalar()
            if run_id is None:
                return RunResult(key, created=False)
            since = await session.scalar(
                select(func.max(DigestRun.started_at)).where(
                    DigestRun.id != run_id,
                    DigestRun.status != DigestRunStatus.FAILED,
                    DigestRun.period_key.like("scheduled:%"),
                )
            )
            snapshot = await self._read(session, now, since)
            plan = await self._plan(session, snapshot)
            everyone = snapshot.digest(Audience(), self._settings.digest.suggestion_wait_days)
            listed = [
                f"q-{question.id}"
                for program in everyone.programs
                for lesson in program.lessons
                for question in lesson.questions
            ]
            # One line names every question the run lists: a question's id finds its digests.
            log.info(
                "digest run %d (%s) lists %d open question(s): %s",
                run_id,
                key,
                len(listed),
                ", ".join(listed) or "none",
            )
            await session.execute(
                update(DigestRun)
                .where(DigestRun.id == run_id)
                .values(
                    open_questions=everyone.open_count,
                    waiting_suggestions=len(everyone.pending),
                    status=DigestRunStatus.RUNNING if plan else DigestRunStatus.DONE,
                    finished_at=None if plan else now,
                )
            )
            intents = []
            for channel, target, payload in plan:
                delivery = DigestDelivery(run_id=run_id, channel=channel, target=target)
                session.add(delivery)
                await session.flush()
                intents.append(
                    (
                        f"digest:{run_id}:{channel.value}:{target}"[:200],
                        {
                            "run_id": run_id,
                            "delivery_id": delivery.id,
                            "period": key,
                            "started_at": now.isoformat(),
                            **payload,
                        },
                    )
                )
            await self._outbox.enqueue_many(self.JOB_KIND, intents, session)
        self._wake()
        return self._result(key, True, snapshot, plan)

    def _result(
        self,
        key: str,
        created: bool,
        snapshot: Snapshot,
        plan: Sequence[tuple[DeliveryChannel, str, dict[str, Any]]],
        *,
        dry_run: bool = False,
    ) -> RunResult:
        everyone = snapshot.digest(Audience(), self._settings.digest.suggestion_wait_days)
        return RunResult(
            key,
            created,
            tuple(f"{channel.value}:{target}" for channel, target, _ in plan),
            everyone.open_count,
            len(everyone.pending),
            dry_run,
        )

    async def _plan(
        self, session: AsyncSession, snapshot: Snapshot
    ) -> list[tuple[DeliveryChannel, str, dict[str, Any]]]:
        """Return (channel, target, rendered payload) for every destination due this run."""
        settings = self._settings
        wait_days = settings.digest.suggestion_wait_days
        send_empty = settings.digest.send_empty
        plan: list[tuple[DeliveryChannel, str, dict[str, Any]]] = []
        channel_id = settings.discord.digest_channel_id
        if channel_id is not None:
            digest = snapshot.digest(Audience(), wait_days)
            if send_empty or not digest.is_empty:
                embeds = render_embeds(digest, settings.locale)
                payload = {
                    "channel_id": channel_id,
                    # Each part carries the run's time: Discord shows it to readers, and a
                    # retry tells this run's parts from an identical earlier digest's by it.
                    "embeds": [
                        {
                            "title": e.title,
                            "description": e.description,
                            "fields": e.fields,
                            "timestamp": snapshot.now.isoformat(),
                        }
                        for e in embeds
                    ],
                }
                plan.append((DeliveryChannel.DISCORD, str(channel_id), payload))
        if not settings.mail.maintainers:
            return plan
        unsubscribed = await self._unsubscribed(session)
        last_sent = await self._last_sent(session)
        planned: set[str] = set()
        for maintainer in settings.mail.maintainers:
            target = address_key(maintainer.address)
            if _hash(target) in unsubscribed or target in planned:
                continue
            if not self._due(maintainer, last_sent.get(target), snapshot.now):
                continue
            audience = Audience(frozenset(maintainer.programs), frozenset(maintainer.locales))
            digest = snapshot.digest(audience, wait_days)
            if digest.is_empty and not send_empty:
                continue
            locale = maintainer.locale or settings.locale
            email = render_email(digest, locale, self.unsubscribe_url(maintainer.address))
            payload = {
                "address": maintainer.address.strip(),
                "subject": email.subject,
                "text": email.text,
                "html": email.html,
            }
            plan.append((DeliveryChannel.EMAIL, target, payload))
            planned.add(target)
        return plan

    def _due(self, maintainer: MaintainerSettings, last: datetime | None, now: datetime) -> bool:
        """Tell whether a maintainer with a frequency gets this run's email."""
        if maintainer.frequency == "every" or last is None:
            return True
        zone = zoneinfo.ZoneInfo(self._settings.digest.timezone)
        before, current = last.astimezone(zone), now.astimezone(zone)
        if maintainer.frequency == "daily":
            return before.date() != current.date()
        if maintainer.frequency == "weekly":
            return before.isocalendar()[:2] != current.isocalendar()[:2]
        return (before.year, before.month) != (current.year, current.month)

    @staticmethod
    async def _last_sent(session: AsyncSession) -> dict[str, datetime]:
        rows = await session.execute(
            select(DigestDelivery.target, func.max(DigestRun.started_at))
            .join(DigestRun, DigestRun.id == DigestDelivery.run_id)
            .where(DigestDelivery.channel == DeliveryChannel.EMAIL)
            .group_by(DigestDelivery.target)
        )
        return {target: moment for target, moment in rows.all() if moment is not None}

    # --- delivering ------------------------------------------------------------------------

    async def run_job(self, claim: Claim) -> str:
        """Deliver one digest to one destination; a failure is retried, others go on."""
        payload = claim.payload
        async with self._sessions() as session:
            delivery = await session.get(DigestDelivery, int(payload["delivery_id"]))
            if delivery is None or delivery.status == DeliveryStatus.SENT:
                await self._outbox.complete(claim, session)
                await session.commit()
                return "already sent"
            channel = delivery.channel
        deliver = self._post if channel == DeliveryChannel.DISCORD else self._send_mail
        how = await self._outbox.attempt(claim, lambda: deliver(claim))
        if isinstance(how, JobFailure):
            if how.counts_as_attempt:
                await self._record_failure(claim, how.message, final=not how.retried)
            return how.summary
        await self._record_sent(claim)
        return how

    async def _post(self, claim: Claim) -> str:
        """Post each part of the Discord digest as an embed alone, no text beside it.

        After an attempt that may have posted some parts, the parts already in the channel
        are found by their embeds among the bot's messages since the run began (a part's
        embed is fixed when the run is recorded), and only the others are posted.
        """
        if self.chat is None:
            raise RuntimeError("Discord is not connected: the digest waits for it")
        payload = claim.payload
        channel_id = int(payload["channel_id"])
        parts = [
            ChatEmbed(
                title=embed["title"],
                description=embed["description"],
                fields=tuple((name, value) for name, value in embed["fields"]),
                timestamp=datetime.fromisoformat(embed["timestamp"])
                if embed.get("timestamp")
                else None,
            )
            for embed in payload["embeds"]
        ]
        posted: Counter[tuple[Any, ...]] = Counter()
        if claim.uncertain:
            posted = await self._posted_parts(channel_id, payload.get("started_at"))
        for part in parts:
            key = _embed_key(part)
            if posted[key] > 0:
                posted[key] -= 1
                continue
            await self.chat.post_message(channel_id, "", embed=part)
            await self._outbox.renew(claim)
        return f"posted {len(parts)} message(s)"

    async def _posted_parts(self, channel_id: int, started: str | None) -> Counter[tuple[Any, ...]]:
        """Count the embeds of the bot's recent messages in a channel posted since a run
        began (a minute's leeway for the clocks), by what they show."""
        assert self.chat is not None
        since = datetime.fromisoformat(started) - _CLOCK_LEEWAY if started else None
        mine = self.chat.user_id
        found: Counter[tuple[Any, ...]] = Counter()
        for message in await self.chat.recent_messages(channel_id, 100):
            if mine and message.author_id != mine:
                continue
            if since is not None and message.created_at is not None and message.created_at < since:
                continue
            found.update(_embed_key(embed) for embed in message.embeds)
        return found

    async def _send_mail(self, claim: Claim) -> str:
        if self.mail is None:
            raise RuntimeError("mail is not configured: the digest email waits for it")
        payload = claim.payload
        address = str(payload["address"])
        url = self.unsubscribe_url(address)
        await self.mail.send(
            OutgoingMail(
                to=(address,),
                subject=str(payload["subject"]),
                text=str(payload["text"]),
                html=str(payload["html"]),
                headers={
                    "List-Unsubscribe": f"<{url}>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                    "List-Id": "lessonbot digest <digest.lessonbot>",
                    "Auto-Submitted": "auto-generated",
                },
                # The same id on a retry, so a client shows a resent email once.
                message_id=f"<digest-{payload['run_id']}-{_hash(address_key(address))[:16]}"
                "@lessonbot>",
            )
        )
        return f"emailed {address}"

    async def _record_sent(self, claim: Claim) -> None:
        now = self._clock()
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(DigestDelivery)
                .where(DigestDelivery.id == int(claim.payload["delivery_id"]))
                .values(
                    status=DeliveryStatus.SENT,
                    sent_at=now,
                    attempts=DigestDelivery.attempts + 1,
                    last_error=None,
                )
            )
            await self._outbox.complete(claim, session)
            await self._finish_run(session, int(claim.payload["run_id"]), now)

    async def _record_failure(self, claim: Claim, message: str, *, final: bool) -> None:
        now = self._clock()
        async with self._sessions() as session, session.begin():
            values: dict[str, Any] = {
                "attempts": DigestDelivery.attempts + 1,
                "last_error": message[:_ERROR_LIMIT],
            }
            if final:
                values["status"] = DeliveryStatus.FAILED
            await session.execute(
                update(DigestDelivery)
                .where(DigestDelivery.id == int(claim.payload["delivery_id"]))
                .values(**values)
            )
            if final:
                await self._finish_run(session, int(claim.payload["run_id"]), now)

    @staticmethod
    async def _finish_run(session: AsyncSession, run_id: int, now: datetime) -> None:
        """Close the run once no delivery is pending: done, or failed if any failed."""
        statuses = [
            status
            for (status,) in (
                await session.execute(
                    select(DigestDelivery.status).where(DigestDelivery.run_id == run_id)
                )
            ).all()
        ]
        if DeliveryStatus.PENDING in statuses:
            return
        status = (
            DigestRunStatus.FAILED if DeliveryStatus.FAILED in statuses else DigestRunStatus.DONE
        )
        await session.execute(
            update(DigestRun).where(DigestRun.id == run_id).values(status=status, finished_at=now)
        )

    async def deliveries(self, key: str) -> list[DigestDelivery]:
        """Return a run's deliveries (for people and tests)."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(DigestDelivery)
                .join(DigestRun, DigestRun.id == DigestDelivery.run_id)
                .where(DigestRun.period_key == key)
                .order_by(DigestDelivery.id)
            )
            return list(rows.scalars())

    # --- unsubscribing ---------------------------------------------------------------------

    def unsubscribe_token(self, address: str) -> str:
        """Return the token that lets `address` unsubscribe."""
        return self._signer.sign(UNSUBSCRIBE_PURPOSE, address_key(address))

    def unsubscribe_url(self, address: str) -> str:
        """Return the signed one-click unsubscribe link of an address."""
        query = urlencode(
            {"address": address.strip(), "token": self.unsubscribe_token(address)},
            quote_via=quote,
        )
        return f"{self._settings.web.public_url.rstrip('/')}{UNSUBSCRIBE_PATH}?{query}"

    def check_unsubscribe(self, address: str, token: str) -> bool:
        """Tell whether a token really is the one for `address`."""
        return bool(address.strip()) and self._signer.verify(
            UNSUBSCRIBE_PURPOSE, address_key(address), token
        )

    async def unsubscribe(self, address: str) -> None:
        """Send `address` no more digests (idempotent)."""
        now = self._clock()
        async with self._sessions() as session, session.begin():
            await session.execute(
                insert_new(session, AppSecret, ["name"]).values(
                    name=_UNSUBSCRIBED + _hash(address_key(address)),
                    value=now.isoformat(),
                    created_at=now,
                )
            )

    async def is_unsubscribed(self, address: str) -> bool:
        """Tell whether an address asked for no more digests."""
        async with self._sessions() as session:
            return _hash(address_key(address)) in await self._unsubscribed(session)

    @staticmethod
    async def _unsubscribed(session: AsyncSession) -> set[str]:
        names = await session.execute(
            select(AppSecret.name).where(AppSecret.name.like(_UNSUBSCRIBED + "%"))
        )
        return {name.removeprefix(_UNSUBSCRIBED) for (name,) in names.all()}

    # --- for the command line --------------------------------------------------------------

    async def preview(self, fmt: str, *, now: datetime | None = None) -> str:
        """Return the digest everyone would get now, as markdown, HTML or text."""
        digest = await self.build(now=now)
        locale = self._settings.locale
        if fmt == "html":
            return render_email(digest, locale).html
        if fmt == "text":
            return render_text(digest, locale)
        return render_markdown(digest, locale)


def _embed_key(embed: ChatEmbed) -> tuple[Any, ...]:
    """Return what an embed shows, as Discord gives it back: trimmed, blanks as empty."""

    def shown(text: str) -> str:
        return text.replace("\u200b", "").strip()

    # To the second, in UTC: Discord gives the time back in its own ISO 8601 spelling.
    when = embed.timestamp
    stamp = when.astimezone(UTC).replace(microsecond=0) if when is not None else None
    return (
        shown(embed.title),
        shown(embed.description),
        tuple((shown(name), shown(value)) for name, value in embed.fields),
        stamp,
    )


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:40]
