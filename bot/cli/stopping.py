"""Run a long-running command until Ctrl+C or SIGTERM stops it cleanly."""

from __future__ import annotations

import asyncio
import faulthandler
import logging
import signal
import sys
import threading
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger("lessonbot")

# After this long, a stop still under way logs where each thread is, to find what holds it.
SLOW_STOP_SECONDS = 30.0


async def until_stopped(coroutine: Coroutine[Any, Any, None]) -> None:
    """Await a long-running coroutine; SIGTERM stops it as Ctrl+C does, by cancelling.

    The cancellation runs every cleanup on the way out (temporary repositories removed,
    connections closed), and a stop that was asked for ends the command with status 0.
    """
    loop = asyncio.get_running_loop()
    main_task = asyncio.current_task()
    assert main_task is not None
    stopping = False
    # A stop that is slow to finish says what still runs (every thread's stack), once.
    slow_stop = threading.Timer(SLOW_STOP_SECONDS, _report_slow_stop)
    slow_stop.daemon = True

    def stop() -> None:
        nonlocal stopping
        stopping = True
        log.info("SIGTERM received: stopping")
        # A second SIGTERM, while cleanup runs, ends the process at once as usual.
        loop.remove_signal_handler(signal.SIGTERM)
        slow_stop.start()
        main_task.cancel()

    loop.add_signal_handler(signal.SIGTERM, stop)
    try:
        await coroutine
    except asyncio.CancelledError:
        if not stopping:
            raise  # Ctrl+C, which asyncio.run turns into KeyboardInterrupt
        main_task.uncancel()
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        slow_stop.cancel()


def _report_slow_stop() -> None:
    """Log that stopping takes long, and dump every thread's stack to stderr."""
    log.warning("still stopping after %.0f s; what each thread is doing:", SLOW_STOP_SECONDS)
    faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
