"""How far linking a catalogue has come, and how long its issues will take, as people read it.

Pure: the linking service counts (bot/services/linking/backlog.py); this says what the
counts mean at GitHub's write pace and words them in the reader's language.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from babel.numbers import format_decimal

from bot.i18n import t
from bot.i18n.catalog import normalize_locale

# GitHub asks for about a second between content writes (bot/github/pacing.py).
SECONDS_PER_WRITE = 1.0


@dataclass(frozen=True, slots=True)
class LinkingBacklog:
    """How many lessons are linked, and the post and issue jobs still to run."""

    lessons: int
    with_post: int
    with_issue: int
    posts_pending: int
    issues_pending: int

    @property
    def busy(self) -> bool:
        """Tell whether any linking is still to be done."""
        return bool(self.posts_pending or self.issues_pending)

    def as_json(self) -> dict[str, int]:
        """Return the figures `lessonbot jobs list --json` could carry."""
        return {
            "lessons": self.lessons,
            "with_post": self.with_post,
            "with_issue": self.with_issue,
            "posts_pending": self.posts_pending,
            "issues_pending": self.issues_pending,
        }


def issue_writes_per_hour(per_minute: int, per_hour: int) -> float:
    """Return how many issues an hour GitHub's pacing lets through: its floor."""
    return max(1.0, min(float(per_hour), per_minute * 60.0, 3600.0 / SECONDS_PER_WRITE))


def issues_eta_seconds(backlog: LinkingBacklog, per_minute: int, per_hour: int) -> float:
    """Return about how long the pending issue jobs take at GitHub's pace (one write each)."""
    return backlog.issues_pending / issue_writes_per_hour(per_minute, per_hour) * 3600.0


def duration_text(locale: str, seconds: float) -> str:
    """Return a duration as people read it: `3 h 40 min`, `12 min`, `under a minute`."""
    minutes = math.ceil(seconds / 60.0)
    if seconds <= 0 or minutes < 1:
        return t(locale, "jobs.duration_under_a_minute")
    if minutes < 60:
        return t(locale, "jobs.duration_minutes", minutes=number_text(locale, minutes))
    hours, minutes = divmod(minutes, 60)
    return t(
        locale,
        "jobs.duration_hours",
        hours=number_text(locale, hours),
        minutes=number_text(locale, minutes),
    )


def progress_text(locale: str, backlog: LinkingBacklog, per_minute: int, per_hour: int) -> str:
    """Return the line `lessonbot jobs` prints about linking, in the reader's language."""
    counts = {
        "lessons": number_text(locale, backlog.lessons),
        "posts": number_text(locale, backlog.with_post),
        "issues": number_text(locale, backlog.with_issue),
    }
    if not backlog.issues_pending:
        return t(locale, "jobs.linking_progress", **counts)
    left = duration_text(locale, issues_eta_seconds(backlog, per_minute, per_hour))
    return t(locale, "jobs.linking_progress_issues", **counts, left=left)


def number_text(locale: str, value: int) -> str:
    """Return a count written the locale's way (1,234 or 1 234)."""
    return format_decimal(value, locale=normalize_locale(locale))
