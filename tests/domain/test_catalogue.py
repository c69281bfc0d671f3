"""The catalogue finds lessons in the real layout and groups locales under one identity."""

from __future__ import annotations

import json
from pathlib import Path

from bot.domain.catalogue import git_blob_sha, load_catalogue
from tests.conftest import FIXTURES, write_lesson

CONTENT = FIXTURES / "content"


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
    assert all(lesson.files.get("en") for lesson in catalogue.lessons.values())
    # Every title matches what a full YAML parse of the same file gives.
    import yaml

    for lesson_file in catalogue.files[::25]:
        text = (corpus / lesson_file.path).read_text(encoding="utf-8")
        expected = yaml.safe_load(text.split("---\n", 2)[1])
        assert lesson_file.meta == expected, lesson_file.path
    info = json.loads((corpus / "programs" / "ai-seeds" / "program.json").read_text())
    assert catalogue.programs["ai-seeds"].title() == info["title"]
