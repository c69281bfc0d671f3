"""`lessonbot lessons list|check`: read and lint the lesson files.

Only the pure domain is imported here: `lessons check` runs in a content repository's CI,
where neither discord.py, PyGithub nor a database driver need be installed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bot.cli.content import CONTENT_HELP, content_dir, load_lessons
from bot.cli.output import EXIT_OK, EXIT_PROBLEMS, print_json_array, printable
from bot.config import Settings
from bot.domain.catalogue import Catalogue, LessonFile, Problem
from bot.domain.checks import check_content
from bot.i18n import t


def register(commands: Any) -> None:
    """Add `lessons list` and `lessons check` to the parser."""
    lessons = commands.add_parser("lessons", help="list and check the lesson files")
    lesson_commands = lessons.add_subparsers(dest="lessons_command", metavar="COMMAND")
    lesson_commands.required = True
    listing = lesson_commands.add_parser("list", help="print one record per lesson file")
    listing.add_argument("--content", metavar="DIR", help=CONTENT_HELP)
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.set_defaults(handler=_lessons_list)
    check = lesson_commands.add_parser(
        "check", help="lint front matter, components and quizzes (exit 1 on problems)"
    )
    check.add_argument("--content", metavar="DIR", help=CONTENT_HELP)
    check.add_argument(
        "--format",
        choices=("text", "github"),
        default="text",
        help="text: path:line: message; github: workflow annotations",
    )
    check.set_defaults(handler=_lessons_check)


def _lessons_list(arguments: argparse.Namespace, settings: Settings) -> int:
    content = content_dir(arguments, settings)
    catalogue = load_lessons(content, settings)
    # The catalogue's problems are those that keep a file from being linked: said as
    # `lessons check` says them, and the file still listed, marked.
    problems: dict[str, list[dict[str, Any]]] = {}
    for problem in sorted(catalogue.problems, key=lambda problem: (problem.path, problem.line)):
        message = _problem_message(problem, settings.locale)
        print(f"{_shown_path(content, problem.path)}:{problem.line}: {message}", file=sys.stderr)
        record = {"code": problem.code, "line": problem.line, "message": message}
        problems.setdefault(problem.path, []).append(record)
    records = [
        {
            "program": lesson_file.program,
            "slug": lesson_file.slug,
            "locale": lesson_file.locale,
            "title": lesson_file.title,
            "path": lesson_file.path,
            "order": lesson_file.order,
            "published": lesson_file.published,
            "problems": problems.get(lesson_file.path, []),
        }
        for lesson_file in _files_with_duplicates(catalogue)
    ]
    if arguments.json:
        print_json_array(records, sys.stdout)
        return EXIT_OK
    if not records:
        print(t(settings.locale, "cli.list_empty", path=str(content)), file=sys.stderr)
        return EXIT_OK
    width = max(len(f"{record['program']}/{record['slug']}") for record in records)
    broken = t(settings.locale, "cli.list_broken")
    for record in records:
        identity = f"{record['program']}/{record['slug']}"
        line = f"{identity:<{width}}  {record['locale']:<5}  {record['title']}"
        print(printable(f"{line}  {broken}" if record["problems"] else line))
    return EXIT_OK


def _files_with_duplicates(catalogue: Catalogue) -> list[LessonFile]:
    """Return the catalogue's files in order, each duplicate right after the file it repeats."""
    later: dict[tuple[str, str], list[LessonFile]] = {}
    for duplicate in catalogue.duplicates:
        later.setdefault((duplicate.identity, duplicate.locale), []).append(duplicate)
    return [
        each
        for lesson_file in catalogue.files
        for each in [lesson_file, *later.get((lesson_file.identity, lesson_file.locale), [])]
    ]


def _shown_path(content: Path, relative: str) -> str:
    """Return a content file's path for a `path:line:` prefix."""
    return printable((content / relative).as_posix())


def _lessons_check(arguments: argparse.Namespace, settings: Settings) -> int:
    content = content_dir(arguments, settings)
    report = check_content(content, settings.content.default_locale)
    for problem in report.problems:
        message = _problem_message(problem, settings.locale)
        if arguments.format == "github":
            # Workflow commands end at a newline and treat % as an escape; a property value
            # also ends at `,` and `:` (as @actions/core escapes them).
            path = _escape_data((content / problem.path).as_posix())
            path = path.replace(":", "%3A").replace(",", "%2C")
            print(f"::error file={path},line={problem.line}::{_escape_data(message)}")
        else:
            print(f"{_shown_path(content, problem.path)}:{problem.line}: {message}")
    if report.problems:
        count, files = len(report.problems), report.files_checked
        print(t(settings.locale, "cli.check_failed", count=count, files=files), file=sys.stderr)
        return EXIT_PROBLEMS
    print(t(settings.locale, "cli.check_clean", count=report.files_checked), file=sys.stderr)
    return EXIT_OK


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _problem_message(problem: Problem, locale: str) -> str:
    return t(locale, f"check.{problem.code}", **problem.params)
