"""The application's engine: its pool of connections on either database."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text

from bot.store.engine import POOL_SIZE, make_engine


async def test_a_busy_process_keeps_its_server_connections_open(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        held = [await engine.connect() for _ in range(POOL_SIZE + 2)]
        for connection in held:
            await connection.execute(text("SELECT 1"))
        await asyncio.gather(*(connection.close() for connection in held))
        # PostgreSQL: ten stay open for the next requests, instead of SQLAlchemy's five
        # (each one more was a new server process for a later request).
        kept = engine.sync_engine.pool.checkedin()
        assert kept == (POOL_SIZE if engine.dialect.name == "postgresql" else 5)
    finally:
        await engine.dispose()


async def test_a_sqlite_connection_given_back_mid_transaction_lets_go_of_the_writer_lock(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/pool.db"
    engine, other = make_engine(url), make_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE notes (body TEXT)"))
        connection = await engine.connect()
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        # Behind SQLAlchemy's back, so only the pool's reset can end it.
        await driver.execute("BEGIN IMMEDIATE")
        await driver.execute("INSERT INTO notes VALUES ('left open')")
        await connection.close()

        assert not driver.in_transaction
        async with other.begin() as writer:
            await writer.execute(text("INSERT INTO notes VALUES ('written')"))
        async with engine.connect() as reader:
            notes = (await reader.execute(text("SELECT body FROM notes"))).scalars().all()
        assert notes == ["written"]
    finally:
        await engine.dispose()
        await other.dispose()
