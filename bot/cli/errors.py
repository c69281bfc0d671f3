"""Say in one line what stopped a command, when it is a known problem and not a bug."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from bot.cli.sandbox import database_setting, explain_sandbox_error, sandbox_state_dir
from bot.config import Settings, env_name
from bot.i18n import t


def explain(error: Exception, arguments: argparse.Namespace, settings: Settings) -> str | None:
    """Return one line saying what stopped the command and what to do, if it is known."""
    from bot.net import AddressNotHereError, PortInUseError

    locale = settings.locale
    sandbox_message = explain_sandbox_error(error, arguments, settings)
    if sandbox_message is not None:
        return sandbox_message
    if isinstance(error, AddressNotHereError):
        return t(locale, "cli.host_not_here", host=error.host, env=env_name("web", "host"))
    # The sandboxes raise their own copy of PortInUseError; only sandbox commands load it.
    sandboxes_net = sys.modules.get("sandboxes.net")
    if isinstance(error, (PortInUseError, sandboxes_net.PortInUseError if sandboxes_net else ())):
        place = {"host": error.host, "port": error.port}
        if getattr(arguments, "port", None) is not None:
            return t(locale, "cli.port_in_use_option", **place)
        if arguments.command == "run":
            return t(locale, "cli.port_in_use_setting", **place, env=env_name("web", "port"))
        return t(locale, "cli.port_in_use_retry", **place)
    state_dir = sandbox_state_dir(arguments)
    if state_dir is not None and _permission_denied_in(error, state_dir):
        return t(locale, "cli.state_dir_not_writable", path=str(state_dir))
    if "sqlalchemy" not in sys.modules:
        return None  # nothing touched a database
    from bot.store.engine import database_problem, masked_url, problem_reason

    url, setting = database_setting(arguments, settings)
    problem = database_problem(error)
    if problem is None and _in_database_path(error, url):
        problem = "not_writable"  # its folder could not be created
    if problem is None:
        return None
    if problem == "not_writable":
        return t(locale, "cli.db_not_writable", path=_sqlite_path(url), setting=setting)
    if problem == "read_only":
        return t(locale, "cli.db_read_only", url=masked_url(url), setting=setting)
    reason = problem_reason(error)
    return t(locale, "cli.db_unreachable", url=masked_url(url), reason=reason, setting=setting)


def _permission_denied_in(error: Exception, folder: Path) -> bool:
    """Tell whether a permission error is about a folder, something in it or above it."""
    if not isinstance(error, PermissionError) or not error.filename:
        return False
    path, folder = Path(os.fsdecode(error.filename)).absolute(), folder.absolute()
    return path == folder or folder in path.parents or path in folder.parents


def _sqlite_path(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).database or url


def _in_database_path(error: Exception, url: str) -> bool:
    """Tell whether a permission error is about the SQLite file or a folder above it."""
    if not isinstance(error, PermissionError) or not error.filename or "sqlite" not in url:
        return False
    database = Path(_sqlite_path(url)).absolute()
    return Path(os.fsdecode(error.filename)).absolute() in (database, *database.parents)
