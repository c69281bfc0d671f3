"""Discord's JSON shapes of the sandbox's objects, as the REST API and the gateway send them."""

from __future__ import annotations

from typing import Any

from sandboxes.discord.snowflakes import to_str
from sandboxes.discord.state import (
    ALL_PERMISSIONS,
    CATEGORY,
    DM,
    FORUM,
    MEDIA,
    PRIVATE_THREAD,
    Attachment,
    Channel,
    Command,
    ForumTag,
    Guild,
    Interaction,
    Member,
    Message,
    Reaction,
    Role,
    State,
    User,
    iso,
)

JSON = dict[str, Any]

# Each privileged gateway intent and the application flag that grants it, for a bot in
# fewer than 100 servers: GATEWAY_PRESENCE_LIMITED, GATEWAY_GUILD_MEMBERS_LIMITED and
# GATEWAY_MESSAGE_CONTENT_LIMITED (a verified bot gets the flag one bit lower instead).
INTENT_FLAGS = {1 << 8: 1 << 13, 1 << 1: 1 << 15, 1 << 15: 1 << 19}


class Payloads:
    """Render state objects as Discord's API objects."""

    def __init__(self, state: State, base_url: str = "", privileged_intents: int = 0) -> None:
        self.state = state
        self.base_url = base_url
        # The privileged intents the application has enabled, shown in its `flags`.
        self.privileged_intents = privileged_intents

    # Users and members

    def user(self, user: User) -> JSON:
        """Return a user object (UserResponse)."""
        data: JSON = {
            "id": str(user.id),
            "username": user.username,
            "avatar": None,
            "discriminator": "0000" if user.bot else "0",
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "global_name": user.global_name,
            "avatar_decoration_data": None,
            "collectibles": None,
            "primary_guild": None,
        }
        if user.bot:
            data["bot"] = True
        return data

    def current_user(self) -> JSON:
        """Return the bot's own user with its private fields (UserPIIResponse)."""
        return {
            **self.user(self.state.bot),
            "mfa_enabled": False,
            "locale": "en-US",
            "premium_type": 0,
            "email": None,
            "verified": True,
        }

    def member(self, guild: Guild, member: Member, *, with_user: bool = True) -> JSON:
        """Return a guild member object, with its user unless it accompanies a message."""
        data: JSON = {
            "avatar": None,
            "banner": None,
            "communication_disabled_until": None,
            "flags": 0,
            "joined_at": iso(member.joined_at),
            "nick": member.nick,
            "pending": False,
            "premium_since": None,
            "roles": [str(role) for role in member.roles],
            "mute": False,
            "deaf": False,
        }
        if with_user:
            data["user"] = self.user(self.state.user(member.user_id))
        return data

    def role(self, role: Role) -> JSON:
        """Return a role object."""
        data: JSON = {
            "id": str(role.id),
            "name": role.name,
            "permissions": str(role.permissions),
            "position": role.position,
            "color": role.color,
            "colors": {
                "primary_color": role.color,
                "secondary_color": None,
                "tertiary_color": None,
            },
            "hoist": role.hoist,
            "managed": role.managed,
            "mentionable": role.mentionable,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }
        if role.bot_id is not None:
            data["tags"] = {"bot_id": str(role.bot_id)}
        return data

    # Application

    def application(self) -> JSON:
        """Return the bot's application (PrivateApplicationResponse)."""
        bot = self.state.bot
        owner = self.user(self.state.user(self.state.owner_user_id))
        return {
            "id": str(self.state.application_id),
            "name": bot.username,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "bot": self.user(bot),
            "bot_public": False,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": self.application_flags(),
            "flags_new": str(self.application_flags()),
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "role_connections_verification_url": None,
            "event_webhooks_url": None,
            "owner": owner,
            "team": None,
            "approximate_guild_count": len(self.state.guilds),
            "approximate_user_install_count": 0,
            "approximate_user_authorization_count": 0,
            "explicit_content_filter": 0,
            "eligible_oauth2_scopes": ["bot", "applications.commands"],
            "integration_types_config": {"0": {}},
            "tags": [],
            "rpc_origins": [],
            "hook": True,
            "is_monetized": False,
            "storefront_available": False,
        }

    # Guilds

    def guild(self, guild: Guild, *, with_counts: bool = False) -> JSON:
        """Return a guild object as GET /guilds/{id} answers it."""
        data: JSON = {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "description": guild.description,
            "home_header": None,
            "splash": None,
            "discovery_splash": None,
            "features": [],
            "banner": None,
            "owner_id": str(guild.owner_id),
            "application_id": None,
            "region": "deprecated",
            "afk_channel_id": None,
            "afk_timeout": 300,
            "system_channel_id": to_str(guild.system_channel_id),
            "system_channel_flags": 0,
            "widget_enabled": False,
            "widget_channel_id": None,
            "verification_level": 0,
            "roles": [self.role(role) for role in guild.roles.values()],
            "default_message_notifications": 1,
            "mfa_level": 0,
            "explicit_content_filter": 0,
            "max_presences": None,
            "max_members": 500000,
            "max_stage_video_channel_users": 50,
            "max_video_channel_users": 25,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": guild.preferred_locale,
            "rules_channel_id": None,
            "safety_alerts_channel_id": None,
            "public_updates_channel_id": None,
            "premium_progress_bar_enabled": False,
            "nsfw": False,
            "nsfw_level": 0,
            "emojis": [],
            "stickers": [],
            "incidents_data": None,
        }
        if with_counts:
            data["approximate_member_count"] = len(guild.members)
            data["approximate_presence_count"] = 0
        return data

    def guild_create(self, guild: Guild, *, all_members: bool, joined: bool = False) -> JSON:
        """Return the GUILD_CREATE payload: the guild with channels, threads and members.

        Without the GUILD_MEMBERS intent Discord sends only the bot's own member, and
        `member_count` always counts everyone. A guild the bot just joined carries no
        `unavailable` (discord.py tells a join from a guild becoming available by it).
        """
        members = [
            member
            for member in guild.members.values()
            if all_members or member.user_id == self.state.bot_user_id
        ]
        data: JSON = {
            **self.guild(guild),
            "joined_at": iso(guild.members[self.state.bot_user_id].joined_at),
            "large": False,
            "unavailable": False,
            "lazy": True,
            "member_count": len(guild.members),
            "members": [self.member(guild, member) for member in members],
            "channels": [self.channel(channel) for channel in self.state.guild_channels(guild)],
            "threads": [
                self.channel(thread) for thread in self.state.guild_threads(guild, active_only=True)
            ],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "embedded_activities": [],
            "activity_instances": [],
            "application_command_counts": {},
            "hub_type": None,
        }
        if joined:
            del data["unavailable"]
        return data

    # Channels

    def forum_tag(self, tag: ForumTag) -> JSON:
        """Return a forum tag object."""
        return {
            "id": str(tag.id),
            "name": tag.name,
            "moderated": tag.moderated,
            "emoji_id": to_str(tag.emoji_id),
            "emoji_name": tag.emoji_name,
        }

    def channel(self, channel: Channel) -> JSON:
        """Return a channel object of any type: guild channel, thread or DM."""
        if channel.type == DM:
            return {
                "id": str(channel.id),
                "type": DM,
                "last_message_id": to_str(channel.last_message_id),
                "flags": 0,
                "last_pin_timestamp": None,
                "recipients": [self.user(self.state.user(uid)) for uid in channel.recipient_ids],
            }
        if channel.is_thread:
            return self.thread(channel)
        data: JSON = {
            "id": str(channel.id),
            "type": channel.type,
            "guild_id": str(channel.guild_id),
            "name": channel.name,
            "position": channel.position,
            "flags": channel.flags,
            "parent_id": to_str(channel.parent_id),
            "permission_overwrites": [
                {
                    "id": str(overwrite["id"]),
                    "type": overwrite["type"],
                    "allow": str(overwrite["allow"]),
                    "deny": str(overwrite["deny"]),
                }
                for overwrite in channel.permission_overwrites
            ],
            "nsfw": channel.nsfw,
        }
        if channel.type == CATEGORY:
            return data
        data.update(
            {
                "last_message_id": to_str(channel.last_message_id),
                "last_pin_timestamp": None,
                "topic": channel.topic,
                "rate_limit_per_user": channel.rate_limit_per_user,
                "default_auto_archive_duration": channel.default_auto_archive_duration,
                "default_thread_rate_limit_per_user": 0,
            }
        )
        if channel.type in (FORUM, MEDIA):
            data.update(
                {
                    "available_tags": [self.forum_tag(tag) for tag in channel.available_tags],
                    "default_reaction_emoji": channel.default_reaction_emoji,
                    "default_sort_order": None,
                    "default_forum_layout": 0,
                    "default_tag_setting": "match_some",
                    "template": "",
                }
            )
        return data

    def thread(self, thread: Channel) -> JSON:
        """Return a thread channel object with its metadata (and the bot's membership)."""
        metadata: JSON = {
            "archived": thread.archived,
            "archive_timestamp": iso(thread.archive_timestamp or thread.created_at),
            "auto_archive_duration": thread.auto_archive_duration,
            "locked": thread.locked,
            "create_timestamp": iso(thread.created_at),
        }
        if thread.type == PRIVATE_THREAD:
            metadata["invitable"] = thread.invitable
        data: JSON = {
            "id": str(thread.id),
            "type": thread.type,
            "guild_id": str(thread.guild_id),
            "parent_id": to_str(thread.parent_id),
            "owner_id": str(thread.owner_id),
            "name": thread.name,
            "last_message_id": to_str(thread.last_message_id),
            "last_pin_timestamp": None,
            "rate_limit_per_user": thread.rate_limit_per_user,
            "flags": thread.flags,
            "message_count": thread.message_count,
            "member_count": min(len(thread.member_ids), 50),
            "total_message_sent": thread.total_message_sent,
            "thread_metadata": metadata,
        }
        parent = self.state.channels.get(thread.parent_id or 0)
        if parent is not None and parent.type in (FORUM, MEDIA):
            data["applied_tags"] = [str(tag) for tag in thread.applied_tags]
        if self.state.bot_user_id in thread.member_ids:
            data["member"] = self.thread_member(thread, self.state.bot_user_id)
        return data

    def thread_member(self, thread: Channel, user_id: int) -> JSON:
        """Return a thread member object."""
        return {
            "id": str(thread.id),
            "user_id": str(user_id),
            "join_timestamp": iso(thread.created_at),
            "flags": 1 if user_id == self.state.bot_user_id else 0,
        }

    def interaction_channel(self, channel: Channel, permissions: int) -> JSON:
        """Return the partial channel an interaction carries, with the user's permissions."""
        return {**self.channel(channel), "permissions": str(permissions)}

    # Messages

    def attachment(self, attachment: Attachment) -> JSON:
        """Return an attachment object with a URL the sandbox serves."""
        path = f"{attachment.channel_id}/{attachment.id}/{attachment.filename}"
        url = f"{self.base_url}/attachments/{path}"
        data: JSON = {
            "id": str(attachment.id),
            "filename": attachment.filename,
            "size": len(attachment.data),
            "url": url,
            "proxy_url": url,
            "content_type": attachment.content_type,
        }
        if attachment.description is not None:
            data["description"] = attachment.description
        return data

    def emoji(self, reaction: Reaction) -> JSON:
        """Return the partial emoji of a reaction."""
        data: JSON = {"id": to_str(reaction.emoji_id), "name": reaction.emoji_name}
        if reaction.emoji_id is not None:
            data["animated"] = reaction.animated
        return data

    def reaction(self, reaction: Reaction) -> JSON:
        """Return a message's reaction summary, as seen by the bot."""
        return {
            "emoji": self.emoji(reaction),
            "count": len(reaction.user_ids),
            "count_details": {"burst": 0, "normal": len(reaction.user_ids)},
            "burst_colors": [],
            "me_burst": False,
            "burst_me": False,
            "me": self.state.bot_user_id in reaction.user_ids,
            "burst_count": 0,
        }

    def message(self, message: Message, *, referenced: bool = True) -> JSON:
        """Return a message object as the REST API answers it."""
        author = self.state.user(message.author_id)
        data: JSON = {
            "type": message.type,
            "content": message.content,
            "mentions": [self.user(self.state.user(uid)) for uid in message.mention_ids],
            "mention_roles": [str(role) for role in message.mention_role_ids],
            "attachments": [self.attachment(item) for item in message.attachments],
            "embeds": message.embeds,
            "timestamp": iso(message.timestamp),
            "edited_timestamp": iso(message.edited_timestamp),
            "flags": message.flags,
            "components": message.components,
            "id": str(message.id),
            "channel_id": str(message.channel_id),
            "author": self.user(author),
            "pinned": message.pinned,
            "mention_everyone": message.mention_everyone,
            "tts": message.tts,
        }
        if message.reactions:
            data["reactions"] = [self.reaction(item) for item in message.reactions.values()]
        if message.nonce is not None:
            data["nonce"] = message.nonce
        if message.position is not None:
            data["position"] = message.position
        if message.reference is not None:
            data["message_reference"] = message.reference
            if referenced and message.type == 19:
                target = self._referenced(message)
                data["referenced_message"] = (
                    None if target is None else self.message(target, referenced=False)
                )
        if message.webhook_id is not None:
            data["webhook_id"] = str(message.webhook_id)
            data["application_id"] = str(self.state.application_id)
        if message.interaction_id is not None:
            self._add_interaction(data, message.interaction_id)
        if message.thread_id is not None and message.thread_id in self.state.channels:
            data["thread"] = self.thread(self.state.channels[message.thread_id])
        return data

    def _referenced(self, message: Message) -> Message | None:
        """Return the message a reply points at, if it still exists."""
        reference = message.reference or {}
        channel = self.state.channels.get(int(reference.get("channel_id") or 0))
        if channel is None:
            return None
        return channel.messages.get(int(reference.get("message_id") or 0))

    def _add_interaction(self, data: JSON, interaction_id: int) -> None:
        """Add the `interaction` and `interaction_metadata` of an interaction's response."""
        interaction = self.state.interactions.get(interaction_id)
        if interaction is None:
            return
        user = self.user(self.state.user(interaction.user_id))
        data["interaction_metadata"] = self._interaction_metadata(interaction, int(data["id"]))
        if interaction.type == 2:
            data["interaction"] = {
                "id": str(interaction.id),
                "type": interaction.type,
                "name": interaction.name,
                "user": user,
            }

    def _interaction_metadata(self, interaction: Interaction, message_id: int | None) -> JSON:
        """Return a message's `interaction_metadata`; a modal submit's names its trigger."""
        metadata: JSON = {
            "id": str(interaction.id),
            "type": interaction.type,
            "user": self.user(self.state.user(interaction.user_id)),
            "authorizing_integration_owners": {"0": str(interaction.guild_id or 0)},
        }
        if interaction.original_id is not None and interaction.original_id != message_id:
            metadata["original_response_message_id"] = str(interaction.original_id)
        if interaction.type == 3 and interaction.message_id is not None:
            metadata["interacted_message_id"] = str(interaction.message_id)
        command = (interaction.payload.get("data") or {}) if interaction.type == 2 else {}
        target = command.get("target_id")
        if command.get("type") == 3 and target is not None:
            metadata["target_message_id"] = str(target)
        elif command.get("type") == 2 and int(target or 0) in self.state.users:
            metadata["target_user"] = self.user(self.state.users[int(target)])
        trigger = self.state.interactions.get(interaction.trigger_id or 0)
        if interaction.type == 5 and trigger is not None:
            # Discord requires it on a modal submit: the command or click that opened it.
            metadata["triggering_interaction_metadata"] = self._interaction_metadata(trigger, None)
        return metadata

    def message_event(self, message: Message) -> JSON:
        """Return a MESSAGE_CREATE/UPDATE payload: the message plus guild_id and member."""
        data = self.message(message)
        if message.guild_id is not None:
            data["guild_id"] = str(message.guild_id)
            guild = self.state.guilds.get(message.guild_id)
            member = guild.members.get(message.author_id) if guild else None
            if guild is not None and member is not None and message.webhook_id is None:
                data["member"] = self.member(guild, member, with_user=False)
        return data

    # Commands

    def command(self, command: Command) -> JSON:
        """Return an application command object."""
        data: JSON = {
            "id": str(command.id),
            "application_id": str(command.application_id),
            "version": str(command.version),
            "default_member_permissions": command.default_member_permissions,
            "type": command.type,
            "name": command.name,
            "name_localizations": command.name_localizations,
            "description": command.description,
            "description_localizations": command.description_localizations,
            "dm_permission": command.dm_permission,
            "contexts": command.contexts,
            "integration_types": command.integration_types,
            "nsfw": command.nsfw,
        }
        if command.options:
            data["options"] = command.options
        if command.guild_id is not None:
            data["guild_id"] = str(command.guild_id)
        return data

    # Gateway

    def ready(self, session_id: str, resume_url: str, shard: list[int] | None) -> JSON:
        """Return the READY payload: the bot, unavailable guild stubs, the session."""
        data: JSON = {
            "v": 10,
            "user": self.current_user(),
            "guilds": [
                {"id": str(guild_id), "unavailable": True} for guild_id in self.state.guilds
            ],
            "session_id": session_id,
            "session_type": "normal",
            "resume_gateway_url": resume_url,
            "application": {
                "id": str(self.state.application_id),
                "flags": self.application_flags(),
            },
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["sandbox"],
            "user_settings": {},
            "auth": {},
            "_trace": ['["lessonbot-sandbox-gateway",{"micros":0}]'],
        }
        if shard is not None:
            data["shard"] = shard
        return data

    def application_flags(self) -> int:
        """Return the application's flags: its enabled privileged intents, as the `_LIMITED`
        flags Discord gives an application in fewer than 100 servers (no review needed)."""
        flags = 0
        for intent, flag in INTENT_FLAGS.items():
            if self.privileged_intents & intent:
                flags |= flag
        return flags

    def all_permissions(self) -> str:
        """Return every permission as a string, the bot's standing in its servers."""
        return str(ALL_PERMISSIONS)
