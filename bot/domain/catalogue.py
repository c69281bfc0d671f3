"""Find the lessons in a content directory and group their locale files by identity."""

from __future__ import annotations

import hashlib
import json
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from bot.domain.frontmatter import (
    FrontMatterError,
    key_lines,
    parse_front_matter_block,
    split_front_matter,
)

LESSON_SUFFIXES = (".mdx", ".md")
_SUFFIXES = frozenset(suffix[1:] for suffix in LESSON_SUFFIXES)
_OPENING_FENCES = (b"---\n", b"---\r\n", b"\xef\xbb\xbf---\n", b"\xef\xbb\xbf---\r\n")
# Front matter ends well within this many bytes; a file whose does not is read further.
_HEAD_BYTES = 4096
# Unicode categories a program, locale or slug name may not hold. Names end up in hidden
# markers (`<!-- lessonbot:lesson=program/slug -->`, which end at whitespace), URLs and
# terminals, and two identities must never look alike: so no spaces of any kind, no control
# or invisible format characters (zero-width space, bidi overrides...), no lone surrogates
# (what a file name that is not UTF-8 decodes to).
_INVALID_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"})
# `>` would end the marker's HTML comment; a plain space is caught by its category too, but
# the fast path below needs it named.
_INVALID_ASCII = " >"
# Control characters have no Unicode name, only aliases; these are the ones people meet.
_CONTROL_NAMES = {
    "\x00": "NULL",
    "\x07": "ALERT",
    "\x08": "BACKSPACE",
    "\t": "CHARACTER TABULATION",
    "\n": "LINE FEED",
    "\x0b": "LINE TABULATION",
    "\x0c": "FORM FEED",
    "\r": "CARRIAGE RETURN",
    "\x1b": "ESCAPE",
    "\x7f": "DELETE",
    "\x85": "NEXT LINE",
}
# The problems that make a lesson file unusable for linking, and so are all the catalogue
# records for lesson files (a broken `program.json` only loses the program's title).
UNLINKABLE_CODES = frozenset(
    {
        "file_not_utf8",
        "front_matter_missing",
        "front_matter_unclosed",
        "front_matter_invalid",
        "front_matter_not_mapping",
        "key_missing",  # of `title`
        "key_empty",  # of `title`
        "key_not_string",  # of `title`
        "slug_invalid",
        "program_invalid",
        "locale_invalid",
        "duplicate_file",
    }
)


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong with a content file, at a 1-based line.

    `code` names the message (`check.<code>` in the i18n catalogs) and `params` fill it, so
    the domain stays free of wording and each reader gets the problem in their language.
    """

    path: str
    line: int
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        details = " ".join(f"{key}={value!r}" for key, value in self.params.items())
        return f"{self.path}:{self.line}: {self.code} {details}".rstrip()


@dataclass(slots=True)  # not frozen: frozen __init__ costs more than parsing the file
class LessonFile:
    """One locale's file of a lesson, with its front matter."""

    program: str
    slug: str
    locale: str
    path: str  # relative to the content root, with forward slashes
    meta: dict[str, Any]

    @property
    def identity(self) -> str:
        """Return the lesson identity shared by all locales, `program/slug`."""
        return f"{self.program}/{self.slug}"

    @property
    def title(self) -> str:
        """Return the title, or the slug when the front matter has none."""
        title = self.meta.get("title")
        return title.strip() if isinstance(title, str) and title.strip() else self.slug

    @property
    def description(self) -> str:
        """Return the description, or an empty string."""
        value = self.meta.get("description")
        return value.strip() if isinstance(value, str) else ""

    @property
    def order(self) -> int | None:
        """Return the lesson's position in its program, when given as an integer."""
        value = self.meta.get("order")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def published(self) -> bool:
        """Return whether the lesson is published (default true, as the site treats it)."""
        return self.meta.get("published", True) is not False


@dataclass(slots=True)
class Lesson:
    """A lesson: one identity, `program/slug`, with a file per locale."""

    program: str
    slug: str
    files: dict[str, LessonFile] = field(default_factory=dict)

    @property
    def identity(self) -> str:
        """Return `program/slug`."""
        return f"{self.program}/{self.slug}"

    @property
    def locales(self) -> list[str]:
        """Return the locales this lesson exists in, sorted."""
        return sorted(self.files)

    def file(self, locale: str, default_locale: str = "en") -> LessonFile:
        """Return the file for a locale, falling back to the default locale, then any."""
        for candidate in (locale, locale.split("-")[0], default_locale):
            if candidate in self.files:
                return self.files[candidate]
        return self.files[min(self.files)]

    def title(self, locale: str, default_locale: str = "en") -> str:
        """Return the lesson title in a locale, with fallback."""
        return self.file(locale, default_locale).title


@dataclass(frozen=True, slots=True)
class Program:
    """A program (course) folder with its optional `program.json`."""

    slug: str
    info: dict[str, Any]

    def title(self, locale: str = "en") -> str:
        """Return the program title in a locale, falling back to English, then the slug."""
        titles = self.info.get("titles")
        if isinstance(titles, dict):
            for candidate in (locale, locale.split("-")[0], "en"):
                if isinstance(titles.get(candidate), str):
                    return titles[candidate]
        title = self.info.get("title")
        return title if isinstance(title, str) and title else self.slug

    def titles(self, default_locale: str = "en") -> dict[str, str]:
        """Return the titles `program.json` gives, by locale (`title` stands for the
        default locale's); none at all when it names none."""
        found: dict[str, str] = {}
        titles = self.info.get("titles")
        if isinstance(titles, dict):
            found = {
                locale: title.strip()
                for locale, title in titles.items()
                if isinstance(title, str) and title.strip()
            }
        title = self.info.get("title")
        if isinstance(title, str) and title.strip():
            found.setdefault(default_locale, title.strip())
        return found


@dataclass(slots=True)
class Catalogue:
    """All lessons of a content directory.

    `problems` holds what makes a lesson file unusable for linking (see `UNLINKABLE_CODES`)
    and broken `program.json` files; body problems are for `lessons check` alone. A second
    file of a lesson in one locale (`a.md` beside `a.mdx`) is kept in `duplicates`, not in
    the lesson.
    """

    root: Path
    default_locale: str
    programs: dict[str, Program]
    lessons: dict[str, Lesson]
    problems: list[Problem]
    duplicates: list[LessonFile] = field(default_factory=list)

    @property
    def files(self) -> list[LessonFile]:
        """Return every lesson file, ordered by program, lesson order, slug and locale."""
        return [
            lesson.files[locale] for lesson in self.ordered_lessons() for locale in lesson.locales
        ]

    def ordered_lessons(self) -> list[Lesson]:
        """Return lessons ordered by program, then their `order`, then slug."""

        def key(lesson: Lesson) -> tuple[str, int, str]:
            order = lesson.file(self.default_locale, self.default_locale).order
            return (lesson.program, order if order is not None else 1 << 30, lesson.slug)

        return sorted(self.lessons.values(), key=key)

    def get(self, identity: str) -> Lesson | None:
        """Return a lesson by `program/slug`."""
        return self.lessons.get(identity)

    def broken(self) -> dict[str, list[Problem]]:
        """Return `program/slug` -> the problems that make any of its files unusable."""
        broken: dict[str, list[Problem]] = {}
        for problem in self.problems:
            identity = identity_of_path(problem.path)
            if identity is not None and problem.code in UNLINKABLE_CODES:
                broken.setdefault(identity, []).append(problem)
        return broken

    def put_file(self, lesson_file: LessonFile, problems: Iterable[Problem] = ()) -> None:
        """Add or replace one file (e.g. read by `parse_lesson_text`) with its problems."""
        self.remove_file(lesson_file.path)
        self.problems.extend(problems)
        self.programs.setdefault(lesson_file.program, Program(lesson_file.program, {}))
        lesson = self.lessons.get(lesson_file.identity)
        if lesson is None:
            lesson = Lesson(lesson_file.program, lesson_file.slug)
            self.lessons[lesson_file.identity] = lesson
        existing = lesson.files.get(lesson_file.locale)
        if existing is None:
            lesson.files[lesson_file.locale] = lesson_file
            return
        # As `load_catalogue` does: the first path in order is the lesson's, the other a dup.
        first, second = sorted((existing, lesson_file), key=lambda each: each.path)
        lesson.files[lesson_file.locale] = first
        self.duplicates.append(second)
        self.problems.append(Problem(second.path, 1, "duplicate_file", {"other": first.path}))

    def remove_file(self, relative: str) -> None:
        """Forget one file and its problems; a lesson with no file left goes too."""
        self.problems = [
            problem
            for problem in self.problems
            if problem.path != relative
            and not (problem.code == "duplicate_file" and problem.params.get("other") == relative)
        ]
        for index, duplicate in enumerate(self.duplicates):
            if duplicate.path == relative:
                del self.duplicates[index]
                return
        identity = identity_of_path(relative)
        lesson = self.lessons.get(identity) if identity else None
        if lesson is None:
            return
        for locale, lesson_file in list(lesson.files.items()):
            if lesson_file.path != relative:
                continue
            del lesson.files[locale]
            for index, duplicate in enumerate(self.duplicates):
                if duplicate.identity == lesson.identity and duplicate.locale == locale:
                    lesson.files[locale] = self.duplicates.pop(index)
                    break
        if not lesson.files:
            del self.lessons[lesson.identity]


class LessonPath(NamedTuple):
    """Where a lesson file sits in the layout."""

    program: str
    locale: str
    slug: str
    relative: str
    absolute: str


_LESSON_PATH = re.compile(r"programs/([^/]+)/lessons/([^/]+)/([^/]+)\.(?:mdx|md)")


def parse_lesson_path(relative: str) -> tuple[str, str, str] | None:
    """Return (program, locale, slug) for a path in the lesson layout, else None."""
    found = _LESSON_PATH.fullmatch(relative)
    if found is None or any(part.startswith(".") for part in found.groups()):
        return None
    return found.group(1), found.group(2), found.group(3)


def identity_of_path(relative: str) -> str | None:
    """Return `program/slug` for a path in the lesson layout (dot names too), else None."""
    parts = relative.split("/")
    if len(parts) != 5 or parts[0] != "programs" or parts[2] != "lessons":
        return None
    stem, dot, _ = parts[4].rpartition(".")
    return f"{parts[1]}/{stem}" if dot and stem else None


def invalid_character(name: str) -> str | None:
    """Return the first character that keeps a name out of an identity, named, else None.

    E.g. "U+00A0 NO-BREAK SPACE". Names come from path segments, which are never empty.
    """
    if name.isprintable() and " " not in name and ">" not in name:
        return None  # the common case: isprintable() is false for every category refused
    for character in name:
        if character in _INVALID_ASCII or unicodedata.category(character) in _INVALID_CATEGORIES:
            return describe_character(character)
    return None


def describe_character(character: str) -> str:
    """Return a character as `U+XXXX NAME`, as the Unicode charts write it."""
    name = unicodedata.name(character, "") or _CONTROL_NAMES.get(character, "")
    return f"U+{ord(character):04X} {name}".rstrip()


def shown_name(name: str) -> str:
    """Return a name with its refused characters (but a plain space) escaped, for messages."""
    return "".join(
        _escaped(character)
        if character not in _INVALID_ASCII
        and unicodedata.category(character) in _INVALID_CATEGORIES
        else character
        for character in name
    )


def _escaped(character: str) -> str:
    code = ord(character)
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def name_problem(relative: str, code: str, name: str) -> Problem | None:
    """Return a `code` problem (slug_invalid, program_invalid...) when a name is refused."""
    character = invalid_character(name)
    if character is None:
        return None
    return Problem(relative, 1, code, {"name": shown_name(name), "character": character})


def name_problems(relative: str, program: str, locale: str, slug: str) -> list[Problem]:
    """Return the problems of the names a lesson file's identity and locale are made of."""
    found = (
        name_problem(relative, "program_invalid", program),
        name_problem(relative, "locale_invalid", locale),
        name_problem(relative, "slug_invalid", slug),
    )
    return [problem for problem in found if problem is not None]


def title_problem(relative: str, meta: dict[str, Any], raw: str) -> Problem | None:
    """Return why a parsed front matter has no usable title, as `lessons check` words it."""
    title = meta.get("title")
    if isinstance(title, str) and title.strip():
        return None
    if "title" not in meta:
        return Problem(relative, 1, "key_missing", {"key": "title"})
    line = key_lines(raw).get("title", 1)  # only broken files pay for finding the line
    if not isinstance(title, str):
        shown = json.dumps(title, default=str, ensure_ascii=False)
        return Problem(relative, line, "key_not_string", {"key": "title", "value": shown})
    return Problem(relative, line, "key_empty", {"key": "title"})


def parse_lesson_text(relative: str, text: str) -> tuple[LessonFile, list[Problem]]:
    """Return a lesson file read from its text, with what makes it unusable for linking.

    The problems are those `load_catalogue` records for the same file (all but
    `duplicate_file`, which takes the other files to see); broken front matter gives empty
    meta, as the catalogue keeps such files too. Raises ValueError off the lesson layout.
    """
    parsed = parse_lesson_path(relative)
    if parsed is None:
        raise ValueError(f"not a lesson path: {relative}")
    program, locale, slug = parsed
    problems = name_problems(relative, program, locale, slug)
    meta: dict[str, Any] = {}
    try:
        split = split_front_matter(text)
        if split is None:
            raise FrontMatterError("front_matter_missing", 1)
        meta = parse_front_matter_block(split[0])
    except FrontMatterError as error:
        problems.append(Problem(relative, error.line, error.code, error.params))
    else:
        if problem := title_problem(relative, meta, split[0]):
            problems.append(problem)
    return LessonFile(program, slug, locale, relative, meta), problems


def lesson_file_from_text(relative: str, text: str) -> LessonFile:
    """Return a lesson file read from its text (e.g. fetched from GitHub at a commit)."""
    return parse_lesson_text(relative, text)[0]


def iter_lesson_paths(root: Path) -> Iterator[LessonPath]:
    """Yield lesson files laid out as `programs/<program>/lessons/<locale>/<slug>.md(x)`."""
    programs_dir = os.path.join(root, "programs")
    for program in _sorted_dirs(programs_dir):
        lessons_dir = os.path.join(programs_dir, program, "lessons")
        for locale in _sorted_dirs(lessons_dir):
            locale_dir = os.path.join(lessons_dir, locale)
            with os.scandir(locale_dir) as entries:
                files = sorted((e.name, e.path) for e in entries if e.is_file())
            prefix = f"programs/{program}/lessons/{locale}/"
            for name, absolute in files:
                stem, _, suffix = name.rpartition(".")
                if stem and suffix in _SUFFIXES:
                    yield LessonPath(program, locale, stem, prefix + name, absolute)


def _sorted_dirs(path: str) -> list[str]:
    try:
        with os.scandir(path) as entries:
            return sorted(e.name for e in entries if e.is_dir() and not e.name.startswith("."))
    except (FileNotFoundError, NotADirectoryError):
        return []


def git_blob_sha(data: bytes) -> str:
    """Return the id git gives a blob with these bytes."""
    digest = hashlib.sha1(b"blob %d\0" % len(data), usedforsecurity=False)
    digest.update(data)
    return digest.hexdigest()


def read_program_info(root: Path, program: str) -> tuple[dict[str, Any], Problem | None]:
    """Read `programs/<program>/program.json`; an absent file is an empty mapping."""
    relative = f"programs/{program}/program.json"
    try:
        with open(os.path.join(root, relative), "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        return {}, None
    try:
        info = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        line = getattr(error, "lineno", 1)
        return {}, Problem(relative, line, "program_invalid_json", {"reason": str(error)})
    if not isinstance(info, dict):
        return {}, Problem(relative, 1, "program_not_object")
    return info, None


def read_front_matter(path: str) -> str:
    """Return the text between a file's front matter fences, reading no more than needed."""
    # The catalogue needs only front matter: reading and decoding whole bodies would cost
    # more than parsing, and raw os calls skip the buffered file object's set-up.
    descriptor = os.open(path, os.O_RDONLY)
    try:
        head = os.read(descriptor, _HEAD_BYTES)
        if not head.startswith(_OPENING_FENCES):
            raise FrontMatterError("front_matter_missing", 1)
        start = head.index(b"\n") + 1
        end = _find_closing_fence(head, start)
        while end < 0 and (more := os.read(descriptor, 1 << 16)):
            head += more
            end = _find_closing_fence(head, start)
    finally:
        os.close(descriptor)
    if end < 0:
        raise FrontMatterError("front_matter_unclosed", 1)
    try:
        return head[start:end].decode("utf-8")
    except UnicodeDecodeError as error:
        # The line and reason `lessons check` gives, decoding the whole file: the bytes
        # before are valid and the block ends with the same newline the file has.
        line = head[: start + error.start].count(b"\n") + 1
        raise FrontMatterError("file_not_utf8", line, reason=error.reason) from None


def _find_closing_fence(data: bytes, start: int) -> int:
    """Return where the line holding only `---` begins, at or after start; -1 if none."""
    position = start - 1  # the fence may be the very first line after the opening one
    while (position := data.find(b"\n---", position)) >= 0:
        line_end = data.find(b"\n", position + 4)
        rest = data[position + 4 : line_end if line_end >= 0 else len(data)]
        if not rest.strip(b" \t\r") and (line_end >= 0 or len(rest) == len(rest.rstrip())):
            return position + 1
        position += 4
    return -1


def read_lesson_file(where: LessonPath) -> tuple[LessonFile, Problem | None]:
    """Read one lesson file's front matter; a broken one or no title yields a problem.

    Names are not checked here: `load_catalogue` checks each folder name once.
    """
    meta: dict[str, Any] = {}
    problem = None
    try:
        raw = read_front_matter(where.absolute)
        meta = parse_front_matter_block(raw)
    except FrontMatterError as error:
        problem = Problem(where.relative, error.line, error.code, error.params)
    else:
        title = meta.get("title")
        if not (title.__class__ is str and title.strip()):  # inline: this runs per file
            problem = title_problem(where.relative, meta, raw)
    lesson_file = LessonFile(where.program, where.slug, where.locale, where.relative, meta)
    return lesson_file, problem


def load_catalogue(root: Path | str, default_locale: str = "en") -> Catalogue:
    """Load every lesson under a content directory; bad files are kept and reported."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"content directory not found: {root}")
    programs: dict[str, Program] = {}
    lessons: dict[str, Lesson] = {}
    problems: list[Problem] = []
    duplicates: list[LessonFile] = []
    for where in iter_lesson_paths(root):
        if where.program not in programs:
            info, problem = read_program_info(root, where.program)
            programs[where.program] = Program(where.program, info)
            if problem:
                problems.append(problem)
        lesson_file, problem = read_lesson_file(where)
        if problem:
            problems.append(problem)
        identity = lesson_file.identity
        lesson = lessons.get(identity)
        if lesson is None:
            lesson = lessons[identity] = Lesson(where.program, where.slug)
        if where.locale in lesson.files:
            problems.append(
                Problem(
                    where.relative, 1, "duplicate_file", {"other": lesson.files[where.locale].path}
                )
            )
            duplicates.append(lesson_file)
            continue
        lesson.files[where.locale] = lesson_file
    # One look at all names at once instead of three per file: this is the common case.
    names = "".join(lessons) + "".join("".join(lesson.files) for lesson in lessons.values())
    if not names.isprintable() or " " in names or ">" in names:
        # A bad folder name is reported on each of its files: each is what cannot be linked.
        # They go first, so that sorted by path and line they come as `lessons check` has them.
        every_file = [f for lesson in lessons.values() for f in lesson.files.values()]
        problems[:0] = [
            problem
            for each in every_file + duplicates
            for problem in name_problems(each.path, each.program, each.locale, each.slug)
        ]
    return Catalogue(root, default_locale, programs, lessons, problems, duplicates)
