"""What a person typed in a suggestion modal, kept a few minutes for "Try again"."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

# What a person typed is kept this long for "Try again", and for this many people at most.
DRAFT_SECONDS = 600.0
DRAFTS_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class Draft:
    """What a modal is for and what was typed in it."""

    kind: str  # "edit" (a new suggestion) or "revise" (a further edit of `suggestion_id`)
    locale: str  # the lesson's locale to edit ("" for a revision: the suggestion has it)
    identity: str = ""
    title: str = ""  # the lesson's title, shown in the modal's title
    suggestion_id: int = 0
    find: str = ""
    replace: str = ""
    reason: str = ""


class Drafts:
    """What people typed, by Discord user, kept for a few minutes (memory only)."""

    def __init__(
        self,
        seconds: float = DRAFT_SECONDS,
        limit: int = DRAFTS_LIMIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._seconds = seconds
        self._limit = limit
        self._clock = clock
        self._kept: dict[int, tuple[float, Draft]] = {}

    def keep(self, user_id: int, draft: Draft) -> None:
        """Keep a person's latest draft, forgetting expired ones (and the oldest if full)."""
        now = self._clock()
        self._kept = {
            user: (until, kept) for user, (until, kept) in self._kept.items() if until > now
        }
        self._kept.pop(user_id, None)
        while len(self._kept) >= self._limit:
            self._kept.pop(next(iter(self._kept)))
        self._kept[user_id] = (now + self._seconds, draft)

    def get(self, user_id: int) -> Draft | None:
        """Return a person's draft while it is kept."""
        found = self._kept.get(user_id)
        if found is None or found[0] <= self._clock():
            self._kept.pop(user_id, None)
            return None
        return found[1]

    def forget(self, user_id: int) -> None:
        """Drop a person's draft (it was sent)."""
        self._kept.pop(user_id, None)

    def __len__(self) -> int:
        return len(self._kept)
