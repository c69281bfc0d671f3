"""Fixtures for the Discord adapter tests: discord.py's endpoints put back after each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from discord.gateway import DiscordWebSocket
from discord.http import Route


@pytest.fixture(autouse=True)
def restore_discord_endpoints() -> Iterator[None]:
    """Put discord.py's REST base and gateway back: create_bot changes them process-wide."""
    base, gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    yield
    Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = base, gateway
