"""What a queued suggestion waits for: the job that opens its pull request, deferred to a
known time (GitHub's rate limit), read from the write path for its status page and API."""

from __future__ import annotations

from bot.services.outbox import JobWait, Outbox


def open_job_key(suggestion_id: int) -> str:
    """Return the key of the job that opens a suggestion's pull request."""
    # As SuggestionService.submit records it.
    return f"suggestion:{suggestion_id}:open"


async def opening_wait(outbox: Outbox, suggestion_id: int) -> JobWait | None:
    """Return the known wait the job opening a suggestion's PR sits out, or None."""
    return await outbox.waiting(open_job_key(suggestion_id))
