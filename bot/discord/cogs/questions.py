"""Questions in lesson posts and in posts learners open in a program's forum: messages,
edits, deletions and ✅ reactions, `/ask`, `/resolve`, and the lesson picker of a help post.

Everything said in a forum post goes to the question service, which decides what is a
question, what answers one, who resolved it and which lesson a help post is about; this cog
only translates Discord's events, commands and picks into its calls.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections.abc import Sequence
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.cogs.lessons import ECHO_LIMIT, choice_for
from bot.discord.replies import CHOICE_LIMIT, CHOICES_LIMIT, defer_if_slow, reply, shorten
from bot.discord.translator import described
from bot.domain.link_texts import message_url
from bot.i18n import t
from bot.services.lessons import LessonDirectory
from bot.services.linking import LinkDirectory
from bot.services.ports import ActivePost, PostMessage
from bot.services.questions import ASK_LIMIT, PICKER_PREFIX, QuestionError, QuestionService
from bot.store.reachable import while_unreachable

log = logging.getLogger(__name__)

# Only what people write: joins, pins and thread renames are not discussion.
_PEOPLES_MESSAGES = (discord.MessageType.default, discord.MessageType.reply)
# A message link as Discord copies it: .../channels/<guild>/<channel>/<message>.
_LINK_PATH = r"/channels/(?:\d+|@me)/(\d+)/(\d+)/?$"
_MESSAGE_LINK = re.compile(r"^https?://(?:\w+\.)?discord(?:app)?\.com" + _LINK_PATH)


def parse_message_link(text: str, web_url: str | None = None) -> tuple[int | None, int] | None:
    """Return (channel id, message id) from a message link, or (None, id) from a bare id.

    Discord's own links are read, and those under `web_url` (the sandbox's viewer).
    """
    text = text.strip().strip("<>")
    if text.isdigit():
        return None, int(text)
    found = _MESSAGE_LINK.match(text)
    if found is None and web_url:
        found = re.match(rf"^{re.escape(web_url.rstrip('/'))}{_LINK_PATH}", text)
    return (int(found[1]), int(found[2])) if found else None


def _role_ids(member: object) -> list[str]:
    """Return a member's role ids as strings (none for a plain user)."""
    return [str(role.id) for role in getattr(member, "roles", None) or ()]


def _post_message(message: discord.Message, thread: discord.Thread) -> PostMessage:
    """Return what the question service needs of a message in a forum post."""
    reply_to = None
    if message.type == discord.MessageType.reply and message.reference is not None:
        reply_to = message.reference.message_id
    return PostMessage(
        thread.id,
        message.id,
        message.author.id,
        message.author.display_name,
        message.content,
        is_bot=message.author.bot,
        reply_to=reply_to,
        roles=tuple(_role_ids(message.author)),
        created_at=message.created_at,
        guild_id=thread.guild.id,
        # A post someone opened in a program's forum is a help post of the program.
        forum_id=thread.parent_id,
        post_title=thread.name,
        post_owner_id=thread.owner_id,
    )


def active_posts(guilds: Sequence[discord.Guild]) -> list[ActivePost]:
    """Return the threads a session said are active in these guilds (not archived)."""
    return [
        ActivePost(
            thread.id,
            guild.id,
            thread.parent_id,
            thread.name,
            thread.owner_id,
            thread.last_message_id,
        )
        for guild in guilds
        for thread in guild.threads
        if not thread.archived
    ]


class ThreadHistory:
    """Read a post's messages back through discord.py (paced by the shared budgets)."""

    def __init__(self, client: discord.Client) -> None:
        self.client = client

    async def read(self, post: ActivePost, after: int, limit: int) -> list[PostMessage]:
        """Return at most `limit` messages people wrote after `after`, oldest first."""
        thread = self.client.get_channel(post.thread_id)
        if not isinstance(thread, discord.Thread):
            fetched = await self.client.fetch_channel(post.thread_id)
            if not isinstance(fetched, discord.Thread):
                return []
            thread = fetched
        found = []
        roles: dict[int, tuple[str, ...]] = {}
        history = thread.history(limit=limit, after=discord.Object(after), oldest_first=True)
        async for message in history:
            if message.type not in _PEOPLES_MESSAGES:
                continue
            said = _post_message(message, thread)
            if not said.roles and not message.author.bot:
                # Discord's history has no member in its messages: staff answers need roles.
                said = dataclasses.replace(said, roles=await self._roles(thread, message, roles))
            found.append(said)
        return found

    async def _roles(
        self, thread: discord.Thread, message: discord.Message, known: dict[int, tuple[str, ...]]
    ) -> tuple[str, ...]:
        """Return an author's role ids: cached, else asked once per author and read."""
        author = message.author.id
        if author not in known:
            member = thread.guild.get_member(author)
            if member is None:
                try:
                    member = await thread.guild.fetch_member(author)
                except discord.NotFound:
                    member = None  # left the guild: no roles
            known[author] = tuple(_role_ids(member))
        return known[author]


class LessonPicker(
    discord.ui.DynamicItem[discord.ui.Select[Any]],
    template=re.escape(PICKER_PREFIX) + r"(?P<thread>\d+)",
):
    """A help post's lesson picker: the thread is in its custom_id, so a pick made after a
    restart still finds its post."""

    def __init__(self, thread_id: int) -> None:
        super().__init__(
            discord.ui.Select(
                custom_id=f"{PICKER_PREFIX}{thread_id}",
                options=[discord.SelectOption(label="-", value="-")],
            )
        )
        self.thread_id = thread_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> LessonPicker:
        """Rebuild the picker from a pick in any help post."""
        return cls(int(match["thread"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Link the post to the lesson picked."""
        client = interaction.client
        cog = client.get_cog("QuestionsCog") if isinstance(client, commands.Bot) else None
        values = (interaction.data or {}).get("values") or []
        if not isinstance(cog, QuestionsCog) or not values:
            return
        await cog.picked(interaction, self.thread_id, str(values[0]))


class QuestionsCog(commands.Cog, name="QuestionsCog"):
    """Feed lesson posts to the question service; `/ask` and `/resolve`."""

    def __init__(
        self,
        questions: QuestionService,
        lessons: LessonDirectory | None = None,
        links: LinkDirectory | None = None,
        client: discord.Client | None = None,
    ) -> None:
        self.questions = questions
        self.lessons = lessons
        self.links = links
        # Used to find a member's roles when a reaction is taken back, and to read posts
        # back after a fresh session.
        self.client = client
        self._catch_ups: set[asyncio.Task[None]] = set()
        # How many catch-ups ended (done or failed): one per fresh session or shard session.
        self.catch_ups_ended = 0

    async def cog_unload(self) -> None:
        """Stop catch-ups still running."""
        for task in list(self._catch_ups):
            task.cancel()

    # --- catch-up after a fresh session ------------------------------------------------------

    # discord.py dispatches `connect` while it parses READY, before any message of the new
    # session (a RESUME dispatches `resumed` instead: nothing was missed), and `ready` once
    # the guilds have loaded. Live messages in between are held, then applied in order with
    # what is read back.

    @commands.Cog.listener()
    async def on_connect(self) -> None:
        """Hold live messages from the start of a fresh session until it is caught up."""
        # A sharded client catches up per shard: `on_shard_connect`, `on_shard_ready`.
        if not self._catches_up() or isinstance(self.client, discord.AutoShardedClient):
            return
        self.questions.begin_catch_up(None, lambda guild_id: True)

    @commands.Cog.listener()
    async def on_shard_connect(self, shard_id: int) -> None:
        """Hold a shard's live messages from the start of its fresh session."""
        count = self.client.shard_count if self.client is not None else None
        if not count or not self._catches_up():
            return
        self.questions.begin_catch_up(
            shard_id,
            lambda guild_id: guild_id is not None and (guild_id >> 22) % count == shard_id,
        )

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """Read back the posts of every guild: a fresh session (IDENTIFY) has no past."""
        if self.client is None or isinstance(self.client, discord.AutoShardedClient):
            return
        self.start_catch_up(self.client.guilds, None)

    @commands.Cog.listener()
    async def on_shard_ready(self, shard_id: int) -> None:
        """Read back the posts of the guilds of a shard whose fresh session is ready."""
        if self.client is None:
            return
        guilds = [g for g in self.client.guilds if g.shard_id == shard_id]
        self.start_catch_up(guilds, shard_id)

    def _catches_up(self) -> bool:
        """Tell whether this client reads back what its fresh sessions missed (a one-off
        command's client, e.g. `lessonbot sync`, does not)."""
        return self.client is not None and getattr(self.client, "catch_up_questions", True)

    def start_catch_up(self, guilds: Sequence[discord.Guild], session: int | None) -> None:
        """Catch up in the background: live events are served meanwhile."""
        if not self._catches_up():
            return
        posts = active_posts(guilds)
        task = asyncio.create_task(self._catch_up(posts, session), name="questions catch-up")
        self._catch_ups.add(task)
        task.add_done_callback(self._catch_ups.discard)

    async def _catch_up(self, posts: list[ActivePost], session: int | None) -> None:
        assert self.client is not None
        try:
            await self.questions.catch_up(posts, ThreadHistory(self.client), session)
        except Exception:
            log.exception("catch-up of %d active posts failed", len(posts))
        finally:
            self.catch_ups_ended += 1

    # --- events -----------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Hand a message in a thread to the service (it ignores non-lesson threads)."""
        if message.guild is None or not isinstance(message.channel, discord.Thread):
            return
        if message.type not in _PEOPLES_MESSAGES:
            return
        said = _post_message(message, message.channel)
        try:
            # The gateway hands each message over once: a database restart must not lose it,
            # and recording it again finds the first record.
            outcome = await while_unreachable(
                lambda: self.questions.on_post_message(said),
                f"message {message.id}",
            )
        except Exception:
            log.exception("message %s: could not record it", message.id)
            return
        log.debug("message %s: %s", message.id, outcome)

    @commands.Cog.listener()
    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        """Re-evaluate an edited message (raw: old messages are not in the cache)."""
        if payload.guild_id is None or "content" not in payload.data:
            return
        message = payload.message
        try:
            outcome = await self.questions.on_discord_edit(
                message.id,
                message.content,
                thread_id=payload.channel_id,
                author_id=message.author.id,
                author_name=message.author.display_name,
                is_bot=message.author.bot,
                created_at=message.created_at,
                guild_id=payload.guild_id,
            )
        except Exception:
            log.exception("message %s: could not re-evaluate it", message.id)
            return
        log.debug("message %s edited: %s", message.id, outcome)

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        """Drop the question a deleted message asked."""
        if payload.guild_id is None:
            return
        try:
            outcome = await self.questions.on_discord_delete(payload.message_id)
        except Exception:
            log.exception("message %s: could not drop it", payload.message_id)
            return
        log.debug("message %s deleted: %s", payload.message_id, outcome)

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        """Resolve a question when its asker or staff reacts ✅."""
        await self._reaction(payload, added=True)

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        """Reopen a question when the ✅ that resolved it is taken back."""
        await self._reaction(payload, added=False)

    async def _reaction(self, payload: discord.RawReactionActionEvent, *, added: bool) -> None:
        if payload.guild_id is None or payload.emoji.name is None:
            return
        member = payload.member
        if member is None:
            # A removal carries no member: the cached one, if any, has the roles.
            guild = self.client.get_guild(payload.guild_id) if self.client else None
            member = guild.get_member(payload.user_id) if guild is not None else None
        try:
            outcome = await self.questions.on_reaction(
                payload.message_id,
                payload.user_id,
                payload.emoji.name,
                added,
                _role_ids(member),
                is_bot=bool(getattr(member, "bot", False)),
            )
        except Exception:
            log.exception("reaction on %s: could not apply it", payload.message_id)
            return
        log.debug("reaction on %s: %s", payload.message_id, outcome)

    # --- commands ---------------------------------------------------------------------------

    @app_commands.command(
        name="ask",
        description=described(
            "Ask a question in a lesson's discussion post", "questions.ask_description"
        ),
    )
    @app_commands.describe(
        question=described("Your question", "questions.question_option"),
        lesson=described(
            "The lesson (leave empty inside a lesson's post)", "questions.lesson_option"
        ),
    )
    async def ask(
        self,
        interaction: discord.Interaction,
        question: app_commands.Range[str, 1, ASK_LIMIT],
        lesson: str | None = None,
    ) -> None:
        """Post a question in a lesson's post, quoted by the bot, and track it."""
        locale = interaction.locale.value
        async with defer_if_slow(interaction, ephemeral=True):
            thread_id, problem = await self._ask_thread(interaction, lesson, locale)
            result = None
            if thread_id is not None:
                try:
                    result = await self.questions.ask(
                        thread_id,
                        interaction.user.id,
                        interaction.user.display_name,
                        question,
                        locale=locale,
                    )
                except QuestionError as error:
                    problem = t(locale, error.key, limit=ASK_LIMIT)
        if result is None:
            await reply(interaction, problem or t(locale, "questions.unavailable"), ephemeral=True)
            return
        guild_id = interaction.guild_id or 0
        web = self.questions.discord_web_url
        url = result.url or message_url(web, guild_id, thread_id, result.message_id)
        await reply(interaction, t(locale, "questions.asked", url=url), ephemeral=True)

    async def _ask_thread(
        self, interaction: discord.Interaction, lesson: str | None, locale: str
    ) -> tuple[int | None, str | None]:
        """Return the post to ask in (creating it in lazy mode), or why there is none."""
        if lesson:
            summary = self.lessons.describe(lesson, locale) if self.lessons else None
            if summary is None:
                echoed = discord.utils.escape_markdown(shorten(lesson.strip(), ECHO_LIMIT))
                return None, t(locale, "questions.unknown_lesson", lesson=echoed)
            thread_id = await self.questions.thread_of(summary.identity)
            if thread_id is None and self.links is not None:
                try:
                    await self.links.find(summary.identity, create=True)
                except Exception:
                    log.exception("could not create the post of %s", summary.identity)
                thread_id = await self.questions.thread_of(summary.identity)
            return (thread_id, None) if thread_id else (None, t(locale, "questions.no_post"))
        channel = interaction.channel
        if isinstance(channel, discord.Thread) and await self.questions.is_lesson_post(channel.id):
            return channel.id, None
        return None, t(locale, "questions.not_a_lesson_post")

    @ask.autocomplete("lesson")
    async def lesson_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Offer the lessons that match what the person has typed so far."""
        if self.lessons is None:
            return []
        try:
            found = self.lessons.search(current, interaction.locale.value, CHOICES_LIMIT)
        except Exception:
            log.exception("autocomplete for /ask failed on %r", current)
            return []
        return [choice_for(lesson) for lesson in found if len(lesson.identity) <= CHOICE_LIMIT]

    @app_commands.command(
        name="resolve",
        description=described(
            "Mark a question in this post as resolved", "questions.resolve_description"
        ),
    )
    @app_commands.describe(
        message_link=described(
            "A link to the question's message (empty: your own questions)",
            "questions.message_option",
        )
    )
    async def resolve(
        self, interaction: discord.Interaction, message_link: str | None = None
    ) -> None:
        """Resolve the named question, or the person's own open ones in this post."""
        locale = interaction.locale.value
        channel = interaction.channel
        if not isinstance(channel, discord.Thread):
            await reply(interaction, t(locale, "questions.not_a_lesson_post"), ephemeral=True)
            return
        message_id = None
        if message_link:
            parsed = parse_message_link(message_link, self.questions.discord_web_url)
            if parsed is None or parsed[0] not in (None, channel.id):
                await reply(interaction, t(locale, "questions.bad_link"), ephemeral=True)
                return
            message_id = parsed[1]
        result = await self.questions.resolve(
            channel.id, interaction.user.id, _role_ids(interaction.user), message_id
        )
        text = {
            "resolved": lambda: t(locale, "questions.resolved", count=result.count),
            "none": lambda: t(locale, "questions.resolve_none"),
            "not_found": lambda: t(locale, "questions.resolve_not_found"),
            "forbidden": lambda: t(locale, "questions.resolve_forbidden"),
        }.get(result.outcome, lambda: t(locale, "questions.not_a_lesson_post"))()
        await reply(interaction, text, ephemeral=True)

    async def picked(self, interaction: discord.Interaction, thread_id: int, identity: str) -> None:
        """Link a help post to the lesson picked, and say so in place of the picker."""
        locale = interaction.locale.value
        result = await self.questions.choose_lesson(
            thread_id, interaction.user.id, identity, _role_ids(interaction.user)
        )
        if result.outcome == "forbidden":
            await _picked_reply(interaction, t(locale, "questions.picker.forbidden"))
            return
        if result.outcome != "linked":
            await _picked_reply(interaction, t(locale, "questions.picker.unknown"))
            return
        summary = self.lessons.describe(identity, locale) if self.lessons else None
        title = discord.utils.escape_markdown(summary.title if summary else identity)
        await interaction.response.edit_message(
            content=t(locale, "questions.picker.linked", lesson=title), view=None
        )


async def _picked_reply(interaction: discord.Interaction, text: str) -> None:
    """Tell only the person who picked why nothing changed."""
    await reply(interaction, text, ephemeral=True)


async def add_questions_cog(
    bot: commands.Bot,
    questions: QuestionService,
    lessons: LessonDirectory | None = None,
    links: LinkDirectory | None = None,
) -> QuestionsCog:
    """Add the questions cog to a bot; return it."""
    cog = QuestionsCog(questions, lessons, links, client=bot)
    await bot.add_cog(cog)
    bot.add_dynamic_items(LessonPicker)
    return cog
