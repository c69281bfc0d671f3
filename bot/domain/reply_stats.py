"""The first-reply target: how many questions got a first reply in time, per program,
locale and lesson.

A target such as "80% within 24h" (`parse_target`) says what share of questions should
get a first reply (`answered_at`) within a window. Each question is decided once: it met
the target when its first reply came within the window (decided then), and missed it
when the window closed without one (decided at the window's end); until then, unanswered,
it is pending, never missed. A period (`reply_stats`) counts the questions decided in it,
and the pending ones asked in it, so consecutive digests count each question once.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from babel import Locale, UnknownLocaleError
from babel.numbers import format_percent

from bot.i18n import language_name, t

DEFAULT_TARGET = "80% within 24h"
_K = TypeVar("_K")
WORST_LESSONS = 5

_TARGET = re.compile(
    r"\s*(?P<share>\d{1,3}(?:\.\d+)?)\s*%\s+within\s+(?P<amount>\d{1,6})\s*(?P<unit>[mhd])\s*",
    re.IGNORECASE,
)
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}


@dataclass(frozen=True, slots=True)
class ReplyTarget:
    """A share of questions that should get a first reply within a window."""

    share: float  # 0 < share <= 1
    window: timedelta

    @property
    def percent(self) -> float:
        """Return the share as a percentage (80.0 for 0.8)."""
        return round(self.share * 100, 6)


def parse_target(text: str) -> ReplyTarget:
    """Return the target a line such as `80% within 24h` names; ValueError says why not."""
    found = _TARGET.fullmatch(text or "")
    if found is None:
        raise ValueError(f"must look like '80% within 24h' (units m, h, d), not {text!r}")
    percent = float(found["share"])
    if not 0 < percent <= 100:
        raise ValueError(f"must have a share above 0% and at most 100%, not {text!r}")
    window = int(found["amount"]) * _UNITS[found["unit"].lower()]
    if window <= timedelta(0):
        raise ValueError(f"must have a window longer than 0, not {text!r}")
    return ReplyTarget(percent / 100, window)


_SPAN = re.compile(r"\s*(?P<amount>\d{1,6})\s*(?P<unit>[mhd])\s*", re.IGNORECASE)


def parse_span(text: str) -> timedelta:
    """Return the duration `30d`, `12h` or `90m` names; ValueError when it names none."""
    found = _SPAN.fullmatch(text or "")
    if found is None or int(found["amount"]) == 0:
        raise ValueError(f"not a duration such as 30d, 12h or 90m: {text!r}")
    return int(found["amount"]) * _UNITS[found["unit"].lower()]


class Asked(Protocol):
    """What a question tells about its first reply (QuestionRecord fits)."""

    @property
    def program(self) -> str: ...
    @property
    def lesson(self) -> str | None: ...
    @property
    def title(self) -> str: ...
    @property
    def locale(self) -> str | None: ...
    @property
    def asked_at(self) -> datetime: ...
    @property
    def answered_at(self) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class ReplyRecord:
    """A question's place and times, as the store gives them for the figures."""

    program: str
    lesson: str | None  # None: a help post's question not linked to a lesson yet
    title: str
    locale: str | None
    asked_at: datetime
    answered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Tally:
    """The figures of one group of questions over a period."""

    met: int = 0
    missed: int = 0
    pending: int = 0
    answered: int = 0
    median_first_reply: timedelta | None = None

    @property
    def decided(self) -> int:
        """Return how many met or missed the target (pending ones left out)."""
        return self.met + self.missed

    @property
    def total(self) -> int:
        """Return every question counted: decided and pending."""
        return self.met + self.missed + self.pending

    @property
    def unanswered(self) -> int:
        """Return how many counted questions have no reply yet."""
        return self.total - self.answered

    @property
    def share(self) -> float | None:
        """Return the share of decided questions that met the target; None with none."""
        return self.met / self.decided if self.decided else None

    @property
    def unanswered_share(self) -> float | None:
        """Return the share of counted questions without a reply; None with none."""
        return self.unanswered / self.total if self.total else None

    def as_json(self) -> dict[str, object]:
        """Return the figures as `questions stats --json` prints them."""
        median = self.median_first_reply
        return {
            "met": self.met,
            "missed": self.missed,
            "pending": self.pending,
            "answered": self.answered,
            "unanswered": self.unanswered,
            "total": self.total,
            "share_met": _rounded(self.share),
            "unanswered_share": _rounded(self.unanswered_share),
            "median_first_reply_seconds": int(median.total_seconds()) if median else None,
        }


@dataclass(frozen=True, slots=True)
class LessonMisses:
    """A lesson and how often its questions missed the target."""

    program: str
    lesson: str
    title: str
    tally: Tally


@dataclass(frozen=True, slots=True)
class ReplyStats:
    """The first-reply figures of one period: overall, per program, locale and lesson."""

    target: ReplyTarget
    now: datetime
    start: datetime | None  # None: all time
    overall: Tally = field(default_factory=Tally)
    programs: tuple[tuple[str, Tally], ...] = ()
    locales: tuple[tuple[str | None, Tally], ...] = ()  # None: no locale could be told
    worst: tuple[LessonMisses, ...] = ()  # most misses first, only lessons that missed

    @property
    def met_target(self) -> bool | None:
        """Tell whether the share met the target; None with nothing decided."""
        share = self.overall.share
        return None if share is None else share >= self.target.share


class _Counter:
    """Accumulates one group's figures."""

    __slots__ = ("answered", "met", "missed", "pending", "waits")

    def __init__(self) -> None:
        self.met = self.missed = self.pending = self.answered = 0
        self.waits: list[timedelta] = []

    def tally(self) -> Tally:
        waits = sorted(self.waits)
        median = statistics.median_low(waits) if waits else None
        return Tally(self.met, self.missed, self.pending, self.answered, median)


def outcome(
    asked_at: datetime, answered_at: datetime | None, *, now: datetime, window: timedelta
) -> tuple[str, datetime | None]:
    """Return `met`, `missed` or `pending` and when it was decided (None while pending)."""
    deadline = asked_at + window
    if answered_at is not None and answered_at <= deadline:
        return "met", answered_at
    if answered_at is not None or now > deadline:
        return "missed", deadline
    return "pending", None


def reply_stats(
    questions: Iterable[Asked],
    *,
    target: ReplyTarget,
    now: datetime,
    start: datetime | None = None,
    worst: int = WORST_LESSONS,
) -> ReplyStats:
    """Return the figures of the questions decided in (start, now], and of those asked
    then and still pending; dropped questions must be left out by the caller."""
    overall = _Counter()
    programs: dict[str, _Counter] = {}
    locales: dict[str | None, _Counter] = {}
    lessons: dict[tuple[str, str], _Counter] = {}
    titles: dict[tuple[str, str], str] = {}
    for question in questions:
        asked, answered = question.asked_at, question.answered_at
        kind, decided = outcome(asked, answered, now=now, window=target.window)
        if decided is None:
            counted = (start is None or asked > start) and asked <= now
        else:
            counted = (start is None or decided > start) and decided <= now
        if not counted:
            continue
        groups = [overall, _group(programs, question.program), _group(locales, question.locale)]
        if question.lesson is not None:
            key = (question.program, question.lesson)
            groups.append(_group(lessons, key))
            titles.setdefault(key, question.title or "")
        wait = max(answered - asked, timedelta(0)) if answered is not None else None
        for group in groups:
            setattr(group, kind, getattr(group, kind) + 1)
            if wait is not None:
                group.answered += 1
                group.waits.append(wait)
    missing = sorted(
        ((key, counter) for key, counter in lessons.items() if counter.missed),
        key=lambda item: (-item[1].missed, item[0]),
    )
    return ReplyStats(
        target=target,
        now=now,
        start=start,
        overall=overall.tally(),
        programs=tuple((name, counter.tally()) for name, counter in sorted(programs.items())),
        locales=tuple(
            (name, counter.tally())
            # The questions whose locale nobody could tell come last.
            for name, counter in sorted(
                locales.items(), key=lambda item: (item[0] is None, item[0] or "")
            )
        ),
        worst=tuple(
            LessonMisses(program, slug, titles[(program, slug)], counter.tally())
            for (program, slug), counter in missing[:worst]
        ),
    )


def _group(groups: dict[_K, _Counter], key: _K) -> _Counter:
    counter = groups.get(key)
    if counter is None:
        counter = groups[key] = _Counter()
    return counter


def _rounded(share: float | None) -> float | None:
    return None if share is None else round(share, 4)


def share_text(locale: str, share: float | None) -> str:
    """Return a share as the locale writes a percentage, rounded down (79.6% is not 80%)."""
    if share is None:
        return t(locale, "reply_target.no_share")
    try:
        language = Locale.parse(locale.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        language = Locale.parse("en")
    # Rounded down to a whole percent, so a share shown as the target's meets it.
    return format_percent(int(share * 100 + 1e-9) / 100, locale=language)


def locale_name(code: str | None, locale: str) -> str:
    """Return a question's language as the reader's locale names it."""
    if not code:
        return t(locale, "reply_target.unknown_locale")
    return language_name(code, locale)
