"""The sandbox's state folder: its lock, the kept world, and which world a database holds."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, literal, select
from sqlalchemy.engine import make_url

from bot.running_sandbox import ENV_FILE, LOCK_FILE
from bot.store.engine import make_sync_engine, masked_url
from bot.store.migrate import upgrade
from bot.store.models import (
    AppSecret,
    Base,
    BridgedComment,
    DigestRun,
    LessonLink,
    OutboxJob,
    ProgramForum,
    Question,
    Suggestion,
    WebhookDeliveryRecord,
)
from bot.store.upsert import insert_new
from sandboxes.persist import read_json

log = logging.getLogger(__name__)

# Where a sandbox world lives in the state directory: both sandboxes' worlds and the
# environment's own (the bot's web port, the webhook secret) under `sandbox/`, the bot's
# database beside it with the id of the world it belongs to in `sandbox-world`.
WORLD_DIR = "sandbox"
DATABASE = "sandbox.db"
DATABASE_WORLD = "sandbox-world"
DESCRIPTION = "sandbox.json"
CLONE_DIR = "content"
# How long a start waits for its state folder's lock: other commands take it for an
# instant to see whether a sandbox runs there.
LOCK_WAIT_SECONDS = 2.0
# In a database named by `database.url`, the app_secrets row naming the world it holds.
WORLD_MARK = "sandbox-world"
# Tables a bot fills only by talking to Discord, GitHub or people: rows in them, in a
# database no sandbox world has claimed, are a real bot's links, questions and jobs.
_BOT_DATA = (
    LessonLink,
    ProgramForum,
    BridgedComment,
    Suggestion,
    Question,
    DigestRun,
    OutboxJob,
    WebhookDeliveryRecord,
)


class StateDirBusyError(Exception):
    """Another `lessonbot sandbox` holds this state folder."""

    def __init__(self, state_dir: Path, holder: str) -> None:
        super().__init__(f"{state_dir} is in use by {holder or 'another process'}")
        self.state_dir = state_dir
        self.holder = holder


@contextlib.contextmanager
def holding_state_dir(state_dir: Path) -> Iterator[None]:
    """Hold the state folder for this process, or raise StateDirBusyError.

    Two sandboxes on one folder would each save their own world over the other's (and
    the second would re-link every lesson on its own ports): the second one must stop.
    The lock goes with the process, so a crashed sandbox never leaves it held.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / LOCK_FILE
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the whole block
    try:
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                # Another sandbox, or a command looking for one here (bot/offline/running.py),
                # which lets go at once: only a lock still held after the wait is a sandbox's.
                if time.monotonic() > deadline:
                    handle.seek(0)
                    raise StateDirBusyError(state_dir, handle.read().strip()) from None
                time.sleep(0.05)
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()}\n")
        handle.flush()
        yield
    finally:
        handle.close()


def wipe_world(state_dir: Path) -> list[Path]:
    """Delete the sandbox world in `state_dir`: both sandboxes, the bot's sandbox database
    and its lesson clone, the description and env files; return what was deleted."""
    names = [WORLD_DIR, CLONE_DIR, DATABASE_WORLD, ENV_FILE, DESCRIPTION]
    names += [f"{DATABASE}{suffix}" for suffix in ("", "-wal", "-shm", "-journal")]
    deleted = []
    for name in names:
        path = state_dir / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        else:
            continue
        deleted.append(path)
    return deleted


def claim_database(state_dir: Path, world_id: str) -> Path | None:
    """Make `state_dir/sandbox.db` belong to the world `world_id`: a database of another
    world (or of none recorded) is moved aside to `sandbox.db.stale-<time>`, which is
    returned, so no stored link points into a world that is gone."""
    database, marker = state_dir / DATABASE, state_dir / DATABASE_WORLD
    recorded = marker.read_text(encoding="utf-8").strip() if marker.exists() else None
    moved = None
    if database.exists() and recorded != world_id:
        moved = state_dir / f"{DATABASE}.stale-{time.strftime('%Y%m%d-%H%M%S')}"
        for suffix in ("", "-wal", "-shm", "-journal"):
            if (state_dir / f"{DATABASE}{suffix}").exists():
                (state_dir / f"{DATABASE}{suffix}").replace(f"{moved}{suffix}")
        log.warning(
            "The sandbox database belonged to another sandbox world (its posts and issues "
            "are gone); moved it to %s and starting with a fresh one",
            moved,
        )
    if recorded != world_id:
        marker.write_text(f"{world_id}\n", encoding="utf-8")
    return moved


def described_world(state_dir: Path) -> str | None:
    """Return the id of the world the last start described in sandbox.json, if any."""
    try:
        described = read_json(state_dir / DESCRIPTION)
    except (OSError, ValueError):  # unreadable or cut short: no world to name
        return None
    world = described.get("world_id") if isinstance(described, dict) else None
    return world if isinstance(world, str) else None


def sandbox_database_url(state_dir: Path) -> str:
    """Return the URL of the sandbox's own SQLite database in `state_dir`."""
    return f"sqlite:///{state_dir / 'sandbox.db'}"


def is_sandbox_database(url: str, state_dir: Path) -> bool:
    """Tell whether `url` names the sandbox's own SQLite file in `state_dir` (as a sourced
    sandbox.env does)."""
    try:
        parsed = make_url(url)
    except Exception:  # not a URL: the settings check says so elsewhere
        return False
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return False
    # abspath also folds `..`, so `state/../state/sandbox.db` is the same file.
    return os.path.abspath(parsed.database) == os.path.abspath(state_dir / DATABASE)


class SandboxDatabaseError(Exception):
    """The database named for the sandbox holds another world's, or a real bot's, data."""

    def __init__(self, url: str, world: str | None) -> None:
        held = f"sandbox world {world}" if world else "a bot's data and no sandbox world"
        super().__init__(f"{masked_url(url)} holds {held}")
        self.url = url
        # The world the database holds; None: a bot's data, no world recorded.
        self.world = world


def claim_named_database(url: str, world_id: str, *, reset_world: str | None = None) -> None:
    """Make the database at `url` belong to the world `world_id`, or raise
    SandboxDatabaseError and change nothing.

    An empty database is claimed (an app_secrets row names the world), one of this world
    resumed, one of `reset_world` (the world `--fresh` just wiped) emptied and claimed.
    Any other is refused: unlike the sandbox's own file it cannot be moved aside, and the
    bot would send its pending jobs into the sandboxes and replace its links to real (or
    another world's) posts and issues with ones that exist only here.
    """
    upgrade(url)
    engine = make_sync_engine(url)
    try:
        with engine.begin() as connection:
            recorded = _recorded_world(connection)
            if recorded is None and _holds_bot_data(connection):
                raise SandboxDatabaseError(url, None)
            if recorded not in (None, world_id):
                if recorded != reset_world:
                    raise SandboxDatabaseError(url, recorded)
                for table in reversed(Base.metadata.sorted_tables):
                    connection.execute(table.delete())
                log.warning("Emptied the database %s of the wiped world", masked_url(url))
            if recorded != world_id:
                connection.execute(
                    insert_new(connection, AppSecret, ["name"]).values(
                        name=WORLD_MARK, value=world_id
                    )
                )
                # Two sandboxes claiming one empty database at once: the first one wins.
                if (winner := _recorded_world(connection)) != world_id:
                    raise SandboxDatabaseError(url, winner)
    finally:
        engine.dispose()


def _recorded_world(connection: Connection) -> str | None:
    return connection.scalar(select(AppSecret.value).where(AppSecret.name == WORLD_MARK))


def _holds_bot_data(connection: Connection) -> bool:
    return any(
        connection.scalar(select(literal(1)).select_from(model).limit(1)) is not None
        for model in _BOT_DATA
    )
