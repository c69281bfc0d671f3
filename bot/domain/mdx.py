"""Find JSX component tags in an MDX body, skipping code, with their attributes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

# A component starts with a capital letter; `<` glued to a word (`List<String>`) is not a tag.
_TAG_START = re.compile(r"(?<![\w<])<(/?)([A-Z][A-Za-z0-9_.]*)")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z_:][A-Za-z0-9_:.-]*")


class MdxSyntaxError(ValueError):
    """Raised for a tag that cannot be read, with the line where it starts."""

    def __init__(self, code: str, line: int, **params: str) -> None:
        super().__init__(code, line, params)
        self.code = code
        self.line = line
        self.params = params


@dataclass(frozen=True, slots=True)
class Attribute:
    """One attribute: a quoted string, a `{...}` expression, or a bare flag."""

    value: str | None
    is_expression: bool = False


@dataclass(frozen=True, slots=True)
class Tag:
    """A component tag: opening, closing or self-closing."""

    name: str
    line: int
    closing: bool = False
    self_closing: bool = False
    attributes: dict[str, Attribute] = field(default_factory=dict)


def blank_code(body: str) -> str:
    """Return the body with fenced code blocks and inline code replaced by spaces."""
    # Blanking keeps every line and column where it was, so reported lines stay true.
    lines = body.split("\n")
    fence: str | None = None
    for index, line in enumerate(lines):
        match = _FENCE.match(line)
        if fence is None:
            if match:
                fence = match.group(1)
                lines[index] = ""
            else:
                lines[index] = _blank_inline_code(line)
        else:
            closes = match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence)
            if closes and not line[match.end() :].strip():
                fence = None
            lines[index] = ""
    return "\n".join(lines)


def _blank_inline_code(line: str) -> str:
    if "`" not in line:
        return line
    out: list[str] = []
    position = 0
    while (start := line.find("`", position)) >= 0:
        run_end = start
        while run_end < len(line) and line[run_end] == "`":
            run_end += 1
        ticks = line[start:run_end]
        close = line.find(ticks, run_end)
        if close < 0:
            break
        out.append(line[position:start])
        out.append(" " * (close + len(ticks) - start))
        position = close + len(ticks)
    out.append(line[position:])
    return "".join(out)


def iter_tags(body: str, first_line: int = 1) -> Iterator[Tag]:
    """Yield component tags in order; `first_line` is the file line the body starts on."""
    text = blank_code(body)
    line_starts = [0]
    line_starts.extend(match.end() for match in re.finditer("\n", text))
    position = 0
    while (match := _TAG_START.search(text, position)) is not None:
        line = _line_of(line_starts, match.start()) + first_line
        closing, name = match.group(1) == "/", match.group(2)
        attributes, self_closing, position = _read_attributes(text, match.end(), name, line)
        if closing and (attributes or self_closing):
            raise MdxSyntaxError("tag_closing_with_attributes", line, name=name)
        yield Tag(name, line, closing, self_closing, attributes)


def _line_of(line_starts: list[int], offset: int) -> int:
    low, high = 0, len(line_starts) - 1
    while low < high:
        middle = (low + high + 1) // 2
        if line_starts[middle] <= offset:
            low = middle
        else:
            high = middle - 1
    return low


def _read_attributes(
    text: str, position: int, name: str, line: int
) -> tuple[dict[str, Attribute], bool, int]:
    """Read attributes up to the tag's `>`; return them, self-closing, and the end offset."""
    attributes: dict[str, Attribute] = {}
    length = len(text)
    while True:
        while position < length and text[position].isspace():
            position += 1
        if position >= length:
            raise MdxSyntaxError("tag_unterminated", line, name=name)
        char = text[position]
        if char == ">":
            return attributes, False, position + 1
        if text.startswith("/>", position):
            return attributes, True, position + 2
        if char == "{":  # a spread such as {...props}
            _, position = _read_expression(text, position, name, line)
            continue
        match = _ATTRIBUTE_NAME.match(text, position)
        if match is None:
            raise MdxSyntaxError("tag_unexpected_character", line, name=name, character=repr(char))
        key = match.group()
        position = match.end()
        while position < length and text[position] in " \t":
            position += 1
        if position < length and text[position] == "=":
            position += 1
            while position < length and text[position] in " \t":
                position += 1
            if position < length and text[position] in "\"'":
                quote = text[position]
                end = text.find(quote, position + 1)
                if end < 0:
                    raise MdxSyntaxError("attribute_unclosed_quote", line, name=name, attribute=key)
                attributes[key] = Attribute(text[position + 1 : end])
                position = end + 1
            elif position < length and text[position] == "{":
                expression, position = _read_expression(text, position, name, line)
                attributes[key] = Attribute(expression, is_expression=True)
            else:
                raise MdxSyntaxError("attribute_without_value", line, name=name, attribute=key)
        else:
            attributes[key] = Attribute(None)


def _read_expression(text: str, position: int, name: str, line: int) -> tuple[str, int]:
    """Read a balanced `{...}` (strings inside may hold braces); return its inside."""
    depth = 0
    start = position
    length = len(text)
    while position < length:
        char = text[position]
        if char in "\"'`":
            end = position + 1
            while end < length and text[end] != char:
                end += 2 if text[end] == "\\" else 1
            position = end + 1
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1 : position], position + 1
        position += 1
    raise MdxSyntaxError("expression_unclosed", line, name=name)
