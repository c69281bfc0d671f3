"""`lessonbot sync`: link every lesson to a Discord forum post and a GitHub issue."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import TYPE_CHECKING, Any

from bot.cli.content import CONTENT_HELP, content_dir
from bot.cli.output import EXIT_OK, EXIT_PROBLEMS, ProgressBar, UsageError, print_error
from bot.config import ConfigError, Settings
from bot.i18n import t

if TYPE_CHECKING:
    from bot.services.linking import SyncReport


def register(commands: Any) -> None:
    """Add `sync` to the parser."""
    sync = commands.add_parser(
        "sync",
        help="link every lesson to a Discord forum post and a GitHub issue",
        description="Create missing posts and issues, rename changed ones, archive and close "
        "those of removed lessons. Needs the Discord and GitHub settings the bot runs with.",
    )
    sync.add_argument("--content", metavar="DIR", help=CONTENT_HELP)
    sync.add_argument(
        "--dry-run", action="store_true", help="count what would change, write nothing"
    )
    sync.add_argument("--json", action="store_true", help="print one JSON object of figures")
    sync.add_argument(
        "--allow-removals",
        action="store_true",
        help="close and archive more lessons than linking.max_removals at once, or all of "
        "them when the content folder holds none",
    )
    sync.set_defaults(handler=_sync)


def _sync(arguments: argparse.Namespace, settings: Settings) -> int:
    import dataclasses

    from bot.app import content_from_github, sync_lessons  # loaded only when syncing
    from bot.github.content import ContentSyncError

    try:
        from_github = not arguments.content and content_from_github(settings)
    except ConfigError as error:
        raise UsageError(t(settings.locale, "cli.config_error", message=str(error))) from None
    if not from_github:
        # An explicit --content folder is read as it is, whatever content.source says.
        content = content_dir(arguments, settings)
        settings = dataclasses.replace(
            settings,
            content=dataclasses.replace(settings.content, dir=content, source="directory"),
        )
    if arguments.dry_run:
        from bot.store.engine import check_reachable

        # A dry run reads what is linked: a server that does not answer must not pass for
        # a database that holds nothing yet.
        check_reachable(settings.database.url)
    bar = None if arguments.json or not sys.stdout.isatty() else ProgressBar(settings.locale)
    try:
        report = asyncio.run(
            sync_lessons(
                settings,
                dry_run=arguments.dry_run,
                allow_removals=arguments.allow_removals,
                progress=bar.advance if bar else None,
                on_start=bar.start if bar else None,
            )
        )
    except ContentSyncError as error:
        print_error(t(settings.locale, "cli.content_sync_failed", reason=str(error)))
        return EXIT_PROBLEMS
    except (ConfigError, ValueError) as error:
        raise UsageError(t(settings.locale, "cli.config_error", message=str(error))) from None
    finally:
        if bar is not None:
            bar.stop()
    if arguments.json:
        print(json.dumps(report.as_json(), ensure_ascii=False))
    else:
        print(t(settings.locale, "sync.summary", **report.as_json()))
        if arguments.dry_run:
            print(t(settings.locale, "sync.dry_run"))
    _report_sync_problems(report, settings.locale)
    return EXIT_OK if report.ok else EXIT_PROBLEMS


def _report_sync_problems(report: SyncReport, locale: str) -> None:
    """Say on stderr, one line each, what a sync could not do and what to do about it."""
    for identity, problem in report.held_back.items():
        print_error(t(locale, "sync.held_back", identity=identity, problem=problem))
    for identity, error in report.failed.items():
        print_error(t(locale, "sync.failed", identity=identity, error=error))
    if report.failed:
        print_error(t(locale, "sync.failed_summary", count=len(report.failed)))
    if report.busy:
        print_error(t(locale, "sync.busy", count=len(report.busy)))
    if report.refused_removals:
        key = "sync.removals_refused" if report.content_lessons else "sync.removals_refused_empty"
        count = len(report.refused_removals)
        print_error(t(locale, key, count=count, path=report.content, limit=report.max_removals))
