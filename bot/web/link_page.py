"""The small page a signed link in an email opens: one question with a button, or an answer.

Link checkers open links; only people press buttons. So a GET shows the button, and the
POST it sends does what the link is for.
"""

from __future__ import annotations

import html

from aiohttp import web

from bot.web.locales import direction

HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
# An address, an id and a token are short; anything longer is not ours.
MAX_FIELD = 400


def button_form(request: web.Request, label: str) -> str:
    """Return a form posting back to this very link, with one button."""
    return (
        f'<form method="post" action="{html.escape(request.path_qs, quote=True)}">'
        f'<button type="submit" style="font-size:16px;padding:8px 16px;">'
        f"{html.escape(label)}</button></form>"
    )


def page(locale: str, title: str, content: str, *, status: int = 200) -> web.Response:
    """Return the page: `title` as text, `content` as HTML already escaped."""
    title = html.escape(title)
    document = (
        f'<!DOCTYPE html>\n<html lang="{html.escape(locale)}" dir="{direction(locale)}">\n'
        '<head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title></head>\n"
        '<body style="font-family:system-ui,sans-serif;max-width:36em;margin:3em auto;'
        f'padding:0 1em;line-height:1.5;">\n<h1>{title}</h1>\n{content}\n</body>\n</html>\n'
    )
    return web.Response(text=document, status=status, content_type="text/html", headers=HEADERS)
