"""Questions: marks and interrogatives in every locale; code, quotes and URLs ignored."""

# ruff: noqa: RUF001

from __future__ import annotations

import pytest

from bot.domain.questions import Rule, classify

MARK, OPENING, WORD = Rule.QUESTION_MARK, Rule.OPENING, Rule.WORD
EMBEDDED, PARTICLE = Rule.EMBEDDED, Rule.PARTICLE


@pytest.mark.parametrize(
    ("text", "rule", "locale"),
    [
        # The mark decides; the wording, when it has a locale's opening, names the language.
        ("Does the notebook run on a CPU?", MARK, "en"),
        ("Bonjour?", MARK, None),
        ("¿Funciona esto en Windows?", MARK, "es"),
        ("هل يعمل هذا على ويندوز؟", MARK, "ar"),
        ("这个例子在哪里？", MARK, "zh"),
        ("how do I install this", OPENING, "en"),
        ("Hi all, is there a way to skip the setup step", OPENING, "en"),
        ("I don't understand why the loss goes up", EMBEDDED, "en"),
        ("no entiendo por qué falla el segundo ejemplo", EMBEDDED, "es"),
        ("Cómo cargo el modelo desde el disco", OPENING, "es"),
        ("Comment installer les dépendances sous Linux", OPENING, "fr"),
        ("Je ne comprends pas pourquoi la cellule plante", EMBEDDED, "fr"),
        ("Hoe installeer ik de bibliotheek", OPENING, "nl"),
        ("Ik snap niet waarom de grafiek leeg blijft", EMBEDDED, "nl"),
        ("كيف أحفظ النموذج بعد التدريب", OPENING, "ar"),
        ("لا أفهم لماذا تظهر هذه الرسالة", EMBEDDED, "ar"),
        ("为什么训练这么慢", WORD, "zh"),
        ("这个代码能在手机上运行吗", PARTICLE, "zh"),
        ("क्या यह पाठ शुरुआती लोगों के लिए है", WORD, "hi"),
        ("मैं यह लाइब्रेरी कैसे इंस्टॉल करूं", WORD, "hi"),
        ("ఈ మోడల్‌ను ఎలా సేవ్ చేయాలి", WORD, "te"),
        ("ఈ కోడ్ విండోస్‌లో పని చేస్తుందా", PARTICLE, "te"),
    ],
)
def test_questions_are_found_with_their_rule(text: str, rule: Rule, locale: str | None) -> None:
    verdict = classify(text)
    assert verdict.is_question
    assert (verdict.rule, verdict.locale) == (rule, locale)


@pytest.mark.parametrize(
    "text",
    [
        "This diagram shows how it works.",
        "Nice comment, thanks for the fix.",
        "Comment below if the link breaks.",
        "What a great lesson!",
        "Can you believe how fast that was!",
        "Use `x?.y` to read it safely.",
        "```\nwhy = input('why?')\n```\nThis fixed it.",
        "See https://example.org/page?lang=es for the Spanish version.",
        "> Why does it fail?\nIt needs Python 3.11.",
        ">>> how do I install this?\nRun pip install first.",
        "🎉🎉🎉",
        "?",
        "Me encanta cómo explica el gradiente.",
        "¡Qué bien quedó!",
        "Hoe leuk dat het nu werkt!",
        "Inscrivez-vous pour suivre le cours.",
        "这节课介绍如何训练模型。",
        "没什么，已经好了。",
        "यह पाठ दिखाता है कि मॉडल कैसे सीखता है",
        "ఈ పాఠం మోడల్ ఎలా నేర్చుకుంటుందో చూపిస్తుంది",
        "ما فهمت الدرس جيدا لكن شكرا",
        "Do the exercises before the quiz.",
        "It took 3 hours (?) to train.",
    ],
)
def test_near_misses_are_not_questions(text: str) -> None:
    verdict = classify(text)
    assert not verdict.is_question
    assert verdict.rule is None


def test_a_locale_hint_names_the_locale_of_a_plain_question_mark() -> None:
    assert classify("Works on Mac?", "en").locale == "en"
