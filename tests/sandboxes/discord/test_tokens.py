"""The bot token: shaped like Discord's, stable for a kept world, or the one configured."""

from __future__ import annotations

import base64
from pathlib import Path

import aiohttp

from sandboxes.discord import DiscordSandbox
from sandboxes.discord.tokens import token_user_id


async def _me(sandbox: DiscordSandbox, token: str) -> tuple[int, dict[str, object]]:
    """GET /users/@me with a bot token."""
    headers = {"Authorization": f"Bot {token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{sandbox.api_base_url}/users/@me", headers=headers) as response,
    ):
        return response.status, await response.json()


async def test_the_issued_token_names_the_bot_user_as_discord_tokens_do() -> None:
    async with DiscordSandbox() as sandbox:
        first, timestamp, mac = sandbox.bot_token.split(".")
        # How client libraries read the bot's id before connecting: base64 of its digits.
        decoded = base64.b64decode(first + "=" * (-len(first) % 4)).decode()
        assert decoded == str(sandbox.bot_user_id) == str(token_user_id(sandbox.bot_token))
        assert len(timestamp) == 6 and len(mac) >= 27 and "=" not in sandbox.bot_token
        status, me = await _me(sandbox, sandbox.bot_token)
        assert status == 200 and me["id"] == decoded
        assert (await _me(sandbox, "sandbox-bot-token"))[0] == 401


async def test_a_kept_world_keeps_its_token_across_restarts(tmp_path: Path) -> None:
    async with DiscordSandbox(state_dir=tmp_path) as sandbox:
        token, bot_id = sandbox.bot_token, sandbox.bot_user_id
    async with DiscordSandbox(state_dir=tmp_path) as again:
        assert again.restored and again.bot_user_id == bot_id
        assert again.bot_token == token
        assert (await _me(again, token))[0] == 200
    async with DiscordSandbox(state_dir=tmp_path / "other") as fresh:
        assert fresh.bot_token != token


async def test_a_configured_token_is_the_one_accepted() -> None:
    async with DiscordSandbox(bot_token="sandbox-bot-token") as sandbox:
        assert sandbox.bot_token == "sandbox-bot-token"
        assert (await _me(sandbox, "sandbox-bot-token"))[0] == 200
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{sandbox.base_url}/_sandbox/info") as response,
        ):
            assert (await response.json())["bot_token"] == "sandbox-bot-token"
