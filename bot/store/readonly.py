"""Look at a database without changing it: its migration revision and the stored forums."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.engine import make_url

from bot.store.engine import database_url
from bot.store.migrate import head_revision
from bot.store.models import ProgramForum


class DatabaseMissingError(FileNotFoundError):
    """The SQLite file a URL names does not exist (and looking must not create it)."""


@dataclass(frozen=True)
class DatabaseState:
    """Where a database's migrations stand, and the forums it recorded per program."""

    revision: str | None
    head: str
    forums: dict[str, int] = field(default_factory=dict)

    @property
    def migrated(self) -> bool:
        """Tell whether the database is at the newest revision the package ships."""
        return self.revision == self.head


def inspect_database(url: str) -> DatabaseState:
    """Return the database's revision (and, when it is at head, its program forums).

    Opens SQLite read-only and sets no pragma, so that looking writes nothing; raises
    DatabaseMissingError for a SQLite file that does not exist, or the driver's error.
    """
    engine = _read_only_engine(url)
    try:
        with engine.connect() as connection:
            revision = MigrationContext.configure(connection).get_current_revision()
            head = head_revision()
            forums: dict[str, int] = {}
            if revision == head:
                rows = connection.execute(
                    select(ProgramForum.program, ProgramForum.discord_forum_id)
                )
                forums = {program: int(forum_id) for program, forum_id in rows if forum_id}
            return DatabaseState(revision, head, forums)
    finally:
        engine.dispose()


def _read_only_engine(url: str) -> Engine:
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.get_backend_name() != "sqlite":
        return create_engine(database_url(url, asynchronous=False))
    path = parsed.database or ""
    if not path or path == ":memory:" or not Path(path).is_file():
        raise DatabaseMissingError(path or ":memory:")
    # `mode=ro`: SQLite refuses every write, and never creates the file or its folder.
    uri = f"file:{Path(path).absolute().as_posix()}?mode=ro"
    return create_engine("sqlite+pysqlite://", creator=lambda: _connect(uri))


def _connect(uri: str) -> object:
    import sqlite3

    return sqlite3.connect(uri, uri=True, check_same_thread=False)
