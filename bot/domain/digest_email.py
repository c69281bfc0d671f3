"""The digest as an email: subject, plain text, and sanitized HTML with inline styles."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import markdown
import nh3

from bot.domain.digest import Digest, render_markdown, render_text, subject
from bot.i18n import t

RTL_LOCALES = frozenset({"ar", "he", "fa", "ur"})
# `bdi` isolates each name and question from the sentence around it (Latin in Arabic).
_TAGS = {"h1", "h2", "h3", "p", "ul", "ol", "li", "a", "strong", "em", "hr", "br", "code", "bdi"}
# Mail clients drop <style> blocks; styles survive only on each element.
_STYLES = {
    "h1": "font-size:22px;margin:0 0 12px;color:#1f2328;",
    "h2": "font-size:18px;margin:24px 0 8px;color:#1f2328;border-bottom:1px solid #d0d7de;",
    "h3": "font-size:15px;margin:16px 0 4px;color:#1f2328;",
    "p": "margin:8px 0;",
    "ul": "margin:4px 0;padding-inline-start:20px;",
    "ol": "margin:4px 0;padding-inline-start:20px;",
    "li": "margin:4px 0;",
    "a": "color:#0969da;text-decoration:underline;",
    "hr": "border:0;border-top:1px solid #d0d7de;margin:24px 0;",
    "code": "font-family:monospace;background:#f6f8fa;",
}
_OPENING = re.compile(r"<(h1|h2|h3|p|ul|ol|li|a|hr|code)(\s[^>]*)?>")


@dataclass(frozen=True, slots=True)
class DigestEmail:
    """One maintainer's digest email, before it has an envelope."""

    subject: str
    text: str
    html: str


def is_rtl(locale: str) -> bool:
    """Tell whether a locale is written right to left."""
    return locale.split("-")[0].lower() in RTL_LOCALES


def render_email(digest: Digest, locale: str, unsubscribe_url: str | None = None) -> DigestEmail:
    """Return the digest's subject, text part and HTML part in `locale`."""
    footer_text = footer_md = ""
    if unsubscribe_url:
        footer_text = t(locale, "digest.unsubscribe.footer", url=unsubscribe_url)
        link = f"<{unsubscribe_url}>" if _plain_url(unsubscribe_url) else ""
        footer_md = t(locale, "digest.unsubscribe.footer", url=link)
    return DigestEmail(
        subject=subject(digest, locale),
        text=render_text(digest, locale, footer=footer_text),
        html=render_html(render_markdown(digest, locale, footer=footer_md, isolate=True), locale),
    )


def render_html(source: str, locale: str) -> str:
    """Return a whole HTML document from the digest's markdown: sanitized, styled inline,
    right to left where the locale is."""
    body = nh3.clean(
        markdown.markdown(source, output_format="html"),
        tags=_TAGS,
        attributes={"a": {"href"}},
        url_schemes={"http", "https"},
        link_rel="noopener noreferrer",
    )
    body = _OPENING.sub(_styled, body)
    direction = "rtl" if is_rtl(locale) else "ltr"
    align = "right" if direction == "rtl" else "left"
    lang = html.escape(locale, quote=True)
    title = html.escape(t(locale, "digest.title"))
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}" dir="{direction}">\n<head>\n'
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n</head>\n"
        '<body style="margin:0;padding:0;background:#f6f8fa;">\n'
        f'<div dir="{direction}" style="max-width:680px;margin:0 auto;padding:24px;'
        f"background:#ffffff;font-family:-apple-system,'Segoe UI',Roboto,Arial,sans-serif;"
        f'font-size:14px;line-height:1.5;color:#1f2328;text-align:{align};">\n'
        f"{body}\n</div>\n</body>\n</html>\n"
    )


def _styled(found: re.Match[str]) -> str:
    tag, attributes = found[1], found[2] or ""
    return f'<{tag}{attributes} style="{_STYLES[tag]}">'


def _plain_url(url: str) -> bool:
    return url.startswith(("https://", "http://")) and not re.search(r"[\s<>]", url)
