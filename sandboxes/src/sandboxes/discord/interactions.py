"""Interactions the sandbox sends as a user: slash commands, autocomplete requests,
modal submits and component clicks, checked as Discord's client would check them."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from sandboxes.discord.gateway import Gateway
from sandboxes.discord.limits import ATTACHMENT_SIZE
from sandboxes.discord.operations import Operations
from sandboxes.discord.payloads import JSON, Payloads
from sandboxes.discord.snowflakes import parse_snowflake
from sandboxes.discord.state import DM, Channel, Command, Interaction, Message, State

PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
OPTION_TYPES = {3: str, 4: int, 5: bool, 10: (int, float)}
SNOWFLAKE_OPTIONS = (6, 7, 8, 9, 11)
SELECTS = (3, 5, 6, 7, 8)


def _walk(components: list[Any]) -> list[dict[str, Any]]:
    """Return every component of a tree, depth first."""
    found: list[dict[str, Any]] = []
    for item in components:
        if not isinstance(item, dict):
            continue
        found.append(item)
        for key in ("components", "component", "accessory"):
            child = item.get(key)
            if isinstance(child, list):
                found.extend(_walk(child))
            elif isinstance(child, dict):
                found.extend(_walk([child]))
    return found


class Interactions:
    """Create interactions as users would and dispatch INTERACTION_CREATE to the bot."""

    def __init__(self, state: State, payloads: Payloads, gateway: Gateway, ops: Operations) -> None:
        self.state = state
        self.payloads = payloads
        self.gateway = gateway
        self.ops = ops

    def _place(self, guild_id: int | None, channel_id: int | None, user_id: int) -> Channel:
        """Return where a user acts: a channel of a guild they are in, or their DM with the bot."""
        user = self.state.user(user_id)
        if guild_id is None:
            if channel_id is None:
                return self.ops.open_dm(user.id)
            channel = self.state.channel(channel_id)
            if channel.type != DM or user.id not in channel.recipient_ids:
                raise ValueError(f"channel {channel_id} is not user {user_id}'s DM with the bot")
            return channel
        guild = self.state.guild(guild_id)
        if user.id not in guild.members:
            raise ValueError(f"user {user_id} is not a member of guild {guild_id}")
        if channel_id is None:
            raise ValueError("a guild interaction needs a channel")
        channel = self.state.channel(channel_id)
        if channel.guild_id != guild.id:
            raise ValueError(f"channel {channel_id} is not in guild {guild_id}")
        return channel

    def _create(
        self,
        kind: int,
        channel: Channel,
        user_id: int,
        locale: str,
        data: JSON,
        *,
        name: str = "",
        message: Message | None = None,
    ) -> Interaction:
        """Record an interaction and dispatch INTERACTION_CREATE to the bot."""
        loop = asyncio.get_running_loop()
        interaction = Interaction(
            self.state.ids.next(),
            f"aW50ZXJhY3Rpb246{secrets.token_urlsafe(96)}",
            kind,
            user_id,
            channel.id,
            channel.guild_id,
            locale,
            data,
            loop.time(),
            name=name,
            message_id=message.id if message else None,
        )
        user = self.state.user(user_id)
        payload: JSON = {
            "id": str(interaction.id),
            "application_id": str(self.state.application_id),
            "type": kind,
            "data": data,
            "token": interaction.token,
            "version": 1,
            "locale": locale,
            "app_permissions": self.payloads.all_permissions(),
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": ATTACHMENT_SIZE,
            "channel_id": str(channel.id),
        }
        if channel.guild_id is not None:
            guild = self.state.guild(channel.guild_id)
            permissions = self.state.member_permissions(guild, user_id)
            member = self.payloads.member(guild, guild.members[user_id])
            payload.update(
                {
                    "guild_id": str(guild.id),
                    "guild": {
                        "id": str(guild.id),
                        "locale": guild.preferred_locale,
                        "features": [],
                    },
                    "guild_locale": guild.preferred_locale,
                    "member": {**member, "permissions": str(permissions)},
                    "channel": self.payloads.interaction_channel(channel, permissions),
                    "authorizing_integration_owners": {"0": str(guild.id)},
                    "context": 0,
                }
            )
        else:
            payload.update(
                {
                    "user": self.payloads.user(user),
                    "channel": self.payloads.interaction_channel(channel, 0),
                    # A guild install answering in its bot's DM: the owner id is "0".
                    "authorizing_integration_owners": {"0": "0"},
                    "context": 1,
                }
            )
        if message is not None:
            payload["message"] = self.payloads.message(message)
        interaction.payload = payload
        self.state.interactions[interaction.id] = interaction
        self.state.interaction_tokens[interaction.token] = interaction
        self.gateway.dispatch("INTERACTION_CREATE", payload, guild_id=channel.guild_id)
        return interaction

    def find_command(self, guild_id: int | None, name: str, kind: int = 1) -> Command:
        """Return the registered command a user could invoke here (guild ones first)."""
        candidates = [c for c in self.state.commands.values() if c.name == name and c.type == kind]
        for command in candidates:
            if guild_id is not None and command.guild_id == guild_id:
                return command
        for command in candidates:
            if command.guild_id is None:
                if guild_id is None and command.contexts is not None and 1 not in command.contexts:
                    break
                if guild_id is None and not command.dm_permission:
                    break
                return command
        where = f"guild {guild_id}" if guild_id else "DMs"
        raise LookupError(
            f"no command /{name} is registered for {where}: the bot must sync its commands "
            "(PUT /applications/{id}/commands) before users can run them"
        )

    def _options(
        self,
        defs: list[dict[str, Any]],
        given: list[dict[str, Any]],
        resolved: dict[str, dict[str, Any]],
        guild_id: int | None,
        *,
        autocomplete: bool,
    ) -> list[dict[str, Any]]:
        """Complete and check the options a user gives against the command's definition."""
        by_name = {d["name"]: d for d in defs}
        result = []
        for raw in given:
            definition = by_name.get(raw.get("name", ""))
            if definition is None:
                raise ValueError(f"the command has no option {raw.get('name')!r}")
            kind = definition["type"]
            option: dict[str, Any] = {"name": definition["name"], "type": kind}
            if kind in (1, 2):
                nested = raw.get("options") or []
                option["options"] = self._options(
                    definition.get("options") or [],
                    nested,
                    resolved,
                    guild_id,
                    autocomplete=autocomplete,
                )
                result.append(option)
                continue
            value = raw.get("value")
            if raw.get("focused"):
                option["focused"] = True
                option["value"] = "" if value is None else str(value)
                result.append(option)
                continue
            if kind in OPTION_TYPES:
                expected = OPTION_TYPES[kind]
                if isinstance(value, bool) is not (kind == 5) or not isinstance(value, expected):
                    raise ValueError(
                        f"option {definition['name']!r} needs a {expected}, not {value!r}"
                    )
            elif kind in SNOWFLAKE_OPTIONS:
                target = parse_snowflake(value)
                if target is None:
                    raise ValueError(f"option {definition['name']!r} needs an id, not {value!r}")
                value = str(target)
                self._resolve(kind, target, resolved, guild_id)
            choices = definition.get("choices")
            if choices and not autocomplete and value not in [c["value"] for c in choices]:
                raise ValueError(f"option {definition['name']!r} must be one of its choices")
            option["value"] = value
            result.append(option)
        if not autocomplete and not any(o["type"] in (1, 2) for o in result):
            names = {o["name"] for o in result}
            missing = [
                d["name"]
                for d in defs
                if d.get("required") and d["type"] not in (1, 2) and d["name"] not in names
            ]
            if missing:
                raise ValueError(f"required option(s) missing: {', '.join(missing)}")
        return result

    def _resolve(
        self, kind: int, target: int, resolved: dict[str, dict[str, Any]], guild_id: int | None
    ) -> None:
        """Add a user, member, channel or role an option names to `resolved`."""
        guild = self.state.guilds.get(guild_id or 0)
        if kind in (6, 9) and target in self.state.users:
            resolved.setdefault("users", {})[str(target)] = self.payloads.user(
                self.state.user(target)
            )
            if guild is not None and target in guild.members:
                member = self.payloads.member(guild, guild.members[target], with_user=False)
                permissions = self.state.member_permissions(guild, target)
                resolved.setdefault("members", {})[str(target)] = {
                    **member,
                    "permissions": str(permissions),
                }
            return
        if kind in (8, 9) and guild is not None and target in guild.roles:
            resolved.setdefault("roles", {})[str(target)] = self.payloads.role(guild.roles[target])
            return
        if kind == 7 and target in self.state.channels:
            channel = self.state.channels[target]
            resolved.setdefault("channels", {})[str(target)] = self.payloads.interaction_channel(
                channel, 0 if guild is None else self.state.member_permissions(guild, target)
            )
            return
        raise ValueError(f"option value {target} names nothing the user could pick")

    def command(
        self,
        guild_id: int | None,
        channel_id: int | None,
        user_id: int,
        name: str,
        options: list[dict[str, Any]],
        locale: str,
        *,
        autocomplete: bool = False,
    ) -> Interaction:
        """Send an application command (type 2) or an autocomplete request (type 4)."""
        channel = self._place(guild_id, channel_id, user_id)
        command = self.find_command(guild_id, name)
        resolved: dict[str, dict[str, Any]] = {}
        filled = self._options(
            command.options, options, resolved, guild_id, autocomplete=autocomplete
        )
        if autocomplete and sum(1 for o in _walk_options(filled) if o.get("focused")) != 1:
            raise ValueError("an autocomplete request needs exactly one focused option")
        data: JSON = {"id": str(command.id), "name": command.name, "type": command.type}
        if filled:
            data["options"] = filled
        if command.guild_id is not None:
            data["guild_id"] = str(command.guild_id)
        if resolved:
            data["resolved"] = resolved
        kind = AUTOCOMPLETE if autocomplete else APPLICATION_COMMAND
        return self._create(kind, channel, user_id, locale, data, name=command.name)

    def find_modal(self, user_id: int, custom_id: str | None) -> Interaction:
        """Return the latest interaction whose answer showed this user a modal."""
        for interaction in sorted(self.state.interactions.values(), key=lambda i: -i.id):
            modal = interaction.modal
            if (
                interaction.user_id == user_id
                and modal is not None
                and custom_id in (None, modal.get("custom_id"))
            ):
                return interaction
        shown = "any modal" if custom_id is None else f"a modal with custom_id {custom_id!r}"
        raise LookupError(f"the bot has not shown user {user_id} {shown}")

    def modal_submit(
        self,
        guild_id: int | None,
        channel_id: int | None,
        user_id: int,
        custom_id: str | None,
        values: dict[str, Any],
        locale: str,
    ) -> Interaction:
        """Submit the modal the bot showed: echo its custom_id and each field's custom_id."""
        source = self.find_modal(user_id, custom_id)
        assert source.modal is not None
        modal = source.modal
        channel = self._place(guild_id, channel_id, user_id)
        remaining = dict(values)
        counter = 0

        def field(item: dict[str, Any], label: str | None) -> dict[str, Any]:
            nonlocal counter
            counter += 1
            key = item.get("custom_id")
            value: Any = None
            for name in (key, label, item.get("label")):
                if name is not None and name in remaining:
                    value = remaining.pop(name)
                    break
            kind = item.get("type")
            answer: dict[str, Any] = {"type": kind, "id": item.get("id", counter), "custom_id": key}
            if kind == 4:
                # Untouched fields submit what the bot pre-filled.
                text = (item.get("value") or "") if value is None else str(value)
                if item.get("required", True) and not text:
                    raise ValueError(f"modal field {key!r} is required")
                low, high = item.get("min_length") or 0, item.get("max_length") or 4000
                if text and not low <= len(text) <= high:
                    raise ValueError(f"modal field {key!r} takes {low} to {high} characters")
                answer["value"] = text
            elif kind in SELECTS:
                answer["values"] = [str(v) for v in (value or [])]
            elif kind == 23:
                answer["value"] = bool(value)
            else:
                answer["values" if kind != 21 else "value"] = value
            return answer

        components: list[dict[str, Any]] = []
        for item in modal.get("components") or []:
            counter += 1
            row_id = item.get("id", counter)
            if item.get("type") == 1:
                inner = [field(child, None) for child in item.get("components") or []]
                components.append({"type": 1, "id": row_id, "components": inner})
            elif item.get("type") == 18:
                inner_item = item.get("component") or {}
                components.append(
                    {"type": 18, "id": row_id, "component": field(inner_item, item.get("label"))}
                )
            elif item.get("type") == 10:
                components.append({"type": 10, "id": row_id})
        if remaining:
            raise ValueError(f"the modal has no field(s) {', '.join(map(str, remaining))}")
        data = {"custom_id": modal["custom_id"], "components": components}
        message = None
        if source.type == MESSAGE_COMPONENT and source.message_id is not None:
            message = self.state.find_message(source.channel_id, source.message_id)
        submitted = self._create(MODAL_SUBMIT, channel, user_id, locale, data, message=message)
        submitted.trigger_id = source.id
        return submitted

    def component(
        self,
        channel_id: int,
        message_id: int,
        user_id: int,
        custom_id: str,
        values: list[str] | None,
        locale: str,
    ) -> Interaction:
        """Click a button or pick from a select menu on a message the bot sent."""
        message = self.state.find_message(channel_id, message_id)
        if message is None:
            raise LookupError(f"no message {message_id} in channel {channel_id}")
        channel = self.state.channel(channel_id)
        self._place(channel.guild_id, channel.id if channel.guild_id else None, user_id)
        target = next(
            (c for c in _walk(message.components) if c.get("custom_id") == custom_id), None
        )
        if target is None:
            raise LookupError(f"message {message_id} has no component with custom_id {custom_id!r}")
        if target.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled")
        kind = target.get("type")
        data: JSON = {"custom_id": custom_id, "component_type": kind}
        if kind in SELECTS:
            picked = [str(v) for v in values or []]
            low, high = target.get("min_values", 1), target.get("max_values", 1)
            if not low <= len(picked) <= high:
                raise ValueError(f"select {custom_id!r} takes {low} to {high} values")
            if kind == 3:
                offered = {str(option.get("value")) for option in target.get("options") or []}
                if not set(picked) <= offered:
                    raise ValueError(f"select {custom_id!r} offers only {sorted(offered)}")
            data["values"] = picked
            if kind != 3:
                resolved: dict[str, dict[str, Any]] = {}
                for value in picked:
                    target_id = parse_snowflake(value)
                    if target_id is None:
                        raise ValueError(f"select {custom_id!r} takes ids, not {value!r}")
                    self._resolve(
                        {5: 6, 6: 8, 7: 9, 8: 7}[kind], target_id, resolved, channel.guild_id
                    )
                data["resolved"] = resolved
        elif kind != 2 or target.get("style") == 5:
            raise ValueError(f"component {custom_id!r} cannot be clicked")
        return self._create(MESSAGE_COMPONENT, channel, user_id, locale, data, message=message)


def _walk_options(options: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return every option of a command's option tree."""
    found = []
    for option in options:
        found.append(option)
        found.extend(_walk_options(option.get("options") or []))
    return found
