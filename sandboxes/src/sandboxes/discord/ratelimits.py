"""Discord's REST rate limits: per-route buckets keyed by a major parameter, a global
limit per bot, the X-RateLimit-* headers clients read, and 429s that last until reset.

Discord documents the mechanism, not the figures ("they can change without notice"); the
figures here are the ones Discord staff announced and client libraries observe:
5 messages per 5 s per channel, 2 channel name/topic edits per 10 minutes per channel
(threads included), 10 other channel edits per 15 s, 1 reaction per 0.25 s per channel,
5 message deletes per 1 s, 5 webhook executions per 2 s per webhook, and a global
50 requests per second per bot that interaction endpoints are exempt from.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

# name: (requests, per seconds)
DEFAULT_RULES: dict[str, tuple[int, float]] = {
    "message_create": (5, 5.0),
    "message_edit": (5, 5.0),
    "message_delete": (5, 1.0),
    "reaction": (1, 0.25),
    "channel_name_topic": (2, 600.0),
    "channel_edit": (10, 15.0),
    "webhook": (5, 2.0),
    "default": (50, 1.0),
}
GLOBAL_PER_SECOND = 50

_CHANNEL = r"/channels/(?P<channel_id>\d+)"
_WEBHOOK = r"/webhooks/(?P<webhook_id>\d+)/[^/]+"
# (method, path pattern under /api/v10, rule); the first match wins.
ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(rf"^{_CHANNEL}/messages$"), "message_create"),
    ("PATCH", re.compile(rf"^{_CHANNEL}/messages/\d+$"), "message_edit"),
    ("DELETE", re.compile(rf"^{_CHANNEL}/messages/\d+$"), "message_delete"),
    ("PUT", re.compile(rf"^{_CHANNEL}/messages/\d+/reactions/.+$"), "reaction"),
    ("DELETE", re.compile(rf"^{_CHANNEL}/messages/\d+/reactions/.+$"), "reaction"),
    ("PATCH", re.compile(rf"^{_CHANNEL}$"), "channel_edit"),
    ("*", re.compile(rf"^{_WEBHOOK}(/.*)?$"), "webhook"),
]
MAJOR = re.compile(r"^/(channels|guilds|webhooks)/(\d+)")
# Interaction endpoints are not bound to the global limit (Discord's rate-limit docs).
INTERACTION = re.compile(r"^/(interactions/\d+/[^/]+/callback|webhooks/\d+/[^/]+(/.*)?)$")
CALLBACK = re.compile(r"^/interactions/\d+/[^/]+/callback$")
SNOWFLAKE = re.compile(r"/\d{5,}")


@dataclass
class RateLimitSettings:
    """Whether limits apply, the global limit and per-rule figures (tests may relax them)."""

    enabled: bool = True
    global_per_second: int = GLOBAL_PER_SECOND
    rules: dict[str, tuple[int, float]] = field(default_factory=lambda: dict(DEFAULT_RULES))

    @classmethod
    def parse(cls, enabled: bool, overrides: list[str]) -> RateLimitSettings:
        """Build settings from CLI flags: `NAME=REQUESTS/SECONDS` or `global=REQUESTS`."""
        settings = cls(enabled=enabled)
        for item in overrides:
            name, _, figure = item.partition("=")
            if name == "global" and figure.isdigit() and int(figure) > 0:
                settings.global_per_second = int(figure)
                continue
            count, _, seconds = figure.partition("/")
            if name not in settings.rules or not count.isdigit() or int(count) < 1:
                raise ValueError(
                    f"rate limit must be NAME=REQUESTS/SECONDS with NAME one of "
                    f"global, {', '.join(settings.rules)}: {item!r}"
                )
            try:
                per = float(seconds)
            except ValueError as error:
                raise ValueError(f"bad number of seconds in {item!r}") from error
            if per <= 0:
                raise ValueError(f"bad number of seconds in {item!r}")
            settings.rules[name] = (int(count), per)
        return settings

    def to_json(self) -> dict[str, Any]:
        """Return the settings as the admin API shows them."""
        return {
            "enabled": self.enabled,
            "global_per_second": self.global_per_second,
            "rules": {name: {"limit": n, "per": s} for name, (n, s) in self.rules.items()},
        }


@dataclass
class Bucket:
    """One window of one bucket: how many requests are left until it resets."""

    limit: int
    per: float
    remaining: int = 0
    resets_at: float = 0.0  # monotonic

    def refresh(self, now: float) -> None:
        """Start a new window once the old one is over."""
        if now >= self.resets_at:
            self.remaining = self.limit
            self.resets_at = now + self.per


@dataclass
class Verdict:
    """What a request gets: headers for its response, and a 429 when limited."""

    headers: dict[str, str]
    limited: web.Response | None = None


def bucket_hash(rule: str, limit: int, per: float) -> str:
    """Return the opaque bucket id Discord sends: shared by routes of the same limit."""
    return hashlib.sha256(f"{rule}:{limit}:{per}".encode()).hexdigest()[:32]


def _headers(rule: str, bucket: Bucket, now: float) -> dict[str, str]:
    """Return the X-RateLimit-* headers of a bucket."""
    after = max(0.0, bucket.resets_at - now)
    return {
        "X-RateLimit-Limit": str(bucket.limit),
        "X-RateLimit-Remaining": str(bucket.remaining),
        "X-RateLimit-Reset": f"{time.time() + after:.3f}",
        "X-RateLimit-Reset-After": f"{after:.3f}",
        "X-RateLimit-Bucket": bucket_hash(rule, bucket.limit, bucket.per),
        # discord.py treats a 429 without Via as a Cloudflare ban; Discord sends it always.
        "Via": "1.1 google",
    }


def too_many(headers: dict[str, str], retry_after: float, *, scope: str) -> web.Response:
    """Return Discord's 429: a JSON body with retry_after, Retry-After and the scope."""
    is_global = scope == "global"
    headers = {**headers, "Retry-After": str(max(1, math.ceil(retry_after)))}
    headers["X-RateLimit-Scope"] = scope
    if is_global:
        headers["X-RateLimit-Global"] = "true"
    body = {
        "message": "You are being rate limited.",
        "retry_after": round(retry_after, 3),
        "global": is_global,
        "code": 0,
    }
    return web.Response(
        body=json.dumps(body).encode(),
        status=429,
        headers={**headers, "Content-Type": "application/json"},
    )


class RateLimiter:
    """Count requests into buckets and the global window; answer 429 when one is empty."""

    def __init__(self, settings: RateLimitSettings | None = None) -> None:
        self.settings = settings or RateLimitSettings()
        self.buckets: dict[tuple[str, str], Bucket] = {}
        self.global_window = Bucket(self.settings.global_per_second, 1.0)
        # Injected 429s hold their route until the reset they advertised.
        self.held: list[tuple[Any, float]] = []
        self.counts = {"limited": 0, "global_limited": 0}

    def rules_for(self, method: str, path: str, body: Any) -> list[tuple[str, str]]:
        """Return the (rule, bucket key) pairs a request counts against."""
        found = "default"
        for wanted, pattern, rule in ROUTES:
            if wanted in ("*", method) and pattern.match(path):
                found = rule
                break
        major = MAJOR.match(path)
        major_key = f"{major.group(1)}:{major.group(2)}" if major else ""
        if found == "default":
            # Unlisted routes get a bucket per route (ids other than the major one erased).
            route = SNOWFLAKE.sub("/{id}", path[major.end() :] if major else path)
            return [("default", f"{major_key}:{method} {route}")]
        pairs = [(found, major_key)]
        if found == "channel_edit" and isinstance(body, dict) and ({"name", "topic"} & body.keys()):
            # Name and topic edits drain both the 2 per 10 minutes and the ordinary bucket.
            pairs.insert(0, ("channel_name_topic", major_key))
        return pairs

    def check(self, method: str, path: str, body: Any = None) -> Verdict:
        """Count a bot request (path under /api/v10) and return its verdict."""
        if not self.settings.enabled or CALLBACK.match(path):
            # Interaction callbacks have no bucket on Discord: no headers, nothing counted.
            return Verdict({})
        now = time.monotonic()
        pairs = self.rules_for(method, path, body)
        buckets = []
        for rule, key in pairs:
            limit, per = self.settings.rules[rule]
            bucket = self.buckets.get((rule, key))
            if bucket is None or (bucket.limit, bucket.per) != (limit, per):
                bucket = self.buckets[(rule, key)] = Bucket(limit, per)
            bucket.refresh(now)
            buckets.append((rule, bucket))
        # The headers are those of the first (strictest) bucket, as Discord sends one set.
        rule, first = buckets[0]
        for name, bucket in buckets:
            if bucket.remaining <= 0:
                self.counts["limited"] += 1
                headers = _headers(name, bucket, now)
                return Verdict(headers, too_many(headers, bucket.resets_at - now, scope="user"))
        if not INTERACTION.match(path):
            window = self.global_window
            window.limit = self.settings.global_per_second
            window.refresh(now)
            if window.remaining <= 0:
                self.counts["global_limited"] += 1
                return Verdict(
                    {}, too_many({"Via": "1.1 google"}, window.resets_at - now, scope="global")
                )
            window.remaining -= 1
        for _, bucket in buckets:
            bucket.remaining -= 1
        return Verdict(_headers(rule, first, now))

    def hold(self, fault: Any, retry_after: float) -> None:
        """Keep answering 429 to a fault's route until `retry_after` seconds have passed."""
        self.held.append((fault, time.monotonic() + retry_after))

    def held_429(self, method: str, path: str) -> web.Response | None:
        """Answer 429 again to a request retried before an injected 429's reset."""
        now = time.monotonic()
        self.held = [(fault, until) for fault, until in self.held if until > now]
        for fault, until in self.held:
            if fault.matches(method, path):
                after = until - now
                headers = {
                    "X-RateLimit-Limit": "1",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": f"{time.time() + after:.3f}",
                    "X-RateLimit-Reset-After": f"{after:.3f}",
                    "X-RateLimit-Bucket": "sandbox-fault",
                    "Via": "1.1 google",
                }
                return too_many(headers, after, scope="user")
        return None

    def reset(self) -> None:
        """Forget every bucket and held 429 (a test starting over)."""
        self.buckets.clear()
        self.held.clear()
        self.global_window = Bucket(self.settings.global_per_second, 1.0)


RATE_LIMITER = web.AppKey("discord_sandbox_rate_limiter", RateLimiter)
