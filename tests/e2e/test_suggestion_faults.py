"""Nothing lost, nothing twice: 50 suggestions through faults on every write and a kill -9.

Both sandboxes run on threads of the test. Faults: GitHub's `after` (the write lands, its
answer is lost) and `secondary` (a rate limit) on every write of the pull request path and
one `primary` rate limit; Discord 429s and 500s on the DMs; and worker processes killed
with SIGKILL while a write's answer is held back. Whatever happens, each suggestion ends
with one PR of one commit holding exactly its edit, and each suggester is told once.

Run as `python -m tests.e2e.test_suggestion_faults` (the environment names the database
and the sandboxes), the module is the worker process the kill -9 test starts and kills.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord
import pytest
from github import Auth, Github
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import GitHubSettings, Secret, Settings
from bot.discord.chat import DiscordChat
from bot.domain.catalogue import load_catalogue
from bot.github.adapter import GitHubAdapter
from bot.services.outbox import Claim, Outbox
from bot.services.signing import Signer
from bot.services.suggestions import Author, SuggestionInput, SuggestionService
from bot.services.worker import JobWorker
from bot.store.engine import make_engine, make_session_factory
from bot.store.models import JobStatus, Suggestion, SuggestionEvent, SuggestionSource
from sandboxes.discord import DiscordSandbox
from sandboxes.github import GitHubSandbox
from tests.conftest import PROJECT

Sessions = async_sessionmaker[AsyncSession]
Handler = Callable[[Claim], Awaitable[object]]

COUNT = 50
PROGRAM = "kites"
LESSON = f"{PROGRAM}/kite-flying"
PATH = f"programs/{PROGRAM}/lessons/en/kite-flying.mdx"
# The writes of the pull request path, as the sandbox matches them.
PR_WRITES = (
    "POST /repos/*/git/refs",
    "PUT /repos/*/contents/*",
    "POST /repos/*/pulls",
    "POST /repos/*/issues/*/labels",
)
DM = "POST /api/v10/channels/{channel}/messages"
COLOURS = ("red", "amber", "teal", "violet", "silver")
PLACES = ("the harbour", "the old mill", "the school field", "the dunes", "the orchard")
SIGNER_KEY = b"f" * 32


def original_line(index: int) -> str:
    """Return the lesson's line number `index`: each one different from every other."""
    colour, place = COLOURS[index % 5], PLACES[index // 10 % 5]
    return f"Kite {index:02d}, the {colour} one, climbs slowly above {place}."


def edited_line(index: int) -> str:
    """Return what the suggestion for line `index` makes of it."""
    colour, place = COLOURS[index % 5], PLACES[index // 10 % 5]
    return f"Kite {index:02d}, the {colour} one, climbs steadily above {place}."


def lesson_text() -> str:
    """Return a lesson of COUNT distinct sentences, one a paragraph."""
    front = (
        "---\n"
        'title: "Kite Flying"\n'
        'description: "Fifty kites, one sentence each"\n'
        "order: 1\n"
        "published: true\n"
        "---\n\n"
        "# Kite Flying\n\n"
    )
    return front + "\n\n".join(original_line(index) for index in range(COUNT)) + "\n"


def write_content(root: Path) -> Path:
    """Write a content folder holding the kite lesson; return it."""
    lesson = root / PATH
    lesson.parent.mkdir(parents=True)
    lesson.write_text(lesson_text(), encoding="utf-8")
    (root / "programs" / PROGRAM / "program.json").write_text(
        json.dumps({"slug": PROGRAM, "title": "Kites"}), encoding="utf-8"
    )
    return root


async def short_sleep(seconds: float) -> None:
    """Wait out rate limits briefly: the sandbox's limits are faults, gone once answered."""
    await asyncio.sleep(min(seconds, 0.02))


def build_service(
    sessions: Sessions,
    content: Path,
    github_url: str,
    repository: str,
    chat: DiscordChat,
) -> tuple[SuggestionService, Outbox, GitHubAdapter, dict[str, Handler]]:
    """Build the service as the bot does, against the sandboxes; return its job handlers."""
    catalogue = load_catalogue(content, "en")
    github = GitHubAdapter.from_settings(
        GitHubSettings(
            base_url=github_url,
            repository=repository,
            token=Secret("lessonbot"),
            seconds_between_requests=0,
            seconds_between_writes=0,
            # GitHub's write pacing would stretch 50 PRs over minutes: not what is tested.
            writes_per_minute=100_000,
            writes_per_hour=1_000_000,
        ),
        backoff=0.01,
        sleep=short_sleep,
    )
    outbox = Outbox(sessions, backoff_base=0.01, backoff_cap=0.05)
    service = SuggestionService(
        sessions,
        outbox,
        Settings(),
        catalogue=lambda: catalogue,
        signer=Signer(SIGNER_KEY),
        github=github,
        chat=chat,
    )
    handlers: dict[str, Handler] = {
        SuggestionService.JOB_KIND: service.run_job,
        SuggestionService.NOTIFY_KIND: service.run_job,
    }
    return service, outbox, github, handlers


async def connect_chat(api_base_url: str, token: str) -> DiscordChat:
    """Log a REST-only discord.py client in to the Discord sandbox; return the chat port."""
    discord.http.Route.BASE = api_base_url
    client = discord.Client(intents=discord.Intents.none())
    await client.login(token)
    return DiscordChat(client)


@dataclass
class Stack:
    """Both sandboxes, the database, the content and the suggesters."""

    github: GitHubSandbox
    discord: DiscordSandbox
    database_url: str
    sessions: Sessions
    content: Path
    users: list[int]

    def environment(self) -> dict[str, str]:
        """Return what a worker process needs to find everything."""
        return {
            **os.environ,
            "FAULTS_DATABASE_URL": self.database_url,
            "FAULTS_CONTENT": str(self.content),
            "FAULTS_GITHUB_URL": self.github.base_url,
            "FAULTS_REPOSITORY": self.github.repository,
            "FAULTS_DISCORD_URL": self.discord.api_base_url,
            "FAULTS_DISCORD_TOKEN": self.discord.bot_token,
        }

    async def submit_all(self, service: SuggestionService) -> dict[int, int]:
        """Send the COUNT suggestions, each from its own Discord user; return id -> line."""
        lines: dict[int, int] = {}
        for index, user in enumerate(self.users):
            submitted = await service.submit(
                SuggestionInput(
                    lesson=LESSON,
                    locale="en",
                    find=original_line(index),
                    replace=edited_line(index),
                    reason=f"Kite {index:02d} climbs steadily, not slowly",
                    source=SuggestionSource.DISCORD,
                    author=Author(name=f"Flyer {index:02d}", discord_user_id=user),
                )
            )
            assert not submitted.joined
            lines[submitted.id] = index
        assert len(lines) == COUNT
        return lines


@pytest.fixture
def stack(tmp_path: Path, migrated_url: str, session_factory: Sessions) -> Iterator[Stack]:
    content = write_content(tmp_path / "content")
    with (
        DiscordSandbox() as discord_sandbox,
        GitHubSandbox(content, "lessons/content") as github_sandbox,
    ):
        users = [discord_sandbox.create_user(f"flyer{index:02d}") for index in range(COUNT)]
        yield Stack(github_sandbox, discord_sandbox, migrated_url, session_factory, content, users)


@pytest.fixture
def route_base() -> Iterator[None]:
    """Give discord.py's REST base back after the test points it at the sandbox."""
    saved = discord.http.Route.BASE
    yield
    discord.http.Route.BASE = saved


@pytest.fixture
async def chat(stack: Stack, route_base: None) -> AsyncIterator[DiscordChat]:
    chat = await connect_chat(stack.discord.api_base_url, stack.discord.bot_token)
    try:
        yield chat
    finally:
        await chat._client.close()


async def settle(outbox: Outbox, handlers: dict[str, Handler]) -> None:
    """Run jobs (a killed process's are taken over at once) until none is left to run."""
    worker = JobWorker(outbox, handlers)
    for _ in range(5000):
        if await worker.run_once():
            continue
        waiting = await outbox.jobs([JobStatus.PENDING, JobStatus.RUNNING])
        if not waiting:
            return
        await asyncio.sleep(0.02)  # a retry's backoff
    raise AssertionError(f"jobs still waiting: {await outbox.jobs([JobStatus.PENDING])}")


async def git(sandbox: GitHubSandbox, *args: str) -> str:
    """Run git on the sandbox's bare repository."""
    process = await asyncio.create_subprocess_exec(
        "git", "-C", str(sandbox.git_dir), *args, stdout=asyncio.subprocess.PIPE
    )
    output, _ = await process.communicate()
    assert process.returncode == 0, args
    return output.decode("utf-8")


async def assert_nothing_lost_nothing_twice(
    stack: Stack, outbox: Outbox, lines: dict[int, int]
) -> None:
    """Check the invariants: 50 PRs of one commit each, all open, every suggester told once."""
    assert not await outbox.jobs([JobStatus.FAILED, JobStatus.PENDING, JobStatus.RUNNING])

    def pulls() -> list[tuple[int, str, set[str]]]:
        client = Github(
            base_url=stack.github.base_url,
            auth=Auth.Token("maintainer"),
            retry=None,
            seconds_between_requests=0,
            seconds_between_writes=0,
        )
        repo = client.get_repo(stack.github.repository)
        return [
            (pull.number, pull.head.ref, {label.name for label in pull.labels})
            for pull in repo.get_pulls(state="all")
        ]

    found = await asyncio.to_thread(pulls)
    heads = sorted(head for _, head, _ in found)
    assert heads == sorted(f"lessonbot/suggest/{sid}" for sid in lines)  # 50, none twice
    assert all(
        labels == {"suggested-edit", f"program:{PROGRAM}", "locale:en"} for *_, labels in found
    )
    original = lesson_text()
    for sid, index in lines.items():
        branch = f"lessonbot/suggest/{sid}"
        commits = await git(stack.github, "rev-list", "--count", f"main..{branch}")
        assert commits.strip() == "1", branch
        on_branch = await git(stack.github, "show", f"{branch}:{PATH}")
        assert on_branch == original.replace(original_line(index), edited_line(index), 1)

    async with stack.sessions() as session:
        rows = (await session.execute(select(Suggestion))).scalars().all()
        opened = (
            await session.execute(
                select(SuggestionEvent.suggestion_id, SuggestionEvent.id).where(
                    SuggestionEvent.kind == "pr_opened"
                )
            )
        ).all()
    assert sorted(row.id for row in rows) == sorted(lines)
    assert {str(row.status) for row in rows} == {"open"}
    numbers = {row.id: row.pr_number for row in rows}
    assert {number for number, *_ in found} == set(numbers.values())
    assert sorted(sid for sid, _ in opened) == sorted(lines)  # one pr_opened each

    event_of = dict(opened)
    public_url = Settings().web.public_url
    for sid, index in lines.items():
        dms = stack.discord.dms(stack.users[index])
        # A retry after a kill finds its notice by the status link under it: the step's.
        link = f"{public_url}/suggestions/{sid}?locale=en#event-{event_of[sid]}"
        told = [message for message in dms if link in links(message)]
        assert len(told) == 1, (sid, [message["content"] for message in dms])
        assert len(dms) == 1  # nothing else, nothing twice
        assert f"/pull/{numbers[sid]}" in told[0]["content"]
        # What the bot keeps to find it again is out of sight: never in what people read.
        assert "-# suggestion" not in told[0]["content"]
        assert "lessonbot:" not in told[0]["content"]


def links(message: dict[str, Any]) -> list[str]:
    """Return the addresses of a message's link buttons."""
    return [
        str(item.get("url"))
        for row in message.get("components") or []
        for item in row.get("components") or []
        if item.get("style") == 5
    ]


async def test_faults_on_every_write_end_with_fifty_prs_and_fifty_notices(
    stack: Stack, chat: DiscordChat
) -> None:
    service, outbox, github, handlers = build_service(
        stack.sessions, stack.content, stack.github.base_url, stack.github.repository, chat
    )
    try:
        lines = await stack.submit_all(service)
        # One primary rate limit first, then every write of the PR path loses its answer
        # (`after`) or is rate limited (`secondary`), taking turns, for all fifty.
        stack.github.add_fault("POST /repos/*/pulls", "primary", 1)
        for match in PR_WRITES:
            for _ in range(COUNT):
                stack.github.add_fault(match, "after", 1)
                stack.github.add_fault(match, "secondary", 1)
        # Discord: 429s and 500s on some suggesters' DMs, and on opening a DM channel.
        for index in (1, 9, 23, 41):
            channel = stack.discord.dm_channel(stack.users[index])
            stack.discord.add_fault(DM.format(channel=channel), "rate_limit", 2, retry_after=0.05)
        for index in (4, 30):
            channel = stack.discord.dm_channel(stack.users[index])
            stack.discord.add_fault(DM.format(channel=channel), "server_error", 1)
        stack.discord.add_fault("POST /api/v10/users/@me/channels", "rate_limit", 1, 0.05)

        await settle(outbox, handlers)

        # Every write of every PR met a fault (at least once per route and suggestion).
        for match in PR_WRITES:
            method, _, glob = match.partition(" ")
            hit = [
                entry
                for entry in stack.github.requests
                if entry["status"] in (403, 502)
                and entry["method"] == method
                and fnmatch.fnmatchcase(entry["path"], glob)
            ]
            assert len(hit) >= COUNT, match
        assert not [f for f in stack.discord.context.faults.to_json() if "server" in f["mode"]]
        await assert_nothing_lost_nothing_twice(stack, outbox, lines)
    finally:
        github.close()


async def _wait(condition: Callable[[], bool], what: str, seconds: float = 120.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def _kill_during(
    stack: Stack,
    outbox: Outbox,
    add_hang: Callable[[], None],
    pending: Callable[[], bool],
    ready: Callable[[], bool],
) -> list[str]:
    """Start a worker process, hang one write's answer once `ready`, then kill -9 it;
    return the keys of the jobs it was holding."""
    log = stack.content.parent / f"worker-{len(list(stack.content.parent.glob('worker-*')))}.log"
    with log.open("wb") as errors:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.e2e.test_suggestion_faults",
            env=stack.environment(),
            cwd=PROJECT,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=errors,
        )
        try:
            await _wait(lambda: ready() or process.returncode is not None, "the worker's writes")
            assert process.returncode is None, "the worker process stopped early"
            add_hang()
            await _wait(lambda: not pending(), "the held-back write")
            await asyncio.sleep(0.3)  # the write itself completes; only its answer is held
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGKILL)
            await process.wait()
    assert process.returncode == -signal.SIGKILL, log.read_text()[-2000:]
    return [job.key for job in await outbox.jobs([JobStatus.RUNNING])]


def _count(stack: Stack, method: str, suffix: str) -> int:
    return sum(
        1
        for entry in stack.github.requests
        if entry["method"] == method and entry["path"].endswith(suffix)
    )


def _messages_sent(stack: Stack) -> int:
    return sum(
        1
        for entry in stack.discord.requests
        if entry["method"] == "POST" and entry["path"].endswith("/messages")
    )


async def test_workers_killed_mid_write_leave_nothing_lost_and_nothing_twice(
    stack: Stack, chat: DiscordChat
) -> None:
    service, outbox, github, handlers = build_service(
        stack.sessions, stack.content, stack.github.base_url, stack.github.repository, chat
    )
    try:
        lines = await stack.submit_all(service)
        # A few lost answers along the way, as in the other test.
        for match in PR_WRITES:
            stack.github.add_fault(match, "after", 5)
            stack.github.add_fault(match, "secondary", 5)
        github_faults = stack.github.context.faults
        discord_faults = stack.discord.context.faults

        def hanging(faults: Any) -> bool:
            return any(fault["mode"] == "hang" for fault in faults.to_json())

        # First kill: right after a PR is opened, before its answer comes back.
        held = await _kill_during(
            stack,
            outbox,
            lambda: stack.github.add_fault("POST /repos/*/pulls", "hang", 1),
            lambda: hanging(github_faults),
            lambda: _count(stack, "POST", "/pulls") >= 12,
        )
        # The killed process held the job whose PR it had just opened.
        assert len(held) == 1 and held[0].endswith(":open"), held
        before = set(held)
        # Second kill: right after a file is committed to a branch.
        pulls = _count(stack, "POST", "/pulls")
        held = await _kill_during(
            stack,
            outbox,
            lambda: stack.github.add_fault("PUT /repos/*/contents/*", "hang", 1),
            lambda: hanging(github_faults),
            lambda: _count(stack, "POST", "/pulls") >= pulls + 10,
        )
        # A dead process's job is taken over when a batch of due work has room, so the
        # first kill's job may still wait behind the queue: one more is held, by this kill.
        [new] = set(held) - before
        assert new.endswith(":open") and set(held) <= before | {new}, held
        before = set(held)
        # Third kill: right after a DM is sent (the PRs open first), before its answer.
        held = await _kill_during(
            stack,
            outbox,
            lambda: stack.discord.add_fault("POST /api/v10/channels/*/messages", "hang", 1),
            lambda: hanging(discord_faults),
            lambda: _messages_sent(stack) >= 8,
        )
        [new] = set(held) - before
        assert new.startswith("notify:") and set(held) <= before | {new}, held
        # This process finishes the work, taking over what the killed ones held.
        await settle(outbox, handlers)
        await assert_nothing_lost_nothing_twice(stack, outbox, lines)
    finally:
        github.close()


async def _work() -> None:
    """Run the suggestion jobs until killed: the worker process the kill -9 test starts."""
    env = os.environ
    engine = make_engine(env["FAULTS_DATABASE_URL"])
    chat = await connect_chat(env["FAULTS_DISCORD_URL"], env["FAULTS_DISCORD_TOKEN"])
    _, outbox, _, handlers = build_service(
        make_session_factory(engine),
        Path(env["FAULTS_CONTENT"]),
        env["FAULTS_GITHUB_URL"],
        env["FAULTS_REPOSITORY"],
        chat,
    )
    worker = JobWorker(outbox, handlers)
    while True:
        # One job a batch: a kill leaves exactly the job it was writing held.
        if not await worker.run_once(limit=1):
            await asyncio.sleep(0.02)


if __name__ == "__main__":
    asyncio.run(_work())
