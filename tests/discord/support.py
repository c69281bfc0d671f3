"""Helpers shared by the Discord tests: settings and services over the sample lessons."""

from __future__ import annotations

from bot.config import DiscordSettings, Secret, Settings
from bot.discord.client import BotServices, LessonBot, create_bot
from bot.domain.catalogue import load_catalogue
from bot.services.lessons import LessonDirectory
from tests.conftest import PROJECT

LESSONS = PROJECT / "lessons"
BOT_TOKEN = "sandbox-bot-token"


def make_settings(
    api_base_url: str = "http://127.0.0.1:9/api/v10",
    gateway_url: str = "ws://127.0.0.1:9/gateway",
    guild_id: int | None = None,
) -> Settings:
    """Return settings for a bot talking to a local server, never to Discord."""
    return Settings(
        discord=DiscordSettings(
            api_base_url=api_base_url,
            gateway_url=gateway_url,
            guild_id=guild_id,
            token=Secret(BOT_TOKEN),
        )
    )


def make_services(directory: LessonDirectory | None = None) -> BotServices:
    """Return the bot's services over the project's sample lessons (en, es, ar)."""
    return BotServices(lessons=directory or LessonDirectory(load_catalogue(LESSONS), "en"))


async def make_bot(
    settings: Settings, services: BotServices | None = None, **options: float
) -> LessonBot:
    """Return the bot, not logged in, with the cogs of `services` (the sample lessons')."""
    bot = create_bot(settings, **options)
    await bot.add_service_cogs(services or make_services())
    return bot
