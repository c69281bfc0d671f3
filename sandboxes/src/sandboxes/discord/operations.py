"""Changes to guilds, channels, threads and commands that REST routes and the admin API
share; each one updates state and dispatches the gateway events Discord would send."""

from __future__ import annotations

import copy
from typing import Any

from sandboxes.discord import errors as err
from sandboxes.discord.errors import ApiError, FormErrors
from sandboxes.discord.gateway import Gateway
from sandboxes.discord.limits import (
    AUTO_ARCHIVE_DURATIONS,
    CHANNEL_TOPIC,
    FORUM_TOPIC,
    check_applied_tags,
    check_bool,
    check_channel_name,
    check_choice,
    check_forum_tags,
    check_int,
    check_message,
    check_str,
)
from sandboxes.discord.messaging import Messaging
from sandboxes.discord.overwrites import check_overwrites
from sandboxes.discord.payloads import JSON, Payloads
from sandboxes.discord.snowflakes import parse_snowflake
from sandboxes.discord.state import (
    ANNOUNCEMENT,
    CATEGORY,
    DEFAULT_PERMISSIONS,
    DM,
    FORUM,
    GUILD_TYPES,
    MEDIA,
    PRIVATE_THREAD,
    PUBLIC_THREAD,
    TEXT,
    Channel,
    Command,
    ForumTag,
    Guild,
    Member,
    Message,
    Role,
    State,
    User,
    now,
)

MAX_CHANNELS = 500
THREAD_PARENTS = (TEXT, ANNOUNCEMENT, FORUM, MEDIA)


# Seeded ids stay far below 2**63, so the ids generated after them still fit in 64 bits.
MAX_SEEDED_ID = 1 << 62


class Operations:
    """Changes to guilds, channels, threads and commands, with their gateway events."""

    def __init__(
        self, state: State, payloads: Payloads, gateway: Gateway, messages: Messaging
    ) -> None:
        self.state = state
        self.payloads = payloads
        self.gateway = gateway
        self.messages = messages

    # Users, guilds and members

    def ensure_user(self, spec: dict[str, Any]) -> int:
        """Create or update a user from `{id?, username, locale?, global_name?, accepts_dms?}`."""
        user_id = parse_snowflake(spec.get("id")) if spec.get("id") is not None else None
        if spec.get("id") is not None and user_id is None:
            raise ValueError(f"user id must be a whole number, not {spec.get('id')!r}")
        existing = self.state.users.get(user_id) if user_id is not None else None
        username = spec.get("username") or (existing.username if existing else None)
        if not isinstance(username, str) or not 2 <= len(username) <= 32:
            raise ValueError(f"a user needs a username of 2 to 32 characters, not {username!r}")
        if user_id is None:
            user_id = self.state.ids.next()
        elif existing is None:
            self._check_free_id(user_id)
            # Generated ids all come after it, so none can ever equal a seeded user's id.
            self.state.ids.reserve(user_id)
        if existing is None:
            existing = User(user_id, username)
            self.state.users[user_id] = existing
        existing.username = username
        for key in ("global_name", "locale", "bot", "accepts_dms"):
            if key in spec:
                setattr(existing, key, spec[key])
        return user_id

    def _check_free_id(self, user_id: int) -> None:
        """Refuse a seeded user id that another object holds, or that is no snowflake."""
        if not 0 < user_id < MAX_SEEDED_ID:
            raise ValueError(f"user id {user_id} is not a snowflake the sandbox can seed")
        state = self.state
        taken = (
            user_id in (state.application_id, state.bot_user_id)
            or user_id in state.guilds
            or user_id in state.channels
            or user_id in state.commands
            or user_id in state.attachments
            or any(user_id in guild.roles for guild in state.guilds.values())
            or any(user_id in channel.messages for channel in state.channels.values())
        )
        if taken:
            raise ValueError(f"id {user_id} already belongs to another object")

    def create_guild(
        self,
        name: str,
        channels: list[dict[str, Any]],
        members: list[dict[str, Any]],
        roles: list[dict[str, Any]],
        locale: str = "en-US",
    ) -> Guild:
        """Create a guild the bot is in, with roles, channels and members; dispatch it.

        The owner (who holds every permission) is the member marked `"owner": true`, else
        the bot, so that members get only what their roles give them.
        """
        if not isinstance(name, str) or not 2 <= len(name) <= 100:
            raise ValueError("a guild name must have 2 to 100 characters")
        guild_id = self.state.ids.next()
        member_ids = [self.ensure_user(spec) for spec in members]
        owners = [uid for spec, uid in zip(members, member_ids, strict=True) if spec.get("owner")]
        if len(owners) > 1:
            raise ValueError("a guild has one owner")
        owner_id = owners[0] if owners else self.state.bot_user_id
        guild = Guild(guild_id, name, owner_id, preferred_locale=locale)
        guild.roles[guild_id] = Role(guild_id, "@everyone", DEFAULT_PERMISSIONS)
        by_name: dict[str, int] = {}
        for position, spec in enumerate(roles, start=1):
            role_id = self.state.ids.next()
            permissions = int(spec.get("permissions", 0))
            guild.roles[role_id] = Role(
                role_id,
                str(spec["name"]),
                permissions,
                position=position,
                color=int(spec.get("color", 0)),
                mentionable=bool(spec.get("mentionable", False)),
                hoist=bool(spec.get("hoist", False)),
            )
            by_name[str(spec["name"]).lower()] = role_id
        bot_role = self.state.ids.next()
        guild.roles[bot_role] = Role(
            bot_role,
            self.state.bot_name,
            1 << 3,
            position=len(roles) + 1,
            managed=True,
            bot_id=self.state.bot_user_id,
        )
        joined = now()
        guild.members[self.state.bot_user_id] = Member(self.state.bot_user_id, joined, [bot_role])
        for spec, user_id in zip(members, member_ids, strict=True):
            role_ids = []
            for role in spec.get("roles") or []:
                role_id = by_name.get(str(role).lower()) or parse_snowflake(role)
                if role_id not in guild.roles:
                    raise ValueError(f"member {user_id} names an unknown role {role!r}")
                role_ids.append(role_id)
            guild.members[user_id] = Member(user_id, joined, role_ids, nick=spec.get("nick"))
        self.state.guilds[guild_id] = guild
        try:
            self._create_channels(guild, channels)
        except BaseException:
            # All or nothing: a bad channel spec leaves no half-built guild behind.
            for channel_id in guild.channel_ids:
                self.state.channels.pop(channel_id, None)
            del self.state.guilds[guild_id]
            raise
        self.gateway.dispatch_guild_create(guild_id)
        return guild

    def _create_channels(self, guild: Guild, channels: list[dict[str, Any]]) -> None:
        """Create a new guild's channels from `{name, type, parent?, ...}` specs."""
        categories: dict[str, int] = {}
        # Categories first, so channels can name their parent whatever the listing order.
        ordered = sorted(channels, key=lambda spec: spec.get("type", TEXT) != CATEGORY)
        for spec in ordered:
            data = {key: value for key, value in spec.items() if key != "parent"}
            parent = spec.get("parent")
            if parent is not None:
                parent_id = categories.get(str(parent)) or parse_snowflake(parent)
                if parent_id is None:
                    raise ValueError(f"channel {spec.get('name')!r} names an unknown category")
                data["parent_id"] = parent_id
            try:
                channel = self.create_channel(
                    guild, self.check_new_channel(guild, data), dispatch=False
                )
            except ApiError as error:
                raise ValueError(f"channel {spec!r}: {error.errors or error.message}") from error
            if channel.type == CATEGORY:
                categories[str(channel.name)] = channel.id
            if channel.type == TEXT and guild.system_channel_id is None:
                guild.system_channel_id = channel.id

    # Channels

    def check_new_channel(self, guild: Guild, data: dict[str, Any]) -> dict[str, Any]:
        """Validate a POST /guilds/{id}/channels body; return it with parsed values."""
        errors = FormErrors()
        check_channel_name(errors, data, (), required=True)
        kind = check_choice(errors, data, "type", (), GUILD_TYPES)
        kind = TEXT if kind is None else kind
        check_str(
            errors, data, "topic", (), high=FORUM_TOPIC if kind in (FORUM, MEDIA) else CHANNEL_TOPIC
        )
        check_int(errors, data, "position", ())
        check_bool(errors, data, "nsfw", ())
        check_choice(errors, data, "default_auto_archive_duration", (), AUTO_ARCHIVE_DURATIONS)
        tags = data.get("available_tags")
        if tags is not None:
            if kind not in (FORUM, MEDIA):
                errors.add(
                    ("available_tags",), "CHANNEL_TYPE_INVALID", "Only forum channels have tags"
                )
            else:
                check_forum_tags(errors, tags, ("available_tags",))
        parent_id = data.get("parent_id")
        if parent_id is not None:
            parent = self.state.channels.get(parse_snowflake(parent_id) or 0)
            if parent is None or parent.guild_id != guild.id or parent.type != CATEGORY:
                errors.add(("parent_id",), "CHANNEL_PARENT_INVALID", "Invalid parent channel")
            elif kind == CATEGORY:
                errors.add(
                    ("parent_id",), "CHANNEL_PARENT_INVALID", "Categories cannot have parents"
                )
        data["permission_overwrites"] = check_overwrites(
            errors, data.get("permission_overwrites"), ("permission_overwrites",)
        )
        if len(self.state.guild_channels(guild)) >= MAX_CHANNELS:
            raise ApiError(400, 30013, "Maximum number of guild channels reached (500)")
        errors.raise_if_any()
        return {**data, "type": kind}

    def _tags(self, raw_tags: list[dict[str, Any]], existing: list[ForumTag]) -> list[ForumTag]:
        """Build a forum's tags, keeping the ids of tags named by id."""
        known = {tag.id: tag for tag in existing}
        tags = []
        for raw in raw_tags:
            tag_id = parse_snowflake(raw.get("id"))
            tag = known.get(tag_id or 0) or ForumTag(self.state.ids.next(), str(raw["name"]))
            tag.name = str(raw["name"])
            tag.moderated = bool(raw.get("moderated", False))
            tag.emoji_id = parse_snowflake(raw.get("emoji_id"))
            tag.emoji_name = raw.get("emoji_name")
            tags.append(tag)
        return tags

    def create_channel(
        self, guild: Guild, data: dict[str, Any], *, dispatch: bool = True
    ) -> Channel:
        """Create a guild channel from a checked body; dispatch CHANNEL_CREATE."""
        kind = data.get("type", TEXT)
        siblings = [c for c in self.state.guild_channels(guild) if c.type == kind]
        channel = Channel(
            self.state.ids.next(),
            kind,
            name=data["name"],
            guild_id=guild.id,
            position=data.get("position") if data.get("position") is not None else len(siblings),
            parent_id=parse_snowflake(data.get("parent_id")),
            topic=data.get("topic"),
            nsfw=bool(data.get("nsfw", False)),
            rate_limit_per_user=int(data.get("rate_limit_per_user") or 0),
            default_auto_archive_duration=data.get("default_auto_archive_duration") or 1440,
            permission_overwrites=list(data.get("permission_overwrites") or []),
        )
        if kind in (FORUM, MEDIA):
            channel.available_tags = self._tags(data.get("available_tags") or [], [])
        self.state.channels[channel.id] = channel
        guild.channel_ids.append(channel.id)
        if dispatch:
            self.gateway.dispatch(
                "CHANNEL_CREATE", self.payloads.channel(channel), guild_id=guild.id
            )
        return channel

    def update_channel(self, channel: Channel, data: dict[str, Any]) -> Channel:
        """Apply a PATCH /channels/{id} body to a guild channel or a thread."""
        if channel.type == DM:
            raise err.wrong_channel_type()
        if channel.is_thread:
            return self._update_thread(channel, data)
        errors = FormErrors()
        check_channel_name(errors, data, (), required=False)
        big = channel.type in (FORUM, MEDIA)
        check_str(errors, data, "topic", (), high=FORUM_TOPIC if big else CHANNEL_TOPIC)
        check_int(errors, data, "position", ())
        check_bool(errors, data, "nsfw", ())
        check_choice(errors, data, "default_auto_archive_duration", (), AUTO_ARCHIVE_DURATIONS)
        if "available_tags" in data:
            if not big:
                errors.add(
                    ("available_tags",), "CHANNEL_TYPE_INVALID", "Only forum channels have tags"
                )
            else:
                check_forum_tags(errors, data["available_tags"], ("available_tags",))
        if "type" in data and {channel.type, data["type"]} - {TEXT, ANNOUNCEMENT}:
            errors.add(
                ("type",), "CHANNEL_TYPE_INVALID", "Only text and announcement channels convert"
            )
        errors.raise_if_any()
        for key in ("name", "topic", "position", "nsfw", "default_auto_archive_duration", "type"):
            if key in data and data[key] is not None:
                setattr(channel, key, data[key])
        if "topic" in data and data["topic"] is None:
            channel.topic = None
        if "rate_limit_per_user" in data:
            channel.rate_limit_per_user = int(data["rate_limit_per_user"] or 0)
        if "parent_id" in data:
            channel.parent_id = parse_snowflake(data["parent_id"])
        if "available_tags" in data:
            channel.available_tags = self._tags(data["available_tags"], channel.available_tags)
        if "default_reaction_emoji" in data:
            channel.default_reaction_emoji = data["default_reaction_emoji"]
        self.gateway.dispatch(
            "CHANNEL_UPDATE", self.payloads.channel(channel), guild_id=channel.guild_id
        )
        return channel

    def _update_thread(self, thread: Channel, data: dict[str, Any]) -> Channel:
        """Rename, archive, lock or retag a thread; dispatch THREAD_UPDATE."""
        errors = FormErrors()
        check_channel_name(errors, data, (), required=False)
        for key in ("archived", "locked", "invitable"):
            check_bool(errors, data, key, ())
        check_choice(errors, data, "auto_archive_duration", (), AUTO_ARCHIVE_DURATIONS)
        tags = None
        if "applied_tags" in data:
            parent = self.state.channels.get(thread.parent_id or 0)
            if parent is None or parent.type not in (FORUM, MEDIA):
                errors.add(("applied_tags",), "CHANNEL_TYPE_INVALID", "Only forum posts have tags")
            else:
                known = {tag.id for tag in parent.available_tags}
                tags = check_applied_tags(
                    errors, data["applied_tags"] or [], known, ("applied_tags",)
                )
        errors.raise_if_any()
        if (
            thread.archived
            and data.get("archived") is not False
            and set(data) - {"archived", "locked"}
        ):
            # An archived thread must be unarchived before anything else about it changes.
            raise err.archived_thread()
        if data.get("name") is not None:
            thread.name = data["name"]
        if data.get("auto_archive_duration") is not None:
            thread.auto_archive_duration = data["auto_archive_duration"]
        if data.get("locked") is not None:
            thread.locked = data["locked"]
        if data.get("invitable") is not None and thread.type == PRIVATE_THREAD:
            thread.invitable = data["invitable"]
        if "rate_limit_per_user" in data:
            thread.rate_limit_per_user = int(data["rate_limit_per_user"] or 0)
        if "flags" in data and isinstance(data["flags"], int):
            thread.flags = data["flags"] & 2  # only PINNED can be set on a thread
        if tags is not None:
            thread.applied_tags = tags
        if data.get("archived") is not None and data["archived"] != thread.archived:
            thread.archived = data["archived"]
            thread.archive_timestamp = now()
        self.gateway.dispatch(
            "THREAD_UPDATE", self.payloads.thread(thread), guild_id=thread.guild_id
        )
        return thread

    def delete_channel(self, channel: Channel) -> JSON:
        """Delete a channel (and its threads) or a thread; dispatch the deletes."""
        if channel.type == DM:
            raise err.wrong_channel_type()
        payload = self.payloads.channel(channel)
        guild = self.state.guild(channel.guild_id or 0)
        for thread in self.state.guild_threads(guild):
            if thread.parent_id == channel.id:
                self.delete_channel(thread)
        self.state.channels.pop(channel.id, None)
        guild.channel_ids.remove(channel.id)
        if channel.is_thread:
            data = {
                "id": str(channel.id),
                "guild_id": str(channel.guild_id),
                "parent_id": str(channel.parent_id),
                "type": channel.type,
            }
            self.gateway.dispatch("THREAD_DELETE", data, guild_id=channel.guild_id)
        else:
            self.gateway.dispatch("CHANNEL_DELETE", payload, guild_id=channel.guild_id)
        return payload

    def open_dm(self, user_id: int) -> Channel:
        """Return the bot's DM channel with a user, creating it once."""
        user = self.state.user(user_id)
        if user.id == self.state.bot_user_id:
            raise ApiError(400, 50007, "Cannot send messages to this user")
        channel_id = self.state.dm_channels.get(user_id)
        if channel_id is not None:
            return self.state.channel(channel_id)
        channel = Channel(self.state.ids.next(), DM, recipient_ids=[user_id])
        self.state.channels[channel.id] = channel
        self.state.dm_channels[user_id] = channel.id
        return channel

    # Threads

    def check_new_thread(
        self, parent: Channel, data: dict[str, Any], *, from_message: bool
    ) -> dict[str, Any]:
        """Validate a thread creation body for a forum post, a message or a text channel."""
        if parent.type not in THREAD_PARENTS:
            raise err.wrong_channel_type()
        forum = parent.type in (FORUM, MEDIA)
        errors = FormErrors()
        check_channel_name(errors, data, (), required=True)
        check_choice(errors, data, "auto_archive_duration", (), AUTO_ARCHIVE_DURATIONS)
        if not forum and not from_message:
            kind = check_choice(errors, data, "type", (), (10, PUBLIC_THREAD, PRIVATE_THREAD))
            if kind is None and data.get("type") is None:
                # Discord's default for a thread without a message is a private thread.
                kind = PRIVATE_THREAD
            data = {**data, "type": kind}
        else:
            data = {**data, "type": PUBLIC_THREAD}
        if forum:
            known = {tag.id for tag in parent.available_tags}
            data["applied_tags"] = check_applied_tags(
                errors, data.get("applied_tags") or [], known, ("applied_tags",)
            )
            message = data.get("message")
            if message is None:
                errors.add(("message",), "BASE_TYPE_REQUIRED", "This field is required")
            elif not isinstance(message, dict):
                errors.add(
                    ("message",), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType"
                )
            elif not check_message(errors, message, ("message",)) and not errors:
                raise err.empty_message()
        elif data.get("applied_tags"):
            errors.add(("applied_tags",), "CHANNEL_TYPE_INVALID", "Only forum posts have tags")
        errors.raise_if_any()
        return data

    def create_thread(
        self,
        parent: Channel,
        owner_id: int,
        data: dict[str, Any],
        *,
        starter: Message | None = None,
        files: list[tuple[str, str, bytes]] | None = None,
    ) -> tuple[Channel, Message | None]:
        """Create a thread from a checked body: a forum post with its first message, a
        thread on a message, or a thread in a text channel; dispatch THREAD_CREATE."""
        guild = self.state.guild(parent.guild_id or 0)
        if starter is not None:
            if starter.thread_id is not None:
                raise err.thread_already_created()
            thread_id = starter.id  # a message's thread shares the message's id
        else:
            thread_id = self.state.ids.next()
        thread = Channel(
            thread_id,
            data["type"],
            name=data["name"],
            guild_id=guild.id,
            parent_id=parent.id,
            owner_id=owner_id,
            applied_tags=list(data.get("applied_tags") or []),
            auto_archive_duration=data.get("auto_archive_duration")
            or parent.default_auto_archive_duration,
            rate_limit_per_user=int(data.get("rate_limit_per_user") or 0),
            invitable=data.get("invitable", True) is not False,
            member_ids=[owner_id],
        )
        self.state.channels[thread.id] = thread
        guild.channel_ids.append(thread.id)
        if starter is not None:
            starter.thread_id = thread.id
        event = self.payloads.thread(thread) | {"newly_created": True}
        self.gateway.dispatch("THREAD_CREATE", event, guild_id=guild.id)
        first = None
        if parent.type in (FORUM, MEDIA):
            parent.last_message_id = thread.id
            # The post's first message has the thread's id and is not counted in message_count.
            first = self.messages.create_message(
                thread, owner_id, data["message"], files=files, message_id=thread.id, counted=False
            )
        elif starter is None and thread.type == PUBLIC_THREAD:
            notice = {"content": thread.name}
            self.messages.create_message(
                parent,
                owner_id,
                notice,
                message_type=18,
                reference={"channel_id": str(thread.id), "guild_id": str(guild.id)},
            )
        return thread, first

    # Commands

    def overwrite_commands(
        self, guild_id: int | None, commands: list[dict[str, Any]]
    ) -> list[Command]:
        """Replace the global or a guild's commands; same name and type keeps the id."""
        existing = {
            (command.type, command.name): command
            for command in self.state.commands.values()
            if command.guild_id == guild_id
        }
        for command in existing.values():
            del self.state.commands[command.id]
        result = []
        for raw in commands:
            command = self._command(
                guild_id, raw, existing.get((raw.get("type") or 1, raw["name"]))
            )
            self.state.commands[command.id] = command
            result.append(command)
        return result

    def upsert_command(self, guild_id: int | None, raw: dict[str, Any]) -> tuple[Command, bool]:
        """Create or replace one command by name and type; tell whether it is new."""
        key = (raw.get("type") or 1, raw["name"])
        old = next(
            (
                c
                for c in self.state.commands.values()
                if c.guild_id == guild_id and (c.type, c.name) == key
            ),
            None,
        )
        command = self._command(guild_id, raw, old)
        self.state.commands[command.id] = command
        return command, old is None

    def _command(self, guild_id: int | None, raw: dict[str, Any], old: Command | None) -> Command:
        """Build a command from a checked body, keeping an older one's id (and version if same)."""
        kind = raw.get("type") or 1
        command = Command(
            old.id if old else self.state.ids.next(),
            self.state.application_id,
            guild_id,
            raw["name"],
            kind,
            version=0,
            description=raw.get("description") or "",
            options=copy.deepcopy(raw.get("options") or []),
            default_member_permissions=(
                None
                if raw.get("default_member_permissions") is None
                else str(raw["default_member_permissions"])
            ),
            dm_permission=raw.get("dm_permission") is not False,
            contexts=raw.get("contexts"),
            integration_types=raw.get("integration_types") or [0],
            nsfw=bool(raw.get("nsfw", False)),
            name_localizations=raw.get("name_localizations"),
            description_localizations=raw.get("description_localizations"),
        )
        same = old is not None and {**vars(old), "version": 0} == {**vars(command), "version": 0}
        command.version = old.version if same and old is not None else self.state.ids.next()
        return command
