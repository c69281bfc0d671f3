"""`lessonbot sandbox`: the Discord, GitHub and mail sandboxes (the `sandboxes` distribution)
and the real bot against them, offline, on one loop.

state.py keeps the state folder (its lock, the kept world, which world a database holds),
settings.py points the bot at the sandboxes, environment.py starts everything, env_file.py
writes sandbox.env, guide.py the guide printed at start, run.py is the command itself.
running.py is how other commands find a running sandbox.

Each name below is imported from its module when first asked for: every command that
touches the database imports running.py, and must not load the sandboxes (which may not
be installed), SQLAlchemy or alembic on its way there.
"""

from __future__ import annotations

import importlib
from typing import Any

# The module of each name importers use.
_MODULE_OF = {
    "GUILD_NAME": "environment",
    "MEMBERS": "environment",
    "SANDBOX_BOT_TOKEN": "environment",
    "SandboxEnvironment": "environment",
    "guild_channels": "environment",
    "sandbox_environment": "environment",
    "sandbox_guide": "guide",
    "run_sandbox": "run",
    "sandbox_maintainers": "settings",
    "WORLD_DIR": "state",
    "WORLD_MARK": "state",
    "SandboxDatabaseError": "state",
    "StateDirBusyError": "state",
    "holding_state_dir": "state",
    "is_sandbox_database": "state",
    "sandbox_database_url": "state",
    "wipe_world": "state",
}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # asked once: later lookups find it without this function
    return value
