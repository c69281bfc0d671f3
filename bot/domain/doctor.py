"""What `lessonbot doctor` finds: one result per check, and Discord's permission rules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class Status(StrEnum):
    """How a check came out: fine, worth a look, or broken."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class CheckResult:
    """One line of the report: what was checked and what was found.

    `check` names what was checked (e.g. `discord.forum`), `subject` which one (a forum's
    name), `code` the finding for machines and logs; the sentence a person reads is the
    translation `doctor.<check>.<code>` (or `text_key`) with `params`.
    """

    check: str
    status: Status
    code: str
    subject: str = ""
    params: Mapping[str, str] = field(default_factory=dict)
    # A sentence shared by several checks (a server that cannot be reached, say).
    text_key: str | None = None

    @property
    def key(self) -> str:
        """Return the translation key of the finding."""
        return self.text_key or f"doctor.{self.check}.{self.code}"


def exit_status(results: Iterable[CheckResult]) -> int:
    """Return 1 when any check failed, else 0 (warnings pass)."""
    return 1 if any(result.status is Status.FAIL for result in results) else 0


# Discord's permission bits, by the names Discord's documentation gives them.
PERMISSIONS = {
    "ADD_REACTIONS": 1 << 6,
    "ADMINISTRATOR": 1 << 3,
    "MANAGE_CHANNELS": 1 << 4,
    "VIEW_CHANNEL": 1 << 10,
    "SEND_MESSAGES": 1 << 11,
    "EMBED_LINKS": 1 << 14,
    "ATTACH_FILES": 1 << 15,
    "READ_MESSAGE_HISTORY": 1 << 16,
    "MENTION_EVERYONE": 1 << 17,
    "MANAGE_THREADS": 1 << 34,
    "CREATE_PUBLIC_THREADS": 1 << 35,
    "SEND_MESSAGES_IN_THREADS": 1 << 38,
}
ALL_PERMISSIONS = (1 << 53) - 1
# What the bot does in a lesson forum: opens posts, writes and edits in them, archives,
# locks and tags them (manage threads), reads them back, and reacts.
FORUM_NEEDS = (
    "VIEW_CHANNEL",
    "SEND_MESSAGES",
    "SEND_MESSAGES_IN_THREADS",
    "MANAGE_THREADS",
    "READ_MESSAGE_HISTORY",
    "EMBED_LINKS",
    "ADD_REACTIONS",
)
# The digest channel: the digest is embeds, and a later one reads what went before.
DIGEST_NEEDS = ("VIEW_CHANNEL", "SEND_MESSAGES", "EMBED_LINKS", "READ_MESSAGE_HISTORY")
# Server-wide: a program without a forum yet gets one, and new tags are added to forums.
GUILD_NEEDS = ("MANAGE_CHANNELS",)
# A GitHub App's installation: what the bot's manifest asks for
# (docs/deploy/github-app-manifest.json), and the webhook events it acts on.
APP_NEEDS = {"contents": "write", "issues": "write", "pull_requests": "write", "metadata": "read"}
APP_EVENTS = (
    "issue_comment",
    "pull_request",
    "pull_request_review",
    "pull_request_review_comment",
    "push",
)
_ACCESS_LEVELS = ("none", "read", "write", "admin")
# What a missing send permission takes with it (Discord's implicit denials).
_NEEDS_SEND = ("MENTION_EVERYONE", "EMBED_LINKS", "ATTACH_FILES")
ROLE_OVERWRITE, MEMBER_OVERWRITE = 0, 1


@dataclass(frozen=True)
class Overwrite:
    """A channel's permission overwrite for a role (type 0) or a member (type 1)."""

    id: int
    type: int
    allow: int
    deny: int


def guild_permissions(
    guild_id: int, owner_id: int, member_id: int, role_ids: Iterable[int], roles: Mapping[int, int]
) -> int:
    """Return a member's server-wide permissions, as Discord computes them."""
    if member_id == owner_id:
        return ALL_PERMISSIONS
    value = roles.get(guild_id, 0)  # @everyone has the guild's id
    for role_id in role_ids:
        value |= roles.get(role_id, 0)
    return ALL_PERMISSIONS if value & PERMISSIONS["ADMINISTRATOR"] else value


def channel_permissions(
    base: int,
    guild_id: int,
    member_id: int,
    role_ids: Iterable[int],
    overwrites: Sequence[Overwrite],
) -> int:
    """Apply a channel's overwrites to server-wide permissions, in Discord's order:
    @everyone's, then the member's roles' together, then the member's own."""
    if base & PERMISSIONS["ADMINISTRATOR"]:
        return ALL_PERMISSIONS
    value = base
    by_key = {(overwrite.type, overwrite.id): overwrite for overwrite in overwrites}
    everyone = by_key.get((ROLE_OVERWRITE, guild_id))
    if everyone is not None:
        value = (value & ~everyone.deny) | everyone.allow
    allow = deny = 0
    for role_id in role_ids:
        overwrite = by_key.get((ROLE_OVERWRITE, role_id))
        if overwrite is not None and role_id != guild_id:
            allow |= overwrite.allow
            deny |= overwrite.deny
    value = (value & ~deny) | allow
    member = by_key.get((MEMBER_OVERWRITE, member_id))
    if member is not None:
        value = (value & ~member.deny) | member.allow
    # A channel one cannot see grants nothing; one cannot send in grants no sending extras.
    if not value & PERMISSIONS["VIEW_CHANNEL"]:
        return 0
    if not value & PERMISSIONS["SEND_MESSAGES"]:
        for name in _NEEDS_SEND:
            value &= ~PERMISSIONS[name]
    return value


def missing_permissions(value: int, needed: Iterable[str]) -> list[str]:
    """Return the names of needed permissions `value` lacks, in the order given."""
    return [name for name in needed if not value & PERMISSIONS[name]]


def missing_app_permissions(granted: Mapping[str, str]) -> list[str]:
    """Return what an App installation lacks of APP_NEEDS, as `name (level)`."""
    missing = []
    for name, level in APP_NEEDS.items():
        have = granted.get(name, "none")
        rank = _ACCESS_LEVELS.index(have) if have in _ACCESS_LEVELS else 0
        if rank < _ACCESS_LEVELS.index(level):
            missing.append(f"{name} ({level})")
    return missing


def missing_app_events(subscribed: Sequence[str]) -> list[str]:
    """Return the webhook events of APP_EVENTS an App is not subscribed to."""
    return [event for event in APP_EVENTS if event not in subscribed]
