"""The web form that suggests an edit, and the status page that follows it to its PR."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import math
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import aiohttp_jinja2
from aiohttp import web
from markupsafe import Markup, escape

from bot.domain.catalogue import Lesson
from bot.domain.lookup import lookup_lesson
from bot.domain.render import render_lesson
from bot.domain.review_flow import MODERATED, shown_status
from bot.i18n import DEFAULT_LOCALE, available_locales, load_catalog, t
from bot.services.suggestions import (
    REVISABLE,
    Author,
    Preview,
    SuggestionError,
    SuggestionInput,
    SuggestionView,
)
from bot.store.models import SuggestionSource
from bot.web.bidi import bdi, error_html, isolated_text, message_html
from bot.web.guard import (
    CSRF_COOKIE,
    CSRF_FIELD,
    BodyTooLargeError,
    client_handle,
    csrf_token,
    csrf_valid,
    new_csrf_cookie,
    read_capped,
)
from bot.web.keys import SUGGEST_DEPS
from bot.web.locales import accepted_languages, choose, direction, language_name, ui_locale
from bot.web.shared import MAX_EMAIL, MAX_ID

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
TOKEN_COOKIE = "lb_token"  # noqa: S105 - a cookie name, not a secret
# Named so that browsers' autofill leaves it alone, and so a bot takes it for a real field.
HONEYPOT = "website"
FORM_FIELDS = ("find", "replace", "reason", "name", "email")
REVISE_FIELDS = ("find", "replace", "reason")
ACTIONS = ("revise", "withdraw", "accept")
COMPONENTS = {
    "Quiz": "quiz",
    "Callout": "callout",
    "FunFact": "fun_fact",
    "ThinkAboutIt": "think_about_it",
    "Illustration": "illustration",
    "answer": "answer",
    "explanation": "explanation",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
Handler = Callable[[web.Request], Any]
# Where a form field held bytes that are not UTF-8: kept as lone surrogates until shown.
_UNDECODED = re.compile(r"[\ud800-\udfff]")
TOKEN_MAX_AGE = 365 * 24 * 3600


def add_routes(app: web.Application) -> None:
    """Register the form, the status page and their static files."""
    app.router.add_get("/lessons/{program}/{slug}/suggest", suggest_form)
    app.router.add_post("/lessons/{program}/{slug}/suggest", suggest_post)
    # [0-9], not \d: \d also matches other scripts' digits, which int() would read as an id.
    app.router.add_get(r"/suggestions/{id:[0-9]{1,12}}", status_page)
    app.router.add_post(
        r"/suggestions/{id:[0-9]{1,12}}/{action:revise|withdraw|accept}", status_post
    )
    app.router.add_static("/static/suggest/", STATIC, name="suggest_static")


def safe(handler: Handler) -> Handler:
    """Answer an unexpected error with a logged, localized 500 page, never a traceback."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except SuggestionError as error:
            locale = request_locale(request, ())
            return _message(request, locale, "error_title", error_html(error, locale), error.status)
        except Exception:
            log.exception("suggest page %s %s failed", request.method, request.path)
            locale = request_locale(request, ())
            text = message_html(locale, "web_suggest.error.internal")
            return _message(request, locale, "error_title", text, 500)

    return wrapped


# --- language -------------------------------------------------------------------------------


def request_locale(request: web.Request, offered: list[str] | tuple[str, ...]) -> str:
    """Return ?locale=, else the first Accept-Language the page can serve, else the default."""
    requested = request.query.get("locale", "").strip()
    if requested:
        return requested[:16]
    return reader_locale(request, offered)


def reader_locale(request: web.Request, offered: list[str] | tuple[str, ...]) -> str:
    """Return the first Accept-Language the page can serve, else the default (no ?locale=)."""
    deps = request.app[SUGGEST_DEPS]
    wanted = accepted_languages(request.headers.get("Accept-Language"))
    return (
        choose(wanted, offered)
        or choose(wanted, available_locales())
        or deps.settings.content.default_locale
    )


def _lesson_locale(request: web.Request, lesson: Lesson, requested: str | None) -> str | None:
    """Return the lesson locale asked for, or the best one it has; None for an unknown one."""
    deps = request.app[SUGGEST_DEPS]
    if requested:
        return requested if requested in lesson.files else None
    default = deps.settings.content.default_locale
    return (
        choose(accepted_languages(request.headers.get("Accept-Language")), lesson.locales)
        or (default if default in lesson.files else None)
        or lesson.locales[0]
    )


def translator(locale: str) -> Callable[..., Markup]:
    """Return the pages' `_`: a message as HTML, each value in it isolated in a `<bdi>`."""

    def translate(key: str, **params: Any) -> Markup:
        return message_html(locale, f"web_suggest.{key}", **params)

    return translate


def text_translator(locale: str) -> Callable[..., str]:
    """Return the pages' `_text`, for what holds no markup (`<title>`): values in FSI/PDI."""

    def translate(key: str, **params: Any) -> str:
        return isolated_text(lambda filled: t(locale, f"web_suggest.{key}", **filled), params)

    return translate


def _labels(locale: str) -> dict[str, str]:
    return {name: t(locale, f"web_suggest.component.{key}") for name, key in COMPONENTS.items()}


# --- rendering ------------------------------------------------------------------------------


def _render(
    request: web.Request, template: str, locale: str, context: dict[str, Any], status: int = 200
) -> web.Response:
    """Render a page in a language, with its direction, CSRF token and security headers."""
    deps = request.app[SUGGEST_DEPS]
    shown = ui_locale(locale)
    cookie = request.cookies.get(CSRF_COOKIE)
    fresh = not cookie or len(cookie) > 100
    if fresh:
        cookie = new_csrf_cookie()
    assert cookie is not None
    page = {
        "_": translator(shown),
        "_text": text_translator(shown),
        "lang": shown,
        "dir": direction(shown),
        "csrf_field": CSRF_FIELD,
        "csrf": csrf_token(deps.signer, cookie, deps.clock()),
        **context,
    }
    response = aiohttp_jinja2.render_template(template, request, page, status=status)
    response.headers.update(SECURITY_HEADERS)
    if fresh:
        response.set_cookie(
            CSRF_COOKIE, cookie, httponly=True, samesite="Lax", path="/", secure=request.secure
        )
    return response


def _message(
    request: web.Request,
    locale: str,
    title_key: str,
    text: Markup,
    status: int,
    *,
    links: list[tuple[str, Markup, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """Render a page that only says something: not found, expired form, too many requests."""
    context = {"title": t(locale, f"web_suggest.{title_key}"), "text": text, "links": links or []}
    response = _render(request, "message.html", locale, context, status)
    if headers:
        response.headers.update(headers)
    return response


def _not_found(request: web.Request, locale: str, text: Markup, links: Any = None) -> web.Response:
    return _message(request, locale, "not_found_title", text, 404, links=links)


def _too_many(request: web.Request, locale: str, wait: float) -> web.Response:
    minutes = max(1, math.ceil(wait / 60))
    text = message_html(locale, "web_suggest.error.rate_limited_page", minutes=minutes)
    headers = {"Retry-After": str(math.ceil(wait))}
    return _message(request, locale, "too_many_title", text, 429, headers=headers)


def _diff_lines(diff: str) -> list[tuple[str, str]]:
    """Split a unified diff into (kind, line) for colouring: add, remove, hunk, context."""
    lines: list[tuple[str, str]] = []
    for line in diff.splitlines():
        if line.startswith(("+++", "---")):
            kind = "file"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "remove"
        elif line.startswith("@@"):
            kind = "hunk"
        else:
            kind = "context"
        lines.append((kind, line))
    return lines


# --- the form -------------------------------------------------------------------------------


def _lesson_or_404(
    request: web.Request, requested_locale: str | None
) -> tuple[Lesson, str] | web.Response:
    deps = request.app[SUGGEST_DEPS]
    identity = f"{request.match_info['program']}/{request.match_info['slug']}"
    catalogue = deps.lessons()
    lesson = catalogue.get(identity)
    if lesson is None or identity in catalogue.broken():
        locale = ui_locale(request_locale(request, ()))
        closest = lookup_lesson(catalogue, identity).closest
        key = "lesson_unknown_closest" if closest else "lesson_unknown"
        text = message_html(locale, f"web_suggest.{key}", lesson=identity[:100])
        links = [_lesson_link(each, locale, catalogue.default_locale) for each in closest]
        return _not_found(request, locale, text, links)
    locale = _lesson_locale(request, lesson, requested_locale)
    if locale is None:
        # ?locale= names the missing version: the page speaks it when it can, else the
        # reader's language (Accept-Language), never English by default.
        shown = choose([requested_locale or ""], available_locales()) or reader_locale(
            request, lesson.locales
        )
        page_locale = ui_locale(shown)
        text = message_html(
            shown,
            "web_suggest.locale_unknown",
            lesson=lesson.title(shown, catalogue.default_locale),
            locale=(requested_locale or "")[:16],
        )
        path = request.rel_url.raw_path  # still percent-encoded, as a link needs it
        # Each language named in the page's own, as a person reads it, not by its code.
        links = [
            (
                f"{path}?{urlencode({'locale': code})}",
                escape(language_name(code, page_locale)),
                code,
            )
            for code in lesson.locales
        ]
        return _not_found(request, page_locale, text, links)
    return lesson, locale


def _lesson_link(lesson: Lesson, locale: str, default_locale: str) -> tuple[str, Markup, str]:
    """Return a link to a lesson's form: its title in `locale` (or the default), its id."""
    shown = lesson.file(locale, default_locale)
    program, slug = quote(lesson.program, safe=""), quote(lesson.slug, safe="")
    href = f"/lessons/{program}/{slug}/suggest?{urlencode({'locale': shown.locale})}"
    label = Markup("{} ({})").format(
        bdi(shown.title, shown.locale, direction(shown.locale)), bdi(lesson.identity)
    )
    return href, label, shown.locale


async def _lesson_html(request: web.Request, lesson: Lesson, locale: str) -> tuple[str, str]:
    """Return the lesson file's rendered HTML and its source text."""
    deps = request.app[SUGGEST_DEPS]
    path = Path(deps.lessons().root) / lesson.files[locale].path
    data = await asyncio.to_thread(path.read_bytes)
    source = data.decode("utf-8", errors="replace")
    rendered = await asyncio.to_thread(render_lesson, source, _labels(ui_locale(locale)))
    return rendered, source


def _form_context(
    request: web.Request,
    lesson: Lesson,
    locale: str,
    rendered: str,
    source: str,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    general: list[str] | None = None,
    preview: Preview | None = None,
) -> dict[str, Any]:
    deps = request.app[SUGGEST_DEPS]
    limits = deps.settings.suggestions
    lesson_file = lesson.files[locale]
    errors = errors or {}
    shown = ui_locale(locale)
    values = {name: shown_text(value) for name, value in values.items()}
    order = [name for name in FORM_FIELDS if name in errors]
    summary = [(f"#{name}", errors[name]) for name in order] + [
        ("", text) for text in general or []
    ]
    return {
        "lesson": lesson,
        "lesson_title": lesson_file.title,
        "lesson_locale": locale,
        "lesson_dir": direction(locale),
        "lesson_html": Markup(rendered),  # noqa: S704 - sanitized by nh3 in render_lesson
        "source": source,
        "action": f"{request.rel_url.raw_path}?{urlencode({'locale': locale})}",
        "values": values,
        "errors": errors,
        "summary": summary,
        "first_error": order[0] if order else None,
        "preview": preview,
        "diff": _diff_lines(preview.diff) if preview else [],
        "honeypot": HONEYPOT,
        "limits": {
            "find": limits.max_find_chars,
            "replace": limits.max_replace_chars,
            "reason": limits.max_reason_chars,
            "name": limits.max_name_chars,
            "email": MAX_EMAIL,
        },
        "field_labels": {name: t(shown, f"web_suggest.field.{name}") for name in FORM_FIELDS},
        "received": False,
    }


@safe
async def suggest_form(request: web.Request) -> web.Response:
    """Serve the form: the lesson rendered, and fields for the passage, replacement and why."""
    found = _lesson_or_404(request, request.query.get("locale", "").strip() or None)
    if isinstance(found, web.Response):
        return found
    lesson, locale = found
    rendered, source = await _lesson_html(request, lesson, locale)
    values = {name: "" for name in FORM_FIELDS}
    # The embed's select-to-suggest opens the form with the passage found in the source.
    values["find"] = request.query.get("find", "")[
        : request.app[SUGGEST_DEPS].settings.suggestions.max_find_chars
    ]
    context = _form_context(request, lesson, locale, rendered, source, values)
    # Where a caught honeypot post is sent (a real one goes to its status page).
    context["received"] = request.query.get("done") == "sent"
    return _render(request, "suggest.html", locale, context)


def shown_text(text: str) -> str:
    """Return text fit for a page: each byte that was not UTF-8 as U+FFFD."""
    return _UNDECODED.sub("\ufffd", text)


async def _read_form(request: web.Request) -> dict[str, str]:
    """Return the first value of each posted field (raises BodyTooLargeError).

    Bytes that are not UTF-8, raw or percent-encoded, stay in a value as lone surrogates,
    so the service refuses the field that holds them, by name, instead of storing U+FFFD.
    Call `shown_text` before a value goes on a page.
    """
    deps = request.app[SUGGEST_DEPS]
    body = await read_capped(request, deps.max_form_bytes)
    form: dict[str, str] = {}
    text = body.decode("utf-8", errors="surrogateescape")
    for name, value in parse_qsl(text, keep_blank_values=True, errors="surrogateescape"):
        form.setdefault(shown_text(name), value)
    return form


def _sent(request: web.Request, location: str, token: str, token_path: str) -> web.Response:
    """Answer a sent suggestion: 303 to where it is followed, with the sender's token."""
    response = web.Response(status=303, headers={"Location": location})
    response.set_cookie(
        TOKEN_COOKIE,
        token,
        httponly=True,
        samesite="Lax",
        path=token_path,
        max_age=TOKEN_MAX_AGE,
        secure=request.secure,
    )
    return response


def _field_of(error: SuggestionError) -> str | None:
    return error.field if error.field in FORM_FIELDS else None


@safe
async def suggest_post(request: web.Request) -> web.StreamResponse:
    """Preview or send a suggestion from the form; errors re-render it with what was typed."""
    deps = request.app[SUGGEST_DEPS]
    locale_hint = request_locale(request, ())
    wait = deps.limiter.hit(request.remote or "unknown")
    if wait is not None:
        log.info("suggest form: rate limit reached for a client")
        return _too_many(request, locale_hint, wait)
    try:
        form = await _read_form(request)
    except BodyTooLargeError:
        text = message_html(
            locale_hint, "web_suggest.error.body_too_large", limit=deps.max_form_bytes
        )
        return _message(request, locale_hint, "too_large_title", text, 413)
    requested = shown_text(form.get("locale") or request.query.get("locale") or "").strip() or None
    found = _lesson_or_404(request, requested)
    if isinstance(found, web.Response):
        return found
    lesson, locale = found
    shown = ui_locale(locale)
    if not csrf_valid(
        deps.signer, request.cookies.get(CSRF_COOKIE), form.get(CSRF_FIELD), deps.clock()
    ):
        log.info("suggest form: refused a post without a valid CSRF token")
        text = message_html(shown, "web_suggest.error.csrf")
        return _message(request, shown, "forbidden_title", text, 403)
    sending = form.get("action") == "send"
    # A person never sees the honeypot field. A send that fills it is checked like any other
    # (so its refusals are the same) but never stored, and answered like a real send.
    trapped = sending and bool(form.get(HONEYPOT))
    values = {name: form.get(name, "") for name in FORM_FIELDS}
    email = values["email"].strip()
    request_input = SuggestionInput(
        lesson=lesson.identity,
        locale=locale,
        find=values["find"],
        replace=values["replace"],
        reason=values["reason"],
        source=SuggestionSource.WEB,
        author=Author(
            name=values["name"].strip(),
            email=email or None,
            handle=client_handle(deps.signer, request.remote),
            locale=shown,
        ),
    )
    preview: Preview | None = None
    try:
        if sending and not trapped:
            submitted = await deps.suggestions.submit(request_input)
        else:
            preview = await deps.suggestions.preview(request_input)
    except SuggestionError as error:
        rendered, source = await _lesson_html(request, lesson, locale)
        field = _field_of(error)
        label = t(shown, f"web_suggest.field.{field}") if field else None
        message = error_html(error, shown, label)
        errors = {field: message} if field else {}
        general = [] if field else [message]
        context = _form_context(request, lesson, locale, rendered, source, values, errors, general)
        response = _render(request, "suggest.html", locale, context, error.status)
        if error.status == 429:
            response.headers["Retry-After"] = "3600"
        return response
    query = urlencode({"locale": shown, "done": "sent"})
    if trapped:
        log.warning("suggest form: honeypot filled for %s; nothing stored", lesson.identity)
        # Back to the form, which thanks them; the token looks like one and opens nothing.
        form_path = request.rel_url.raw_path
        return _sent(request, f"{form_path}?{query}", secrets.token_urlsafe(32), form_path)
    if preview is not None:
        rendered, source = await _lesson_html(request, lesson, locale)
        context = _form_context(request, lesson, locale, rendered, source, values, preview=preview)
        return _render(request, "suggest.html", locale, context)
    status_path = f"/suggestions/{submitted.id}"
    return _sent(request, f"{status_path}?{query}", submitted.token, status_path)


# --- the status page ------------------------------------------------------------------------


def _event_text(locale: str, kind: str, detail: dict[str, Any]) -> Markup:
    params = {
        "reviewer": str(detail.get("reviewer") or "?"),
        "line": str(detail.get("line") or "?"),
    }
    key = f"web_suggest.event.{kind}"
    if key not in load_catalog(DEFAULT_LOCALE).messages:
        # An event this page has no words for yet is still shown, in words, never by its name.
        log.warning("status page: no words for the suggestion event %r", kind)
        return message_html(locale, "web_suggest.event.other")
    return message_html(locale, key, **params)


async def _status_context(
    request: web.Request, view: SuggestionView, locale: str
) -> dict[str, Any]:
    deps = request.app[SUGGEST_DEPS]
    # A rejection as spam reads as held, in the page's markup too (write-path.md).
    view = dataclasses.replace(view, status=shown_status(view.status))
    token = request.cookies.get(TOKEN_COOKIE)
    can_manage = False
    if token:
        try:
            await deps.suggestions.authorize(view.id, token=token[:200])
            can_manage = True
        except SuggestionError:
            can_manage = False
    catalogue = deps.lessons()
    lesson = catalogue.get(view.lesson)
    title = lesson.title(view.locale, catalogue.default_locale) if lesson else view.lesson
    events = [
        {
            "id": event.id,
            "at": event.at,
            "kind": event.kind,
            "text": _event_text(locale, event.kind, dict(event.detail)),
            "body": str(event.detail.get("body") or "")[:1500],
            "url": event.detail.get("url") or event.detail.get("pr_url"),
        }
        for event in view.events
    ]
    revisable = view.status in {str(status) for status in REVISABLE}
    done = request.query.get("done", "")
    wait = await deps.waiting(view)
    if view.status in MODERATED:
        # Neither why it waits nor a rejection: the same words for every held suggestion.
        status_text = message_html(locale, "moderation.waiting_web")
    else:
        status_text = message_html(locale, f"web_suggest.status.{view.status}")
    if wait is not None:
        # Queued, but not stuck: GitHub's limit resets then and the PR opens by itself.
        status_text = message_html(locale, "web_suggest.waiting_github", time=wait.shown_until)
    return {
        "view": view,
        "lesson_title": title,
        "lesson_url": (
            f"/lessons/{view.lesson}/suggest?{urlencode({'locale': view.locale})}"
            if lesson
            else None
        ),
        "lesson_dir": direction(view.locale),
        "language": language_name(view.locale, locale),
        "status_text": status_text,
        "waiting_until": wait.until.isoformat() if wait is not None else "",
        # Only a web address is linked (the PR URL comes from GitHub, still not trusted).
        "pr_url": view.pr_url if (view.pr_url or "").startswith(("https://", "http://")) else None,
        "events": events,
        "proposals": [dict(event.detail) for event in view.reviewer_suggestions],
        "can_manage": can_manage and revisable,
        "can_accept": can_manage and revisable and view.pr_number is not None,
        "polling": view.status in ("queued", "open", "changes_requested", "answered", "approved"),
        "queued": view.status == "queued",
        "poll_seconds": deps.poll_seconds,
        "poll_url": f"/api/suggestions/{view.id}",
        "locale_query": urlencode({"locale": locale}),
        "done": done if done in ("sent", "revised", "withdrawn", "accepted") else "",
        # A revision starts from the passage as the pull request has it now.
        "values": {"find": view.passage, "replace": view.passage, "reason": ""},
        "show_passage": bool(view.pr_number) or view.passage != view.replace,
        "errors": {},
        "summary": [],
        "first_error": None,
        "field_labels": {name: t(locale, f"web_suggest.field.{name}") for name in REVISE_FIELDS},
    }


def _suggestion_id(request: web.Request) -> int | None:
    value = int(request.match_info["id"])
    return value if 0 < value <= MAX_ID else None


@safe
async def status_page(request: web.Request) -> web.Response:
    """Show where a suggestion is: its status, PR, events, and what its sender can do."""
    deps = request.app[SUGGEST_DEPS]
    suggestion_id = _suggestion_id(request)
    view = await deps.suggestions.view(suggestion_id) if suggestion_id else None
    if view is None:
        locale = request_locale(request, ())
        text = message_html(locale, "web_suggest.suggestion_unknown", id=request.match_info["id"])
        return _not_found(request, locale, text)
    locale = ui_locale(request_locale(request, (view.locale,)))
    context = await _status_context(request, view, locale)
    return _render(request, "status.html", locale, context)


@safe
async def status_post(request: web.Request) -> web.StreamResponse:
    """Revise, withdraw or accept a reviewer's text from the status page."""
    deps = request.app[SUGGEST_DEPS]
    locale = ui_locale(request_locale(request, ()))
    wait = deps.limiter.hit(request.remote or "unknown")
    if wait is not None:
        return _too_many(request, locale, wait)
    try:
        form = await _read_form(request)
    except BodyTooLargeError:
        text = message_html(locale, "web_suggest.error.body_too_large", limit=deps.max_form_bytes)
        return _message(request, locale, "too_large_title", text, 413)
    suggestion_id = _suggestion_id(request)
    view = await deps.suggestions.view(suggestion_id) if suggestion_id else None
    if view is None or suggestion_id is None:
        text = message_html(locale, "web_suggest.suggestion_unknown", id=request.match_info["id"])
        return _not_found(request, locale, text)
    if not csrf_valid(
        deps.signer, request.cookies.get(CSRF_COOKIE), form.get(CSRF_FIELD), deps.clock()
    ):
        text = message_html(locale, "web_suggest.error.csrf")
        return _message(request, locale, "forbidden_title", text, 403)
    token = request.cookies.get(TOKEN_COOKIE)
    token = token[:200] if token else None
    action = request.match_info["action"]
    values = {name: form.get(name, "") for name in REVISE_FIELDS}
    try:
        if action == "revise":
            await deps.suggestions.revise(
                suggestion_id, values["find"], values["replace"], values["reason"], token=token
            )
            done = "revised"
        elif action == "withdraw":
            await deps.suggestions.withdraw(suggestion_id, token=token)
            done = "withdrawn"
        else:
            comment = form.get("comment_id", "")
            comment_id = int(comment) if comment.isdigit() and len(comment) < 19 else None
            await deps.suggestions.accept(suggestion_id, comment_id, token=token)
            done = "accepted"
    except SuggestionError as error:
        view = await deps.suggestions.view(suggestion_id)
        assert view is not None
        context = await _status_context(request, view, locale)
        field = error.field if error.field in REVISE_FIELDS else None
        label = t(locale, f"web_suggest.field.{field}") if field else None
        message = error_html(error, locale, label)
        context["values"] = {name: shown_text(value) for name, value in values.items()}
        context["errors"] = {field: message} if field else {}
        context["summary"] = [(f"#{field}" if field else "", message)]
        context["first_error"] = field
        return _render(request, "status.html", locale, context, error.status)
    target = f"/suggestions/{suggestion_id}?{urlencode({'locale': locale, 'done': done})}"
    return web.Response(status=303, headers={"Location": target})
