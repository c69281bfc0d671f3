"""A Discord-compatible server (REST API, gateway, admin API) for the real discord.py client.

    async with DiscordSandbox() as sandbox:
        guild = sandbox.create_guild("Lessons", channels=[{"name": "general", "type": 0}],
                                     members=[{"id": 1001, "username": "ana"}])
        monkeypatch.setattr(discord.http.Route, "BASE", sandbox.api_base_url)
        monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(sandbox.gateway_url))
        ...  # start the bot with sandbox.bot_token, then act as users:
        await sandbox.post_message(guild["channels"]["general"], 1001, "hello")

Modules: snowflakes (ids), state (the world in memory), payloads (Discord's JSON shapes),
limits and errors (Discord's limits and error bodies), gateway (the websocket protocol,
sessions, intents), operations (guilds, channels, threads, commands) and messaging
(messages, reactions), each dispatching the events Discord would; interactions (what
users send: commands, autocomplete, modals, clicks) and responses (the bot's callbacks,
follow-ups, edits); routes_* (the REST API by area), middleware (auth, faults, error
shapes, request log), faults (injected 429/500), actions (acting as users, reading the
world), admin (the /_sandbox/ HTTP API), api (request helpers), server (DiscordSandbox).
"""

from sandboxes.discord.server import DiscordSandbox, serve

__all__ = ["DiscordSandbox", "serve"]
