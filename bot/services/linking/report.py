"""Count what a sync did, or in a dry run would do, for people and for `sync --json`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.domain.linking import LessonWrites


@dataclass
class SyncReport:
    """What a sync did (or, in a dry run, would do), with the requests it cost."""

    lessons: int = 0
    issues_created: int = 0
    issues_updated: int = 0
    threads_created: int = 0
    threads_updated: int = 0
    issues_adopted: int = 0
    threads_adopted: int = 0
    removed: int = 0
    restored: int = 0
    github_requests: int = 0
    discord_requests: int = 0
    dry_run: bool = False
    # Lessons another process was syncing (it finishes them), and lessons that failed.
    busy: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    # Lessons held back because a file of theirs is broken: identity -> problem.
    held_back: dict[str, str] = field(default_factory=dict)
    # Removals refused by the guard (too many, or an empty catalogue).
    refused_removals: list[str] = field(default_factory=list)
    # Where the lessons came from and how many it holds (drafts and broken ones too), and
    # the guard's limit: what a person needs to judge a refused removal.
    content: str = ""
    content_lessons: int = 0
    max_removals: int = 0

    @property
    def ok(self) -> bool:
        """Return whether everything asked for was done (or was being done elsewhere)."""
        return not self.failed and not self.refused_removals

    def as_json(self) -> dict[str, Any]:
        """Return the figures `lessonbot sync --json` prints."""
        return {
            "lessons": self.lessons,
            "issues_created": self.issues_created,
            "issues_updated": self.issues_updated,
            "threads_created": self.threads_created,
            "threads_updated": self.threads_updated,
            "issues_adopted": self.issues_adopted,
            "threads_adopted": self.threads_adopted,
            "removed": self.removed,
            "restored": self.restored,
            "github_requests": self.github_requests,
            "discord_requests": self.discord_requests,
            "busy": list(self.busy),
            "failed": dict(self.failed),
            "held_back": dict(self.held_back),
            "refused_removals": list(self.refused_removals),
            "dry_run": self.dry_run,
        }

    def count(self, writes: LessonWrites, *, post: bool = True, issue: bool = True) -> None:
        """Count one lesson's writes as the post and issue they create or update (only
        its post's, or its issue's, for the job that writes just that)."""
        if post:
            if writes.create_thread:
                self.threads_created += 1
            # The starter's link to a new issue counts here too, though the issue's job
            # writes it.
            elif writes.edit_thread or writes.edit_starter or writes.reopen:
                self.threads_updated += 1
            if writes.reopen:
                self.restored += 1
        if issue:
            if writes.create_issue:
                self.issues_created += 1
            elif writes.edit_issue or writes.reopen:
                self.issues_updated += 1

    def count_removal(self, *, has_thread: bool, has_issue: bool) -> None:
        """Count one lesson's removal: its post archived and its issue closed, if any."""
        self.removed += 1
        if has_thread:
            self.threads_updated += 1
        if has_issue:
            self.issues_updated += 1
