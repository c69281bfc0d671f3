"""The lesson page's own door: `/embed.js`, the JSON it reads, and its no-script page.

A lesson page on the site includes one script tag; the script shows the lesson's
discussion (read-only), links to join it, its open counts, and a button that opens the
suggest form with the passage a reader selected, found in the lesson's source here.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web
from babel.dates import format_datetime

from bot.domain.catalogue import Lesson
from bot.domain.source_span import MAX_SELECTION, locate
from bot.i18n import available_locales, t
from bot.services.discussion import Discussion, DiscussionService
from bot.web.bidi import isolated_text, message_html
from bot.web.keys import DISCUSSION, SUGGEST_DEPS
from bot.web.locales import direction, ui_locale
from bot.web.suggest import (
    SECURITY_HEADERS,
    STATIC,
    _lesson_or_404,
    _render,
    request_locale,
    safe,
)

log = logging.getLogger(__name__)

EMBED_FILES = {"/embed.js": "embed.js", "/embed.css": "embed.css"}
CONTENT_TYPES = {
    "embed.js": "text/javascript; charset=utf-8",
    "embed.css": "text/css; charset=utf-8",
}
# A versioned URL (`?v=` its hash) never changes: cached for a year. The bare URL, which
# lesson pages name in their tag, is checked again hourly (the ETag makes that cheap).
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, max-age=3600"
# The discussion JSON: shared caches may keep it as long as the service's own cache does.
JSON_CACHE = "public, max-age=30"
# Every text the script shows comes from here, in the reader's language.
SCRIPT_STRINGS = (
    "heading",
    "join_discord",
    "join_github",
    "open_questions",
    "open_suggestions",
    "empty",
    "on_discord",
    "on_github",
    "discord_unreachable",
    "github_unreachable",
    "not_linked",
    "suggest_button",
    "suggest_hint",
    "suggest_lesson",
    "unavailable",
    "passage_not_found",
    "passage_ambiguous",
)


@dataclass(frozen=True, slots=True)
class StaticFile:
    """A static file of the embed held in memory: its bytes, type and version."""

    body: bytes
    content_type: str
    etag: str
    version: str


@functools.cache
def static_file(name: str) -> StaticFile:
    """Return one of the embed's static files (read once per process)."""
    body = (STATIC / name).read_bytes()
    digest = hashlib.sha256(body).hexdigest()
    return StaticFile(body, CONTENT_TYPES[name], f'"{digest[:32]}"', digest[:12])


def add_routes(app: web.Application, discussion: DiscussionService) -> None:
    """Register the embed's script, stylesheet, JSON endpoints and no-script page."""
    app[DISCUSSION] = discussion
    for path in EMBED_FILES:
        app.router.add_get(path, serve_static)
    app.router.add_get("/api/lessons/{program}/{slug}/discussion", discussion_json)
    app.router.add_get("/api/lessons/{program}/{slug}/passage", passage_json)
    app.router.add_get("/lessons/{program}/{slug}/discussion", discussion_page)


def stylesheet_path() -> str:
    """Return the stylesheet's versioned path, which caches may keep for good."""
    return f"/embed.css?v={static_file('embed.css').version}"


async def serve_static(request: web.Request) -> web.StreamResponse:
    """Serve embed.js or embed.css: ETag, 304 when unchanged, long cache when versioned."""
    found = static_file(EMBED_FILES[request.path])
    versioned = request.query.get("v") == found.version
    headers = {
        "ETag": found.etag,
        "Cache-Control": IMMUTABLE if versioned else REVALIDATE,
        "X-Content-Type-Options": "nosniff",
        # Lesson pages on other sites load these: let them read what a script fetches.
        "Access-Control-Allow-Origin": "*",
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    if found.etag in _etags(request.headers.get("If-None-Match", "")):
        return web.Response(status=304, headers=headers)
    return web.Response(body=found.body, headers={**headers, "Content-Type": found.content_type})


def _etags(header: str) -> set[str]:
    return {part.strip().removeprefix("W/") for part in header.split(",") if part.strip()}


def cors_headers(request: web.Request) -> dict[str, str]:
    """Return the CORS headers for a read of the embed's JSON by a lesson page."""
    allowed = request.app[SUGGEST_DEPS].settings.web.embed_origins
    if "*" in allowed:
        return {"Access-Control-Allow-Origin": "*"}
    origin = request.headers.get("Origin", "")
    headers = {"Vary": "Origin"}
    if origin in allowed:
        headers["Access-Control-Allow-Origin"] = origin
    return headers


def _json(
    request: web.Request, data: Mapping[str, Any], status: int = 200, cache: str = JSON_CACHE
) -> web.Response:
    headers = {
        **cors_headers(request),
        "Cache-Control": cache if status == 200 else "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return web.json_response(dict(data), status=status, headers=headers)


def _api_error(
    request: web.Request, locale: str, code: str, status: int, **params: Any
) -> web.Response:
    log.info("embed: %s %s -> %s", request.method, request.path[:200], code)
    message = t(locale, f"embed.error.{code}", **params)
    return _json(request, {"error": {"code": code, "message": message}}, status)


def _reader_locale(request: web.Request) -> str:
    """Return the language the reader is answered in: ?locale=, else their browser's."""
    requested = request.query.get("locale", "").strip()[:16]
    if requested:
        return ui_locale(requested)
    return ui_locale(request_locale(request, available_locales()))


def _lesson(request: web.Request) -> Lesson | None:
    deps = request.app[SUGGEST_DEPS]
    catalogue = deps.lessons()
    identity = f"{request.match_info['program']}/{request.match_info['slug']}"
    lesson = catalogue.get(identity)
    if lesson is None or identity in catalogue.broken():
        return None
    return lesson


def _unknown_lesson(request: web.Request, locale: str) -> web.Response:
    identity = f"{request.match_info['program']}/{request.match_info['slug']}"
    return _api_error(request, locale, "lesson_unknown", 404, lesson=identity[:100])


def _lesson_path(lesson: Lesson, tail: str, locale: str) -> str:
    program, slug = quote(lesson.program, safe=""), quote(lesson.slug, safe="")
    return f"/lessons/{program}/{slug}/{tail}?{urlencode({'locale': locale})}"


def _lesson_locale(lesson: Lesson, wanted: str, default: str) -> str:
    """Return the lesson's file locale closest to what the reader reads."""
    if wanted in lesson.files:
        return wanted
    base = wanted.split("-")[0]
    return base if base in lesson.files else lesson.file(wanted, default).locale


def discussion_data(
    discussion: Discussion, lesson: Lesson, locale: str, default_locale: str
) -> dict[str, Any]:
    """Return what the script shows, every text in the reader's language."""
    file_locale = _lesson_locale(lesson, locale, default_locale)
    unreachable = [
        side
        for side, reachable in (
            ("discord", discussion.discord_reachable),
            ("github", discussion.github_reachable),
        )
        if not reachable
    ]
    return {
        "lesson": lesson.identity,
        "title": lesson.title(locale, default_locale),
        "locale": locale,
        "dir": direction(locale),
        "lesson_locale": file_locale,
        "strings": {key: t(locale, f"embed.{key}") for key in SCRIPT_STRINGS},
        "links": {
            "discord": discussion.post_url,
            "github": discussion.issue_url,
            "suggest": _lesson_path(lesson, "suggest", file_locale),
            "page": _lesson_path(lesson, "discussion", locale),
        },
        "counts": {
            "questions": discussion.open_questions,
            "suggestions": discussion.open_suggestions,
        },
        "entries": [
            {
                "source": entry.source,
                "author": entry.author,
                "text": entry.text,
                "at": entry.at.isoformat() if entry.at else None,
                "url": entry.url,
            }
            for entry in discussion.entries
        ],
        "unreachable": unreachable,
        "stylesheet": stylesheet_path(),
    }


async def discussion_json(request: web.Request) -> web.Response:
    """Answer the script: a lesson's discussion, links, counts and texts (read-only)."""
    locale = _reader_locale(request)
    lesson = _lesson(request)
    if lesson is None:
        return _unknown_lesson(request, locale)
    deps = request.app[SUGGEST_DEPS]
    try:
        found = await request.app[DISCUSSION].discussion(lesson.identity)
    except Exception:
        # The store is down: the script says the discussion cannot be loaded, no 5xx page.
        log.exception("embed: the discussion of %s could not be read", lesson.identity)
        return _api_error(request, locale, "unavailable", 503)
    data = discussion_data(found, lesson, locale, deps.settings.content.default_locale)
    return _json(request, data)


async def passage_json(request: web.Request) -> web.Response:
    """Map text selected on the rendered lesson to the exact passage of its source."""
    locale = _reader_locale(request)
    lesson = _lesson(request)
    if lesson is None:
        return _unknown_lesson(request, locale)
    deps = request.app[SUGGEST_DEPS]
    selected = request.query.get("text", "")
    if not selected.strip():
        return _api_error(request, locale, "text_empty", 400)
    if len(selected) > MAX_SELECTION:
        return _api_error(request, locale, "text_too_long", 400, limit=MAX_SELECTION)
    file_locale = request.query.get("lesson_locale", "").strip()[:16]
    if file_locale not in lesson.files:
        file_locale = _lesson_locale(lesson, locale, deps.settings.content.default_locale)
    # The file as the intake reads it: remembered until it changes, not read per selection.
    source = await deps.suggestions.lesson_source(lesson.files[file_locale].path)
    span = await asyncio.to_thread(locate, source, selected)
    form = _lesson_path(lesson, "suggest", file_locale)
    if span is None:
        log.info("embed: a selection of %s was not found in its source", lesson.identity)
        message = t(locale, "embed.passage_not_found")
        return _json(
            request,
            {"found": False, "passage": None, "form": form, "message": message},
            cache="no-store",
        )
    message = t(locale, "embed.passage_ambiguous") if span.matches != 1 else None
    return _json(
        request,
        {
            "found": True,
            "passage": span.passage,
            "matches": span.matches,
            "form": f"{form}&{urlencode({'find': span.passage})}",
            "message": message,
        },
        cache="no-store",
    )


@safe
async def discussion_page(request: web.Request) -> web.Response:
    """Serve the discussion as a page of its own, for readers without JavaScript."""
    found = _lesson_or_404(request, None)
    if isinstance(found, web.Response):
        return found
    lesson, _ = found
    deps = request.app[SUGGEST_DEPS]
    locale = _reader_locale(request)
    default = deps.settings.content.default_locale
    discussion = await request.app[DISCUSSION].discussion(lesson.identity)
    data = discussion_data(discussion, lesson, locale, default)
    entries = [{**entry, "when": _when(entry["at"], locale)} for entry in data["entries"]]
    context = {
        "title": isolated_text(
            lambda filled: t(locale, "embed.page_title", **filled), {"lesson": data["title"]}
        ),
        "heading": message_html(locale, "embed.page_title", lesson=data["title"]),
        "entries": entries,
        "lesson_locale": data["lesson_locale"],
        "lesson_dir": direction(data["lesson_locale"]),
        "data": data,
        "e": _embed_translator(locale),
    }
    response = _render(request, "discussion.html", locale, context)
    response.headers.update(SECURITY_HEADERS)
    return response


def _when(at: str | None, locale: str) -> str:
    """Return a moment as the reader's language writes it (in UTC, said so)."""
    if not at:
        return ""
    moment = datetime.fromisoformat(at)
    try:
        return (
            format_datetime(moment, "medium", tzinfo=UTC, locale=locale.replace("-", "_")) + " UTC"
        )
    except (ValueError, LookupError):
        return moment.strftime("%Y-%m-%d %H:%M UTC")


def _embed_translator(locale: str) -> Callable[..., str]:
    def translate(key: str, **params: Any) -> str:
        return t(locale, f"embed.{key}", **params)

    return translate
