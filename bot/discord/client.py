"""Build the Discord bot from settings and the services its cogs call."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
from discord.ext import commands

from bot.config import Settings
from bot.discord.budgeting import DiscordBudgetHooks
from bot.discord.chat import DiscordChat
from bot.discord.cogs.lessons import LessonsCog
from bot.discord.endpoints import point_discord_at
from bot.discord.errors import LessonTree
from bot.discord.heartbeat import stamp_heartbeats_before_sending
from bot.discord.metering import request_trace
from bot.discord.translator import CatalogTranslator
from bot.services import correlation
from bot.services.lessons import LessonDirectory
from bot.services.linking import LinkDirectory
from bot.services.ports import BudgetPort, RequestMeter

if TYPE_CHECKING:
    from bot.services.questions import QuestionService
    from bot.services.questions.nudges import NudgeService
    from bot.services.suggestions import SuggestionService

log = logging.getLogger(__name__)

# discord.py's default: how long to wait for GUILD_CREATE events after READY.
GUILD_READY_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class BotServices:
    """What the cogs need, built by the caller."""

    lessons: LessonDirectory
    # Stored post and issue links, shown by /lesson once a sync has made them.
    links: LinkDirectory | None = None
    # Suggested edits: `/suggest`, the lesson posts' button, and open ones in /lesson.
    suggestions: SuggestionService | None = None
    # Open questions: lesson post messages, ✅ reactions, /ask and /resolve.
    questions: QuestionService | None = None
    # The asker's "Solved" / "Still stuck" buttons under a nudge.
    nudges: NudgeService | None = None


def bot_intents() -> discord.Intents:
    """Return the gateway intents the bot asks for, and no more."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.message_content = True  # privileged: questions are read from thread messages
    intents.guild_reactions = True
    intents.dm_messages = True
    intents.dm_reactions = True
    return intents


class LessonBot(commands.Bot):
    """The lessonbot Discord client: slash commands from cogs, errors always answered.

    Its chat adapter exists from construction, before any login: services that talk to
    people are built with it, and their cogs are added after (`add_service_cogs`).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        guild_ready_timeout: float = GUILD_READY_TIMEOUT_SECONDS,
        meter: RequestMeter | None = None,
        budgets: BudgetPort | None = None,
        **sharding: Any,
    ) -> None:
        # Only a meter's or the budgets' trace: without them, discord.py's session is left
        # as it comes.
        trace = request_trace(meter) if meter is not None else None
        if budgets is not None:
            hooks = DiscordBudgetHooks(
                budgets,
                settings.discord.api_base_url,
                per_second=settings.discord.requests_per_second,
                meter=meter,
            )
            trace = hooks.add_to(trace or aiohttp.TraceConfig())
        options: dict[str, Any] = {} if trace is None else {"http_trace": trace}
        options.update(sharding)
        super().__init__(
            # Slash commands only; a prefix is required by commands.Bot, but on_message
            # below never looks for one.
            command_prefix=commands.when_mentioned,
            help_command=None,
            tree_cls=LessonTree,
            intents=bot_intents(),
            # User text we echo must never ping anyone, @everyone least of all.
            allowed_mentions=discord.AllowedMentions.none(),
            guild_ready_timeout=guild_ready_timeout,
            chunk_guilds_at_startup=False,
            **options,
        )
        self.settings = settings
        self.chat = DiscordChat(self, guild_id=settings.discord.guild_id)
        # Registering slash commands, and reading back the posts a fresh session missed,
        # are the running bot's jobs, not a one-off command's.
        self.sync_commands = True
        self.catch_up_questions = True

    def _get_state(self, **options: Any) -> Any:
        """Return discord.py's connection state, each gateway event made a door of its own.

        discord.py hands an event's handlers (commands, buttons, listeners) to tasks it
        creates while parsing it: a correlation id set around the parser is copied into
        every one of them.
        """
        state = super()._get_state(**options)
        for name, parse in list(state.parsers.items()):
            state.parsers[name] = _correlated(parse)
        return state

    async def add_service_cogs(self, services: BotServices) -> None:
        """Add the cogs that serve the services' slash commands, buttons and listeners."""
        await self.add_cog(LessonsCog(services.lessons, services.links, services.suggestions))
        if services.suggestions is not None:
            # Imported here: a bot without suggested edits needs none of their code.
            from bot.discord.cogs.suggest import SuggestCog, add_suggest_cog

            cog = SuggestCog(services.suggestions, services.lessons, self.settings.suggestions)
            await add_suggest_cog(self, cog)
        if services.questions is not None:
            from bot.discord.cogs.questions import add_questions_cog

            await add_questions_cog(self, services.questions, services.lessons, services.links)
        if services.nudges is not None:
            from bot.discord.cogs.nudges import add_nudges_cog

            await add_nudges_cog(self, services.nudges)

    async def setup_hook(self) -> None:
        """Register the cogs' commands with Discord, translated, once per login."""
        await self.tree.set_translator(CatalogTranslator())
        guild_id = self.settings.discord.guild_id
        if not self.sync_commands:
            return  # a one-off command (sync): the running bot registers the commands
        if guild_id is None:
            # Global commands reach every guild, but Discord may take a while to show them.
            synced = await self.tree.sync()
            log.info("synced %d global application commands", len(synced))
        else:
            # Guild commands show at once: right for one community's server (and tests).
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("synced %d application commands to guild %s", len(synced), guild_id)

    def gateway_connected(self) -> bool:
        """Tell whether the gateway session is up: ready, not closed, its websocket open."""
        # A dropped connection leaves the client "ready" while it reconnects: ask the socket.
        ws = self.ws
        return self.is_ready() and not self.is_closed() and ws is not None and ws.open

    async def on_ready(self) -> None:
        """Log who we are once the gateway session is ready."""
        log.info("connected to Discord as %s (%s)", self.user, self.user.id if self.user else "?")

    async def on_message(self, message: discord.Message) -> None:
        """Ignore messages here: there are no prefix commands; cogs listen for their own."""


class ShardedLessonBot(LessonBot, commands.AutoShardedBot):
    """The bot holding some shards of a sharded bot: one gateway session per shard.

    Discord sends a guild's events to the session of shard `(guild_id >> 22) % count`
    (DMs to shard 0); several processes, each with its own `discord.shard_ids`, share the
    guilds between them.
    """

    def gateway_connected(self) -> bool:
        """Tell whether every shard this process holds is up."""
        held = self.shard_ids or ()
        return bool(held) and all(self.shard_connected(shard_id) for shard_id in held)

    def shard_connected(self, shard_id: int) -> bool:
        """Tell whether one shard's session is up: the bot ready, that shard's socket open."""
        shard = self.get_shard(shard_id)
        return (
            self.is_ready() and not self.is_closed() and shard is not None and not shard.is_closed()
        )

    async def on_shard_ready(self, shard_id: int) -> None:
        """Log each shard's session as it becomes ready."""
        log.info("Discord shard %d of %s ready", shard_id, self.shard_count)


def _correlated(parse: Callable[[Any], None]) -> Callable[[Any], None]:
    def parse_under_new_id(data: Any) -> None:
        with correlation.correlated(correlation.new_id("discord")):
            parse(data)

    return parse_under_new_id


def create_bot(
    settings: Settings,
    *,
    guild_ready_timeout: float = GUILD_READY_TIMEOUT_SECONDS,
    meter: RequestMeter | None = None,
    budgets: BudgetPort | None = None,
) -> LessonBot:
    """Point discord.py at the configured Discord and return a bot, its cogs still to add."""
    point_discord_at(settings.discord.api_base_url, settings.discord.gateway_url)
    stamp_heartbeats_before_sending()
    shards = settings.discord.shards
    if shards is None:
        return LessonBot(
            settings, guild_ready_timeout=guild_ready_timeout, meter=meter, budgets=budgets
        )
    return ShardedLessonBot(
        settings,
        guild_ready_timeout=guild_ready_timeout,
        meter=meter,
        budgets=budgets,
        shard_count=settings.discord.shard_count,
        shard_ids=list(shards),
    )
