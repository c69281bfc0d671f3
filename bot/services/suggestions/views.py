"""What goes into the suggestion service and what it answers: inputs, receipts, views."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.services.correlation import unstamped
from bot.store.models import Suggestion, SuggestionSource


@dataclass(frozen=True, slots=True)
class Author:
    """Who sent a suggestion: whatever we know of them, to credit and to tell."""

    name: str = ""
    email: str | None = None
    discord_user_id: int | None = None
    # Who this is when there is no Discord id or email: a hashed client address, a CLI user.
    handle: str = ""
    locale: str = "en"

    @property
    def person(self) -> str:
        """Return a stable key for "the same person sent it again"."""
        if self.discord_user_id is not None:
            return f"discord:{self.discord_user_id}"
        if self.email:
            return f"email:{self.email.strip().lower()}"
        return f"handle:{self.handle or 'anonymous'}"


@dataclass(frozen=True, slots=True)
class SuggestionInput:
    """One suggested edit as a door received it."""

    lesson: str  # program/slug
    locale: str
    find: str
    replace: str
    reason: str
    source: SuggestionSource
    author: Author = field(default_factory=Author)
    idempotency_key: str | None = None

    def request_hash(self) -> str:
        """Return a hash of what was asked, so a replayed Idempotency-Key must match it."""
        parts = (self.lesson, self.locale, self.find, self.replace, self.reason, self.author.person)
        return hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class Submitted:
    """What the door tells the person: the suggestion's id and their token."""

    id: int
    token: str
    status: str
    # True when an identical pending suggestion existed: this person is credited on it.
    joined: bool = False
    # True when this is a retry of a request already taken (same Idempotency-Key).
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class Preview:
    """An edit checked against the lesson as it is now, shown before sending."""

    lesson: str
    locale: str
    path: str
    lesson_title: str
    diff: str
    old_passage: str
    new_passage: str


@dataclass(frozen=True, slots=True)
class EventView:
    """Something that happened to a suggestion."""

    kind: str
    at: datetime
    detail: Mapping[str, Any]
    id: int = 0

    def as_json(self) -> dict[str, Any]:
        """Return the event as the API shows it."""
        return {
            "id": self.id,
            "kind": self.kind,
            "at": self.at.isoformat(),
            "detail": dict(self.detail),
        }


@dataclass(frozen=True, slots=True)
class SuggestionView:
    """A suggestion as its status page, the API and the CLI show it."""

    id: int
    lesson: str
    locale: str
    path: str | None
    status: str
    pr_number: int | None
    pr_url: str | None
    error: str | None
    find: str
    replace: str
    reason: str
    credited: tuple[str, ...]
    created_at: datetime
    events: tuple[EventView, ...]
    # The edited passage as the pull request's branch holds it now (the edit as sent, with
    # its revisions, before the branch exists), and the line it starts on when known.
    passage: str = ""
    passage_line: int | None = None

    @property
    def accepted_comments(self) -> frozenset[Any]:
        """Return the comment ids of the proposed texts a suggester chose."""
        return frozenset(
            event.detail.get("comment_id") for event in self.events if event.kind == "accepted"
        )

    @property
    def reviewer_suggestions(self) -> list[EventView]:
        """Return reviewers' proposed texts not yet accepted, newest first."""
        accepted = self.accepted_comments
        return [
            event
            for event in reversed(self.events)
            if event.kind == "reviewer_suggestion"
            and event.detail.get("comment_id") not in accepted
        ]

    def as_json(self) -> dict[str, Any]:
        """Return the record `GET /api/suggestions/{id}` answers."""
        return {
            "id": self.id,
            "lesson": self.lesson,
            "locale": self.locale,
            "status": self.status,
            "pr_number": self.pr_number,
            "pr_url": self.pr_url,
            "error": self.error,
            "passage": {"text": self.passage, "line": self.passage_line},
            "events": [event.as_json() for event in self.events],
        }


def view_of(row: Suggestion) -> SuggestionView:
    """Return a suggestion loaded in full (lesson, credits, events) as its view."""
    passage, line = _passage_now(row)
    return SuggestionView(
        id=row.id,
        lesson=row.lesson.identity,
        locale=row.locale,
        path=row.path,
        status=str(row.status),
        pr_number=row.pr_number,
        pr_url=row.pr_url,
        error=row.last_error,
        find=str(row.edit.get("find", "")),
        replace=str(row.edit.get("replace", "")),
        reason=row.reason or "",
        credited=tuple(
            credit.name or "" for credit in row.credits if not credit.withdrawn and credit.name
        ),
        created_at=row.created_at,
        events=tuple(
            # The log id it was stored under is for operators: no view shows it.
            EventView(event.kind, event.created_at, unstamped(event.detail), event.id)
            for event in row.events
        ),
        passage=passage,
        passage_line=line,
    )


def _passage_now(row: Suggestion) -> tuple[str, int | None]:
    """Return the edited passage as the branch holds it, and its line when known."""
    for event in reversed(row.events):
        if event.kind in ("pr_opened", "committed") and "passage" in event.detail:
            line = event.detail.get("line")
            return str(event.detail["passage"]), line if isinstance(line, int) else None
    # No branch yet (or none recorded): the replacement as sent, with each revision on it.
    passage = str(row.edit.get("replace", ""))
    for revision in row.edit.get("revisions", []):
        find, replace = str(revision.get("find", "")), str(revision.get("replace", ""))
        passage = passage.replace(find, replace, 1) if find and find in passage else replace
    return passage, None
