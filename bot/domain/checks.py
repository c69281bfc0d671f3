"""Lint lesson files: front matter, MDX components, quizzes and locale siblings."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.domain.catalogue import (
    LessonPath,
    Problem,
    iter_lesson_paths,
    name_problems,
    read_program_info,
)
from bot.domain.frontmatter import (
    FrontMatterError,
    key_lines,
    parse_front_matter_block,
    split_front_matter,
)
from bot.domain.mdx import Attribute, MdxSyntaxError, Tag, iter_tags

REQUIRED_KEYS = ("title", "description")
DIFFICULTIES = ("beginner", "intermediate", "advanced")
# Expected type of each known front matter key, and the problem code when it is wrong.
_KEY_TYPES: dict[str, tuple[type, str]] = {
    "title": (str, "key_not_string"),
    "description": (str, "key_not_string"),
    "order": (int, "key_not_integer"),
    "difficulty": (str, "key_not_string"),
    "duration": (int, "key_not_minutes"),
    "icon": (str, "key_not_string"),
    "published": (bool, "key_not_boolean"),
}


def check_lesson_text(path: str, text: str) -> list[Problem]:
    """Return the problems of one lesson file's text."""
    try:
        split = split_front_matter(text)
    except FrontMatterError as error:
        # No telling where the body starts: report just this.
        return [Problem(path, error.line, error.code, error.params)]
    if split is None:
        problems = [Problem(path, 1, "front_matter_missing")]
        return problems + _check_body(path, text, 1)
    raw, body_line = split
    try:
        data = parse_front_matter_block(raw)
    except FrontMatterError as error:
        problems = [Problem(path, error.line, error.code, error.params)]
    else:
        problems = _check_front_matter(path, data, key_lines(raw))
    body = "\n".join(text.split("\n")[body_line - 1 :])
    return problems + _check_body(path, body, body_line)


def _check_front_matter(
    path: str, data: dict[str, Any], key_lines: dict[str, int]
) -> list[Problem]:
    problems = [
        Problem(path, 1, "key_missing", {"key": key}) for key in REQUIRED_KEYS if key not in data
    ]
    for key, (expected, code) in _KEY_TYPES.items():
        if key not in data:
            continue
        value = data[key]
        line = key_lines.get(key, 1)
        shown = json.dumps(value, default=str, ensure_ascii=False)
        # bool is a subclass of int in Python; `order: true` is still the wrong type.
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            problems.append(Problem(path, line, code, {"key": key, "value": shown}))
        elif isinstance(value, str) and key in REQUIRED_KEYS and not value.strip():
            problems.append(Problem(path, line, "key_empty", {"key": key}))
        elif key == "difficulty" and value not in DIFFICULTIES:
            allowed = ", ".join(DIFFICULTIES)
            problems.append(
                Problem(path, line, "difficulty_unknown", {"allowed": allowed, "value": shown})
            )
        elif key in ("order", "duration") and value < 1:
            problems.append(Problem(path, line, "key_not_positive", {"key": key}))
    return problems


def _check_body(path: str, body: str, first_line: int) -> list[Problem]:
    problems = []
    open_tags: list[Tag] = []
    try:
        for tag in iter_tags(body, first_line):
            if tag.closing:
                problems.extend(_close(path, tag, open_tags))
                continue
            if tag.name == "Quiz":
                problems.extend(
                    Problem(path, tag.line, code, params) for code, params in _check_quiz(tag)
                )
            if not tag.self_closing:
                open_tags.append(tag)
    except MdxSyntaxError as error:
        problems.append(Problem(path, error.line, error.code, error.params))
    problems.extend(
        Problem(path, tag.line, "tag_never_closed", {"name": tag.name}) for tag in open_tags
    )
    return problems


def _close(path: str, tag: Tag, open_tags: list[Tag]) -> list[Problem]:
    """Match a closing tag against the open ones, reporting what does not pair up."""
    if not any(opened.name == tag.name for opened in open_tags):
        return [Problem(path, tag.line, "tag_closes_nothing", {"name": tag.name})]
    problems = []
    while (opened := open_tags.pop()).name != tag.name:
        params = {"name": opened.name, "other": tag.name, "other_line": tag.line}
        problems.append(Problem(path, opened.line, "tag_closed_by_other", params))
    return problems


QuizProblem = tuple[str, dict[str, Any]]


def _check_quiz(tag: Tag) -> list[QuizProblem]:
    """Return what is wrong with a quiz: both syntaxes the lessons use are understood."""
    problems: list[QuizProblem] = []
    question = tag.attributes.get("question")
    if question is None or not (question.value or "").strip():
        problems.append(("quiz_no_question", {}))
    options_attribute = tag.attributes.get("options")
    if options_attribute is None or options_attribute.value is None:
        return [*problems, ("quiz_no_options", {})]
    options = _quiz_options(options_attribute)
    if options is None:
        return [*problems, ("quiz_unreadable_options", {})]
    if len(options) < 2:
        problems.append(("quiz_too_few_options", {}))
    answers = {key: tag.attributes[key] for key in ("answer", "correct") if key in tag.attributes}
    if not answers:
        return [*problems, ("quiz_no_answer", {})]
    indexes = set()
    for key, attribute in answers.items():
        index = _integer(attribute)
        if index is None:
            problems.append(
                ("quiz_answer_not_integer", {"attribute": key, "value": repr(attribute.value)})
            )
        elif not 0 <= index < len(options):
            params = {"attribute": key, "index": index, "count": len(options)}
            problems.append(("quiz_answer_out_of_range", {**params, "last": len(options) - 1}))
        else:
            indexes.add(index)
    if len(indexes) > 1:
        problems.append(("quiz_answers_disagree", {}))
    return problems


def _quiz_options(attribute: Attribute) -> list[str] | None:
    if not attribute.is_expression:
        return [option.strip() for option in (attribute.value or "").split("|")]
    source = (attribute.value or "").strip()
    try:
        value = json.loads(source)
    except ValueError:
        try:  # JavaScript arrays may use single quotes, which JSON does not allow
            value = ast.literal_eval(source)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return None
    if isinstance(value, list | tuple) and all(isinstance(option, str) for option in value):
        return list(value)
    return None


def _integer(attribute: Attribute) -> int | None:
    text = (attribute.value or "").strip()
    if text.lstrip("-").isdigit() and text.isascii():
        return int(text)
    return None


@dataclass(frozen=True, slots=True)
class CheckReport:
    """The outcome of checking a content directory."""

    files_checked: int
    problems: list[Problem]


def check_content(root: Path | str, default_locale: str = "en") -> CheckReport:
    """Check every lesson under a content directory; problems come sorted by file and line."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"content directory not found: {root}")
    paths = list(iter_lesson_paths(root))
    problems: list[Problem] = []
    for program in sorted({where.program for where in paths}):
        problem = read_program_info(root, program)[1]
        if problem:
            problems.append(problem)
    for where in paths:
        problems.extend(_check_file(where))
    problems.extend(_check_siblings(paths, default_locale))
    problems.sort(key=lambda problem: (problem.path, problem.line))
    return CheckReport(len(paths), problems)


def _check_file(where: LessonPath) -> list[Problem]:
    problems = name_problems(where.relative, where.program, where.locale, where.slug)
    with open(where.absolute, "rb") as handle:
        data = handle.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        return [*problems, Problem(where.relative, line, "file_not_utf8", {"reason": error.reason})]
    return problems + check_lesson_text(where.relative, text)


def _check_siblings(paths: Iterable[LessonPath], default_locale: str) -> list[Problem]:
    """Report files that are duplicated or have no version in the default locale."""
    problems = []
    seen: dict[tuple[str, str, str], str] = {}
    for where in paths:
        key = (where.program, where.locale, where.slug)
        if key in seen:
            problems.append(Problem(where.relative, 1, "duplicate_file", {"other": seen[key]}))
        seen[key] = where.relative
    for (program, locale, slug), relative in seen.items():
        if locale != default_locale and (program, default_locale, slug) not in seen:
            expected = f"programs/{program}/lessons/{default_locale}/{slug}.mdx"
            params = {"locale": default_locale, "expected": expected}
            problems.append(Problem(relative, 1, "default_locale_missing", params))
    return problems
