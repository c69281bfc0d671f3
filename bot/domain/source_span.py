"""Find the lesson source behind text a reader selected on the rendered page.

A lesson page shows `**bold**` as bold, `[a link](url)` as its words, `` `code` `` without
its backticks and `<Callout>` as a box: the selected text is not in the file as such. The
file's visible text is built with each character's place in the file, the selection is
matched there (whitespace, quotes and accents folded as the edit engine folds them), and the
match is widened over the markup at its edges, so the passage handed to the suggest form is
the file's own text, found exactly once by `apply_edit`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.domain.edits import body_matches, fold_char, front_matter_span

# Markup characters that wrap inline text: emphasis, strong, strike-through, code.
_WRAPPERS = "*_`~"
_LIST_MARKER = re.compile(r"[ \t]*(?:#{1,6}[ \t]+|>[ \t]?|[-*+][ \t]+|[0-9]{1,9}[.)][ \t]+)")
_FENCE = re.compile(r"[ \t]*(?:`{3,}|~{3,})")
_MODULE_LINE = re.compile(r"(?:import|export)\s")
# A selection longer than this is not a passage to suggest an edit to.
MAX_SELECTION = 5_000
# Takes a visible character and its index in the file.
_Emit = Callable[[str, int], None]


@dataclass(frozen=True, slots=True)
class SourceSpan:
    """Where a selection sits in a lesson file: its exact text, and how often it matches."""

    passage: str
    start: int
    end: int
    # Places the edit engine finds `passage` at: 1 is the only answer it accepts.
    matches: int


def visible_text(source: str) -> tuple[str, list[int]]:
    """Return the body's text as a reader sees it, folded, with each character's index."""
    header = front_matter_span(source)
    position = header[1] if header is not None else 0
    out: list[str] = []
    where: list[int] = []
    in_code = False

    def emit(character: str, index: int) -> None:
        if character.isspace():
            if out and out[-1] != " ":
                out.append(" ")
                where.append(index)
            return
        for part in fold_char(character):
            out.append(part)
            where.append(index)

    for line in source[position:].splitlines(keepends=True):
        start = position
        position += len(line)
        if _FENCE.match(line):
            in_code = not in_code
            emit("\n", start)
            continue
        if in_code:
            for offset, character in enumerate(line):
                emit(character, start + offset)
            continue
        if _MODULE_LINE.match(line):
            continue
        marker = _LIST_MARKER.match(line)
        _inline(line, start, marker.end() if marker else 0, emit)
    while out and out[-1] == " ":
        out.pop()
        where.pop()
    return "".join(out), where


def _inline(line: str, start: int, index: int, emit: _Emit) -> None:
    """Emit one line's visible characters: markup, tags and link targets left out."""
    in_code = False
    while index < len(line):
        character = line[index]
        if character == "`":
            in_code = not in_code
            index += 1
            continue
        if in_code:
            emit(character, start + index)
            index += 1
            continue
        if character == "\\" and index + 1 < len(line) and not line[index + 1].isspace():
            emit(line[index + 1], start + index + 1)
            index += 2
            continue
        if (
            character == "<"
            and index + 1 < len(line)
            and (line[index + 1].isalpha() or line[index + 1] == "/")
        ):
            closing = _tag_end(line, index)
            if closing is not None:
                # A component or HTML tag shows no text of its own: it separates words.
                emit(" ", start + index)
                index = closing
                continue
        if character == "]" and line.startswith("](", index):
            closing = line.find(")", index)
            if closing != -1:
                index = closing + 1
                continue
        if character in "[" or (character == "!" and line.startswith("![", index)):
            index += 1
            continue
        if character in "*~" or (character == "_" and not _inside_word(line, index)):
            index += 1
            continue
        emit(character, start + index)
        index += 1


def _tag_end(line: str, index: int) -> int | None:
    """Return the index after a tag's `>` (quoted attribute values skipped), or None."""
    quote = ""
    for position in range(index + 1, len(line)):
        character = line[position]
        if quote:
            if character == quote:
                quote = ""
        elif character in "\"'":
            quote = character
        elif character == ">":
            return position + 1
    return None


def _inside_word(line: str, index: int) -> bool:
    """Tell whether an underscore joins two word characters (snake_case), not emphasis."""
    before = line[index - 1] if index > 0 else " "
    after = line[index + 1] if index + 1 < len(line) else " "
    return before.isalnum() and after.isalnum()


def locate(source: str, selected: str) -> SourceSpan | None:
    """Return the file's passage behind a selection of its rendered text, or None."""
    if len(selected) > MAX_SELECTION:
        return None
    wanted = "".join(" " if character.isspace() else fold_char(character) for character in selected)
    wanted = " ".join(wanted.split())
    # Markup a reader copied along (a pasted `**`) is not on the page: drop it as the page does.
    wanted = " ".join(wanted.translate(str.maketrans("", "", "*`")).split())
    if not wanted:
        return None
    visible, where = visible_text(source)
    found = visible.find(wanted)
    if found == -1:
        return None
    start, end = where[found], where[found + len(wanted) - 1] + 1
    start, end = _widen(source, start, end)
    passage = source[start:end]
    return SourceSpan(passage, start, end, body_matches(source, passage))


def _widen(source: str, start: int, end: int) -> tuple[int, int]:
    """Return a span grown over the markup at its edges, so what it opens it closes."""
    while start > 0 and source[start - 1] in _WRAPPERS + "[":
        start -= 1
    while end < len(source) and source[end] in _WRAPPERS:
        end += 1
    if source.startswith("](", end):
        closing = source.find(")", end)
        if closing != -1 and "\n" not in source[end:closing]:
            end = closing + 1
    # A link's words selected without the rest of it: take its target along.
    opened = source.rfind("[", start, end)
    if opened != -1 and "]" not in source[opened:end]:
        closing = source.find("](", end)
        target = source.find(")", closing) if closing != -1 else -1
        if target != -1 and "\n" not in source[end:target]:
            end = target + 1
    for wrapper in ("**", "__", "`", "~~", "*", "_"):
        passage = source[start:end]
        if passage.count(wrapper) % 2 == 0:
            continue
        # One wrapper too many: the selection stopped inside emphasis. Take in the rest of
        # it (within the paragraph), else leave the lone wrapper out.
        closer = source.find(wrapper, end)
        if closer != -1 and "\n\n" not in source[end:closer]:
            end = closer + len(wrapper)
        elif passage.startswith(wrapper):
            start += len(wrapper)
        elif passage.endswith(wrapper):
            end -= len(wrapper)
    while start < end and source[start].isspace():
        start += 1
    while end > start and source[end - 1].isspace():
        end -= 1
    return start, end
