"""/metrics and /readyz of the bot `lessonbot sandbox` runs: a suggestion sent to its API
shows in the scrape, and the probe names the gateway once the bot leaves Discord."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.config import Settings
from bot.offline import SandboxEnvironment, sandbox_environment
from tests.conftest import FIXTURES
from tests.web.suggest_support import api_body

# Long enough for any slow CI machine; each wait returns as soon as its condition holds.
TIMEOUT = 60.0
POLL_SECONDS = 0.1


@pytest.fixture
async def env(tmp_path: Path, database_url: str) -> AsyncIterator[SandboxEnvironment]:
    """Run both sandboxes and the bot over the fixture lessons."""
    content = tmp_path / "content"
    shutil.copytree(FIXTURES / "content", content)
    async with sandbox_environment(
        Settings(), content_dir=content, state_dir=tmp_path / "state", database_url=database_url
    ) as running:
        yield running


async def scrape(http: aiohttp.ClientSession, url: str) -> dict[tuple[str, frozenset], float]:
    """Return every sample of the bot's /metrics by (name, labels), once the database
    answered the scrape's counts: a scrape the busy database did not answer in time carries
    no store series (lessonbot_database_up 0), and the next one will."""
    for _ in range(50):
        async with http.get(f"{url}/metrics") as response:
            assert response.status == 200
            text = await response.text()
        samples = {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }
        if database_up(samples):
            break
        await asyncio.sleep(0.2)
    return samples


def database_up(samples: dict[tuple[str, frozenset], float]) -> bool:
    """Tell whether the scrape's store counts were read (the database answered)."""
    return samples.get(("lessonbot_database_up", frozenset()), 0) == 1


def suggestions(samples: dict[tuple[str, frozenset], float], status: str) -> float:
    """Return how many API suggestions the scrape counts in a status."""
    labels = frozenset({"status": status, "source": "api"}.items())
    return samples[("lessonbot_suggestions", labels)]


def requests(samples: dict[tuple[str, frozenset], float], service: str) -> float:
    """Return how many successful requests the scrape counts for a service."""
    return samples[(f"lessonbot_{service}_requests_total", frozenset({("outcome", "ok")}))]


async def test_a_suggestion_shows_in_metrics_and_readiness_follows_the_gateway(
    env: SandboxEnvironment,
) -> None:
    app = env.app
    assert app.worker is not None
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{app.web_url}/readyz") as response:
            assert response.status == 200, await response.text()
            assert (await response.json())["checks"] == {
                "database": "ok",
                "discord_gateway": "ok",
                "github": "ok",
            }
        before = await scrape(http, app.web_url)
        assert suggestions(before, "queued") == 0
        # Logging in and fetching the lessons went over HTTP, and were counted.
        assert requests(before, "discord") > 0 and requests(before, "github") > 0

        async with http.post(f"{app.web_url}/api/suggestions", json=api_body()) as sent:
            assert sent.status == 202, await sent.text()
        queued = await scrape(http, app.web_url)
        assert suggestions(queued, "queued") == 1

        # The job worker opens the pull request: the scrape sees it open, and GitHub's writes.
        worker = asyncio.create_task(app.worker.run())
        try:
            for _ in range(int(TIMEOUT / POLL_SECONDS)):
                opened = await scrape(http, app.web_url)
                if suggestions(opened, "open") == 1:
                    break
                await asyncio.sleep(POLL_SECONDS)
            else:
                pytest.fail("the suggestion's pull request was not opened")
        finally:
            app.worker.stop()
            await asyncio.gather(worker, return_exceptions=True)
        assert suggestions(opened, "queued") == 0
        done = frozenset({"kind": "suggestion", "status": "done"}.items())
        # The job that opened the PR is done; the reply in the lesson's post that follows
        # it may be done by this scrape too.
        assert before.get(("lessonbot_jobs", done), 0) == 0
        assert opened[("lessonbot_jobs", done)] >= 1
        assert requests(opened, "github") > requests(queued, "github")

        await app.bot.close()
        async with http.get(f"{app.web_url}/readyz") as response:
            assert response.status == 503
            assert (await response.json())["failing"] == ["discord_gateway"]
