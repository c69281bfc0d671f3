"""The review flow of a suggestion: which status may follow which, whatever the arrival order.

GitHub delivers webhooks in no guaranteed order and the bot handles them concurrently, so
an approval may be handled after the merge it preceded. A status therefore only moves along
these edges; anything else is an event from the past and leaves the status as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class SuggestionStatus(StrEnum):
    """Where a suggestion is in its life, from submission to a merged or closed PR."""

    QUEUED = "queued"
    OPEN = "open"
    CHANGES_REQUESTED = "changes_requested"
    # The suggester answered a request for changes (took a proposed text or revised): the
    # reviewer's turn again.
    ANSWERED = "answered"
    APPROVED = "approved"
    MERGED = "merged"
    CLOSED = "closed"
    # The edit no longer applies to the lesson's current text; nobody's change is overwritten.
    CONFLICT = "conflict"
    # Every suggester took it back; its PR (if any) is closed with a note.
    WITHDRAWN = "withdrawn"
    FAILED = "failed"
    # Held for a moderator before it reaches GitHub (spam signals, or an unknown sender).
    HELD = "held"
    # A moderator (or the block list) turned it down: it never reaches GitHub.
    REJECTED = "rejected"


QUEUED, OPEN, CHANGES_REQUESTED, ANSWERED, APPROVED = (
    SuggestionStatus.QUEUED,
    SuggestionStatus.OPEN,
    SuggestionStatus.CHANGES_REQUESTED,
    SuggestionStatus.ANSWERED,
    SuggestionStatus.APPROVED,
)
MERGED, CLOSED, CONFLICT, WITHDRAWN, FAILED = (
    SuggestionStatus.MERGED,
    SuggestionStatus.CLOSED,
    SuggestionStatus.CONFLICT,
    SuggestionStatus.WITHDRAWN,
    SuggestionStatus.FAILED,
)
HELD, REJECTED = SuggestionStatus.HELD, SuggestionStatus.REJECTED
# Every status, in the order of the flow: for parsers, schemas and labels.
STATUSES: tuple[str, ...] = tuple(status.value for status in SuggestionStatus)
# A suggestion still moving: identical new ones join it instead of opening another PR.
PENDING = (QUEUED, OPEN, CHANGES_REQUESTED, ANSWERED, APPROVED)
# Not finished: still moving, or waiting for a moderator (the prune keeps its history).
UNFINISHED = (*PENDING, HELD)

# Under review: a reviewer's verdict, a dismissal or a conflict may come in any order.
_REVIEWING = (OPEN, CHANGES_REQUESTED, ANSWERED, APPROVED, CONFLICT)

# status -> the statuses it may move to. A merge is GitHub's last word and may arrive after
# anything (even a close or withdrawal handled first); nothing leaves `merged`.
MOVES: Mapping[str, frozenset[str]] = {
    QUEUED: frozenset({OPEN, CONFLICT, FAILED, WITHDRAWN, CLOSED, MERGED}),
    # A failed PR opening that is retried opens the PR after all.
    FAILED: frozenset({QUEUED, OPEN, CONFLICT, WITHDRAWN, CLOSED, MERGED}),
    OPEN: frozenset({CHANGES_REQUESTED, APPROVED, CONFLICT, WITHDRAWN, CLOSED, MERGED}),
    CHANGES_REQUESTED: frozenset({OPEN, ANSWERED, APPROVED, CONFLICT, WITHDRAWN, CLOSED, MERGED}),
    ANSWERED: frozenset({OPEN, CHANGES_REQUESTED, APPROVED, CONFLICT, WITHDRAWN, CLOSED, MERGED}),
    APPROVED: frozenset({OPEN, CHANGES_REQUESTED, CONFLICT, WITHDRAWN, CLOSED, MERGED}),
    CONFLICT: frozenset({OPEN, CHANGES_REQUESTED, APPROVED, WITHDRAWN, CLOSED, MERGED}),
    # Closed unmerged is final for reviews; only a maintainer reopening the PR (or GitHub
    # reporting it merged) moves it on.
    CLOSED: frozenset({OPEN, MERGED}),
    WITHDRAWN: frozenset({MERGED}),
    MERGED: frozenset(),
    # Only a moderator moves these: approved to `queued`, or turned down; a rejection can be
    # taken back by approving after all.
    HELD: frozenset({QUEUED, REJECTED, WITHDRAWN}),
    REJECTED: frozenset({QUEUED}),
}
# Waiting on a moderator: never on GitHub. Its suggester is told only that it waits.
MODERATED = (HELD, REJECTED)


def shown_status(status: str) -> str:
    """Return the status a suggester sees: a rejection as spam still reads as waiting."""
    # Telling a spammer their text was judged spam teaches them to change it.
    return str(HELD) if status == REJECTED else status


# What a review verdict or a webhook asks for, and the statuses it applies from.
_ASKED_FROM: Mapping[str, tuple[str, ...]] = {
    "changes_requested": _REVIEWING,
    "approved": _REVIEWING,
    "review_dismissed": (CHANGES_REQUESTED, ANSWERED, APPROVED),
    # Reopened: the only way out of `closed`; a conflict stays a conflict until resolved.
    "reopened": (CLOSED,),
}


def can_move(current: str, target: str) -> bool:
    """Tell whether a suggestion in `current` may move to `target`."""
    return target in MOVES.get(current, frozenset())


def target_of(event: str, current: str) -> str | None:
    """Return the status a review-flow event moves `current` to, or None to leave it.

    `event` is one of merged, closed, reopened, changes_requested, approved,
    review_dismissed.
    """
    target = {
        "merged": MERGED,
        "closed": CLOSED,
        "reopened": OPEN,
        "changes_requested": CHANGES_REQUESTED,
        "approved": APPROVED,
        "review_dismissed": OPEN,
    }.get(event)
    if target is None:
        return None
    allowed_from = _ASKED_FROM.get(event)
    if allowed_from is not None and current not in allowed_from:
        return None
    if target == current and event not in ("changes_requested", "approved"):
        return None
    if target != current and not can_move(current, target):
        return None
    return target
