"""`lessonbot questions list` and `stats`: what learners asked in lesson posts and issues,
and how soon they got a first reply."""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from datetime import timedelta
from typing import Any

from bot.cli.db import with_database
from bot.cli.output import EXIT_OK, UsageError, print_json_array, print_table, printable
from bot.config import Settings
from bot.domain.digest import duration
from bot.domain.reply_stats import ReplyStats, Tally, locale_name, parse_span, share_text
from bot.i18n import t

log = logging.getLogger(__name__)

DEFAULT_SINCE = "30d"
_LOCALE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")


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
    stats = question_commands.add_parser(
        "stats", help="how soon questions got a first reply, against questions.first_reply_target"
    )
    stats.add_argument(
        "--since",
        metavar="SPAN",
        default=DEFAULT_SINCE,
        help=f"over the last SPAN, e.g. 30d, 12h, 90m (default {DEFAULT_SINCE}; 'all': all time)",
    )
    stats.add_argument("--program", metavar="PROGRAM", help="only this program's questions")
    stats.add_argument("--locale", metavar="LOCALE", help="only questions in this language")
    stats.add_argument("--json", action="store_true", help="print one JSON object")
    stats.set_defaults(handler=_questions_stats)


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


def _questions_stats(arguments: argparse.Namespace, settings: Settings) -> int:
    """Print the first-reply figures: overall, per program and language, worst lessons."""
    locale = settings.locale
    since: timedelta | None = None
    if arguments.since.strip().lower() != "all":
        try:
            since = parse_span(arguments.since)
        except ValueError:
            log.warning("questions stats: bad --since %r", arguments.since)
            raise UsageError(
                t(locale, "reply_target.cli_bad_since", value=arguments.since)
            ) from None
    if arguments.locale is not None and not _LOCALE.fullmatch(arguments.locale):
        log.warning("questions stats: bad --locale %r", arguments.locale)
        raise UsageError(t(locale, "reply_target.cli_bad_locale", value=arguments.locale))

    async def run(sessions: Any) -> ReplyStats:
        from bot.services.questions import QuestionService

        service = QuestionService(sessions, settings)
        return await service.reply_stats(
            since, program=arguments.program or None, locale=arguments.locale or None
        )

    stats = with_database(settings, run)
    if arguments.json:
        json.dump(stats_json(stats), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return EXIT_OK
    for line in stats_lines(stats, locale):
        print(printable(line))
    if stats.overall.total == 0:
        return EXIT_OK
    for column, rows in (
        ("col_program", [(name, tally) for name, tally in stats.programs]),
        ("col_locale", [(locale_name(code, locale), tally) for code, tally in stats.locales]),
        ("col_lesson", [(f"{i.program}/{i.lesson}", i.tally) for i in stats.worst]),
    ):
        if not rows:
            continue
        print()
        if column == "col_lesson":
            print(t(locale, "reply_target.worst_heading"))
        print_table(_headers(column, locale), [_row(name, tally, locale) for name, tally in rows])
    return EXIT_OK


def _headers(first: str, locale: str) -> list[str]:
    columns = (first, "col_share", "col_met", "col_missed", "col_pending", "col_unanswered")
    return [t(locale, f"reply_target.{column}") for column in (*columns, "col_median")]


def _row(name: str, tally: Tally, locale: str) -> list[str]:
    return [
        name,
        share_text(locale, tally.share),
        str(tally.met),
        str(tally.missed),
        str(tally.pending),
        str(tally.unanswered),
        _median(tally, locale),
    ]


def stats_json(stats: ReplyStats) -> dict[str, Any]:
    """Return the figures as one JSON object (shares 0-1, durations in seconds)."""
    return {
        "target": {
            "share": stats.target.share,
            "window_seconds": int(stats.target.window.total_seconds()),
        },
        "since": stats.start.isoformat() if stats.start else None,
        "now": stats.now.isoformat(),
        "met_target": stats.met_target,
        "overall": stats.overall.as_json(),
        "programs": [{"program": name, **tally.as_json()} for name, tally in stats.programs],
        "locales": [{"locale": code, **tally.as_json()} for code, tally in stats.locales],
        "worst_lessons": [
            {"program": item.program, "lesson": item.lesson, **item.tally.as_json()}
            for item in stats.worst
        ],
    }


def stats_lines(stats: ReplyStats, locale: str) -> list[str]:
    """Return the summary lines; the tables are printed after them."""
    target = stats.target
    lines = [
        t(
            locale,
            "reply_target.heading",
            share=share_text(locale, target.share),
            window=duration(locale, target.window),
        )
    ]
    if stats.start is None:
        lines.append(t(locale, "reply_target.cli_period_ever"))
    else:
        lines.append(
            t(
                locale,
                "reply_target.cli_period",
                duration=duration(locale, stats.now - stats.start),
                date=f"{stats.start:%Y-%m-%d %H:%M}",
            )
        )
    overall = stats.overall
    if overall.total == 0:
        lines.append(t(locale, "reply_target.cli_empty"))
        return lines
    if overall.decided == 0:
        lines.append(t(locale, "reply_target.overall_none", pending=overall.pending))
    else:
        status = "met" if stats.met_target else "missed"
        lines.append(
            t(
                locale,
                "reply_target.overall",
                share=share_text(locale, overall.share),
                met=overall.met,
                decided=overall.decided,
                status=t(locale, f"reply_target.status_{status}"),
                pending=overall.pending,
            )
        )
    lines.append(
        t(
            locale,
            "reply_target.cli_answered",
            answered=overall.answered,
            total=overall.total,
            unanswered=overall.unanswered,
            share=share_text(locale, overall.unanswered_share),
            median=_median(overall, locale),
        )
    )
    return lines


def _median(tally: Tally, locale: str) -> str:
    if tally.median_first_reply is None:
        return t(locale, "reply_target.cli_median_none")
    return duration(locale, tally.median_first_reply)
