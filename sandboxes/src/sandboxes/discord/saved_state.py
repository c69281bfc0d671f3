"""The Discord sandbox's world as JSON: what a restart restores, interactions aside."""

from __future__ import annotations

from typing import Any

from sandboxes.discord.state import Channel, Command, Guild, State, User
from sandboxes.persist import decode, encode

VERSION = 1


def snapshot(state: State, world_id: str, port: int) -> dict[str, Any]:
    """Return the world: users, guilds, channels with their messages, commands, ids.

    Interactions are left out: their tokens are short-lived on Discord too.
    """
    return {
        "version": VERSION,
        "world_id": world_id,
        "port": port,
        "last_id": state.ids._last,
        "application_id": state.application_id,
        "bot_user_id": state.bot_user_id,
        "owner_user_id": state.owner_user_id,
        "bot_name": state.bot_name,
        "users": [encode(user) for user in state.users.values()],
        "guilds": [encode(guild) for guild in state.guilds.values()],
        "channels": [encode(channel) for channel in state.channels.values()],
        "commands": [encode(command) for command in state.commands.values()],
        "dm_channels": {str(user): channel for user, channel in state.dm_channels.items()},
    }


def restore(state: State, data: dict[str, Any]) -> None:
    """Put a saved world into `state` in place (the sandbox's parts hold this object)."""
    if data.get("version") != VERSION:
        raise ValueError(f"unknown Discord sandbox world version {data.get('version')!r}")
    state.ids._last = max(state.ids._last, int(data["last_id"]))
    state.application_id = int(data["application_id"])
    state.bot_user_id = int(data["bot_user_id"])
    state.owner_user_id = int(data["owner_user_id"])
    state.bot_name = data["bot_name"]
    state.users = {user.id: user for user in (decode(User, raw) for raw in data["users"])}
    state.guilds = {guild.id: guild for guild in (decode(Guild, raw) for raw in data["guilds"])}
    state.channels = {
        channel.id: channel for channel in (decode(Channel, raw) for raw in data["channels"])
    }
    state.commands = {
        command.id: command for command in (decode(Command, raw) for raw in data["commands"])
    }
    state.dm_channels = {int(user): int(channel) for user, channel in data["dm_channels"].items()}
    state.attachments = {
        attachment.id: attachment
        for channel in state.channels.values()
        for message in channel.messages.values()
        for attachment in message.attachments
    }
    state.interactions.clear()
    state.interaction_tokens.clear()


def replace_text(state: State, old: str, new: str) -> int:
    """Replace `old` by `new` in every message's content and embeds; return how many changed."""
    changed = 0
    for channel in state.channels.values():
        for message in channel.messages.values():
            before = (message.content, repr(message.embeds))
            message.content = message.content.replace(old, new)
            message.embeds = _replace(message.embeds, old, new)
            changed += before != (message.content, repr(message.embeds))
    return changed


def _replace(value: Any, old: str, new: str) -> Any:
    """Replace text in every string of a JSON-like value."""
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, list):
        return [_replace(item, old, new) for item in value]
    if isinstance(value, dict):
        return {key: _replace(item, old, new) for key, item in value.items()}
    return value
