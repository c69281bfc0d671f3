"""What end-to-end tests share: the settings that point a `lessonbot` process at sandboxes."""

from __future__ import annotations

from typing import Any

from bot.offline import SANDBOX_BOT_TOKEN


def sandbox_settings_env(
    discord: Any, github: Any, guild: dict[str, Any], database_url: str
) -> dict[str, str]:
    """Return the settings (without the LESSONBOT_ prefix) of a process using both sandboxes."""
    return {
        "DISCORD_API_BASE_URL": discord.api_base_url,
        "DISCORD_GATEWAY_URL": discord.gateway_url,
        "DISCORD_GUILD_ID": str(guild["id"]),
        "DISCORD_TOKEN": SANDBOX_BOT_TOKEN,
        "GITHUB_BASE_URL": github.base_url,
        "GITHUB_REPOSITORY": github.repository,
        "GITHUB_TOKEN": "lessonbot",
        "GITHUB_SECONDS_BETWEEN_REQUESTS": "0",
        "GITHUB_SECONDS_BETWEEN_WRITES": "0",
        "DATABASE_URL": database_url,
    }
