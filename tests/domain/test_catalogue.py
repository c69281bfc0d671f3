"""The catalogue finds lessons in the real layout and groups locales under one identity."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.domain.catalogue import (
    describe_character,
    git_blob_sha,
    invalid_character,
    lesson_file_from_text,
    load_catalogue,
    parse_lesson_path,
    parse_lesson_text,
)
from bot.domain.checks import check_content
from bot.domain.markers import find_markers, marker
from tests.conftest import FIXTURES, write_lesson

CONTENT = FIXTURES / "content"
DEFECTS = FIXTURES / "defects"
UNLINKABLE = FIXTURES / "unlinkable"


def test_groups_locale_files_under_one_identity() -> None:
    catalogue = load_catalogue(CONTENT)
    assert sorted(catalogue.lessons) == ["demo/arrays", "demo/pipes"]
    pipes = catalogue.get("demo/pipes")
    assert pipes is not None
    assert pipes.locales == ["ar", "en", "es"]
    assert pipes.title("ar") == "اختبارات بالفواصل"
    assert pipes.title("es") == 'Cuestionarios con barras: "pipes"'
    assert pipes.files["es"].description == "Una lección de prueba con descripción plegada"
    assert catalogue.problems == []


def test_locale_fallback_goes_to_language_then_default() -> None:
    lesson = load_catalogue(CONTENT).get("demo/arrays")
    assert lesson is not None
    assert lesson.file("es-ES").locale == "en"  # no es file: the default locale serves
    pipes = load_catalogue(CONTENT).get("demo/pipes")
    assert pipes is not None and pipes.file("es-419").locale == "es"


def test_reads_typed_front_matter() -> None:
    arrays = load_catalogue(CONTENT).get("demo/arrays")
    assert arrays is not None
    english = arrays.files["en"]
    assert english.meta["difficulty"] == "intermediate"
    assert english.order == 2
    assert english.published is False
    assert english.path == "programs/demo/lessons/en/arrays.mdx"


def test_files_are_ordered_by_program_order_and_locale() -> None:
    files = load_catalogue(CONTENT).files
    assert [(f.slug, f.locale) for f in files] == [
        ("pipes", "ar"),
        ("pipes", "en"),
        ("pipes", "es"),
        ("arrays", "en"),
    ]


def test_program_json_gives_localized_titles(tmp_path: Path) -> None:
    catalogue = load_catalogue(CONTENT)
    program = catalogue.programs["demo"]
    assert program.title("ar") == "برنامج تجريبي"
    assert program.title("fr") == "Demo Program"
    write_lesson(tmp_path, "programs/bare/lessons/en/x.mdx", '---\ntitle: "X"\n---\n')
    assert load_catalogue(tmp_path).programs["bare"].title() == "bare"


def test_broken_files_are_kept_and_reported(tmp_path: Path) -> None:
    write_lesson(tmp_path, "programs/p/lessons/en/ok.mdx", '---\ntitle: "Ok"\n---\nBody\n')
    write_lesson(tmp_path, "programs/p/lessons/en/broken.mdx", "# no front matter\n")
    write_lesson(tmp_path, "programs/p/lessons/en/bytes.mdx", b'---\ntitle: "\xff"\n---\n')
    write_lesson(tmp_path, "programs/p/program.json", "{not json")
    catalogue = load_catalogue(tmp_path)
    assert len(catalogue.files) == 3
    assert catalogue.get("p/broken").title("en") == "broken"  # type: ignore[union-attr]
    codes = sorted((problem.path, problem.code) for problem in catalogue.problems)
    assert codes == [
        ("programs/p/lessons/en/broken.mdx", "front_matter_missing"),
        ("programs/p/lessons/en/bytes.mdx", "file_not_utf8"),
        ("programs/p/program.json", "program_invalid_json"),
    ]


def test_long_front_matter_beyond_the_first_read_is_parsed(tmp_path: Path) -> None:
    long_description = "word " * 3000
    text = f'---\ntitle: "Long"\ndescription: "{long_description.strip()}"\n---\nBody\n'
    write_lesson(tmp_path, "programs/p/lessons/en/long.mdx", text)
    lesson = load_catalogue(tmp_path).get("p/long")
    assert lesson is not None
    assert lesson.files["en"].description.count("word") == 3000


def test_ignores_files_outside_the_layout(tmp_path: Path) -> None:
    write_lesson(tmp_path, "programs/p/lessons/en/a.mdx", '---\ntitle: "A"\n---\n')
    write_lesson(tmp_path, "programs/p/lessons/en/notes.txt", "not a lesson")
    write_lesson(tmp_path, "programs/p/README.md", "# readme")
    write_lesson(tmp_path, "README.md", "# readme")
    assert [f.path for f in load_catalogue(tmp_path).files] == ["programs/p/lessons/en/a.mdx"]


def test_git_blob_sha_matches_git() -> None:
    # `printf 'hello\n' | git hash-object --stdin`
    assert git_blob_sha(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"


def test_real_corpus_loads_every_file(corpus: Path) -> None:
    catalogue = load_catalogue(corpus)
    assert len(catalogue.files) == 553
    assert len(catalogue.lessons) == 153
    assert len(catalogue.programs) == 15
    assert {f.locale for f in catalogue.files} == {"en", "fr", "hi", "nl", "te"}
    assert catalogue.problems == []
    assert catalogue.broken() == {}
    assert catalogue.duplicates == []
    assert all(lesson.files.get("en") for lesson in catalogue.lessons.values())
    # Every title matches what a full YAML parse of the same file gives.
    import yaml

    for lesson_file in catalogue.files[::25]:
        text = (corpus / lesson_file.path).read_text(encoding="utf-8")
        expected = yaml.safe_load(text.split("---\n", 2)[1])
        assert lesson_file.meta == expected, lesson_file.path
    info = json.loads((corpus / "programs" / "ai-seeds" / "program.json").read_text())
    assert catalogue.programs["ai-seeds"].title() == info["title"]


@pytest.mark.parametrize(
    ("name", "character"),
    [
        ("with space", "U+0020 SPACE"),
        ("no\u00a0break", "U+00A0 NO-BREAK SPACE"),
        ("em\u2003space", "U+2003 EM SPACE"),
        ("ideographic\u3000space", "U+3000 IDEOGRAPHIC SPACE"),
        ("tab\there", "U+0009 CHARACTER TABULATION"),
        ("new\nline", "U+000A LINE FEED"),
        ("bell\x07", "U+0007 ALERT"),
        ("del\x7f", "U+007F DELETE"),
        ("\x01start", "U+0001"),
        ("next\x85line", "U+0085 NEXT LINE"),
        ("line\u2028separator", "U+2028 LINE SEPARATOR"),
        ("zero\u200bwidth", "U+200B ZERO WIDTH SPACE"),
        ("bidi\u202eoverride", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("bom\ufeff", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
        ("a>b", "U+003E GREATER-THAN SIGN"),
        ("ends-->", "U+003E GREATER-THAN SIGN"),
        ("not-utf8-\udcff", "U+DCFF"),  # what os.scandir makes of a byte that is not UTF-8
    ],
)
def test_names_that_cannot_be_identities_name_the_character(name: str, character: str) -> None:
    assert invalid_character(name) == character


@pytest.mark.parametrize(
    "name", ["what-is-ai", "a.b", "a@b_c", "élève", "機械学習", "नमस्ते", "పాఠం", "درس", "🙂-emoji"]
)
def test_ordinary_names_are_accepted(name: str) -> None:
    assert invalid_character(name) is None


def test_every_accepted_character_survives_a_hidden_marker() -> None:
    # The point of refusing names: `program/slug` must round-trip through the marker.
    planes = [*range(0x30000), *range(0xE0000, 0xE1000)]
    accepted = "".join(chr(code) for code in planes if invalid_character(chr(code)) is None)
    assert "\u00a0" not in accepted and ">" not in accepted and "a" in accepted
    body = f"Text\n\n{marker('lesson', f'p/{accepted}')}\n"
    assert find_markers(body) == {"lesson": f"p/{accepted}"}
    refused = [chr(code) for code in planes if invalid_character(chr(code)) is not None]
    assert all(describe_character(character).startswith("U+") for character in refused)


def test_paths_never_give_empty_names() -> None:
    assert parse_lesson_path("programs//lessons/en/a.mdx") is None
    assert parse_lesson_path("programs/p/lessons//a.mdx") is None
    assert parse_lesson_path("programs/p/lessons/en/.mdx") is None


def _unlinkable(tmp_path: Path) -> Path:
    """Copy the unlinkable fixture and add what a portable checkout cannot hold."""
    shutil.copytree(UNLINKABLE, tmp_path, dirs_exist_ok=True)
    english = tmp_path / "programs" / "good" / "lessons" / "en"
    shutil.copyfile(english / "fine.mdx", english / "bell\x07.mdx")  # a control character
    return tmp_path


BROKEN = {
    "good/bell\x07": [(1, "slug_invalid")],
    "good/blank-title": [(3, "key_empty")],
    "good/broken-yaml": [(2, "front_matter_invalid")],
    "good/no-title": [(1, "key_missing")],
    "good/no\u00a0break": [(1, "slug_invalid")],
    "good/twice": [(1, "duplicate_file")],
    "good/with space": [(1, "slug_invalid")],
    "my program/intro": [(1, "program_invalid")],
}


def test_broken_names_exactly_the_unusable_lessons(tmp_path: Path) -> None:
    catalogue = load_catalogue(_unlinkable(tmp_path))
    broken = catalogue.broken()
    assert {identity: [(p.line, p.code) for p in found] for identity, found in broken.items()} == (
        BROKEN
    )
    # good/fine is not there: a wrong quiz answer in its French body does not stop linking.
    assert "good/fine" not in broken
    assert [f.path for f in catalogue.duplicates] == ["programs/good/lessons/en/twice.mdx"]
    assert catalogue.get("good/twice").files["en"].path.endswith("twice.md")  # type: ignore[union-attr]
    assert len(catalogue.files) == 10  # every broken file is still in the catalogue


def test_catalogue_problems_are_what_check_says(tmp_path: Path) -> None:
    content = _unlinkable(tmp_path)
    for name in sorted(path.name for path in DEFECTS.glob("*.mdx")):
        shutil.copyfile(DEFECTS / name, content / "programs" / "good" / "lessons" / "en" / name)
    catalogue_problems = load_catalogue(content).problems
    checked = check_content(content).problems
    assert catalogue_problems, "the fixtures are meant to be broken"
    assert all(problem in checked for problem in catalogue_problems)
    # In path and line order, the catalogue's problems come as check lists them.
    ordered = sorted(catalogue_problems, key=lambda problem: (problem.path, problem.line))
    assert ordered == [problem for problem in checked if problem in catalogue_problems]
    broken_files = {p.path.rpartition("/")[2] for p in catalogue_problems}
    assert broken_files == {
        "bell\x07.mdx",
        "blank-title.mdx",
        "broken-yaml.mdx",
        "front-matter-not-mapping.mdx",
        "invalid-yaml.mdx",
        "intro.mdx",
        "missing-front-matter.mdx",
        "missing-title.mdx",
        "no-title.mdx",
        "no\u00a0break.mdx",
        "twice.mdx",
        "unclosed-front-matter.mdx",
        "with space.mdx",
    }  # not-utf8.mdx's bad byte is in its body, which linking never reads


def test_front_matter_not_utf8_is_reported_at_its_line(tmp_path: Path) -> None:
    write_lesson(
        tmp_path, "programs/p/lessons/en/a.mdx", b'---\ndescription: "d"\ntitle: "\xff"\n---\n'
    )
    [problem] = load_catalogue(tmp_path).problems
    assert (problem.line, problem.code) == (3, "file_not_utf8")
    assert problem in check_content(tmp_path).problems


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("title: 42", (2, "key_not_string", {"key": "title", "value": "42"})),
        ("title: null", (2, "key_not_string", {"key": "title", "value": "null"})),
        ("title: ''", (2, "key_empty", {"key": "title"})),
        ("order: 1", (1, "key_missing", {"key": "title"})),
    ],
)
def test_a_title_that_is_no_title_is_a_problem(
    tmp_path: Path, title: str, expected: tuple[object, ...]
) -> None:
    write_lesson(tmp_path, "programs/p/lessons/en/a.mdx", f'---\n{title}\ndescription: "d"\n---\n')
    [problem] = load_catalogue(tmp_path).problems
    assert (problem.line, problem.code, problem.params) == expected
    assert problem in check_content(tmp_path).problems


def test_parse_lesson_text_finds_what_the_catalogue_finds(tmp_path: Path) -> None:
    content = _unlinkable(tmp_path)
    catalogue = load_catalogue(content)
    for lesson_file in catalogue.files:
        text = (content / lesson_file.path).read_text(encoding="utf-8")
        parsed, problems = parse_lesson_text(lesson_file.path, text)
        assert parsed == lesson_file
        assert problems == [p for p in catalogue.problems if p.path == lesson_file.path]
        assert lesson_file_from_text(lesson_file.path, text) == lesson_file
    [problem] = parse_lesson_text("programs/p/lessons/en/x.mdx", "no front matter")[1]
    assert (problem.line, problem.code) == (1, "front_matter_missing")
    with pytest.raises(ValueError):
        parse_lesson_text("README.md", "")


def test_put_and_remove_keep_broken_up_to_date(tmp_path: Path) -> None:
    catalogue = load_catalogue(_unlinkable(tmp_path))
    fixed = '---\ntitle: "Now titled"\ndescription: "d"\n---\n'
    catalogue.put_file(*parse_lesson_text("programs/good/lessons/en/no-title.mdx", fixed))
    assert "good/no-title" not in catalogue.broken()
    assert catalogue.get("good/no-title").title("en") == "Now titled"  # type: ignore[union-attr]
    catalogue.put_file(*parse_lesson_text("programs/good/lessons/fr/fine.mdx", "---\n---\n"))
    assert [p.code for p in catalogue.broken()["good/fine"]] == ["key_missing"]
    # Removing the duplicate clears it; removing the kept file promotes the other one.
    catalogue.remove_file("programs/good/lessons/en/twice.mdx")
    assert "good/twice" not in catalogue.broken() and catalogue.duplicates == []
    catalogue.put_file(*parse_lesson_text("programs/good/lessons/en/twice.mdx", fixed))
    assert [p.code for p in catalogue.broken()["good/twice"]] == ["duplicate_file"]
    catalogue.remove_file("programs/good/lessons/en/twice.md")
    assert "good/twice" not in catalogue.broken()
    assert catalogue.get("good/twice").files["en"].path.endswith("twice.mdx")  # type: ignore[union-attr]
    catalogue.remove_file("programs/my program/lessons/en/intro.mdx")
    assert catalogue.get("my program/intro") is None
    assert "my program/intro" not in catalogue.broken()


def test_a_clean_catalogue_has_nothing_broken() -> None:
    assert load_catalogue(CONTENT).broken() == {}
    assert load_catalogue(FIXTURES.parent.parent / "lessons").broken() == {}
