"""The adapter reads a person's permission on the repository from the sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.config import GitHubSettings, Secret
from bot.github.adapter import GitHubAdapter
from sandboxes.github import GitHubSandbox
from tests.conftest import FIXTURES


@pytest.fixture
async def sandbox() -> AsyncIterator[GitHubSandbox]:
    """Start a sandbox whose repository holds the fixture lessons."""
    async with GitHubSandbox(FIXTURES / "content", "lessons/content") as running:
        yield running


async def test_permission_tells_collaborators_from_strangers(sandbox: GitHubSandbox) -> None:
    async with aiohttp.ClientSession() as http:
        response = await http.post(
            f"{sandbox.base_url}/_sandbox/collaborators",
            json={"repository": sandbox.repository, "login": "maya", "permission": "write"},
        )
        assert response.status < 300
    settings = GitHubSettings(
        base_url=sandbox.base_url,
        repository=sandbox.repository,
        token=Secret("lessonbot"),
        seconds_between_requests=0,
        seconds_between_writes=0,
    )
    adapter = GitHubAdapter.from_settings(settings, backoff=0.01)
    try:
        assert await adapter.permission("maya") == "write"
        assert await adapter.permission("stranger") in ("read", "none")
        assert adapter.request_counts["collaborators.permission"] == 2
    finally:
        adapter.close()
