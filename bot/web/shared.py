"""What the suggest form, status page and JSON API share: their dependencies, limits and
messages."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.config import Settings
from bot.domain.catalogue import Catalogue
from bot.domain.review_flow import QUEUED
from bot.i18n import t
from bot.services.outbox import JobWait
from bot.services.signing import Signer
from bot.services.suggestions import SuggestionService, SuggestionView
from bot.web.guard import RateLimiter

# PostgreSQL's integer: a larger id cannot exist, and must not reach the database.
MAX_ID = 2**31 - 1
# The longest email address SMTP carries (RFC 5321's path limit, less its angle brackets).
MAX_EMAIL = 254
MAX_IDEMPOTENCY_KEY = 200


@dataclass(slots=True)
class SuggestDeps:
    """Everything the suggestion routes need, built once by `create_web_app`."""

    settings: Settings
    suggestions: SuggestionService
    lessons: Callable[[], Catalogue]
    signer: Signer
    limiter: RateLimiter
    # Wall-clock seconds, for CSRF windows (tests move it).
    clock: Callable[[], float] = time.time
    # How often the status page asks whether a suggestion moved.
    poll_seconds: float = 5.0
    max_form_bytes: int = field(default=64 * 1024)

    async def waiting(self, view: SuggestionView) -> JobWait | None:
        """Return the known wait (GitHub's rate limit) a queued suggestion's PR sits out."""
        if view.status != QUEUED:
            return None
        return await self.suggestions.opening_wait(view.id)


def wait_json(wait: JobWait | None) -> dict[str, str] | None:
    """Return a wait as the API shows it: until when (UTC), what for, and one line."""
    if wait is None:
        return None
    return {"until": wait.until.isoformat(), "reason": wait.reason, "text": wait.text}


def web_message(locale: str, code: str, **params: Any) -> str:
    """Return one of the web door's own messages."""
    return t(locale, f"web_suggest.error.{code}", **params)
