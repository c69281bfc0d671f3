"""What the bot's metrics read: request tallies the adapters keep, and counts from the store."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.store.models import (
    DigestDelivery,
    DigestRun,
    JobStatus,
    Lesson,
    LessonLink,
    OutboxJob,
    Question,
    Suggestion,
)

# A request's outcome, as both adapters count it.
OK, RATE_LIMITED, CLIENT_ERROR, SERVER_ERROR, NETWORK_ERROR = (
    "ok",
    "rate_limited",
    "client_error",
    "server_error",
    "network_error",
)
OUTCOMES = (OK, RATE_LIMITED, CLIENT_ERROR, SERVER_ERROR, NETWORK_ERROR)
# Why an adapter waited: the service said so (429, a spent quota), or our own write pacing.
WAIT_REASONS = ("rate_limit", "pacing")

# Time to first reply is read over the questions answered this recently.
FIRST_REPLY_WINDOW = timedelta(days=7)
FIRST_REPLY_QUANTILES = (0.5, 0.9)
# A question with no locale the classifier could tell.
UNKNOWN = "unknown"


def outcome_of_status(status: int) -> str:
    """Return the outcome of a request that got an HTTP status."""
    if status == 429:
        return RATE_LIMITED
    if status >= 500:
        return SERVER_ERROR
    if status >= 400:
        return CLIENT_ERROR
    return OK


class RequestTally:
    """A `RequestMeter` in memory: this process's requests and waits since it started."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.waits: Counter[str] = Counter()
        self.wait_seconds: Counter[str] = Counter()
        # The same waits by (reason, budget): "" for a wait no shared budget asked for.
        self.budget_waits: Counter[tuple[str, str]] = Counter()
        self.budget_wait_seconds: Counter[tuple[str, str]] = Counter()

    def request(self, outcome: str) -> None:
        """Count one request by its outcome."""
        self.requests[outcome] += 1

    def waited(self, reason: str, seconds: float, budget: str = "") -> None:
        """Count one wait and its length."""
        self.waits[reason] += 1
        self.wait_seconds[reason] += max(0.0, seconds)
        self.budget_waits[(reason, budget)] += 1
        self.budget_wait_seconds[(reason, budget)] += max(0.0, seconds)


@dataclass(frozen=True, slots=True)
class FirstReplies:
    """How long the questions answered in the window waited for their first reply."""

    count: int = 0
    total_seconds: float = 0.0
    quantiles: dict[float, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StoreCounts:
    """What the database holds, counted for one scrape."""

    # (status, source) -> suggestions
    suggestions: dict[tuple[str, str], int]
    # (state, program, locale) -> questions, state being open, answered or resolved
    questions: dict[tuple[str, str, str], int]
    first_replies: FirstReplies
    digest_runs: dict[str, int]
    # (status, channel) -> deliveries
    digest_deliveries: dict[tuple[str, str], int]
    # (kind, status) -> jobs
    jobs: dict[tuple[str, str], int]
    oldest_pending_job_seconds: float
    # (kind, priority) -> pending jobs (waiting ones too): the write path's depth
    pending_jobs: dict[tuple[str, int], int] = field(default_factory=dict)
    # priority -> how long the longest due pending job of it has been due
    oldest_due_job_seconds: dict[int, float] = field(default_factory=dict)
    # lessons (not removed): "lessons", "with_post", "with_issue"
    linking: dict[str, int] = field(default_factory=dict)


async def count_store(
    sessions: async_sessionmaker[AsyncSession], now: datetime | None = None
) -> StoreCounts:
    """Count suggestions, questions, digests and jobs with a few aggregate queries."""
    now = now or datetime.now(UTC)
    async with sessions() as session:
        suggestions = await _grouped(
            session,
            select(Suggestion.status, Suggestion.source, func.count()).group_by(
                Suggestion.status, Suggestion.source
            ),
        )
        questions = await _question_counts(session)
        first_replies = await _first_replies(session, now - FIRST_REPLY_WINDOW)
        runs = await _grouped(
            session, select(DigestRun.status, func.count()).group_by(DigestRun.status)
        )
        deliveries = await _grouped(
            session,
            select(DigestDelivery.status, DigestDelivery.channel, func.count()).group_by(
                DigestDelivery.status, DigestDelivery.channel
            ),
        )
        jobs = await _grouped(
            session,
            select(OutboxJob.kind, OutboxJob.status, func.count()).group_by(
                OutboxJob.kind, OutboxJob.status
            ),
        )
        oldest = await session.scalar(
            select(func.min(OutboxJob.created_at)).where(OutboxJob.status == JobStatus.PENDING)
        )
        pending = await _grouped(
            session,
            select(OutboxJob.kind, OutboxJob.priority, func.count())
            .where(OutboxJob.status == JobStatus.PENDING)
            .group_by(OutboxJob.kind, OutboxJob.priority),
        )
        due = (
            await session.execute(
                select(OutboxJob.priority, func.min(OutboxJob.run_after))
                .where(OutboxJob.status == JobStatus.PENDING, OutboxJob.run_after <= now)
                .group_by(OutboxJob.priority)
            )
        ).all()
        linking = await _linking_counts(session)
    return StoreCounts(
        suggestions={(str(status), str(source)): n for (status, source), n in suggestions},
        questions=questions,
        first_replies=first_replies,
        digest_runs={str(status): n for (status,), n in runs},
        digest_deliveries={(str(status), str(channel)): n for (status, channel), n in deliveries},
        jobs={(str(kind), str(status)): n for (kind, status), n in jobs},
        oldest_pending_job_seconds=_age(oldest, now),
        pending_jobs={(str(kind), int(priority)): n for (kind, priority), n in pending},
        oldest_due_job_seconds={int(priority): _age(since, now) for priority, since in due},
        linking=linking,
    )


async def _linking_counts(session: AsyncSession) -> dict[str, int]:
    """Count the lessons kept and how many have their post and their issue, in one query."""
    row = (
        await session.execute(
            select(
                func.count(Lesson.id),
                func.count(LessonLink.discord_thread_id),
                func.count(LessonLink.github_issue_number),
            )
            .outerjoin(LessonLink, LessonLink.lesson_id == Lesson.id)
            .where(Lesson.removed_at.is_(None))
        )
    ).one()
    return {"lessons": int(row[0]), "with_post": int(row[1]), "with_issue": int(row[2])}


async def _grouped(
    session: AsyncSession, query: Select[Any]
) -> list[tuple[tuple[object, ...], int]]:
    """Run a GROUP BY query whose last column is a count; return (key columns, count) pairs."""
    rows = (await session.execute(query)).all()
    return [(tuple(row[:-1]), int(row[-1])) for row in rows]


async def _question_counts(session: AsyncSession) -> dict[tuple[str, str, str], int]:
    """Count the questions that still count (not dropped) by state, program and locale."""
    state = case(
        (Question.resolved_at.is_not(None), "resolved"),
        (Question.answered_at.is_not(None), "answered"),
        else_="open",
    )
    # A lesson's question takes its lesson's program; a help post's keeps its forum's.
    program = func.coalesce(Lesson.program, Question.program)
    query = (
        select(state, program, Question.locale, func.count())
        .outerjoin(Lesson, Lesson.id == Question.lesson_id)
        .where(Question.dropped_at.is_(None))
        .group_by(state, program, Question.locale)
    )
    counts: Counter[tuple[str, str, str]] = Counter()
    for row_state, row_program, locale, n in (await session.execute(query)).all():
        counts[(row_state, row_program or UNKNOWN, locale or UNKNOWN)] += n
    return dict(counts)


async def _first_replies(session: AsyncSession, since: datetime) -> FirstReplies:
    """Read how long the questions answered since `since` waited for their first reply."""
    query = select(Question.asked_at, Question.answered_at).where(
        Question.dropped_at.is_(None), Question.answered_at >= since
    )
    waits = [
        max(0.0, (answered - asked).total_seconds())
        for asked, answered in (await session.execute(query)).all()
    ]
    return FirstReplies(len(waits), sum(waits), _quantiles(waits))


def _quantiles(values: Iterable[float]) -> dict[float, float]:
    """Return the reported quantiles of some values (none for no values)."""
    ordered = sorted(values)
    if not ordered:
        return {}
    if len(ordered) == 1:
        return dict.fromkeys(FIRST_REPLY_QUANTILES, ordered[0])
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return {q: cuts[round(q * 100) - 1] for q in FIRST_REPLY_QUANTILES}


def _age(since: datetime | None, now: datetime) -> float:
    """Return how many seconds ago `since` was, 0 for nothing."""
    return 0.0 if since is None else max(0.0, (now - since).total_seconds())
