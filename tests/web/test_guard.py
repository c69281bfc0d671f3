"""The web door's guards: a sliding-window rate limit and CSRF tokens bound to a cookie."""

from __future__ import annotations

from bot.services.signing import Signer
from bot.web.guard import CSRF_WINDOW_SECONDS, RateLimiter, client_handle, csrf_token, csrf_valid
from bot.web.locales import accepted_languages, choose, direction

SIGNER = Signer(b"g" * 32)


def test_the_rate_limit_is_a_sliding_window_per_address() -> None:
    now = [1000.0]
    limiter = RateLimiter(2, clock=lambda: now[0])

    assert limiter.hit("a") is None and limiter.hit("a") is None
    wait = limiter.hit("a")
    assert wait is not None and 3599 <= wait <= 3600
    assert limiter.hit("b") is None  # another address has its own window
    now[0] += 1800
    assert limiter.hit("a") is not None  # both hits are still within the hour
    now[0] += 1801
    assert limiter.hit("a") is None


def test_a_limit_of_zero_is_off() -> None:
    limiter = RateLimiter(0)

    assert all(limiter.hit("a") is None for _ in range(1000))


def test_quiet_addresses_are_forgotten_when_many_are_remembered() -> None:
    now = [0.0]
    limiter = RateLimiter(1, clock=lambda: now[0])
    limiter.PRUNE_AT = 3
    for address in ("a", "b", "c"):
        limiter.hit(address)
    now[0] += 4000

    limiter.hit("d")

    assert set(limiter._hits) == {"d"}


def test_a_csrf_token_is_bound_to_its_cookie_and_window() -> None:
    now = 10 * CSRF_WINDOW_SECONDS + 5
    token = csrf_token(SIGNER, "cookie-1", now)

    assert csrf_valid(SIGNER, "cookie-1", token, now)
    assert csrf_valid(SIGNER, "cookie-1", token, now + CSRF_WINDOW_SECONDS)  # previous window
    assert not csrf_valid(SIGNER, "cookie-1", token, now + 2 * CSRF_WINDOW_SECONDS)
    assert not csrf_valid(SIGNER, "cookie-1", token, now - CSRF_WINDOW_SECONDS)  # from the future
    assert not csrf_valid(SIGNER, "cookie-2", token, now)
    assert not csrf_valid(Signer(b"h" * 32), "cookie-1", token, now)
    for broken in ("", "x", "10.", ".abc", "ten.abc", token + "x", "é" * 10):
        assert not csrf_valid(SIGNER, "cookie-1", broken, now)
    assert not csrf_valid(SIGNER, None, token, now)


def test_a_client_handle_hides_the_address() -> None:
    handle = client_handle(SIGNER, "203.0.113.7")

    assert handle.startswith("ip:") and "203" not in handle
    assert handle == client_handle(SIGNER, "203.0.113.7")
    assert handle != client_handle(SIGNER, "203.0.113.8")


def test_accept_language_is_ranked_and_matched() -> None:
    assert accepted_languages("fr;q=0.5, es-MX, en;q=0.8, *;q=0.1") == ["es-MX", "en", "fr"]
    assert accepted_languages("de;q=0, ;;, zh;q=abc, <b>") == []
    assert choose(["es-MX", "en"], ["ar", "es"]) == "es"
    assert choose(["de"], ["ar", "es"]) is None
    assert direction("ar") == "rtl" and direction("he") == "rtl" and direction("fa") == "rtl"
    assert direction("en") == "ltr" and direction("not a locale") == "ltr"
