"""A read-only viewer of the sandbox's world, at Discord's own web paths.

Discord links a message as `https://discord.com/channels/{guild}/{channel}/{message}`;
with the bot's `discord.web_url` set to this sandbox's address, the same link opens here:
`/` lists the servers, `/channels/{guild}` a server's channels, `/channels/{guild}/{channel}`
a channel's or thread's messages (or a forum's posts), and `/channels/{guild}/{channel}/
{message}` the same page with that message marked and focused. `/channels/@me` lists the
bot's direct messages; `/channels/@me/{id}` shows one, by DM channel id or by user id.

Messages show their author, their text (escaped, with Markdown and mentions), embeds,
components (buttons and selects, disabled: nothing can be clicked here), attachments and
reactions. The pages read the state as it is at the request; they never change it.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from sandboxes.discord.api import CONTEXT
from sandboxes.discord.state import (
    ANNOUNCEMENT,
    CATEGORY,
    DM,
    FORUM,
    MEDIA,
    MESSAGEABLE_TYPES,
    Channel,
    Guild,
    Message,
    State,
)
from sandboxes.pages import (
    STYLESHEET_PATH,
    PageNotFoundError,
    Site,
    esc,
    is_web_address,
    link,
    markdown_escape,
    markdown_html,
    not_found,
    page,
    server_error,
    stylesheet,
    when,
)

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SITE = Site("Discord sandbox (offline)")
ME = "@me"
CHANNEL_KINDS = {
    0: "text channel",
    2: "voice channel",
    4: "category",
    5: "announcement channel",
    10: "announcement thread",
    11: "thread",
    12: "private thread",
    13: "stage",
    15: "forum",
    16: "media channel",
}
SYSTEM_THREAD_CREATED = 18
_USER_MENTION = re.compile(r"<@!?(\d{1,20})>")
_ROLE_MENTION = re.compile(r"<@&(\d{1,20})>")
_CHANNEL_MENTION = re.compile(r"<#(\d{1,20})>")
_COMMAND_MENTION = re.compile(r"</([\w -]{1,100}):\d{1,20}>")
_EMOJI = re.compile(r"<a?:(\w{1,32}):\d{1,20}>")
_TIMESTAMP = re.compile(r"<t:(-?\d{1,13})(?::[tTdDfFR])?>")


def routes() -> list[web.RouteDef]:
    """Return the viewer's routes (none is under /api, so no bot token is asked for)."""
    return [
        web.get(STYLESHEET_PATH, stylesheet),
        web.get("/", _safe(home)),
        web.get("/app", _safe(home)),
        web.get("/channels/{guild}", _safe(guild_page)),
        web.get("/channels/{guild}/{channel}", _safe(channel_page)),
        web.get("/channels/{guild}/{channel}/{message}", _safe(channel_page)),
    ]


def _safe(handler: Handler) -> Handler:
    """Answer a missing thing with the 404 page and a failure with the 500 page."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except PageNotFoundError as missing:
            return not_found(SITE, missing.what)
        except Exception:
            log.exception("Discord sandbox page %s failed", request.path)
            return server_error(SITE)

    return wrapped


def _state(request: web.Request) -> State:
    return request.app[CONTEXT].state


def _snowflake(request: web.Request, key: str, what: str) -> int:
    value = request.match_info[key]
    if not value.isdigit() or len(value) > 20:
        raise PageNotFoundError(f"{value!r} is not a Discord id, so there is no such {what}.")
    return int(value)


# Names and text


def _name(state: State, user_id: int, guild: Guild | None = None) -> str:
    """Return how Discord shows a person: their server nickname, display name or username."""
    member = guild.members.get(user_id) if guild is not None else None
    if member is not None and member.nick:
        return member.nick
    user = state.users.get(user_id)
    if user is None:
        return f"unknown user {user_id}"
    return user.global_name or user.username


def _channel_url(channel: Channel) -> str:
    return f"/channels/{channel.guild_id or ME}/{channel.id}"


def _message_url(channel: Channel, message: Message) -> str:
    return f"{_channel_url(channel)}/{message.id}"


def _discord_markdown(state: State, text: str, guild: Guild | None) -> str:
    """Turn Discord's mention syntax into readable Markdown, then render it safely."""

    def user(found: re.Match[str]) -> str:
        return "@" + markdown_escape(_name(state, int(found.group(1)), guild))

    def role(found: re.Match[str]) -> str:
        known = guild.roles.get(int(found.group(1))) if guild is not None else None
        return "@" + markdown_escape(known.name if known else "unknown role")

    def channel(found: re.Match[str]) -> str:
        known = state.channels.get(int(found.group(1)))
        if known is None:
            return "#unknown"
        return f"[#{markdown_escape(known.name or str(known.id))}]({_channel_url(known)})"

    def stamp(found: re.Match[str]) -> str:
        try:
            moment = datetime.fromtimestamp(int(found.group(1)), UTC)
        except (OverflowError, OSError, ValueError):
            return found.group(0)
        return moment.strftime("%Y-%m-%d %H:%M UTC")

    text = _USER_MENTION.sub(user, text)
    text = _ROLE_MENTION.sub(role, text)
    text = _CHANNEL_MENTION.sub(channel, text)
    text = _COMMAND_MENTION.sub(lambda found: "/" + markdown_escape(found.group(1)), text)
    text = _EMOJI.sub(lambda found: f":{found.group(1)}:", text)
    text = _TIMESTAMP.sub(stamp, text)
    return markdown_html(text)


def _text(value: Any) -> str:
    """Return a JSON value as text (embeds and components hold what the bot sent)."""
    return value if isinstance(value, str) else ""


# Embeds and components


def _embed_html(state: State, embed: dict[str, Any], guild: Guild | None) -> str:
    """Return an embed: colour, author, title (linked), description, fields and footer."""
    if not isinstance(embed, dict):
        return ""
    color = embed.get("color")
    style = ""
    if isinstance(color, int) and not isinstance(color, bool) and 0 <= color <= 0xFFFFFF:
        style = f' style="border-inline-start-color: #{color:06x}"'
    parts = []
    author = embed.get("author")
    if isinstance(author, dict) and _text(author.get("name")):
        name = _text(author["name"])
        url = author.get("url")
        parts.append(f'<p class="meta">{link(url, name) if is_web_address(url) else esc(name)}</p>')
    title = _text(embed.get("title"))
    if title:
        url = embed.get("url")
        shown = link(url, title) if is_web_address(url) else esc(title)
        parts.append(f'<p class="title" dir="auto">{shown}</p>')
    description = _text(embed.get("description"))
    if description:
        parts.append(f'<div dir="auto">{_discord_markdown(state, description, guild)}</div>')
    fields = embed.get("fields")
    if isinstance(fields, list) and fields:
        items = "".join(
            f'<div class="{"inline" if field.get("inline") else ""}" dir="auto">'
            f"<dt>{esc(_text(field.get('name')))}</dt>"
            f"<dd>{_discord_markdown(state, _text(field.get('value')), guild)}</dd></div>"
            for field in fields
            if isinstance(field, dict)
        )
        parts.append(f"<dl>{items}</dl>")
    for key in ("image", "thumbnail"):
        media = embed.get(key)
        if isinstance(media, dict) and is_web_address(media.get("url")):
            url = media["url"]
            parts.append(f'<p class="meta">{link(url, f"{key}: {url}")}</p>')
    footer = embed.get("footer")
    footer_text = _text(footer.get("text")) if isinstance(footer, dict) else ""
    stamp = _text(embed.get("timestamp"))
    if footer_text or stamp:
        parts.append(f'<p class="meta" dir="auto">{esc(footer_text)} {esc(stamp)}</p>')
    return f'<div class="embed"{style}>{"".join(parts)}</div>'


def _emoji(value: Any) -> str:
    if not isinstance(value, dict):
        return ""
    name = _text(value.get("name"))
    return f":{name}:" if value.get("id") else name


def _labelled(item: dict[str, Any]) -> str:
    """Return a button's or option's emoji and label, as it reads."""
    return " ".join(part for part in (_emoji(item.get("emoji")), _text(item.get("label"))) if part)


def _component_html(state: State, item: Any, guild: Guild | None) -> str:
    """Return one component as a disabled control (a link button stays a link)."""
    if not isinstance(item, dict):
        return ""
    kind = item.get("type")
    if kind == 1:  # action row
        children = item.get("components")
        inner = "".join(_component_html(state, child, guild) for child in children or [])
        return f'<div class="row">{inner}</div>'
    if kind == 2:  # button
        label = _labelled(item)
        style = item.get("style") if isinstance(item.get("style"), int) else 2
        if style == 5 and is_web_address(item.get("url")):
            return link(item["url"], f"{label} ↗", class_="link-button")
        return f'<button type="button" class="style-{style}" disabled>{esc(label)}</button>'
    if kind in (3, 5, 6, 7, 8):  # selects
        placeholder = _text(item.get("placeholder")) or "Make a selection"
        options = "".join(
            f"<option>{esc(_labelled(option))}</option>"
            for option in item.get("options") or []
            if isinstance(option, dict)
        )
        return (
            f'<select disabled aria-label="{esc(placeholder)}">'
            f"<option>{esc(placeholder)}</option>{options}</select>"
        )
    if kind == 10:  # text display
        return (
            f'<div dir="auto">{_discord_markdown(state, _text(item.get("content")), guild)}</div>'
        )
    if kind in (9, 17):  # section, container
        inner = "".join(
            _component_html(state, child, guild) for child in item.get("components") or []
        )
        accessory = _component_html(state, item.get("accessory"), guild)
        return f'<div class="embed">{inner}{accessory}</div>'
    if kind == 14:  # separator
        return "<hr>"
    return ""


def _components_html(state: State, message: Message, guild: Guild | None) -> str:
    if not message.components:
        return ""
    inner = "".join(_component_html(state, item, guild) for item in message.components)
    return f'<div class="components">{inner}</div>'


# Messages


def _message_html(
    state: State, channel: Channel, message: Message, guild: Guild | None, *, target: bool
) -> str:
    """Return one message as an article, anchored at `message-{id}`."""
    author = _name(state, message.author_id, guild)
    user = state.users.get(message.author_id)
    badge = '<span class="bot">BOT</span>' if (user and user.bot) or message.webhook_id else ""
    edited = " (edited)" if message.edited_timestamp else ""
    header = (
        f'<p class="meta"><span class="author" dir="auto">{esc(author)}</span>{badge} '
        f'<a href="{esc(_message_url(channel, message))}">{when(message.timestamp)}</a>'
        f"{edited}</p>"
    )
    parts = [header]
    if message.type == 19 and message.reference:
        replied = channel.messages.get(int(message.reference.get("message_id") or 0))
        if replied is not None:
            excerpt = replied.content[:80] + ("…" if len(replied.content) > 80 else "")
            parts.append(
                f'<p class="meta">Replying to {esc(_name(state, replied.author_id, guild))}: '
                f"{link(_message_url(channel, replied), excerpt or 'a message')}</p>"
            )
    if message.type == SYSTEM_THREAD_CREATED:
        thread = state.channels.get(int((message.reference or {}).get("channel_id") or 0))
        target_link = (
            link(_channel_url(thread), message.content) if thread else esc(message.content)
        )
        parts.append(f"<p>{esc(author)} started a thread: {target_link}</p>")
    elif message.content:
        parts.append(f'<div dir="auto">{_discord_markdown(state, message.content, guild)}</div>')
    parts += [_embed_html(state, embed, guild) for embed in message.embeds]
    parts.append(_components_html(state, message, guild))
    if message.attachments:
        files = ", ".join(
            link(f"/attachments/{item.channel_id}/{item.id}/{item.filename}", item.filename)
            for item in message.attachments
        )
        parts.append(f'<p class="meta">Attachments: {files}</p>')
    if message.reactions:
        counts = "".join(
            f"<span>{esc(reaction.emoji_name)} {len(reaction.user_ids)}</span>"
            for reaction in message.reactions.values()
            if reaction.user_ids
        )
        parts.append(f'<p class="reactions">{counts}</p>')
    if message.thread_id and message.thread_id != channel.id:
        thread = state.channels.get(message.thread_id)
        if thread is not None:
            parts.append(
                f'<p class="meta">Thread: {link(_channel_url(thread), thread.name or "")}</p>'
            )
    marked = ' target" tabindex="-1" autofocus aria-current="true' if target else '" tabindex="-1'
    return f'<article class="message{marked}" id="message-{message.id}">{"".join(parts)}</article>'


def _messages_html(state: State, channel: Channel, guild: Guild | None, target: int | None) -> str:
    messages = channel.visible_messages()
    if not messages:
        return "<p>No messages yet.</p>"
    return "".join(
        _message_html(state, channel, message, guild, target=message.id == target)
        for message in messages
    )


# Pages


async def home(request: web.Request) -> web.Response:
    """GET / (and /app): the servers and the direct messages."""
    state = _state(request)
    servers = "".join(
        f"<li>{link(f'/channels/{guild.id}', guild.name)} "
        f'<span class="muted">{len(guild.members)} members</span></li>'
        for guild in state.guilds.values()
    )
    direct = link(f"/channels/{ME}", "The bot's direct messages")
    body = (
        f'<h1>Servers</h1><ul class="plain">{servers or "<li>No server yet.</li>"}</ul>'
        f"<h2>Direct messages</h2><p>{direct} "
        f'<span class="muted">({len(state.dm_channels)})</span></p>'
    )
    return page(SITE, "Servers", body)


def _guild(state: State, request: web.Request) -> Guild:
    guild = state.guilds.get(_snowflake(request, "guild", "server"))
    if guild is None:
        raise PageNotFoundError(f"There is no server {request.match_info['guild']} here.")
    return guild


def _channel_item(channel: Channel) -> str:
    kind = CHANNEL_KINDS.get(channel.type, "channel")
    name = ("#" if channel.type != FORUM else "") + (channel.name or str(channel.id))
    shown = link(_channel_url(channel), name) if channel.type != CATEGORY else esc(name)
    topic = f' <span class="muted" dir="auto">{esc(channel.topic)}</span>' if channel.topic else ""
    return f'<li>{shown} <span class="muted">({kind})</span>{topic}</li>'


async def guild_page(request: web.Request) -> web.Response:
    """GET /channels/{guild}: a server's channels by category (@me: direct messages)."""
    state = _state(request)
    if request.match_info["guild"] == ME:
        return _dm_list(state)
    guild = _guild(state, request)
    channels = sorted(state.guild_channels(guild), key=lambda c: (c.position, c.id))
    loose = [c for c in channels if c.parent_id is None and c.type != CATEGORY]
    sections = [f'<ul class="plain">{"".join(_channel_item(c) for c in loose)}</ul>']
    for category in (c for c in channels if c.type == CATEGORY):
        children = [c for c in channels if c.parent_id == category.id]
        sections.append(
            f'<h2 dir="auto">{esc(category.name or "")}</h2>'
            f'<ul class="plain">{"".join(_channel_item(c) for c in children) or "<li>Empty.</li>"}'
            "</ul>"
        )
    body = f'<h1 dir="auto">{esc(guild.name)}</h1>{"".join(sections)}'
    return page(SITE, guild.name, body, crumbs=[("/", "Servers"), (None, guild.name)])


def _dm_list(state: State) -> web.Response:
    items = "".join(
        f"<li>{link(f'/channels/{ME}/{channel_id}', _name(state, user_id))}</li>"
        for user_id, channel_id in state.dm_channels.items()
    )
    body = f'<h1>Direct messages</h1><ul class="plain">{items or "<li>None yet.</li>"}</ul>'
    return page(SITE, "Direct messages", body, crumbs=[("/", "Servers"), (None, "Direct messages")])


def _forum_html(state: State, forum: Channel, guild: Guild) -> str:
    """Return a forum's posts, newest first, with their tags and message counts."""
    tags = {tag.id: tag.name for tag in forum.available_tags}
    posts = sorted(
        (c for c in state.guild_threads(guild) if c.parent_id == forum.id),
        key=lambda thread: thread.id,
        reverse=True,
    )
    if not posts:
        return "<p>No posts yet.</p>"
    rows = []
    for post in posts:
        applied = "".join(
            f'<span class="label">{esc(tags.get(tag, "?"))}</span>' for tag in post.applied_tags
        )
        flags = " · archived" if post.archived else ""
        flags += " · locked" if post.locked else ""
        owner = _name(state, post.owner_id or 0, guild)
        rows.append(
            f'<li><span dir="auto">{link(_channel_url(post), post.name or str(post.id))}</span> '
            f'<span class="labels">{applied}</span><br><span class="muted">by {esc(owner)} · '
            f"{post.message_count + 1} messages{flags}</span></li>"
        )
    return f'<ul class="plain" aria-label="Posts">{"".join(rows)}</ul>'


async def channel_page(request: web.Request) -> web.Response:
    """GET /channels/{guild}/{channel}[/{message}]: a channel's or thread's messages, the
    message marked and focused; a forum's posts; a DM (guild @me)."""
    state = _state(request)
    target = _snowflake(request, "message", "message") if "message" in request.match_info else None
    if request.match_info["guild"] == ME:
        return _dm_page(state, request, target)
    guild = _guild(state, request)
    channel = state.channels.get(_snowflake(request, "channel", "channel"))
    if channel is None or channel.guild_id != guild.id:
        raise PageNotFoundError(f"{guild.name} has no channel {request.match_info['channel']}.")
    if target is not None and target not in channel.messages:
        raise PageNotFoundError(f"#{channel.name} has no message {target}.")
    crumbs: list[tuple[str | None, str]] = [("/", "Servers"), (f"/channels/{guild.id}", guild.name)]
    parent = state.channels.get(channel.parent_id or 0)
    if channel.is_thread and parent is not None:
        crumbs.append((_channel_url(parent), parent.name or ""))
    crumbs.append((None, channel.name or str(channel.id)))
    kind = CHANNEL_KINDS.get(channel.type, "channel")
    head = f'<h1 dir="auto">{esc(channel.name or channel.id)}</h1><p class="meta">{kind}'
    if channel.topic:
        head += f' · <span dir="auto">{esc(channel.topic)}</span>'
    if channel.is_thread:
        tags = {tag.id: tag.name for tag in parent.available_tags} if parent else {}
        names = ", ".join(tags.get(tag, "?") for tag in channel.applied_tags)
        head += f" · tags: {esc(names)}" if names else ""
        head += " · archived" if channel.archived else ""
        head += " · locked" if channel.locked else ""
    head += "</p>"
    if channel.type in (FORUM, MEDIA):
        body = head + _forum_html(state, channel, guild)
    elif channel.type == CATEGORY:
        children = [c for c in state.guild_channels(guild) if c.parent_id == channel.id]
        body = head + f'<ul class="plain">{"".join(_channel_item(c) for c in children)}</ul>'
    elif channel.type in MESSAGEABLE_TYPES:
        body = head + _messages_html(state, channel, guild, target)
        threads = [
            thread
            for thread in state.guild_threads(guild)
            if thread.parent_id == channel.id and channel.type in (0, ANNOUNCEMENT)
        ]
        if threads:
            items = "".join(
                f"<li>{link(_channel_url(thread), thread.name or str(thread.id))}</li>"
                for thread in threads
            )
            body += f'<h2>Threads</h2><ul class="plain">{items}</ul>'
    else:
        body = head + "<p>Nothing to read in this channel.</p>"
    return page(SITE, f"{channel.name} · {guild.name}", body, crumbs=crumbs)


def _dm_page(state: State, request: web.Request, target: int | None) -> web.Response:
    """Show a DM, named by its channel id or by the user's id."""
    wanted = _snowflake(request, "channel", "conversation")
    channel = state.channels.get(wanted)
    if channel is None or channel.type != DM:
        known = state.dm_channels.get(wanted)
        channel = state.channels.get(known) if known is not None else None
    if channel is None or channel.type != DM:
        raise PageNotFoundError(f"The bot has no direct messages with {wanted}.")
    if target is not None and target not in channel.messages:
        raise PageNotFoundError(f"This conversation has no message {target}.")
    people = [uid for uid in channel.recipient_ids if uid != state.bot_user_id]
    who = ", ".join(_name(state, uid) for uid in people) or "someone"
    body = f'<h1 dir="auto">Direct messages with {esc(who)}</h1>'
    body += _messages_html(state, channel, None, target)
    crumbs = [("/", "Servers"), (f"/channels/{ME}", "Direct messages"), (None, who)]
    return page(SITE, f"Direct messages with {who}", body, crumbs=crumbs)
