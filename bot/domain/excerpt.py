"""Cut text to a length at a line or word boundary, marking the cut with an ellipsis."""

from __future__ import annotations

ELLIPSIS = "…"
FENCE = "```"
# A boundary this far back or further would throw away too much: cut inside the word.
_LEAST_KEPT = 0.5


def excerpt(text: str, limit: int) -> str:
    """Return `text` if it fits in `limit` characters, else its start cut at a line or word
    boundary and ending in an ellipsis, with a code block the cut left open closed again."""
    if len(text) <= limit:
        return text
    if limit <= len(ELLIPSIS):
        return ELLIPSIS[:limit]
    cut = _cut(text, limit - len(ELLIPSIS))
    if cut.count(FENCE) % 2:
        # An open code block would swallow the ellipsis and whatever follows the excerpt.
        closing = f"\n{FENCE}"
        cut = _cut(text, max(limit - len(ELLIPSIS) - len(closing), 0))
        if cut.count(FENCE) % 2:
            return f"{cut}{ELLIPSIS}{closing}"
    return f"{cut}{ELLIPSIS}"


def _cut(text: str, room: int) -> str:
    """Return the longest start of `text` of at most `room` characters ending at a line end,
    else at a space, else (one very long word) exactly `room` characters."""
    head = text[:room]
    if room < len(text) and text[room].isspace():
        return head.rstrip()
    least = int(room * _LEAST_KEPT)
    for boundary in ("\n", " "):
        at = head.rfind(boundary)
        if at > 0 and at >= least and head[:at].strip():
            return head[:at].rstrip()
    return head
