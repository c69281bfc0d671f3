"""Background tasks are kept until done, drained on demand and cancelled at shutdown."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.web.tasks import BackgroundTasks


async def test_drain_waits_for_tasks_and_for_tasks_they_start() -> None:
    tasks = BackgroundTasks()
    finished: list[str] = []

    async def child() -> None:
        finished.append("child")

    async def parent() -> None:
        tasks.spawn(child(), name="child")
        finished.append("parent")

    tasks.spawn(parent(), name="parent")
    assert len(tasks) == 1

    await tasks.drain()

    assert finished == ["parent", "child"]
    assert len(tasks) == 0


async def test_close_lets_a_task_finish_within_the_grace() -> None:
    tasks = BackgroundTasks()
    go = asyncio.Event()
    finished = []

    async def work() -> None:
        await go.wait()
        finished.append(True)

    task = tasks.spawn(work(), name="work")
    go.set()  # the task has not run yet: close() finds it still pending
    assert not task.done()

    await tasks.close(grace=60)

    assert finished == [True]
    assert not task.cancelled()


async def test_close_cancels_what_outlives_the_grace(caplog: pytest.LogCaptureFixture) -> None:
    tasks = BackgroundTasks()
    started = asyncio.Event()
    cancelled = []

    async def stuck() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    task = tasks.spawn(stuck(), name="stuck")
    await started.wait()  # a task cancelled before it starts would never see the cancellation

    await tasks.close(grace=0)

    assert task.cancelled()
    assert cancelled == [True]
    assert "cancelled 1 background task" in caplog.text


async def test_spawn_after_close_is_refused() -> None:
    tasks = BackgroundTasks()
    await tasks.close(grace=0)

    async def late() -> None:  # pragma: no cover - never runs
        pass

    coroutine = late()
    with pytest.raises(RuntimeError, match="shutting down"):
        tasks.spawn(coroutine, name="late")
    assert tasks.closing
    assert coroutine.cr_frame is None  # closed, so no "never awaited" warning


async def test_an_unhandled_task_error_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    tasks = BackgroundTasks()

    async def broken() -> None:
        raise RuntimeError("a bug")

    tasks.spawn(broken(), name="broken")
    await tasks.drain()

    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert [record.getMessage() for record in errors] == ["background task broken failed"]
    assert errors[0].exc_info is not None
