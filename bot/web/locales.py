"""Which language a web request is answered in, and which way it is written."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from babel import Locale, UnknownLocaleError

from bot.i18n import available_locales, normalize_locale
from bot.i18n import language_name as i18n_language_name

_TAG = re.compile(r"^[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*$")


def accepted_languages(header: str | None) -> list[str]:
    """Return the language tags of an Accept-Language header, most wanted first."""
    if not header:
        return []
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not tag or tag == "*" or not _TAG.match(tag):
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranked.append((-quality, index, tag))
    return [tag for _, _, tag in sorted(ranked)]


def choose(requested: Iterable[str], offered: Iterable[str]) -> str | None:
    """Return the first requested language that one of `offered` serves (`es-MX` → `es`)."""
    offered = list(offered)
    lowered = {locale.lower(): locale for locale in offered}
    for tag in requested:
        wanted = tag.replace("_", "-").lower()
        for candidate in (wanted, wanted.split("-")[0]):
            if candidate in lowered:
                return lowered[candidate]
    return None


def ui_locale(locale: str) -> str:
    """Return the catalog that serves a locale's page text (English when none does)."""
    return normalize_locale(locale) if locale else "en"


def api_locale(header: str | None) -> str:
    """Return the catalog to answer an API request in, from its Accept-Language."""
    return choose(accepted_languages(header), available_locales()) or "en"


@functools.cache
def is_rtl(locale: str) -> bool:
    """Tell whether a language is written right to left (Arabic, Hebrew, Persian, Urdu...)."""
    try:
        return Locale.parse(locale.replace("-", "_")).character_order == "right-to-left"
    except (UnknownLocaleError, ValueError, TypeError):
        return False


def direction(locale: str) -> str:
    """Return the HTML `dir` of a language."""
    return "rtl" if is_rtl(locale) else "ltr"


def language_name(code: str, locale: str) -> str:
    """Return a language's name as written in `locale` (`es` on an Arabic page: الإسبانية)."""
    return i18n_language_name(code, locale)
