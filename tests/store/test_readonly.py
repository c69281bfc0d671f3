"""Looking at a database without changing it: its revision and the forums it recorded."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import insert, text

from bot.store.engine import make_sync_engine
from bot.store.migrate import downgrade, head_revision, upgrade
from bot.store.models import ProgramForum
from bot.store.readonly import DatabaseMissingError, inspect_database


def test_a_migrated_database_shows_its_revision_and_forums(database_url: str) -> None:
    upgrade(database_url)
    engine = make_sync_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            insert(ProgramForum).values(
                program="python", discord_guild_id=1, discord_forum_id=42, tag_ids={}
            )
        )
    engine.dispose()

    state = inspect_database(database_url)

    assert (state.revision, state.head, state.migrated) == (head_revision(),) * 2 + (True,)
    assert state.forums == {"python": 42}


def test_an_empty_or_older_database_is_not_migrated(database_url: str) -> None:
    engine = make_sync_engine(database_url)
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))  # SQLite: the file now exists, empty
    engine.dispose()
    assert inspect_database(database_url).revision is None

    upgrade(database_url)
    downgrade(database_url, "-1")
    state = inspect_database(database_url)

    assert state.revision is not None and not state.migrated
    assert state.forums == {}


def test_a_missing_sqlite_file_is_said_and_not_created(tmp_path: Path) -> None:
    path = tmp_path / "none" / "bot.db"

    with pytest.raises(DatabaseMissingError):
        inspect_database(f"sqlite:///{path}")

    assert not path.parent.exists()


def test_looking_writes_nothing_to_a_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    upgrade(f"sqlite:///{path}")
    before = path.read_bytes()

    inspect_database(f"sqlite:///{path}")

    # A reader of a WAL database may leave SQLite's -wal and -shm beside it, as the
    # running bot does; the database itself is untouched.
    assert path.read_bytes() == before
