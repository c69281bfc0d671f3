"""Localize command and option descriptions for Discord from our own catalogs."""

from __future__ import annotations

from discord import Locale, app_commands

from bot.i18n import load_catalog

# Discord's client locales that one of our catalogs serves. English is the default text
# Discord shows everyone, so en-US and en-GB need no translation. Arabic and Telugu have no
# Discord locale; zh-TW is left out because our Chinese catalog is in simplified script.
DISCORD_LOCALES: dict[Locale, str] = {
    Locale.spain_spanish: "es",
    Locale.latin_american_spanish: "es",
    Locale.chinese: "zh",
    Locale.french: "fr",
    Locale.hindi: "hi",
    Locale.dutch: "nl",
}


def described(english: str, key: str) -> app_commands.locale_str:
    """Return a translatable description: the English text, and its catalog key."""
    # The English text is written out, not read with t(), so importing a cog reads no file;
    # tests/discord/test_translator.py holds it to the English catalog.
    return app_commands.locale_str(english, key=key)


class CatalogTranslator(app_commands.Translator):
    """Translate strings that carry a catalog `key`, for the Discord locales we serve."""

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        """Return the string in a Discord locale, or None to let Discord show the default."""
        key = string.extras.get("key")
        catalog_locale = DISCORD_LOCALES.get(locale)
        if key is None or catalog_locale is None:
            return None
        # Only a real translation: t() would quietly fall back to English here.
        message = load_catalog(catalog_locale).messages.get(key)
        return message if isinstance(message, str) else None
