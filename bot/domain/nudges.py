"""When a question's post is nudged: helpers for one left unanswered, the asker for one
answered but not resolved, never in quiet hours and never more than a post's daily cap.

Pure: the service hands in the questions and the clock, and gets back which nudges are due,
which day they count against, and when quiet hours end.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum

from bot.i18n import t


class NudgeKind(StrEnum):
    """What a nudge asks: helpers to answer, or the asker whether it is solved."""

    UNANSWERED = "unanswered"
    ASK_RESOLVED = "ask_resolved"


# A duration as settings spell it: one or more of a number and a unit, e.g. 24h, 3d, 1d12h.
_DURATION = re.compile(r"(\d+)([dhm])")
_UNITS = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}
_QUIET = re.compile(r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})")


def parse_duration(text: str) -> timedelta:
    """Return the duration `24h`, `3d`, `90m` or `1d12h` spells (ValueError otherwise)."""
    spelled = text.strip().lower().replace(" ", "")
    parts = _DURATION.findall(spelled)
    if not parts or "".join(number + unit for number, unit in parts) != spelled:
        raise ValueError(f"{text!r} is not a duration like 24h, 3d or 90m")
    total = sum((int(number) * _UNITS[unit] for number, unit in parts), timedelta())
    if total <= timedelta():
        raise ValueError(f"{text!r} must be longer than zero")
    return total


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily stretch of local time when nothing is sent; it may run past midnight."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours | None:
        """Return the quiet hours `22:00-07:00` spells; None for none (ValueError if bad)."""
        if not text.strip():
            return None
        found = _QUIET.fullmatch(text.strip())
        if found is None:
            raise ValueError(f"{text!r} is not a range like 22:00-07:00")
        hour1, minute1, hour2, minute2 = (int(part) for part in found.groups())
        if hour1 > 23 or hour2 > 23 or minute1 > 59 or minute2 > 59:
            raise ValueError(f"{text!r} has a time that does not exist")
        if (hour1, minute1) == (hour2, minute2):
            raise ValueError(f"{text!r} starts and ends at the same time")
        return cls(time(hour1, minute1), time(hour2, minute2))

    def contains(self, local: time) -> bool:
        """Tell whether a local time of day falls in the quiet hours (end excluded)."""
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def end_after(self, local: datetime) -> datetime:
        """Return when the quiet hours holding `local` (a zone-aware time) end."""
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        return end if end > local else end + timedelta(days=1)


@dataclass(frozen=True, slots=True)
class NudgePolicy:
    """The settings the nudges follow, read once."""

    nudge_after: timedelta = timedelta(hours=24)
    ask_resolved_after: timedelta = timedelta(days=3)
    quiet: QuietHours | None = None
    zone: str = "UTC"
    per_post_per_day: int = 2

    def local(self, now: datetime) -> datetime:
        """Return `now` in the policy's time zone."""
        return now.astimezone(zoneinfo.ZoneInfo(self.zone))

    def quiet_until(self, now: datetime) -> datetime | None:
        """Return when the quiet hours holding `now` end; None when it is not quiet."""
        if self.quiet is None:
            return None
        local = self.local(now)
        if not self.quiet.contains(local.time()):
            return None
        return self.quiet.end_after(local)

    def day(self, now: datetime) -> str:
        """Return the local day a nudge sent now counts against (the cap is per day)."""
        return self.local(now).date().isoformat()


@dataclass(frozen=True, slots=True)
class NudgeCandidate:
    """What deciding a question's nudge needs of it."""

    question_id: int
    post: str
    asked_at: datetime
    answered_at: datetime | None
    resolved_at: datetime | None
    reopened_at: datetime | None
    # How many times its asker said "still stuck": each reopening starts a new round.
    round: int
    # The nudge kinds already claimed in this round.
    claimed: frozenset[NudgeKind] = frozenset()


@dataclass(frozen=True, slots=True)
class Nudge:
    """A nudge due: which question, what it asks, in which round."""

    question_id: int
    post: str
    kind: NudgeKind
    round: int
    # Since when it has waited (asked, reopened or answered).
    since: datetime


def nudge_of(candidate: NudgeCandidate, now: datetime, policy: NudgePolicy) -> Nudge | None:
    """Return the nudge a question is due now, if any (caps and quiet hours aside)."""
    if candidate.resolved_at is not None:
        return None
    if candidate.answered_at is None:
        # A reopened question waits again from its reopening, not from when it was asked.
        since = max(candidate.asked_at, candidate.reopened_at or candidate.asked_at)
        kind, after = NudgeKind.UNANSWERED, policy.nudge_after
    else:
        since, kind, after = (
            candidate.answered_at,
            NudgeKind.ASK_RESOLVED,
            policy.ask_resolved_after,
        )
    if kind in candidate.claimed or now - since < after:
        return None
    return Nudge(candidate.question_id, candidate.post, kind, candidate.round, since)


def due_nudges(
    candidates: Iterable[NudgeCandidate],
    now: datetime,
    policy: NudgePolicy,
    sent_today: Mapping[str, int],
) -> list[Nudge]:
    """Return the nudges to claim now, the longest waiting first, within each post's cap."""
    # None in quiet hours; `sent_today` counts, by post, those already claimed today.
    if policy.quiet_until(now) is not None:
        return []
    due = [n for c in candidates if (n := nudge_of(c, now, policy)) is not None]
    due.sort(key=lambda nudge: (nudge.since, nudge.question_id))
    room = dict(sent_today)
    chosen = []
    for nudge in due:
        used = room.get(nudge.post, 0)
        if used >= policy.per_post_per_day:
            continue
        room[nudge.post] = used + 1
        chosen.append(nudge)
    return chosen


def waited_text(locale: str | None, waited: timedelta) -> str:
    """Return how long a question has waited as a person reads it: days, else hours."""
    hours = int(waited.total_seconds() // 3600)
    if hours >= 48:
        return t(locale, "nudge.days", count=hours // 24)
    return t(locale, "nudge.hours", count=max(hours, 1))
