"""`lessonbot sandbox`: both sandboxes and the bot until stopped, and the guide to them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from bot.app import background_work
from bot.config import Settings, env_name
from bot.offline.environment import SandboxEnvironment, sandbox_environment
from bot.offline.guide import first_thread, sandbox_guide
from bot.offline.state import DESCRIPTION, WORLD_DIR, described_world, holding_state_dir, wipe_world
from bot.running_sandbox import ENV_FILE

# The longest the start waits for the webhooks linking caused before printing the guide.
SETTLE_SECONDS = 30.0


async def run_sandbox(
    settings: Settings,
    *,
    content_dir: Path,
    state_dir: Path = Path(".lessonbot"),
    fresh: bool = False,
    database_url: str | None = None,
    database_setting: str = "",
) -> None:
    """Run both sandboxes and the bot until cancelled, printing where each listens; link
    every lesson at start. `fresh` wipes the kept world first. The bot uses the database
    `database_url` (named by `database_setting`) when given, else its own file in
    `state_dir`."""
    with holding_state_dir(state_dir):
        await _run_sandbox(
            settings,
            content_dir=content_dir,
            state_dir=state_dir,
            fresh=fresh,
            database_url=database_url,
            database_setting=database_setting,
        )


async def _run_sandbox(
    settings: Settings,
    *,
    content_dir: Path,
    state_dir: Path,
    fresh: bool,
    database_url: str | None,
    database_setting: str,
) -> None:
    previous_world = await fresh_start(state_dir) if fresh else None
    async with started_sandbox(
        settings,
        content_dir=content_dir,
        state_dir=state_dir,
        database_url=database_url,
        reset_world=previous_world,
    ) as environment:
        # The lines below are printed once all has started, so that the guide is the last
        # thing on the screen rather than buried under the start's own output.
        discord, github = environment.description["discord"], environment.description["github"]
        resumed = "resumed" if environment.description["restored"] else "new"
        print(f"Sandbox world:    {resumed} ({state_dir / WORLD_DIR})", flush=True)
        database = environment.description["database"]
        if environment.app.settings.database.url == database_url:
            print(f"Database:         {database}, from {database_setting}", flush=True)
        else:
            variable = env_name("database", "url")
            print(
                f"Database:         {database}, the sandbox's own (set {variable} for another)",
                flush=True,
            )
        if environment.stale_database is not None:
            print(f"Old database:     moved to {environment.stale_database}", flush=True)
        print(f"Discord sandbox:  {discord['url']} (guild {discord['guild_id']})", flush=True)
        print(f"  in a browser:   {discord['url']}/channels/{discord['guild_id']}", flush=True)
        print(f"GitHub sandbox:   {github['url']} ({github['repository']})", flush=True)
        print(f"  in a browser:   {github['url']}/{github['repository']}", flush=True)
        print(f"Lessons:          git clone {github['clone_url']}", flush=True)
        print(
            f"lessonbot web:    {environment.app.web_url}/ (lessons, suggest form; webhooks)",
            flush=True,
        )
        if mail := environment.description.get("mail"):
            print(
                f"Mail catcher:     SMTP {mail['smtp_host']}:{mail['smtp_port']}, read at "
                f"{mail['url']}",
                flush=True,
            )
        print(f"Details:          {state_dir / DESCRIPTION}, {state_dir / ENV_FILE}", flush=True)
        if environment.linked:
            print(environment.linked, flush=True)
        thread_id = await first_thread(environment)
        print(sandbox_guide(environment, state_dir, thread_id=thread_id), flush=True)
        print("The bot is connected. Press Ctrl+C to stop.", flush=True)
        await environment.bot_task


@contextlib.asynccontextmanager
async def started_sandbox(
    settings: Settings,
    *,
    content_dir: Path,
    state_dir: Path,
    database_url: str | None,
    reset_world: str | None,
) -> AsyncIterator[SandboxEnvironment]:
    """Start both sandboxes and the bot with every lesson linked, its jobs and schedules
    running as `lessonbot run` does (suggestions become PRs, digests go out); yield once
    the start's own webhooks are handled."""
    async with (
        sandbox_environment(
            settings,
            content_dir=content_dir,
            state_dir=state_dir,
            link_at_start=True,
            database_url=database_url,
            reset_world=reset_world,
        ) as environment,
        background_work(environment.app),
    ):
        await settled(environment)
        yield environment


async def fresh_start(
    state_dir: Path, say: Callable[[str], None] = lambda line: print(line, flush=True)
) -> str | None:
    """Wipe the sandbox world in `state_dir`; return the id of the world wiped, if known.

    A named database cannot be deleted with the world: it is emptied at start if it holds
    the world wiped here (and no other), so the description is read first.
    """
    previous_world = await asyncio.to_thread(described_world, state_dir)
    deleted = await asyncio.to_thread(wipe_world, state_dir)
    if deleted:
        say(f"Fresh start: removed the sandbox world in {state_dir}")
    return previous_world


async def settled(environment: SandboxEnvironment) -> None:
    """Wait until the GitHub sandbox delivered the webhooks the start caused (linking
    opens issues), so their handling is over before the guide is printed."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(SETTLE_SECONDS):
            await environment.github.wait_for_webhooks()
