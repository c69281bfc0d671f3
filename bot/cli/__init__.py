"""The `lessonbot` command line: one module per command group, assembled here."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from bot import __version__
from bot.cli import (
    db,
    digest,
    doctor,
    jobs,
    lessons,
    prune,
    questions,
    run,
    sandbox,
    suggest,
    suggestions,
    sync,
)
from bot.cli.errors import explain
from bot.cli.logs import configure as configure_logs
from bot.cli.output import EXIT_OK, EXIT_USAGE, UsageError, print_error
from bot.cli.sandbox import sandbox_here, sandbox_state_dir
from bot.config import CONFIG_ENV, ConfigError, Settings, load_settings, setting_origin
from bot.i18n import t
from bot.services import correlation

__all__ = ["build_parser", "main"]

log = logging.getLogger("lessonbot")

# In the order `lessonbot --help` lists them.
COMMAND_GROUPS = (
    lessons,
    run,
    sandbox,
    sync,
    jobs,
    suggest,
    suggestions,
    digest,
    questions,
    prune,
    db,
    doctor,
)


# Commands that serve (a bot, the sandboxes) rather than do one thing.
SERVING_COMMANDS = frozenset({"run", "sandbox"})


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="lessonbot",
        description="Collaboration bot for an open, multilingual learning site.",
    )
    parser.add_argument("--version", action="version", version=f"lessonbot {__version__}")
    parser.add_argument(
        "--config",
        metavar="FILE",
        help=f"settings file (default: ${CONFIG_ENV} or ./lessonbot.toml when present)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    for group in COMMAND_GROUPS:
        group.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    arguments = parser.parse_args(argv)  # exits 2 with usage on bad arguments
    fallback_locale = os.environ.get("LESSONBOT_LOCALE", "en")
    try:
        running = sandbox_here(arguments, fallback_locale)
        environ = {**os.environ, **running.environ} if running and running.environ else None
        settings = load_settings(arguments.config, environ)
        quiet = _quiet_logs(arguments, environ)
    except ConfigError as error:
        print_error(t(fallback_locale, "cli.config_error", message=str(error)))
        return EXIT_USAGE
    except UsageError as error:
        print_error(str(error))
        return EXIT_USAGE
    if running is not None:
        place = {"path": str(running.state_dir), "holder": running.holder}
        print_error(t(settings.locale, "cli.sandbox_here", **place, env_file=str(running.env_file)))
    configure_logs(
        getattr(arguments, "log_format", None) or settings.log.format,
        settings,
        level=logging.WARNING if quiet else settings.log_level,
        role=_process_role(arguments, settings),
    )
    if quiet:
        # The command's own lines (a stop asked for by SIGTERM) still show.
        log.setLevel(logging.INFO)
    if settings.log_level != "DEBUG":
        # Alembic narrates every plugin and step at INFO; the command prints the outcome.
        logging.getLogger("alembic").setLevel(logging.WARNING)
    # discord.py warns at every start that voice needs `davey`; lessonbot has no voice.
    logging.getLogger("discord.client").addFilter(_not_about_voice)
    try:
        # A one-off command is a door: what it records (a suggestion, a digest) carries
        # its id. A running bot's doors are its requests, events and jobs, each its own.
        door = None if arguments.command in SERVING_COMMANDS else correlation.new_id("cli")
        with correlation.correlated(door):
            return arguments.handler(arguments, settings)
    except UsageError as error:
        print_error(str(error))
        return EXIT_USAGE
    except KeyboardInterrupt:
        print_error(t(settings.locale, "cli.interrupted"))
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): not an error, and nothing more to print.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps the interpreter's flush quiet
        return EXIT_OK
    except Exception as error:
        message = explain(error, arguments, settings)
        if message is None:
            raise  # a bug: the traceback is what a maintainer needs
        log.debug("%s", message, exc_info=error)
        print_error(message)
        return EXIT_USAGE


def _quiet_logs(arguments: argparse.Namespace, environ: dict[str, str] | None) -> bool:
    """Tell whether only warnings and errors are logged: `lessonbot sandbox` prints where
    everything is and a guide, which routine lines (each webhook, each job) would bury,
    unless asked for with --verbose or a log_level setting."""
    if sandbox_state_dir(arguments) is None or arguments.verbose:
        return False
    return setting_origin("log_level", arguments.config, environ) is None


def _process_role(arguments: argparse.Namespace, settings: Settings) -> str:
    """Return what this process is, for its log lines: `run`'s roles, else the command."""
    if arguments.command != "run":
        return str(arguments.command)
    try:
        return ",".join(sorted(run.chosen_roles(arguments, settings)))
    except UsageError:
        return "run"  # the command itself says what is wrong with its roles


def _not_about_voice(record: logging.LogRecord) -> bool:
    return "voice will NOT be supported" not in record.getMessage()
