"""`lessonbot sandbox` runs its bot on the database LESSONBOT_DATABASE_URL names (SQLite or
PostgreSQL), says which, and refuses one that holds a real bot's or another world's data."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.cli import build_parser
from bot.cli.sandbox import sandbox_database as _sandbox_database
from bot.config import Settings, load_settings
from bot.offline import (
    WORLD_MARK,
    SandboxDatabaseError,
    run_sandbox,
    sandbox_environment,
    wipe_world,
)
from bot.store.engine import make_engine, make_session_factory
from bot.store.migrate import upgrade
from bot.store.models import AppSecret, LessonLink
from tests.conftest import PROJECT
from tests.e2e.test_cli_sigterm import (
    CONTENT,
    LESSONBOT,
    START_TIMEOUT,
    Command,
    assert_stopped_cleanly,
    start,
)
from tests.services.test_digests import seed

__all__ = ["start"]  # the fixture, used here by name

LESSONS = PROJECT / "lessons"


async def _rows(url: str) -> tuple[int, str | None]:
    """Return how many lesson links the database holds and the world it is marked with."""
    engine = make_engine(url)
    try:
        async with make_session_factory(engine)() as session:
            links = await session.scalar(select(func.count()).select_from(LessonLink))
            world = await session.scalar(
                select(AppSecret.value).where(AppSecret.name == WORLD_MARK)
            )
            return links or 0, world
    finally:
        await engine.dispose()


def _with_password(url: str) -> str:
    """Return a PostgreSQL URL with a password (the test server trusts, so ignores it)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return url
    return parsed.set(password="hunter2-secret").render_as_string(hide_password=False)


def _until_connected(command: Command) -> str:
    """Return what the sandbox printed until its bot connected; fail if it stopped."""
    printed = ""
    for line in command.stdout:
        printed += line
        if "The bot is connected" in line:
            return printed
    command.process.wait()
    pytest.fail(f"exited {command.process.returncode}: {command.stderr()}\n{printed}")


def test_the_sandbox_runs_its_bot_on_the_database_the_environment_names(
    start: Callable[..., Command], tmp_path: Path, database_url: str
) -> None:
    state = tmp_path / "state"
    url = _with_password(database_url)
    command = start(
        "sandbox", "--content", str(CONTENT), "--state-dir", str(state), DATABASE_URL=url
    )
    printed = _until_connected(command)

    [line] = [line for line in printed.splitlines() if line.startswith("Database:")]
    assert line.endswith(", from database.url (LESSONBOT_DATABASE_URL)"), line
    assert "hunter2" not in printed
    if "postgresql" in url:
        assert ":***@" in line
    linked = re.search(r"Linked at start\. Lessons: (\d+)\.", printed)
    assert linked is not None, printed
    world = json.loads((state / "sandbox.json").read_text())["world_id"]
    # The bot's tables and rows are in the named database, and no sandbox.db was made.
    assert asyncio.run(_rows(database_url)) == (int(linked.group(1)), world)
    assert not (state / "sandbox.db").exists()
    # Neither file the sandbox writes shows the password; sandbox.env leaves the URL out.
    for name in ("sandbox.json", "sandbox.env"):
        assert "hunter2" not in (state / name).read_text()
    if "sqlite" in url:
        assert f"LESSONBOT_DATABASE_URL={url}" in (state / "sandbox.env").read_text()

    assert_stopped_cleanly(command)


def test_a_database_holding_a_bots_data_is_refused_with_one_line(
    tmp_path: Path, database_url: str
) -> None:
    upgrade(database_url)

    async def fill() -> None:
        engine = make_engine(database_url)
        try:
            await seed(make_session_factory(engine))  # questions and a suggestion
        finally:
            await engine.dispose()

    asyncio.run(fill())
    state = tmp_path / "state"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LESSONBOT_")}
    refused = subprocess.run(
        [str(LESSONBOT), "sandbox", "--content", str(CONTENT), "--state-dir", str(state)],
        cwd=tmp_path,
        env={**environment, "LESSONBOT_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
        check=False,
    )

    assert refused.returncode == 2, refused.stderr
    [line] = refused.stderr.strip().splitlines()
    assert line.startswith("lessonbot: Not starting the sandbox on the database"), line
    assert "database.url (LESSONBOT_DATABASE_URL)" in line
    assert f"sqlite:///{(state / 'sandbox.db').absolute()}" in line
    assert asyncio.run(_rows(database_url)) == (0, None)  # left as it was


async def test_fresh_empties_a_named_database_of_its_world_and_no_other(
    tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    async with sandbox_environment(
        Settings(),
        content_dir=LESSONS,
        state_dir=state,
        database_url=database_url,
        link_at_start=True,
    ) as first:
        assert first.linked is not None and first.linked.startswith("Linked at start.")
        old_world = first.description["world_id"]
    assert await _rows(database_url) == (6, old_world)

    # --fresh wipes this state folder's world, so its rows in the database go too.
    task = asyncio.create_task(
        run_sandbox(
            Settings(),
            content_dir=LESSONS,
            state_dir=state,
            fresh=True,
            database_url=database_url,
            database_setting="database.url (LESSONBOT_DATABASE_URL)",
        )
    )
    printed = ""
    try:
        for _ in range(600):
            printed += capsys.readouterr().out
            if "Press Ctrl+C" in printed or task.done():
                break
            await asyncio.sleep(0.1)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert "Press Ctrl+C" in printed, printed
    assert "Linked at start. Lessons: 6. GitHub issues created: 6" in printed
    new_world = json.loads(await asyncio.to_thread((state / "sandbox.json").read_text))["world_id"]
    assert new_world != old_world
    assert await _rows(database_url) == (6, new_world)

    # A world deleted by hand leaves the database of a world that is gone: refused, kept.
    await asyncio.to_thread(wipe_world, state)
    with pytest.raises(SandboxDatabaseError) as refused:
        async with sandbox_environment(
            Settings(), content_dir=LESSONS, state_dir=state, database_url=database_url
        ):
            pytest.fail("the sandbox started on another world's database")
    assert refused.value.world == new_world
    assert await _rows(database_url) == (6, new_world)


def test_only_a_set_database_url_other_than_the_sandboxs_own_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("LESSONBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    state = tmp_path / "state"
    arguments = build_parser().parse_args(["sandbox", "--state-dir", str(state)])
    # Left at its default, database.url is `lessonbot run`'s database, not a choice.
    assert _sandbox_database(arguments, load_settings()) == (None, "--state-dir")
    # A sourced sandbox.env names the sandbox's own file: that is no other database.
    monkeypatch.setenv("LESSONBOT_DATABASE_URL", f"sqlite:///{state.absolute()}/sandbox.db")
    assert _sandbox_database(arguments, load_settings()) == (None, "--state-dir")
    monkeypatch.setenv("LESSONBOT_DATABASE_URL", "sqlite:///mine.db")
    assert _sandbox_database(arguments, load_settings()) == (
        "sqlite:///mine.db",
        "database.url (LESSONBOT_DATABASE_URL)",
    )
    monkeypatch.delenv("LESSONBOT_DATABASE_URL")
    (tmp_path / "lessonbot.toml").write_text('[database]\nurl = "sqlite:///file.db"\n')
    assert _sandbox_database(arguments, load_settings()) == (
        "sqlite:///file.db",
        "database.url (lessonbot.toml)",
    )
