"""Statements on SQLite in one trip each to aiosqlite's thread, for the hottest writes.

Through SQLAlchemy an INSERT takes three trips (cursor, execute, close), each a hand-over
to the thread and back; while the one writer holds the lock, every other writer waits for
all of them. These send SQLAlchemy's own SQL with its own value conversions, straight to
the driver, and raise SQLAlchemy's errors as a statement through it would.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table, bindparam
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

Processors = tuple[tuple[str, Callable[[Any], Any] | None], ...]


async def begin_immediate(connection: AsyncConnection) -> None:
    """Begin the connection's transaction holding SQLite's writer lock."""
    await _run(connection, "BEGIN IMMEDIATE", [])


async def insert_row(
    connection: AsyncConnection,
    table: Table,
    row: dict[str, Any],
    *,
    skip_existing: Sequence[str] = (),
) -> int | None:
    """Insert one row; return its id, or None when `skip_existing` columns matched a row.

    `row` names every column to set: column defaults are not applied here.
    """
    sql, processors = _prepared(connection.dialect, table, tuple(row), tuple(skip_existing))
    values = [row[name] if process is None else process(row[name]) for name, process in processors]
    cursor = await _run(connection, sql, values)
    if cursor.rowcount != 1:
        return None
    return int(cursor.lastrowid)


async def _run(connection: AsyncConnection, sql: str, values: list[Any]) -> Any:
    driver = (await connection.get_raw_connection()).driver_connection
    try:
        return await driver.execute(sql, values)
    except sqlite3.Error as error:
        # IntegrityError, OperationalError (a busy lock) ...: what callers catch already.
        raise DBAPIError.instance(sql, values, error, sqlite3.Error) from error


@functools.cache
def _prepared(
    dialect: Dialect, table: Table, columns: tuple[str, ...], unique: tuple[str, ...]
) -> tuple[str, Processors]:
    """Compile the INSERT once per table and set of columns, with each value's conversion."""
    statement = sqlite_insert(table).values({name: bindparam(name) for name in columns})
    if unique:
        statement = statement.on_conflict_do_nothing(index_elements=list(unique))
    compiled = statement.compile(dialect=dialect)
    order = compiled.positiontup or []
    processors = tuple((name, table.c[name].type.bind_processor(dialect)) for name in order)
    return str(compiled), processors
