"""A user's settings changed after creation: closing and reopening DMs to the bot."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import discord
import pytest

from sandboxes.discord import DiscordSandbox
from tests.sandboxes.discord.conftest import ANA, RecordingBot


async def test_a_user_who_closes_dms_gets_none_until_they_reopen_them(
    sandbox: DiscordSandbox, bot: RecordingBot
) -> None:
    user = await bot.fetch_user(ANA)
    await user.send("antes")
    changed = sandbox.update_user(ANA, accepts_dms=False)
    assert changed["accepts_dms"] is False and changed["username"] == "ana"
    with pytest.raises(discord.Forbidden) as caught:
        await user.send("cerrado")
    assert (caught.value.status, caught.value.code) == (403, 50007)
    sandbox.update_user(ANA, accepts_dms=True)
    await user.send("después")
    assert [m["content"] for m in sandbox.dms(ANA)] == ["antes", "después"]


async def test_the_admin_api_changes_a_user_and_refuses_what_it_cannot(
    sandbox: DiscordSandbox, guild: dict[str, Any], raw: Callable[..., Any]
) -> None:
    async def patch(user: Any, body: Any) -> tuple[int, Any]:
        status, _, answer = await raw(
            "PATCH", f"/_sandbox/users/{user}", body, base=sandbox.base_url, token=None
        )
        return status, answer

    status, answer = await patch(ANA, {"accepts_dms": False, "locale": "fr"})
    assert status == 200
    assert answer == {
        "id": str(ANA),
        "username": "ana",
        "global_name": None,
        "locale": "fr",
        "accepts_dms": False,
    }
    status, _, dm = await raw("POST", "/users/@me/channels", {"recipient_id": str(ANA)})
    assert status == 200
    status, _, refused = await raw("POST", f"/channels/{dm['id']}/messages", {"content": "hi"})
    assert (status, refused["code"]) == (403, 50007)

    assert (await patch(ANA, {"accepts_dms": "no"}))[0] == 400
    assert (await patch(ANA, {"username": "other"}))[0] == 400
    assert (await patch(424242, {"accepts_dms": True}))[0] == 404
    assert (await patch(sandbox.bot_user_id, {"accepts_dms": False}))[0] == 404
