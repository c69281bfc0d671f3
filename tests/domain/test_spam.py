"""The spam signals: each fires on what it names, stays quiet on genuine edits, explains itself."""
# ruff: noqa: RUF001 -- lessons in Chinese and English use their own punctuation

from __future__ import annotations

import re

import pytest

from bot.domain.spam import Signal, SpamInput, assess, text_hash
from bot.i18n import t

LESSON = (
    "Real-world data is messy. People make typos and sensors fail.\n"
    "Read more in the [pandas documentation](https://pandas.pydata.org/docs/).\n"
    "Keep about 20% of the rows for testing and shuffle them first."
)
ZH_LESSON = "训练集用来教模型，测试集用来检查模型。我们可以用 scikit-learn 来划分。"
LOCALES = ("ar", "en", "es", "fr", "hi", "nl", "te", "zh")


def _edit(find: str, replace: str, *, lesson: str = LESSON, locale: str = "en", **counts: int):
    return SpamInput(
        find=find, replace=replace, reason="", lesson_text=lesson, locale=locale, **counts
    )


@pytest.mark.parametrize(
    ("find", "replace"),
    [
        ("People make typos", "People make typing mistakes"),
        ("sensors fail", "sensors break down"),
        (
            "Read more in the [pandas documentation](https://pandas.pydata.org/docs/).",
            "Read more in the [pandas guide](https://pandas.pydata.org/docs/user_guide/).",
        ),
        ("Keep about 20% of the rows", "Keep about 20% (often 10–30%) of the rows"),
    ],
)
def test_genuine_edits_raise_no_signal(find: str, replace: str) -> None:
    verdict = assess(_edit(find, replace))
    assert verdict.signals == ()
    assert not verdict.suspicious


def test_a_link_to_a_site_the_lesson_already_links_is_no_signal_but_a_new_one_is() -> None:
    known = assess(_edit("sensors fail", "sensors fail, see https://pandas.pydata.org/docs/x"))
    assert "new_link" not in known.codes
    new = assess(_edit("sensors fail", "sensors fail, see https://cheap-pills.top/buy"))
    assert new.codes == ("new_link",)
    assert new.signals[0].params["domains"] == "cheap-pills.top"
    # One new reference alone does not hold a suggestion; several new domains do.
    assert not new.suspicious
    farm = assess(_edit("sensors fail", "sensors fail https://a-seo.biz and https://b-seo.net"))
    assert farm.suspicious


def test_a_shortener_and_a_link_only_replacement_are_held() -> None:
    short = assess(_edit("sensors fail", "sensors fail, details: https://bit.ly/3xYz"))
    assert "link_shortener" in short.codes and short.suspicious
    only = assess(_edit("Real-world data is messy.", "https://deals-now.shop/offer"))
    assert "link_only" in only.codes and only.suspicious


def test_counts_from_the_store_raise_same_text_and_burst() -> None:
    assert "same_text" not in assess(_edit("a", "b", same_text_lessons=1)).codes
    assert assess(_edit("sensors fail", "sensors failed", same_text_lessons=2)).suspicious
    assert (
        "burst" not in assess(_edit("sensors fail", "sensors failed", recent_from_person=4)).codes
    )
    held = assess(_edit("sensors fail", "sensors failed", recent_from_address=5))
    assert held.codes == ("burst",) and held.suspicious


@pytest.mark.parametrize(
    ("lesson", "locale", "replace", "off"),
    [
        (LESSON, "en", "Реальные данные всегда грязные", True),
        (ZH_LESSON, "zh", "训练集用来训练模型 (training set)", False),
        (ZH_LESSON, "zh", "Лучшие кредиты онлайн без отказа", True),
        ("البيانات فوضوية", "ar", "البيانات غالبًا فوضوية في pandas", False),
        ("अच्छा प्रॉम्प्ट", "hi", "అన్‌లైన్ పాఠం ఇక్కడ ఉంది", True),
        ("అన్నీ డేటా", "te", "డేటా అంటే (data) సంఖ్యలు", False),
        # An English lesson about Chinese text may gain more Chinese.
        ("A sentence such as 我喜欢学习机器学习 splits", "en", "我喜欢学习", False),
    ],
)
def test_text_in_a_script_the_lesson_does_not_use_is_flagged(
    lesson: str, locale: str, replace: str, off: bool
) -> None:
    verdict = assess(_edit("x", replace, lesson=lesson, locale=locale))
    assert ("off_script" in verdict.codes) is off


def test_gibberish_and_keyboard_mash_are_held_but_real_words_are_not() -> None:
    assert assess(_edit("Missing values", "asdfghjkl qwertyuiop zxcvbnm")).codes == ("gibberish",)
    assert assess(_edit("Missing values", "xkcdqwpz mnbvcxz fghrtyu")).suspicious
    assert not assess(_edit("Missing values", "Missing values and strengths")).suspicious


def test_promotion_words_count_only_when_the_edit_brings_them() -> None:
    assert assess(_edit("sensors fail", "sensors fail. Best online casino!")).suspicious
    assert assess(_edit("训练", "网上博彩，注册送彩金", lesson=ZH_LESSON, locale="zh")).suspicious
    lesson = LESSON + "\nFraud models flag casino payments."
    assert (
        "promotion" not in assess(_edit("sensors fail", "casino sensors fail", lesson=lesson)).codes
    )


def test_a_long_unrelated_replacement_is_a_signal_but_a_rewrite_is_not() -> None:
    find = "Keep about 20% of the rows for testing and shuffle them first."
    advert = (
        "Our agency offers professional services, guaranteed first page ranking on every "
        "search engine and social media packages for small businesses at monthly rates"
    )
    assert "unrelated" in assess(_edit(find, advert)).codes
    rewrite = (
        "Keep about 20% of the rows for testing. Shuffle them first so the split is fair, "
        "unless the rows are a time series: then test on the most recent rows."
    )
    assert "unrelated" not in assess(_edit(find, rewrite)).codes


def test_the_same_text_hashes_alike_whatever_its_case_and_spacing() -> None:
    assert text_hash("Great  article,\nthanks") == text_hash("great article, thanks")
    assert text_hash("great article") != text_hash("great articles")


@pytest.mark.parametrize("locale", LOCALES)
def test_every_signal_explains_itself_in_every_locale_without_codes(locale: str) -> None:
    edits = [
        _edit("sensors fail", "https://bit.ly/x https://a-seo.biz", same_text_lessons=3),
        _edit(
            "Missing values", "asdfghjkl qwertyuiop Реальные данные casino", recent_from_person=9
        ),
        _edit(
            "Keep", "Our agency offers professional services, guaranteed ranking on every engine"
        ),
    ]
    codes: set[str] = set()
    for edit in edits:
        for signal in assess(edit).signals:
            text = signal.explain(locale)
            codes.add(signal.code)
            assert not re.search(rf"\b{signal.code}\b", text) and "{" not in text
            assert text != t("en", f"moderation.signal.{signal.code}", **signal.params) or (
                locale == "en"
            )
    assert codes >= {"link_shortener", "same_text", "burst", "off_script", "gibberish"}


def test_a_signal_survives_its_stored_form() -> None:
    signal = Signal("burst", 1.0, {"count": "7", "minutes": "10"})
    assert Signal.from_json(signal.as_json()) == signal
