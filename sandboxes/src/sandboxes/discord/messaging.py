"""Messages and reactions: posting, editing, deleting and reacting, with the checks
Discord makes and the gateway events it sends."""

from __future__ import annotations

import copy
import mimetypes
import re
from typing import Any

from sandboxes.discord import errors as err
from sandboxes.discord.errors import ApiError, FormErrors
from sandboxes.discord.gateway import Gateway
from sandboxes.discord.limits import COMPONENTS_V2, SENDABLE_FLAGS, SUPPRESS_EMBEDS, check_message
from sandboxes.discord.payloads import JSON, Payloads
from sandboxes.discord.snowflakes import parse_snowflake
from sandboxes.discord.state import (
    DM,
    MESSAGEABLE_TYPES,
    Attachment,
    Channel,
    Message,
    Reaction,
    State,
    now,
)

USER_MENTION = re.compile(r"<@!?(\d+)>")
ROLE_MENTION = re.compile(r"<@&(\d+)>")
CUSTOM_EMOJI = re.compile(r"^(a:)?([A-Za-z0-9_]{2,32}):(\d+)$")
MAX_REACTIONS = 20
MANAGE_THREADS = 1 << 34
Files = list[tuple[str, str, bytes]]


def _with_component_ids(components: list[Any]) -> list[Any]:
    """Copy components, numbering each one as Discord does when it has no `id`."""
    counter = 0

    def visit(node: Any) -> Any:
        nonlocal counter
        if isinstance(node, list):
            return [visit(item) for item in node]
        if not isinstance(node, dict):
            return node
        item = dict(node)
        if "type" in item:
            counter += 1
            item.setdefault("id", counter)
        for key in ("components", "component", "accessory"):
            if key in item:
                item[key] = visit(item[key])
        return item

    return visit(copy.deepcopy(components))


def _normalize_embeds(embeds: list[Any]) -> list[dict[str, Any]]:
    """Copy embeds as Discord stores them: typed `rich`, fields with `inline`."""
    result = []
    for raw in embeds:
        embed = copy.deepcopy(raw)
        embed.setdefault("type", "rich")
        embed["content_scan_version"] = 0
        for item in embed.get("fields") or []:
            item.setdefault("inline", False)
        for key in ("image", "thumbnail"):
            if isinstance(embed.get(key), dict) and "url" in embed[key]:
                embed[key].setdefault("proxy_url", embed[key]["url"])
                embed[key].setdefault("width", 0)
                embed[key].setdefault("height", 0)
        result.append(embed)
    return result


class Messaging:
    """Post, edit and delete messages and reactions; dispatch what Discord would."""

    def __init__(self, state: State, payloads: Payloads, gateway: Gateway) -> None:
        self.state = state
        self.payloads = payloads
        self.gateway = gateway

    def _mentions(
        self,
        channel: Channel,
        content: str,
        allowed: dict[str, Any] | None,
        replied: Message | None,
    ) -> tuple[list[int], list[int], bool]:
        """Return who a message mentions, honouring allowed_mentions like Discord."""
        parse = (
            {"users", "roles", "everyone"} if allowed is None else set(allowed.get("parse") or [])
        )
        allowed_users = {parse_snowflake(uid) for uid in (allowed or {}).get("users") or []}
        allowed_roles = {parse_snowflake(rid) for rid in (allowed or {}).get("roles") or []}
        users: list[int] = []
        for match in USER_MENTION.finditer(content):
            uid = int(match.group(1))
            if (
                uid in self.state.users
                and ("users" in parse or uid in allowed_users)
                and uid not in users
            ):
                users.append(uid)
        guild = self.state.guilds.get(channel.guild_id or 0)
        roles: list[int] = []
        for match in ROLE_MENTION.finditer(content):
            rid = int(match.group(1))
            if (
                guild
                and rid in guild.roles
                and ("roles" in parse or rid in allowed_roles)
                and rid not in roles
            ):
                roles.append(rid)
        everyone = "everyone" in parse and ("@everyone" in content or "@here" in content)
        replied_user = allowed is None or bool(allowed.get("replied_user"))
        if replied is not None and replied_user and replied.author_id not in users:
            users.append(replied.author_id)
        return users, roles, everyone

    def _reference(
        self, channel: Channel, data: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, Message | None]:
        """Resolve a message_reference (a reply) or answer 50035 when it points nowhere."""
        raw = data.get("message_reference")
        if raw is None:
            return None, None
        errors = FormErrors()
        if not isinstance(raw, dict):
            errors.add(
                ("message_reference",),
                "DICT_TYPE_CONVERT",
                "Only dictionaries may be used in a DictType",
            )
            errors.raise_if_any()
        target_channel = self.state.channels.get(
            parse_snowflake(raw.get("channel_id")) or channel.id
        )
        message_id = parse_snowflake(raw.get("message_id"))
        target = target_channel.messages.get(message_id or 0) if target_channel else None
        if target is None or target_channel is not channel:
            if raw.get("fail_if_not_exists", True) is False:
                return None, None
            errors.add(
                ("message_reference",), "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message"
            )
            errors.raise_if_any()
        assert target is not None
        reference = {"type": 0, "channel_id": str(channel.id), "message_id": str(target.id)}
        if channel.guild_id is not None:
            reference["guild_id"] = str(channel.guild_id)
        return reference, target

    def check_can_post(self, channel: Channel, author_id: int) -> None:
        """Refuse messages where Discord would: non-text channels, closed threads, closed DMs."""
        if channel.type not in MESSAGEABLE_TYPES:
            raise err.not_text_channel()
        if channel.is_thread:
            if channel.archived and channel.locked:
                raise err.archived_thread()
            if channel.locked and not self._can_manage_threads(channel, author_id):
                raise ApiError(403, 50013, "Missing Permissions")
        if channel.type == DM and author_id == self.state.bot_user_id:
            recipient = self.state.user(channel.recipient_ids[0])
            if recipient.bot or not recipient.accepts_dms:
                raise err.cannot_send_to_user()

    def _can_manage_threads(self, channel: Channel, user_id: int) -> bool:
        """Tell whether a user may post in a locked thread (MANAGE_THREADS or admin)."""
        guild = self.state.guilds.get(channel.guild_id or 0)
        if guild is None:
            return False
        return bool(self.state.member_permissions(guild, user_id) & MANAGE_THREADS)

    def create_message(
        self,
        channel: Channel,
        author_id: int,
        data: dict[str, Any],
        *,
        files: Files | None = None,
        message_id: int | None = None,
        message_type: int | None = None,
        reference: dict[str, Any] | None = None,
        interaction_id: int | None = None,
        ephemeral: bool = False,
        counted: bool = True,
        dispatch: bool = True,
        checked: bool = False,
        extra_flags: int = 0,
    ) -> Message:
        """Validate and post a message; dispatch MESSAGE_CREATE unless it is ephemeral."""
        if interaction_id is None:
            self.check_can_post(channel, author_id)
        elif channel.type not in MESSAGEABLE_TYPES:
            raise err.not_text_channel()
        if not checked:
            errors = FormErrors()
            has_body = check_message(errors, data)
            errors.raise_if_any()
            if not has_body and not files and message_type is None:
                raise err.empty_message()
        ref, replied = (
            (reference, None) if reference is not None else self._reference(channel, data)
        )
        content = data.get("content") or ""
        mentions, roles, everyone = self._mentions(
            channel, content, data.get("allowed_mentions"), replied
        )
        message = Message(
            message_id or self.state.ids.next(),
            channel.id,
            channel.guild_id,
            author_id,
            content=content,
            type=message_type if message_type is not None else (19 if replied else 0),
            embeds=_normalize_embeds(data.get("embeds") or []),
            components=_with_component_ids(data.get("components") or []),
            flags=(int(data.get("flags") or 0) & SENDABLE_FLAGS) | extra_flags,
            tts=bool(data.get("tts", False)),
            reference=ref,
            mention_ids=mentions,
            mention_role_ids=roles,
            mention_everyone=everyone,
            nonce=data.get("nonce"),
            interaction_id=interaction_id,
            ephemeral=ephemeral,
        )
        message.attachments = [
            self._store_attachment(channel, name, kind, body, data, index)
            for index, (name, kind, body) in enumerate(files or [])
        ]
        if interaction_id is not None:
            message.webhook_id = self.state.application_id
        self._log_sent("create", message)
        if ephemeral:
            return message
        self._unarchive_for(channel)
        channel.messages[message.id] = message
        channel.last_message_id = message.id
        if channel.is_thread:
            if counted:
                # A forum post's first message (id = thread id) holds position 0 uncounted.
                message.position = channel.total_message_sent + (channel.id in channel.messages)
                channel.message_count += 1
                channel.total_message_sent += 1
            else:
                message.position = 0
            if author_id not in channel.member_ids:
                channel.member_ids.append(author_id)
        if dispatch:
            self.dispatch_message("MESSAGE_CREATE", message)
        return message

    def _store_attachment(
        self,
        channel: Channel,
        filename: str,
        content_type: str,
        body: bytes,
        data: dict[str, Any],
        index: int,
    ) -> Attachment:
        """Keep an uploaded file, with the description its attachment entry gives."""
        if content_type in ("", "application/octet-stream"):
            # Discord names the type itself from the file (discord.py sends octet-stream).
            guessed = mimetypes.guess_type(filename)[0]
            content_type = guessed or "application/octet-stream"
        if content_type.startswith("text/") and "charset" not in content_type:
            content_type += "; charset=utf-8"
        description = None
        for entry in data.get("attachments") or []:
            if isinstance(entry, dict) and str(entry.get("id")) == str(index):
                description = entry.get("description")
        attachment = Attachment(
            self.state.ids.next(), channel.id, filename, content_type, body, description
        )
        self.state.attachments[attachment.id] = attachment
        return attachment

    def _unarchive_for(self, channel: Channel) -> None:
        """Unarchive a thread someone posts in, as Discord does, telling the bot first."""
        if channel.is_thread and channel.archived and not channel.locked:
            channel.archived = False
            channel.archive_timestamp = now()
            self.gateway.dispatch(
                "THREAD_UPDATE", self.payloads.thread(channel), guild_id=channel.guild_id
            )

    def dispatch_message(self, event: str, message: Message) -> None:
        """Dispatch a MESSAGE_CREATE/UPDATE; content is gated unless the bot may see it."""
        gated = (
            message.guild_id is not None
            and message.author_id != self.state.bot_user_id
            and self.state.bot_user_id not in message.mention_ids
        )
        self.gateway.dispatch(
            event,
            self.payloads.message_event(message),
            guild_id=message.guild_id,
            content_gated=gated,
        )

    def edit_message(
        self,
        channel: Channel,
        message: Message,
        data: dict[str, Any],
        *,
        checked: bool = False,
        files: Files | None = None,
    ) -> Message:
        """Apply an edit (content, embeds, components, flags); dispatch MESSAGE_UPDATE."""
        if not checked:
            errors = FormErrors()
            check_message(errors, data, editing=True)
            errors.raise_if_any()
        if "content" in data:
            message.content = data["content"] or ""
        if "embeds" in data:
            message.embeds = _normalize_embeds(data["embeds"] or [])
        if "components" in data:
            message.components = _with_component_ids(data["components"] or [])
        if "flags" in data and data["flags"] is not None:
            keep = message.flags & ~(SUPPRESS_EMBEDS | COMPONENTS_V2)
            message.flags = keep | (int(data["flags"]) & (SUPPRESS_EMBEDS | COMPONENTS_V2))
        if "attachments" in data and isinstance(data["attachments"], list):
            keep_ids = {
                str(item.get("id")) for item in data["attachments"] if isinstance(item, dict)
            }
            message.attachments = [item for item in message.attachments if str(item.id) in keep_ids]
        # New files join the kept ones, described by their `attachments` entries (id = index).
        message.attachments += [
            self._store_attachment(channel, name, kind, body, data, index)
            for index, (name, kind, body) in enumerate(files or [])
        ]
        if "content" in data or "allowed_mentions" in data:
            replied = None
            if message.type == 19 and message.reference:
                replied = channel.messages.get(int(message.reference.get("message_id") or 0))
            allowed = data.get("allowed_mentions")
            message.mention_ids, message.mention_role_ids, message.mention_everyone = (
                self._mentions(channel, message.content, allowed, replied)
            )
        message.edited_timestamp = now()
        self._log_sent("edit", message)
        if not message.ephemeral:
            self.dispatch_message("MESSAGE_UPDATE", message)
        return message

    def _log_sent(self, action: str, message: Message) -> None:
        """Keep what the bot made a message say, as it was then (later edits replace it)."""
        if message.author_id == self.state.bot_user_id:
            self.state.sent.append({"action": action, **self.payloads.message(message)})

    def delete_message(self, channel: Channel, message: Message) -> None:
        """Delete a message; dispatch MESSAGE_DELETE."""
        if message.ephemeral:
            return
        channel.messages.pop(message.id, None)
        if channel.is_thread and message.id != channel.id and channel.message_count:
            channel.message_count -= 1
        data = {"id": str(message.id), "channel_id": str(channel.id)}
        if channel.guild_id is not None:
            data["guild_id"] = str(channel.guild_id)
        self.gateway.dispatch("MESSAGE_DELETE", data, guild_id=channel.guild_id)

    # Reactions

    def parse_emoji(self, channel: Channel, raw: str) -> Reaction:
        """Parse a URL emoji (`✅` or `name:id`); unknown ones answer 10014 Unknown Emoji."""
        match = CUSTOM_EMOJI.match(raw)
        if match:
            # The sandbox's servers have no custom emojis, so every custom one is unknown.
            raise err.unknown_emoji()
        if not raw or raw.isascii() or len(raw) > 32:
            raise err.unknown_emoji()
        return Reaction(raw)

    def add_reaction(
        self, channel: Channel, message: Message, user_id: int, raw_emoji: str
    ) -> bool:
        """Add a user's reaction; dispatch MESSAGE_REACTION_ADD; False when already there."""
        emoji = self.parse_emoji(channel, raw_emoji)
        reaction = message.reactions.get(emoji.key)
        if reaction is None:
            if len(message.reactions) >= MAX_REACTIONS:
                raise ApiError(400, 30010, "Maximum number of reactions reached (20)")
            reaction = message.reactions[emoji.key] = emoji
        if user_id in reaction.user_ids:
            return False
        reaction.user_ids.append(user_id)
        data = self._reaction_event(channel, message, user_id, reaction)
        data["message_author_id"] = str(message.author_id)
        guild = self.state.guilds.get(channel.guild_id or 0)
        if guild is not None and user_id in guild.members:
            data["member"] = self.payloads.member(guild, guild.members[user_id])
        self.gateway.dispatch("MESSAGE_REACTION_ADD", data, guild_id=channel.guild_id)
        return True

    def remove_reaction(
        self, channel: Channel, message: Message, user_id: int, raw_emoji: str
    ) -> bool:
        """Remove a user's reaction; dispatch MESSAGE_REACTION_REMOVE; False when absent."""
        emoji = self.parse_emoji(channel, raw_emoji)
        reaction = message.reactions.get(emoji.key)
        if reaction is None or user_id not in reaction.user_ids:
            return False
        reaction.user_ids.remove(user_id)
        if not reaction.user_ids:
            del message.reactions[emoji.key]
        data = self._reaction_event(channel, message, user_id, reaction)
        self.gateway.dispatch("MESSAGE_REACTION_REMOVE", data, guild_id=channel.guild_id)
        return True

    def _reaction_event(
        self, channel: Channel, message: Message, user_id: int, reaction: Reaction
    ) -> JSON:
        """Return the common fields of a reaction add/remove event."""
        data: JSON = {
            "user_id": str(user_id),
            "type": 0,
            "message_id": str(message.id),
            "emoji": self.payloads.emoji(reaction),
            "channel_id": str(channel.id),
            "burst": False,
            "burst_colors": [],
        }
        if channel.guild_id is not None:
            data["guild_id"] = str(channel.guild_id)
        return data
