"""Neutralize text bound for GitHub: no pinging mentions, closing keywords or raw HTML."""

from __future__ import annotations

import html
import re

# An @ that would mention someone: not inside a word (an email address) or after a backtick.
_MENTION = re.compile(r"(?<![\w`])@(?=[A-Za-z0-9])")
# "fixes #12", "Closes: owner/repo#3": GitHub would close that issue when the text merges.
_CLOSING = re.compile(
    r"\b(close[sd]?|fix(?:e[sd])?|resolve[sd]?)(\s*:?\s+)((?:[\w.-]+/[\w.-]+)?#\d+)",
    re.IGNORECASE,
)


def neutralize(text: str) -> str:
    """Return text that shows the same on GitHub but pings, closes and injects nothing."""
    text = html.escape(text, quote=False)
    # A zero-width space after @ keeps the text readable and the mention inert.
    text = _MENTION.sub("@\u200b", text)
    # A reference in a code span is not a link, so no keyword closes it.
    return _CLOSING.sub(lambda found: f"{found[1]}{found[2]}`{found[3]}`", text)
