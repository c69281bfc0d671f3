"""Point discord.py at Discord or a Discord-compatible server (the sandbox)."""

from __future__ import annotations

import logging

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

log = logging.getLogger(__name__)

# discord.py's own defaults (http.Route.BASE, gateway.DiscordWebSocket.DEFAULT_GATEWAY).
DISCORD_API_BASE_URL = "https://discord.com/api/v10"
DISCORD_GATEWAY_URL = "wss://gateway.discord.gg/"


def point_discord_at(api_base_url: str, gateway_url: str) -> None:
    """Send every discord.py REST call and gateway connection to these URLs.

    discord.py keeps both as class attributes, read when a request or connection is made,
    so this is process-wide and the one place in lessonbot that changes them. Everything
    the bot sends over HTTP is built as a `Route` from `Route.BASE`: REST calls, interaction
    callbacks (`/interactions/{id}/{token}/callback`) and follow-up webhooks
    (`/webhooks/{application_id}/{token}`, via `discord.webhook.async_`). The only URLs
    discord.py hard-codes elsewhere are display links (`jump_url`, `Webhook.url`) and the
    CDN, which it never requests on its own. The gateway URL is used for the first
    connection and for any reconnect that cannot resume; a resume goes to the
    `resume_gateway_url` the server sent in READY, which a compatible server sets to itself.
    """
    base = api_base_url.rstrip("/")
    gateway = yarl.URL(gateway_url)  # `wss://host` equals `wss://host/` to yarl
    # Compare before writing: with Discord's defaults this changes nothing.
    if base != Route.BASE:
        log.info("discord.py REST calls go to %s", base)
        Route.BASE = base
    if gateway != DiscordWebSocket.DEFAULT_GATEWAY:
        log.info("discord.py gateway connections go to %s", gateway)
        DiscordWebSocket.DEFAULT_GATEWAY = gateway
