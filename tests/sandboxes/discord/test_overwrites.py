"""Channel permission overwrites and the application's intent flags (their shapes against
the official schemas: test_openapi.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandboxes.discord import DiscordSandbox
from sandboxes.discord.gateway import GUILD_MEMBERS, MESSAGE_CONTENT

VIEW, SEND = 1 << 10, 1 << 11


async def test_overwrites_are_set_shown_replaced_and_removed(
    guild: dict[str, Any], raw: Callable[..., Any]
) -> None:
    forum, everyone = guild["channels"]["data-basics"], guild["id"]
    path = f"/channels/{forum}/permissions/{everyone}"

    assert (await raw("PUT", path, {"type": 0, "deny": VIEW}))[0] == 204
    assert (await raw("PUT", path, {"type": 0, "allow": str(SEND), "deny": VIEW}))[0] == 204
    channel = (await raw("GET", f"/channels/{forum}"))[2]

    assert channel["permission_overwrites"] == [
        {"id": str(everyone), "type": 0, "allow": str(SEND), "deny": str(VIEW)}
    ]
    assert (await raw("DELETE", path))[0] == 204
    assert (await raw("GET", f"/channels/{forum}"))[2]["permission_overwrites"] == []


async def test_bad_overwrites_are_refused_as_discord_does(
    guild: dict[str, Any], raw: Callable[..., Any]
) -> None:
    forum = guild["channels"]["data-basics"]

    bad_type = await raw("PUT", f"/channels/{forum}/permissions/1", {"type": 7})
    bad_target = await raw("PUT", f"/channels/{forum}/permissions/x", {"type": 0})
    created = await raw(
        "POST",
        f"/guilds/{guild['id']}/channels",
        {"name": "hidden", "permission_overwrites": [{"id": "1", "type": 1, "deny": VIEW}]},
    )

    assert (bad_type[0], bad_type[2]["code"]) == (400, 50035)
    assert "type" in bad_type[2]["errors"]
    assert (bad_target[0], bad_target[2]["code"]) == (404, 10009)
    assert created[2]["permission_overwrites"] == [
        {"id": "1", "type": 1, "allow": "0", "deny": str(VIEW)}
    ]


async def test_role_permissions_change_and_show(
    sandbox: DiscordSandbox, guild: dict[str, Any], raw: Callable[..., Any]
) -> None:
    role = guild["roles"]["lessonbot"]

    sandbox.set_role_permissions(guild["id"], role, VIEW)

    roles = (await raw("GET", f"/guilds/{guild['id']}"))[2]["roles"]
    assert [r["permissions"] for r in roles if int(r["id"]) == role] == [str(VIEW)]


async def test_the_application_flags_name_its_privileged_intents(
    raw: Callable[..., Any],
) -> None:
    application = (await raw("GET", "/applications/@me"))[2]

    # Message content and server members, as the sandbox enables by default, _LIMITED.
    assert application["flags"] == (1 << 19) | (1 << 15)
    assert application["flags_new"] == str(application["flags"])


async def test_an_application_without_message_content_has_no_such_flag() -> None:
    async with DiscordSandbox(privileged_intents=GUILD_MEMBERS | MESSAGE_CONTENT) as both:
        assert both.context.payloads.application()["flags"] == (1 << 19) | (1 << 15)
    async with DiscordSandbox(privileged_intents=GUILD_MEMBERS) as members_only:
        flags = members_only.context.payloads.application()["flags"]

    assert flags == 1 << 15
