"""A learner's own post names its lesson by a link, its slug or a title in any locale."""

from __future__ import annotations

import pytest

from bot.domain.help_posts import LessonCandidate, Named, match_lesson, rank
from bot.domain.questions import guess_locale

PAGE = "https://example.org/{locale}/programs/data-basics/lessons/{slug}"
ISSUES = "https://github.com/lessons/content/issues"


def lesson(slug: str, thread: int, issue: int, **titles: str) -> LessonCandidate:
    return LessonCandidate(
        identity=f"data-basics/{slug}",
        slug=slug,
        titles=titles,
        page_urls=tuple(PAGE.format(locale=locale, slug=slug) for locale in titles),
        thread_id=thread,
        issue_url=f"{ISSUES}/{issue}",
    )


LESSONS = [
    lesson(
        "what-is-data",
        101,
        1,
        en="What Is Data?",
        es="¿Qué son los datos?",
        ar="ما هي البيانات؟",
    ),
    lesson(
        "cleaning-data",
        102,
        2,
        en="Cleaning Data",
        es="Limpieza de datos",
        ar="تنظيف البيانات",
        zh="数据清洗",
        hi="डेटा की सफ़ाई",
        te="డేటా శుభ్రపరచడం",
        fr="Nettoyer les données",
        nl="Data opschonen",
    ),
    lesson("train-test-split", 103, 3, en="Train and Test Split", es="División en entrenamiento"),
]


@pytest.mark.parametrize(
    ("text", "identity", "how"),
    [
        # Links: the page in any locale (a trailing slash, a query or case change nothing),
        # the lesson's Discord post (a link or a #mention), its GitHub issue.
        (
            "Stuck here: https://example.org/es/programs/data-basics/lessons/cleaning-data/?x=1",
            "data-basics/cleaning-data",
            Named.PAGE_LINK,
        ),
        (
            "Quiz broken (https://EXAMPLE.org/en/programs/data-basics/lessons/what-is-data)",
            "data-basics/what-is-data",
            Named.PAGE_LINK,
        ),
        (
            "Following up on https://discord.com/channels/9/103/103",
            "data-basics/train-test-split",
            Named.POST_LINK,
        ),
        # Where `discord.web_url` points, as in the sandbox's viewer.
        (
            "Like http://127.0.0.1:8089/channels/9/101/101 says",
            "data-basics/what-is-data",
            Named.POST_LINK,
        ),
        ("Same as in <#102>, my plot is empty", "data-basics/cleaning-data", Named.POST_LINK),
        (f"See {ISSUES}/1#issuecomment-5", "data-basics/what-is-data", Named.ISSUE_LINK),
        # Slugs and identities, typed.
        ("train-test-split: why 80/20", "data-basics/train-test-split", Named.SLUG),
        ("Help with data-basics/cleaning-data", "data-basics/cleaning-data", Named.SLUG),
        # Titles, in every locale the catalogue has them, without case or accents.
        ("Stuck on the cleaning data quiz", "data-basics/cleaning-data", Named.TITLE),
        ("Duda con Limpieza de Datos", "data-basics/cleaning-data", Named.TITLE),
        ("No entiendo: que son los datos", "data-basics/what-is-data", Named.TITLE),
        ("Question sur Nettoyer les données", "data-basics/cleaning-data", Named.TITLE),
        ("Vraag over data opschonen", "data-basics/cleaning-data", Named.TITLE),
        ("مشكلة في درس تنظيف البيانات", "data-basics/cleaning-data", Named.TITLE),
        ("डेटा की सफ़ाई वाले पाठ में दिक्कत", "data-basics/cleaning-data", Named.TITLE),
        ("డేటా శుభ్రపరచడం పాఠంలో సందేహం", "data-basics/cleaning-data", Named.TITLE),
        ("数据清洗那一课的测验卡住了", "data-basics/cleaning-data", Named.TITLE),
        # A link wins over a title that names another lesson.
        (
            "Cleaning Data? No: https://example.org/en/programs/data-basics/lessons/what-is-data",
            "data-basics/what-is-data",
            Named.PAGE_LINK,
        ),
    ],
)
def test_a_post_names_its_lesson(text: str, identity: str, how: Named) -> None:
    found = match_lesson(text, LESSONS)
    assert found is not None
    assert (found.identity, found.how) == (identity, how)


@pytest.mark.parametrize(
    "text",
    [
        "Stuck on the quiz in lesson 3",  # a number is no name
        "My data is messy",  # "data" alone is an everyday word
        "https://example.org/en/programs/other/lessons/cleaning-data",  # another program
        "https://discord.com/channels/9/555/555",  # another post
        f"{ISSUES}/99",  # another issue
        # Two lessons named as surely: the author picks.
        "Cleaning Data or Train and Test Split first?",
    ],
)
def test_a_post_that_names_no_single_lesson_gets_none(text: str) -> None:
    assert match_lesson(text, LESSONS) is None


def test_the_longer_title_wins_over_one_inside_it() -> None:
    short = LessonCandidate("p/data", "data", {"en": "Data basics"})
    longer = LessonCandidate("p/more", "more", {"en": "Data basics in practice"})
    found = match_lesson("Question on data basics in practice", [short, longer])
    assert found is not None and found.identity == "p/more"


def test_the_picker_offers_the_likeliest_lessons_first() -> None:
    ranked = rank("My train/test split leaks data", LESSONS)
    assert [c.slug for c in ranked] == ["train-test-split", "what-is-data", "cleaning-data"]
    # Nothing in common: catalogue order.
    assert [c.slug for c in rank("quiz 3", LESSONS)] == [c.slug for c in LESSONS]


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("Stuck on the quiz in lesson 3", "en"),
        ("Atascado en el cuestionario de la lección 3", "es"),
        ("Bloqué sur le quiz de la leçon 3", "fr"),
        ("Ik zit vast bij de quiz van les 3", "nl"),
        ("عالق في اختبار الدرس ٣", "ar"),
        ("पाठ 3 की क्विज़ में अटक गया", "hi"),
        ("పాఠం 3 క్విజ్‌లో ఇరుక్కుపోయాను", "te"),
        ("第三课的测验卡住了", "zh"),
    ],
)
def test_the_language_of_a_post_is_guessed_for_the_picker(text: str, locale: str) -> None:
    assert guess_locale(text, "en") == locale


def test_an_unknown_language_falls_back() -> None:
    assert guess_locale("xyz 123", "nl") == "nl"
