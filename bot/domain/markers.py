"""Hidden markers in GitHub bodies, so the bot finds its own issues and PRs again."""

from __future__ import annotations

import re

_MARKER = re.compile(r"<!--\s*lessonbot:([a-z_]+)=([^\s>]+)\s*-->")


def marker(kind: str, value: str) -> str:
    """Return the hidden marker for `kind=value` (an HTML comment GitHub does not render)."""
    if not re.fullmatch(r"[a-z_]+", kind) or not value or re.search(r"\s|-->|>", value):
        raise ValueError(f"marker {kind}={value!r} must be a word and a value without spaces")
    return f"<!-- lessonbot:{kind}={value} -->"


def find_markers(body: str | None) -> dict[str, str]:
    """Return the markers in a body as {kind: value}; the first of each kind wins."""
    found: dict[str, str] = {}
    for kind, value in _MARKER.findall(body or ""):
        found.setdefault(kind, value)
    return found
