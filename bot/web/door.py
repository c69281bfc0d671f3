"""What the suggest form, status page and JSON API share: the service, limits and language."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.config import Settings
from bot.domain.catalogue import Catalogue
from bot.i18n import t
from bot.services.signing import Signer
from bot.services.suggestions import SuggestionError, SuggestionService
from bot.web.guard import RateLimiter

# PostgreSQL's integer: a larger id cannot exist, and must not reach the database.
MAX_ID = 2**31 - 1
# The longest email address SMTP carries (RFC 5321's path limit, less its angle brackets).
MAX_EMAIL = 254
MAX_IDEMPOTENCY_KEY = 200


@dataclass(slots=True)
class SuggestDoor:
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


def error_message(error: SuggestionError, locale: str, field_label: str | None = None) -> str:
    """Return a service error in a language, naming the field as the person saw it."""
    if field_label is None:
        return error.message(locale)
    params = {key: value for key, value in error.params.items() if value is not None}
    params["field"] = field_label
    return t(locale, f"suggest.error.{error.code}", **params)


def web_message(locale: str, code: str, **params: Any) -> str:
    """Return one of the web door's own messages."""
    return t(locale, f"web_suggest.error.{code}", **params)
