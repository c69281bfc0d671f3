"""The chat port over discord.py: messages, edits, forum posts, threads and DMs."""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import discord

from bot.discord.replies import (
    EMBED_DESCRIPTION_LIMIT,
    EMBED_FIELD_NAME_LIMIT,
    EMBED_FIELD_VALUE_LIMIT,
    EMBED_FIELDS_LIMIT,
    EMBED_FOOTER_LIMIT,
    EMBED_TITLE_LIMIT,
    EMBED_TOTAL_LIMIT,
    MESSAGE_LIMIT,
    shorten,
)
from bot.services.ports import (
    CUSTOM_ID_LIMIT,
    ButtonStyle,
    ChatButton,
    ChatEmbed,
    ChatError,
    ChatForbiddenError,
    ChatMessage,
    ChatNotFoundError,
    ChatSelect,
    Forum,
    ForumPost,
    ForumThread,
)

log = logging.getLogger(__name__)

# Discord's limits on thread names and on the tags one forum post may carry.
THREAD_NAME_LIMIT = 100
FORUM_TAGS_LIMIT = 5
# Discord's limits on the tags a forum may offer and on a tag's name.
FORUM_AVAILABLE_TAGS_LIMIT = 20
TAG_NAME_LIMIT = 20
# Discord's limit on a button's label.
BUTTON_LABEL_LIMIT = 80
# Discord's limits on a select menu: options, an option's label, value and description,
# and the placeholder.
SELECT_OPTIONS_LIMIT = 25
SELECT_TEXT_LIMIT = 100
SELECT_PLACEHOLDER_LIMIT = 150
# Discord rejects an embed field with an empty name or value: show an invisible space.
_BLANK = "\u200b"
# Discord's limits: buttons under one message (five rows of five), a link button's URL.
BUTTONS_LIMIT = 25
URL_LIMIT = 512
_BUTTON_TYPE = 2
_SECONDARY = discord.ButtonStyle.secondary
_STYLES: Mapping[str, discord.ButtonStyle] = {
    "primary": discord.ButtonStyle.primary,
    "secondary": discord.ButtonStyle.secondary,
    "success": discord.ButtonStyle.success,
    "danger": discord.ButtonStyle.danger,
}
_STYLE_NAMES: Mapping[int, ButtonStyle] = {1: "primary", 2: "secondary", 3: "success", 4: "danger"}


def split_message(content: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split text into messages of at most `limit` characters, at line ends if possible."""
    chunks: list[str] = []
    current = ""
    for line in content.splitlines(keepends=True):
        text = line.rstrip("\r\n")
        ending = line[len(text) :]
        # A chunk's last line break is dropped when sent, so it does not count.
        if len(current) + len(text) <= limit:
            current += line
            continue
        chunks.append(current)
        while len(text) > limit:  # one line longer than a message: cut at a space
            cut = text.rfind(" ", 0, limit + 1)
            cut = cut if cut > 0 else limit
            chunks.append(text[:cut])
            text = text[cut:].lstrip(" ")
        current = text + ending
    chunks.append(current)
    # Discord trims each message and refuses an empty one.
    return [chunk.strip("\r\n") for chunk in chunks if chunk.strip()]


def to_discord_embed(embed: ChatEmbed) -> discord.Embed:
    """Return a discord.py embed within Discord's limits, each part and in total."""
    result = discord.Embed(
        title=shorten(embed.title, EMBED_TITLE_LIMIT) or None,
        url=embed.url,
        colour=embed.colour,
        timestamp=embed.timestamp,
    )
    fields = [
        (
            shorten(name, EMBED_FIELD_NAME_LIMIT) or _BLANK,
            shorten(value, EMBED_FIELD_VALUE_LIMIT) or _BLANK,
        )
        for name, value in embed.fields[:EMBED_FIELDS_LIMIT]
    ]
    footer = shorten(embed.footer, EMBED_FOOTER_LIMIT)
    fixed = len(result.title or "") + len(footer) + sum(len(n) + len(v) for n, v in fields)
    while fields and fixed > EMBED_TOTAL_LIMIT:  # fields go last-first before the text does
        name, value = fields.pop()
        fixed -= len(name) + len(value)
    room = min(EMBED_DESCRIPTION_LIMIT, max(EMBED_TOTAL_LIMIT - fixed, 0))
    result.description = (shorten(embed.description, room) if room else "") or None
    for name, value in fields:
        result.add_field(name=name, value=value, inline=False)
    if footer:
        result.set_footer(text=footer)
    return result


class _ButtonRow(discord.ui.View):
    """Buttons sent as components only: a click is the bot's persistent handlers' to take,
    so discord.py must not keep this view waiting for it in memory."""

    def is_dispatchable(self) -> bool:
        """Return False: nothing in this view answers clicks itself."""
        return False


def button_view(button: ChatButton) -> discord.ui.View | None:
    """Return a view holding one button, or None when its custom_id cannot fit Discord."""
    return buttons_view([button])


def buttons_view(buttons: Sequence[ChatButton]) -> discord.ui.View | None:
    """Return a view of these buttons, five a row (None when none can be shown).

    A button Discord would refuse (a custom_id over its limit, no label, a link that is
    no web address, more than fit) is left off with a warning: the message still goes.
    """
    view = _ButtonRow(timeout=None)
    for button in buttons:
        item = _button(button)
        if item is None:
            continue
        if len(view.children) >= BUTTONS_LIMIT:
            log.warning("button %r left off: a message holds %d", button.label, BUTTONS_LIMIT)
            break
        view.add_item(item)
    return view if view.children else None


def _button(button: ChatButton) -> discord.ui.Button[Any] | None:
    """Return one discord.py button, or None (with a warning) when Discord would refuse it."""
    if not button.label.strip():
        log.warning("button %r left off: it has no label", button.custom_id or button.url)
        return None
    label = shorten(button.label, BUTTON_LABEL_LIMIT)
    if button.is_link:
        if len(button.url) > URL_LIMIT or not button.url.startswith(("https://", "http://")):
            log.warning("button %r left off: its link is not a web address Discord takes", label)
            return None
        return discord.ui.Button(label=label, url=button.url, style=discord.ButtonStyle.link)
    if not button.custom_id or len(button.custom_id) > CUSTOM_ID_LIMIT:
        log.warning("button %r left off: its custom_id is empty or over %d", label, CUSTOM_ID_LIMIT)
        return None
    return discord.ui.Button(
        label=label, custom_id=button.custom_id, style=_STYLES.get(button.style, _SECONDARY)
    )


def _chat_buttons(message: Mapping[str, Any]) -> tuple[ChatButton, ...]:
    """Return the buttons of a message as the REST API gives it (rows of components)."""
    found = []
    for row in message.get("components") or []:
        for item in row.get("components") or [] if isinstance(row, Mapping) else []:
            if not isinstance(item, Mapping) or item.get("type") != _BUTTON_TYPE:
                continue
            style = _STYLE_NAMES.get(int(item.get("style") or 2), "secondary")
            found.append(
                ChatButton(
                    label=str(item.get("label") or ""),
                    custom_id=str(item.get("custom_id") or ""),
                    url=str(item.get("url") or ""),
                    style=style,
                )
            )
    return tuple(found)


def select_view(select: ChatSelect) -> discord.ui.View | None:
    """Return a view holding one select menu (at most 25 options, each within Discord's
    limits), or None when it cannot be sent."""
    if len(select.custom_id) > CUSTOM_ID_LIMIT or not select.options:
        log.warning("select %r left off: no options, or its custom_id is too long", select)
        return None
    options = [
        discord.SelectOption(
            label=shorten(option.label, SELECT_TEXT_LIMIT) or option.value[:SELECT_TEXT_LIMIT],
            value=option.value,
            description=shorten(option.description, SELECT_TEXT_LIMIT) or None,
        )
        for option in select.options[:SELECT_OPTIONS_LIMIT]
        if 0 < len(option.value) <= SELECT_TEXT_LIMIT
    ]
    view = _ButtonRow(timeout=None)
    view.add_item(
        discord.ui.Select(
            custom_id=select.custom_id,
            placeholder=shorten(select.placeholder, SELECT_PLACEHOLDER_LIMIT) or None,
            options=options,
        )
    )
    return view


@contextlib.contextmanager
def _chat_errors(action: str) -> Iterator[None]:
    """Turn discord.py's exceptions into the port's, so services never see discord.py.

    Rate limits never get here: discord.py waits out a 429 and retries by itself.
    """
    try:
        yield
    except discord.NotFound as error:
        raise ChatNotFoundError(action, error.status, error.text) from error
    except discord.Forbidden as error:
        raise ChatForbiddenError(action, error.status, error.text) from error
    except discord.HTTPException as error:
        raise ChatError(action, error.status, error.text) from error


class DiscordChat:
    """ChatPort over a discord.py client (which must be logged in to be used)."""

    def __init__(self, client: discord.Client, *, guild_id: int | None = None) -> None:
        self._client = client
        self._guild_id = guild_id
        self._counts: Counter[str] = Counter()
        self._count_requests(client)

    def _count_requests(self, client: discord.Client) -> None:
        """Count every REST request the client sends, by route, as the GitHub adapter does.

        Wrapping discord.py's one HTTP entry point counts what really goes out: cache hits
        cost nothing and a fetch behind a helper is not missed.
        """
        http = client.http
        send = http.request
        counts = self._counts

        async def counted(route: discord.http.Route, **options: Any) -> Any:
            counts[f"{route.method} {route.path}"] += 1
            return await send(route, **options)

        http.request = counted  # type: ignore[method-assign]

    @property
    def request_counts(self) -> Mapping[str, int]:
        """Return how many REST requests the client made since this was built, by route."""
        return dict(self._counts)

    async def post_message(
        self,
        channel_id: int,
        content: str,
        *,
        embed: ChatEmbed | None = None,
        select: ChatSelect | None = None,
        buttons: Sequence[ChatButton] = (),
        mention_roles: Sequence[int] = (),
        mention_users: Sequence[int] = (),
    ) -> list[int]:
        """Post in a channel or thread, split into messages that fit (the embed and the
        select menu or buttons under the last); return their ids. Only the roles and people
        in `mention_roles` and `mention_users` are pinged; nobody else ever is."""
        channel = self._client.get_partial_messageable(channel_id)
        view = select_view(select) if select is not None else buttons_view(buttons)
        # The client pings nobody by default (user text is echoed); the roles and people
        # named here are the one exception, and only for this message.
        mentions = (
            discord.AllowedMentions(
                everyone=False,
                users=[discord.Object(i) for i in mention_users],
                roles=[discord.Object(i) for i in mention_roles],
            )
            if mention_roles or mention_users
            else None
        )
        with _chat_errors("post message"):
            return await self._send_parts(
                channel, split_message(content), embed, view, mentions=mentions
            )

    async def edit_message(
        self,
        channel_id: int,
        message_id: int,
        *,
        content: str | None = None,
        embed: ChatEmbed | None = None,
        button: ChatButton | None = None,
        remove_buttons: bool = False,
    ) -> None:
        """Replace a message's content, embed and/or button (None leaves that part as it is);
        `remove_buttons` takes every button and menu away.

        One message cannot be split: content over 2,000 characters is cut, with a warning.
        """
        changes: dict[str, Any] = {}
        if content is not None:
            if len(content) > MESSAGE_LIMIT:
                log.warning("message %s: edit cut to %d characters", message_id, MESSAGE_LIMIT)
            changes["content"] = shorten(content, MESSAGE_LIMIT)
        if embed is not None:
            changes["embed"] = to_discord_embed(embed)
        view = button_view(button) if button is not None else None
        if view is not None:
            changes["view"] = view
        elif remove_buttons:
            changes["view"] = None  # discord.py sends no components: Discord drops them
        if not changes:
            return
        message = self._client.get_partial_messageable(channel_id).get_partial_message(message_id)
        with _chat_errors("edit message"):
            await message.edit(**changes)

    async def replace_messages(
        self, channel_id: int, message_ids: Sequence[int], content: str
    ) -> list[int]:
        """Put new content in a split message: edit the parts in place, post what no longer
        fits, delete what is left over; return the ids it now has."""
        parts = split_message(content)
        channel = self._client.get_partial_messageable(channel_id)
        kept = list(message_ids[: len(parts)])
        with _chat_errors("replace message"):
            for message_id, part in zip(kept, parts, strict=False):
                await channel.get_partial_message(message_id).edit(content=part)
            for part in parts[len(kept) :]:
                kept.append((await channel.send(part)).id)
        for message_id in message_ids[len(parts) :]:
            await self.delete_message(channel_id, message_id)
        return kept

    async def delete_message(self, channel_id: int, message_id: int) -> None:
        """Delete a message (one already gone counts as deleted)."""
        message = self._client.get_partial_messageable(channel_id).get_partial_message(message_id)
        try:
            with _chat_errors("delete message"):
                await message.delete()
        except ChatNotFoundError:
            log.info("message %s was already gone", message_id)

    async def create_forum_post(
        self,
        forum_id: int,
        title: str,
        content: str,
        *,
        tags: Sequence[str] = (),
        tag_ids: Sequence[int] = (),
        embed: ChatEmbed | None = None,
        button: ChatButton | None = None,
    ) -> ForumPost:
        """Open a post in a forum channel, with the forum's tags of these names or ids (and a
        button under its starter message)."""
        with _chat_errors("create forum post"):
            forum = await self._channel(forum_id)
            if not isinstance(forum, discord.ForumChannel):
                raise ChatError("create forum post", 0, f"channel {forum_id} is not a forum")
            parts = split_message(content)
            if not parts and embed is None:
                raise ValueError("a forum post needs content or an embed")
            # Every part but the first continues inside the new thread.
            first, rest = (parts[0], parts[1:]) if parts else (None, [])
            applied: list[discord.abc.Snowflake] = [*self._forum_tags(forum, tags)]
            # Ids need no cached tag list: a tag added a moment ago may not be cached yet.
            applied += [discord.Object(id=i) for i in tag_ids if i not in {t.id for t in applied}]
            options: dict[str, Any] = {"applied_tags": applied[:FORUM_TAGS_LIMIT]}
            if embed is not None and not rest:
                options["embed"] = to_discord_embed(embed)
            view = button_view(button) if button is not None else None
            if view is not None:
                options["view"] = view
            created = await forum.create_thread(
                name=shorten(title, THREAD_NAME_LIMIT), content=first, **options
            )
            ids = [created.message.id]
            if rest:
                ids += await self._send_parts(created.thread, rest, embed)
            return ForumPost(thread_id=created.thread.id, message_ids=tuple(ids))

    async def ensure_forum(
        self, name: str, topic: str, tags: Sequence[str], *, forum_id: int | None = None
    ) -> Forum:
        """Return the forum `forum_id` (or the guild's forum named `name`, created if
        missing), with every tag in `tags` it has room for."""
        with _chat_errors("ensure forum"):
            forum: discord.ForumChannel | None = None
            if forum_id is not None:
                with contextlib.suppress(discord.NotFound):
                    found = await self._channel(forum_id)
                    forum = found if isinstance(found, discord.ForumChannel) else None
            if forum is None:
                guild = await self._guild()
                forum = next((f for f in await self._forums(guild) if f.name == name), None)
            wanted = [shorten(tag, TAG_NAME_LIMIT) for tag in dict.fromkeys(tags)]
            if forum is None:
                forum = await guild.create_forum(
                    name=name,
                    topic=topic,
                    available_tags=[
                        discord.ForumTag(name=tag) for tag in wanted[:FORUM_AVAILABLE_TAGS_LIMIT]
                    ],
                )
            missing = self._missing_tags(forum, wanted)
            if missing:
                # The cache lags the gateway: adding tags from a stale copy would add a tag
                # twice (or drop a new one), so read the forum fresh before writing.
                fresh = await self._client.fetch_channel(forum.id)
                forum = fresh if isinstance(fresh, discord.ForumChannel) else forum
                missing = self._missing_tags(forum, wanted)
            room = FORUM_AVAILABLE_TAGS_LIMIT - len(forum.available_tags)
            if len(missing) > room:
                log.warning("forum %s: room for %d more tags, not %d", forum.id, room, len(missing))
                missing = missing[: max(room, 0)]
            if missing:
                edited = await forum.edit(
                    available_tags=[
                        *forum.available_tags,
                        *(discord.ForumTag(name=tag) for tag in missing),
                    ]
                )
                forum = edited if isinstance(edited, discord.ForumChannel) else forum
            return Forum(
                id=forum.id,
                guild_id=forum.guild.id,
                tags={tag.name: tag.id for tag in forum.available_tags},
            )

    @staticmethod
    def _missing_tags(forum: discord.ForumChannel, wanted: Sequence[str]) -> list[str]:
        have = {tag.name.casefold() for tag in forum.available_tags}
        return [tag for tag in wanted if tag.casefold() not in have]

    async def edit_thread(
        self,
        thread_id: int,
        *,
        name: str | None = None,
        tag_ids: Sequence[int] | None = None,
        archived: bool | None = None,
        locked: bool | None = None,
    ) -> None:
        """Change a thread's name, forum tags, archived or locked state in one request."""
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = shorten(name, THREAD_NAME_LIMIT)
        if tag_ids is not None:
            changes["applied_tags"] = [str(i) for i in list(tag_ids)[:FORUM_TAGS_LIMIT]]
        for key, value in (("archived", archived), ("locked", locked)):
            if value is not None:
                changes[key] = value
        if not changes:
            return
        # Straight to the REST route: an archived thread is not in the cache, and fetching
        # it only to edit it would double the requests.
        with _chat_errors("edit thread"):
            await self._client.http.edit_channel(thread_id, **changes)

    @property
    def user_id(self) -> int:
        """Return the bot's own user id (0 before it has logged in)."""
        user = self._client.user
        return user.id if user is not None else 0

    async def list_forum_threads(self, forum_id: int) -> list[ForumThread]:
        """Return every post of a forum, active and archived (all pages), oldest first."""
        found: dict[int, ForumThread] = {}
        with _chat_errors("list forum posts"):
            guild = await self._guild()
            active = await self._client.http.get_active_threads(guild.id)
            for thread in active.get("threads", []):
                if int(thread.get("parent_id") or 0) == forum_id:
                    found[int(thread["id"])] = _forum_thread(thread)
            before: str | None = None
            while True:
                page = await self._client.http.get_public_archived_threads(
                    forum_id, before=before, limit=100
                )
                threads = page.get("threads", [])
                for thread in threads:
                    found.setdefault(int(thread["id"]), _forum_thread(thread))
                if not page.get("has_more") or not threads:
                    break
                # Pages run newest first by archive time; the next starts before the last.
                before = threads[-1].get("thread_metadata", {}).get("archive_timestamp")
                if before is None:
                    break
        return [found[thread_id] for thread_id in sorted(found)]

    async def fetch_message(self, channel_id: int, message_id: int) -> ChatMessage:
        """Return one message (ChatNotFoundError when it is gone)."""
        with _chat_errors("read message"):
            message = await self._client.http.get_message(channel_id, message_id)
        return chat_message(message)

    async def recent_messages(self, channel_id: int, limit: int = 100) -> list[ChatMessage]:
        """Return a channel's latest messages (at most `limit`, up to 100), newest first."""
        with _chat_errors("read messages"):
            found = await self._client.http.logs_from(channel_id, max(1, min(limit, 100)))
        return [chat_message(message) for message in found]

    async def _guild(self) -> discord.Guild:
        """Return the configured guild (or the only one the bot is in)."""
        if self._guild_id is None:
            if len(self._client.guilds) != 1:
                raise ChatError("find guild", 0, "set discord.guild_id: the bot is in several")
            return self._client.guilds[0]
        guild = self._client.get_guild(self._guild_id)
        return guild or await self._client.fetch_guild(self._guild_id)

    async def _forums(self, guild: discord.Guild) -> list[discord.ForumChannel]:
        """Return the guild's forums, from the cache or, with no gateway session, by REST."""
        if self._client.get_guild(guild.id) is guild:
            return list(guild.forums)
        # A process without a gateway session (a worker) got the guild by REST, which holds
        # no channels: missing a forum there would create a second one of the same name.
        channels = await guild.fetch_channels()
        return [channel for channel in channels if isinstance(channel, discord.ForumChannel)]

    async def create_thread(
        self, channel_id: int, name: str, *, message_id: int | None = None
    ) -> int:
        """Open a public thread in a text channel, on a message if given; return its id."""
        with _chat_errors("create thread"):
            channel = await self._channel(channel_id)
            if not isinstance(channel, discord.TextChannel):
                raise ChatError("create thread", 0, f"channel {channel_id} is not a text channel")
            name = shorten(name, THREAD_NAME_LIMIT)
            if message_id is None:
                thread = await channel.create_thread(
                    name=name, type=discord.ChannelType.public_thread
                )
            else:
                thread = await channel.get_partial_message(message_id).create_thread(name=name)
            return thread.id

    async def send_dm(
        self,
        user_id: int,
        content: str,
        *,
        embed: ChatEmbed | None = None,
        buttons: Sequence[ChatButton] = (),
    ) -> list[int]:
        """Send a person a direct message, split into messages that fit (the embed and
        buttons under the last); return their ids."""
        with _chat_errors("send direct message"):
            channel = await self._client.create_dm(discord.Object(id=user_id))
            return await self._send_parts(
                channel, split_message(content), embed, buttons_view(buttons)
            )

    async def dm_channel_id(self, user_id: int) -> int:
        """Return the id of the bot's DM channel with a person (opened if need be)."""
        with _chat_errors("open direct message"):
            channel = await self._client.create_dm(discord.Object(id=user_id))
        return channel.id

    async def add_reaction(self, channel_id: int, message_id: int, emoji: str) -> None:
        """React to a message as the bot (adding the same reaction twice is harmless)."""
        with _chat_errors("add reaction"):
            channel = self._client.get_partial_messageable(channel_id)
            await channel.get_partial_message(message_id).add_reaction(emoji)

    async def _send_parts(
        self,
        channel: discord.abc.Messageable,
        parts: Sequence[str],
        embed: ChatEmbed | None,
        view: discord.ui.View | None = None,
        *,
        mentions: discord.AllowedMentions | None = None,
    ) -> list[int]:
        """Send each part as a message, the embed and view with the last; return their ids."""
        if not parts and embed is None:
            raise ValueError("a message needs content or an embed")
        ids: list[int] = []
        pinging: dict[str, Any] = {} if mentions is None else {"allowed_mentions": mentions}
        for part in parts[:-1]:
            ids.append((await channel.send(part, **pinging)).id)
        last = parts[-1] if parts else None
        options: dict[str, Any] = dict(pinging)
        if embed is not None:
            options["embed"] = to_discord_embed(embed)
        if view is not None:
            options["view"] = view
        ids.append((await channel.send(last, **options)).id)
        return ids

    async def _channel(
        self, channel_id: int
    ) -> discord.abc.GuildChannel | discord.abc.PrivateChannel | discord.Thread:
        """Return a channel from the cache, or fetch it."""
        return self._client.get_channel(channel_id) or await self._client.fetch_channel(channel_id)

    def _forum_tags(
        self, forum: discord.ForumChannel, names: Sequence[str]
    ) -> list[discord.ForumTag]:
        """Return the forum's tags with these names (case-insensitive), at most five."""
        available = {tag.name.casefold(): tag for tag in forum.available_tags}
        tags: list[discord.ForumTag] = []
        for name in names:
            tag = available.get(name.casefold())
            if tag is None:
                log.warning("forum %s has no tag %r; posting without it", forum.id, name)
            elif tag not in tags:
                tags.append(tag)
        if len(tags) > FORUM_TAGS_LIMIT:
            log.warning("forum %s: a post takes %d tags at most", forum.id, FORUM_TAGS_LIMIT)
        return tags[:FORUM_TAGS_LIMIT]


def chat_message(payload: Mapping[str, Any]) -> ChatMessage:
    """Return a message payload as the port shows it: text, embeds, custom_ids, time."""
    message_id = int(payload["id"])
    return ChatMessage(
        id=message_id,
        author_id=int((payload.get("author") or {}).get("id") or 0),
        content=str(payload.get("content") or ""),
        embeds=tuple(_chat_embed(embed) for embed in payload.get("embeds") or []),
        buttons=_chat_buttons(payload),
        custom_ids=custom_ids(payload.get("components") or []),
        # A snowflake holds the moment it was made, whatever the payload's other fields.
        created_at=discord.utils.snowflake_time(message_id),
        author_name=_author_name(payload),
    )


def _author_name(payload: Mapping[str, Any]) -> str:
    """Return the name a message's author shows: nickname, display name, else username."""
    author = payload.get("author") or {}
    member = payload.get("member") or {}
    for name in (member.get("nick"), author.get("global_name"), author.get("username")):
        if isinstance(name, str) and name.strip():
            return name
    return ""


def custom_ids(components: Sequence[Any]) -> tuple[str, ...]:
    """Return the custom_id of every component in a message's rows, in order."""
    found: list[str] = []
    for component in components:
        if not isinstance(component, Mapping):
            continue
        if isinstance(component.get("custom_id"), str):
            found.append(component["custom_id"])
        found += custom_ids(component.get("components") or [])
    return tuple(found)


def _chat_embed(payload: Mapping[str, Any]) -> ChatEmbed:
    """Return an embed payload as the port's embed (blank field parts read as empty)."""

    def text(value: Any) -> str:
        return "" if value in (None, _BLANK) else str(value)

    return ChatEmbed(
        title=text(payload.get("title")),
        description=text(payload.get("description")),
        url=payload.get("url"),
        fields=tuple(
            (text(item.get("name")), text(item.get("value")))
            for item in payload.get("fields") or []
            if isinstance(item, Mapping)
        ),
        footer=text((payload.get("footer") or {}).get("text")),
        colour=payload.get("color"),
        timestamp=_when(payload.get("timestamp")),
    )


def _when(value: Any) -> datetime | None:
    """Return an embed's ISO 8601 timestamp as a datetime (None when absent or unreadable)."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _forum_thread(payload: Mapping[str, Any]) -> ForumThread:
    """Return a forum post from a thread payload."""
    metadata = payload.get("thread_metadata") or {}
    return ForumThread(
        id=int(payload["id"]),
        name=str(payload.get("name") or ""),
        owner_id=int(payload.get("owner_id") or 0),
        archived=bool(metadata.get("archived")),
        locked=bool(metadata.get("locked")),
    )
