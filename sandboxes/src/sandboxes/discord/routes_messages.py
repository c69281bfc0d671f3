"""REST routes for messages and reactions, and the CDN path serving attachments."""

from __future__ import annotations

from aiohttp import web

from sandboxes.discord import errors as err
from sandboxes.discord.api import (
    context,
    no_content,
    path_id,
    query_int,
    read_payload,
    respond,
)
from sandboxes.discord.snowflakes import parse_snowflake
from sandboxes.discord.state import Channel, Message

API = "/api/v10"


def _channel(request: web.Request) -> Channel:
    """Return the channel named in the path, or 10003 Unknown Channel."""
    return context(request).state.channel(path_id(request, "channel_id", err.unknown_channel))


def _message(request: web.Request, channel: Channel) -> Message:
    """Return the message named in the path, or 10008 Unknown Message."""
    message_id = path_id(request, "message_id", err.unknown_message)
    return context(request).state.message(channel.id, message_id)


def _query_snowflake(request: web.Request, name: str) -> int | None:
    """Return an id query parameter, or answer 50035 as Discord does for one that is not."""
    raw = request.query.get(name)
    if raw is None:
        return None
    value = parse_snowflake(raw)
    if value is None or value >= 1 << 64:
        raise err.ApiError(
            400,
            50035,
            "Invalid Form Body",
            errors={
                name: {
                    "_errors": [
                        {
                            "code": "NUMBER_TYPE_COERCE",
                            "message": f'Value "{raw}" is not snowflake.',
                        }
                    ]
                }
            },
        )
    return value


async def list_messages(request: web.Request) -> web.Response:
    """GET /channels/{channel_id}/messages?limit&before&after&around: newest first."""
    ctx = context(request)
    channel = _channel(request)
    limit = query_int(request, "limit", 50, 1, 100)
    messages = channel.visible_messages()
    before = _query_snowflake(request, "before")
    after = _query_snowflake(request, "after")
    around = _query_snowflake(request, "around")
    if before is not None:
        messages = [m for m in messages if m.id < before][-limit:]
    elif after is not None:
        messages = [m for m in messages if m.id > after][:limit]
    elif around is not None:
        older = [m for m in messages if m.id <= around]
        newer = [m for m in messages if m.id > around]
        half = limit // 2
        messages = older[-(limit - half) :] + newer[:half]
    else:
        messages = messages[-limit:]
    return respond([ctx.payloads.message(m) for m in reversed(messages)])


async def create_message(request: web.Request) -> web.Response:
    """POST /channels/{channel_id}/messages (MESSAGE_CREATE)."""
    ctx = context(request)
    channel = _channel(request)
    data, files = await read_payload(request)
    message = ctx.messages.create_message(channel, ctx.state.bot_user_id, data, files=files)
    return respond(ctx.payloads.message(message))


async def get_message(request: web.Request) -> web.Response:
    """GET /channels/{channel_id}/messages/{message_id}."""
    ctx = context(request)
    channel = _channel(request)
    return respond(ctx.payloads.message(_message(request, channel)))


async def edit_message(request: web.Request) -> web.Response:
    """PATCH /channels/{channel_id}/messages/{message_id}: the bot's own messages only."""
    ctx = context(request)
    channel = _channel(request)
    message = _message(request, channel)
    data, files = await read_payload(request)
    # Others' messages only take flags (suppressing embeds), as on Discord.
    if message.author_id != ctx.state.bot_user_id and (set(data) - {"flags"} or files):
        raise err.not_author()
    edited = ctx.messages.edit_message(channel, message, data, files=files)
    return respond(ctx.payloads.message(edited))


async def delete_message(request: web.Request) -> web.Response:
    """DELETE /channels/{channel_id}/messages/{message_id} (MESSAGE_DELETE)."""
    ctx = context(request)
    channel = _channel(request)
    ctx.messages.delete_message(channel, _message(request, channel))
    return no_content()


def _emoji(request: web.Request) -> str:
    """Return the emoji named in the path (aiohttp has already percent-decoded it)."""
    return request.match_info["emoji"]


async def add_own_reaction(request: web.Request) -> web.Response:
    """PUT /channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me."""
    ctx = context(request)
    channel = _channel(request)
    message = _message(request, channel)
    ctx.messages.add_reaction(channel, message, ctx.state.bot_user_id, _emoji(request))
    return no_content()


async def remove_own_reaction(request: web.Request) -> web.Response:
    """DELETE /channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me."""
    ctx = context(request)
    channel = _channel(request)
    message = _message(request, channel)
    ctx.messages.remove_reaction(channel, message, ctx.state.bot_user_id, _emoji(request))
    return no_content()


async def remove_user_reaction(request: web.Request) -> web.Response:
    """DELETE /channels/{channel_id}/messages/{message_id}/reactions/{emoji}/{user_id}."""
    ctx = context(request)
    channel = _channel(request)
    message = _message(request, channel)
    user_id = path_id(request, "user_id", err.unknown_user)
    ctx.messages.remove_reaction(channel, message, user_id, _emoji(request))
    return no_content()


async def list_reaction_users(request: web.Request) -> web.Response:
    """GET /channels/{channel_id}/messages/{message_id}/reactions/{emoji}: who reacted."""
    ctx = context(request)
    channel = _channel(request)
    message = _message(request, channel)
    emoji = ctx.messages.parse_emoji(channel, _emoji(request))
    limit = query_int(request, "limit", 25, 1, 100)
    after = _query_snowflake(request, "after") or 0
    reaction = message.reactions.get(emoji.key)
    user_ids = sorted(uid for uid in (reaction.user_ids if reaction else []) if uid > after)
    return respond([ctx.payloads.user(ctx.state.user(uid)) for uid in user_ids[:limit]])


async def typing(request: web.Request) -> web.Response:
    """POST /channels/{channel_id}/typing."""
    _channel(request)
    return no_content()


async def attachment(request: web.Request) -> web.Response:
    """GET /attachments/{channel_id}/{attachment_id}/{filename}: an uploaded file."""
    ctx = context(request)
    item = ctx.state.attachments.get(path_id(request, "attachment_id", err.not_found))
    if item is None or item.filename != request.match_info["filename"]:
        raise err.not_found()
    return web.Response(body=item.data, headers={"Content-Type": item.content_type})


def routes() -> list[web.RouteDef]:
    """Return the routes of this module."""
    message = f"{API}/channels/{{channel_id}}/messages/{{message_id}}"
    return [
        web.get(f"{API}/channels/{{channel_id}}/messages", list_messages),
        web.post(f"{API}/channels/{{channel_id}}/messages", create_message),
        web.post(f"{API}/channels/{{channel_id}}/typing", typing),
        web.get(message, get_message),
        web.patch(message, edit_message),
        web.delete(message, delete_message),
        web.put(f"{message}/reactions/{{emoji}}/@me", add_own_reaction),
        web.delete(f"{message}/reactions/{{emoji}}/@me", remove_own_reaction),
        web.delete(f"{message}/reactions/{{emoji}}/{{user_id}}", remove_user_reaction),
        web.get(f"{message}/reactions/{{emoji}}", list_reaction_users),
        web.get("/attachments/{channel_id}/{attachment_id}/{filename}", attachment),
    ]
