"""Find the lessons in a content directory and group their locale files by identity."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from bot.domain.frontmatter import (
    FrontMatterError,
    parse_front_matter_block,
    split_front_matter,
)

LESSON_SUFFIXES = (".mdx", ".md")
_SUFFIXES = frozenset(suffix[1:] for suffix in LESSON_SUFFIXES)
_OPENING_FENCES = (b"---\n", b"---\r\n", b"\xef\xbb\xbf---\n", b"\xef\xbb\xbf---\r\n")
# Front matter ends well within this many bytes; a file whose does not is read further.
_HEAD_BYTES = 4096


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


@dataclass(slots=True)
class Catalogue:
    """All lessons of a content directory."""

    root: Path
    default_locale: str
    programs: dict[str, Program]
    lessons: dict[str, Lesson]
    problems: list[Problem]

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


def lesson_file_from_text(relative: str, text: str) -> LessonFile:
    """Return a lesson file read from its text (e.g. fetched from GitHub at a commit).

    Broken front matter gives empty meta, as `load_catalogue` keeps such files too.
    """
    parsed = parse_lesson_path(relative)
    if parsed is None:
        raise ValueError(f"not a lesson path: {relative}")
    program, locale, slug = parsed
    meta: dict[str, Any] = {}
    try:
        split = split_front_matter(text)
        if split is not None:
            meta = parse_front_matter_block(split[0])
    except FrontMatterError:
        pass
    return LessonFile(program, slug, locale, relative, meta)


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
    return head[start:end].decode("utf-8")


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
    """Read one lesson file's front matter; a broken one yields empty meta and a problem."""
    meta: dict[str, Any] = {}
    problem = None
    try:
        meta = parse_front_matter_block(read_front_matter(where.absolute))
    except UnicodeDecodeError as error:
        problem = Problem(where.relative, 1, "file_not_utf8", {"reason": error.reason})
    except FrontMatterError as error:
        problem = Problem(where.relative, error.line, error.code, error.params)
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
            continue
        lesson.files[where.locale] = lesson_file
    return Catalogue(root, default_locale, programs, lessons, problems)
