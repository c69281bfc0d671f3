"""The web app's first page: every program and its lessons, each with its suggest links."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp_jinja2
from aiohttp import web
from babel import Locale, UnknownLocaleError

from bot.domain.catalogue import Catalogue
from bot.i18n import t
from bot.web.keys import SUGGEST_DEPS
from bot.web.locales import direction, ui_locale
from bot.web.suggest import SECURITY_HEADERS, request_locale, text_translator, translator

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LessonLink:
    """A lesson's suggest form in one of its locales, named by that locale's language."""

    locale: str
    language: str
    url: str


@dataclass(frozen=True)
class LessonItem:
    """One lesson as the page lists it: the title in the page's language, its forms."""

    identity: str
    title: str
    locale: str
    dir: str
    suggest: LessonLink
    others: list[LessonLink] = field(default_factory=list)


@dataclass(frozen=True)
class ProgramItem:
    """A program with its lessons, in catalogue order."""

    slug: str
    title: str
    lessons: list[LessonItem]


def add_routes(app: web.Application) -> None:
    """Serve the list of lessons at `/`."""
    app.router.add_get("/", lessons_page)


def language_name(locale: str) -> str:
    """Return a language's name in itself (`es` → `español`), or the code when unknown."""
    try:
        name = Locale.parse(locale.replace("-", "_")).get_display_name(locale.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return locale
    return name or locale


def suggest_url(program: str, slug: str, locale: str) -> str:
    """Return a lesson's suggest form in a locale."""
    path = f"/lessons/{quote(program, safe='')}/{quote(slug, safe='')}/suggest"
    return f"{path}?{urlencode({'locale': locale})}"


def programs(catalogue: Catalogue, locale: str) -> list[ProgramItem]:
    """Return the published, usable lessons by program, titled in `locale` (falling back to
    the default locale), with a suggest link per locale each lesson has."""
    default = catalogue.default_locale
    broken = catalogue.broken()
    grouped: dict[str, list[LessonItem]] = {}
    for lesson in catalogue.ordered_lessons():
        shown = lesson.file(locale, default)
        if lesson.identity in broken or not lesson.file(default, default).published:
            continue  # a draft stays hidden, as on the site; a broken lesson has no form
        links = {
            code: LessonLink(
                code, language_name(code), suggest_url(lesson.program, lesson.slug, code)
            )
            for code in lesson.locales
        }
        grouped.setdefault(lesson.program, []).append(
            LessonItem(
                identity=lesson.identity,
                title=shown.title,
                locale=shown.locale,
                dir=direction(shown.locale),
                suggest=links[shown.locale],
                others=[link for code, link in links.items() if code != shown.locale],
            )
        )
    return [
        ProgramItem(
            slug=slug,
            title=catalogue.programs[slug].title(locale) if slug in catalogue.programs else slug,
            lessons=lessons,
        )
        for slug, lessons in grouped.items()
    ]


async def lessons_page(request: web.Request) -> web.Response:
    """GET /: the programs and their lessons, in the asked language (?locale=, else
    Accept-Language, else the default), each with "Suggest an edit" links."""
    deps = request.app[SUGGEST_DEPS]
    served = deps.settings.content.locales
    locale = request_locale(request, served)
    shown = ui_locale(locale)
    context: dict[str, Any] = {
        "_": translator(shown),
        "_text": text_translator(shown),
        "lang": shown,
        "dir": direction(shown),
        "programs": programs(deps.lessons(), locale),
        "languages": [
            (code, language_name(code), f"/?{urlencode({'locale': code})}") for code in served
        ],
        "current": locale.split("-")[0],
        "title": t(shown, "web_suggest.index_title"),
    }
    response = aiohttp_jinja2.render_template("index.html", request, context)
    response.headers.update(SECURITY_HEADERS)
    return response
