"""The sandbox's in-memory Discord world: users, guilds, channels, messages, commands."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sandboxes.discord.errors import unknown_channel, unknown_guild, unknown_message, unknown_user
from sandboxes.discord.snowflakes import SnowflakeGenerator

TEXT, DM, VOICE, CATEGORY, ANNOUNCEMENT = 0, 1, 2, 4, 5
ANNOUNCEMENT_THREAD, PUBLIC_THREAD, PRIVATE_THREAD, FORUM, MEDIA = 10, 11, 12, 15, 16
THREAD_TYPES = (ANNOUNCEMENT_THREAD, PUBLIC_THREAD, PRIVATE_THREAD)
GUILD_TYPES = (TEXT, VOICE, CATEGORY, ANNOUNCEMENT, FORUM, MEDIA)
MESSAGEABLE_TYPES = (TEXT, DM, VOICE, ANNOUNCEMENT, *THREAD_TYPES)

# Permission bits the sandbox reasons about, and the @everyone default of a new server.
ADMINISTRATOR = 1 << 3
ALL_PERMISSIONS = (1 << 51) - 1
DEFAULT_PERMISSIONS = (
    (1 << 0)  # create instant invite
    | (1 << 6)  # add reactions
    | (1 << 10)  # view channel
    | (1 << 11)  # send messages
    | (1 << 14)  # embed links
    | (1 << 15)  # attach files
    | (1 << 16)  # read message history
    | (1 << 18)  # use external emojis
    | (1 << 20)  # connect
    | (1 << 21)  # speak
    | (1 << 26)  # change nickname
    | (1 << 31)  # use application commands
    | (1 << 35)  # create public threads
    | (1 << 38)  # send messages in threads
)


def now() -> datetime:
    """Return the current UTC time."""
    return datetime.now(UTC)


def iso(moment: datetime | None) -> str | None:
    """Format a time as Discord does: ISO 8601 with microseconds and an offset."""
    return None if moment is None else moment.isoformat(timespec="microseconds")


@dataclass
class User:
    """A Discord account: a person or the bot."""

    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    locale: str = "en-US"
    accepts_dms: bool = True


@dataclass
class Role:
    """A server role; the @everyone role has the server's id."""

    id: int
    name: str
    permissions: int
    position: int = 0
    color: int = 0
    hoist: bool = False
    mentionable: bool = False
    managed: bool = False
    bot_id: int | None = None


@dataclass
class Member:
    """A user's membership of a server."""

    user_id: int
    joined_at: datetime
    roles: list[int] = field(default_factory=list)
    nick: str | None = None


@dataclass
class ForumTag:
    """A tag a forum offers its posts."""

    id: int
    name: str
    moderated: bool = False
    emoji_id: int | None = None
    emoji_name: str | None = None


@dataclass
class Reaction:
    """One emoji's reactions on a message, in the order users added them."""

    emoji_name: str
    emoji_id: int | None = None
    animated: bool = False
    user_ids: list[int] = field(default_factory=list)

    @property
    def key(self) -> str:
        """Return how the emoji is named in a URL: `name` or `name:id`."""
        return self.emoji_name if self.emoji_id is None else f"{self.emoji_name}:{self.emoji_id}"


@dataclass
class Attachment:
    """An uploaded file, served back from the sandbox's CDN path."""

    id: int
    channel_id: int
    filename: str
    content_type: str
    data: bytes
    description: str | None = None


@dataclass
class Message:
    """A message in a channel, thread or DM (ephemeral ones live only on interactions)."""

    id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    content: str = ""
    timestamp: datetime = field(default_factory=now)
    type: int = 0
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    flags: int = 0
    tts: bool = False
    edited_timestamp: datetime | None = None
    reference: dict[str, Any] | None = None
    mention_ids: list[int] = field(default_factory=list)
    mention_role_ids: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    pinned: bool = False
    nonce: str | int | None = None
    reactions: dict[str, Reaction] = field(default_factory=dict)
    interaction_id: int | None = None
    webhook_id: int | None = None
    thread_id: int | None = None
    position: int | None = None
    ephemeral: bool = False


@dataclass
class Channel:
    """A server channel, a thread or a DM; which fields matter depends on `type`."""

    id: int
    type: int
    name: str | None = None
    guild_id: int | None = None
    position: int = 0
    parent_id: int | None = None
    topic: str | None = None
    nsfw: bool = False
    rate_limit_per_user: int = 0
    flags: int = 0
    available_tags: list[ForumTag] = field(default_factory=list)
    # Guild channels: `{id, type (0 role, 1 member), allow, deny}`, bits as integers.
    permission_overwrites: list[dict[str, int]] = field(default_factory=list)
    default_auto_archive_duration: int = 1440
    default_reaction_emoji: dict[str, Any] | None = None
    last_message_id: int | None = None
    created_at: datetime = field(default_factory=now)
    messages: dict[int, Message] = field(default_factory=dict)
    # Threads
    owner_id: int | None = None
    applied_tags: list[int] = field(default_factory=list)
    archived: bool = False
    locked: bool = False
    invitable: bool = True
    auto_archive_duration: int = 1440
    archive_timestamp: datetime | None = None
    member_ids: list[int] = field(default_factory=list)
    message_count: int = 0
    total_message_sent: int = 0
    # DMs
    recipient_ids: list[int] = field(default_factory=list)

    @property
    def is_thread(self) -> bool:
        """Tell whether this channel is a thread."""
        return self.type in THREAD_TYPES

    def visible_messages(self) -> list[Message]:
        """Return the channel's messages, oldest first."""
        return sorted(self.messages.values(), key=lambda message: message.id)


@dataclass
class Guild:
    """A server the bot is in."""

    id: int
    name: str
    owner_id: int
    created_at: datetime = field(default_factory=now)
    preferred_locale: str = "en-US"
    description: str | None = None
    members: dict[int, Member] = field(default_factory=dict)
    roles: dict[int, Role] = field(default_factory=dict)
    channel_ids: list[int] = field(default_factory=list)
    system_channel_id: int | None = None


@dataclass
class Command:
    """A registered application command, global (`guild_id` None) or for one server."""

    id: int
    application_id: int
    guild_id: int | None
    name: str
    type: int
    version: int
    description: str = ""
    options: list[dict[str, Any]] = field(default_factory=list)
    default_member_permissions: str | None = None
    dm_permission: bool = True
    contexts: list[int] | None = None
    integration_types: list[int] = field(default_factory=lambda: [0])
    nsfw: bool = False
    name_localizations: dict[str, str] | None = None
    description_localizations: dict[str, str] | None = None


@dataclass
class Interaction:
    """An interaction the sandbox sent the bot, and everything the bot answered."""

    id: int
    token: str
    type: int
    user_id: int
    channel_id: int
    guild_id: int | None
    locale: str
    data: dict[str, Any]
    created: float
    payload: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    message_id: int | None = None
    callback_type: int | None = None
    original_id: int | None = None
    original_ephemeral: bool = False
    loading: bool = False
    modal: dict[str, Any] | None = None
    choices: list[dict[str, Any]] | None = None
    followup_ids: list[int] = field(default_factory=list)
    ephemeral_messages: dict[int, Message] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    waiters: list[asyncio.Future[None]] = field(default_factory=list)
    # A modal submit's: the command or component interaction whose answer showed the modal.
    trigger_id: int | None = None


class State:
    """Every object of the sandbox, by id; lookups raise Discord's 404 errors."""

    def __init__(self, bot_name: str) -> None:
        self.ids = SnowflakeGenerator()
        self.users: dict[int, User] = {}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.commands: dict[int, Command] = {}
        self.interactions: dict[int, Interaction] = {}
        self.attachments: dict[int, Attachment] = {}
        self.dm_channels: dict[int, int] = {}
        self.interaction_tokens: dict[str, Interaction] = {}
        # Every message the bot posted or edited, as it was right then, oldest first.
        self.sent: list[dict[str, Any]] = []
        self.application_id = self.ids.next()
        self.bot_user_id = self.ids.next()
        self.bot_name = bot_name
        self.owner_user_id = self.ids.next()
        self.users[self.bot_user_id] = User(self.bot_user_id, bot_name, bot=True)
        # The person who owns the application, as GET /oauth2/applications/@me names them.
        self.users[self.owner_user_id] = User(self.owner_user_id, f"{bot_name}-owner")

    @property
    def bot(self) -> User:
        """Return the bot's user."""
        return self.users[self.bot_user_id]

    def user(self, user_id: int) -> User:
        """Return a user or raise 10013 Unknown User."""
        user = self.users.get(user_id)
        if user is None:
            raise unknown_user()
        return user

    def guild(self, guild_id: int) -> Guild:
        """Return a guild or raise 10004 Unknown Guild."""
        guild = self.guilds.get(guild_id)
        if guild is None:
            raise unknown_guild()
        return guild

    def channel(self, channel_id: int) -> Channel:
        """Return a channel or raise 10003 Unknown Channel."""
        channel = self.channels.get(channel_id)
        if channel is None:
            raise unknown_channel()
        return channel

    def message(self, channel_id: int, message_id: int) -> Message:
        """Return a message of a channel or raise 10008 Unknown Message."""
        message = self.channel(channel_id).messages.get(message_id)
        if message is None:
            raise unknown_message()
        return message

    def find_message(self, channel_id: int, message_id: int) -> Message | None:
        """Find a channel's message, or an ephemeral one an interaction's answer holds."""
        channel = self.channels.get(channel_id)
        if channel is not None and message_id in channel.messages:
            return channel.messages[message_id]
        for interaction in self.interactions.values():
            if message_id in interaction.ephemeral_messages:
                return interaction.ephemeral_messages[message_id]
        return None

    def member_permissions(self, guild: Guild, user_id: int) -> int:
        """Return a member's server-wide permissions from @everyone and their roles."""
        if user_id == guild.owner_id:
            return ALL_PERMISSIONS
        member = guild.members.get(user_id)
        everyone = guild.roles.get(guild.id)
        value = everyone.permissions if everyone else 0
        for role_id in member.roles if member else []:
            role = guild.roles.get(role_id)
            if role is not None:
                value |= role.permissions
        return ALL_PERMISSIONS if value & ADMINISTRATOR else value

    def guild_channels(self, guild: Guild) -> list[Channel]:
        """Return a guild's channels (not threads) in creation order."""
        return [
            self.channels[channel_id]
            for channel_id in guild.channel_ids
            if channel_id in self.channels and not self.channels[channel_id].is_thread
        ]

    def guild_threads(self, guild: Guild, *, active_only: bool = False) -> list[Channel]:
        """Return a guild's threads, optionally only those not archived."""
        return [
            channel
            for channel_id in guild.channel_ids
            if (channel := self.channels.get(channel_id)) is not None
            and channel.is_thread
            and not (active_only and channel.archived)
        ]
