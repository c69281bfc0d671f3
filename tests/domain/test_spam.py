"""The spam signals: each fires on what it names, stays quiet on genuine edits, explains itself."""
# ruff: noqa: RUF001 -- lessons in Chinese and English use their own punctuation

from __future__ import annotations

import re

import pytest

from bot.domain.spam import Signal, SpamInput, assess, text_hash, with_counts
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


AR_LESSON = "البيانات في العالم الحقيقي فوضوية. يرتكب الناس أخطاء إملائية."
HI_LESSON = "एक अच्छा प्रॉम्प्ट बताता है कि उत्तर किसके लिए है। अच्छे उत्तर के एक या दो उदाहरण दें।"
TE_LESSON = "డేటా అంటే నమోదు చేసిన పరిశీలనలు: సంఖ్యలు, పదాలు, చిత్రాలు లేదా శబ్దాలు."


@pytest.mark.parametrize(
    ("lesson", "locale", "find", "replace"),
    [
        (LESSON, "en", "sensors fail", "Cheap car insurance, call 0800 555 0199 today"),
        (LESSON, "en", "Keep", "DM me for essay help"),
        (LESSON, "es", "sensors fail", "Escríbeme al WhatsApp +34 612 345 678"),
        (LESSON, "fr", "sensors fail", "Cours particuliers : Telegram @profmaths75"),
        (ZH_LESSON, "zh", "训练集", "加微信 xy_2024 咨询"),
        (AR_LESSON, "ar", "فوضوية", "تواصل معنا على واتساب ٠٥٠١٢٣٤٥٦٧"),
        (HI_LESSON, "hi", "उत्तर", "व्हाट्सएप करें 9876543210"),
        (TE_LESSON, "te", "డేటా", "కాల్ చేయండి 9123456780"),
        (LESSON, "en", "sensors fail", "sensors fail, write to deals@cheap-mail.example"),
    ],
)
def test_a_phone_number_handle_or_plea_to_be_contacted_is_held(
    lesson: str, locale: str, find: str, replace: str
) -> None:
    verdict = assess(_edit(find, replace, lesson=lesson, locale=locale))
    assert "contact_handle" in verdict.codes and verdict.suspicious


@pytest.mark.parametrize(
    "replace",
    [
        "sensors fail, and chat exports from WhatsApp or Telegram arrive garbled",
        "sensors fail (see arXiv:2303.08774)",
        "sensors fail 1,000,000 times a year",
        "sensors fail between 2019-2023",
    ],
)
def test_a_messaging_app_or_a_number_alone_is_not_contact(replace: str) -> None:
    verdict = assess(_edit("sensors fail", replace))
    assert verdict.score < 1.0
    assert ("contact_handle", 1.0) not in {(s.code, s.weight) for s in verdict.signals}


def test_sales_talk_weighs_half_a_term_and_holds_with_two() -> None:
    one = assess(_edit("sensors fail", "sensors fail, guaranteed"))
    assert one.codes == ("sales_pitch",) and one.score == 0.5
    two = assess(_edit("Outliers", "WriteGenius, the best tool #1 for students"))
    assert "sales_pitch" in two.codes and two.suspicious
    plug = assess(_edit("sensors fail", "sensors fail. Try SuperClean™, the #1 cleaning tool"))
    assert plug.signals[0].code == "sales_pitch" and plug.signals[0].weight == 1.0
    # A lesson that already talks of discounts gives a suggestion no sales term to bring.
    lesson = LESSON + "\nA shop's discount codes are data too."
    assert "sales_pitch" not in assess(_edit("sensors fail", "a discount", lesson=lesson)).codes


def test_praise_with_a_link_is_held_but_praise_alone_only_counts() -> None:
    linked = assess(_edit("Duplicates", "Nice post! more at techhub-deals.store"))
    assert "praise_with_link" in linked.codes and linked.suspicious
    assert linked.signals[0].params["domains"] == "techhub-deals.store"
    alone = assess(_edit("sensors fail", "sensors fail, great article"))
    assert alone.codes == ("praise",) and not alone.suspicious
    assert assess(_edit("sensors fail", "sensors break down")).codes == ()


@pytest.mark.parametrize(
    ("lesson", "locale", "find", "replace"),
    [
        (LESSON, "en", "Keep about 20% of the rows", "My cat loves sleeping on the keyboard"),
        (LESSON, "en", "People make typos", "flurbing the zondle makes kripsy wunks"),
        (LESSON, "en", "Real-world data is messy.", "Football tonight?"),
        (ZH_LESSON, "zh", "训练集用来教模型", "今天天气真好，我们去踢足球吧"),
        (HI_LESSON, "hi", "अच्छे उत्तर के एक या दो उदाहरण दें।", "मेरी बिल्ली को दूध बहुत पसंद है"),
        (AR_LESSON, "ar", "يرتكب الناس أخطاء إملائية.", "من سيفوز بكأس العالم هذا العام برأيكم؟"),
        (TE_LESSON, "te", "సంఖ్యలు, పదాలు", "నిన్న క్రికెట్ మ్యాచ్ చూశాను, మా జట్టు గెలిచింది"),
    ],
)
def test_a_replacement_about_something_else_is_off_topic(
    lesson: str, locale: str, find: str, replace: str
) -> None:
    verdict = assess(_edit(find, replace, lesson=lesson, locale=locale))
    assert "off_topic" in verdict.codes and verdict.suspicious


@pytest.mark.parametrize(
    ("lesson", "locale", "find", "replace"),
    [
        # A fixed typo, a synonym, a translation fix: they keep the passage's n-grams.
        (LESSON, "en", "People make typos", "People make typoes"),
        (LESSON, "en", "sensors fail", "sensors break down"),
        (LESSON, "en", "Outliers", "Anomalies"),
        (ZH_LESSON, "zh", "训练集用来教模型", "训练集用于训练模型"),
        (AR_LESSON, "ar", "يرتكب الناس أخطاء إملائية", "يقع الناس في أخطاء إملائية"),
        (HI_LESSON, "hi", "किसके लिए है", "किसके लिए लिखा गया है"),
        (TE_LESSON, "te", "నమోదు చేసిన పరిశీలనలు", "రికార్డ్ చేసిన పరిశీలనలు"),
        # A code example carries no words of the lesson, and needs none.
        (LESSON, "en", "Missing values", "Missing values: `df.isna().sum()`\ndf = df.dropna()"),
    ],
)
def test_rewrites_translations_and_code_stay_on_topic(
    lesson: str, locale: str, find: str, replace: str
) -> None:
    verdict = assess(_edit(find, replace, lesson=lesson, locale=locale))
    assert "off_topic" not in verdict.codes and not verdict.suspicious


def test_an_addition_unlike_the_lesson_is_only_a_hint() -> None:
    find = "Outliers"
    added = assess(_edit(find, "Outliers: points that lie far away from most other observations"))
    assert added.codes == ("off_topic",) and added.score == 0.4
    linked = assess(_edit("sensors fail", "sensors fail. I love pizza on sundays, see fun.net"))
    assert {"off_topic", "new_link"} <= set(linked.codes) and linked.suspicious


@pytest.mark.parametrize(
    ("lesson", "locale", "replace"),
    [
        (LESSON, "en", "lol lol lol"),
        (LESSON, "en", "test test 123"),
        (LESSON, "en", "hahaha"),
        (LESSON, "en", "sooooo cool"),
        (ZH_LESSON, "zh", "啊啊啊"),
        (ZH_LESSON, "zh", "哈哈"),
        (AR_LESSON, "ar", "ههههههه"),
        (HI_LESSON, "hi", "हाहाहा"),
        (LESSON, "en", "😂😂😂"),
    ],
)
def test_laughs_tests_and_stretched_letters_are_nonsense(
    lesson: str, locale: str, replace: str
) -> None:
    verdict = assess(_edit("x", replace, lesson=lesson, locale=locale))
    assert "nonsense" in verdict.codes and verdict.suspicious
    assert "off_topic" not in verdict.codes  # one reason, said once


@pytest.mark.parametrize(
    ("find", "replace"),
    [
        ("a test set checks it", "a test set tests it"),
        ("Keep about 20% of the rows", "Keep about 20% of the rows, e.g. 200 of 1000"),
        ("sensors fail", "sensors fail (see the pandas docs)"),
    ],
)
def test_words_of_the_passage_are_not_nonsense(find: str, replace: str) -> None:
    lesson = LESSON + "\nA test set checks it."
    assert "nonsense" not in assess(_edit(find, replace, lesson=lesson)).codes


@pytest.mark.parametrize(
    ("lesson", "locale", "replace", "foreign"),
    [
        (HI_LESSON, "hi", "Nhà cái uy tín, cá cược bóng đá trực tuyến", True),
        (LESSON, "en", "Nhà cái uy tín, cá cược bóng đá", True),
        (LESSON, "en", "Zakłady bukmacherskie, wejdź już dziś", True),
        (LESSON, "en", "umlauts like ä, ö and ü garbled, or é and ñ", False),
        (LESSON, "fr", "un modèle naïf qui a déjà échoué", False),
        (HI_LESSON, "hi", "उदाहरण (naïve Bayes)", False),
    ],
)
def test_letters_of_another_languages_alphabet_are_flagged(
    lesson: str, locale: str, replace: str, foreign: bool
) -> None:
    verdict = assess(_edit("x", replace, lesson=lesson, locale=locale))
    assert ("foreign_letters" in verdict.codes) is foreign


def test_a_reference_link_around_the_passages_words_is_not_held() -> None:
    wiki = assess(_edit("Outliers", "[Outliers](https://en.wikipedia.org/wiki/Outlier)"))
    assert wiki.codes == ("new_link",) and wiki.signals[0].weight == 0.2
    assert not wiki.suspicious
    see = assess(_edit("Outliers", "Outliers (see https://en.wikipedia.org/wiki/Outlier)"))
    assert not see.suspicious
    # The same wrapping around a site no one cites is still a link in place of the passage.
    shop = assess(_edit("Outliers", "[Outliers](https://deals-now.shop/)"))
    assert "link_only" in shop.codes and shop.suspicious
    # A reference link that drops the passage is still little more than a link.
    bare = assess(_edit("sensors fail", "https://en.wikipedia.org/wiki/Sensor"))
    assert "link_only" in bare.codes and bare.suspicious


def test_a_bare_domain_counts_as_a_link() -> None:
    verdict = assess(_edit("sensors fail", "sensors fail, visit mystore.live"))
    assert "new_link" in verdict.codes


@pytest.mark.parametrize("locale", LOCALES)
def test_the_new_signals_explain_themselves_in_every_locale(locale: str) -> None:
    edits = [
        _edit("Keep", "DM me on WhatsApp +34 612 345 678, best price, guaranteed"),
        _edit("Duplicates", "Nice post! more at techhub-deals.store"),
        _edit("Keep about 20% of the rows", "My cat loves sleeping on the keyboard"),
        _edit("x", "lol lol lol"),
        _edit("x", "Nhà cái uy tín, cá cược bóng đá"),
        _edit("sensors fail", "sensors fail, great article"),
    ]
    codes: set[str] = set()
    for edit in edits:
        for signal in assess(edit).signals:
            text = signal.explain(locale)
            codes.add(signal.code)
            assert not re.search(rf"\b{signal.code}\b", text) and "{" not in text
            assert "moderation.signal" not in text
            assert text != t("en", f"moderation.signal.{signal.code}", **signal.params) or (
                locale == "en"
            )
    assert codes >= {
        "contact_handle",
        "sales_pitch",
        "praise_with_link",
        "praise",
        "off_topic",
        "nonsense",
        "foreign_letters",
    }


@pytest.mark.parametrize(
    ("find", "replace", "same", "burst"),
    [
        ("People make typos", "People make typing mistakes", 0, 0),
        ("People make typos", "People make typing mistakes", 3, 0),
        ("sensors fail", "sensors break down", 0, 6),
        ("sensors fail", "Visit https://lucky-spins.xyz now", 2, 9),
    ],
)
def test_counts_added_after_the_text_give_the_verdict_of_everything_at_once(
    find: str, replace: str, same: int, burst: int
) -> None:
    # The intake judges the text before its transaction and adds the counts it reads there.
    whole = assess(_edit(find, replace, same_text_lessons=same, recent_from_person=burst))
    later = with_counts(assess(_edit(find, replace)), same, burst)

    assert sorted(later.codes) == sorted(whole.codes)
    assert (later.score, later.suspicious) == (whole.score, whole.suspicious)
