"""Run a sandbox server on its own event loop in a thread, for blocking callers."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from types import TracebackType
from typing import Self


class ThreadedServer:
    """Mixin: `async with`, or `start_in_thread()`/`stop()` and `with`, for a server.

    The class sets `_loop` to its running loop in `start()`; `_thread` is ours.
    """

    _loop: asyncio.AbstractEventLoop | None
    _thread: threading.Thread | None
    thread_name = "sandbox"

    async def start(self) -> None:
        """Start serving on the running loop."""
        raise NotImplementedError

    async def close(self) -> None:
        """Stop serving."""
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def start_in_thread(self, timeout: float = 60.0) -> Self:
        """Start the server on its own event loop in a daemon thread, for blocking callers."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as error:  # any failure belongs to the starting thread
                failure.append(error)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=run, name=self.thread_name, daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise TimeoutError(f"the {self.thread_name} did not start in time")
        if failure:
            raise failure[0]
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop a server started with start_in_thread()."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if loop.is_running():
            future = asyncio.run_coroutine_threadsafe(self.close(), loop)
            with contextlib.suppress(Exception):
                future.result(timeout)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._thread = None

    def __enter__(self) -> Self:
        if self._thread is None:
            self.start_in_thread()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
