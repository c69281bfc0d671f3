"""Run due outbox jobs in the running bot: retries after backoff, work left by dead processes.

The worker runs a few lanes side by side, each claiming its own share of the due jobs in
priority order (bot/domain/priorities.py), so a long backlog of bulk linking never holds
the slot a person's work needs:

- `main`: everything more urgent than bulk (a suggestion's PR, notices, a touched lesson,
  upkeep), one job at a time, as before lanes.
- `bulk`: bulk linking that is not paced by GitHub (the forum posts), at Discord's pace.
- `bulk-paced`: bulk linking that waits on GitHub's write pacing (the issues). It steps
  aside while the main lane runs a job, so a suggestion's pull request shares GitHub's
  pace with at most the one bulk write already under way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass

from bot.domain.priorities import PACED_KINDS, JobPriority
from bot.services import correlation
from bot.services.outbox import Claim, Outbox

log = logging.getLogger(__name__)

JobHandler = Callable[[Claim], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class Lane:
    """One loop of the worker: which jobs it claims, and whether it gives way."""

    name: str
    # The priorities it claims; None for every one.
    priorities: tuple[int, ...] | None = None
    # The kinds it claims among those with a handler; None for every one.
    kinds: frozenset[str] | None = None
    exclude_kinds: frozenset[str] = frozenset()
    # Claims nothing new while the first lane runs a job.
    gives_way: bool = False

    def kinds_of(self, handled: Collection[str]) -> list[str]:
        """Return the kinds this lane claims, of those the worker has handlers for."""
        return sorted(
            kind
            for kind in handled
            if (self.kinds is None or kind in self.kinds) and kind not in self.exclude_kinds
        )


ABOVE_BULK = tuple(int(p) for p in JobPriority if p < JobPriority.BULK)
DEFAULT_LANES: tuple[Lane, ...] = (
    Lane("main", priorities=ABOVE_BULK),
    Lane("bulk", priorities=(int(JobPriority.BULK),), exclude_kinds=PACED_KINDS),
    Lane("bulk-paced", priorities=(int(JobPriority.BULK),), kinds=PACED_KINDS, gives_way=True),
)


class JobWorker:
    """Claim due jobs of the kinds it has handlers for and run them, one at a time per lane.

    A handler confirms or fails its claim itself (it knows what counts as done); a job
    whose handler raises is given back with the error, so it is retried, never dropped.
    """

    def __init__(
        self,
        outbox: Outbox,
        handlers: Mapping[str, JobHandler],
        *,
        poll_seconds: float = 2.0,
        lanes: tuple[Lane, ...] = DEFAULT_LANES,
    ) -> None:
        self._outbox = outbox
        self._handlers = dict(handlers)
        self._poll = poll_seconds
        self._lanes = lanes
        # Set when new work was just recorded, so it runs now rather than at the next poll.
        self._woken = {lane.name: asyncio.Event() for lane in lanes}
        # Set while the first lane runs nothing: the lanes that give way wait for it.
        self._first_idle = asyncio.Event()
        self._first_idle.set()
        self._stopping = False

    @property
    def lanes(self) -> tuple[Lane, ...]:
        """Return the lanes `run` runs side by side."""
        return self._lanes

    def stop(self) -> None:
        """Finish the jobs under way, then return from `run` (a stop that writes nothing half)."""
        self._stopping = True
        self.wake()
        self._first_idle.set()

    def add_handler(self, kind: str, handler: JobHandler) -> None:
        """Run jobs of `kind` with `handler` too."""
        self._handlers[kind] = handler

    def wake(self) -> None:
        """Look for due work now instead of at the next poll (safe from any task)."""
        for event in self._woken.values():
            event.set()

    async def run_once(self, limit: int = 10, lane: Lane | None = None) -> int:
        """Run the jobs due now (up to `limit`, the most urgent first; only `lane`'s when
        given); return how many were run."""
        kinds = list(self._handlers) if lane is None else lane.kinds_of(self._handlers)
        if not kinds:
            return 0
        claims = await self._outbox.claim_due(
            limit, kinds=kinds, priorities=None if lane is None else lane.priorities
        )
        for index, claim in enumerate(claims):
            try:
                await self._run(claim)
            except asyncio.CancelledError:
                # Stopping: hand back what was claimed and not started, and this one, which
                # stays uncertain (it may have written) for whoever runs it next.
                for left in claims[index:]:
                    await asyncio.shield(self._outbox.release(left))
                raise
        return len(claims)

    async def _run(self, claim: Claim) -> None:
        """Run one job under the correlation id of the work that recorded it."""
        # A job recorded before correlation ids existed (or by a door without one) gets
        # its own, so its lines still group together.
        correlation_id = correlation.of_payload(claim.payload) or correlation.new_id("job")
        # What the payload names (a suggestion, a question) goes on each line as a field.
        named = {name: claim.payload[name] for name in correlation.FIELDS if name in claim.payload}
        with correlation.correlated(
            correlation_id, **named, job_id=claim.job_id, job_kind=claim.kind
        ):
            log.debug("job %d (%s) running, attempt %d", claim.job_id, claim.key, claim.attempt)
            try:
                outcome = await self._handlers[claim.kind](claim)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.exception("job %d (%s) failed", claim.job_id, claim.key)
                await self._outbox.fail(claim, f"{type(error).__name__}: {error}", cause=error)
                return
            shown = outcome if isinstance(outcome, str) and outcome else "done"
            log.info("job %d (%s): %s", claim.job_id, claim.key, shown)

    async def run(self) -> None:
        """Run every lane's due jobs until stopped (`stop`) or cancelled."""
        loops = [asyncio.create_task(self._run_lane(lane)) for lane in self._lanes]
        try:
            await asyncio.gather(*loops)
        finally:
            for loop in loops:
                # A cancelled gather cancelled its lanes already: a second cancel would cut
                # short the hand-back of the job each had under way.
                if not loop.done() and not loop.cancelling():
                    loop.cancel()
            await asyncio.gather(*loops, return_exceptions=True)

    async def _run_lane(self, lane: Lane) -> None:
        first = lane is self._lanes[0]
        woken = self._woken[lane.name]
        while not self._stopping:
            if lane.gives_way:
                await self._first_idle.wait()
                if self._stopping:
                    break
            try:
                if first:
                    self._first_idle.clear()
                ran = await self.run_once(limit=1, lane=lane)
            except asyncio.CancelledError:
                raise
            except Exception:
                # The database may be away for a moment: keep the bot up, try again later.
                log.exception("the job worker could not claim work (%s lane)", lane.name)
                ran = 0
            finally:
                if first:
                    self._first_idle.set()
            if not ran and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(woken.wait(), self._poll)
            if not self._stopping:
                woken.clear()
