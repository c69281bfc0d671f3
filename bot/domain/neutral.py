"""Make person-typed text safe where it is shown: GitHub bodies, commit messages, Discord.

Nothing a person types may ping anyone, close an issue, inject HTML, or start structure
(a heading, a link, a code block) that swallows what the bot writes after it.
"""

from __future__ import annotations

import html
import re
import unicodedata

# An @ that would mention someone: not inside a word (an email address) or after a backtick.
_MENTION = re.compile(r"(?<![\w`])@(?=[A-Za-z0-9])")
# GitHub's closing keywords followed by what they close: #12, owner/repo#3, GH-4, or an
# issue or pull request URL. GitHub closes those when the text lands on the default branch
# (a PR body when it merges, a commit message when the commit reaches the default branch).
_CLOSING = re.compile(
    r"\b(close[sd]?|fix(?:e[sd])?|resolve[sd]?)"
    r"(\s*:?\s*)"
    r"(?=(?:[\w.-]+/[\w.-]+)?#\d|gh-\d|https?://\S+/(?:issues|pull)/\d)",
    re.IGNORECASE,
)
# Bidirectional formatting characters: embeddings, overrides and isolates can make text
# read differently from what it is ("Trojan Source"); names never need them.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# The overrides and embeddings proper; isolates and marks are legitimate in RTL prose.
BIDI_OVERRIDES = frozenset("\u202a\u202b\u202c\u202d\u202e")
_ZWSP = "\u200b"
# A CommonMark fence line: up to three spaces, three or more backticks or tildes, the rest.
_FENCE_LINE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
# Markdown punctuation GitHub and Discord honour a backslash before.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def neutralize(text: str) -> str:
    """Return markdown text that shows the same on GitHub but pings, closes and injects nothing."""
    text = html.escape(strip_overrides(text), quote=False)
    return _inert(text)


def neutralize_plain(text: str) -> str:
    """Return plain text (a commit message line) that pings and closes nothing on GitHub."""
    return _inert(strip_overrides(text))


def _inert(text: str) -> str:
    # A zero-width space after @ keeps the text readable and the mention inert; one inside
    # a closing keyword leaves it readable but no longer a keyword GitHub acts on.
    text = _MENTION.sub("@" + _ZWSP, text)
    return _CLOSING.sub(lambda found: f"{found[1][0]}{_ZWSP}{found[1][1:]}{found[2]}", text)


def close_open_fences(text: str) -> str:
    """Return markdown whose last code block is closed, so it cannot swallow what follows."""
    opened: str | None = None
    for line in text.split("\n"):
        found = _FENCE_LINE.match(line)
        if found is None:
            continue
        run = found[1]
        if opened is None:
            opened = run
        elif run[0] == opened[0] and len(run) >= len(opened) and not found[2].strip():
            opened = None
    return text if opened is None else f"{text}\n{opened}"


def strip_overrides(text: str) -> str:
    """Return text without bidi embeddings and overrides (isolates and marks stay)."""
    return "".join(char for char in text if char not in BIDI_OVERRIDES)


def one_line_name(name: str, limit: int = 200) -> str:
    """Return a person's name as one plain line: no controls, no bidi tricks, spaces folded."""
    kept = []
    for char in name:
        if char in BIDI_CONTROLS:
            continue
        category = unicodedata.category(char)
        # Line and paragraph separators, tabs and other controls become a plain space.
        kept.append(" " if category in ("Cc", "Zl", "Zp") or char.isspace() else char)
    return " ".join("".join(kept).split())[:limit]


def markdown_name(name: str) -> str:
    """Return a name to write inline in GitHub markdown: one line, escaped, inert."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", one_line_name(name))
    return _inert(html.escape(escaped, quote=False))


def discord_name(name: str) -> str:
    """Return a name to write inline in a Discord message: one line, markdown escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", one_line_name(name)).replace("@", "@" + _ZWSP)


def fenced(text: str, info: str = "", *, reveal: bool = False) -> str:
    """Return text as a GitHub code block no line of it can close or escape.

    Bidi overrides are dropped, or with `reveal` shown by name (in a diff of what will be
    committed, a reviewer must see them rather than have them reorder the text).
    """
    if reveal:
        text = "".join(f"<U+{ord(c):04X}>" if c in BIDI_CONTROLS else c for c in text)
    text = strip_overrides(text).rstrip("\n")
    runs = [len(run) for run in re.findall(r"`+", text)]
    fence = "`" * max(3, max(runs, default=0) + 1)
    # The bot finds its own PRs by hidden HTML-comment markers: none may be typed in.
    text = _inert(text).replace("<!--", "<!-" + _ZWSP + "-")
    return f"{fence}{info}\n{text}\n{fence}"


def discord_fenced(text: str) -> str:
    """Return text as a Discord code block nothing in it can close.

    Discord ends a code block at the next three backticks whatever the fence's length, so
    backticks inside are kept apart by zero-width spaces.
    """
    text = strip_overrides(text).rstrip("\n").replace("`", "`" + _ZWSP)
    return f"```\n{text}\n```"
