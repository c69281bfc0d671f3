"""The lesson directory finds lessons by what people type and describes them in their locale."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain.catalogue import load_catalogue
from bot.services.lessons import LessonDirectory, LessonSummary, fold
from tests.conftest import FIXTURES, PROJECT, write_lesson

LESSONS = PROJECT / "lessons"
CONTENT = FIXTURES / "content"
LESSON = "---\ntitle: {}\ndescription: A lesson.\n---\nBody.\n"


@pytest.fixture(scope="module")
def directory() -> LessonDirectory:
    """Return the directory of the project's own sample lessons (en, es, ar)."""
    return LessonDirectory(load_catalogue(LESSONS), "en")


def identities(directory: LessonDirectory, query: str, locale: str = "en") -> list[str]:
    return [choice.identity for choice in directory.search(query, locale)]


def test_fold_drops_case_accents_harakat_and_punctuation() -> None:
    assert fold("¿Qué son los DATOS?") == "que son los datos"
    assert fold("Few-Shot  Prompting") == "few shot prompting"
    assert fold("data-basics/what-is-data") == "data basics/what is data"
    assert fold("تَعَلُّم") == "تعلم"  # Arabic vowel marks are combining marks
    assert fold("\uff24\uff41\uff54\uff41") == "data"  # full-width letters: compatibility forms


def test_empty_query_lists_every_lesson_by_program_then_order(
    directory: LessonDirectory,
) -> None:
    assert identities(directory, "") == [
        "data-basics/what-is-data",
        "data-basics/cleaning-data",
        "data-basics/train-test-split",
        "prompt-craft/clear-instructions",
        "prompt-craft/few-shot-examples",
        "prompt-craft/checking-answers",
    ]


def test_exact_identity_comes_first(directory: LessonDirectory) -> None:
    # "data" is a substring of "cleaning-data" too, but the identity asked for wins.
    assert identities(directory, "data-basics/cleaning-data")[0] == "data-basics/cleaning-data"
    assert identities(directory, "DATA-BASICS/cleaning-data")[0] == "data-basics/cleaning-data"


def test_prefix_ranks_before_substring(directory: LessonDirectory) -> None:
    # Both slugs begin with "clea": equal rank, so catalogue order decides.
    assert identities(directory, "clea") == [
        "data-basics/cleaning-data",
        "prompt-craft/clear-instructions",
    ]
    # "data" begins the data-basics identities (a program prefix).
    assert identities(directory, "data") == [
        "data-basics/what-is-data",
        "data-basics/cleaning-data",
        "data-basics/train-test-split",
    ]
    # "split" begins no slug, title or identity: a substring match only.
    assert identities(directory, "split") == ["data-basics/train-test-split"]


def test_a_later_prefix_outranks_an_earlier_substring(tmp_path: Path) -> None:
    write_lesson(tmp_path, "programs/alpha/lessons/en/intro.mdx", LESSON.format("Intro to cats"))
    write_lesson(tmp_path, "programs/beta/lessons/en/home.mdx", LESSON.format("Cats at home"))
    directory = LessonDirectory(load_catalogue(tmp_path), "en")
    assert identities(directory, "cats") == ["beta/home", "alpha/intro"]
    assert identities(directory, "") == ["alpha/intro", "beta/home"]


def test_matches_titles_in_the_locale_without_accents(directory: LessonDirectory) -> None:
    choices = directory.search("que son", "es-ES")
    assert [choice.identity for choice in choices] == ["data-basics/what-is-data"]
    assert choices[0].title == "¿Qué son los datos?"
    assert choices[0].program_title == "Fundamentos de datos"
    assert identities(directory, "DIVISIÓN", "es") == ["data-basics/train-test-split"]
    assert identities(directory, "division", "es") == ["data-basics/train-test-split"]


def test_matches_arabic_titles(directory: LessonDirectory) -> None:
    choices = directory.search("تنظيف", "ar")
    assert [choice.identity for choice in choices] == ["data-basics/cleaning-data"]
    assert choices[0].title == "تنظيف البيانات"
    assert choices[0].program_title == "أساسيات البيانات"
    # With vowel marks typed, the same lesson is found.
    assert identities(directory, "تَنْظِيف", "ar") == ["data-basics/cleaning-data"]


def test_english_titles_match_in_every_locale(directory: LessonDirectory) -> None:
    choices = directory.search("cleaning data", "ar")
    assert [choice.identity for choice in choices] == ["data-basics/cleaning-data"]
    assert choices[0].title == "تنظيف البيانات"  # found by English, shown in Arabic


def test_words_in_any_order_match_last(directory: LessonDirectory) -> None:
    assert identities(directory, "data cleaning") == ["data-basics/cleaning-data"]
    assert identities(directory, "nothing like this") == []


def test_locales_without_files_fall_back_to_english_titles(directory: LessonDirectory) -> None:
    choices = directory.search("what is", "zh-CN")
    assert [choice.title for choice in choices] == ["What Is Data?"]
    assert choices[0].program_title == "Data Basics"


def test_limit_caps_the_results(directory: LessonDirectory) -> None:
    assert len(directory.search("", "en", limit=4)) == 4
    assert directory.search("", "en", limit=0) == []


def test_limit_defaults_to_discords_25(tmp_path: Path) -> None:
    for number in range(30):
        write_lesson(
            tmp_path,
            f"programs/big/lessons/en/lesson-{number:02}.mdx",
            f"---\ntitle: Lesson {number}\ndescription: d\norder: {number + 1}\n---\n",
        )
    directory = LessonDirectory(load_catalogue(tmp_path), "en")
    found = directory.search("lesson", "en")
    assert len(found) == 25
    assert found[0].identity == "big/lesson-00" and found[-1].identity == "big/lesson-24"


def test_describe_in_the_users_locale(directory: LessonDirectory) -> None:
    summary = directory.describe("data-basics/what-is-data", "es-ES")
    assert summary == LessonSummary(
        identity="data-basics/what-is-data",
        title="¿Qué son los datos?",
        description=(
            "Descubre qué significan los datos para la IA y las distintas formas que pueden adoptar"
        ),
        program_title="Fundamentos de datos",
        locale="es",
        locales=("ar", "en", "es"),
    )


def test_describe_falls_back_to_the_default_locale(directory: LessonDirectory) -> None:
    summary = directory.describe("prompt-craft/few-shot-examples", "fr")
    assert summary is not None
    assert summary.locale == "en"
    assert summary.title == "Giving Examples: Few-Shot Prompting"
    assert summary.program_title == "Prompt Craft"


def test_describe_unknown_lesson_is_none(directory: LessonDirectory) -> None:
    assert directory.describe("data-basics/no-such-lesson", "en") is None
    assert directory.describe("", "en") is None


def test_describe_tolerates_case_and_spaces(directory: LessonDirectory) -> None:
    summary = directory.describe("  Data-Basics/What-Is-Data ", "ar")
    assert summary is not None and summary.title == "ما هي البيانات؟"


def test_describe_builds_the_lesson_url_in_the_shown_locale() -> None:
    directory = LessonDirectory(
        load_catalogue(LESSONS),
        "en",
        lesson_url_template="https://example.org/{locale}/programs/{program}/lessons/{slug}",
    )
    spanish = directory.describe("data-basics/what-is-data", "es")
    french = directory.describe("data-basics/what-is-data", "fr")
    assert spanish is not None and french is not None
    assert spanish.url == "https://example.org/es/programs/data-basics/lessons/what-is-data"
    assert french.url == "https://example.org/en/programs/data-basics/lessons/what-is-data"


def test_drafts_are_hidden_unless_asked_for() -> None:
    catalogue = load_catalogue(CONTENT)  # demo/arrays has published: false
    hidden = LessonDirectory(catalogue, "en")
    assert [choice.identity for choice in hidden.search("", "en")] == ["demo/pipes"]
    assert hidden.describe("demo/arrays", "en") is None
    shown = LessonDirectory(catalogue, "en", include_unpublished=True)
    assert [choice.identity for choice in shown.search("quizzes", "en")] == [
        "demo/pipes",
        "demo/arrays",
    ]


def test_fixture_titles_with_quotes_and_folded_descriptions() -> None:
    directory = LessonDirectory(load_catalogue(CONTENT), "en")
    assert [choice.title for choice in directory.search("pipes", "es")] == [
        'Cuestionarios con barras: "pipes"'
    ]
    summary = directory.describe("demo/pipes", "es")
    assert summary is not None
    assert summary.description == "Una lección de prueba con descripción plegada"
    assert summary.program_title == "Programa de demostración"
    arabic = directory.describe("demo/pipes", "ar")
    assert arabic is not None and arabic.title == "اختبارات بالفواصل"


def test_reload_serves_another_catalogue_in_place(tmp_path: Path) -> None:
    write_lesson(tmp_path, "programs/demo/lessons/en/pipes.mdx", LESSON.format("Pipes"))
    directory = LessonDirectory(load_catalogue(tmp_path), "en")
    write_lesson(tmp_path, "programs/demo/lessons/en/pipes.mdx", LESSON.format("Streams"))
    write_lesson(tmp_path, "programs/demo/lessons/en/queues.mdx", LESSON.format("Queues"))

    directory.reload(load_catalogue(tmp_path))

    assert identities(directory, "streams") == ["demo/pipes"]
    assert identities(directory, "pipes") == ["demo/pipes"]  # the slug still matches
    summary = directory.describe("demo/queues", "en")
    assert summary is not None and summary.title == "Queues"
