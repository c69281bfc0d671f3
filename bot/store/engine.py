"""Engines and sessions for SQLite (default, WAL) and PostgreSQL, from one database URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg"}
_SYNC_DRIVERS = {"sqlite": "sqlite+pysqlite", "postgresql": "postgresql+psycopg"}


def database_url(url: str, *, asynchronous: bool) -> URL:
    """Return the URL with the driver this project uses for its database kind."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    backend = parsed.get_backend_name()
    drivers = _ASYNC_DRIVERS if asynchronous else _SYNC_DRIVERS
    if backend not in drivers:
        raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")
    parsed = parsed.set(drivername=drivers[backend])
    if backend == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return parsed


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the one writer; foreign keys are off by default in SQLite;
    # busy_timeout makes a second writer wait instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str, **options: Any) -> AsyncEngine:
    """Create the application's async engine."""
    parsed = database_url(url, asynchronous=True)
    engine = create_async_engine(parsed, pool_pre_ping=True, **options)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _set_sqlite_pragmas)
    return engine


def make_sync_engine(url: str, **options: Any) -> Engine:
    """Create a blocking engine, for migrations and command-line tools."""
    parsed = database_url(url, asynchronous=False)
    engine = create_engine(parsed, pool_pre_ping=True, **options)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _set_sqlite_pragmas)
    return engine


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker:
    """Return the session factory services use (objects stay usable after commit)."""
    return async_sessionmaker(engine, expire_on_commit=False)
