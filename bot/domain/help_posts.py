"""Find the lesson a learner's own forum post is about, and order a program's lessons for
the picker offered when it names none.

A post names a lesson by a link to its page (in any locale), to its Discord post or to its
GitHub issue, by its slug, or by its title in any locale. Links are surest, then slugs,
then titles; two lessons named equally surely name none (the author picks).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import unquote, urlsplit


class Named(StrEnum):
    """How a post named its lesson."""

    PAGE_LINK = "page_link"
    POST_LINK = "post_link"
    ISSUE_LINK = "issue_link"
    SLUG = "slug"
    TITLE = "title"


# Surest first: a link is meant, a slug is typed on purpose, a title may be a phrase.
_RANK = {
    Named.PAGE_LINK: 0,
    Named.POST_LINK: 0,
    Named.ISSUE_LINK: 0,
    Named.SLUG: 1,
    Named.TITLE: 2,
}


@dataclass(frozen=True, slots=True)
class LessonCandidate:
    """A lesson of the program a post may name, with everything it can be named by."""

    identity: str  # program/slug
    slug: str
    titles: Mapping[str, str] = field(default_factory=dict)  # locale -> title
    page_urls: tuple[str, ...] = ()
    thread_id: int | None = None
    issue_url: str | None = None


@dataclass(frozen=True, slots=True)
class LessonMatch:
    """The lesson a post names, how it named it, the words that did, and their locale."""

    identity: str
    how: Named
    cue: str
    locale: str | None = None


_URL = re.compile(r"https?://[^\s<>()\[\]]+", re.IGNORECASE)
_MENTION = re.compile(r"<#(\d+)>")
_HAN = re.compile(r"[\u3400-\u9fff]")
# Titles shorter than this are everyday words ("Data"), not a lesson's name.
_SHORTEST_TITLE = 6
_SHORTEST_HAN_TITLE = 2


def match_lesson(text: str, candidates: Sequence[LessonCandidate]) -> LessonMatch | None:
    """Return the one lesson a post (title and message) names, or None (none, or several)."""
    # A slug or title inside a link is part of the link, not a name of its own.
    words = _URL.sub(" ", text)
    found = [*_links(text, candidates), *_slugs(words, candidates), *_titles(words, candidates)]
    if not found:
        return None
    surest = min(_RANK[match.how] for match in found)
    best = [match for match in found if _RANK[match.how] == surest]
    chosen = max(best, key=lambda match: len(match.cue))
    # "Data basics" inside "Data basics in practice" names the longer; two apart name none.
    for match in best:
        if match.identity != chosen.identity and match.cue not in chosen.cue:
            return None
    return chosen


def rank(text: str, candidates: Sequence[LessonCandidate]) -> list[LessonCandidate]:
    """Return the lessons ordered by how many of their title's words the post uses, then
    as given (catalogue order): the picker offers the likeliest first."""
    words = set(fold(text).split())
    han = set(_HAN.findall(text))

    def score(candidate: LessonCandidate) -> int:
        named: set[str] = set()
        for title in (*candidate.titles.values(), candidate.slug):
            named |= {word for word in fold(title).split() if len(word) > 3 and word in words}
            named |= {char for char in _HAN.findall(title) if char in han}
        return len(named)

    return sorted(candidates, key=lambda candidate: -score(candidate))


def fold(text: str) -> str:
    """Return text for comparing names: no case, Latin accents or punctuation."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = []
    for ch in decomposed:
        kind = unicodedata.category(ch)
        if kind == "Mn" and "\u0300" <= ch <= "\u036f":
            continue  # a Latin accent; Indic vowel signs are letters here
        kept.append(ch if kind[0] in "LNM" else " ")
    return " ".join(unicodedata.normalize("NFC", "".join(kept)).split())


def _links(text: str, candidates: Sequence[LessonCandidate]) -> list[LessonMatch]:
    found = []
    threads = {int(found) for found in _MENTION.findall(text)}
    urls = [url.rstrip(".,;:!?'\"") for url in _URL.findall(text)]
    for url in urls:
        # Any host: Discord's own, or where `discord.web_url` points (the sandbox's viewer);
        # only a thread id one of the lessons has can match.
        segments = urlsplit(url).path.strip("/").split("/")
        if len(segments) >= 3 and segments[0] == "channels" and segments[2].isdigit():
            threads.add(int(segments[2]))
    for candidate in candidates:
        if candidate.thread_id is not None and candidate.thread_id in threads:
            found.append(LessonMatch(candidate.identity, Named.POST_LINK, str(candidate.thread_id)))
        for url in urls:
            if any(_same_page(url, page) for page in candidate.page_urls):
                found.append(LessonMatch(candidate.identity, Named.PAGE_LINK, url))
            elif candidate.issue_url and _same_page(url, candidate.issue_url):
                found.append(LessonMatch(candidate.identity, Named.ISSUE_LINK, url))
    return found


def _same_page(url: str, page: str) -> bool:
    """Tell whether two links open the same page (scheme, case of the host, a trailing
    slash, the query and the fragment aside)."""
    one, two = urlsplit(url), urlsplit(page)
    return (one.hostname or "", one.port, _path(one.path)) == (
        two.hostname or "",
        two.port,
        _path(two.path),
    )


def _path(path: str) -> str:
    return unquote(path).rstrip("/").casefold()


def _slugs(text: str, candidates: Sequence[LessonCandidate]) -> list[LessonMatch]:
    lowered = text.casefold()
    found = []
    for candidate in candidates:
        slug = candidate.slug.casefold()
        # A one-word slug ("loops") is an everyday word: only its full identity names it.
        names = [candidate.identity.casefold()]
        if re.search(r"[-_\d]", slug):
            names.append(slug)
        for name in names:
            if re.search(rf"(?<![\w/-]){re.escape(name)}(?![\w-])", lowered):
                found.append(LessonMatch(candidate.identity, Named.SLUG, name))
                break
    return found


def _titles(text: str, candidates: Sequence[LessonCandidate]) -> list[LessonMatch]:
    folded = f" {fold(text)} "
    joined = folded.replace(" ", "")
    found = []
    for candidate in candidates:
        for locale, title in candidate.titles.items():
            name = fold(title)
            if _HAN.search(name):
                name = name.replace(" ", "")
                if len(name) >= _SHORTEST_HAN_TITLE and name in joined:
                    found.append(LessonMatch(candidate.identity, Named.TITLE, name, locale))
            elif len(name) >= _SHORTEST_TITLE and f" {name} " in folded:
                found.append(LessonMatch(candidate.identity, Named.TITLE, name, locale))
    return found
