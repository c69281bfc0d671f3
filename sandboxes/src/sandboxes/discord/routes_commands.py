"""REST routes for application commands, global and per guild."""

from __future__ import annotations

from aiohttp import web

from sandboxes.discord import errors as err
from sandboxes.discord.api import (
    Context,
    context,
    no_content,
    path_id,
    read_json,
    read_object,
    respond,
)
from sandboxes.discord.errors import ApiError, FormErrors
from sandboxes.discord.limits import check_command, check_commands
from sandboxes.discord.state import Command

API = "/api/v10"
GLOBAL = f"{API}/applications/{{application_id}}/commands"
GUILD = f"{API}/applications/{{application_id}}/guilds/{{guild_id}}/commands"


def _missing_access() -> ApiError:
    """Return 50001 Missing Access, what another application's commands answer."""
    return ApiError(403, 50001, "Missing Access")


def _scope(request: web.Request) -> tuple[Context, int | None]:
    """Return the context and the guild of a command route (None: global commands)."""
    ctx = context(request)
    if path_id(request, "application_id", _missing_access) != ctx.state.application_id:
        raise _missing_access()
    if "guild_id" not in request.match_info:
        return ctx, None
    guild_id = path_id(request, "guild_id", _missing_access)
    if guild_id not in ctx.state.guilds:
        raise _missing_access()
    return ctx, guild_id


def _listed(ctx: Context, guild_id: int | None) -> list[Command]:
    """Return the commands of a scope, oldest first."""
    commands = [c for c in ctx.state.commands.values() if c.guild_id == guild_id]
    return sorted(commands, key=lambda command: command.id)


def _command(request: web.Request, ctx: Context, guild_id: int | None) -> Command:
    """Return the command named in the path, or 10063 Unknown application command."""
    command = ctx.state.commands.get(path_id(request, "command_id", err.unknown_command))
    if command is None or command.guild_id != guild_id:
        raise err.unknown_command()
    return command


async def list_commands(request: web.Request) -> web.Response:
    """GET .../commands."""
    ctx, guild_id = _scope(request)
    return respond([ctx.payloads.command(c) for c in _listed(ctx, guild_id)])


async def overwrite_commands(request: web.Request) -> web.Response:
    """PUT .../commands: replace every command of the scope (what tree.sync() sends)."""
    ctx, guild_id = _scope(request)
    errors = FormErrors()
    commands = check_commands(errors, await read_json(request))
    errors.raise_if_any()
    created = ctx.ops.overwrite_commands(guild_id, commands)
    return respond([ctx.payloads.command(c) for c in created])


async def create_command(request: web.Request) -> web.Response:
    """POST .../commands: create (201) or replace (200) one command by name."""
    ctx, guild_id = _scope(request)
    data = await read_object(request)
    errors = FormErrors()
    check_command(errors, data, ())
    errors.raise_if_any()
    command, new = ctx.ops.upsert_command(guild_id, data)
    return respond(ctx.payloads.command(command), status=201 if new else 200)


async def get_command(request: web.Request) -> web.Response:
    """GET .../commands/{command_id}."""
    ctx, guild_id = _scope(request)
    return respond(ctx.payloads.command(_command(request, ctx, guild_id)))


async def edit_command(request: web.Request) -> web.Response:
    """PATCH .../commands/{command_id}: change some fields of one command."""
    ctx, guild_id = _scope(request)
    command = _command(request, ctx, guild_id)
    merged = {**ctx.payloads.command(command), **await read_object(request)}
    errors = FormErrors()
    check_command(errors, merged, ())
    errors.raise_if_any()
    del ctx.state.commands[command.id]
    updated, _ = ctx.ops.upsert_command(guild_id, merged)
    return respond(ctx.payloads.command(updated))


async def delete_command(request: web.Request) -> web.Response:
    """DELETE .../commands/{command_id}."""
    ctx, guild_id = _scope(request)
    del ctx.state.commands[_command(request, ctx, guild_id).id]
    return no_content()


def routes() -> list[web.RouteDef]:
    """Return the routes of this module."""
    result = []
    for base in (GLOBAL, GUILD):
        result += [
            web.get(base, list_commands),
            web.put(base, overwrite_commands),
            web.post(base, create_command),
            web.get(f"{base}/{{command_id}}", get_command),
            web.patch(f"{base}/{{command_id}}", edit_command),
            web.delete(f"{base}/{{command_id}}", delete_command),
        ]
    return result
