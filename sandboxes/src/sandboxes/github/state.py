"""Users, repositories, issues, pull requests, comments, labels and reviews, in memory."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sandboxes.github.gitrepo import GitRepo

# GitHub's hourly request allowances.
AUTHENTICATED_LIMIT = 5000
ANONYMOUS_LIMIT = 60
RATE_WINDOW = 3600

# The labels GitHub gives every new repository.
DEFAULT_LABELS = (
    ("bug", "d73a4a", "Something isn't working"),
    ("documentation", "0075ca", "Improvements or additions to documentation"),
    ("duplicate", "cfd3d7", "This issue or pull request already exists"),
    ("enhancement", "a2eeef", "New feature or request"),
    ("good first issue", "7057ff", "Good for newcomers"),
    ("help wanted", "008672", "Extra attention is needed"),
    ("invalid", "e4e669", "This doesn't seem right"),
    ("question", "d876e3", "Further information is requested"),
    ("wontfix", "ffffff", "This will not be worked on"),
)


def now() -> datetime:
    """Return the current UTC time to the second, as GitHub reports times."""
    return datetime.now(UTC).replace(microsecond=0)


@dataclass(eq=False)
class User:
    """A GitHub account: a person, a bot or an organization."""

    login: str
    id: int
    type: str = "User"
    created_at: datetime = field(default_factory=now)

    @property
    def email(self) -> str:
        """Return the noreply address GitHub uses in commits made on the web."""
        return f"{self.id}+{self.login}@users.noreply.github.com"


@dataclass(eq=False)
class Label:
    """A repository label."""

    id: int
    name: str
    color: str
    description: str | None = None
    default: bool = False


@dataclass(eq=False)
class Comment:
    """A comment on an issue or pull request conversation."""

    id: int
    issue_number: int
    user: User
    body: str
    created_at: datetime
    updated_at: datetime


@dataclass(eq=False)
class Review:
    """A pull request review."""

    id: int
    user: User
    body: str
    state: str  # APPROVED, CHANGES_REQUESTED, COMMENTED or PENDING
    commit_id: str
    submitted_at: datetime | None


@dataclass(eq=False)
class ReviewComment:
    """A comment on a line (or the whole file) of a pull request's diff."""

    id: int
    review_id: int | None
    user: User
    body: str
    path: str
    commit_id: str
    original_commit_id: str
    diff_hunk: str
    position: int | None
    original_position: int
    line: int | None
    original_line: int | None
    side: str  # LEFT (old file) or RIGHT (new file)
    start_line: int | None
    original_start_line: int | None
    start_side: str | None
    subject_type: str  # line or file
    in_reply_to_id: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(eq=False)
class Pull:
    """The pull-request half of an issue that is a pull request."""

    id: int
    head_ref: str
    head_sha: str
    base_ref: str
    base_sha: str
    draft: bool = False
    maintainer_can_modify: bool = False
    merged_at: datetime | None = None
    merged_by: User | None = None
    merge_commit_sha: str | None = None
    requested_reviewers: list[User] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    review_comments: list[ReviewComment] = field(default_factory=list)

    @property
    def merged(self) -> bool:
        """Tell whether the pull request was merged."""
        return self.merged_at is not None

    def published_comments(self) -> list[ReviewComment]:
        """Return the review comments others can see: none of a pending review's."""
        pending = {review.id for review in self.reviews if review.state == "PENDING"}
        return [comment for comment in self.review_comments if comment.review_id not in pending]


@dataclass(eq=False)
class Issue:
    """An issue; a pull request is an issue with `pull` set, as on GitHub."""

    number: int
    id: int
    title: str
    body: str | None
    user: User
    created_at: datetime
    updated_at: datetime
    state: str = "open"
    state_reason: str | None = None
    closed_at: datetime | None = None
    closed_by: User | None = None
    locked: bool = False
    labels: list[Label] = field(default_factory=list)
    assignees: list[User] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    pull: Pull | None = None

    def touch(self) -> None:
        """Record a change now."""
        self.updated_at = now()


@dataclass(eq=False)
class Repo:
    """A repository: a bare git repository plus its issues, pulls and labels."""

    id: int
    name: str
    owner: User
    git: GitRepo
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)
    pushed_at: datetime = field(default_factory=now)
    default_branch: str = "main"
    description: str | None = None
    labels: dict[str, Label] = field(default_factory=dict)  # keyed by lower-case name
    issues: dict[int, Issue] = field(default_factory=dict)
    comments: dict[int, Comment] = field(default_factory=dict)
    collaborators: dict[str, str] = field(default_factory=dict)  # lower-case login -> permission
    next_number: int = 1
    # Plain JSON the saved world keeps as is: commit statuses, reactions, lock reasons
    # and timeline events.
    records: dict[str, Any] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        """Return `owner/name`."""
        return f"{self.owner.login}/{self.name}"

    def label(self, name: str) -> Label | None:
        """Return the label with this name, ignoring case as GitHub does."""
        return self.labels.get(name.lower())

    def pulls(self) -> Iterator[Issue]:
        """Yield the issues that are pull requests."""
        return (issue for issue in self.issues.values() if issue.pull is not None)

    def open_issue_count(self) -> int:
        """Count open issues and pull requests, as `open_issues_count` does."""
        return sum(1 for issue in self.issues.values() if issue.state == "open")


@dataclass
class RateWindow:
    """One caller's request allowance in the current hour."""

    limit: int
    remaining: int
    reset: int

    @property
    def used(self) -> int:
        """Return how many requests the caller made in this window."""
        return self.limit - self.remaining


class State:
    """Everything the sandbox knows besides git objects: accounts, repositories, counters."""

    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self.repos: dict[str, Repo] = {}
        self.rates: dict[str, RateWindow] = {}
        # Separate id ranges per kind, so a comment id never equals an issue id and a
        # client mixing them up fails here as it would on GitHub.
        # The next id of each kind (kept with a saved world, so ids are never reused).
        self.next_ids = {
            "user": 1001,
            "repo": 700_001,
            "issue": 2_000_001,
            "pull": 3_000_001,
            "comment": 4_000_001,
            "label": 5_000_001,
            "review": 6_000_001,
            "review_comment": 10_000_001,
            "reaction": 7_000_001,
            "status": 8_000_001,
            "event": 9_000_001,
        }

    def new_id(self, kind: str) -> int:
        """Return the next id for objects of `kind`."""
        value = self.next_ids[kind]
        self.next_ids[kind] = value + 1
        return value

    def user(self, login: str, kind: str | None = None) -> User:
        """Return the account with this login, creating it on first use."""
        key = login.lower()
        user = self.users.get(key)
        if user is None:
            if kind is None:
                kind = "Bot" if login.endswith("[bot]") else "User"
            user = User(login=login, id=self.new_id("user"), type=kind)
            self.users[key] = user
        return user

    def find_user(self, login: str) -> User | None:
        """Return the account with this login if it exists."""
        return self.users.get(login.lower())

    def add_repo(self, owner: User, name: str, git: GitRepo, default_branch: str) -> Repo:
        """Register a repository with GitHub's default labels."""
        repo = Repo(
            id=self.new_id("repo"), name=name, owner=owner, git=git, default_branch=default_branch
        )
        for label_name, color, description in DEFAULT_LABELS:
            repo.labels[label_name] = Label(
                id=self.new_id("label"),
                name=label_name,
                color=color,
                description=description,
                default=True,
            )
        self.repos[repo.full_name.lower()] = repo
        return repo

    def repo(self, owner: str, name: str) -> Repo | None:
        """Return the repository `owner/name`, ignoring case as GitHub does."""
        return self.repos.get(f"{owner}/{name}".lower())

    def new_issue(self, repo: Repo, user: User, title: str, body: str | None) -> Issue:
        """Create an issue with the repository's next number."""
        stamp = now()
        issue = Issue(
            number=repo.next_number,
            id=self.new_id("issue"),
            title=title,
            body=body,
            user=user,
            created_at=stamp,
            updated_at=stamp,
        )
        repo.next_number += 1
        repo.issues[issue.number] = issue
        return issue

    def add_comment(self, repo: Repo, issue: Issue, user: User, body: str) -> Comment:
        """Add a comment to an issue's conversation."""
        stamp = now()
        comment = Comment(
            id=self.new_id("comment"),
            issue_number=issue.number,
            user=user,
            body=body,
            created_at=stamp,
            updated_at=stamp,
        )
        issue.comments.append(comment)
        repo.comments[comment.id] = comment
        issue.touch()
        return comment

    def remove_comment(self, repo: Repo, comment: Comment) -> Issue | None:
        """Delete a comment and return the issue it was on."""
        repo.comments.pop(comment.id, None)
        issue = repo.issues.get(comment.issue_number)
        if issue is not None:
            issue.comments = [c for c in issue.comments if c.id != comment.id]
            issue.touch()
        return issue

    def add_label(
        self, repo: Repo, name: str, color: str = "ededed", description: str | None = None
    ) -> Label:
        """Create a repository label."""
        label = Label(id=self.new_id("label"), name=name, color=color, description=description)
        repo.labels[name.lower()] = label
        return label

    def rate(self, key: str, authenticated: bool) -> RateWindow:
        """Return the caller's current allowance, starting a new hour when the last ran out."""
        clock = int(time.time())
        window = self.rates.get(key)
        if window is None or window.reset <= clock:
            limit = AUTHENTICATED_LIMIT if authenticated else ANONYMOUS_LIMIT
            window = RateWindow(limit=limit, remaining=limit, reset=clock + RATE_WINDOW)
            self.rates[key] = window
        return window

    def association(self, repo: Repo, user: User) -> str:
        """Return how `user` relates to `repo`, as `author_association` reports it."""
        if user is repo.owner:
            return "OWNER"
        if user.login.lower() in repo.collaborators:
            return "COLLABORATOR"
        if any(
            issue.pull is not None and issue.pull.merged and issue.user is user
            for issue in repo.issues.values()
        ):
            return "CONTRIBUTOR"
        return "NONE"

    def permission(self, repo: Repo, user: User) -> str:
        """Return the user's role on `repo`: read, triage, write, maintain or admin."""
        if user is repo.owner:
            return "admin"
        return repo.collaborators.get(user.login.lower(), "read")


# GitHub's repository roles, from least to most access.
ROLES = ("read", "triage", "write", "maintain", "admin")


def role_flags(role: str) -> dict[str, bool]:
    """Expand a role into GitHub's permission flags (`permissions` on repos and people)."""
    level = ROLES.index(role) if role in ROLES else 0
    return {
        "admin": level >= ROLES.index("admin"),
        "maintain": level >= ROLES.index("maintain"),
        "push": level >= ROLES.index("write"),
        "triage": level >= ROLES.index("triage"),
        "pull": True,
    }


# What an App is granted by default: what the bot asks for in its manifest.
APP_PERMISSIONS = {
    "contents": "write",
    "issues": "write",
    "pull_requests": "write",
    "metadata": "read",
}
APP_EVENTS = [
    "issue_comment",
    "pull_request",
    "pull_request_review",
    "pull_request_review_comment",
    "push",
]


@dataclass
class App:
    """A registered GitHub App: who it is and the key its JWTs are signed with."""

    app_id: int
    public_key_pem: str
    installation_id: int
    bot_login: str
    # What the installation was granted and subscribed to, as GitHub lists them.
    permissions: dict[str, str] = field(default_factory=lambda: dict(APP_PERMISSIONS))
    events: list[str] = field(default_factory=lambda: list(APP_EVENTS))


@dataclass
class Apps:
    """The registered apps and the installation tokens they were given."""

    by_installation: dict[int, App] = field(default_factory=dict)
    # token -> (bot login, expiry)
    tokens: dict[str, tuple[str, datetime]] = field(default_factory=dict)

    def login_for(self, token: str) -> str | None:
        """Return the bot login an installation token acts as, or None for other tokens."""
        entry = self.tokens.get(token)
        if entry is None:
            return None
        login, expires_at = entry
        if expires_at <= now():
            raise PermissionError("installation token expired")
        return login
