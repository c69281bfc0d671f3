"""GitHub's hourly limit used up: suggestions wait for its reset, then open by themselves.

The GitHub sandbox answers every request of the bot's account with the 403 GitHub gives
when the hourly allowance is gone (`X-RateLimit-Remaining: 0`, a reset an hour ahead).
The adapter will not block that long, so each job meets GitHubRateLimitedError: it must
end waiting until the reset with its attempts untouched, none failed, and then run and
open its pull request without `lessonbot jobs retry`. The write path's clock is the
test's, so the hour passes when the test says, however slow the machine.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import discord
import pytest
from sqlalchemy import select

from bot.config import GitHubSettings, Secret, Settings
from bot.discord.chat import DiscordChat
from bot.domain.catalogue import load_catalogue
from bot.github.adapter import GitHubAdapter
from bot.services.outbox import Outbox
from bot.services.signing import Signer
from bot.services.suggestions import Author, SuggestionInput, SuggestionService
from bot.services.worker import JobWorker
from bot.store.models import JobStatus, Suggestion, SuggestionSource
from sandboxes.discord import DiscordSandbox
from sandboxes.github import GitHubSandbox
from tests.e2e.test_suggestion_faults import (
    LESSON,
    Sessions,
    connect_chat,
    edited_line,
    original_line,
    short_sleep,
    write_content,
)

COUNT = 6
RESET_AHEAD = 3600


class Clock:
    """The write path's clock: real time until the test moves it ahead."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.ahead

    def move_to(self, moment: float) -> None:
        self.ahead = datetime.fromtimestamp(moment, UTC) - datetime.now(UTC)


@pytest.fixture
def sandboxes(tmp_path: Path) -> Iterator[tuple[GitHubSandbox, DiscordSandbox, Path]]:
    content = write_content(tmp_path / "content")
    with DiscordSandbox() as discord_sandbox, GitHubSandbox(content) as github_sandbox:
        yield github_sandbox, discord_sandbox, content


@pytest.fixture
async def chat(
    sandboxes: tuple[GitHubSandbox, DiscordSandbox, Path],
) -> AsyncIterator[DiscordChat]:
    saved = discord.http.Route.BASE
    discord_sandbox = sandboxes[1]
    chat = await connect_chat(discord_sandbox.api_base_url, discord_sandbox.bot_token)
    try:
        yield chat
    finally:
        await chat._client.close()
        discord.http.Route.BASE = saved


def use_up_the_hour(sandbox: GitHubSandbox) -> int:
    """Spend the bot account's hourly allowance; return the reset time."""
    window = sandbox.state.rate(f"user:{sandbox.bot_login}", authenticated=True)
    window.reset = int(time.time()) + RESET_AHEAD
    window.remaining = 0
    return window.reset


async def run_due(worker: JobWorker) -> None:
    """Run jobs until none is due now."""
    while await worker.run_once():
        pass


async def test_rate_limited_suggestions_wait_for_the_reset_then_open_by_themselves(
    sandboxes: tuple[GitHubSandbox, DiscordSandbox, Path],
    chat: DiscordChat,
    session_factory: Sessions,
) -> None:
    github_sandbox, discord_sandbox, content = sandboxes
    catalogue = load_catalogue(content, "en")
    github = GitHubAdapter.from_settings(
        GitHubSettings(
            base_url=github_sandbox.base_url,
            repository=github_sandbox.repository,
            token=Secret("lessonbot"),
            seconds_between_requests=0,
            seconds_between_writes=0,
            writes_per_minute=100_000,
            writes_per_hour=1_000_000,
        ),
        backoff=0.01,
        sleep=short_sleep,
        # Shorter than any reset: every rate limit comes back to the job as a known wait.
        max_rate_limit_wait=0.5,
    )
    clock = Clock()
    outbox = Outbox(
        session_factory, max_attempts=3, backoff_base=0.01, backoff_cap=0.05, clock=clock
    )
    service = SuggestionService(
        session_factory,
        outbox,
        Settings(),
        catalogue=lambda: catalogue,
        signer=Signer(b"r" * 32),
        github=github,
        chat=chat,
    )
    handlers = {SuggestionService.JOB_KIND: service.run_job}
    handlers[SuggestionService.NOTIFY_KIND] = service.run_job
    worker = JobWorker(outbox, handlers)
    try:
        ids = []
        for index in range(COUNT):
            user = discord_sandbox.create_user(f"flyer{index}")
            submitted = await service.submit(
                SuggestionInput(
                    lesson=LESSON,
                    locale="en",
                    find=original_line(index),
                    replace=edited_line(index),
                    reason="Steadily, not slowly",
                    source=SuggestionSource.DISCORD,
                    author=Author(name=f"Flyer {index}", discord_user_id=user),
                )
            )
            ids.append(submitted.id)
        reset = use_up_the_hour(github_sandbox)

        # Run whatever is due, a few seconds on: time enough for a job counting each rate
        # limit as a failed attempt (a backoff of at most 0.05 s) to fail 3 times.
        for _ in range(10):
            await run_due(worker)
            clock.move_to(time.time() + clock.ahead.total_seconds() + 1)
        jobs = await outbox.jobs()
        assert [job.status for job in jobs] == ["waiting"] * COUNT
        assert all(job.attempts == 0 for job in jobs)
        assert all(job.wait_reason == "GitHub's rate limit" for job in jobs)
        # The adapter asks to come back a second after GitHub's reset.
        assert all(abs(job.run_after.timestamp() - (reset + 1)) < 1 for job in jobs)
        assert not await outbox.jobs([JobStatus.FAILED])
        rejected = [entry for entry in github_sandbox.requests if entry["status"] == 403]
        assert len(rejected) == COUNT
        run_after = {job.key: job.run_after for job in jobs}
        for suggestion_id in ids:
            wait = await service.opening_wait(suggestion_id)
            assert wait is not None and wait.reason == "GitHub's rate limit"
            assert wait.until == run_after[f"suggestion:{suggestion_id}:open"]
        async with session_factory() as session:
            statuses = set((await session.execute(select(Suggestion.status))).scalars())
        assert statuses == {"queued"}

        # After the reset they go on by themselves: no `jobs retry`. GitHub's window
        # starts again, and the write path's hour has passed.
        github_sandbox.state.rate(f"user:{github_sandbox.bot_login}", authenticated=True).reset = 0
        clock.move_to(reset + 1.05)
        for _ in range(200):
            await run_due(worker)
            if not await outbox.jobs([JobStatus.PENDING, JobStatus.RUNNING]):
                break
            await asyncio.sleep(0.05)
        assert not await outbox.jobs([JobStatus.FAILED, JobStatus.PENDING, JobStatus.RUNNING])
        async with session_factory() as session:
            rows = (await session.execute(select(Suggestion))).scalars().all()
        assert {str(row.status) for row in rows} == {"open"}
        assert all(row.pr_number for row in rows)
    finally:
        github.close()
