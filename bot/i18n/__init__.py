"""Every user-facing string, per locale: `t(locale, key, **params)`."""

from bot.i18n.catalog import (
    DEFAULT_LOCALE,
    Catalog,
    available_locales,
    language_name,
    load_catalog,
    normalize_locale,
    placeholders,
    t,
)

__all__ = [
    "DEFAULT_LOCALE",
    "Catalog",
    "available_locales",
    "language_name",
    "load_catalog",
    "normalize_locale",
    "placeholders",
    "t",
]
