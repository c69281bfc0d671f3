"""`lessonbot db upgrade`, and the database access every database command goes through."""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.cli.output import EXIT_OK, UsageError
from bot.config import Settings
from bot.i18n import t

log = logging.getLogger("lessonbot")


def register(commands: Any) -> None:
    """Add `db upgrade` to the parser."""
    database = commands.add_parser("db", help="manage the database")
    database_commands = database.add_subparsers(dest="db_command", metavar="COMMAND")
    database_commands.required = True
    upgrade = database_commands.add_parser("upgrade", help="migrate the database to the latest")
    upgrade.set_defaults(handler=_db_upgrade)


def _db_upgrade(arguments: argparse.Namespace, settings: Settings) -> int:
    from bot.cli.errors import explain
    from bot.store.migrate import upgrade  # Alembic is only needed by this command

    try:
        revision = upgrade(settings.database.url)
    except Exception as error:  # the driver's own errors vary; report one line, log the rest
        if explain(error, arguments, settings) is not None:
            raise  # unreachable or read-only: main() says so as it does for every command
        log.debug("database upgrade failed", exc_info=True)
        reason = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        raise UsageError(t(settings.locale, "cli.db_failed", reason=reason)) from error
    print(t(settings.locale, "cli.db_upgraded", revision=revision))
    return EXIT_OK


def with_outbox(settings: Settings, use: Callable[[Any], Awaitable[Any]]) -> Any:
    """Run one call on the write path's table, migrating the database first."""
    from bot.app import make_outbox

    return with_database(settings, lambda sessions: use(make_outbox(settings, sessions)))


def with_database(settings: Settings, use: Callable[[Any], Awaitable[Any]]) -> Any:
    """Run one call with a session factory, migrating the database first."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.store.engine import make_engine, make_session_factory
    from bot.store.migrate import upgrade

    async def run() -> Any:
        engine = make_engine(settings.database.url)
        try:
            return await use(make_session_factory(engine))
        finally:
            await engine.dispose()

    try:
        upgrade(settings.database.url)
        return asyncio.run(run())
    except SQLAlchemyError as error:
        from bot.store.engine import database_problem

        if database_problem(error) is not None:
            raise  # unreachable or read-only: main() says so as it does for every command
        log.debug("database unavailable", exc_info=True)
        reason = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        raise UsageError(t(settings.locale, "cli.db_failed", reason=reason)) from None
