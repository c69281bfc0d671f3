"""The confirmation link of mode "unknown": a page that asks (GET), and the confirmation
(POST), both checked by the link's signed token.

A GET changes nothing (link checkers and mail scanners open links; only people press
buttons); the POST needs the token, which only the email carries, so no other site can
make a browser confirm an address.
"""

from __future__ import annotations

import html
import logging
from typing import TYPE_CHECKING

from aiohttp import web

from bot.i18n import available_locales, t
from bot.web.link_page import MAX_FIELD, button_form, page
from bot.web.locales import api_locale, choose

if TYPE_CHECKING:
    from bot.services.suggestions.confirmations import Confirmations

log = logging.getLogger(__name__)

PATH = "/suggestions/confirm"
CONFIRMATIONS: web.AppKey[Confirmations] = web.AppKey("confirmations")


def add_routes(app: web.Application, confirmations: Confirmations) -> None:
    """Serve the confirmation page of unknown suggesters' emails."""
    app[CONFIRMATIONS] = confirmations
    app.router.add_get(PATH, ask)
    app.router.add_post(PATH, confirm)


def _locale(request: web.Request) -> str:
    # The link names the suggester's language; a browser's own comes next.
    named = choose([request.query.get("locale", "").strip()[:16]], available_locales())
    return named or api_locale(request.headers.get("Accept-Language"))


def _fields(request: web.Request) -> tuple[int | None, str]:
    raw = request.query.get("id", "")[:12]
    token = request.query.get("token", "")[:MAX_FIELD]
    # [0-9] only: int() also reads other scripts' digits.
    if not raw or not all("0" <= char <= "9" for char in raw):
        return None, token
    return int(raw), token


async def ask(request: web.Request) -> web.Response:
    """Ask before confirming: a page with one button."""
    locale = _locale(request)
    confirmation_id, token = _fields(request)
    confirmations = request.app[CONFIRMATIONS]
    if confirmation_id is None or await confirmations.check(confirmation_id, token) is None:
        log.info("email confirmation link refused: unknown id or wrong token")
        return _page(locale, t(locale, "moderation_queue.confirm_invalid"), status=400)
    question = html.escape(t(locale, "moderation_queue.confirm_ask"))
    body = f"<p>{question}</p>\n" + button_form(
        request, t(locale, "moderation_queue.confirm_button")
    )
    return _page(locale, body, raw=True)


async def confirm(request: web.Request) -> web.Response:
    """Confirm the address the signed link names and release its held suggestions."""
    locale = _locale(request)
    confirmation_id, token = _fields(request)
    confirmations = request.app[CONFIRMATIONS]
    released = (
        None if confirmation_id is None else await confirmations.confirm(confirmation_id, token)
    )
    if released is None:
        log.info("email confirmation refused: unknown id or wrong token")
        return _page(locale, t(locale, "moderation_queue.confirm_invalid"), status=400)
    return _page(locale, t(locale, "moderation_queue.confirm_done"))


def _page(locale: str, body: str, *, status: int = 200, raw: bool = False) -> web.Response:
    content = body if raw else f"<p>{html.escape(body)}</p>"
    return page(locale, t(locale, "moderation_queue.confirm_title"), content, status=status)
