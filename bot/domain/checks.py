"""Lint lesson files: front matter, MDX components, quizzes and locale siblings."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bot.domain.catalogue import LessonPath, Problem, iter_lesson_paths, read_program_info
from bot.domain.frontmatter import (
    FrontMatterError,
    key_lines,
    parse_front_matter_block,
    split_front_matter,
)
from bot.domain.mdx import Attribute, MdxSyntaxError, Tag, iter_tags

REQUIRED_KEYS = ("title", "description")
DIFFICULTIES = ("beginner", "intermediate", "advanced")
# Expected type of each known front matter key, with the words a maintainer reads.
_KEY_TYPES: dict[str, tuple[type, str]] = {
    "title": (str, "a string"),
    "description": (str, "a string"),
    "order": (int, "a whole number"),
    "difficulty": (str, "a string"),
    "duration": (int, "a whole number of minutes"),
    "icon": (str, "a string"),
    "published": (bool, "true or false"),
}


def check_lesson_text(path: str, text: str) -> list[Problem]:
    """Return the problems of one lesson file's text."""
    try:
        split = split_front_matter(text)
    except FrontMatterError as error:
        return [Problem(path, error.line, str(error))]  # no telling where the body starts
    if split is None:
        problems = [Problem(path, 1, "missing front matter: the file must start with '---'")]
        return problems + _check_body(path, text, 1)
    raw, body_line = split
    try:
        data = parse_front_matter_block(raw)
    except FrontMatterError as error:
        problems = [Problem(path, error.line, str(error))]
    else:
        problems = _check_front_matter(path, data, key_lines(raw))
    body = "\n".join(text.split("\n")[body_line - 1 :])
    return problems + _check_body(path, body, body_line)


def _check_front_matter(path: str, data: dict[str, Any], key_lines: dict[str, int]) -> list[Problem]:
    problems = []
    for key in REQUIRED_KEYS:
        if key not in data:
            problems.append(Problem(path, 1, f"front matter is missing required key '{key}'"))
    for key, (expected, words) in _KEY_TYPES.items():
        if key not in data:
            continue
        value = data[key]
        line = key_lines.get(key, 1)
        # bool is a subclass of int in Python; `order: true` is still the wrong type.
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            shown = json.dumps(value, default=str, ensure_ascii=False)
            problems.append(Problem(path, line, f"'{key}' must be {words}, not {shown}"))
        elif isinstance(value, str) and key in REQUIRED_KEYS and not value.strip():
            problems.append(Problem(path, line, f"'{key}' must not be empty"))
        elif key == "difficulty" and value not in DIFFICULTIES:
            allowed = ", ".join(DIFFICULTIES)
            problems.append(Problem(path, line, f"'difficulty' must be one of {allowed}"))
        elif key in ("order", "duration") and value < 1:
            problems.append(Problem(path, line, f"'{key}' must be 1 or more"))
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
                problems.extend(Problem(path, tag.line, message) for message in _check_quiz(tag))
            if not tag.self_closing:
                open_tags.append(tag)
    except MdxSyntaxError as error:
        problems.append(Problem(path, error.line, str(error)))
    problems.extend(
        Problem(path, tag.line, f"<{tag.name}> is never closed (add </{tag.name}>)")
        for tag in open_tags
    )
    return problems


def _close(path: str, tag: Tag, open_tags: list[Tag]) -> list[Problem]:
    """Match a closing tag against the open ones, reporting what does not pair up."""
    if not any(opened.name == tag.name for opened in open_tags):
        return [Problem(path, tag.line, f"</{tag.name}> closes nothing: no <{tag.name}> is open")]
    problems = []
    while (opened := open_tags.pop()).name != tag.name:
        problems.append(
            Problem(
                path,
                opened.line,
                f"<{opened.name}> is never closed before </{tag.name}> on line {tag.line}",
            )
        )
    return problems


def _check_quiz(tag: Tag) -> list[str]:
    """Return what is wrong with a quiz: both syntaxes the lessons use are understood."""
    problems = []
    question = tag.attributes.get("question")
    if question is None or not (question.value or "").strip():
        problems.append("<Quiz> has no question")
    options_attribute = tag.attributes.get("options")
    if options_attribute is None or options_attribute.value is None:
        return [*problems, "<Quiz> has no options"]
    options = _quiz_options(options_attribute)
    if options is None:
        return [*problems, "<Quiz> options cannot be read: use options=\"a|b\" or {['a', 'b']}"]
    if len(options) < 2:
        problems.append("<Quiz> needs at least two options")
    answers = {key: tag.attributes[key] for key in ("answer", "correct") if key in tag.attributes}
    if not answers:
        return [*problems, '<Quiz> has no answer: add answer="N" or correct={N}']
    indexes = set()
    for key, attribute in answers.items():
        index = _integer(attribute)
        if index is None:
            problems.append(f"<Quiz> {key} must be a whole number, not {attribute.value!r}")
        elif not 0 <= index < len(options):
            problems.append(
                f"<Quiz> {key} {index} is outside its {len(options)} options "
                f"(0 to {len(options) - 1}, counting from 0)"
            )
        else:
            indexes.add(index)
    if len(indexes) > 1:
        problems.append("<Quiz> answer and correct disagree")
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


def check_content(root: Path | str, default_locale: str = "en") -> list[Problem]:
    """Check every lesson under a content directory; return problems sorted by file."""
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
    return sorted(problems, key=lambda problem: (problem.path, problem.line))


def _check_file(where: LessonPath) -> list[Problem]:
    with open(where.absolute, "rb") as handle:
        data = handle.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        return [Problem(where.relative, line, f"file is not valid UTF-8: {error.reason}")]
    return check_lesson_text(where.relative, text)


def _check_siblings(paths: Iterable[LessonPath], default_locale: str) -> list[Problem]:
    """Report files that are duplicated or have no version in the default locale."""
    problems = []
    seen: dict[tuple[str, str, str], str] = {}
    for where in paths:
        key = (where.program, where.locale, where.slug)
        if key in seen:
            problems.append(Problem(where.relative, 1, f"duplicate of {seen[key]}"))
        seen[key] = where.relative
    for (program, locale, slug), relative in seen.items():
        if locale != default_locale and (program, default_locale, slug) not in seen:
            expected = f"programs/{program}/lessons/{default_locale}/{slug}.mdx"
            problems.append(
                Problem(
                    relative,
                    1,
                    f"no '{default_locale}' version of this lesson (expected {expected})",
                )
            )
    return problems
