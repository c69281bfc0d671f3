"""The Discord sandbox keeps its world in a state directory and restores it on start."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp

from sandboxes.discord import DiscordSandbox
from sandboxes.net import bind_listener

ANA = 1001


async def _get(sandbox: DiscordSandbox, path: str) -> tuple[int, dict]:
    """GET a REST route as the bot."""
    headers = {"Authorization": f"Bot {sandbox.bot_token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{sandbox.api_base_url}{path}", headers=headers) as response,
    ):
        return response.status, await response.json()


async def _world(state_dir: Path) -> tuple[dict, dict, str, str]:
    """Build a guild with a forum post and a reply; return ids, the post and the world."""
    async with DiscordSandbox(state_dir=state_dir) as sandbox:
        assert not sandbox.restored
        guild = sandbox.create_guild(
            "world",
            channels=[{"name": "general", "type": 0}, {"name": "forum", "type": 15}],
            members=[{"id": ANA, "username": "ana", "locale": "es-ES"}],
        )
        post = await sandbox.create_thread(guild["channels"]["forum"], ANA, "Hola", "¿Qué es?")
        await sandbox.post_message(int(post["id"]), ANA, "Otra pregunta")
        return guild, post, sandbox.world_id, sandbox.base_url


async def test_a_restart_restores_guild_posts_messages_and_port(tmp_path: Path) -> None:
    guild, post, world_id, base_url = await _world(tmp_path)
    saved = json.loads((tmp_path / "world.json").read_text())
    assert saved["world_id"] == world_id

    async with DiscordSandbox(state_dir=tmp_path) as again:
        assert again.restored and again.world_id == world_id
        assert again.base_url == base_url
        assert again.find_guild("world") == {**guild}
        status, thread = await _get(again, f"/channels/{post['id']}")
        assert status == 200 and thread["name"] == "Hola"
        status, messages = await _get(again, f"/channels/{post['id']}/messages")
        assert [m["content"] for m in messages] == ["Otra pregunta", "¿Qué es?"]
        # New ids follow the restored ones.
        reply = await again.post_message(int(post["id"]), ANA, "Y una más")
        assert int(reply["id"]) > max(int(m["id"]) for m in messages)

    async with DiscordSandbox(state_dir=tmp_path) as third:
        contents = [m["content"] for m in third.channel_messages(int(post["id"]))]
        assert contents == ["¿Qué es?", "Otra pregunta", "Y una más"]


async def test_a_taken_port_gives_another_and_text_can_follow_it(tmp_path: Path) -> None:
    _, post, world_id, base_url = await _world(tmp_path)
    port = int(base_url.rsplit(":", 1)[1])
    with bind_listener("127.0.0.1", port) as blocker:
        blocker.listen()  # another program took the port meanwhile
        async with DiscordSandbox(state_dir=tmp_path) as moved:
            assert moved.world_id == world_id and moved.base_url != base_url
            assert moved.previous_base_url == base_url
            await moved.post_message(int(post["id"]), ANA, f"see {base_url}/x")
            assert moved.replace_text(base_url, moved.base_url) == 1
            assert moved.channel_messages(int(post["id"]))[-1]["content"] == (
                f"see {moved.base_url}/x"
            )
