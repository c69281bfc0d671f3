"""Questions: marks and interrogatives in every locale; code, quotes and URLs ignored."""

# ruff: noqa: RUF001

from __future__ import annotations

import pytest

from bot.domain.questions import LOCALES, Reply, Rule, classify, is_substantive, reply_verdict

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


# --- Does a later message answer? ---------------------------------------------------------

THANKS, PRAISE, AGREEMENT, ME_TOO = Reply.THANKS, Reply.PRAISE, Reply.AGREEMENT, Reply.ME_TOO
LAUGHTER, FOLLOW_UP, QUESTION = Reply.LAUGHTER, Reply.FOLLOW_UP, Reply.QUESTION

# Real chatter after a question, by locale: none of it answers anything.
NOT_ANSWERS = [
    ("en", "Great lesson, thanks!", PRAISE),
    ("en", "+1, same here", AGREEMENT),
    ("en", "Thanks!", THANKS),
    ("en", "thank you so much", THANKS),
    ("en", "Thanks Sam!", THANKS),
    ("en", "me too", ME_TOO),
    ("en", "Same here.", ME_TOO),
    ("en", "I have the same question", ME_TOO),
    ("en", "This worked for me too", ME_TOO),
    ("en", "lol", LAUGHTER),
    ("en", "any update?", FOLLOW_UP),
    ("en", "Thanks! Any update?", THANKS),
    ("en", "ok", AGREEMENT),
    ("en", "nice", PRAISE),
    ("en", "Wow, what a great explanation!", PRAISE),
    ("en", "No idea, sorry.", Reply.NO_IDEA),
    ("en", "Did you restart it?", QUESTION),
    ("en", "> How do I plot this?\nThanks for asking 🙏", THANKS),
    ("es", "¡Gran lección, gracias!", PRAISE),
    ("es", "Muchas gracias", THANKS),
    ("es", "+1, a mí también", AGREEMENT),
    ("es", "Yo también", ME_TOO),
    ("es", "Tengo la misma duda", ME_TOO),
    ("es", "Me pasa lo mismo", ME_TOO),
    ("es", "jajaja", LAUGHTER),
    ("es", "¿Alguna novedad?", FOLLOW_UP),
    ("es", "vale", AGREEMENT),
    ("es", "¡Qué buena explicación!", PRAISE),
    ("fr", "Super leçon, merci !", PRAISE),
    ("fr", "Merci beaucoup", THANKS),
    ("fr", "Moi aussi", ME_TOO),
    ("fr", "Pareil", ME_TOO),
    ("fr", "J'ai la même question", ME_TOO),
    ("fr", "mdr", LAUGHTER),
    ("fr", "Des nouvelles ?", FOLLOW_UP),
    ("fr", "Très bien expliqué, merci", PRAISE),
    ("nl", "Leuke les, bedankt!", PRAISE),
    ("nl", "Dank je wel", THANKS),
    ("nl", "Ik ook", ME_TOO),
    ("nl", "Zelfde probleem hier", ME_TOO),
    ("nl", "Ik heb dezelfde vraag", ME_TOO),
    ("nl", "Al nieuws?", FOLLOW_UP),
    ("nl", "oké", AGREEMENT),
    ("nl", "Helemaal mee eens", AGREEMENT),
    ("ar", "درس رائع، شكراً!", PRAISE),
    ("ar", "شكرا جزيلا", THANKS),
    ("ar", "وأنا أيضاً", ME_TOO),
    ("ar", "عندي نفس السؤال", ME_TOO),
    ("ar", "نفس المشكلة", ME_TOO),
    ("ar", "هههههه", LAUGHTER),
    ("ar", "أي جديد؟", FOLLOW_UP),
    ("ar", "تمام", AGREEMENT),
    ("ar", "جميل", PRAISE),
    ("hi", "बहुत बढ़िया पाठ, धन्यवाद!", PRAISE),
    ("hi", "बहुत धन्यवाद", THANKS),
    ("hi", "मैं भी", ME_TOO),
    ("hi", "मेरा भी यही सवाल है", ME_TOO),
    ("hi", "हाहा", LAUGHTER),
    ("hi", "कोई अपडेट?", FOLLOW_UP),
    ("hi", "ठीक है", AGREEMENT),
    ("hi", "बढ़िया", PRAISE),
    ("te", "చాలా మంచి పాఠం, ధన్యవాదాలు!", PRAISE),
    ("te", "ధన్యవాదాలు", THANKS),
    ("te", "నేను కూడా", ME_TOO),
    ("te", "నాకు కూడా అదే ప్రశ్న ఉంది", ME_TOO),
    ("te", "హహ", LAUGHTER),
    ("te", "ఏదైనా అప్‌డేట్?", FOLLOW_UP),
    ("te", "సరే", AGREEMENT),
    ("te", "సూపర్", PRAISE),
    ("zh", "很棒的课，谢谢！", PRAISE),
    ("zh", "谢谢", THANKS),
    ("zh", "我也是", ME_TOO),
    ("zh", "同问", ME_TOO),
    ("zh", "我也有同样的问题", ME_TOO),
    ("zh", "哈哈哈", LAUGHTER),
    ("zh", "有更新吗？", FOLLOW_UP),
    ("zh", "好的", AGREEMENT),
    ("zh", "不错", PRAISE),
]


@pytest.mark.parametrize(("locale", "text", "reason"), NOT_ANSWERS)
def test_chatter_in_every_locale_answers_nothing(locale: str, text: str, reason: Reply) -> None:
    verdict = reply_verdict(text)
    assert not verdict.substantive
    assert verdict.reason == reason, verdict
    # The verdict names the phrase that decided it, and its language where only one has it.
    assert verdict.cue


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("👍", Reply.EMOJI_ONLY),
        ("🙏🙏", Reply.EMOJI_ONLY),
        ("<:party:123456789012345678>", Reply.EMOJI_ONLY),
        ("https://example.org/en/programs/data/lessons/cleaning", Reply.LINK_ONLY),
        ("see https://example.org/docs", Reply.LINK_ONLY),
        ("No.", Reply.TOO_SHORT),
        ("hmm", Reply.TOO_SHORT),
        ("...", Reply.TOO_SHORT),
        ("", Reply.EMPTY),
    ],
)
def test_emoji_links_and_scraps_answer_nothing(text: str, reason: Reply) -> None:
    verdict = reply_verdict(text)
    assert (verdict.substantive, verdict.reason) == (False, reason)


# Real answers, short ones and ones that open with thanks, by locale.
ANSWERS = [
    ("en", "Use df.dropna() before plotting."),
    ("en", "It's in the second cell: set axis=1."),
    ("en", "Thanks! You need to restart the kernel after installing."),
    ("en", "You need to restart the kernel, thanks for asking."),
    ("en", "Thanks for the question: the split keeps 20% for testing."),
    ("en", "Great question! The test set must never be used for training."),
    ("en", "Use df.dropna() before plotting. Does that help?"),
    ("en", "Try `pip install pandas`"),
    ("en", "```python\ndf = df.dropna()\n```"),
    ("en", "See https://pandas.pydata.org for the dropna options."),
    ("en", "> How do I plot this?\nUse plt.show() at the end."),
    ("en", "Use |."),
    ("en", "Restart."),
    ("es", "Usa df.dropna() antes de graficar."),
    ("es", "Está en la segunda celda: pon axis=1."),
    ("es", "¡Gracias! Tienes que reiniciar el kernel después de instalar."),
    ("fr", "Utilise df.dropna() avant de tracer."),
    ("fr", "C'est dans la deuxième cellule : mets axis=1."),
    ("fr", "Merci ! Il faut redémarrer le noyau après l'installation."),
    ("nl", "Gebruik df.dropna() voordat je plot."),
    ("nl", "Het staat in de tweede cel: zet axis=1."),
    ("nl", "Bedankt! Je moet de kernel herstarten na het installeren."),
    ("ar", "استخدم df.dropna() قبل الرسم."),
    ("ar", "موجود في الخلية الثانية: اضبط axis=1."),
    ("ar", "شكراً! يجب إعادة تشغيل النواة بعد التثبيت."),
    ("hi", "प्लॉट करने से पहले df.dropna() इस्तेमाल करें।"),
    ("hi", "यह दूसरे सेल में है: axis=1 सेट करें।"),
    ("hi", "धन्यवाद! इंस्टॉल करने के बाद कर्नेल को रीस्टार्ट करना होगा।"),
    ("te", "ప్లాట్ చేసే ముందు df.dropna() వాడండి."),
    ("te", "అది రెండో సెల్‌లో ఉంది: axis=1 పెట్టండి."),
    ("te", "ధన్యవాదాలు! ఇన్‌స్టాల్ చేసిన తర్వాత కెర్నల్‌ను రీస్టార్ట్ చేయాలి."),
    ("zh", "画图之前先用 df.dropna()。"),
    ("zh", "在第二个单元格里：设置 axis=1。"),
    ("zh", "谢谢！安装之后需要重启内核。"),
]


@pytest.mark.parametrize(("locale", "text"), ANSWERS)
def test_answers_in_every_locale_count_even_with_thanks(locale: str, text: str) -> None:
    verdict = reply_verdict(text)
    assert verdict.substantive, verdict
    assert verdict.reason == Reply.ANSWER
    assert is_substantive(text, locale)


def test_every_locale_is_covered_both_ways() -> None:
    assert {locale for locale, _, _ in NOT_ANSWERS} == set(LOCALES)
    assert {locale for locale, _ in ANSWERS} == set(LOCALES)


def test_thanks_then_an_answer_names_the_answer_as_its_cue() -> None:
    verdict = reply_verdict("Gracias! Tienes que reiniciar el kernel.")
    assert verdict.cue == "Tienes que reiniciar el kernel."
