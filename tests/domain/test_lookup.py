"""Which lesson a person means by what they typed, and which ones come closest when none."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain.catalogue import Catalogue, load_catalogue
from bot.domain.lookup import closest_lessons, find_lesson, fold, lookup_lesson
from tests.conftest import PROJECT, write_lesson

LESSONS = PROJECT / "lessons"
LESSON = "---\ntitle: {}\ndescription: A lesson.\n{}---\nBody.\n"


@pytest.fixture(scope="module")
def sample() -> Catalogue:
    """Return the project's sample lessons: two programs, in en, es and ar."""
    return load_catalogue(LESSONS)


def named(catalogue: Catalogue, typed: str) -> str | None:
    found = find_lesson(catalogue.ordered_lessons(), typed)
    return found.identity if found else None


def closest(catalogue: Catalogue, typed: str) -> list[str]:
    return [lesson.identity for lesson in closest_lessons(catalogue.ordered_lessons(), typed)]


@pytest.mark.parametrize(
    "typed",
    [
        "data-basics/what-is-data",
        "  Data-Basics/What-Is-Data ",
        "what-is-data",  # a slug only one program has
        "What is data",
        "What Is Data?",  # a title, in any of its languages
        "¿qué son los datos?",
        "ما هي البيانات؟",
        "https://example.org/es/programs/data-basics/lessons/what-is-data",
        "https://example.org/es/programs/data-basics/lessons/what-is-data/?utm=x#quiz",
        "http://localhost:8080/lessons/data-basics/what-is-data/suggest?locale=ar",
        "programs/data-basics/lessons/es/what-is-data.mdx",
        "https://example.org/lessons/what-is-data.html",  # no program in it: the slug
        "https://example.org/%64ata-basics/what-is-data",
    ],
)
def test_a_lesson_is_found_by_what_people_paste(sample: Catalogue, typed: str) -> None:
    assert named(sample, typed) == "data-basics/what-is-data"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "data-basics",
        "what-is-dat",
        "prompt-craft/what-is-data",
        "data-basics/nope",
        "data-basics/what-is-data/../../x",
        "../../etc/passwd",
    ],
)
def test_nothing_is_found_for_what_names_no_lesson(sample: Catalogue, typed: str) -> None:
    assert named(sample, typed) is None


def test_a_slug_or_title_two_lessons_share_names_neither(tmp_path: Path) -> None:
    for program in ("alpha", "beta"):
        write_lesson(
            tmp_path, f"programs/{program}/lessons/en/intro.mdx", LESSON.format("Intro", "")
        )
    catalogue = load_catalogue(tmp_path)

    assert named(catalogue, "intro") is None
    assert named(catalogue, "Intro") is None
    assert named(catalogue, "beta/intro") == "beta/intro"
    # Both are offered instead, in catalogue order.
    assert closest(catalogue, "intro") == ["alpha/intro", "beta/intro"]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("data-basics/what-is-dat", ["data-basics/what-is-data"]),
        ("data-basic/what-is-data", ["data-basics/what-is-data"]),
        ("whta-is-data", ["data-basics/what-is-data"]),
        ("prompt-craft/clear-instruction", ["prompt-craft/clear-instructions"]),
        ("Limpiesa de datos", ["data-basics/cleaning-data"]),
        ("تنظيف البيانات.", ["data-basics/cleaning-data"]),
        ("https://example.org/en/programs/data-basics/lessons/clening-data", None),
    ],
)
def test_a_typo_comes_closest_to_the_lesson_meant(
    sample: Catalogue, typed: str, expected: list[str] | None
) -> None:
    found = closest(sample, typed)
    if expected is None:
        assert found[0] == "data-basics/cleaning-data"
    else:
        assert found[: len(expected)] == expected


def test_at_most_three_are_offered_best_first(tmp_path: Path) -> None:
    for slug in ("intro-five", "intro-four", "intro-one", "intro-three", "intro"):
        write_lesson(tmp_path, f"programs/p/lessons/en/{slug}.mdx", LESSON.format(slug, ""))
    catalogue = load_catalogue(tmp_path)

    # Closest first; "intro-five" and "intro-four" are as close, so catalogue order decides.
    assert closest(catalogue, "intrro") == ["p/intro", "p/intro-one", "p/intro-five"]
    assert closest(catalogue, "zzzz-qqqq/xxxxxxx") == []
    assert closest_lessons(catalogue.ordered_lessons(), "intro", limit=0) == []


def test_a_right_program_with_a_wrong_slug_offers_none_of_its_lessons(
    sample: Catalogue,
) -> None:
    assert closest(sample, "data-basics/nope") == []
    assert closest(sample, "data-basics/data") == [
        "data-basics/what-is-data",
        "data-basics/cleaning-data",
    ]
    # A wrong program with a right slug still finds it.
    assert closest(sample, "prompt-craft/what-is-data") == ["data-basics/what-is-data"]


def test_lookup_offers_only_published_usable_lessons_and_an_example(tmp_path: Path) -> None:
    write_lesson(tmp_path, "programs/p/lessons/en/first.mdx", LESSON.format("First", ""))
    write_lesson(
        tmp_path, "programs/p/lessons/en/draft.mdx", LESSON.format("Drafty", "published: false\n")
    )
    write_lesson(tmp_path, "programs/p/lessons/en/broken.mdx", "no front matter\n")
    catalogue = load_catalogue(tmp_path)

    assert lookup_lesson(catalogue, "p/draft").lesson is not None  # named: found
    assert lookup_lesson(catalogue, "p/broken").lesson is None  # cannot be linked
    missed = lookup_lesson(catalogue, "p/draf")
    assert missed.lesson is None and missed.closest == ()  # a draft is never offered
    assert missed.example is not None and missed.example.identity == "p/first"
    typo = lookup_lesson(catalogue, "p/frist")
    assert [lesson.identity for lesson in typo.closest] == ["p/first"]


def test_an_empty_catalogue_offers_nothing(tmp_path: Path) -> None:
    (tmp_path / "programs").mkdir()
    found = lookup_lesson(load_catalogue(tmp_path), "p/s")
    assert (found.lesson, found.closest, found.example) == (None, (), None)


def test_fold_is_what_the_directory_searches_with() -> None:
    assert fold("¿Qué son los DATOS?") == "que son los datos"
    assert fold("data-basics/What_Is") == "data basics/what is"
