"""Snowflakes: seeded users' ids never collide with the ids the sandbox generates."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sandboxes.discord import DiscordSandbox
from sandboxes.discord.snowflakes import DISCORD_EPOCH_MS, snowflake_time


async def test_seeded_user_ids_never_collide_with_generated_ones(
    sandbox: DiscordSandbox, raw: Callable[..., Any]
) -> None:
    base = sandbox.base_url

    async def admin(method: str, path: str, body: Any = None) -> tuple[int, Any]:
        status, _, answer = await raw(method, f"/_sandbox{path}", body, base=base, token=None)
        return status, answer

    # A small seeded id decodes to 2015, the Discord epoch: fine, and far below any new id.
    status, small = await admin("POST", "/users", {"id": 1003, "username": "cy"})
    assert status == 201 and snowflake_time(int(small["id"])).year == 2015
    # An id from ten days ahead: everything generated afterwards comes after it.
    ahead = (int(time.time() * 1000) - DISCORD_EPOCH_MS + 10 * 86_400_000) << 22
    status, seeded = await admin("POST", "/users", {"id": str(ahead), "username": "future"})
    assert status == 201 and seeded["id"] == str(ahead)
    status, created = await admin(
        "POST",
        "/guilds",
        {
            "name": "Ids",
            "channels": [{"name": "general", "type": 0}],
            "members": [{"id": str(ahead), "username": "future"}],
            "roles": [{"name": "helpers"}],
        },
    )
    assert status == 201
    generated = [created["id"], *created["channels"].values(), *created["roles"].values()]
    status, posted = await admin(
        "POST",
        f"/channels/{created['channels']['general']}/messages",
        {"author_id": str(ahead), "content": "hi"},
    )
    generated.append(posted["id"])
    assert all(int(new) > ahead for new in generated)
    # An id another object holds, or one past what 64 bits leave room for, is refused.
    for taken in (created["channels"]["general"], posted["id"], str(sandbox.application_id)):
        status, answer = await admin("POST", "/users", {"id": taken, "username": "dup"})
        assert status == 400 and "already belongs" in answer["message"]
    status, answer = await admin("POST", "/users", {"id": str(1 << 63), "username": "big"})
    assert status == 400 and "not a snowflake" in answer["message"]
