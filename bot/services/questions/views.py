"""What the question service hands back: a tracked question, and what /ask, /resolve and
the lesson picker did."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from bot.i18n import t
from bot.store.models import ChangeNotice, Question


@dataclass(frozen=True, slots=True)
class ChangeView:
    """A merged change matched to a question: the PR, how well and why, and whether the
    asker was told."""

    pr_number: int
    pr_url: str | None
    path: str
    score: float
    reasons: dict[str, Any]
    notified_at: datetime | None


@dataclass(frozen=True, slots=True)
class QuestionView:
    """A tracked question as lists and the CLI show it."""

    id: int
    source: str
    # The message or comment id on its platform.
    external_id: str
    lesson: str  # program/slug; "" for a help post's question not linked to a lesson yet
    program: str
    author_id: str
    author_name: str
    text: str
    url: str | None
    asked_at: datetime
    rule: str | None
    cue: str | None
    locale: str | None
    answered_at: datetime | None
    answered_by: str | None
    answered_how: str | None
    answered_by_staff: bool
    resolved_at: datetime | None
    resolved_by: str | None
    resolved_how: str | None
    dropped_at: datetime | None
    drop_reason: str | None
    # Merged changes that may answer it (questions.change_notices), oldest first.
    changes: tuple[ChangeView, ...] = ()

    @property
    def state(self) -> str:
        """Return dropped, resolved, answered or open."""
        if self.dropped_at is not None:
            return "dropped"
        if self.resolved_at is not None:
            return "resolved"
        return "answered" if self.answered_at is not None else "open"

    def outcome(self, locale: str) -> str:
        """Say who answered or resolved it and how, in words ("" while it is open)."""
        parts = []
        if self.answered_at is not None:
            how = self.answered_how or "other"
            if how not in ("reply", "later_message", "later_comment"):
                how = "other"
            name = self.answered_by or "?"
            parts.append(t(locale, f"questions.outcome.answered_{how}", name=name))
            if self.answered_by_staff:
                parts.append(t(locale, "questions.outcome.staff"))
        if self.resolved_at is not None:
            # Only the asker and staff may resolve: anyone else who did is staff.
            who = "asker" if self.resolved_by == self.author_id else "staff"
            how = "reaction" if self.resolved_how == "reaction" else "command"
            parts.append(t(locale, f"questions.outcome.resolved_{how}_{who}"))
        said = parts[0] if parts else ""
        for part in parts[1:]:
            said = t(locale, "questions.outcome.join", first=said, second=part)
        return said

    def as_json(self, locale: str = "en") -> dict[str, Any]:
        """Return the question as JSON-ready values (timestamps in ISO 8601), with its
        outcome in words."""
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = value.isoformat()
        data["changes"] = [
            {
                **asdict(change),
                "notified_at": change.notified_at.isoformat() if change.notified_at else None,
            }
            for change in self.changes
        ]
        data["state"] = self.state
        data["outcome"] = self.outcome(locale)
        return data


@dataclass(frozen=True, slots=True)
class AskResult:
    """Where /ask put a question: the lesson's post and the bot's message quoting it."""

    question_id: int
    thread_id: int
    message_id: int
    url: str | None


@dataclass(frozen=True, slots=True)
class ResolveResult:
    """What /resolve did: `outcome` is resolved, none, not_found or forbidden."""

    outcome: str
    count: int = 0


@dataclass(frozen=True, slots=True)
class PickResult:
    """What a lesson picked in a help post's picker did: `outcome` is linked, forbidden,
    unknown_lesson or not_a_help_post; `count` questions were linked."""

    outcome: str
    identity: str = ""
    count: int = 0


def change_view_of(row: ChangeNotice) -> ChangeView:
    """Copy a change notice out of its session."""
    return ChangeView(
        pr_number=row.pr_number,
        pr_url=row.pr_url,
        path=row.path,
        score=row.score,
        reasons=dict(row.reasons),
        notified_at=row.sent_at,
    )


def view_of(
    row: Question, program: str, slug: str | None, changes: tuple[ChangeView, ...] = ()
) -> QuestionView:
    """Copy a question out of its session, with its lesson as `program/slug`."""
    return QuestionView(
        id=row.id,
        source=str(row.source),
        external_id=row.external_id,
        lesson=f"{program}/{slug}" if slug is not None else "",
        program=program,
        author_id=row.author_id,
        author_name=row.author_name,
        text=row.text,
        url=row.url,
        asked_at=row.asked_at,
        rule=row.rule,
        cue=row.cue,
        locale=row.locale,
        answered_at=row.answered_at,
        answered_by=row.answered_by,
        answered_how=row.answered_how,
        answered_by_staff=bool(row.answered_by_staff),
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        resolved_how=row.resolved_how,
        dropped_at=row.dropped_at,
        drop_reason=row.drop_reason,
        changes=changes,
    )
