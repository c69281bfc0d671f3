"""Events: what GitHub tells the services, as typed values (the inbound half of the ports).

`bot/web/github_events.py` parses each webhook delivery into one of these at the edge, once,
so no service reads GitHub's JSON. They live beside `ports.py` rather than in
`bot/domain`: they are the services' vocabulary for what adapters hand them, not rules
the domain reasons about, and the domain never needs them. Values the payload leaves out
are empty ("" or None); only a push's default branch has a fallback, "main".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar


@dataclass(frozen=True, slots=True)
class PullRequestDetails:
    """A pull request as an event shows it."""

    number: int
    url: str | None = None
    # The login of who opened it.
    author: str = ""
    head_ref: str = ""
    head_sha: str = ""
    # `owner/name` of the repository the head branch lives in (a fork's, for a fork).
    head_repository: str = ""
    base_ref: str = ""
    # The base branch's commit the pull request is compared with (once merged: the one
    # it was merged onto).
    base_sha: str = ""
    # The repository's default branch, as the base repository says ("" when it does not).
    default_branch: str = ""
    merged: bool = False
    merge_commit_sha: str | None = None
    merged_by: str = ""


@dataclass(frozen=True, slots=True)
class PullRequestEvent:
    """`pull_request`: a pull request opened, closed (merged or not), reopened, pushed to..."""

    action: str
    # `owner/name` of the repository the event is about.
    repository: str
    sender: str
    pull_request: PullRequestDetails


@dataclass(frozen=True, slots=True)
class ReviewDetails:
    """A submitted review: its verdict and what the reviewer wrote."""

    id: int | None
    # Lower case: "approved", "changes_requested", "commented", "dismissed".
    state: str
    body: str
    reviewer: str
    association: str = ""
    commit_id: str | None = None


@dataclass(frozen=True, slots=True)
class ReviewEvent:
    """`pull_request_review`: a review submitted, edited or dismissed."""

    action: str
    repository: str
    sender: str
    pull_request: PullRequestDetails
    review: ReviewDetails


@dataclass(frozen=True, slots=True)
class LineComment:
    """A reviewer's comment on a line of a pull request's diff."""

    id: int | None
    review_id: int | None
    body: str
    path: str | None
    # The line it comments on; the line it was written on once a later push outdated it.
    line: int | None
    start_line: int | None
    author: str
    association: str = ""
    url: str | None = None


@dataclass(frozen=True, slots=True)
class ReviewCommentEvent:
    """`pull_request_review_comment`: a line comment (maybe a ```suggestion block)."""

    action: str
    repository: str
    sender: str
    pull_request: PullRequestDetails
    comment: LineComment


@dataclass(frozen=True, slots=True)
class IssueDetails:
    """The issue (or pull request) a comment is on."""

    number: int
    url: str | None = None
    title: str = ""
    body: str = ""
    labels: tuple[str, ...] = ()
    # GitHub sends comments on pull requests as issue comments too.
    is_pull_request: bool = False


@dataclass(frozen=True, slots=True)
class IssueCommentDetails:
    """A comment on an issue."""

    id: int
    body: str
    author: str
    # "Bot" for GitHub Apps and other bots; "User" for people.
    author_type: str = ""
    association: str = ""
    url: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class IssueCommentEvent:
    """`issue_comment`: a comment created, edited or deleted."""

    action: str
    repository: str
    sender: str
    issue: IssueDetails
    comment: IssueCommentDetails


@dataclass(frozen=True, slots=True)
class PushCommit:
    """The files one pushed commit added, modified and removed."""

    added: tuple[str, ...] = ()
    modified: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PushEvent:
    """`push`: commits pushed to a branch or tag (or the ref deleted)."""

    repository: str
    # The full ref: `refs/heads/<branch>` or `refs/tags/<tag>`.
    ref: str
    # "main" when the payload does not name it, as the bot assumed before it read the field.
    default_branch: str
    deleted: bool
    # The commit the ref points at after the push.
    after: str
    commits: tuple[PushCommit, ...]
    # Every file the commits added, modified or removed, each once, in the commits' order.
    changed_paths: tuple[str, ...]

    @property
    def to_default_branch(self) -> bool:
        """Tell whether the push went to the repository's default branch."""
        return self.ref == f"refs/heads/{self.default_branch}"


GitHubEvent = PullRequestEvent | ReviewEvent | ReviewCommentEvent | IssueCommentEvent | PushEvent

E = TypeVar("E", PullRequestEvent, ReviewEvent, ReviewCommentEvent, IssueCommentEvent, PushEvent)


@dataclass(frozen=True, slots=True)
class EventHandler(Generic[E]):
    """One concern's handler for one kind of event; it answers what it did, for the log."""

    kind: type[E]
    # Who handles it ("questions", "bridge"...), so log lines tell concerns apart.
    concern: str
    handle: Callable[[E], Awaitable[str]]
