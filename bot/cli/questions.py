"""`lessonbot questions list`: what learners asked in lesson posts and issues."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.cli.db import with_database
from bot.cli.output import EXIT_OK, print_json_array, printable
from bot.config import Settings
from bot.i18n import t


def register(commands: Any) -> None:
    """Add `questions list` to the parser."""
    questions = commands.add_parser(
        "questions", help="see the questions learners asked in lesson posts and issues"
    )
    question_commands = questions.add_subparsers(dest="questions_command", metavar="COMMAND")
    question_commands.required = True
    listing = question_commands.add_parser("list", help="questions, oldest first")
    listing.add_argument(
        "--open", action="store_true", help="only those neither answered nor resolved"
    )
    listing.add_argument("--program", metavar="PROGRAM", help="only this program's lessons")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.set_defaults(handler=_questions_list)


def _questions_list(arguments: argparse.Namespace, settings: Settings) -> int:
    """Print the tracked questions (dropped ones left out)."""

    async def run(sessions: Any) -> Any:
        from bot.services.questions import QuestionService

        service = QuestionService(sessions, settings)
        return await service.list(open_only=arguments.open, program=arguments.program)

    views = with_database(settings, run)
    if arguments.json:
        print_json_array([view.as_json(settings.locale) for view in views], sys.stdout)
        return EXIT_OK
    if not views:
        print(t(settings.locale, "questions.cli_empty"), file=sys.stderr)
        return EXIT_OK
    for view in views:
        text = printable(" ".join(view.text.split()))
        if len(text) > 80:
            text = text[:79] + "…"
        staff = "*" if view.answered_by_staff else ""
        outcome = view.outcome(settings.locale)
        # A help post's question may wait for its lesson: its program says where it is.
        lesson = view.lesson or t(settings.locale, "questions.unlinked", program=view.program)
        print(
            f"{view.id:>6}  {view.state:<8}{staff:<1} {view.asked_at:%Y-%m-%d %H:%M}  "
            f"{lesson}  {printable(view.author_name)}: {text}"
            + (f"  [{printable(outcome)}]" if outcome else "")
        )
    return EXIT_OK
