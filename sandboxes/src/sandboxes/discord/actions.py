"""The sandbox acting as Discord's users and reading its world back.

These functions back both DiscordSandbox's methods and the HTTP admin API (admin.py);
they raise ValueError for bad input and LookupError for unknown ids, while Discord's own
errors (ApiError) pass through for each side to render.
"""

from __future__ import annotations

from typing import Any

from sandboxes.discord import overwrites
from sandboxes.discord.api import Context
from sandboxes.discord.payloads import JSON
from sandboxes.discord.responses import Responses
from sandboxes.discord.snowflakes import parse_snowflake
from sandboxes.discord.state import DM, FORUM, MEDIA, Channel, Message


def snowflake(value: Any, what: str) -> int:
    """Return an id given as an int or a digit string, or raise ValueError."""
    parsed = parse_snowflake(value)
    if parsed is None:
        raise ValueError(f"{what} must be an id (a whole number), not {value!r}")
    return parsed


def optional_snowflake(value: Any, what: str) -> int | None:
    """Return an optional id, None when absent."""
    return None if value is None else snowflake(value, what)


def _channel(ctx: Context, channel_id: Any) -> Channel:
    """Return a channel or raise LookupError."""
    channel = ctx.state.channels.get(snowflake(channel_id, "channel_id"))
    if channel is None:
        raise LookupError(f"no channel {channel_id}")
    return channel


def _message(ctx: Context, channel: Channel, message_id: Any) -> Message:
    """Return a message of a channel or raise LookupError."""
    message = channel.messages.get(snowflake(message_id, "message_id"))
    if message is None:
        raise LookupError(f"no message {message_id} in channel {channel.id}")
    return message


def _check_author(ctx: Context, channel: Channel, user_id: int) -> None:
    """Check that a user can act in a channel: a member of its guild, or in the DM."""
    if user_id not in ctx.state.users:
        raise LookupError(f"no user {user_id}")
    if channel.type == DM:
        if user_id not in channel.recipient_ids:
            raise ValueError(f"user {user_id} is not in DM channel {channel.id}")
        return
    guild = ctx.state.guild(channel.guild_id or 0)
    if user_id not in guild.members:
        raise ValueError(f"user {user_id} is not a member of guild {guild.id}")


# The world


def create_guild(
    ctx: Context,
    name: str,
    channels: list[dict[str, Any]] | None = None,
    members: list[dict[str, Any]] | None = None,
    roles: list[dict[str, Any]] | None = None,
    locale: str = "en-US",
) -> dict[str, Any]:
    """Create a guild with channels, members and roles; return its ids by name."""
    guild = ctx.ops.create_guild(
        name, list(channels or []), list(members or []), list(roles or []), locale
    )
    return {
        "id": guild.id,
        "name": guild.name,
        "channels": {c.name: c.id for c in ctx.state.guild_channels(guild)},
        "roles": {role.name: role.id for role in guild.roles.values()},
        "members": [uid for uid in guild.members if uid != ctx.state.bot_user_id],
    }


def set_role_permissions(ctx: Context, guild_id: Any, role_id: Any, permissions: int) -> JSON:
    """Change a role's permissions (the bot's own managed role too); dispatch the update."""
    guild = ctx.state.guilds.get(snowflake(guild_id, "guild_id"))
    role = None if guild is None else guild.roles.get(snowflake(role_id, "role_id"))
    if guild is None or role is None:
        raise LookupError(f"no role {role_id} in guild {guild_id}")
    if isinstance(permissions, bool) or not isinstance(permissions, int) or permissions < 0:
        raise ValueError("permissions must be a whole number of permission bits")
    role.permissions = permissions
    payload = ctx.payloads.role(role)
    ctx.gateway.dispatch(
        "GUILD_ROLE_UPDATE", {"guild_id": str(guild.id), "role": payload}, guild_id=guild.id
    )
    return payload


def set_permission_overwrite(
    ctx: Context, channel_id: Any, target_id: Any, kind: int, allow: int, deny: int
) -> None:
    """Set a channel's overwrite for a role (kind 0) or a member (kind 1)."""
    channel = ctx.state.channels.get(snowflake(channel_id, "channel_id"))
    if channel is None:
        raise LookupError(f"no channel {channel_id}")
    body = {"type": kind, "allow": allow, "deny": deny}
    overwrites.set_overwrite(
        ctx.gateway, ctx.payloads, channel, snowflake(target_id, "target_id"), body
    )


def create_user(ctx: Context, spec: dict[str, Any]) -> int:
    """Create (or update) a user who is in no guild, e.g. to DM; return their id."""
    return ctx.ops.ensure_user(spec)


# What an admin may change about a user after creating them.
USER_SETTINGS = ("accepts_dms", "locale", "global_name")


def update_user(ctx: Context, user_id: Any, changes: dict[str, Any]) -> JSON:
    """Change a user's settings (`accepts_dms`: false closes their DMs to the bot)."""
    user = ctx.state.users.get(snowflake(user_id, "user_id"))
    if user is None or user.bot:
        raise LookupError(f"no user {user_id}")
    unknown = sorted(set(changes) - set(USER_SETTINGS))
    if unknown:
        raise ValueError(f"a user's {', '.join(unknown)} cannot be changed here")
    if "accepts_dms" in changes and not isinstance(changes["accepts_dms"], bool):
        raise ValueError("accepts_dms must be true or false")
    for key in ("locale", "global_name"):
        if key in changes and not isinstance(changes[key], str | None):
            raise ValueError(f"{key} must be a string")
    for key, value in changes.items():
        setattr(user, key, value)
    return {
        "id": user.id,
        "username": user.username,
        "global_name": user.global_name,
        "locale": user.locale,
        "accepts_dms": user.accepts_dms,
    }


def dm_channel(ctx: Context, user_id: Any) -> int:
    """Return the id of the DM channel between the bot and a user."""
    return ctx.ops.open_dm(snowflake(user_id, "user_id")).id


# Acting as users


def post_message(
    ctx: Context,
    channel_id: Any,
    author_id: Any,
    content: str,
    reply_to: Any = None,
    embeds: list[dict[str, Any]] | None = None,
) -> JSON:
    """Post a message as a user (MESSAGE_CREATE); return it as the bot would fetch it."""
    channel = _channel(ctx, channel_id)
    author = snowflake(author_id, "author_id")
    _check_author(ctx, channel, author)
    data: dict[str, Any] = {"content": content}
    if embeds:
        data["embeds"] = embeds
    if reply_to is not None:
        data["message_reference"] = {"message_id": str(snowflake(reply_to, "reply_to"))}
    return ctx.payloads.message(ctx.messages.create_message(channel, author, data))


def edit_message(ctx: Context, channel_id: Any, message_id: Any, content: str) -> JSON:
    """Edit a user's message as its author (MESSAGE_UPDATE)."""
    channel = _channel(ctx, channel_id)
    message = _message(ctx, channel, message_id)
    if message.author_id == ctx.state.bot_user_id:
        raise ValueError("the bot's messages are edited through the REST API, not as a user")
    return ctx.payloads.message(ctx.messages.edit_message(channel, message, {"content": content}))


def delete_message(ctx: Context, channel_id: Any, message_id: Any) -> None:
    """Delete a message as its author or a moderator (MESSAGE_DELETE)."""
    channel = _channel(ctx, channel_id)
    ctx.messages.delete_message(channel, _message(ctx, channel, message_id))


def create_thread(
    ctx: Context,
    channel_id: Any,
    author_id: Any,
    name: str,
    content: str | None = None,
    applied_tags: list[Any] | None = None,
    message_id: Any = None,
) -> JSON:
    """Open a thread as a user: a forum post (with `content`), a thread on a message, or a
    public thread in a text channel (THREAD_CREATE)."""
    parent = _channel(ctx, channel_id)
    author = snowflake(author_id, "author_id")
    _check_author(ctx, parent, author)
    starter = _message(ctx, parent, message_id) if message_id is not None else None
    data: dict[str, Any] = {"name": name}
    if parent.type in (FORUM, MEDIA):
        data["message"] = {"content": content or ""}
        data["applied_tags"] = [str(tag) for tag in applied_tags or []]
    elif starter is None:
        data["type"] = 11
    data = ctx.ops.check_new_thread(parent, data, from_message=starter is not None)
    thread, _ = ctx.ops.create_thread(parent, author, data, starter=starter)
    return ctx.payloads.thread(thread)


def react(
    ctx: Context, channel_id: Any, message_id: Any, user_id: Any, emoji: str, add: bool
) -> bool:
    """Add or remove a user's reaction; return whether anything changed."""
    channel = _channel(ctx, channel_id)
    message = _message(ctx, channel, message_id)
    user = snowflake(user_id, "user_id")
    _check_author(ctx, channel, user)
    if add:
        return ctx.messages.add_reaction(channel, message, user, emoji)
    return ctx.messages.remove_reaction(channel, message, user, emoji)


def run_command(
    ctx: Context,
    guild_id: Any,
    channel_id: Any,
    user_id: Any,
    name: str,
    options: list[dict[str, Any]] | None = None,
    locale: str | None = None,
    *,
    autocomplete: bool = False,
) -> int:
    """Invoke a registered slash command as a user; return the interaction id."""
    user = snowflake(user_id, "user_id")
    interaction = ctx.interactions.command(
        optional_snowflake(guild_id, "guild_id"),
        optional_snowflake(channel_id, "channel_id"),
        user,
        name.lstrip("/"),
        list(options or []),
        locale or ctx.state.user(user).locale,
        autocomplete=autocomplete,
    )
    return interaction.id


async def autocomplete(
    ctx: Context,
    guild_id: Any,
    channel_id: Any,
    user_id: Any,
    name: str,
    options: list[dict[str, Any]] | None = None,
    locale: str | None = None,
    timeout: float = 5.0,  # noqa: ASYNC109 - the public interface takes a timeout
) -> list[dict[str, Any]]:
    """Send an autocomplete request and return the choices the bot answers with."""
    interaction_id = run_command(
        ctx, guild_id, channel_id, user_id, name, options, locale, autocomplete=True
    )
    interaction = ctx.state.interactions[interaction_id]
    await ctx.responses.wait(
        interaction, lambda i: i.callback_type is not None or bool(i.rejected), timeout
    )
    if interaction.callback_type is None:
        raise ValueError(f"the bot's autocomplete answer was refused: {interaction.rejected[0]}")
    if interaction.choices is None:
        raise ValueError(
            f"the bot answered autocomplete with callback type {interaction.callback_type}"
        )
    return interaction.choices


def submit_modal(
    ctx: Context,
    guild_id: Any,
    channel_id: Any,
    user_id: Any,
    custom_id: str | None = None,
    components: dict[str, Any] | None = None,
    locale: str | None = None,
) -> int:
    """Submit the modal the bot showed the user, with field values by custom_id or label."""
    user = snowflake(user_id, "user_id")
    interaction = ctx.interactions.modal_submit(
        optional_snowflake(guild_id, "guild_id"),
        optional_snowflake(channel_id, "channel_id"),
        user,
        custom_id,
        dict(components or {}),
        locale or ctx.state.user(user).locale,
    )
    return interaction.id


def click(
    ctx: Context,
    channel_id: Any,
    message_id: Any,
    user_id: Any,
    custom_id: str,
    values: list[str] | None = None,
    locale: str | None = None,
) -> int:
    """Click a button (or pick select values) on a message as a user; return the interaction id."""
    user = snowflake(user_id, "user_id")
    interaction = ctx.interactions.component(
        snowflake(channel_id, "channel_id"),
        snowflake(message_id, "message_id"),
        user,
        custom_id,
        values,
        locale or ctx.state.user(user).locale,
    )
    return interaction.id


def responses(ctx: Context, interaction_id: Any) -> list[dict[str, Any]]:
    """Return what the bot answered an interaction so far."""
    interaction = ctx.state.interactions.get(snowflake(interaction_id, "interaction_id"))
    if interaction is None:
        raise LookupError(f"no interaction {interaction_id}")
    return list(interaction.records)


async def wait_for_responses(
    ctx: Context,
    interaction_id: Any,
    timeout: float = 5.0,  # noqa: ASYNC109 - the public interface takes a timeout
    count: int | None = None,
) -> list[dict[str, Any]]:
    """Wait for the bot's complete answer (or `count` answers) and return them all."""
    interaction = ctx.state.interactions.get(snowflake(interaction_id, "interaction_id"))
    if interaction is None:
        raise LookupError(f"no interaction {interaction_id}")
    await ctx.responses.wait(interaction, Responses.settled(count), timeout)
    return list(interaction.records)


# Reading the world


def channel_messages(ctx: Context, channel_id: Any) -> list[JSON]:
    """Return a channel's messages, oldest first."""
    return [ctx.payloads.message(m) for m in _channel(ctx, channel_id).visible_messages()]


def message(ctx: Context, channel_id: Any, message_id: Any) -> JSON:
    """Return one message."""
    channel = _channel(ctx, channel_id)
    return ctx.payloads.message(_message(ctx, channel, message_id))


def threads(ctx: Context, parent_id: Any) -> list[JSON]:
    """Return the threads (archived ones too) of a channel, oldest first."""
    parent = _channel(ctx, parent_id)
    found = [c for c in ctx.state.channels.values() if c.is_thread and c.parent_id == parent.id]
    return [ctx.payloads.thread(t) for t in sorted(found, key=lambda t: t.id)]


def dms(ctx: Context, user_id: Any) -> list[JSON]:
    """Return the messages of the DM between the bot and a user, oldest first."""
    channel_id = ctx.state.dm_channels.get(snowflake(user_id, "user_id"))
    if channel_id is None:
        return []
    return channel_messages(ctx, channel_id)


def channels(ctx: Context, guild_id: Any) -> list[JSON]:
    """Return a guild's channels (threads excluded)."""
    guild = ctx.state.guilds.get(snowflake(guild_id, "guild_id"))
    if guild is None:
        raise LookupError(f"no guild {guild_id}")
    return [ctx.payloads.channel(c) for c in ctx.state.guild_channels(guild)]


def commands(ctx: Context, guild_id: Any = None) -> list[JSON]:
    """Return the registered commands, global ones or a guild's."""
    scope = optional_snowflake(guild_id, "guild_id")
    found = sorted(
        (c for c in ctx.state.commands.values() if c.guild_id == scope), key=lambda c: c.id
    )
    return [ctx.payloads.command(c) for c in found]
