"""The adapter tells its meter of every request and wait, and answers readiness cheaply."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.config import GitHubSettings, Secret
from bot.domain.markers import marker
from bot.github.adapter import GitHubAdapter, GitHubError
from bot.github.pacing import WriteLimits, WritePacer
from bot.services.metrics import RequestTally
from sandboxes.github import GitHubSandbox
from tests.conftest import FIXTURES


@pytest.fixture
async def sandbox() -> AsyncIterator[GitHubSandbox]:
    """Start a sandbox whose repository holds the fixture lessons."""
    async with GitHubSandbox(FIXTURES / "content", "lessons/content") as running:
        yield running


def make_adapter(
    sandbox: GitHubSandbox, meter: RequestTally, clock: list[float], **options: object
) -> GitHubAdapter:
    settings = GitHubSettings(
        base_url=sandbox.base_url,
        repository=sandbox.repository,
        token=Secret("lessonbot"),
        seconds_between_requests=0,
        seconds_between_writes=0,
    )
    return GitHubAdapter.from_settings(
        settings, meter=meter, backoff=0.01, clock=lambda: clock[0], **options
    )


async def test_requests_are_counted_by_outcome_with_rate_limit_waits(
    sandbox: GitHubSandbox,
) -> None:
    meter, clock = RequestTally(), [1_800_000_000.0]
    adapter = make_adapter(sandbox, meter, clock)
    sandbox.add_fault(match="POST /repos/*/issues", mode="secondary", count=1)
    sandbox.add_fault(match="GET /repos/*/issues/*", mode="before", count=1)
    hidden = marker("lesson", "demo/pipes")

    issue = await adapter.create_issue("Pipes", hidden, [], hidden)  # 403 secondary, then ok
    await adapter.get_issue(issue.number)  # 500, then ok
    with pytest.raises(GitHubError):
        await adapter.get_issue(999)  # 404

    assert meter.requests == {"rate_limited": 1, "server_error": 1, "client_error": 1, "ok": 2}
    assert sum(meter.requests.values()) == adapter.total_requests
    # The sandbox's secondary limit says Retry-After: 1.
    assert meter.waits == {"rate_limit": 1}
    assert meter.wait_seconds["rate_limit"] == 1.0


async def test_write_pacing_waits_are_counted() -> None:
    sleeps: list[float] = []
    now = [100.0]

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    pacer = WritePacer(WriteLimits(min_interval=2.0), clock=lambda: now[0], sleep=sleep)

    assert await pacer.acquire() == 0.0
    assert await pacer.acquire() == 2.0
    assert pacer.waited == 2.0 and sleeps == [2.0]


async def test_readiness_asks_github_only_when_it_has_not_answered_lately(
    sandbox: GitHubSandbox,
) -> None:
    meter, clock = RequestTally(), [1_800_000_000.0]
    adapter = make_adapter(sandbox, meter, clock)

    assert await adapter.reachable() is True
    assert adapter.request_counts == {"rate_limit.get": 1}
    clock[0] += 10
    assert await adapter.reachable() is True  # answered 10 s ago: no request
    await adapter.login()
    clock[0] += 29
    assert await adapter.reachable() is True  # the login was an answer
    assert adapter.request_counts == {"rate_limit.get": 1, "users.me": 1}

    clock[0] += 31
    sandbox.add_fault(match="GET /rate_limit", mode="before", count=1)
    assert await adapter.reachable() is False  # one request, no retry
    assert adapter.request_counts["rate_limit.get"] == 2
    assert meter.requests["server_error"] == 1
    assert await adapter.reachable() is True


async def test_readiness_fails_when_github_is_gone(sandbox: GitHubSandbox) -> None:
    meter, clock = RequestTally(), [1_800_000_000.0]
    adapter = make_adapter(sandbox, meter, clock)
    await sandbox.close()

    assert await adapter.reachable() is False
    assert meter.requests == {"network_error": 1}
