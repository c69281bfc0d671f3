"""`lessonbot prune`: remove the records past their retention, as the running bot does daily."""

from __future__ import annotations

import argparse
import json
from typing import Any

from bot.cli.db import with_database
from bot.cli.output import EXIT_OK
from bot.config import Settings
from bot.i18n import t


def register(commands: Any) -> None:
    """Add `prune` to the parser."""
    prune = commands.add_parser(
        "prune",
        help="remove finished jobs, webhook deliveries and other records past their "
        "retention (the running bot does it daily)",
    )
    prune.add_argument(
        "--dry-run", action="store_true", help="show what would be removed, and remove nothing"
    )
    prune.add_argument("--json", action="store_true", help="print one JSON object")
    prune.set_defaults(handler=_prune)


def _prune(arguments: argparse.Namespace, settings: Settings) -> int:
    """Remove (or, dry, count) what is past its retention; print how many per table."""

    async def run(sessions: Any) -> Any:
        from bot.app import make_outbox
        from bot.services.retention import RetentionService

        service = RetentionService(sessions, make_outbox(settings, sessions), settings.retention)
        return await service.prune(dry_run=arguments.dry_run)

    report = with_database(settings, run)
    if arguments.json:
        print(json.dumps(report.as_json()))
        return EXIT_OK
    key = "prune.would_remove" if report.dry_run else "prune.removed"
    print(t(settings.locale, key, count=report.total))
    width = max(len(kind) for kind in report.removed)
    for kind, count in report.removed.items():
        print(f"  {kind:<{width}}  {count:>8}")
    return EXIT_OK
