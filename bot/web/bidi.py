"""Keep each value put into a page's sentence in its own direction (bidi isolation).

A Spanish lesson title, a name, an id, a path or an address inside an Arabic sentence would
otherwise take part in the sentence's ordering: its punctuation and numbers wander to the
wrong end. In HTML each such value goes in a `<bdi>`; in text that cannot hold markup (a
page's `<title>`) it goes between FIRST STRONG ISOLATE and POP DIRECTIONAL ISOLATE.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from markupsafe import Markup, escape

from bot.i18n import t
from bot.services.suggestions import SuggestionError

FSI, PDI = "\u2068", "\u2069"
# Stand-ins for values while a message is filled: private-use characters no message holds.
_OPEN, _CLOSE = "\ue000", "\ue001"
_STAND_IN = re.compile(f"{_OPEN}([0-9]+){_CLOSE}")

Render = Callable[[dict[str, Any]], str]


def bdi(value: Any, lang: str | None = None, direction: str | None = None) -> Markup:
    """Return a value as an isolated `<bdi>` (with its language and direction, when known)."""
    attributes = "".join(
        f' {name}="{escape(given)}"'
        for name, given in (("lang", lang), ("dir", direction))
        if given
    )
    return Markup(f"<bdi{attributes}>{escape(value)}</bdi>")  # noqa: S704 - all escaped


def isolated_html(
    render: Render, params: Mapping[str, Any], same_language: frozenset[str] = frozenset()
) -> Markup:
    """Return `render(params)` as HTML, each text value (or item of a list) in a `<bdi>`.

    The values named in `same_language` are the page's own words: escaped, not isolated.
    """
    marked, values = _stand_ins({k: v for k, v in params.items() if k not in same_language})
    marked.update({name: params[name] for name in same_language if name in params})
    text = str(escape(render(marked)))
    # One pass: a value holding what looks like a stand-in is never filled in again.
    html = _STAND_IN.sub(lambda found: str(bdi(values[int(found.group(1))])), text)
    return Markup(html)  # noqa: S704 - the message and every value are escaped


def isolated_text(render: Render, params: Mapping[str, Any]) -> str:
    """Return `render(params)` as plain text, each text value between FSI and PDI."""
    marked, values = _stand_ins(params)
    return _STAND_IN.sub(lambda found: FSI + values[int(found.group(1))] + PDI, render(marked))


def message_html(locale: str, key: str, /, **params: Any) -> Markup:
    """Return a catalog message as HTML, its values isolated."""
    return isolated_html(lambda filled: t(locale, key, **filled), params)


def error_html(error: SuggestionError, locale: str, field_label: str | None = None) -> Markup:
    """Return a service refusal as HTML in a language, its values isolated."""
    params = {**error.params, "field": field_label or error.field or ""}

    def render(filled: dict[str, Any]) -> str:
        label = filled.pop("field")
        copy = SuggestionError(error.code, field=error.field, status=error.status, **filled)
        return copy.message(locale, label)

    # The field is named as the form labels it: in the page's language, nothing to isolate.
    return isolated_html(render, params, frozenset({"field"}))


def _stand_ins(params: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Return params with each text (in a list too) replaced by a stand-in, and the texts."""
    values: list[str] = []

    def stand_in(value: str) -> str:
        values.append(value)
        return f"{_OPEN}{len(values) - 1}{_CLOSE}"

    marked: dict[str, Any] = {}
    for name, value in params.items():
        if isinstance(value, str):
            marked[name] = stand_in(value)
        elif isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
            marked[name] = type(value)(stand_in(item) for item in value)
        else:
            # Numbers stay numbers: plural rules read `count`, and digits keep their place.
            marked[name] = value
    return marked, values
