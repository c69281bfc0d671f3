"""Ports: what services need from the outside world, as typing.Protocol."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from bot.domain.budgets import BudgetRule
from bot.domain.catalogue import Catalogue

IssueState = Literal["open", "closed"]


@dataclass(frozen=True, slots=True)
class Issue:
    """A GitHub issue as services see it."""

    number: int
    title: str
    body: str
    state: IssueState
    labels: tuple[str, ...]
    html_url: str
    is_pull_request: bool = False


@dataclass(frozen=True, slots=True)
class Comment:
    """A comment on an issue or pull request."""

    id: int
    issue_number: int
    author: str
    body: str
    html_url: str
    created_at: datetime | None = None  # None when the platform did not say


@dataclass(frozen=True, slots=True)
class FileContent:
    """A file at a ref: its text and git blob sha."""

    path: str
    text: str
    sha: str


@dataclass(frozen=True, slots=True)
class ProposedChange:
    """One file changed on a new branch and offered as a pull request."""

    branch: str
    path: str
    content: str
    commit_message: str
    title: str
    body: str
    base: str = "main"
    labels: Sequence[str] = field(default_factory=tuple)
    # When given, the change applies only if the file is still at this blob sha.
    expected_sha: str | None = None


@dataclass(frozen=True, slots=True)
class PullRequest:
    """A pull request as services see it."""

    number: int
    title: str
    state: IssueState
    merged: bool
    head: str
    base: str
    html_url: str
    head_sha: str = ""
    merge_commit_sha: str | None = None
    body: str = ""
    user: str = ""  # the login that opened it
    # clean, dirty, blocked, behind, unstable, unknown; None when the response had none.
    mergeable_state: str | None = None


@dataclass(frozen=True, slots=True)
class Review:
    """A review on a pull request."""

    id: int
    author: str
    state: str  # APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED
    body: str


@dataclass(frozen=True, slots=True)
class ReviewComment:
    """A line comment of a pull request review (it may hold a suggestion block)."""

    id: int
    review_id: int | None
    author: str
    body: str
    path: str
    line: int | None  # None once the comment is outdated
    start_line: int | None  # the first line of a multi-line comment
    side: str  # LEFT or RIGHT
    commit_id: str
    html_url: str
    in_reply_to_id: int | None = None


class StaleContentError(Exception):
    """A write that expected a file at one version found another: read it again."""


class RateLimitedError(Exception):
    """A service asked to be left alone until `retry_at` (epoch seconds): a known wait.

    Job runners defer the job to that time instead of counting a failed attempt. An
    adapter raises its own error class that also subclasses this one.
    """

    # Class defaults, so an adapter's error that calls only its own base's __init__
    # (cooperatively, through this one) still has both.
    retry_at: float = 0.0
    service: str = "a service"
    # What the job waits for, as an operator reads it; None: "{service}'s rate limit".
    reason: str | None = None

    def __init__(
        self,
        *args: object,
        retry_at: float | None = None,
        service: str | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(*args)
        if retry_at is not None:
            self.retry_at = retry_at
        if service is not None:
            self.service = service
        if reason is not None:
            self.reason = reason


class RequestMeter(Protocol):
    """Where an adapter counts the requests it sends and the waits it sits out, for metrics."""

    def request(self, outcome: str) -> None:
        """Count one HTTP request by its outcome (see `bot.services.metrics.OUTCOMES`)."""
        ...

    def waited(self, reason: str, seconds: float, budget: str = "") -> None:
        """Count one wait: a service's rate limit (`rate_limit`) or our own pacing, and the
        shared budget it was for ("" for none)."""
        ...


class BudgetPort(Protocol):
    """Budgets of external rate limits, shared by every process of the bot.

    A wait longer than the caller may sit out (a job: a few seconds) raises a
    `RateLimitedError` whose `reason` names the budget, so the job is deferred.
    """

    async def spend(self, rule: BudgetRule, gates: Sequence[BudgetRule] = ()) -> float:
        """Wait until one unit of `rule` may be spent (and `gates` are not blocked), spend
        it, and return the seconds waited."""
        ...

    async def clear(self, rule: BudgetRule) -> float:
        """Wait until `rule` is not blocked; return the seconds waited."""
        ...

    async def block(self, rule: BudgetRule, until: float) -> None:
        """Record that the service said `rule` is spent until `until` (epoch seconds)."""
        ...

    def allowance(self) -> float:
        """Return how long the caller may wait in place (in a job: a few seconds)."""
        ...


class GitHubPort(Protocol):
    """The bot's only door to GitHub; every write is safe to retry."""

    @property
    def request_counts(self) -> Mapping[str, int]:
        """Return how many HTTP requests were made, by kind."""
        ...

    async def login(self) -> str:
        """Return the login the bot writes to GitHub as ("" when unknown)."""
        ...

    async def get_issue(self, number: int) -> Issue:
        """Return one issue."""
        ...

    async def create_issue(
        self, title: str, body: str, labels: Sequence[str], marker: str
    ) -> Issue:
        """Create an issue whose body holds `marker`, unless one with it already exists."""
        ...

    async def update_issue(
        self,
        number: int,
        *,
        title: str | None = None,
        body: str | None = None,
        state: IssueState | None = None,
    ) -> Issue:
        """Change an issue's title, body or state."""
        ...

    async def list_issues(self, label: str | None = None, state: str = "all") -> list[Issue]:
        """Return every issue (not pull request) with a label, all pages."""
        ...

    async def add_labels(self, number: int, labels: Sequence[str]) -> None:
        """Add labels to an issue or pull request."""
        ...

    async def create_comment(self, number: int, body: str, marker: str | None = None) -> Comment:
        """Comment on an issue or pull request; with a marker, at most once."""
        ...

    async def update_comment(self, number: int, comment_id: int, body: str) -> None:
        """Replace the body of a comment on an issue or pull request."""
        ...

    async def delete_comment(self, number: int, comment_id: int) -> None:
        """Delete a comment (one already gone counts as deleted)."""
        ...

    async def list_comments(self, number: int) -> list[Comment]:
        """Return every comment of an issue or pull request, all pages."""
        ...

    async def get_file(self, path: str, ref: str = "main") -> FileContent:
        """Return a file's text and blob sha at a ref."""
        ...

    async def open_pull_request(self, change: ProposedChange) -> PullRequest:
        """Commit one file on a new branch and open a PR; a retry never opens a second."""
        ...

    async def get_pull_request(self, number: int) -> PullRequest:
        """Return one pull request."""
        ...

    async def list_reviews(self, number: int) -> list[Review]:
        """Return a pull request's reviews, oldest first."""
        ...

    async def merge_pull_request(self, number: int, message: str) -> str:
        """Merge a pull request; return the merge commit sha."""
        ...

    async def branch_sha(self, branch: str) -> str | None:
        """Return the commit a branch points at (None when there is no such branch)."""
        ...

    async def commit_file(
        self, branch: str, path: str, content: str, message: str, *, expected_sha: str
    ) -> str:
        """Commit one file at blob `expected_sha` on a branch; return the new head sha."""
        ...

    async def reset_branch(self, branch: str, sha: str) -> None:
        """Force-move a branch to a commit."""
        ...

    async def close_pull_request(self, number: int) -> PullRequest:
        """Close a pull request without merging (one already closed counts as closed)."""
        ...

    async def update_pull_branch(self, number: int) -> bool:
        """Merge the base branch into a PR's branch; False when they conflict."""
        ...

    async def request_reviewers(self, number: int, reviewers: Sequence[str]) -> None:
        """Ask people to review a pull request; those who may not review are left out."""
        ...

    async def pull_request_files(self, number: int) -> list[str]:
        """Return the paths a pull request changes, all pages."""
        ...

    async def list_review_comments(self, number: int) -> list[ReviewComment]:
        """Return every review comment of a pull request, all pages, oldest first."""
        ...

    async def get_review(self, number: int, review_id: int) -> Review:
        """Return one review of a pull request."""
        ...

    async def permission(self, login: str) -> str:
        """Return a person's permission on the repository: admin, write, read or none."""
        ...


# Chat (Discord) ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChatEmbed:
    """A card attached to a chat message; the adapter fits it within the platform's limits."""

    title: str
    description: str = ""
    url: str | None = None
    fields: tuple[tuple[str, str], ...] = ()  # (name, value), shown in order
    footer: str = ""
    colour: int | None = None
    # When what the card shows was taken; Discord shows it in each reader's own time zone.
    timestamp: datetime | None = None


ButtonStyle = Literal["primary", "secondary", "success", "danger"]


@dataclass(frozen=True, slots=True)
class ChatButton:
    """A button under a message: a click reaches the bot as an interaction with
    `custom_id`, or, for a link button (`url` given), opens the address."""

    label: str
    custom_id: str = ""
    url: str = ""
    style: ButtonStyle = "secondary"

    @property
    def is_link(self) -> bool:
        """Tell whether the button opens an address rather than reaching the bot."""
        return bool(self.url)


@dataclass(frozen=True, slots=True)
class ChatOption:
    """One choice of a select menu: what it shows and the value a pick sends back."""

    label: str
    value: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class ChatSelect:
    """A select menu under a message; a pick reaches the bot as an interaction with
    `custom_id` and the chosen values."""

    custom_id: str
    placeholder: str
    options: tuple[ChatOption, ...]


# A lesson post's "Suggest an edit" button: `lessonbot:suggest:<program>/<slug>:<locale>`.
SUGGEST_BUTTON_PREFIX = "lessonbot:suggest:"
# The buttons under a told step of a suggestion:
# `lessonbot:suggestion:<action>:<suggestion id>[:<comment id>]`.
SUGGESTION_BUTTON_PREFIX = "lessonbot:suggestion:"
# The buttons under a held suggestion in the moderators' channel:
# `lessonbot:moderate:<approve|reject|block>:<suggestion id>`.
MODERATE_BUTTON_PREFIX = "lessonbot:moderate:"
# Discord's limit on a component's custom_id.
CUSTOM_ID_LIMIT = 100


def moderate_button_id(action: str, suggestion_id: int) -> str:
    """Return the custom_id of a moderator's button (approve, reject, block)."""
    return f"{MODERATE_BUTTON_PREFIX}{action}:{suggestion_id}"


def suggestion_button_id(action: str, suggestion_id: int, comment_id: int | None = None) -> str:
    """Return the custom_id of a suggestion's button (use, revise, withdraw, withdraw-yes)."""
    tail = "" if comment_id is None else f":{comment_id}"
    return f"{SUGGESTION_BUTTON_PREFIX}{action}:{suggestion_id}{tail}"


def suggest_button(identity: str, locale: str, label: str) -> ChatButton | None:
    """Return the "Suggest an edit" button of a lesson's post (None if its id cannot fit)."""
    custom_id = f"{SUGGEST_BUTTON_PREFIX}{identity}:{locale}"
    return ChatButton(label, custom_id) if len(custom_id) <= CUSTOM_ID_LIMIT else None


@dataclass(frozen=True, slots=True)
class ForumPost:
    """A post in a forum channel: its thread and the messages that open it."""

    thread_id: int
    message_ids: tuple[int, ...]  # the starter message first, then any continuation


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """A message as a channel's history shows it: what people read (its text, embeds and
    buttons) and what they do not (its components' custom_ids, when it was made)."""

    id: int
    author_id: int
    content: str
    buttons: tuple[ChatButton, ...] = ()
    embeds: tuple[ChatEmbed, ...] = ()
    custom_ids: tuple[str, ...] = ()
    created_at: datetime | None = None  # None when the platform did not say
    # The name people see (the server nickname, else the display name, else the username).
    author_name: str = ""


@dataclass(frozen=True, slots=True)
class ActivePost:
    """A forum post (thread) a gateway session says is active, as a catch-up starts."""

    thread_id: int
    guild_id: int
    forum_id: int | None
    title: str
    owner_id: int | None
    # The newest message Discord knows in it (None when it did not say).
    last_message_id: int | None


@dataclass(frozen=True, slots=True)
class PostMessage:
    """A message people wrote in a forum post, live or read back from its history."""

    thread_id: int
    message_id: int
    author_id: int | str
    author_name: str
    text: str
    is_bot: bool = False
    reply_to: int | None = None
    roles: tuple[str, ...] = ()
    created_at: datetime | None = None
    guild_id: int | None = None
    forum_id: int | None = None
    post_title: str | None = None
    post_owner_id: int | str | None = None


class PostHistory(Protocol):
    """Read what people wrote in a forum post after a message, oldest first."""

    async def read(self, post: ActivePost, after: int, limit: int) -> Sequence[PostMessage]:
        """Return at most `limit` messages people wrote after message id `after`."""
        ...


@dataclass(frozen=True, slots=True)
class ForumThread:
    """A post (thread) in a forum channel, as a listing shows it."""

    id: int
    name: str
    owner_id: int
    archived: bool
    locked: bool


@dataclass(frozen=True, slots=True)
class Forum:
    """A forum channel: where it is and the ids of its tags by name."""

    id: int
    guild_id: int
    tags: Mapping[str, int]


class ChatError(Exception):
    """A chat request failed for good; `status` is the HTTP status (0 for no response)."""

    def __init__(self, action: str, status: int, message: str) -> None:
        super().__init__(f"chat {action} failed ({status or 'no response'}): {message}")
        self.action = action
        self.status = status


class ChatNotFoundError(ChatError):
    """The channel, message or user does not exist (any more)."""


class ChatForbiddenError(ChatError):
    """The bot may not do this: a missing permission, or a person who takes no DMs."""


class ChatPort(Protocol):
    """The bot's only door to chat; services get plain ids back, never client objects."""

    @property
    def request_counts(self) -> Mapping[str, int]:
        """Return how many HTTP requests were made, by route."""
        ...

    async def post_message(
        self,
        channel_id: int,
        content: str,
        *,
        embed: ChatEmbed | None = None,
        select: ChatSelect | None = None,
        buttons: Sequence[ChatButton] = (),
        mention_roles: Sequence[int] = (),
        mention_users: Sequence[int] = (),
    ) -> list[int]:
        """Post in a channel or thread, split into messages that fit (the embed and the
        select menu or buttons under the last); return their ids. Only the roles and people
        in `mention_roles` and `mention_users` are pinged; nobody else ever is."""
        ...

    async def edit_message(
        self,
        channel_id: int,
        message_id: int,
        *,
        content: str | None = None,
        embed: ChatEmbed | None = None,
        button: ChatButton | None = None,
        remove_buttons: bool = False,
    ) -> None:
        """Replace a message's content, embed and/or button (None leaves that part as it is);
        `remove_buttons` takes every button and menu away."""
        ...

    async def replace_messages(
        self, channel_id: int, message_ids: Sequence[int], content: str
    ) -> list[int]:
        """Put new content in a split message: edit the parts in place, post what no longer
        fits, delete what is left over; return the ids it now has."""
        ...

    async def delete_message(self, channel_id: int, message_id: int) -> None:
        """Delete a message (one already gone counts as deleted)."""
        ...

    async def create_forum_post(
        self,
        forum_id: int,
        title: str,
        content: str,
        *,
        tags: Sequence[str] = (),
        tag_ids: Sequence[int] = (),
        embed: ChatEmbed | None = None,
        button: ChatButton | None = None,
    ) -> ForumPost:
        """Open a post in a forum channel, with the forum's tags of these names or ids (and a
        button under its starter message)."""
        ...

    async def ensure_forum(
        self, name: str, topic: str, tags: Sequence[str], *, forum_id: int | None = None
    ) -> Forum:
        """Return the forum `forum_id` (or the guild's forum named `name`, created if
        missing), with every tag in `tags` it has room for."""
        ...

    async def edit_thread(
        self,
        thread_id: int,
        *,
        name: str | None = None,
        tag_ids: Sequence[int] | None = None,
        archived: bool | None = None,
        locked: bool | None = None,
    ) -> None:
        """Change a thread's name, forum tags, archived or locked state in one request."""
        ...

    async def list_forum_threads(self, forum_id: int) -> list[ForumThread]:
        """Return every post of a forum, active and archived (all pages), oldest first."""
        ...

    async def fetch_message(self, channel_id: int, message_id: int) -> ChatMessage:
        """Return one message (ChatNotFoundError when it is gone)."""
        ...

    async def recent_messages(self, channel_id: int, limit: int = 100) -> list[ChatMessage]:
        """Return a channel's latest messages (at most `limit`, up to 100), newest first."""
        ...

    @property
    def user_id(self) -> int:
        """Return the bot's own user id (0 before it has logged in)."""
        ...

    async def create_thread(
        self, channel_id: int, name: str, *, message_id: int | None = None
    ) -> int:
        """Open a public thread in a text channel, on a message if given; return its id."""
        ...

    async def send_dm(
        self,
        user_id: int,
        content: str,
        *,
        embed: ChatEmbed | None = None,
        buttons: Sequence[ChatButton] = (),
    ) -> list[int]:
        """Send a person a direct message, split into messages that fit (the embed and
        buttons under the last); return their ids."""
        ...

    async def dm_channel_id(self, user_id: int) -> int:
        """Return the id of the bot's DM channel with a person (to look at what was sent)."""
        ...

    async def add_reaction(self, channel_id: int, message_id: int, emoji: str) -> None:
        """React to a message as the bot (e.g. ✅ when a question is resolved)."""
        ...


# Mail


class MailError(Exception):
    """An email could not be sent; the message is a one-line reason, never a secret."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    """One email to send: plain text, and HTML beside it when given."""

    to: tuple[str, ...]
    subject: str
    text: str
    html: str | None = None
    # Extra headers, e.g. List-Unsubscribe and List-Unsubscribe-Post (RFC 8058).
    headers: Mapping[str, str] = field(default_factory=dict)
    # Given: the same id on every retry, so a client shows a resent email once.
    message_id: str | None = None

    def __post_init__(self) -> None:
        # One address as a plain string is a list of one, not of its characters.
        if isinstance(self.to, str):
            object.__setattr__(self, "to", (self.to,))
        else:
            object.__setattr__(self, "to", tuple(self.to))


class MailPort(Protocol):
    """The bot's only door to outgoing mail."""

    async def send(self, mail: OutgoingMail) -> None:
        """Send one email, or raise MailError with a one-line reason."""
        ...


class ContentPort(Protocol):
    """Where the lessons come from: a clone of the GitHub repository, or a directory."""

    @property
    def from_github(self) -> bool:
        """Tell whether the lessons come from the GitHub repository."""
        ...

    @property
    def catalogue(self) -> Catalogue:
        """Return the catalogue as last loaded."""
        ...

    async def refresh(self, branch: str | None = None) -> Catalogue:
        """Bring the lessons up to date (a clone to `branch`), load and return them."""
        ...


# --- read-only probes, for `lessonbot doctor` ----------------------------------------------


class ProbeError(Exception):
    """A read for the doctor failed: `code` says how (unreachable, unauthorized, forbidden,
    not_found, refused, failed), the message says why in one line, never with a secret."""

    def __init__(self, code: str, reason: str = "") -> None:
        super().__init__(reason or code)
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ChannelView:
    """A guild channel as the doctor reads it: its kind and permission overwrites."""

    id: int
    name: str
    type: int
    # (target id, 0 role or 1 member, allow bits, deny bits)
    overwrites: tuple[tuple[int, int, int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class GuildView:
    """A server as the doctor reads it: its roles, the bot's roles, its channels."""

    id: int
    name: str
    owner_id: int
    bot_user_id: int
    role_permissions: Mapping[int, int]
    bot_role_ids: tuple[int, ...]
    channels: tuple[ChannelView, ...]


class DiscordProbe(Protocol):
    """Read-only questions to Discord about the bot's standing."""

    async def bot_name(self) -> str:
        """Return the bot's user name (the token works), or raise ProbeError."""
        ...

    async def privileged_intents(self) -> tuple[frozenset[str], frozenset[str]]:
        """Return the privileged intents the bot asks for and those its application has."""
        ...

    async def guild(self, guild_id: int) -> GuildView:
        """Return the server with its roles and channels, or raise ProbeError."""
        ...


@dataclass(frozen=True, slots=True)
class RepositoryAccess:
    """What the bot may do on the repository: a token's `permissions` flags (admin,
    maintain, push, triage, pull), or a GitHub App installation's permissions."""

    full_name: str
    default_branch: str
    flags: Mapping[str, bool] = field(default_factory=dict)
    # Through a GitHub App: what its installation was granted ({"issues": "write", ...}),
    # the events it is subscribed to, and the installation's id. None with a token.
    app_permissions: Mapping[str, str] | None = None
    app_events: tuple[str, ...] | None = None
    installation_id: int | None = None


@dataclass(frozen=True, slots=True)
class HookDeliveries:
    """The repository's webhooks that point at us, and their latest deliveries."""

    hooks: int
    # (HTTP status code, 0 when none came; event name), newest first
    recent: tuple[tuple[int, str], ...] = ()


class GitHubProbe(Protocol):
    """Read-only questions to GitHub about the bot's access to the repository."""

    async def repository(self) -> RepositoryAccess:
        """Return the repository and what we may do there, or raise ProbeError."""
        ...

    async def deliveries(self, url: str) -> HookDeliveries | None:
        """Return the webhooks posting to `url` and their recent deliveries; None when the
        credentials may not see webhooks."""
        ...


class MailProbe(Protocol):
    """A read-only look at the SMTP server: connect, greet, log in, leave."""

    async def check(self) -> None:
        """Return when the server accepts us (and our login), or raise ProbeError."""
        ...
