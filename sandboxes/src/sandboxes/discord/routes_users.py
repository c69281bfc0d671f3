"""REST routes about the bot itself: users, the application, the gateway, DMs."""

from __future__ import annotations

from aiohttp import web

from sandboxes.discord import errors as err
from sandboxes.discord.api import context, path_id, read_object, respond
from sandboxes.discord.errors import FormErrors
from sandboxes.discord.snowflakes import parse_snowflake

API = "/api/v10"


async def get_current_user(request: web.Request) -> web.Response:
    """GET /users/@me: the bot's own user."""
    return respond(context(request).payloads.current_user())


async def get_user(request: web.Request) -> web.Response:
    """GET /users/{user_id}."""
    ctx = context(request)
    user = ctx.state.user(path_id(request, "user_id", err.unknown_user))
    return respond(ctx.payloads.user(user))


async def open_dm(request: web.Request) -> web.Response:
    """POST /users/@me/channels {recipient_id}: the DM channel with a user."""
    ctx = context(request)
    data = await read_object(request)
    recipient = parse_snowflake(data.get("recipient_id"))
    if recipient is None:
        errors = FormErrors()
        errors.add(("recipient_id",), "BASE_TYPE_REQUIRED", "This field is required")
        raise errors.error()
    return respond(ctx.payloads.channel(ctx.ops.open_dm(recipient)))


async def get_application(request: web.Request) -> web.Response:
    """GET /oauth2/applications/@me (and /applications/@me): the bot's application."""
    return respond(context(request).payloads.application())


async def get_gateway(request: web.Request) -> web.Response:
    """GET /gateway: where to connect."""
    return respond({"url": context(request).gateway.url})


async def get_gateway_bot(request: web.Request) -> web.Response:
    """GET /gateway/bot: where to connect, how many shards, the session start limit."""
    ctx = context(request)
    return respond(
        {
            "url": ctx.gateway.url,
            # Discord recommends a shard per 1,000 guilds (a shard holds at most 2,500).
            "shards": recommended_shards(len(ctx.state.guilds)),
            "session_start_limit": {
                "total": 1000,
                "remaining": 999,
                "reset_after": 86_400_000,
                "max_concurrency": 1,
            },
        }
    )


GUILDS_PER_SHARD = 1000


def recommended_shards(guilds: int) -> int:
    """Return the shard count GET /gateway/bot recommends for this many guilds."""
    return max(1, -(-guilds // GUILDS_PER_SHARD))


def routes() -> list[web.RouteDef]:
    """Return the routes of this module."""
    return [
        web.get(f"{API}/users/@me", get_current_user),
        web.post(f"{API}/users/@me/channels", open_dm),
        web.get(f"{API}/users/{{user_id}}", get_user),
        web.get(f"{API}/oauth2/applications/@me", get_application),
        web.get(f"{API}/applications/@me", get_application),
        web.get(f"{API}/gateway", get_gateway),
        web.get(f"{API}/gateway/bot", get_gateway_bot),
    ]
