"""`lessonbot run`: the bot itself, with its Discord client, web server and jobs."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from bot.cli.logs import add_log_format_option
from bot.cli.output import EXIT_OK, EXIT_PROBLEMS, UsageError, print_error
from bot.cli.stopping import until_stopped
from bot.config import ConfigError, Settings
from bot.domain.roles import ROLE_NAMES, UnknownRoleError, parse_roles
from bot.i18n import t


def register(commands: Any) -> None:
    """Add `run` to the parser."""
    run = commands.add_parser("run", help="run the bot: Discord client, web server, jobs")
    run.add_argument(
        "--role",
        action="append",
        metavar="ROLE",
        help=(
            f"what this process does, repeatable or comma-separated: {', '.join(ROLE_NAMES)} "
            "(default: setting run.roles, all)"
        ),
    )
    add_log_format_option(run)
    run.set_defaults(handler=_run)


def chosen_roles(arguments: argparse.Namespace, settings: Settings) -> frozenset[str]:
    """Return the roles of this process: --role when given, else setting run.roles."""
    named = arguments.role or settings.run.roles
    try:
        return parse_roles(named)
    except UnknownRoleError as error:
        names = ", ".join(ROLE_NAMES)
        if error.role:
            message = t(settings.locale, "cli.unknown_role", role=error.role, roles=names)
        else:
            message = t(settings.locale, "cli.no_role", roles=names)
        raise UsageError(message) from None


def _run(arguments: argparse.Namespace, settings: Settings) -> int:
    roles = chosen_roles(arguments, settings)
    from bot.app import run_bot  # discord.py and the web stack load only when running
    from bot.github.content import ContentSyncError

    try:
        asyncio.run(until_stopped(run_bot(settings, roles)))
    except ContentSyncError as error:
        print_error(t(settings.locale, "cli.content_sync_failed", reason=str(error)))
        return EXIT_PROBLEMS
    except ConfigError as error:
        raise UsageError(t(settings.locale, "cli.config_error", message=str(error))) from None
    return EXIT_OK
