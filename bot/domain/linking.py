"""Plan a lesson sync: what should be linked, what removed, and what is held back.

Pure: it compares the lessons the catalogue wants with what the database last recorded
and returns intents; the linking service performs them through the write path.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

# A sync that would remove more lessons than this at once is refused unless asked for.
DEFAULT_MAX_REMOVALS = 5


@dataclass(frozen=True, slots=True)
class WantedLesson:
    """What a lesson's post and issue should say, derived from the catalogue."""

    identity: str
    program: str
    slug: str
    title: str
    path: str
    page_url: str
    difficulty: str | None
    locales: tuple[str, ...]
    files: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # locale -> title, path
    program_title: str = ""

    def as_payload(self) -> dict[str, Any]:
        """Return the lesson as a JSON object (an outbox job's payload)."""
        return {
            "identity": self.identity,
            "program": self.program,
            "slug": self.slug,
            "title": self.title,
            "path": self.path,
            "page_url": self.page_url,
            "difficulty": self.difficulty,
            "locales": list(self.locales),
            "files": {locale: [title, path] for locale, (title, path) in self.files.items()},
            "program_title": self.program_title,
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> WantedLesson:
        """Return the lesson an outbox job's payload describes."""
        return cls(
            identity=payload["identity"],
            program=payload["program"],
            slug=payload["slug"],
            title=payload["title"],
            path=payload["path"],
            page_url=payload["page_url"],
            difficulty=payload.get("difficulty"),
            locales=tuple(payload.get("locales") or ()),
            files={locale: (pair[0], pair[1]) for locale, pair in payload["files"].items()},
            program_title=payload.get("program_title") or payload["program"],
        )


@dataclass(frozen=True, slots=True)
class StoredLesson:
    """What the database last recorded of a lesson."""

    identity: str
    linked: bool  # has a post or an issue
    removed: bool


@dataclass
class SyncPlan:
    """The intents of one sync, decided before any write."""

    link: list[WantedLesson] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # Lessons left alone because a file of theirs is broken: identity -> problem.
    held_back: dict[str, str] = field(default_factory=dict)
    # Removals the guard refused: identities, when it refused them.
    refused_removals: list[str] = field(default_factory=list)


def plan_sync(
    wanted: Mapping[str, WantedLesson],
    stored: Mapping[str, StoredLesson],
    *,
    up_to_date: Callable[[WantedLesson], bool],
    broken: Mapping[str, str] | None = None,
    present: Collection[str] = (),
    create: bool = True,
    only: Collection[str] | None = None,
    max_removals: int = DEFAULT_MAX_REMOVALS,
    allow_removals: bool = False,
) -> SyncPlan:
    """Return what a sync should do.

    `wanted` are the published, healthy lessons; `broken` the lessons whose files cannot
    be used (held back: a new one waits, an existing one keeps its last good links, and
    neither counts as removed); `present` every identity the catalogue holds at all
    (drafts included). A lesson stored and not wanted is removed, but removals over
    `max_removals` (or any, when the catalogue is empty) are refused unless
    `allow_removals`: an empty or wrong content folder must not close every lesson.
    """
    broken = broken or {}
    plan = SyncPlan()
    for identity, reason in broken.items():
        if only is None or identity in only:
            plan.held_back[identity] = reason
    for identity, lesson in wanted.items():
        if identity in broken or (only is not None and identity not in only):
            continue
        row = stored.get(identity)
        if not create and (row is None or not row.linked):
            continue  # lazy mode: linked on first use
        if row is not None and not row.removed and up_to_date(lesson):
            plan.unchanged.append(identity)
        else:
            plan.link.append(lesson)
    removals = [
        identity
        for identity, row in stored.items()
        if not row.removed
        and identity not in wanted
        and identity not in broken
        and (only is None or identity in only)
    ]
    if removals and not allow_removals and (not present or len(removals) > max_removals):
        plan.refused_removals = removals
    else:
        plan.remove = removals
    return plan
