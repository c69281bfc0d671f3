"""Tell which lesson a person means by what they typed, or which ones come closest."""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from bot.domain.catalogue import LESSON_SUFFIXES, Catalogue, Lesson

# How many close lessons a refusal offers.
CLOSEST_LIMIT = 3
# difflib's own default: below it, two names share too little to be offered as a typo.
CUTOFF = 0.6
# A name that holds all of what was typed ("datos" in "¿Qué son los datos?") is offered too,
# after the near-identical ones; shorter than this, a contained word matches too much.
_CONTAINED = 0.75
_CONTAINED_MIN = 4
# How much the program counts in how close `program/slug` is to a lesson's identity.
_PROGRAM_WEIGHT = 0.4
# Separators in slugs and titles that a person types as spaces, or not at all.
_SPACES = str.maketrans({"-": " ", "_": " "})
# What a lesson address may end with: the file in the repository, or a page on a site.
_ADDRESS_SUFFIXES = (*LESSON_SUFFIXES, ".html", ".htm")


def fold(text: str) -> str:
    """Return text reduced for matching: no case, accents, punctuation or extra spaces."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_SPACES))
    kept = []
    for character in decomposed:
        category = unicodedata.category(character)
        if category.startswith("M"):  # accents, Arabic harakat: typed or not, same word
            continue
        # Punctuation (`¿`, `:`, `?`) would stop a prefix from matching; `/` joins identities.
        kept.append(" " if category[0] in "PZ" and character != "/" else character)
    return " ".join("".join(kept).casefold().split())


@dataclass(frozen=True, slots=True)
class LessonLookup:
    """What a person typed for a lesson: the lesson it names, else the closest ones."""

    lesson: Lesson | None
    closest: tuple[Lesson, ...] = ()
    # A real lesson to show the `program/slug` form with, when none comes close.
    example: Lesson | None = None


def lookup_lesson(catalogue: Catalogue, typed: str, limit: int = CLOSEST_LIMIT) -> LessonLookup:
    """Return the usable lesson `typed` names, else the closest published ones.

    A lesson whose files cannot be linked is none; a draft (`published: false`) is found
    when named but never offered, as the site hides it.
    """
    broken = catalogue.broken()
    exact = catalogue.get(typed.strip())
    if exact is not None and exact.identity not in broken:
        return LessonLookup(exact)  # what nearly every request sends: no sorting, no folding
    usable = [lesson for lesson in catalogue.ordered_lessons() if lesson.identity not in broken]
    lesson = find_lesson(usable, typed)
    if lesson is not None:
        return LessonLookup(lesson)
    default = catalogue.default_locale
    offered = [lesson for lesson in usable if lesson.file(default, default).published]
    closest = tuple(closest_lessons(offered, typed, limit))
    return LessonLookup(None, closest, offered[0] if offered else None)


def find_lesson(lessons: Sequence[Lesson], typed: str) -> Lesson | None:
    """Return the one lesson that `typed` names, else None.

    It may be `program/slug` (in any case), a lesson page's address or the file's path in
    the repository, a slug that only one program has, or a title in any locale that only
    one lesson has.
    """
    text = typed.strip()
    if not text:
        return None
    by_identity = {lesson.identity.casefold(): lesson for lesson in lessons}
    exact = by_identity.get(text.casefold())
    if exact is not None:
        return exact
    for found in (
        _by_address(lessons, by_identity, text),
        _by_slug(lessons, text),
        _by_title(lessons, text),
    ):
        if len(found) == 1:
            return found[0]
    return None


def closest_lessons(
    lessons: Sequence[Lesson], typed: str, limit: int = CLOSEST_LIMIT
) -> list[Lesson]:
    """Return up to `limit` lessons whose identity, slug or a title is close to `typed`.

    Best first; of equally close ones, the first in catalogue order.
    """
    program, forms = _typed_parts(typed)
    if not forms or limit <= 0:
        return []
    scored: list[tuple[float, int, Lesson]] = []
    for position, lesson in enumerate(lessons):
        names = {fold(lesson.slug)}
        names.update(fold(each.title) for each in lesson.files.values())
        names.discard("")
        score = max(_closeness(form, name) for form in forms for name in names)
        if program is not None:
            # The slug must come close on its own (a right program with a wrong slug is not
            # a typo of every lesson in it); a wrong program then takes some closeness off.
            blended = _PROGRAM_WEIGHT * _closeness(program, fold(lesson.program))
            score = min(score, blended + (1 - _PROGRAM_WEIGHT) * score)
        if score >= CUTOFF:
            scored.append((-score, position, lesson))
    scored.sort(key=lambda item: (item[0], item[1]))
    return [lesson for _, _, lesson in scored[:limit]]


def _closeness(wanted: str, name: str) -> float:
    """Return how alike two folded names are, from 0 to 1."""
    matcher = difflib.SequenceMatcher(None, wanted, name, autojunk=False)
    ratio = matcher.ratio() if matcher.real_quick_ratio() >= CUTOFF else 0.0
    if len(wanted) >= _CONTAINED_MIN and wanted in name:
        return max(ratio, _CONTAINED)
    return ratio


def _typed_parts(typed: str) -> tuple[str | None, set[str]]:
    """Return what was typed as a program (for `program/slug`) and as slugs or titles.

    Of an address, each path segment may be the slug: its layout is the site's.
    """
    text = typed.strip()
    if "/" not in text:
        whole = fold(text)
        return None, {whole} if whole else set()
    segments = _segments(text)
    if len(segments) == 2 and not urlsplit(text).netloc:
        program, slug = (fold(segment) for segment in segments)
        return program, {slug} if slug else set()
    forms = {fold(segment) for segment in segments}
    forms.discard("")
    return None, forms


def _segments(text: str) -> list[str]:
    """Return the path segments of an address or path, decoded, the last without suffix."""
    path = urlsplit(text.strip()).path
    segments: list[str] = []
    for segment in (unquote(each) for each in path.split("/")):
        # Dot segments go as a browser resolves them: `p/s/../../x` is `x`, no lesson.
        if segment == "..":
            if segments:
                segments.pop()
        elif segment and segment != ".":
            segments.append(segment)
    if segments:
        last = segments[-1]
        for suffix in _ADDRESS_SUFFIXES:
            if last.casefold().endswith(suffix) and len(last) > len(suffix):
                segments[-1] = last[: -len(suffix)]
                break
    return segments


def _by_address(
    lessons: Sequence[Lesson], by_identity: dict[str, Lesson], text: str
) -> list[Lesson]:
    """Return the lessons an address names: a program segment, then one of its slugs.

    Whatever the site's layout (`/es/programs/p/lessons/s`, `/lessons/p/s/suggest`,
    `programs/p/lessons/es/s.mdx`), the program comes before the slug; an address with
    no program in it may still end with a slug.
    """
    if "/" not in text:
        return []
    segments = [segment.casefold() for segment in _segments(text)]
    programs = {lesson.program.casefold() for lesson in lessons}
    found: dict[str, Lesson] = {}
    for index, segment in enumerate(segments):
        if segment not in programs:
            continue
        for later in segments[index + 1 :]:
            lesson = by_identity.get(f"{segment}/{later}")
            if lesson is not None:
                found[lesson.identity] = lesson
    # Only an address ends with a bare slug: `other/slug` names a program, a wrong one.
    is_address = len(segments) > 2 or bool(urlsplit(text).netloc)
    if not found and is_address:
        return _by_slug(lessons, segments[-1])
    return list(found.values())


def _by_slug(lessons: Iterable[Lesson], text: str) -> list[Lesson]:
    """Return the lessons, in any program, whose slug is `text` (folded)."""
    if "/" in text:
        return []
    wanted = fold(text)
    return [lesson for lesson in lessons if wanted and fold(lesson.slug) == wanted]


def _by_title(lessons: Iterable[Lesson], text: str) -> list[Lesson]:
    """Return the lessons with a title, in any locale, that is `text` (folded)."""
    wanted = fold(text)
    if not wanted:
        return []
    return [
        lesson
        for lesson in lessons
        if any(fold(each.title) == wanted for each in lesson.files.values())
    ]
