"""What a prune may remove: from retention days and a moment, the age past which each kind
of finished record goes, and which records pending work still needs.

Pure: the service asks the database for candidates older than these cutoffs and leaves
out what `Needs` names. A record kind whose days are 0 is kept for good (cutoff None).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# The kinds of records a prune removes, in the order it reports them.
DONE_JOBS = "outbox_jobs (done)"
FAILED_JOBS = "outbox_jobs (failed)"
WEBHOOK_DELIVERIES = "webhook_deliveries"
SUGGESTION_EVENTS = "suggestion_events (finished suggestions)"
QUESTIONS = "questions (resolved or dropped)"
DIGEST_RUNS = "digest_runs"
DIGEST_DELIVERIES = "digest_deliveries"
KINDS = (
    DONE_JOBS,
    FAILED_JOBS,
    WEBHOOK_DELIVERIES,
    SUGGESTION_EVENTS,
    QUESTIONS,
    DIGEST_RUNS,
    DIGEST_DELIVERIES,
)

# Job keys that name a suggestion or a suggestion's event (see bot/services/suggestions/).
_SUGGESTION_KEY = re.compile(r"^suggestion:(\d+):")
_NOTIFY_KEY = re.compile(r"^notify:(\d+):")


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """Days each kind of finished record is kept (0: for good)."""

    done_jobs_days: int = 14
    failed_jobs_days: int = 90
    webhook_deliveries_days: int = 30
    suggestion_events_days: int = 0
    questions_days: int = 365
    digest_runs_days: int = 365


@dataclass(frozen=True, slots=True)
class Cutoffs:
    """For each kind of record, the time before which finished ones go (None: kept)."""

    done_jobs: datetime | None
    failed_jobs: datetime | None
    webhook_deliveries: datetime | None
    suggestion_events: datetime | None
    questions: datetime | None
    digest_runs: datetime | None


def cutoffs(policy: RetentionPolicy, now: datetime) -> Cutoffs:
    """Return the cutoffs a prune at `now` uses.

    A failed job is kept at least as long as a done one (it is there for people to
    retry), and a digest run at least as long as a failed job (retrying a failed
    delivery's job needs its run).
    """
    failed_days = _at_least(policy.failed_jobs_days, policy.done_jobs_days)
    digest_days = _at_least(policy.digest_runs_days, failed_days)
    return Cutoffs(
        done_jobs=_before(now, policy.done_jobs_days),
        failed_jobs=_before(now, failed_days),
        webhook_deliveries=_before(now, policy.webhook_deliveries_days),
        suggestion_events=_before(now, policy.suggestion_events_days),
        questions=_before(now, policy.questions_days),
        digest_runs=_before(now, digest_days),
    )


def _at_least(days: int, floor: int) -> int:
    # 0 keeps for good, so it wins over any number of days.
    if days == 0 or floor == 0:
        return 0
    return max(days, floor)


def _before(now: datetime, days: int) -> datetime | None:
    return None if days == 0 else now - timedelta(days=days)


@dataclass(frozen=True, slots=True)
class Needs:
    """What pending work still needs: the suggestions and events its jobs name."""

    suggestions: frozenset[int] = field(default_factory=frozenset)
    events: frozenset[int] = field(default_factory=frozenset)

    @classmethod
    def of_jobs(cls, keys: Iterable[str]) -> Needs:
        """Return what jobs still to run (pending or running, by key) need."""
        suggestions: set[int] = set()
        events: set[int] = set()
        for key in keys:
            if found := _SUGGESTION_KEY.match(key):
                suggestions.add(int(found[1]))
            elif found := _NOTIFY_KEY.match(key):
                events.add(int(found[1]))
        return cls(frozenset(suggestions), frozenset(events))


def suggestion_of_job(key: str) -> int | None:
    """Return the suggestion a job's key names (`suggestion:<id>:...`), if any."""
    found = _SUGGESTION_KEY.match(key)
    return int(found[1]) if found else None


def event_of_job(key: str) -> int | None:
    """Return the suggestion event a notice job's key names (`notify:<event>:...`)."""
    found = _NOTIFY_KEY.match(key)
    return int(found[1]) if found else None
