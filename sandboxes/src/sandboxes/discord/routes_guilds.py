"""REST routes for guilds, channels and threads."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from sandboxes.discord import errors as err
from sandboxes.discord import overwrites
from sandboxes.discord.api import (
    Context,
    context,
    no_content,
    path_id,
    query_flag,
    query_int,
    read_object,
    read_payload,
    respond,
)
from sandboxes.discord.payloads import JSON
from sandboxes.discord.state import (
    ANNOUNCEMENT,
    ANNOUNCEMENT_THREAD,
    FORUM,
    MEDIA,
    PUBLIC_THREAD,
    TEXT,
    Channel,
    Guild,
)

API = "/api/v10"


def _guild(request: web.Request) -> Guild:
    """Return the guild named in the path, or 10004 Unknown Guild."""
    return context(request).state.guild(path_id(request, "guild_id", err.unknown_guild))


def _channel(request: web.Request) -> Channel:
    """Return the channel named in the path, or 10003 Unknown Channel."""
    return context(request).state.channel(path_id(request, "channel_id", err.unknown_channel))


async def get_guild(request: web.Request) -> web.Response:
    """GET /guilds/{guild_id}[?with_counts=true]."""
    guild = _guild(request)
    return respond(
        context(request).payloads.guild(guild, with_counts=query_flag(request, "with_counts"))
    )


async def list_channels(request: web.Request) -> web.Response:
    """GET /guilds/{guild_id}/channels: the guild's channels, threads excluded."""
    ctx = context(request)
    guild = _guild(request)
    return respond([ctx.payloads.channel(channel) for channel in ctx.state.guild_channels(guild)])


async def create_channel(request: web.Request) -> web.Response:
    """POST /guilds/{guild_id}/channels: text, category, forum... (CHANNEL_CREATE)."""
    ctx = context(request)
    guild = _guild(request)
    data = ctx.ops.check_new_channel(guild, await read_object(request))
    return respond(ctx.payloads.channel(ctx.ops.create_channel(guild, data)), status=201)


async def get_member(request: web.Request) -> web.Response:
    """GET /guilds/{guild_id}/members/{user_id}."""
    ctx = context(request)
    guild = _guild(request)
    member = guild.members.get(path_id(request, "user_id", err.unknown_user))
    if member is None:
        raise err.unknown("Member", 10007)
    return respond(ctx.payloads.member(guild, member))


async def list_members(request: web.Request) -> web.Response:
    """GET /guilds/{guild_id}/members?limit&after: members by user id."""
    ctx = context(request)
    guild = _guild(request)
    limit = query_int(request, "limit", 1, 1, 1000)
    after = query_int(request, "after", 0, 0, 2**63)
    members = sorted(
        (m for m in guild.members.values() if m.user_id > after), key=lambda m: m.user_id
    )
    return respond([ctx.payloads.member(guild, member) for member in members[:limit]])


async def list_roles(request: web.Request) -> web.Response:
    """GET /guilds/{guild_id}/roles."""
    ctx = context(request)
    return respond([ctx.payloads.role(role) for role in _guild(request).roles.values()])


def _thread_page(ctx: Context, threads: list[Channel], *, has_more: bool) -> JSON:
    """Return a ThreadsResponse: the threads, the bot's memberships in them, `has_more`."""
    bot = ctx.state.bot_user_id
    return {
        "threads": [ctx.payloads.thread(thread) for thread in threads],
        "members": [
            ctx.payloads.thread_member(thread, bot)
            for thread in threads
            if bot in thread.member_ids
        ],
        "has_more": has_more,
    }


def _query_time(request: web.Request, name: str) -> datetime | None:
    """Return an ISO 8601 query parameter as an aware time, or answer 50035."""
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        errors = err.FormErrors()
        errors.add((name,), "DATE_TYPE_PARSE", f"Could not parse {raw}.")
        raise errors.error()
    return moment


async def active_threads(request: web.Request) -> web.Response:
    """GET /guilds/{guild_id}/threads/active: threads not archived, with the bot's memberships."""
    ctx = context(request)
    threads = ctx.state.guild_threads(_guild(request), active_only=True)
    return respond(_thread_page(ctx, threads, has_more=False))


async def archived_threads(request: web.Request) -> web.Response:
    """GET /channels/{channel_id}/threads/archived/public?before&limit: a channel's archived
    public threads, most recently archived first, `limit` (2-100, default 50) a page."""
    ctx = context(request)
    channel = _channel(request)
    if channel.type not in (TEXT, ANNOUNCEMENT, FORUM, MEDIA):
        raise err.wrong_channel_type()
    limit = query_int(request, "limit", 50, 2, 100)
    before = _query_time(request, "before")
    guild = ctx.state.guild(channel.guild_id or 0)
    threads = sorted(
        (
            thread
            for thread in ctx.state.guild_threads(guild)
            if thread.parent_id == channel.id
            and thread.archived
            and thread.type in (PUBLIC_THREAD, ANNOUNCEMENT_THREAD)
            and (before is None or _archived_at(thread) < before)
        ),
        key=lambda thread: (_archived_at(thread), thread.id),
        reverse=True,
    )
    return respond(_thread_page(ctx, threads[:limit], has_more=len(threads) > limit))


def _archived_at(thread: Channel) -> datetime:
    """Return when a thread was archived (its creation when never archived by a request)."""
    return thread.archive_timestamp or thread.created_at


async def get_channel(request: web.Request) -> web.Response:
    """GET /channels/{channel_id}: any channel, thread or DM."""
    return respond(context(request).payloads.channel(_channel(request)))


async def update_channel(request: web.Request) -> web.Response:
    """PATCH /channels/{channel_id}: CHANNEL_UPDATE, or THREAD_UPDATE for a thread."""
    ctx = context(request)
    channel = ctx.ops.update_channel(_channel(request), await read_object(request))
    return respond(ctx.payloads.channel(channel))


async def delete_channel(request: web.Request) -> web.Response:
    """DELETE /channels/{channel_id}: answer the deleted channel."""
    ctx = context(request)
    return respond(ctx.ops.delete_channel(_channel(request)))


async def create_thread(request: web.Request) -> web.Response:
    """POST /channels/{channel_id}/threads: a forum post (with its first message) or a
    thread without a message in a text channel (THREAD_CREATE)."""
    ctx = context(request)
    parent = _channel(request)
    data, files = await read_payload(request)
    data = ctx.ops.check_new_thread(parent, data, from_message=False)
    thread, first = ctx.ops.create_thread(parent, ctx.state.bot_user_id, data, files=files)
    body = ctx.payloads.thread(thread)
    if first is not None:
        body["message"] = ctx.payloads.message(first)
    return respond(body, status=201)


async def create_thread_from_message(request: web.Request) -> web.Response:
    """POST /channels/{channel_id}/messages/{message_id}/threads (THREAD_CREATE)."""
    ctx = context(request)
    parent = _channel(request)
    starter = ctx.state.message(parent.id, path_id(request, "message_id", err.unknown_message))
    data = ctx.ops.check_new_thread(parent, await read_object(request), from_message=True)
    thread, _ = ctx.ops.create_thread(parent, ctx.state.bot_user_id, data, starter=starter)
    return respond(ctx.payloads.thread(thread), status=201)


async def join_thread(request: web.Request) -> web.Response:
    """PUT /channels/{channel_id}/thread-members/@me."""
    thread = _channel(request)
    if not thread.is_thread:
        raise err.wrong_channel_type()
    bot = context(request).state.bot_user_id
    if bot not in thread.member_ids:
        thread.member_ids.append(bot)
    return web.Response(status=204)


async def leave_thread(request: web.Request) -> web.Response:
    """DELETE /channels/{channel_id}/thread-members/@me."""
    thread = _channel(request)
    if not thread.is_thread:
        raise err.wrong_channel_type()
    bot = context(request).state.bot_user_id
    if bot in thread.member_ids:
        thread.member_ids.remove(bot)
    return web.Response(status=204)


async def put_permission(request: web.Request) -> web.Response:
    """PUT /channels/{channel_id}/permissions/{overwrite_id} {type, allow, deny}: 204."""
    ctx = context(request)
    channel = ctx.state.channel(path_id(request, "channel_id", err.unknown_channel))
    target = path_id(request, "overwrite_id", err.unknown_overwrite)
    overwrites.set_overwrite(ctx.gateway, ctx.payloads, channel, target, await read_object(request))
    return no_content()


async def delete_permission(request: web.Request) -> web.Response:
    """DELETE /channels/{channel_id}/permissions/{overwrite_id}: 204."""
    ctx = context(request)
    channel = ctx.state.channel(path_id(request, "channel_id", err.unknown_channel))
    overwrites.delete_overwrite(
        ctx.gateway, ctx.payloads, channel, path_id(request, "overwrite_id", err.unknown_overwrite)
    )
    return no_content()


def routes() -> list[web.RouteDef]:
    """Return the routes of this module."""
    return [
        web.get(f"{API}/guilds/{{guild_id}}", get_guild),
        web.get(f"{API}/guilds/{{guild_id}}/channels", list_channels),
        web.post(f"{API}/guilds/{{guild_id}}/channels", create_channel),
        web.get(f"{API}/guilds/{{guild_id}}/members", list_members),
        web.get(f"{API}/guilds/{{guild_id}}/members/{{user_id}}", get_member),
        web.get(f"{API}/guilds/{{guild_id}}/roles", list_roles),
        web.get(f"{API}/guilds/{{guild_id}}/threads/active", active_threads),
        web.get(f"{API}/channels/{{channel_id}}", get_channel),
        web.patch(f"{API}/channels/{{channel_id}}", update_channel),
        web.delete(f"{API}/channels/{{channel_id}}", delete_channel),
        web.put(f"{API}/channels/{{channel_id}}/permissions/{{overwrite_id}}", put_permission),
        web.delete(
            f"{API}/channels/{{channel_id}}/permissions/{{overwrite_id}}", delete_permission
        ),
        web.post(f"{API}/channels/{{channel_id}}/threads", create_thread),
        web.get(f"{API}/channels/{{channel_id}}/threads/archived/public", archived_threads),
        web.post(
            f"{API}/channels/{{channel_id}}/messages/{{message_id}}/threads",
            create_thread_from_message,
        ),
        web.put(f"{API}/channels/{{channel_id}}/thread-members/@me", join_thread),
        web.delete(f"{API}/channels/{{channel_id}}/thread-members/@me", leave_thread),
    ]
