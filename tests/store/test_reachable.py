"""A database that is briefly unreachable is waited out; other errors are not retried."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.store.engine import make_engine
from bot.store.reachable import database_unreachable, while_unreachable


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_refused_connection_is_retried_until_the_database_answers() -> None:
    # A real refusal: nothing listens on the port, as while PostgreSQL restarts.
    down = make_engine(f"postgresql://postgres@127.0.0.1:{closed_port()}/postgres")
    up = make_engine("sqlite:///:memory:")
    attempts: list[str] = []
    waits: list[float] = []

    async def record() -> int:
        engine = down if len(attempts) < 2 else up
        attempts.append(str(engine.url))
        async with engine.connect() as connection:
            return int(await connection.scalar(text("SELECT 7")))

    async def no_wait(seconds: float) -> None:
        waits.append(seconds)

    try:
        assert await while_unreachable(record, "test", delays=(0.5, 1.0, 2.0), sleep=no_wait) == 7
    finally:
        await down.dispose()
        await up.dispose()
    assert len(attempts) == 3 and waits == [0.5, 1.0]


async def test_the_last_refusal_is_raised_after_every_wait() -> None:
    down = make_engine(f"postgresql://postgres@127.0.0.1:{closed_port()}/postgres")
    calls = 0

    async def record() -> None:
        nonlocal calls
        calls += 1
        async with down.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def no_wait(seconds: float) -> None:
        return None

    try:
        with pytest.raises(Exception) as caught:
            await while_unreachable(record, "test", delays=(0.1, 0.1), sleep=no_wait)
    finally:
        await down.dispose()
    assert database_unreachable(caught.value) and calls == 3


async def test_other_errors_are_not_retried() -> None:
    calls = 0

    async def record() -> None:
        nonlocal calls
        calls += 1
        raise IntegrityError("INSERT", {}, Exception("duplicate"))

    with pytest.raises(IntegrityError):
        await while_unreachable(record, "test", delays=(0.1,))
    assert calls == 1 and not database_unreachable(IntegrityError("x", {}, Exception()))
