"""The admin HTTP API under /_sandbox/: JSON in and out, no auth, not in the request log.

Routes mirror DiscordSandbox's methods (see actions.py) and control the sandbox: faults,
the request log, gateway sessions and drops.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from sandboxes.discord.actions import (
    autocomplete,
    channel_messages,
    channels,
    click,
    commands,
    create_guild,
    create_thread,
    create_user,
    delete_message,
    dm_channel,
    dms,
    edit_message,
    message,
    post_message,
    react,
    responses,
    run_command,
    submit_modal,
    threads,
    update_user,
    wait_for_responses,
)
from sandboxes.discord.api import Context, context, no_content, read_json, respond
from sandboxes.discord.errors import ApiError

PREFIX = "/_sandbox"


Handler = Callable[[Context, dict[str, Any], web.Request], Awaitable[Any] | Any]


async def _body(request: web.Request) -> dict[str, Any]:
    """Return the JSON object a request carries (empty when absent)."""
    data = await read_json(request)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


def _route(method: str, path: str, handler: Handler, status: int = 200) -> web.RouteDef:
    """Wrap a handler into a route answering JSON (None: 204), with errors as 4xx."""

    async def run(request: web.Request) -> web.StreamResponse:
        ctx = context(request)
        try:
            data = await _body(request)
            result = handler(ctx, data, request)
            if inspect.isawaitable(result):
                result = await result
        except ApiError as error:
            return respond(error.body(), status=error.status)
        except LookupError as error:
            return respond({"message": str(error.args[0] if error.args else error)}, status=404)
        except TimeoutError as error:
            return respond({"message": str(error)}, status=504)
        except (TypeError, ValueError) as error:
            return respond({"message": str(error)}, status=400)
        if result is None:
            return no_content()
        return respond(_string_ids(result), status=status)

    return web.route(method, f"{PREFIX}{path}", run)


# Snowflakes go out as strings, as Discord sends them: JavaScript's numbers lose 64-bit ids.
# Besides `id` and `*_id`, these keys hold ids by name ({name: id}) or lists of ids.
ID_MAPS = frozenset({"channels", "roles", "members", "guilds"})


def _string_ids(value: Any, key: str = "") -> Any:
    """Render the snowflakes in an admin answer as strings; leave other numbers alone."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value) if key == "id" or key.endswith("_id") else value
    if isinstance(value, dict):
        if key in ID_MAPS and all(isinstance(v, int) for v in value.values()):
            return {k: str(v) for k, v in value.items()}
        return {k: _string_ids(v, k) for k, v in value.items()}
    if isinstance(value, list):
        if key in ID_MAPS and value and all(isinstance(v, int) for v in value):
            return [str(v) for v in value]
        return [_string_ids(item) for item in value]
    return value


def _path(request: web.Request, key: str) -> str:
    """Return a path parameter."""
    return request.match_info[key]


# The world


def _create_guild(ctx: Context, d: dict[str, Any], r: web.Request) -> dict[str, Any]:
    """POST /guilds {name, channels, members, roles, locale}."""
    return create_guild(
        ctx,
        d.get("name", ""),
        d.get("channels"),
        d.get("members"),
        d.get("roles"),
        d.get("locale", "en-US"),
    )


def _guild_channels(ctx: Context, d: dict[str, Any], r: web.Request) -> list[dict[str, Any]]:
    """GET /guilds/{guild_id}/channels."""
    return channels(ctx, _path(r, "guild_id"))


def _create_user(ctx: Context, d: dict[str, Any], r: web.Request) -> dict[str, Any]:
    """POST /users {id?, username, locale?, accepts_dms?}."""
    return {"id": create_user(ctx, d)}


def _update_user(ctx: Context, d: dict[str, Any], r: web.Request) -> dict[str, Any]:
    """PATCH /users/{user_id} {accepts_dms?, locale?, global_name?}."""
    return update_user(ctx, _path(r, "user_id"), d)


def _dm_channel(ctx: Context, d: dict[str, Any], r: web.Request) -> dict[str, Any]:
    """POST /users/{user_id}/dm: the id of the user's DM channel with the bot."""
    return {"id": dm_channel(ctx, _path(r, "user_id"))}


def _dms(ctx: Context, d: dict[str, Any], r: web.Request) -> list[dict[str, Any]]:
    """GET /users/{user_id}/dms."""
    return dms(ctx, _path(r, "user_id"))


def _post_message(ctx: Context, d: dict[str, Any], r: web.Request) -> dict[str, Any]:
    """POST /channels/{channel_id}/messages {author_id, content, reply_to?, embeds?}."""
    return post_message(
        ctx,
        _path(r, "channel_id"),
        d.get("author_id"),
        d.get("content", ""),
        d.get("reply_to"),
        d.get("embeds"),
    )


def _messages(ctx: Context, d: dict[str, Any], r: web.Request) -> list[dict[str, Any]]:
    """GET /channels/{channel_id}/messages."""
    return channel_messages(ctx, _path(r, "channel_id"))


def _message(ctx: Context, d: dict[str, Any], r: web.Request) -> dict[str, Any]:
    """GET /channels/{channel_id}/messages/{message_id}."""
    return message(ctx, _path(r, "channel_id"), _path(r, "message_id"))


def _edit_message(ctx: Context, d: dict[str, Any], r: web.Request) -> dict[str, Any]:
    """PATCH /channels/{channel_id}/messages/{message_id} {content}: as its author."""
    return edit_message(ctx, _path(r, "channel_id"), _path(r, "message_id"), d.get("content", ""))


def _delete_message(ctx: Context, d: dict[str, Any], r: web.Request) -> None:
    """DELETE /channels/{channel_id}/messages/{message_id}."""
    delete_message(ctx, _path(r, "channel_id"), _path(r, "message_id"))


def _react(add: bool) -> Handler:
    """Return the handler adding or removing a reaction {user_id, emoji}."""

    def handle(ctx: Context, d: dict[str, Any], r: web.Request) -> dict[str, Any]:
        user_id = d.get("user_id", r.query.get("user_id"))
        emoji = d.get("emoji", r.query.get("emoji", ""))
        changed = react(ctx, _path(r, "channel_id"), _path(r, "message_id"), user_id, emoji, add)
        return {"changed": changed}

    return handle


def _create_thread(ctx: Context, d: dict[str, Any], r: web.Request) -> dict[str, Any]:
    """POST /channels/{channel_id}/threads {author_id, name, content?, applied_tags?...}."""
    return create_thread(
        ctx,
        _path(r, "channel_id"),
        d.get("author_id"),
        d.get("name", ""),
        d.get("content"),
        d.get("applied_tags"),
        d.get("message_id"),
    )


def _threads(ctx: Context, d: dict[str, Any], r: web.Request) -> list[dict[str, Any]]:
    """GET /channels/{channel_id}/threads."""
    return threads(ctx, _path(r, "channel_id"))


def _commands(ctx: Context, d: dict[str, Any], r: web.Request) -> list[dict[str, Any]]:
    """GET /commands[?guild_id=]: the registered application commands."""
    return commands(ctx, r.query.get("guild_id"))


# Interactions


def _run_command(ctx: Context, d: dict[str, Any], r: web.Request) -> dict[str, Any]:
    """POST /interactions/commands {guild_id, channel_id, user_id, name, options?, locale?}."""
    interaction_id = run_command(
        ctx,
        d.get("guild_id"),
        d.get("channel_id"),
        d.get("user_id"),
        d.get("name", ""),
        d.get("options"),
        d.get("locale"),
    )
    return {"interaction_id": interaction_id}


async def _autocomplete(ctx: Context, d: dict[str, Any], r: web.Request) -> dict[str, Any]:
    """POST /interactions/autocomplete {..., options with one focused, timeout?}: the choices."""
    choices = await autocomplete(
        ctx,
        d.get("guild_id"),
        d.get("channel_id"),
        d.get("user_id"),
        d.get("name", ""),
        d.get("options"),
        d.get("locale"),
        float(d.get("timeout", 5.0)),
    )
    return {"choices": choices}


def _submit_modal(ctx: Context, d: dict[str, Any], r: web.Request) -> dict[str, Any]:
    """POST /interactions/modals {guild_id, channel_id, user_id, custom_id?, components}."""
    interaction_id = submit_modal(
        ctx,
        d.get("guild_id"),
        d.get("channel_id"),
        d.get("user_id"),
        d.get("custom_id"),
        d.get("components"),
        d.get("locale"),
    )
    return {"interaction_id": interaction_id}


def _click(ctx: Context, d: dict[str, Any], r: web.Request) -> dict[str, Any]:
    """POST /interactions/components {channel_id, message_id, user_id, custom_id, values?}."""
    interaction_id = click(
        ctx,
        d.get("channel_id"),
        d.get("message_id"),
        d.get("user_id"),
        d.get("custom_id", ""),
        d.get("values"),
        d.get("locale"),
    )
    return {"interaction_id": interaction_id}


async def _responses(ctx: Context, d: dict[str, Any], r: web.Request) -> list[dict[str, Any]]:
    """GET /interactions/{id}/responses[?timeout=&count=]: at once, or once complete."""
    interaction_id = _path(r, "interaction_id")
    if "timeout" not in r.query and "count" not in r.query:
        return responses(ctx, interaction_id)
    count = r.query.get("count")
    timeout = float(r.query.get("timeout", 5.0))
    return await wait_for_responses(ctx, interaction_id, timeout, int(count) if count else None)


def routes() -> list[web.RouteDef]:
    """Return the admin routes that act on the world or read it."""
    message_path = "/channels/{channel_id}/messages/{message_id}"
    return [
        _route("POST", "/guilds", _create_guild, 201),
        _route("GET", "/guilds/{guild_id}/channels", _guild_channels),
        _route("POST", "/users", _create_user, 201),
        _route("PATCH", "/users/{user_id}", _update_user),
        _route("POST", "/users/{user_id}/dm", _dm_channel),
        _route("GET", "/users/{user_id}/dms", _dms),
        _route("POST", "/channels/{channel_id}/messages", _post_message, 201),
        _route("GET", "/channels/{channel_id}/messages", _messages),
        _route("GET", message_path, _message),
        _route("PATCH", message_path, _edit_message),
        _route("DELETE", message_path, _delete_message),
        _route("POST", f"{message_path}/reactions", _react(True)),
        _route("DELETE", f"{message_path}/reactions", _react(False)),
        _route("POST", "/channels/{channel_id}/threads", _create_thread, 201),
        _route("GET", "/channels/{channel_id}/threads", _threads),
        _route("GET", "/commands", _commands),
        _route("POST", "/interactions/commands", _run_command, 201),
        _route("POST", "/interactions/autocomplete", _autocomplete),
        _route("POST", "/interactions/modals", _submit_modal, 201),
        _route("POST", "/interactions/components", _click, 201),
        _route("GET", "/interactions/{interaction_id}/responses", _responses),
    ]


# Control


def _add_fault(ctx: Context, d: dict[str, Any], r: web.Request) -> dict[str, Any]:
    """POST /faults {match, mode, count?, retry_after?}."""
    fault = ctx.faults.add(
        match=d.get("match", ""),
        mode=d.get("mode", ""),
        count=d.get("count", 1),
        retry_after=d.get("retry_after", 0.5),
    )
    return fault.to_json()


def _clear_faults(ctx: Context, d: dict[str, Any], r: web.Request) -> None:
    """DELETE /faults."""
    ctx.faults.clear()


def _clear_requests(ctx: Context, d: dict[str, Any], r: web.Request) -> None:
    """DELETE /requests."""
    ctx.requests.clear()


async def _drop(ctx: Context, d: dict[str, Any], r: web.Request) -> dict[str, Any]:
    """POST /gateway/drop {code?}: close every gateway socket; clients must RESUME."""
    code = d.get("code", 4000)
    if code is not None and (isinstance(code, bool) or not isinstance(code, int)):
        raise ValueError("code must be a close code or null")
    return {"dropped": await ctx.gateway.drop(code)}


def _sessions(ctx: Context, d: dict[str, Any], r: web.Request) -> dict[str, Any]:
    """GET /gateway/sessions: every session and the gateway's totals."""
    return {
        "sessions": [session.to_json() for session in ctx.gateway.sessions],
        "counts": dict(ctx.gateway.counts),
    }


def _info(ctx: Context, d: dict[str, Any], r: web.Request) -> dict[str, Any]:
    """GET /info: where to point discord.py, the bot's ids and token, the guilds."""
    return {
        "api_base_url": f"{ctx.payloads.base_url}/api/v10",
        "gateway_url": ctx.gateway.url,
        "bot_user_id": ctx.state.bot_user_id,
        "application_id": ctx.state.application_id,
        "bot_name": ctx.state.bot_name,
        "bot_token": ctx.token,
        "guilds": {guild.name: guild.id for guild in ctx.state.guilds.values()},
    }


def control_routes() -> list[web.RouteDef]:
    """Return the admin routes that control the sandbox: faults, request log, gateway."""
    return [
        _route("POST", "/faults", _add_fault, 201),
        _route("GET", "/faults", lambda ctx, d, r: ctx.faults.to_json()),
        _route("DELETE", "/faults", _clear_faults),
        _route("GET", "/requests", lambda ctx, d, r: list(ctx.requests)),
        _route("DELETE", "/requests", _clear_requests),
        _route("POST", "/gateway/drop", _drop),
        _route("GET", "/gateway/sessions", _sessions),
        _route("GET", "/info", _info),
    ]
