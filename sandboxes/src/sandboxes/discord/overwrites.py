"""Channel permission overwrites: checked, stored on guild channels, set and removed."""

from __future__ import annotations

from typing import Any

from sandboxes.discord import errors as err
from sandboxes.discord.errors import ApiError, FormErrors
from sandboxes.discord.gateway import Gateway
from sandboxes.discord.limits import check_choice, check_int
from sandboxes.discord.payloads import Payloads
from sandboxes.discord.snowflakes import parse_snowflake
from sandboxes.discord.state import Channel

ROLE, MEMBER = 0, 1
# Discord keeps at most 100 overwrites on a channel.
MAX_OVERWRITES = 100


def check_overwrites(errors: FormErrors, raw: Any, path: tuple[str, ...]) -> list[dict[str, int]]:
    """Check a `permission_overwrites` list (ChannelPermissionOverwriteRequest items)."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        errors.add(path, "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        return []
    if len(raw) > MAX_OVERWRITES:
        errors.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_OVERWRITES} or fewer in length.")
        return []
    overwrites = []
    for index, item in enumerate(raw):
        where = (*path, str(index))
        if not isinstance(item, dict):
            errors.add(where, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            continue
        target = parse_snowflake(item.get("id"))
        if target is None:
            errors.add(
                (*where, "id"), "NUMBER_TYPE_COERCE", f'Value "{item.get("id")}" is not snowflake.'
            )
            continue
        overwrite = _overwrite(errors, item, where)
        if overwrite is not None:
            overwrites.append({"id": target, **overwrite})
    return overwrites


def _overwrite(
    errors: FormErrors, data: dict[str, Any], path: tuple[str, ...]
) -> dict[str, int] | None:
    """Check an overwrite's type, allow and deny; return them, or None after an error."""
    own = FormErrors()
    kind = check_choice(own, data, "type", path, (ROLE, MEMBER))
    allow = check_int(own, data, "allow", path)
    deny = check_int(own, data, "deny", path)
    if own:
        for where, code, message in _flatten(own.tree, ()):
            errors.add(where, code, message)
        return None
    return {"type": ROLE if kind is None else kind, "allow": allow or 0, "deny": deny or 0}


def _flatten(tree: dict[str, Any], path: tuple[str, ...]) -> list[tuple[tuple[str, ...], str, str]]:
    """Return each error of a FormErrors tree with its field path."""
    found = []
    for key, node in tree.items():
        if key == "_errors":
            found += [(path, entry["code"], entry["message"]) for entry in node]
        else:
            found += _flatten(node, (*path, key))
    return found


def set_overwrite(
    gateway: Gateway, payloads: Payloads, channel: Channel, target: int, data: dict[str, Any]
) -> None:
    """Add or replace one overwrite on a guild channel; dispatch CHANNEL_UPDATE."""
    if channel.guild_id is None or channel.is_thread:
        raise err.wrong_channel_type()
    errors = FormErrors()
    overwrite = _overwrite(errors, data, ())
    errors.raise_if_any()
    assert overwrite is not None
    kept = [entry for entry in channel.permission_overwrites if entry["id"] != target]
    if len(kept) >= MAX_OVERWRITES:
        raise ApiError(400, 30013, "Maximum number of permission overwrites reached (100)")
    channel.permission_overwrites = [*kept, {"id": target, **overwrite}]
    _dispatch(gateway, payloads, channel)


def delete_overwrite(gateway: Gateway, payloads: Payloads, channel: Channel, target: int) -> None:
    """Remove one overwrite from a guild channel (none there: nothing changes)."""
    if channel.guild_id is None or channel.is_thread:
        raise err.wrong_channel_type()
    kept = [entry for entry in channel.permission_overwrites if entry["id"] != target]
    if len(kept) != len(channel.permission_overwrites):
        channel.permission_overwrites = kept
        _dispatch(gateway, payloads, channel)


def _dispatch(gateway: Gateway, payloads: Payloads, channel: Channel) -> None:
    gateway.dispatch("CHANNEL_UPDATE", payloads.channel(channel), guild_id=channel.guild_id)
