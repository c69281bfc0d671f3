"""What the sandboxes' read-only HTML pages share: a page shell, a stylesheet, safe Markdown
and diffs.

Every piece of user text goes through `esc` or `markdown_html`: raw HTML written in an
issue, a comment or a message is shown as text, never run, and a link only keeps an
http(s), mailto or relative address. The pages need no JavaScript and send a policy that
forbids it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.etree import ElementTree

import markdown
import nh3
from aiohttp import web
from markdown.inlinepatterns import InlineProcessor
from markdown.util import AtomicString

STYLESHEET_PATH = "/_sandbox/views.css"
# No script at all; inline styles only for colours taken from the data (embed colours).
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
ALLOWED_TAGS = frozenset(set(nh3.ALLOWED_TAGS) - {"img", "map", "area"})
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "code": {"class"},
    "ol": {"start"},
    "td": {"align"},
    "th": {"align"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Bidirectional controls can make code read differently from what it does ("Trojan
# Source"): diffs and files show them as visible marks.
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# A bare web address in text, without the punctuation that usually ends a sentence.
_BARE_URL = r"https?://[^\s<>\"'`]*[^\s<>\"'`.,;:!?)\]*_~]"
_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")

STYLESHEET = """\
:root { color-scheme: light; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0;
  --bg-soft: #f6f8fa; --add: #dafbe1; --del: #ffebe9; --accent: #0969da; --hi: #fff8c5; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif;
  color: var(--fg); background: #fff; }
a { color: var(--accent); }
a:focus-visible, [tabindex]:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.sandbox-header { display: flex; gap: 1rem; align-items: center; padding: .6rem 1.2rem;
  background: #24292f; color: #fff; }
.sandbox-header a { color: #fff; font-weight: 600; text-decoration: none; }
.sandbox-header .note { color: #d1d9e0; font-size: .85rem; }
main { max-width: 72rem; margin: 0 auto; padding: 1rem 1.2rem 3rem; }
nav.crumbs ol { list-style: none; display: flex; flex-wrap: wrap; gap: .3rem; padding: 0;
  margin: 0 0 .8rem; color: var(--muted); }
nav.crumbs li + li::before { content: "/"; margin-right: .3rem; }
h1 { font-size: 1.6rem; margin: .2rem 0 .6rem; overflow-wrap: anywhere; }
h2 { font-size: 1.2rem; margin: 1.4rem 0 .5rem; }
.meta, .muted { color: var(--muted); font-size: .9rem; }
.state { display: inline-block; padding: .1rem .6rem; border-radius: 1rem; color: #fff;
  font-size: .85rem; font-weight: 600; background: #1f883d; }
.state-closed { background: #cf222e; } .state-merged { background: #8250df; }
.state-draft { background: #59636e; }
.state-APPROVED { background: #1f883d; } .state-CHANGES_REQUESTED { background: #cf222e; }
.state-COMMENTED, .state-DISMISSED { background: #59636e; }
.tabs { display: flex; gap: .2rem; border-bottom: 1px solid var(--line); margin: 1rem 0; }
.tabs a { padding: .4rem .8rem; text-decoration: none; color: var(--fg);
  border: 1px solid transparent; border-radius: 6px 6px 0 0; }
.tabs a[aria-current="page"] { border-color: var(--line); border-bottom-color: #fff;
  margin-bottom: -1px; background: #fff; font-weight: 600; }
.box { border: 1px solid var(--line); border-radius: 6px; margin: .8rem 0; background: #fff; }
.box > header { padding: .4rem .8rem; background: var(--bg-soft);
  border-bottom: 1px solid var(--line); border-radius: 6px 6px 0 0; font-size: .9rem; }
.box > .body { padding: .2rem .8rem; overflow-wrap: anywhere; }
.box:target, .target { box-shadow: 0 0 0 3px var(--hi); border-color: #d4a72c; }
.thread { margin-left: 1.2rem; }
.labels .label { display: inline-block; padding: 0 .5rem; margin-right: .3rem;
  border: 1px solid var(--line); border-radius: 1rem; font-size: .8rem; }
table.list { border-collapse: collapse; width: 100%; }
table.list td, table.list th { text-align: start; padding: .35rem .6rem;
  border-bottom: 1px solid var(--line); }
pre, code { font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { background: var(--bg-soft); padding: .6rem; overflow-x: auto; border-radius: 6px; }
.body pre { white-space: pre-wrap; }
table.code, table.diff { border-collapse: collapse; width: 100%; }
table.code td, table.diff td { padding: 0 .5rem; vertical-align: top;
  font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
table.code td.num, table.diff td.num { width: 1%; min-width: 3rem; text-align: end;
  color: var(--muted); user-select: none; }
table.code td.num a { color: inherit; text-decoration: none; }
table.code td.text, table.diff td.text { white-space: pre-wrap; overflow-wrap: anywhere; }
table.code tr:target { background: var(--hi); }
tr.d-add { background: var(--add); } tr.d-del { background: var(--del); }
tr.d-hunk td { background: #ddf4ff; color: var(--muted); }
tr.d-meta td { color: var(--muted); }
.bidi { background: #ffd8b5; color: #953800; border-radius: 3px; font-size: .8em; }
.suggestion { border: 1px solid var(--line); border-radius: 6px; margin: .5rem 0; }
.suggestion > p { margin: 0; padding: .3rem .6rem; background: var(--bg-soft);
  border-bottom: 1px solid var(--line); font-size: .85rem; font-weight: 600; }
.message { padding: .4rem .6rem; border-radius: 6px; scroll-margin-top: 2rem; }
.message + .message { border-top: 1px solid #eef1f4; }
.message .author { font-weight: 600; }
.message .bot { background: #5865f2; color: #fff; border-radius: 3px; font-size: .7rem;
  padding: 0 .3rem; margin-inline-start: .3rem; vertical-align: middle; }
.embed { border: 1px solid var(--line); border-inline-start: 4px solid #a0a7b0;
  border-radius: 4px; padding: .4rem .8rem; margin: .4rem 0; max-width: 40rem;
  background: var(--bg-soft); }
.embed .title { font-weight: 600; }
.embed dl { display: flex; flex-wrap: wrap; gap: .2rem 1.5rem; margin: .3rem 0; }
.embed dl div { flex: 1 1 100%; } .embed dl div.inline { flex: 1 1 10rem; }
.embed dt { font-weight: 600; font-size: .9rem; } .embed dd { margin: 0; }
.components .row { display: flex; flex-wrap: wrap; gap: .4rem; margin: .3rem 0; }
.components button, .components select, .components .link-button { font: inherit;
  padding: .25rem .8rem; border-radius: 4px; border: 1px solid var(--line); }
.components button.style-1 { background: #5865f2; color: #fff; }
.components button.style-3 { background: #248046; color: #fff; }
.components button.style-4 { background: #da373c; color: #fff; }
.components .link-button { background: #fff; text-decoration: none; }
.reactions span { display: inline-block; border: 1px solid var(--line); border-radius: 1rem;
  padding: 0 .5rem; margin-right: .3rem; font-size: .85rem; }
ul.plain { list-style: none; padding: 0; }
ul.plain li { padding: .3rem 0; border-bottom: 1px solid var(--line); }
"""


class PageNotFoundError(Exception):
    """Answer with the 404 page: `what` names the thing that is not there."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


@dataclass(frozen=True)
class Site:
    """A sandbox's pages: the name in the header and the address of its first page."""

    brand: str
    home: str = "/"


def esc(value: object) -> str:
    """Return text escaped for HTML content and quoted attributes."""
    return html.escape(str(value), quote=True)


def show_bidi(escaped: str) -> str:
    """Mark bidirectional controls in already escaped text so they can be seen."""
    return _BIDI.sub(lambda found: f'<span class="bidi">U+{ord(found.group()):04X}</span>', escaped)


def when(moment: datetime | None) -> str:
    """Return a time as a <time> element, in UTC to the minute."""
    if moment is None:
        return ""
    utc = moment.astimezone(UTC)
    shown = utc.strftime("%Y-%m-%d %H:%M UTC")
    return f'<time datetime="{esc(utc.isoformat())}">{shown}</time>'


def link(href: str, text: str, **attributes: str) -> str:
    """Return an <a> element with escaped address, text and attributes."""
    # `class_` names `class`, `aria_label` names `aria-label`.
    extra = "".join(
        f' {name.rstrip("_").replace("_", "-")}="{esc(value)}"'
        for name, value in attributes.items()
    )
    return f'<a href="{esc(href)}"{extra}>{esc(text)}</a>'


def is_web_address(url: object) -> bool:
    """Tell whether a value is an http(s) address, the only kind the pages link to as is."""
    return isinstance(url, str) and url.startswith(("http://", "https://"))


# Markdown


class _BareLink(InlineProcessor):
    """Link a bare web address, as GitHub and Discord both do."""

    ANCESTOR_EXCLUDES = ("a",)

    def handleMatch(  # noqa: N802 - Markdown's name
        self, m: re.Match[str], data: str
    ) -> tuple[ElementTree.Element, int, int]:
        """Return the link element for the matched address."""
        element = ElementTree.Element("a")
        element.set("href", m.group(0))
        element.text = AtomicString(m.group(0))
        return element, m.start(0), m.end(0)


def _markdown() -> markdown.Markdown:
    """Return a Markdown converter that treats raw HTML as text."""
    converter = markdown.Markdown(
        extensions=["fenced_code", "tables", "sane_lists", "nl2br"], output_format="html"
    )
    # Raw HTML in user text is not markup here: without these it is escaped like any text.
    converter.preprocessors.deregister("html_block")
    converter.inlinePatterns.deregister("html")
    converter.inlinePatterns.register(_BareLink(_BARE_URL, converter), "bare_link", 115)
    return converter


_CONVERTER = _markdown()


def markdown_html(text: str | None) -> str:
    """Render user Markdown as HTML that can hold no script, style or foreign markup."""
    if not text:
        return ""
    rendered = _CONVERTER.reset().convert(text)
    return nh3.clean(
        rendered,
        tags=set(ALLOWED_TAGS),
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer",
    )


def markdown_escape(text: str) -> str:
    """Escape what Markdown would read as formatting, for names put into Markdown text."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|~>])", r"\\\1", text)


# Diffs


def diff_rows(patch: str, *, start: int = 0) -> str:
    """Return a unified diff's hunks as table rows, with old and new line numbers."""
    rows: list[str] = []
    old = new = start
    for line in patch.split("\n"):
        if line.startswith("@@"):
            found = _HUNK.match(line)
            if found:
                old, new = int(found.group(1)), int(found.group(2))
            rows.append(
                f'<tr class="d-hunk"><td class="num"></td><td class="num"></td>'
                f'<td class="text">{esc(line)}</td></tr>'
            )
            continue
        if line.startswith(
            (
                "diff --git",
                "index ",
                "--- ",
                "+++ ",
                "new file",
                "deleted file",
                "old mode",
                "new mode",
                "similarity",
                "Binary files",
            )
        ):
            continue
        if line.startswith("\\"):
            rows.append(
                f'<tr class="d-meta"><td class="num"></td><td class="num"></td>'
                f'<td class="text">{esc(line)}</td></tr>'
            )
        elif line.startswith("+"):
            rows.append(_row("d-add", "", str(new), line))
            new += 1
        elif line.startswith("-"):
            rows.append(_row("d-del", str(old), "", line))
            old += 1
        elif line.startswith(" "):
            rows.append(_row("d-ctx", str(old), str(new), line))
            old += 1
            new += 1
    return "".join(rows)


def _row(kind: str, old: str, new: str, line: str) -> str:
    return (
        f'<tr class="{kind}"><td class="num">{old}</td><td class="num">{new}</td>'
        f'<td class="text">{show_bidi(esc(line))}</td></tr>'
    )


def diff_table(patch: str, label: str) -> str:
    """Return a unified diff as a table named `label` for assistive technology."""
    return f'<table class="diff" dir="ltr" aria-label="{esc(label)}">{diff_rows(patch)}</table>'


def line_diff(old: Sequence[tuple[int, str]], new: Iterable[str], label: str) -> str:
    """Return numbered old lines against proposed lines as a diff table."""
    rows = [_row("d-del", str(number), "", f"-{text}") for number, text in old]
    rows += [_row("d-add", "", "", f"+{text}") for text in new]
    return f'<table class="diff" dir="ltr" aria-label="{esc(label)}">{"".join(rows)}</table>'


# Pages


def page(
    site: Site,
    title: str,
    body: str,
    *,
    crumbs: Sequence[tuple[str | None, str]] = (),
    status: int = 200,
) -> web.Response:
    """Return a whole page: header, breadcrumbs, the body (already HTML) and the headers."""
    trail = ""
    if crumbs:
        items = "".join(
            f"<li>{link(href, text) if href else esc(text)}</li>" for href, text in crumbs
        )
        trail = f'<nav class="crumbs" aria-label="Breadcrumb"><ol>{items}</ol></nav>'
    document = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} · {esc(site.brand)}</title>"
        f'<link rel="stylesheet" href="{STYLESHEET_PATH}"></head><body>'
        f'<header class="sandbox-header">{link(site.home, site.brand)}'
        '<span class="note">a local stand-in: nothing here leaves this machine</span></header>'
        f'<main id="main">{trail}{body}</main></body></html>\n'
    )
    return web.Response(
        text=document,
        status=status,
        content_type="text/html",
        charset="utf-8",
        headers=HEADERS,
    )


def not_found(site: Site, what: str) -> web.Response:
    """Return the 404 page, saying what was not found."""
    body = f"<h1>Not found</h1><p>{esc(what)}</p><p>{link(site.home, 'Back to the first page')}</p>"
    return page(site, "Not found", body, status=404)


def server_error(site: Site) -> web.Response:
    """Return the 500 page (the reason is in the sandbox's log)."""
    body = "<h1>Something went wrong</h1><p>The sandbox's log says what.</p>"
    return page(site, "Error", body, status=500)


async def stylesheet(_request: web.Request) -> web.Response:
    """GET /_sandbox/views.css: the pages' stylesheet."""
    return web.Response(
        text=STYLESHEET,
        content_type="text/css",
        charset="utf-8",
        headers={"Cache-Control": "max-age=300", "X-Content-Type-Options": "nosniff"},
    )
