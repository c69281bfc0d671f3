"""Apply a suggested edit to a lesson file: find the passage once, replace it, keep the rest.

People paste what they see, not what the file holds: other whitespace and line endings,
curly quotes, composed or decomposed accents. The passage is matched on a normalized view
of both, mapped back to exact positions in the file, and only those characters change.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

from bot.domain.catalogue import Problem
from bot.domain.checks import check_lesson_text

# Typographic characters people paste in place of the plain ones a file holds (or back).
_LOOKALIKES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
    }
)
# How much of the file is offered back as the closest passage.
CLOSEST_LIMIT = 200
# Longest find or replace text accepted: a suggestion is a passage, not a rewrite.
MAX_PASSAGE = 20_000
# Lines added each side of a changed passage, at most, until it reads once in its file.
PASSAGE_CONTEXT = 3
# Closest passages less alike than this are not worth offering.
_MIN_RATIO = 0.35
# How many windows, the likeliest by character counts, get an exact comparison.
_CANDIDATES = 60
# After a full stop and its space, or right after an ideographic one (no space follows).
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[\u3002\uff01\uff1f])")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_SUGGESTION_BLOCK = re.compile(
    r"^ {0,3}(?P<fence>`{3,}|~{3,})[ \t]*suggestion[ \t]*\n(?P<body>.*?)"
    r"^ {0,3}(?P=fence)(?:`*|~*)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)


class EditError(Exception):
    """An edit that cannot be applied; `code` says why, the rest helps the person fix it."""

    def __init__(
        self,
        code: str,
        *,
        count: int = 0,
        closest: str | None = None,
        found: tuple[Problem, ...] = (),
    ) -> None:
        super().__init__(code)
        self.code = code
        self.count = count
        self.closest = closest
        # The problems the edit adds, with their lines in the edited text, to word for people.
        self.found = found

    @property
    def problems(self) -> tuple[str, ...]:
        """Return the codes of the problems the edit adds."""
        return tuple(sorted({problem.code for problem in self.found}))


@dataclass(frozen=True, slots=True)
class AppliedEdit:
    """A file with one passage replaced, and where that passage was."""

    text: str
    start: int
    end: int
    old_passage: str
    new_passage: str


@dataclass(frozen=True, slots=True)
class Passage:
    """Whole lines of a file as they read now, and the number of the first one."""

    text: str
    line: int


def _fold_char(character: str) -> str:
    """Return one character as matching sees it: decomposed, plain quotes and dashes."""
    return unicodedata.normalize("NFD", character.translate(_LOOKALIKES))


def _folded(text: str) -> tuple[str, list[int]]:
    """Return `text` folded for matching, and each folded character's index in `text`.

    Every run of whitespace (line endings, tabs, no-break spaces included) becomes one
    space, so a passage pasted with other line breaks still matches.
    """
    out: list[str] = []
    where: list[int] = []
    in_space = False
    for index, character in enumerate(text):
        if "!" <= character <= "~":  # printable ASCII folds to itself: most of any file
            out.append(character)
            where.append(index)
            in_space = False
            continue
        if character.isspace():
            if not in_space:
                out.append(" ")
                where.append(index)
            in_space = True
            continue
        in_space = False
        for part in _fold_char(character):
            out.append(part)
            where.append(index)
    return "".join(out), where


def _fold_query(text: str) -> str:
    """Return a pasted passage folded for matching, without its surrounding whitespace."""
    return _folded(text.strip())[0]


def _occurrences(haystack: str, needle: str) -> list[int]:
    """Return where `needle` starts in `haystack`, overlapping occurrences included."""
    found: list[int] = []
    start = haystack.find(needle)
    while start != -1:
        found.append(start)
        start = haystack.find(needle, start + 1)
    return found


def front_matter_span(text: str) -> tuple[int, int] | None:
    """Return the character span of the front matter block (both `---` lines), if any."""
    offset = 1 if text.startswith("\ufeff") else 0
    first = re.match(r"---[ \t]*\r?\n", text[offset:])
    if first is None:
        return None
    # `$` stops before `\n` only: a CRLF file's fence line ends in `\r`.
    closing = re.compile(r"^---[ \t]*(?=\r?$)", re.MULTILINE)
    found = closing.search(text, offset + first.end())
    if found is None:
        return None
    return offset, found.end()


def line_ending(text: str) -> str:
    """Return the file's dominant line ending."""
    crlf = text.count("\r\n")
    lf = text.count("\n") - crlf
    cr = text.count("\r") - crlf
    if crlf >= lf and crlf >= cr and crlf:
        return "\r\n"
    if cr > lf:
        return "\r"
    return "\n"


def _in_file_style(replacement: str, text: str) -> str:
    """Return the replacement with the file's line endings and Unicode form."""
    replacement = line_ending(text).join(_LINE_BREAK.split(replacement))
    if unicodedata.is_normalized("NFC", text):
        return unicodedata.normalize("NFC", replacement)
    return replacement


def _shown(passage: str) -> str:
    """Return a passage on one line, cut to what a message can offer."""
    passage = " ".join(passage.split())
    return passage if len(passage) <= CLOSEST_LIMIT else passage[: CLOSEST_LIMIT - 1] + "…"


def _segments(text: str) -> list[str]:
    """Return the file's non-blank lines, long ones cut into sentences."""
    segments = []
    for line in _LINE_BREAK.split(text):
        line = line.strip()
        if line:
            segments.extend(part for part in _SENTENCE_END.split(line) if part)
    return segments


def closest_passage(text: str, find: str) -> str | None:
    """Return the passage of `text` most like `find` (a few lines or sentences), or None."""
    # Only the start of a long passage is offered back, so only its start is looked for.
    wanted = _fold_query(find)[: CLOSEST_LIMIT + 50].rstrip()
    if not wanted:
        return None
    originals = _segments(text)
    segments = [_fold_query(segment) for segment in originals]
    matcher = difflib.SequenceMatcher(None, autojunk=False)
    # SequenceMatcher caches what it learns about its second sequence: make that `wanted`.
    matcher.set_seq2(wanted)
    windows: list[tuple[float, int, int, str]] = []
    for first in range(len(segments)):
        # Windows of whole segments, grown until about as long as the pasted passage.
        window, last = segments[first], first
        while len(window) < len(wanted) * 0.8 and last + 1 < len(segments):
            last += 1
            window += " " + segments[last]
        matcher.set_seq1(window)
        if matcher.real_quick_ratio() > _MIN_RATIO:
            windows.append((matcher.quick_ratio(), first, last, window))
    # The exact ratio is the slow part: work it out only for the likeliest windows.
    windows.sort(key=lambda item: -item[0])
    best, best_ratio = None, _MIN_RATIO
    for quick, first, last, window in windows[:_CANDIDATES]:
        if quick <= best_ratio:
            break
        matcher.set_seq1(window)
        ratio = matcher.ratio()
        if ratio > best_ratio:
            best, best_ratio = " ".join(originals[first : last + 1]), ratio
    return None if best is None else _shown(best)


def _whole_characters(folded: str, where: list[int], position: int, size: int) -> bool:
    """Tell whether a match neither starts nor ends inside one character of the file.

    `cafe` must not match the start of `café`: its accent would be left dangling.
    """
    if position > 0 and where[position - 1] == where[position]:
        return False
    after = position + size
    return after >= len(folded) or (
        where[after] != where[after - 1] and not unicodedata.combining(folded[after])
    )


def _with_one_space(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen a deleted passage over one space beside it, so no double space is left."""
    before = text[start - 1] if start else "\n"
    after = text[end] if end < len(text) else "\n"
    if before in " \t" and after in " \t":
        return start, end + 1
    if before in " \t" and after in "\r\n":
        return start - 1, end
    return start, end


def apply_edit(
    text: str, find: str, replace: str, *, path: str, allow_front_matter: bool = False
) -> AppliedEdit:
    """Replace the one passage of `text` that matches `find`; refuse anything else."""
    if len(find) > MAX_PASSAGE or len(replace) > MAX_PASSAGE:
        raise EditError("too_large")
    wanted = _fold_query(find)
    if not wanted:
        raise EditError("find_empty")
    folded, where = _folded_lesson(text)
    found = [
        position
        for position in _occurrences(folded, wanted)
        if _whole_characters(folded, where, position, len(wanted))
    ]
    if not found:
        raise EditError("not_found", closest=closest_passage(text, find))
    spans = [(where[position], where[position + len(wanted) - 1] + 1) for position in found]
    header = front_matter_span(text)
    if header is not None and not allow_front_matter:
        # A lesson's title often comes back as its heading: the body's copy is the one meant.
        # A byte order mark before the fences counts as theirs: no one reads it as a passage.
        in_body = [span for span in spans if span[0] >= header[1]]
        if not in_body:
            raise EditError("front_matter")
        spans = in_body
    if len(spans) > 1:
        # Some words either side, so the person sees which one to make longer.
        context = text[max(0, spans[0][0] - 60) : spans[0][1] + 60]
        raise EditError("ambiguous", count=len(spans), closest=_shown(context))
    start, end = spans[0]
    # The match never starts or ends with whitespace, so neither does its replacement
    # (a form's text box often adds a final line break).
    new_passage = _in_file_style(replace.strip(), text)
    if not new_passage:
        start, end = _with_one_space(text, start, end)
    new_text = text[:start] + new_passage + text[end:]
    if new_text == text:
        raise EditError("no_change")
    broken = added_problems(path, text, new_text)
    if broken:
        raise EditError("breaks_lesson", found=broken)
    return AppliedEdit(new_text, start, end, text[start:end], new_passage)


def fold_char(character: str) -> str:
    """Return one character as the edit engine matches it."""
    return _fold_char(character)


def body_matches(text: str, find: str) -> int:
    """Return how many places of the lesson's body `apply_edit` would match `find` at."""
    wanted = _fold_query(find)
    if not wanted:
        return 0
    folded, where = _folded_lesson(text)
    header = front_matter_span(text)
    body_start = header[1] if header is not None else 0
    return sum(
        1
        for position in _occurrences(folded, wanted)
        if _whole_characters(folded, where, position, len(wanted)) and where[position] >= body_start
    )


@functools.lru_cache(maxsize=64)
def _folded_lesson(text: str) -> tuple[str, list[int]]:
    # Many suggestions are checked against the same lesson texts: fold each once. As many
    # as the intake keeps texts of: with fewer, lessons taken in turn pushed each other out.
    return _folded(text)


@functools.lru_cache(maxsize=64)
def _original_problems(path: str, text: str) -> Counter[tuple[str, str]]:
    return Counter(_problem_key(problem) for problem in check_lesson_text(path, text))


def _problem_key(problem: Problem) -> tuple[str, str]:
    # Lines move when text is added above a problem: the same problem elsewhere is no new one.
    params = {key: value for key, value in problem.params.items() if not key.endswith("line")}
    return problem.code, repr(sorted(params.items()))


def added_problems(path: str, old: str, new: str) -> tuple[Problem, ...]:
    """Return the lesson-check problems the new text has that the old one did not."""
    before = Counter(_original_problems(path, old))
    added = []
    for problem in check_lesson_text(path, new):
        key = _problem_key(problem)
        if before[key] > 0:
            before[key] -= 1
        else:
            added.append(problem)
    return tuple(added)


def validate_lesson(path: str, text: str) -> tuple[str, ...]:
    """Return the codes of every check the lesson text fails (compare with the original's)."""
    return tuple(problem.code for problem in check_lesson_text(path, text))


def unified_diff(old: str, new: str, path: str, context: int = 3) -> str:
    """Return a unified diff of the two texts, as git shows it (line endings as `\\n`)."""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"a/{path}",
        tofile=f"b/{path}",
        n=context,
    )
    out = []
    for line in lines:
        out.append(line.rstrip("\r\n") + "\n")
        if not line.endswith(("\n", "\r")):
            out.append("\\ No newline at end of file\n")
    return "".join(out)


def suggestion_blocks(comment_body: str) -> list[str]:
    """Return the texts of the ```suggestion blocks in a review comment, in order.

    Each is its lines with their `\\n`, as `apply_line_suggestion` takes them: an empty
    block gives "" (delete the lines), a block holding one blank line gives "\\n".
    """
    body = comment_body.replace("\r\n", "\n").replace("\r", "\n")
    return [found.group("body") for found in _SUGGESTION_BLOCK.finditer(body)]


def _lines(text: str) -> list[str]:
    """Split like git does (at line breaks only), keeping each line's ending."""
    return re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", text)


def apply_line_suggestion(text: str, start_line: int, end_line: int, replacement: str) -> str:
    """Replace lines start..end (1-based, inclusive), as GitHub's "Commit suggestion" does.

    `replacement` is "" to delete the lines; one final line break in it is optional. The new
    lines take the file's dominant line ending; a last line without one stays without.
    """
    lines = _lines(text)
    if not 1 <= start_line <= end_line <= len(lines):
        raise EditError("not_found")
    ending = line_ending(text)
    new_lines: list[str] = []
    if replacement:
        if replacement.endswith("\r\n"):
            replacement = replacement[:-2]
        elif replacement.endswith(("\n", "\r")):
            replacement = replacement[:-1]
        new_lines = [line + ending for line in _LINE_BREAK.split(replacement)]
        if not lines[end_line - 1].endswith(("\n", "\r")):
            new_lines[-1] = new_lines[-1][: -len(ending)]
    return "".join(lines[: start_line - 1] + new_lines + lines[end_line:])


def changed_passage(old: str, new: str) -> Passage | None:
    """Return the lines of `new` that differ from `old` (None when nothing differs).

    Widened by a line each side while it is empty (a deletion) or reads more than once in
    `new`, so it can be found again as the passage to change.
    """
    if old == new:
        return None
    before, after = _lines(old), _lines(new)
    limit = min(len(before), len(after))
    head = 0
    while head < limit and before[head] == after[head]:
        head += 1
    tail = 0
    while tail < limit - head and before[-1 - tail] == after[-1 - tail]:
        tail += 1
    return _readable_once(after, head, len(after) - tail)


def lines_passage(text: str, first_line: int, count: int) -> Passage:
    """Return `count` lines of `text` from `first_line` (1-based), widened as changed ones."""
    lines = _lines(text)
    first = min(max(first_line - 1, 0), len(lines))
    return _readable_once(lines, first, min(first + max(count, 0), len(lines)))


def passage_at(text: str, start: int, end: int) -> Passage:
    """Return the whole lines of `text` holding characters start..end, widened as changed
    ones are."""
    lines = _lines(text)
    first = last = offset = 0
    for index, line in enumerate(lines):
        if offset <= start:
            first = index
        if offset < max(end, start + 1):
            last = index + 1
        offset += len(line)
    return _readable_once(lines, first, last)


def _readable_once(lines: list[str], first: int, last: int) -> Passage:
    """Return lines[first:last], widened until it holds text and reads once in the file."""
    whole = "".join(lines)
    shown = ""
    for _ in range(PASSAGE_CONTEXT + 1):
        shown = "".join(lines[first:last]).rstrip("\r\n")
        if shown.strip() and whole.count(shown) == 1:
            break
        if first == 0 and last >= len(lines):
            break
        first, last = max(first - 1, 0), min(last + 1, len(lines))
    return Passage(shown, first + 1)


def fingerprint(lesson: str, locale: str, find: str, replace: str) -> str:
    """Return a key equal for the same edit however it was pasted."""
    parts = (lesson.strip(), locale.strip(), _fold_query(find), _fold_query(replace))
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()
