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
from bot.web.locales import api_locale, choose, direction

if TYPE_CHECKING:
    from bot.services.suggestions.confirmations import Confirmations

log = logging.getLogger(__name__)

PATH = "/suggestions/confirm"
CONFIRMATIONS: web.AppKey[Confirmations] = web.AppKey("confirmations")
_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
# A token is short; anything longer is not ours.
_MAX_FIELD = 400


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
    token = request.query.get("token", "")[:_MAX_FIELD]
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
    body = (
        f"<p>{html.escape(t(locale, 'moderation_queue.confirm_ask'))}</p>\n"
        f'<form method="post" action="{html.escape(request.path_qs, quote=True)}">'
        f'<button type="submit" style="font-size:16px;padding:8px 16px;">'
        f"{html.escape(t(locale, 'moderation_queue.confirm_button'))}</button></form>"
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
    title = html.escape(t(locale, "moderation_queue.confirm_title"))
    content = body if raw else f"<p>{html.escape(body)}</p>"
    document = (
        f'<!DOCTYPE html>\n<html lang="{html.escape(locale)}" dir="{direction(locale)}">\n'
        '<head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title></head>\n"
        '<body style="font-family:system-ui,sans-serif;max-width:36em;margin:3em auto;'
        f'padding:0 1em;line-height:1.5;">\n<h1>{title}</h1>\n{content}\n</body>\n</html>\n'
    )
    return web.Response(text=document, status=status, content_type="text/html", headers=_HEADERS)
