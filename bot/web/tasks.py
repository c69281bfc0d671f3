"""Background tasks owned by the web app: referenced until done, drained or cancelled at exit."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class BackgroundTasks:
    """A set of running tasks that outlive the request that started them."""

    def __init__(self) -> None:
        # The event loop keeps only weak references to tasks: this set keeps them alive.
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False

    @property
    def closing(self) -> bool:
        """Return whether the app is shutting down and refuses new tasks."""
        return self._closing

    def __len__(self) -> int:
        return sum(1 for task in self._tasks if not task.done())

    def spawn(self, coroutine: Coroutine[Any, Any, None], *, name: str) -> asyncio.Task[None]:
        """Start a coroutine as a task that the app keeps and awaits at shutdown."""
        if self._closing:
            coroutine.close()
            raise RuntimeError("the web app is shutting down: no new background tasks")
        task = asyncio.get_running_loop().create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        # Tasks are expected to handle their own errors; one that did not is a bug to surface.
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("background task %s failed", task.get_name(), exc_info=error)

    async def drain(self) -> None:
        """Wait until every task, including any started meanwhile, has finished."""
        while pending := [task for task in self._tasks if not task.done()]:
            await asyncio.wait(pending)

    async def close(self, grace: float) -> None:
        """Refuse new tasks, give running ones `grace` seconds, then cancel the rest."""
        self._closing = True
        pending = [task for task in self._tasks if not task.done()]
        if pending and grace > 0:
            await asyncio.wait(pending, timeout=grace)
        late = [task for task in pending if not task.done()]
        for task in late:
            task.cancel()
        if late:
            await asyncio.gather(*late, return_exceptions=True)
            log.warning("cancelled %d background task(s) still running at shutdown", len(late))
