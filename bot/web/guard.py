"""What holds abuse back at the web door: a per-address rate limit, capped bodies, CSRF tokens.

CSRF uses a signed double-submit cookie: a browser gets a random `lb_csrf` cookie
(HttpOnly, SameSite=Lax) and every form carries a hidden `csrf` field,
`<window>.<sign("csrf", cookie:window)>`, where the window is the hour it was made. A post
is taken only when the field was signed for this browser's cookie within the current or
the previous window, so a token cannot be carried to another browser or kept for long.
The JSON API needs no such token: it takes only `application/json` bodies, which another
site's page cannot send without the browser asking this server first (CORS), and
changes to a suggestion need its bearer token.
"""

from __future__ import annotations

import secrets
import time
from collections import deque
from collections.abc import Callable

from aiohttp import web

from bot.services.signing import Signer
from bot.services.signing import client_handle as client_handle  # the web's name for it

CSRF_COOKIE = "lb_csrf"
CSRF_FIELD = "csrf"
CSRF_PURPOSE = "csrf"
CSRF_WINDOW_SECONDS = 3600
# A token made in the previous window still counts, so a form left open for a while works.
CSRF_WINDOWS_ACCEPTED = 2
_CHUNK = 16 * 1024


class BodyTooLargeError(Exception):
    """The request body is larger than the door accepts."""


class RateLimiter:
    """A sliding window of request times per client address, in this process's memory."""

    WINDOW_SECONDS = 3600.0
    # Above this many addresses, forget the ones that have been quiet for a whole window.
    PRUNE_AT = 10_000

    def __init__(self, per_hour: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_hour = per_hour
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str) -> float | None:
        """Count a request; return None when it may go on, else the seconds to wait."""
        if self.per_hour <= 0:
            return None
        now = self._clock()
        since = now - self.WINDOW_SECONDS
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self.PRUNE_AT:
                self._prune(since)
            hits = self._hits[key] = deque()
        while hits and hits[0] <= since:
            hits.popleft()
        if len(hits) >= self.per_hour:
            return max(1.0, hits[0] + self.WINDOW_SECONDS - now)
        hits.append(now)
        return None

    def _prune(self, since: float) -> None:
        for key in [key for key, hits in self._hits.items() if not hits or hits[-1] <= since]:
            del self._hits[key]


async def read_capped(request: web.Request, limit: int) -> bytes:
    """Return the raw body; raise BodyTooLargeError past `limit` bytes without buffering more."""
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLargeError
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError
        chunks.append(chunk)
    return b"".join(chunks)


def new_csrf_cookie() -> str:
    """Return a fresh random value for a browser's CSRF cookie."""
    return secrets.token_urlsafe(24)


def csrf_token(signer: Signer, cookie: str, now: float) -> str:
    """Return the hidden-field token for a browser's cookie, bound to the current window."""
    window = int(now // CSRF_WINDOW_SECONDS)
    return f"{window}.{signer.sign(CSRF_PURPOSE, f'{cookie}:{window}')}"


def csrf_valid(signer: Signer, cookie: str | None, token: str | None, now: float) -> bool:
    """Tell whether a posted token was made for this cookie in a window still accepted."""
    if not cookie or not token or len(token) > 100 or len(cookie) > 100:
        return False
    window_text, _, signature = token.partition(".")
    if not window_text.isdigit() or not signature:
        return False
    window = int(window_text)
    current = int(now // CSRF_WINDOW_SECONDS)
    if not current - CSRF_WINDOWS_ACCEPTED < window <= current:
        return False
    return signer.verify(CSRF_PURPOSE, f"{cookie}:{window}", signature)
