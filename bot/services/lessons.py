"""Find lessons by what a person types and describe one in their language."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.catalogue import Catalogue, Lesson
from bot.domain.lookup import LessonLookup, closest_lessons, find_lesson, fold

__all__ = ["LessonChoice", "LessonDirectory", "LessonSummary", "fold"]

# Ranks, best first: what a person most likely means comes before what merely matches.
_EXACT, _PREFIX, _SUBSTRING, _ALL_WORDS = range(4)


@dataclass(frozen=True, slots=True)
class LessonChoice:
    """A lesson offered for what a person typed."""

    identity: str
    title: str
    program_title: str


@dataclass(frozen=True, slots=True)
class LessonSummary:
    """What a person sees about a lesson, in their locale where it exists."""

    identity: str
    title: str
    description: str
    program_title: str
    locale: str  # the locale the title and description are in (may be the fallback)
    locales: tuple[str, ...]
    url: str | None = None


@dataclass(frozen=True, slots=True)
class _Entry:
    lesson: Lesson
    position: int  # in catalogue order: program, then lesson order, then slug
    identity: str  # folded
    slug: str  # folded
    titles: dict[str, str]  # locale -> folded title


class LessonDirectory:
    """Search and describe the published lessons of a catalogue."""

    def __init__(
        self,
        catalogue: Catalogue,
        default_locale: str,
        *,
        lesson_url_template: str | None = None,
        include_unpublished: bool = False,
    ) -> None:
        self._default_locale = default_locale
        self._url_template = lesson_url_template
        self._include_unpublished = include_unpublished
        self.reload(catalogue)

    def reload(self, catalogue: Catalogue) -> None:
        """Serve the lessons of another catalogue (a push changed the content)."""
        entries: list[_Entry] = []
        by_identity: dict[str, _Entry] = {}
        for lesson in catalogue.ordered_lessons():
            # A draft (published: false) is hidden from learners, as the site hides it.
            if not self._include_unpublished and not lesson.file(self._default_locale).published:
                continue
            entry = _Entry(
                lesson=lesson,
                position=len(entries),
                identity=fold(lesson.identity),
                slug=fold(lesson.slug),
                titles={locale: fold(file.title) for locale, file in lesson.files.items()},
            )
            entries.append(entry)
            by_identity[lesson.identity.casefold()] = entry
        # Swapped whole, so a search running meanwhile sees the old lessons or the new.
        self._catalogue, self._entries, self._by_identity = catalogue, entries, by_identity

    def search(self, query: str, locale: str, limit: int = 25) -> list[LessonChoice]:
        """Return up to `limit` lessons matching a query, best first, titled in `locale`."""
        if limit <= 0:
            return []
        wanted = fold(query)
        ranked: list[tuple[int, int, _Entry]] = []
        for entry in self._entries:
            rank = self._rank(entry, wanted, locale) if wanted else _EXACT
            if rank is not None:
                ranked.append((rank, entry.position, entry))
        ranked.sort(key=lambda item: (item[0], item[1]))
        return [self._choice(entry.lesson, locale) for _, _, entry in ranked[:limit]]

    def describe(self, identity: str, locale: str) -> LessonSummary | None:
        """Return a lesson's summary in `locale` (or the default locale); None if unknown."""
        entry = self._by_identity.get(identity.strip().casefold())
        if entry is None:
            return None
        lesson = entry.lesson
        shown = lesson.file(locale, self._default_locale)
        url = None
        if self._url_template:
            url = self._url_template.format(
                program=lesson.program, slug=lesson.slug, locale=shown.locale
            )
        return LessonSummary(
            identity=lesson.identity,
            title=shown.title,
            description=shown.description,
            program_title=self._program_title(lesson, locale),
            locale=shown.locale,
            locales=tuple(lesson.locales),
            url=url,
        )

    def lookup(self, typed: str) -> LessonLookup:
        """Return the lesson `typed` names, else the closest ones, for "did you mean"."""
        entry = self._by_identity.get(typed.strip().casefold())
        if entry is not None:
            return LessonLookup(entry.lesson)
        lessons = [entry.lesson for entry in self._entries]
        found = find_lesson(lessons, typed)
        if found is not None:
            return LessonLookup(found)
        return LessonLookup(None, tuple(closest_lessons(lessons, typed)), next(iter(lessons), None))

    def _rank(self, entry: _Entry, wanted: str, locale: str) -> int | None:
        """Return how well an entry matches a folded query; None when it does not."""
        if wanted == entry.identity:
            return _EXACT
        titles = self._searched_titles(entry, locale)
        names = (entry.slug, entry.identity, *titles)
        if any(name.startswith(wanted) for name in names):
            return _PREFIX
        if any(wanted in name for name in names):
            return _SUBSTRING
        # Words in any order ("data cleaning" for "Cleaning Data").
        words = wanted.replace("/", " ").split()
        if len(words) > 1 and all(any(word in name for name in names) for word in words):
            return _ALL_WORDS
        return None

    def _searched_titles(self, entry: _Entry, locale: str) -> list[str]:
        """Return the folded titles a person may type: their locale's and the default's."""
        shown = entry.lesson.file(locale, self._default_locale).locale
        titles = [entry.titles[shown]]
        if self._default_locale in entry.titles and self._default_locale != shown:
            titles.append(entry.titles[self._default_locale])
        return titles

    def _choice(self, lesson: Lesson, locale: str) -> LessonChoice:
        return LessonChoice(
            identity=lesson.identity,
            title=lesson.title(locale, self._default_locale),
            program_title=self._program_title(lesson, locale),
        )

    def _program_title(self, lesson: Lesson, locale: str) -> str:
        program = self._catalogue.programs.get(lesson.program)
        return program.title(locale) if program else lesson.program
