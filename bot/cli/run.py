"""`lessonbot run`: the bot itself, with its Discord client, web server and jobs."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from bot.cli.output import EXIT_OK, EXIT_PROBLEMS, UsageError, print_error
from bot.cli.stopping import until_stopped
from bot.config import ConfigError, Settings
from bot.i18n import t


def register(commands: Any) -> None:
    """Add `run` to the parser."""
    run = commands.add_parser("run", help="run the bot: Discord client, web server, jobs")
    run.set_defaults(handler=_run)


def _run(_arguments: argparse.Namespace, settings: Settings) -> int:
    from bot.app import run_bot  # discord.py and the web stack load only when running
    from bot.github.content import ContentSyncError

    try:
        asyncio.run(until_stopped(run_bot(settings)))
    except ContentSyncError as error:
        print_error(t(settings.locale, "cli.content_sync_failed", reason=str(error)))
        return EXIT_PROBLEMS
    except ConfigError as error:
        raise UsageError(t(settings.locale, "cli.config_error", message=str(error))) from None
    return EXIT_OK
