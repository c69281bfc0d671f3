"""Split and parse YAML front matter, fast for the flat shape lessons use."""

from __future__ import annotations

import re
from typing import Any

import yaml

try:  # libyaml is ~10x faster; the pure-Python loader is the portable fallback.
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

_BOM = "\ufeff"

# Plain scalars made only of these characters are strings in YAML 1.1 unless they are one of
# the keywords below; anything else (dates, floats, anchors, flow collections, comments...)
# goes to PyYAML.
_SAFE_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9 _.,!?()/-]*")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_LESSON_KEYS = frozenset(
    {"title", "description", "order", "difficulty", "duration", "icon", "published"}
)
_YAML_KEYWORDS = frozenset({"yes", "no", "on", "off", "true", "false", "null", "nan", "inf"})
_CLOSING_FENCE = re.compile(r"^---[ \t]*\r?$", re.MULTILINE)


class FrontMatterError(ValueError):
    """Raised when front matter is missing, unterminated or not valid YAML."""

    def __init__(self, code: str, line: int, **params: str) -> None:
        super().__init__(code, line, params)
        self.code = code
        self.line = line
        self.params = params


def split_front_matter(text: str) -> tuple[str, int] | None:
    """Return the raw front matter and the 1-based line where the body starts, or None."""
    if text.startswith(_BOM):
        text = text[1:]
    if not (text.startswith("---\n") or text.startswith("---\r\n")):
        return None
    start = text.index("\n") + 1
    closing = _CLOSING_FENCE.search(text, start)
    if closing is None:
        raise FrontMatterError("front_matter_unclosed", 1)
    raw = text[start : closing.start()]
    return raw, raw.count("\n") + 3


def parse_front_matter_block(raw: str) -> dict[str, Any]:
    """Parse the text between the fences into a mapping."""
    simple = _parse_simple(raw)
    return simple if simple is not None else _parse_yaml(raw)


def _parse_simple(raw: str) -> dict[str, Any] | None:
    """Read flat scalar front matter directly; None when it needs a real YAML parser."""
    # Plain string operations, kept lean: this runs once per lesson file and a regex per line
    # would cost more than reading the file.
    data: dict[str, Any] = {}
    lines = 0
    for line in raw.splitlines():
        key, separator, value = line.partition(": ")
        if not separator:
            if line.strip():
                return None
            continue
        if key not in _LESSON_KEYS and not _KEY.fullmatch(key):
            return None  # let YAML decide what an unusual key means
        value = value.strip()
        if not value:
            return None
        if value[0] == '"':
            inner = value[1:-1]
            if value[-1] != '"' or len(value) < 2 or '"' in inner or "\\" in inner:
                return None
            data[key] = inner
        elif value.isdigit():
            if not value.isascii() or (value[0] == "0" and value != "0"):
                return None  # YAML 1.1 reads a leading zero as octal
            data[key] = int(value)
        elif value == "true" or value == "false":
            data[key] = value == "true"
        elif _SAFE_PLAIN.fullmatch(value) and value.lower() not in _YAML_KEYWORDS:
            data[key] = value
        else:
            return None
        lines += 1
    # A repeated key leaves fewer entries than lines: let YAML decide what it means.
    return data if len(data) == lines else None


def key_lines(raw: str) -> dict[str, int]:
    """Return the file line of each top-level key (the body starts after line 1's fence)."""
    lines: dict[str, int] = {}
    for number, line in enumerate(raw.splitlines(), start=2):
        key, separator, _ = line.partition(":")
        if separator and key and not key[0].isspace() and key[0] != "#":
            lines.setdefault(key.strip().strip("\"'"), number)
    return lines


def _parse_yaml(raw: str) -> dict[str, Any]:
    """Parse front matter with PyYAML, mapping its errors to file line numbers."""
    try:
        data = yaml.load(raw, Loader=_SafeLoader)
    except yaml.YAMLError as error:
        # Point at where the broken construct starts (an unclosed quote or list), which is
        # where the fix goes, rather than where the parser gave up.
        mark = getattr(error, "context_mark", None) or getattr(error, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        reason = getattr(error, "problem", None) or str(error)
        raise FrontMatterError("front_matter_invalid", line, reason=reason) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise FrontMatterError("front_matter_not_mapping", 2)
    return {str(key): value for key, value in data.items()}
