"""Fixtures of the live Discord tests: a running Discord sandbox and the guild the bot joins.

A test module changes the guild by overriding `forum_tags`, `guild_roles` or `guild_members`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from sandboxes.discord import DiscordSandbox
from tests.discord.support import BOT_TOKEN
from tests.e2e.discord.support import ANA, BEN, CLOSED


@pytest.fixture
async def sandbox() -> AsyncIterator[DiscordSandbox]:
    """Yield a running Discord sandbox."""
    async with DiscordSandbox(bot_token=BOT_TOKEN) as sandbox:
        yield sandbox


@pytest.fixture
def forum_tags() -> list[str]:
    """Return the tags the lesson forum offers: none unless a module says so."""
    return []


@pytest.fixture
def guild_roles() -> list[str]:
    """Return the guild's role names: none unless a module says so."""
    return []


@pytest.fixture
def guild_members() -> list[dict[str, Any]]:
    """Return the guild's members: a Spanish and an English learner, and one who takes no DMs."""
    return [
        {"id": ANA, "username": "ana", "locale": "es-ES"},
        {"id": BEN, "username": "ben", "locale": "en-US"},
        {"id": CLOSED, "username": "cleo", "locale": "en-US", "accepts_dms": False},
    ]


@pytest.fixture
def guild(
    sandbox: DiscordSandbox,
    forum_tags: list[str],
    guild_roles: list[str],
    guild_members: list[dict[str, Any]],
) -> dict[str, Any]:
    """Return the "Lessons" guild: a text channel, the data-basics forum and the members."""
    forum: dict[str, Any] = {"name": "data-basics", "type": 15}
    if forum_tags:
        forum["available_tags"] = [{"name": tag} for tag in forum_tags]
    return sandbox.create_guild(
        "Lessons",
        channels=[{"name": "general", "type": 0}, forum],
        roles=[{"name": role} for role in guild_roles],
        members=guild_members,
    )
