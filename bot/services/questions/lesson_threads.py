"""Which lesson's forum post a thread is, remembered for a short while."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.questions.records import lesson_of_thread

# How long a thread found to be a lesson's post is taken to stay one without asking the
# database again: the bound on how long another process's relinking or removal goes
# unseen (this process's own is seen at once: `forget`).
THREAD_CACHE_SECONDS = 30.0


class LessonThreads:
    """Answer "whose post is this thread?" from memory when it was asked lately.

    Only lesson posts are remembered: a thread that is none may become one at any moment
    (its post is linked by a worker once created), so it is asked again every time.
    """

    def __init__(
        self,
        *,
        seconds: float = THREAD_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._seconds = seconds
        self._clock = clock
        self._known: dict[int, tuple[int, float]] = {}

    async def lesson_of(self, session: AsyncSession, thread_id: int) -> int | None:
        """Return the lesson whose forum post a thread is (None: no lesson's, or removed)."""
        now = self._clock()
        known = self._known.get(thread_id)
        if known is not None and known[1] > now:
            return known[0]
        lesson_id = await lesson_of_thread(session, thread_id)
        if lesson_id is None:
            self._known.pop(thread_id, None)
        else:
            self._known[thread_id] = (lesson_id, now + self._seconds)
        return lesson_id

    def forget(self) -> None:
        """Ask the database again for every thread (a lesson's post was linked or removed)."""
        self._known.clear()
