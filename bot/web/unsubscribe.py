"""The digest email's unsubscribe link: a confirmation page (GET) and the unsubscribe (POST,
also RFC 8058's one-click POST a mail provider sends), both checked by a signed token."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from aiohttp import web

from bot.i18n import t
from bot.web.bidi import message_html
from bot.web.link_page import MAX_FIELD, button_form, page
from bot.web.locales import api_locale

if TYPE_CHECKING:
    from bot.services.digests import DigestService

PATH = "/digest/unsubscribe"
DIGESTS: web.AppKey[DigestService] = web.AppKey("digests")


def add_routes(app: web.Application, digests: DigestService) -> None:
    """Serve the unsubscribe page of digest emails."""
    app[DIGESTS] = digests
    app.router.add_get(PATH, confirm)
    app.router.add_post(PATH, unsubscribe)


def _fields(request: web.Request) -> tuple[str, str]:
    address = request.query.get("address", "")[:MAX_FIELD]
    token = request.query.get("token", "")[:MAX_FIELD]
    return address, token


async def confirm(request: web.Request) -> web.Response:
    """Ask before unsubscribing: link checkers open links, only people press buttons."""
    locale = api_locale(request.headers.get("Accept-Language"))
    address, token = _fields(request)
    if not request.app[DIGESTS].check_unsubscribe(address, token):
        return _page(locale, t(locale, "digest.unsubscribe.invalid"), status=400)
    body = (
        f"<p>{message_html(locale, 'digest.unsubscribe.confirm', address=address)}</p>\n"
        + button_form(request, t(locale, "digest.unsubscribe.button"))
    )
    return _page(locale, body, raw=True)


async def unsubscribe(request: web.Request) -> web.Response:
    """Unsubscribe the address the signed link names (idempotent)."""
    locale = api_locale(request.headers.get("Accept-Language"))
    address, token = _fields(request)
    digests = request.app[DIGESTS]
    if not digests.check_unsubscribe(address, token):
        return _page(locale, t(locale, "digest.unsubscribe.invalid"), status=400)
    await digests.unsubscribe(address)
    # The address isolated: left to right inside a sentence that may run right to left.
    done = message_html(locale, "digest.unsubscribe.done", address=address)
    return _page(locale, f"<p>{done}</p>", raw=True)


def _page(locale: str, body: str, *, status: int = 200, raw: bool = False) -> web.Response:
    content = body if raw else f"<p>{html.escape(body)}</p>"
    return page(locale, t(locale, "digest.unsubscribe.title"), content, status=status)
