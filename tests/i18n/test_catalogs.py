"""Every catalog matches English: same keys, same placeholders, its locale's plural forms."""

from __future__ import annotations

import pytest
from babel import Locale

from bot.i18n import DEFAULT_LOCALE, available_locales, load_catalog, placeholders, t
from tests.i18n.audit import _PLACEHOLDER, SAME_AS_ENGLISH, Output, _has_own_words, check_clean

SERVED_LOCALES = ("en", "es", "ar", "zh", "fr", "hi", "nl", "te")


def _placeholders(message: str | dict[str, str]) -> set[str]:
    if isinstance(message, dict):
        return set().union(*(placeholders(text) for text in message.values()))
    return placeholders(message)


def test_every_served_locale_has_a_catalog() -> None:
    assert set(SERVED_LOCALES) <= set(available_locales())


@pytest.mark.parametrize("locale", [loc for loc in SERVED_LOCALES if loc != DEFAULT_LOCALE])
def test_catalog_has_exactly_the_english_keys(locale: str) -> None:
    english = set(load_catalog(DEFAULT_LOCALE).messages)
    translated = set(load_catalog(locale).messages)
    assert sorted(english - translated) == [], f"{locale} misses keys English has"
    assert sorted(translated - english) == [], f"{locale} keeps keys English dropped"


@pytest.mark.parametrize("locale", SERVED_LOCALES)
def test_catalog_keeps_the_english_placeholders(locale: str) -> None:
    english = load_catalog(DEFAULT_LOCALE).messages
    changed = {
        key: (sorted(_placeholders(english[key])), sorted(_placeholders(message)))
        for key, message in load_catalog(locale).messages.items()
        if key in english and _placeholders(message) != _placeholders(english[key])
    }
    assert changed == {}


@pytest.mark.parametrize("locale", SERVED_LOCALES)
def test_plural_messages_have_exactly_the_locale_categories(locale: str) -> None:
    english = load_catalog(DEFAULT_LOCALE).messages
    required = set(Locale.parse(locale).plural_form.tags) | {"other"}
    for key, message in load_catalog(locale).messages.items():
        assert isinstance(message, dict) == isinstance(english[key], dict), key
        if isinstance(message, dict):
            assert set(message) == required, f"{locale} {key}: {sorted(message)}"
            for text in message.values():  # no form may invent a placeholder
                assert placeholders(text) <= _placeholders(english[key]), (locale, key)


@pytest.mark.parametrize("locale", SERVED_LOCALES)
def test_every_message_renders(locale: str) -> None:
    for key, message in load_catalog(locale).messages.items():
        names = _placeholders(message)
        params = {name: f"<<{name}>>" for name in names}
        for count in (0, 1, 2, 3, 11, 100, 1000000):
            rendered = t(locale, key, **{**params, "count": count})
            assert rendered.strip() and rendered != key, (locale, key)
            # Nothing is left unfilled, and only placeholders English has appear.
            assert not any(f"{{{name}}}" in rendered for name in names), (locale, key, rendered)


def test_plural_forms_follow_the_locale_rules() -> None:
    assert t("en", "cli.check_clean", count=1) == "Checked 1 lesson file: no problems found."
    assert t("en", "cli.check_clean", count=2) == "Checked 2 lesson files: no problems found."
    # Arabic distinguishes one, two, few (3-10) and many (11-99): the forms differ.
    forms = {t("ar", "cli.check_clean", count=count) for count in (1, 2, 3, 11, 100)}
    assert len(forms) == 5


def test_region_and_underscore_locales_fall_back_to_the_language() -> None:
    assert t("es-ES", "cli.interrupted") == t("es", "cli.interrupted")
    assert t("zh_CN", "cli.interrupted") == t("zh", "cli.interrupted")
    assert t("pt-BR", "cli.interrupted") == t("en", "cli.interrupted")
    assert t(None, "cli.interrupted") == t("en", "cli.interrupted")


def test_unknown_key_and_missing_placeholder_do_not_raise(caplog: pytest.LogCaptureFixture) -> None:
    assert t("en", "no.such.key") == "no.such.key"
    assert "{path}" in t("en", "cli.content_missing")
    assert "no value given for placeholder" in caplog.text


# --- the locale audit over every message, whatever table it is in (tests/i18n/audit.py) ---


def _forms(message: str | dict[str, str]) -> list[str]:
    return list(message.values()) if isinstance(message, dict) else [message]


@pytest.mark.parametrize("locale", [loc for loc in SERVED_LOCALES if loc != DEFAULT_LOCALE])
def test_no_message_is_left_in_english(locale: str) -> None:
    """A message spelled exactly as English is untranslated, unless it has no words of its
    own (a format like `{lesson} ({program})`) or the allow-list says why."""
    english = load_catalog(DEFAULT_LOCALE).messages
    left = [
        key
        for key, message in load_catalog(locale).messages.items()
        if message == english[key]
        and (locale, key) not in SAME_AS_ENGLISH
        and any(_has_own_words(_PLACEHOLDER.sub(" ", form), ()) for form in _forms(message))
    ]
    assert left == []


def test_the_english_allow_list_names_only_messages_still_the_same() -> None:
    english = load_catalog(DEFAULT_LOCALE).messages
    stale = [
        (locale, key)
        for locale, key in SAME_AS_ENGLISH
        if load_catalog(locale).messages.get(key) != english.get(key)
    ]
    assert stale == []


@pytest.mark.parametrize("locale", SERVED_LOCALES)
def test_no_message_holds_an_internal_code(locale: str) -> None:
    """Filled with plain values, no message shows a key, a code, a repr or an escape."""
    problems: list[str] = []
    for key, message in load_catalog(locale).messages.items():
        names = _placeholders(message)
        params = {name: "Ana" for name in names}
        rendered = t(locale, key, **{**params, "count": 3})
        output = Output(key, locale, [rendered], ("Ana",))
        check_clean(output)
        problems += output.problems
    assert problems == []
