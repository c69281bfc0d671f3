"""Lesson checks: each defect is reported with its file line; clean lessons pass."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.domain.checks import check_content, check_lesson_text
from tests.conftest import FIXTURES, write_lesson

DEFECTS = FIXTURES / "defects"
UNLINKABLE = FIXTURES / "unlinkable"

# fixture file -> the (line, code) problems it must produce, exactly.
EXPECTED = {
    "missing-front-matter.mdx": [(1, "front_matter_missing")],
    "unclosed-front-matter.mdx": [(1, "front_matter_unclosed")],
    "invalid-yaml.mdx": [(2, "front_matter_invalid")],
    "front-matter-not-mapping.mdx": [(2, "front_matter_not_mapping")],
    "missing-description.mdx": [(1, "key_missing")],
    "missing-title.mdx": [(1, "key_missing")],
    "wrong-types.mdx": [
        (4, "key_not_integer"),
        (5, "key_not_minutes"),
        (6, "key_not_boolean"),
        (7, "difficulty_unknown"),
    ],
    "unclosed-component.mdx": [(8, "tag_never_closed")],
    "crossed-components.mdx": [(7, "tag_closed_by_other"), (10, "tag_closes_nothing")],
    "quiz-pipe-out-of-range.mdx": [(6, "quiz_answer_out_of_range")],
    "quiz-array-out-of-range.mdx": [(6, "quiz_answer_out_of_range")],
    "quiz-no-answer.mdx": [(6, "quiz_no_answer")],
    "quiz-unreadable-options.mdx": [(6, "quiz_unreadable_options")],
    "tag-unterminated.mdx": [(8, "tag_unterminated")],
    "not-utf8.mdx": [(6, "file_not_utf8")],
}


def _content_with(tmp_path: Path, name: str) -> Path:
    target = tmp_path / "programs" / "p" / "lessons" / "en" / name
    target.parent.mkdir(parents=True)
    shutil.copyfile(DEFECTS / name, target)
    return tmp_path


def test_every_defect_fixture_has_an_expectation() -> None:
    assert sorted(path.name for path in DEFECTS.glob("*.mdx")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_defect_is_reported_with_its_line(tmp_path: Path, name: str) -> None:
    report = check_content(_content_with(tmp_path, name))
    found = [(problem.line, problem.code) for problem in report.problems]
    assert found == EXPECTED[name]
    assert {problem.path for problem in report.problems} == {f"programs/p/lessons/en/{name}"}


def test_quiz_out_of_range_names_index_and_count() -> None:
    text = (DEFECTS / "quiz-pipe-out-of-range.mdx").read_text()
    [problem] = check_lesson_text("x.mdx", text)
    assert problem.params == {"attribute": "answer", "index": 3, "count": 3, "last": 2}


def test_fixture_content_is_clean() -> None:
    report = check_content(FIXTURES / "content")
    assert report.problems == []
    assert report.files_checked == 4


def test_project_lessons_are_clean() -> None:
    report = check_content(Path(__file__).parents[2] / "lessons")
    assert report.problems == []
    assert report.files_checked >= 18


def test_missing_default_locale_sibling_is_reported(tmp_path: Path) -> None:
    lesson = '---\ntitle: "T"\ndescription: "D"\n---\n'
    write_lesson(tmp_path, "programs/p/lessons/en/both.mdx", lesson)
    write_lesson(tmp_path, "programs/p/lessons/es/both.mdx", lesson)
    write_lesson(tmp_path, "programs/p/lessons/es/orphan.mdx", lesson)
    report = check_content(tmp_path)
    assert [(p.path, p.code) for p in report.problems] == [
        ("programs/p/lessons/es/orphan.mdx", "default_locale_missing")
    ]
    assert report.problems[0].params["expected"] == "programs/p/lessons/en/orphan.mdx"
    # With Spanish as the default locale, the English-only lesson is the orphan instead.
    write_lesson(tmp_path, "programs/p/lessons/en/orphan.mdx", lesson)
    write_lesson(tmp_path, "programs/p/lessons/en/only-en.mdx", lesson)
    report = check_content(tmp_path, default_locale="es")
    assert [(p.path, p.code) for p in report.problems] == [
        ("programs/p/lessons/en/only-en.mdx", "default_locale_missing")
    ]


def test_md_and_mdx_of_the_same_lesson_are_duplicates(tmp_path: Path) -> None:
    lesson = '---\ntitle: "T"\ndescription: "D"\n---\n'
    write_lesson(tmp_path, "programs/p/lessons/en/a.md", lesson)
    write_lesson(tmp_path, "programs/p/lessons/en/a.mdx", lesson)
    codes = [p.code for p in check_content(tmp_path).problems]
    assert codes == ["duplicate_file"]


def test_body_is_checked_even_when_yaml_is_broken() -> None:
    text = '---\ntitle: "open\n---\n\n<FunFact>\nopen\n'
    codes = [(p.line, p.code) for p in check_lesson_text("x.mdx", text)]
    assert codes == [(2, "front_matter_invalid"), (5, "tag_never_closed")]


def test_components_in_code_blocks_and_inline_code_are_ignored() -> None:
    text = (
        '---\ntitle: "T"\ndescription: "D"\n---\n'
        "```mdx\n<FunFact>\n```\n\nUse `<Callout>` to highlight.\n\n~~~~\n</ThinkAboutIt>\n~~~~\n"
    )
    assert check_lesson_text("x.mdx", text) == []


def test_answer_and_correct_must_agree() -> None:
    quiz = '<Quiz question="q" options="a|b" answer="0" correct={1} />'
    text = f'---\ntitle: "T"\ndescription: "D"\n---\n{quiz}\n'
    assert [p.code for p in check_lesson_text("x.mdx", text)] == ["quiz_answers_disagree"]


def test_quiz_needs_a_question_and_two_options() -> None:
    text = '---\ntitle: "T"\ndescription: "D"\n---\n<Quiz options="only" answer="0" />\n'
    codes = sorted(p.code for p in check_lesson_text("x.mdx", text))
    assert codes == ["quiz_no_question", "quiz_too_few_options"]


def test_empty_title_and_non_positive_order() -> None:
    text = '---\ntitle: "  "\ndescription: "D"\norder: 0\n---\n'
    found = [(p.line, p.code) for p in check_lesson_text("x.mdx", text)]
    assert found == [(2, "key_empty"), (4, "key_not_positive")]


def test_missing_directory_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        check_content(tmp_path / "nope")


def test_real_corpus_checks_clean(corpus: Path) -> None:
    report = check_content(corpus)
    assert report.files_checked == 553
    assert [str(problem) for problem in report.problems] == []


def test_real_corpus_with_injected_defects(corpus: Path, tmp_path: Path) -> None:
    content = tmp_path / "corpus"
    shutil.copytree(corpus / "programs" / "ai-seeds", content / "programs" / "ai-seeds")
    lesson = content / "programs" / "ai-seeds" / "lessons" / "en" / "what-is-ai.mdx"
    text = lesson.read_text(encoding="utf-8")
    lines = text.split("\n")
    quiz_line = next(number for number, line in enumerate(lines, 1) if "<Quiz" in line)
    text = text.replace("correct={1}", "correct={9}", 1).replace('answer="1"', 'answer="9"', 1)
    text = text.replace("</FunFact>", "", 1)
    text = text.replace("title:", "title: [", 1)
    lesson.write_text(text, encoding="utf-8")
    report = check_content(content)
    found = {(problem.line, problem.code) for problem in report.problems}
    assert (2, "front_matter_invalid") in found
    assert any(code == "tag_closed_by_other" or code == "tag_never_closed" for _, code in found)
    assert (quiz_line, "quiz_answer_out_of_range") in found
    assert {problem.path for problem in report.problems} == {
        "programs/ai-seeds/lessons/en/what-is-ai.mdx"
    }


def test_names_that_cannot_be_identities_are_reported_at_line_1(tmp_path: Path) -> None:
    shutil.copytree(UNLINKABLE, tmp_path, dirs_exist_ok=True)
    english = tmp_path / "programs" / "good" / "lessons" / "en"
    shutil.copyfile(english / "fine.mdx", english / "bell\x07.mdx")
    report = check_content(tmp_path)
    found = {(p.path, p.line, p.code): p.params for p in report.problems}
    prefix = "programs/good/lessons/en/"
    assert found == {
        (prefix + "bell\x07.mdx", 1, "slug_invalid"): {
            "name": "bell\\u0007",
            "character": "U+0007 ALERT",
        },
        (prefix + "blank-title.mdx", 3, "key_empty"): {"key": "title"},
        (prefix + "broken-yaml.mdx", 2, "front_matter_invalid"): {
            "reason": "found unexpected end of stream"
        },
        (prefix + "no-title.mdx", 1, "key_missing"): {"key": "title"},
        (prefix + "no\u00a0break.mdx", 1, "slug_invalid"): {
            "name": "no\\u00a0break",
            "character": "U+00A0 NO-BREAK SPACE",
        },
        (prefix + "twice.mdx", 1, "duplicate_file"): {"other": prefix + "twice.md"},
        (prefix + "with space.mdx", 1, "slug_invalid"): {
            "name": "with space",
            "character": "U+0020 SPACE",
        },
        ("programs/good/lessons/fr/fine.mdx", 9, "quiz_answer_out_of_range"): {
            "attribute": "answer",
            "index": 5,
            "count": 2,
            "last": 1,
        },
        ("programs/my program/lessons/en/intro.mdx", 1, "program_invalid"): {
            "name": "my program",
            "character": "U+0020 SPACE",
        },
    }


def test_a_locale_folder_name_is_checked_on_each_of_its_files(tmp_path: Path) -> None:
    lesson = '---\ntitle: "T"\ndescription: "D"\n---\n'
    write_lesson(tmp_path, "programs/p/lessons/en/a.mdx", lesson)
    write_lesson(tmp_path, "programs/p/lessons/fr\u2003/a.mdx", lesson)
    write_lesson(tmp_path, "programs/p/lessons/fr\u2003/b.mdx", lesson)
    found = [(p.path, p.code, p.params.get("character")) for p in check_content(tmp_path).problems]
    assert found == [
        ("programs/p/lessons/fr\u2003/a.mdx", "locale_invalid", "U+2003 EM SPACE"),
        ("programs/p/lessons/fr\u2003/b.mdx", "locale_invalid", "U+2003 EM SPACE"),
        ("programs/p/lessons/fr\u2003/b.mdx", "default_locale_missing", None),
    ]
