"""One switch sends every discord.py request and gateway connection to a chosen server."""

from __future__ import annotations

import json

import aiohttp
import discord
import yarl
from aiohttp import web
from aiohttp.test_utils import TestServer
from discord.gateway import DiscordWebSocket
from discord.http import Route
from discord.webhook.async_ import AsyncWebhookAdapter, interaction_response_params

from bot.config import DiscordSettings
from bot.discord.endpoints import DISCORD_API_BASE_URL, DISCORD_GATEWAY_URL, point_discord_at


def _json(data: object) -> web.Response:
    # discord.py parses a body as JSON only when Content-Type is exactly application/json.
    return web.Response(body=json.dumps(data).encode(), content_type="application/json")


def test_our_defaults_are_discord_py_defaults() -> None:
    # Read before any test changes them (the autouse fixture restores them after each).
    assert Route.BASE == DISCORD_API_BASE_URL
    assert yarl.URL(DISCORD_GATEWAY_URL) == DiscordWebSocket.DEFAULT_GATEWAY


def test_points_rest_and_gateway_at_another_server() -> None:
    point_discord_at("http://127.0.0.1:8123/api/v10/", "ws://127.0.0.1:8123/gateway")
    assert Route("GET", "/users/@me").url == "http://127.0.0.1:8123/api/v10/users/@me"
    assert yarl.URL("ws://127.0.0.1:8123/gateway") == DiscordWebSocket.DEFAULT_GATEWAY


def test_discord_defaults_change_nothing() -> None:
    gateway = DiscordWebSocket.DEFAULT_GATEWAY
    settings = DiscordSettings()  # https://discord.com/api/v10, wss://gateway.discord.gg
    point_discord_at(settings.api_base_url, settings.gateway_url)
    assert Route.BASE == DISCORD_API_BASE_URL
    assert DiscordWebSocket.DEFAULT_GATEWAY is gateway  # not even replaced by an equal URL


def test_pointing_back_restores_discord() -> None:
    point_discord_at("http://127.0.0.1:8123/api/v10", "ws://127.0.0.1:8123")
    assert yarl.URL("ws://127.0.0.1:8123/") == DiscordWebSocket.DEFAULT_GATEWAY
    point_discord_at(DISCORD_API_BASE_URL, "wss://gateway.discord.gg")
    assert Route.BASE == DISCORD_API_BASE_URL
    assert yarl.URL(DISCORD_GATEWAY_URL) == DiscordWebSocket.DEFAULT_GATEWAY


async def test_interaction_callbacks_and_follow_ups_go_to_the_same_server() -> None:
    """Interaction responses and follow-up webhooks are built on Route.BASE too."""
    seen: list[str] = []

    async def record(request: web.Request) -> web.Response:
        seen.append(f"{request.method} {request.path}")
        if request.path.endswith("/callback"):
            return _json({"interaction": {"id": "1", "type": 2}})
        message = {
            "id": "5",
            "channel_id": "6",
            "content": "hi",
            "author": {"id": "7", "username": "bot", "discriminator": "0", "avatar": None},
            "attachments": [],
            "embeds": [],
            "mentions": [],
            "mention_roles": [],
            "pinned": False,
            "mention_everyone": False,
            "tts": False,
            "timestamp": "2026-01-01T00:00:00+00:00",
            "edited_timestamp": None,
            "flags": 0,
            "type": 0,
        }
        return _json(message)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    async with TestServer(app) as server, aiohttp.ClientSession() as session:
        point_discord_at(str(server.make_url("/api/v10")), "ws://127.0.0.1:1/")
        await AsyncWebhookAdapter().create_interaction_response(
            11, "interaction-token", session=session, params=interaction_response_params(5)
        )
        follow_up = discord.Webhook.partial(12, "interaction-token", session=session)
        await follow_up.send("hi", wait=True)
        await follow_up.edit_message(5, content="edited")
    assert seen == [
        "POST /api/v10/interactions/11/interaction-token/callback",
        "POST /api/v10/webhooks/12/interaction-token",
        "PATCH /api/v10/webhooks/12/interaction-token/messages/5",
    ]
