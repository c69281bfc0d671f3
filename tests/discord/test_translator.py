"""Command descriptions reach Discord in English with our catalogs' translations."""

from __future__ import annotations

import discord
import pytest
from discord import Locale, app_commands

from bot.discord.translator import DISCORD_LOCALES, CatalogTranslator, described
from bot.i18n import load_catalog, t
from tests.discord.support import make_bot, make_settings
from tests.i18n.test_catalogs import SERVED_LOCALES

# Discord rejects command and option descriptions longer than this.
DESCRIPTION_LIMIT = 100


async def lesson_payload(monkeypatch: pytest.MonkeyPatch) -> dict:
    bot = await make_bot(make_settings())

    async def sync(*, guild: discord.abc.Snowflake | None = None) -> list:
        return []

    monkeypatch.setattr(bot.tree, "sync", sync)
    await bot.setup_hook()
    command = bot.tree.get_command("lesson")
    assert isinstance(command, app_commands.Command)
    payload = await command.get_translated_payload(bot.tree, CatalogTranslator())
    await bot.close()
    return payload


async def test_lesson_command_is_described_in_english_and_translated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    payload = await lesson_payload(monkeypatch)
    assert payload["name"] == "lesson"
    # The English written in the cog (not read at import) is the English catalog's.
    assert payload["description"] == t("en", "discord.lesson_description")
    localized = payload["description_localizations"]
    assert localized["es-ES"] == localized["es-419"] == t("es", "discord.lesson_description")
    assert localized["zh-CN"] == t("zh", "discord.lesson_description")
    assert localized["fr"] == t("fr", "discord.lesson_description")
    assert localized["hi"] == t("hi", "discord.lesson_description")
    assert localized["nl"] == t("nl", "discord.lesson_description")
    # English is the default text; zh-TW is another script; German has no catalog.
    assert not {"en-US", "en-GB", "zh-TW", "de"} & set(localized)
    assert payload.get("name_localizations", {}) == {}  # the command keeps one name
    (option,) = payload["options"]
    assert option["name"] == "lesson" and option["required"] and option["autocomplete"]
    assert option["description"] == t("en", "discord.lesson_option")
    assert option["description_localizations"]["es-ES"] == t("es", "discord.lesson_option")


@pytest.mark.parametrize("locale", SERVED_LOCALES)
def test_descriptions_fit_discords_limit(locale: str) -> None:
    for key in ("discord.lesson_description", "discord.lesson_option"):
        assert len(t(locale, key)) <= DESCRIPTION_LIMIT, (locale, key)


async def test_strings_without_a_key_or_locale_are_left_to_discord() -> None:
    translator = CatalogTranslator()
    context = app_commands.TranslationContext(
        location=app_commands.TranslationContextLocation.other, data=None
    )
    plain = app_commands.locale_str("lesson")
    keyed = described("Show a lesson", "discord.lesson_description")
    assert await translator.translate(plain, Locale.spain_spanish, context) is None
    assert await translator.translate(keyed, Locale.german, context) is None
    assert await translator.translate(keyed, Locale.american_english, context) is None
    missing = described("Nothing", "discord.no_such_key")
    assert await translator.translate(missing, Locale.french, context) is None


def test_every_mapped_discord_locale_has_a_catalog() -> None:
    for catalog_locale in DISCORD_LOCALES.values():
        assert load_catalog(catalog_locale).messages
