"""The order questions' events are applied in: queued as they come, applied in batches,
each batch in one transaction."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.questions.records import BATCHED
from bot.store.upsert import raise_thread_marks

log = logging.getLogger(__name__)

# The most events one transaction applies: a burst is cut into transactions this long, so
# that none holds the database's write lock for long.
BATCH_CAP = 200


@dataclass(frozen=True, slots=True)
class Applied:
    """What an event did, and what to do once it is committed."""

    outcome: str
    # Run after the commit (a post to Discord, never inside a transaction); what it
    # returns ends the outcome.
    after: Callable[[], Awaitable[str]] | None = None
    # (thread id, message id) of a message in a lesson's or a help post: the post's mark
    # (`ThreadMark`) is raised to it with the batch, where a catch-up reads on from.
    seen: tuple[int, int] | None = None


# An event applied inside the batch's transaction.
Change = Callable[[AsyncSession], Awaitable[Applied]]
# An event that opens its own sessions and may wait on the network (a GitHub comment).
Alone = Callable[[], Awaitable[str]]


@dataclass(slots=True)
class _Queued:
    change: Change | None
    alone: Alone | None
    outcome: asyncio.Future[str]


class EventQueue:
    """Apply events one after the other, in the order they came, many to a transaction.

    discord.py runs each event's listener as its own task: a reply could otherwise be
    looked at before the question it answers is stored. An event is queued before its
    caller's first await, so the queue holds them in arrival order; one drainer applies
    everything queued (up to BATCH_CAP) in one transaction, in that order, while the next
    events queue behind it. If any event of a batch fails, the batch is rolled back and
    applied again one event per transaction, so that the bad one fails alone (its caller
    gets the error) and the others are kept.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, cap: int = BATCH_CAP) -> None:
        self._sessions = sessions
        self._cap = cap
        self._queued: deque[_Queued] = deque()
        self._drainer: asyncio.Task[None] | None = None

    async def apply(self, change: Change) -> str:
        """Apply an event in a batch's transaction, after those queued before it."""
        return await self.submit(change)

    def submit(self, change: Change) -> asyncio.Future[str]:
        """Queue an event now, without awaiting: events submitted together keep their order."""
        queued = _Queued(change, None, _future())
        self._queue(queued)
        return queued.outcome

    async def apply_alone(self, alone: Alone) -> str:
        """Apply an event that opens its own sessions, after those queued before it."""
        return await self._enqueue(_Queued(None, alone, _future()))

    async def _enqueue(self, queued: _Queued) -> str:
        self._queue(queued)
        return await queued.outcome

    def _queue(self, queued: _Queued) -> None:
        self._queued.append(queued)
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain(), name="question events")

    async def _drain(self) -> None:
        batch: list[_Queued] = []
        try:
            while self._queued:
                batch = self._take()
                if batch[0].alone is not None:
                    await self._run_alone(batch[0])
                else:
                    await self._run(batch)
                batch = []
        except BaseException as error:
            # Stopped (the loop is closing) or broken: no caller may wait for ever.
            for queued in [*batch, *self._queued]:
                _fail(queued, error)
            self._queued.clear()
            raise

    def _take(self) -> list[_Queued]:
        """Take the next batch: one event alone, or the events to the next such one."""
        first = self._queued.popleft()
        if first.alone is not None:
            return [first]
        batch = [first]
        while self._queued and len(batch) < self._cap and self._queued[0].alone is None:
            batch.append(self._queued.popleft())
        return batch

    async def _run(self, batch: list[_Queued]) -> None:
        """Apply a batch in one transaction; apply it event by event if it fails."""
        try:
            async with self._sessions() as session, session.begin():
                # Several events: what they add is written together (`insert_question`).
                session.info[BATCHED] = len(batch) > 1
                done = []
                marks: dict[int, int] = {}
                for queued in batch:
                    assert queued.change is not None
                    applied = await queued.change(session)
                    done.append(applied)
                    if applied.seen is not None:
                        thread, message = applied.seen
                        marks[thread] = max(message, marks.get(thread, 0))
                # One statement per batch, not per message: the intake is a hot path.
                await raise_thread_marks(session, marks)
        except Exception as error:
            if len(batch) == 1:
                log.warning("question event failed: %s: %s", type(error).__name__, error)
                _fail(batch[0], error)
                return
            log.warning(
                "a batch of %d question events failed (%s: %s); applying them one by one",
                len(batch),
                type(error).__name__,
                error,
            )
            for queued in batch:
                await self._run([queued])
            return
        for queued, applied in zip(batch, done, strict=True):
            await self._finish(queued, applied)

    async def _finish(self, queued: _Queued, applied: Applied) -> None:
        outcome = applied.outcome
        if applied.after is not None:
            try:
                outcome += await applied.after()
            except Exception as error:
                _fail(queued, error)
                return
        if not queued.outcome.done():
            queued.outcome.set_result(outcome)

    async def _run_alone(self, queued: _Queued) -> None:
        assert queued.alone is not None
        try:
            outcome = await queued.alone()
        except Exception as error:
            _fail(queued, error)
            return
        if not queued.outcome.done():
            queued.outcome.set_result(outcome)


def _future() -> asyncio.Future[str]:
    return asyncio.get_running_loop().create_future()


def _fail(queued: _Queued, error: BaseException) -> None:
    """Hand an event's caller the error (a cancelled caller is not waiting any more)."""
    if queued.outcome.done():
        return
    if isinstance(error, asyncio.CancelledError):
        queued.outcome.cancel()
    else:
        queued.outcome.set_exception(error)
