"""Nudges in a question's Discord post: helpers for a question left unanswered, the asker
for one answered but not resolved ("Solved" / "Still stuck").

A scheduled scan claims each nudge due (bot.domain.nudges decides which) with a row keyed
by question, kind and round, and a slot of its post's daily cap, in the transaction that
records its outbox job: two scans, in one process or two, claim it once, and a kill after
the commit leaves the job for the worker. The worker posts it, looking first for a message
an earlier attempt may have posted, then records it sent: nothing is posted twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, String, and_, case, exists, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import QuestionsSettings, Settings
from bot.domain.excerpt import excerpt
from bot.domain.nudges import (
    Nudge,
    NudgeCandidate,
    NudgeKind,
    NudgePolicy,
    QuietHours,
    due_nudges,
    parse_duration,
    waited_text,
)
from bot.domain.priorities import QUESTION_NUDGE
from bot.i18n import t
from bot.services.outbox import Claim, JobFailure, Outbox
from bot.services.ports import ChatButton, ChatMessage, ChatPort
from bot.store.models import Question, QuestionNudge, QuestionSource, UTCDateTime, utcnow
from bot.store.upsert import dialect_name

log = logging.getLogger(__name__)

NUDGE_KIND = QUESTION_NUDGE
# The buttons under an asker's nudge: `lessonbot:nudge:<solved|stuck>:<question>:<round>`.
NUDGE_BUTTON_PREFIX = "lessonbot:nudge:"
SOLVED, STUCK = "solved", "stuck"
EXCERPT_LIMIT = 200
# How many of a post's latest messages are searched for a nudge an earlier attempt posted.
_LOOK_BACK = 50


def nudge_button_id(action: str, question_id: int, round_: int) -> str:
    """Return the custom_id of a nudge's button (solved, stuck)."""
    return f"{NUDGE_BUTTON_PREFIX}{action}:{question_id}:{round_}"


def nudge_policy(questions: QuestionsSettings) -> NudgePolicy:
    """Return the policy the settings spell (config.py validated them)."""
    return NudgePolicy(
        nudge_after=parse_duration(questions.nudge_after),
        ask_resolved_after=parse_duration(questions.ask_resolved_after),
        quiet=QuietHours.parse(questions.quiet_hours),
        zone=questions.timezone,
        per_post_per_day=questions.nudges_per_post_per_day,
    )


@dataclass(frozen=True, slots=True)
class PressResult:
    """What a press of a nudge's button did: solved, reopened, or why nothing."""

    outcome: str  # solved | reopened | not_asker | stale | gone
    locale: str | None = None


class NudgeService:
    """Claim the nudges due, post them through the outbox, and apply the asker's answer."""

    JOB_KIND = NUDGE_KIND

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        settings: Settings,
        *,
        chat: ChatPort | None = None,
        clock: Callable[[], datetime] = utcnow,
        wake: Callable[[], None] | None = None,
    ) -> None:
        self._sessions = sessions
        self._outbox = outbox
        self._settings = settings
        self._policy = nudge_policy(settings.questions)
        self._clock = clock
        self._wake = wake
        self.chat = chat

    @property
    def policy(self) -> NudgePolicy:
        """Return the rules the nudges follow."""
        return self._policy

    # --- the scan ---------------------------------------------------------------------------

    async def scan(self) -> int:
        """Claim every nudge due now and record its job; return how many were claimed."""
        now = self._clock()
        policy = self._policy
        if policy.per_post_per_day < 1:
            return 0
        quiet = policy.quiet_until(now)
        if quiet is not None:
            log.info("nudges: quiet hours until %s", quiet.isoformat())
            return 0
        candidates, sent_today = await self._candidates(now)
        claimed = 0
        for nudge in due_nudges(candidates, now, policy, sent_today):
            if await self._claim(nudge, now):
                claimed += 1
        if claimed and self._wake is not None:
            self._wake()
        log.info("nudges: %d claimed of %d candidates", claimed, len(candidates))
        return claimed

    async def _candidates(self, now: datetime) -> tuple[list[NudgeCandidate], dict[str, int]]:
        """Return the open Discord questions that may be due, and today's nudges per post."""
        policy = self._policy
        unanswered = now - policy.nudge_after
        async with self._sessions() as session:
            rows = list(
                await session.scalars(
                    select(Question).where(
                        Question.source == QuestionSource.DISCORD,
                        Question.dropped_at.is_(None),
                        Question.resolved_at.is_(None),
                        or_(
                            and_(
                                Question.answered_at.is_(None),
                                Question.asked_at <= unanswered,
                                or_(
                                    Question.reopened_at.is_(None),
                                    Question.reopened_at <= unanswered,
                                ),
                            ),
                            Question.answered_at <= now - policy.ask_resolved_after,
                        ),
                        # Nudged already in this round for what it waits for: the scan
                        # reads only what may be due, however many stay open for long.
                        ~exists().where(
                            QuestionNudge.question_id == Question.id,
                            QuestionNudge.round == Question.reopen_count,
                            QuestionNudge.kind
                            == case(
                                (Question.answered_at.is_(None), NudgeKind.UNANSWERED.value),
                                else_=NudgeKind.ASK_RESOLVED.value,
                            ),
                        ),
                    )
                )
            )
            claimed: dict[tuple[int, int], set[NudgeKind]] = {}
            if rows:
                found = await session.execute(
                    select(
                        QuestionNudge.question_id, QuestionNudge.round, QuestionNudge.kind
                    ).where(QuestionNudge.question_id.in_([row.id for row in rows]))
                )
                for question_id, round_, kind in found:
                    claimed.setdefault((question_id, round_), set()).add(NudgeKind(kind))
            counted = await session.execute(
                select(QuestionNudge.post, func.count(QuestionNudge.id))
                .where(QuestionNudge.day == policy.day(now))
                .group_by(QuestionNudge.post)
            )
            sent_today = {post: int(count) for post, count in counted}
        candidates = [
            NudgeCandidate(
                question_id=row.id,
                post=row.container_id,
                asked_at=row.asked_at,
                answered_at=row.answered_at,
                resolved_at=row.resolved_at,
                reopened_at=row.reopened_at,
                round=row.reopen_count,
                claimed=frozenset(claimed.get((row.id, row.reopen_count), ())),
            )
            for row in rows
        ]
        return candidates, sent_today

    async def _claim(self, nudge: Nudge, now: datetime) -> bool:
        """Claim one nudge and record its job in one transaction; tell whether it was ours."""
        # Not ours when another scan claimed it, or the post's cap for the day is used up.
        day = self._policy.day(now)
        cap = self._policy.per_post_per_day
        # A slot lost to a racing scan (another question of the post) is retried with the
        # next one, up to the cap.
        for _ in range(cap):
            async with self._sessions() as session, session.begin():
                nudge_id = await session.scalar(_claim_statement(session, nudge, day, cap, now))
                if nudge_id is not None:
                    await self._outbox.enqueue_many(
                        NUDGE_KIND,
                        [
                            (
                                _job_key(nudge),
                                {"nudge_id": int(nudge_id), "question_id": nudge.question_id},
                            )
                        ],
                        session,
                    )
                    log.info(
                        "question %d: %s nudge claimed (round %d)",
                        nudge.question_id,
                        nudge.kind,
                        nudge.round,
                    )
                    return True
                taken = await session.scalar(
                    select(QuestionNudge.id).where(
                        QuestionNudge.question_id == nudge.question_id,
                        QuestionNudge.kind == nudge.kind.value,
                        QuestionNudge.round == nudge.round,
                    )
                )
                used = await session.scalar(
                    select(func.count(QuestionNudge.id)).where(
                        QuestionNudge.post == nudge.post, QuestionNudge.day == day
                    )
                )
            if taken is not None or (used or 0) >= cap:
                return False
        return False

    # --- the job ----------------------------------------------------------------------------

    async def run_job(self, claim: Claim) -> str:
        """Post one claimed nudge, once; a failure is retried, never dropped."""
        outcome = await self._outbox.attempt(claim, lambda: self._deliver(claim))
        return outcome.summary if isinstance(outcome, JobFailure) else outcome

    async def _deliver(self, claim: Claim) -> str:
        nudge_id = int(claim.payload["nudge_id"])
        async with self._sessions() as session:
            row = await session.get(QuestionNudge, nudge_id)
            question = await session.get(Question, row.question_id) if row is not None else None
            if row is None or question is None:
                await self._outbox.complete(claim, session)
                await session.commit()
                return "skipped: the question is gone"
            if row.sent_at is not None or row.skipped is not None:
                await self._outbox.complete(claim, session)
                await session.commit()
                return "already sent" if row.sent_at is not None else f"skipped: {row.skipped}"
            why_not = _no_longer_due(row, question)
            if why_not is not None:
                row.skipped = why_not
                await self._outbox.complete(claim, session)
                await session.commit()
                log.info("question %d: nudge not sent: %s", question.id, why_not)
                return f"skipped: {why_not}"
            kind, round_, claimed_at = NudgeKind(row.kind), row.round, row.claimed_at
            snapshot = _Snapshot.of(question)
        now = self._clock()
        quiet = self._policy.quiet_until(now)
        if quiet is not None:
            # Claimed before the quiet hours began, run after: it waits for their end.
            await self._outbox.defer(claim, quiet, "the quiet hours")
            return "waiting for the end of the quiet hours"
        if self.chat is None:
            raise RuntimeError("Discord is not connected: the nudge waits for it")
        buttons = _buttons(kind, snapshot, round_)
        message_id = None
        if claim.uncertain:
            message_id = await self._find_posted(snapshot, kind, round_, claimed_at)
        if message_id is None:
            role = self._settings.questions.helper_role_id.strip()
            roles = [int(role)] if role and kind is NudgeKind.UNANSWERED else []
            content = _content(kind, snapshot, now, role if roles else "")
            # The asker is pinged by their own nudge; helpers by the role, when set.
            asker = snapshot.author_id
            users = [int(asker)] if kind is NudgeKind.ASK_RESOLVED and asker.isdigit() else []
            ids = await self.chat.post_message(
                snapshot.thread_id,
                content,
                buttons=buttons,
                mention_roles=roles,
                mention_users=users,
            )
            message_id = ids[-1]
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(QuestionNudge)
                .where(QuestionNudge.id == nudge_id)
                .values(message_id=message_id, sent_at=self._clock())
            )
            await self._outbox.complete(claim, session)
        return f"sent {kind} nudge as message {message_id}"

    async def _find_posted(
        self, snapshot: _Snapshot, kind: NudgeKind, round_: int, claimed_at: datetime
    ) -> int | None:
        """Return the nudge an earlier attempt posted in the post, if it did."""
        assert self.chat is not None
        mine = self.chat.user_id
        wanted = nudge_button_id(SOLVED, snapshot.question_id, round_)
        for message in await self.chat.recent_messages(snapshot.thread_id, _LOOK_BACK):
            if mine and message.author_id != mine:
                continue
            if kind is NudgeKind.ASK_RESOLVED and wanted in message.custom_ids:
                return message.id
            if kind is NudgeKind.UNANSWERED and _names_question(message, snapshot, claimed_at):
                return message.id
        return None

    # --- the asker's answer -----------------------------------------------------------------

    async def press(self, question_id: int, round_: int, action: str, user_id: int) -> PressResult:
        """Apply the asker's "Solved" or "Still stuck"; refuse anyone else."""
        now = self._clock()
        async with self._sessions() as session, session.begin():
            question = await session.get(Question, question_id)
            if question is None or question.dropped_at is not None:
                return PressResult("gone")
            locale = question.locale
            if question.author_id != str(user_id):
                return PressResult("not_asker", locale)
            # Conditional on the round the buttons belong to: a second press, or one from
            # another process at once, changes nothing.
            current = and_(
                Question.id == question_id,
                Question.reopen_count == round_,
                Question.resolved_at.is_(None),
            )
            if action == SOLVED:
                values: dict[str, Any] = {
                    "resolved_at": now,
                    "resolved_by": str(user_id),
                    "resolved_how": "button",
                }
            else:
                # Unanswered again: the digest lists it as needing an answer, and its next
                # nudge waits nudge_after from now (a new round).
                values = {
                    "first_answered_at": func.coalesce(
                        Question.first_answered_at, Question.answered_at
                    ),
                    "answered_at": None,
                    "answered_by": None,
                    "answer_id": None,
                    "answered_how": None,
                    "answered_by_staff": False,
                    "reopened_at": now,
                    "reopen_count": Question.reopen_count + 1,
                }
            changed = await session.execute(
                update(Question)
                .where(current)
                .values(**values, updated_at=now)
                .execution_options(synchronize_session=False)
            )
        if changed.rowcount != 1:
            return PressResult("stale", locale)
        log.info(
            "question %d: %s by its asker",
            question_id,
            "solved" if action == SOLVED else "reopened",
        )
        return PressResult("solved" if action == SOLVED else "reopened", locale)


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """What posting a nudge needs of its question, read in the claim's session."""

    question_id: int
    thread_id: int
    author_id: str
    text: str
    url: str | None
    locale: str | None
    since: datetime

    @classmethod
    def of(cls, question: Question) -> _Snapshot:
        """Take what a nudge shows of a question."""
        if question.answered_at is not None:
            since = question.answered_at
        else:
            since = max(question.asked_at, question.reopened_at or question.asked_at)
        return cls(
            question.id,
            int(question.container_id),
            question.author_id,
            question.text,
            question.url,
            question.locale,
            since,
        )


def _job_key(nudge: Nudge) -> str:
    return f"{NUDGE_KIND}:{nudge.question_id}:{nudge.kind}:{nudge.round}"


def _claim_statement(session: AsyncSession, nudge: Nudge, day: str, cap: int, now: datetime) -> Any:
    """Return the INSERT claiming a nudge in its post's next free slot, returning its id."""
    # It inserts nothing when the nudge's key or the slot is taken, or the cap is reached.
    count = func.count(QuestionNudge.id)
    slot = (
        select(
            literal(nudge.question_id, Integer),
            literal(nudge.kind.value, String),
            literal(nudge.round, Integer),
            literal(nudge.post, String),
            literal(day, String),
            count,
            literal(now, UTCDateTime()),
        )
        .where(QuestionNudge.post == nudge.post, QuestionNudge.day == day)
        .having(count < cap)
    )
    insert = pg_insert if dialect_name(session) == "postgresql" else sqlite_insert
    columns = ["question_id", "kind", "round", "post", "day", "slot", "claimed_at"]
    # No conflict target: a taken key and a taken slot both insert nothing.
    return (
        insert(QuestionNudge)
        .from_select(columns, slot)
        .on_conflict_do_nothing()
        .returning(QuestionNudge.id)
    )


def _no_longer_due(row: QuestionNudge, question: Question) -> str | None:
    """Return why a claimed nudge should not be posted any more (None: post it)."""
    if question.dropped_at is not None:
        return "the question was dropped"
    if question.resolved_at is not None:
        return "the question was resolved"
    if question.reopen_count != row.round:
        return "the question was reopened since"
    if row.kind == NudgeKind.UNANSWERED and question.answered_at is not None:
        return "the question was answered"
    if row.kind == NudgeKind.ASK_RESOLVED and question.answered_at is None:
        return "the answer was taken back"
    return None


def _content(kind: NudgeKind, snapshot: _Snapshot, now: datetime, role: str) -> str:
    """Return the nudge's text in the question's language."""
    locale = snapshot.locale
    quoted = excerpt(snapshot.text, EXCERPT_LIMIT)
    waited = waited_text(locale, now - snapshot.since)
    link = snapshot.url or ""
    if kind is NudgeKind.ASK_RESOLVED:
        return t(
            locale,
            "nudge.ask_resolved",
            asker=f"<@{snapshot.author_id}>",
            excerpt=quoted,
            url=link,
            waited=waited,
        )
    if role:
        return t(
            locale,
            "nudge.unanswered_role",
            role=f"<@&{role}>",
            excerpt=quoted,
            url=link,
            waited=waited,
        )
    return t(locale, "nudge.unanswered", excerpt=quoted, url=link, waited=waited)


def _buttons(kind: NudgeKind, snapshot: _Snapshot, round_: int) -> Sequence[ChatButton]:
    """Return the asker's buttons under an ask-resolved nudge (none under the other)."""
    if kind is not NudgeKind.ASK_RESOLVED:
        return ()
    locale = snapshot.locale
    return (
        ChatButton(
            t(locale, "nudge.solved_button"),
            nudge_button_id(SOLVED, snapshot.question_id, round_),
            style="success",
        ),
        ChatButton(
            t(locale, "nudge.stuck_button"),
            nudge_button_id(STUCK, snapshot.question_id, round_),
            style="secondary",
        ),
    )


def _names_question(message: ChatMessage, snapshot: _Snapshot, claimed_at: datetime) -> bool:
    """Tell whether a bot message is an unanswered nudge of this question since the claim."""
    if not snapshot.url or snapshot.url not in message.content:
        return False
    # A nudge of an earlier round links the same question: only one posted since the claim.
    slack = timedelta(seconds=5)
    return message.created_at is None or message.created_at >= claimed_at - slack
