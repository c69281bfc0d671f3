"""Which write-path jobs go first: priority levels and each job kind's default, in one place.

A person waiting on the bot (a suggestion's pull request, a notice to them) goes before a
lesson someone just touched, which goes before ordinary upkeep, which goes before bulk
linking. Jobs are claimed by priority, then by when they are due, then in order of
arrival (bot/services/outbox.py).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable


class JobPriority(enum.IntEnum):
    """How soon a job should run; lower goes first (the order jobs are claimed in)."""

    # A suggestion's PR and its follow-ups; notices, DMs and emails to a person.
    URGENT = 0
    # A lesson someone just touched (`/lesson`, a question, a suggestion).
    TOUCHED = 1
    NORMAL = 2
    # Linking a whole catalogue: runs when nothing else is due.
    BULK = 3


# Job kinds, as the services record them. Kept here, as strings, so the domain decides
# each one's priority without importing the services that own them.
LINKING = "linking"
LINKING_ISSUE = "linking_issue"
SUGGESTION = "suggestion"
SUGGESTION_NOTIFY = "suggestion_notify"
DIGEST = "digest"
BRIDGE = "bridge"
PRUNE = "prune"
CHANGE_NOTICE = "change_notice"
QUESTION_NUDGE = "question_nudge"

# Each kind's priority unless its caller says otherwise (a full sync's linking is BULK, a
# lesson someone touched is raised to TOUCHED).
DEFAULT_PRIORITIES: dict[str, JobPriority] = {
    SUGGESTION: JobPriority.URGENT,
    SUGGESTION_NOTIFY: JobPriority.URGENT,
    # Digests are sent to people: the channel, and each maintainer's email.
    DIGEST: JobPriority.URGENT,
    # A merged change that may answer a question, told to its asker.
    CHANGE_NOTICE: JobPriority.URGENT,
    BRIDGE: JobPriority.NORMAL,
    LINKING: JobPriority.NORMAL,
    LINKING_ISSUE: JobPriority.NORMAL,
    PRUNE: JobPriority.NORMAL,
    # A nudge tells people in a post a question waits.
    QUESTION_NUDGE: JobPriority.URGENT,
}

# Kinds whose work is mostly GitHub content writes, which the adapter paces at about one a
# second and 500 an hour: a backlog of them waits on that pace, so the worker runs their
# bulk apart from everything else.
PACED_KINDS: frozenset[str] = frozenset({LINKING_ISSUE})


def default_priority(kind: str) -> JobPriority:
    """Return the priority a job of `kind` gets when its caller names none."""
    return DEFAULT_PRIORITIES.get(kind, JobPriority.NORMAL)


def most_urgent(priorities: Iterable[int]) -> JobPriority:
    """Return the most urgent of some priorities (NORMAL for none)."""
    return JobPriority(min(priorities, default=JobPriority.NORMAL))
