"""Load per-locale TOML catalogs and render messages with CLDR plural rules."""

from __future__ import annotations

import functools
import logging
import string
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any

from babel import Locale, UnknownLocaleError

log = logging.getLogger(__name__)

DEFAULT_LOCALE = "en"
# A plural message is a table keyed by CLDR categories; `other` is always required.
PLURAL_CATEGORIES = ("zero", "one", "two", "few", "many", "other")

Message = str | dict[str, str]


@dataclass(frozen=True, slots=True)
class Catalog:
    """One locale's messages, flattened to dotted keys."""

    locale: str
    messages: dict[str, Message]

    def plural_category(self, count: int | float) -> str:
        """Return the CLDR plural category of a number in this locale."""
        return plural_rule(self.locale)(abs(count))


@functools.cache
def plural_rule(locale: str) -> Any:
    """Return Babel's CLDR plural rule for a locale (callable: number -> category)."""
    return Locale.parse(locale).plural_form


@functools.cache
def available_locales() -> tuple[str, ...]:
    """Return the locales that have a catalog, sorted."""
    folder = resources.files(__package__) / "locales"
    names = (entry.name for entry in folder.iterdir() if entry.name.endswith(".toml"))
    return tuple(sorted(name.removesuffix(".toml") for name in names))


@functools.cache
def load_catalog(locale: str) -> Catalog:
    """Read and flatten one locale's catalog (cached: catalogs ship with the package)."""
    source = resources.files(__package__) / "locales" / f"{locale}.toml"
    with source.open("rb") as handle:
        data = tomllib.load(handle)
    return Catalog(locale, _flatten(data))


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Message]:
    messages: dict[str, Message] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and set(value) <= set(PLURAL_CATEGORIES) and value:
            messages[dotted] = {category: str(text) for category, text in value.items()}
        elif isinstance(value, dict):
            messages.update(_flatten(value, f"{dotted}."))
        else:
            messages[dotted] = str(value)
    return messages


def normalize_locale(locale: str | None) -> str:
    """Map a requested locale (`es-ES`, `zh_CN`, `ar`) to the catalog that serves it."""
    if not locale:
        return DEFAULT_LOCALE
    known = available_locales()
    wanted = locale.replace("_", "-").strip()
    for candidate in (wanted, wanted.lower(), wanted.split("-")[0].lower()):
        if candidate in known:
            return candidate
    return DEFAULT_LOCALE


def language_name(code: str, locale: str) -> str:
    """Return a language's name as written in `locale` (`es` in Arabic: الإسبانية)."""
    try:
        name = Locale.parse(code.replace("-", "_")).get_display_name(locale.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return code
    return name or code


def placeholders(text: str) -> set[str]:
    """Return the names of the `{placeholders}` in a message."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


class _KeepMissing(dict):
    """Leave an unknown `{placeholder}` visible instead of failing the whole message."""

    def __missing__(self, key: str) -> str:
        log.error("i18n: no value given for placeholder {%s}", key)
        return "{" + key + "}"


def t(locale: str | None, key: str, /, **params: Any) -> str:
    """Return the message `key` in `locale` (falling back to English), filled with params."""
    catalog = load_catalog(normalize_locale(locale))
    message = catalog.messages.get(key)
    if message is None:
        catalog = load_catalog(DEFAULT_LOCALE)
        message = catalog.messages.get(key)
        if message is None:
            log.error("i18n: unknown message key %s", key)
            return key
    if isinstance(message, dict):
        count = params.get("count")
        if not isinstance(count, int | float):
            log.error("i18n: plural message %s needs a numeric count", key)
            count = 0
        message = message.get(catalog.plural_category(count)) or message["other"]
    try:
        return message.format_map(_KeepMissing(params))
    except (ValueError, IndexError, AttributeError):
        log.exception("i18n: message %s in %s cannot be formatted", key, catalog.locale)
        return key
