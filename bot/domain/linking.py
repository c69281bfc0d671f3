"""Plan a lesson sync: what should be linked, what removed, what held back, and which
writes bring each linked lesson's post and issue in line.

Pure: it compares the lessons the catalogue wants with what the database last recorded
and returns intents; the linking service performs them through the write path.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.domain.catalogue import Catalogue
from bot.domain.catalogue import Lesson as CatalogueLesson
from bot.i18n import t

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


def published_lessons(catalogue: Catalogue, default_locale: str) -> list[CatalogueLesson]:
    """Return the lessons that get links: published ones (drafts stay hidden, as on the
    site), in catalogue order."""
    return [
        lesson
        for lesson in catalogue.ordered_lessons()
        if lesson.file(default_locale, default_locale).published
    ]


def broken_lessons(catalogue: Catalogue, locale: str) -> dict[str, str]:
    """Return the catalogue's unusable lessons with their first problem, as people read it."""
    return {
        identity: (
            f"{problems[0].path}:{problems[0].line}: "
            f"{t(locale, f'check.{problems[0].code}', **problems[0].params)}"
        )
        for identity, problems in catalogue.broken().items()
        if problems
    }


# --- one lesson's writes ---------------------------------------------------------------

# Each of the three parts a lesson's links are made of (thread, starter message, issue)
# gets this many hex digits of digest.
DIGEST_PART = 21
THREAD_PART, STARTER_PART, ISSUE_PART = range(3)
# Stored in place of a part's digest: unknown (write it) or taken as right (leave it).
UNKNOWN_PART = "?" * DIGEST_PART
ASSUMED_PART = "=" * DIGEST_PART


@dataclass
class LinkState:
    """A lesson's link as stored, copied out of its session (no I/O in between)."""

    lesson_id: int
    removed: bool
    thread_id: int | None
    starter_id: int | None
    forum_id: int | None
    issue_number: int | None
    issue_url: str | None
    digest: str | None
    # The post's name as last written: a name is sent only when it changes, as Discord
    # allows two channel name edits per ten minutes.
    thread_name: str | None = None


@dataclass
class LessonWrites:
    """One lesson's writes, decided before any is made."""

    create_thread: bool = False
    create_issue: bool = False
    edit_thread: bool = False
    edit_starter: bool = False
    edit_issue: bool = False
    reopen: bool = False

    @property
    def needed(self) -> bool:
        """Tell whether the lesson needs any write at all."""
        return (
            self.create_thread
            or self.create_issue
            or self.edit_thread
            or self.edit_starter
            or self.edit_issue
            or self.reopen
        )


def part_digest(*values: Any) -> str:
    """Return the digest of what one part of a lesson's links holds."""
    text = json.dumps(values, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:DIGEST_PART]


def plan_writes(state: LinkState, parts: Sequence[str]) -> LessonWrites:
    """Return the writes that bring a lesson from its stored state to the wanted `parts`
    (the digests of what its thread, starter message and issue should hold)."""
    stored = state.digest or UNKNOWN_PART * 3
    thread, starter, issue = parts
    writes = LessonWrites(
        create_thread=state.thread_id is None,
        create_issue=state.issue_number is None,
        reopen=state.removed,
    )
    writes.edit_thread = not writes.create_thread and stored[:DIGEST_PART] not in (
        thread,
        ASSUMED_PART,
    )
    writes.edit_starter = writes.create_issue or stored[DIGEST_PART : 2 * DIGEST_PART] != starter
    writes.edit_issue = not writes.create_issue and (
        writes.create_thread or stored[2 * DIGEST_PART :] != issue
    )
    return writes


def with_part(stored: str | None, index: int, part: str) -> str:
    """Return the stored digest with one part (thread, starter, issue) now written."""
    parts = [
        (stored or UNKNOWN_PART * 3)[i * DIGEST_PART : (i + 1) * DIGEST_PART] for i in range(3)
    ]
    parts[index] = part
    return "".join(parts)


def adopted_issue_digest(title: str, body: str, *, with_post: bool) -> str:
    """Return the digest to store for an issue found by its marker.

    With `with_post` (its body links the lesson's post) the thread's name and tags were
    written by the sync that wrote this issue, so they are taken as they are; the starter
    message is rewritten once, as a crash may have left it without the issue's link.
    """
    thread = ASSUMED_PART if with_post else UNKNOWN_PART
    return thread + UNKNOWN_PART + part_digest(title, body)
