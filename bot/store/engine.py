"""Engines and sessions for SQLite (default, WAL) and PostgreSQL, from one database URL."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg"}
_SYNC_DRIVERS = {"sqlite": "sqlite+pysqlite", "postgresql": "postgresql+psycopg"}
# Server connections a process keeps open (PostgreSQL); as many again while busy.
POOL_SIZE = 10


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
    sqlite = parsed.get_backend_name() == "sqlite"
    # A ping finds a server connection that dropped; a SQLite file's never does, and with
    # aiosqlite each ping is several trips to its thread on every checkout.
    options.setdefault("pool_pre_ping", not sqlite)
    if not sqlite:
        # SQLAlchemy keeps 5 and closes the rest when they come back: a web process with
        # more requests than that at once opened and closed a server connection (a backend
        # process) for many of them. Ten stay open, up to twenty at once.
        options.setdefault("pool_size", POOL_SIZE)
        options.setdefault("max_overflow", POOL_SIZE)
    if sqlite:
        options.setdefault("pool_reset_on_return", None)  # see _reset_sqlite
    engine = create_async_engine(parsed, **options)
    if sqlite:
        event.listen(engine.sync_engine, "connect", _set_sqlite_pragmas)
        if options["pool_reset_on_return"] is None:
            event.listen(engine.sync_engine, "reset", _reset_sqlite)
    return engine


def _reset_sqlite(dbapi_connection: Any, record: Any, state: Any) -> None:
    # A connection back from a committed transaction has nothing to roll back, and with
    # aiosqlite a rollback is still a trip to its thread; one back mid-transaction must not
    # keep holding the database's one writer lock.
    if state.terminate_only:
        return
    if record.driver_connection.in_transaction:
        dbapi_connection.rollback()


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


def masked_url(url: str) -> str:
    """Return the database URL with its password, if any, shown as ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparseable URL is shown by its scheme alone
        return url.partition("://")[0] + "://..."


def check_writable(url: str) -> None:
    """Raise the driver's error when the database cannot be reached or written."""
    engine = make_sync_engine(url)
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                # Rewriting the header with the value it holds is a real, harmless write:
                # SQLite opens a read-only file without complaint and fails only here.
                version = connection.exec_driver_sql("PRAGMA user_version").scalar()
                connection.exec_driver_sql(f"PRAGMA user_version = {int(version or 0)}")
                connection.commit()
    finally:
        engine.dispose()


def check_reachable(url: str) -> None:
    """Raise the driver's error when a database server does not answer.

    A SQLite file is left alone: opening one that is missing would create it.
    """
    if make_url(url).get_backend_name() == "sqlite":
        return
    engine = make_sync_engine(url)
    try:
        with engine.connect():
            pass
    finally:
        engine.dispose()


DatabaseProblem = Literal["unreachable", "not_writable", "read_only"]


def database_problem(error: BaseException) -> DatabaseProblem | None:
    """Tell whether an error, or one it came from, says the database is out of reach:
    a server that does not answer or refuses us, a file we may not write, a read-only
    server."""
    psycopg = sys.modules.get("psycopg")  # loaded only when a PostgreSQL URL was used
    for cause in _causes(error):
        if isinstance(cause, sqlite3.OperationalError):
            text = str(cause).lower()
            if "readonly" in text or "read-only" in text or "unable to open" in text:
                return "not_writable"
        elif psycopg is not None and isinstance(cause, psycopg.Error):
            state = cause.sqlstate
            if state == "25006":  # read_only_sql_transaction: a standby, or read-only mode
                return "read_only"
            # No state: the client could not connect; 08 connection, 28 authorization,
            # 3D no such database, 57P server shutting down or starting.
            if isinstance(cause, psycopg.OperationalError) and (
                state is None or state.startswith(("08", "28", "3D", "57P"))
            ):
                return "unreachable"
    return None


def problem_reason(error: BaseException) -> str:
    """Return the driver's own short reason, such as "Connection refused"."""
    for cause in _causes(error):
        if type(cause).__module__.startswith(("sqlite3", "psycopg")) and str(cause):
            line = str(cause).strip().splitlines()[0]
            # psycopg nests "connection failed: connection to server ... failed: REASON".
            return line.rpartition(": ")[2].strip() or line
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def _causes(error: BaseException) -> Iterator[BaseException]:
    """Yield an error, the errors it was raised from or during, and a DBAPI error inside."""
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = (getattr(current, "orig", None), current.__cause__, current.__context__)
        pending.extend(cause for cause in linked if isinstance(cause, BaseException))
