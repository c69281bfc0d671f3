"""Run due outbox jobs in the running bot: retries after backoff, work left by dead processes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping

from bot.services import correlation
from bot.services.outbox import Claim, Outbox

log = logging.getLogger(__name__)

JobHandler = Callable[[Claim], Awaitable[object]]


class JobWorker:
    """Claim due jobs of the kinds it has handlers for and run them, one at a time.

    A handler confirms or fails its claim itself (it knows what counts as done); a job
    whose handler raises is given back with the error, so it is retried, never dropped.
    """

    def __init__(
        self, outbox: Outbox, handlers: Mapping[str, JobHandler], *, poll_seconds: float = 2.0
    ) -> None:
        self._outbox = outbox
        self._handlers = dict(handlers)
        self._poll = poll_seconds
        # Set when new work was just recorded, so it runs now rather than at the next poll.
        self._woken = asyncio.Event()
        self._stopping = False

    def stop(self) -> None:
        """Finish the job under way, then return from `run` (a stop that writes nothing half)."""
        self._stopping = True
        self._woken.set()

    def add_handler(self, kind: str, handler: JobHandler) -> None:
        """Run jobs of `kind` with `handler` too."""
        self._handlers[kind] = handler

    def wake(self) -> None:
        """Look for due work now instead of at the next poll (safe from any task)."""
        self._woken.set()

    async def run_once(self, limit: int = 10) -> int:
        """Run the jobs due now (up to `limit`); return how many were run."""
        claims = await self._outbox.claim_due(limit, kinds=list(self._handlers))
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
        """Run due jobs until stopped (`stop`) or cancelled."""
        while not self._stopping:
            try:
                ran = await self.run_once(limit=1)
            except asyncio.CancelledError:
                raise
            except Exception:
                # The database may be away for a moment: keep the bot up, try again later.
                log.exception("the job worker could not claim work")
                ran = 0
            if not ran and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._woken.wait(), self._poll)
            if not self._stopping:
                self._woken.clear()
