"""`lessonbot sandbox`: the Discord, GitHub and mail sandboxes (the `sandboxes` distribution)
and the real bot against them, offline, on one loop.

state.py keeps the state folder (its lock, the kept world, which world a database holds),
settings.py points the bot at the sandboxes, environment.py starts everything, env_file.py
writes sandbox.env, guide.py the guide printed at start, run.py is the command itself,
tour.py its `--tour`: the whole story played against a fresh sandbox through its HTTP APIs.
Only `lessonbot sandbox` (and its helpers in bot/cli/sandbox.py) import this package: it
needs the sandboxes installed. How other commands find a running sandbox, without them,
is bot/running_sandbox.py.
"""

from bot.offline.environment import (
    GUILD_NAME,
    MEMBERS,
    SANDBOX_BOT_TOKEN,
    SandboxEnvironment,
    guild_channels,
    sandbox_environment,
)
from bot.offline.guide import sandbox_guide
from bot.offline.run import run_sandbox
from bot.offline.settings import sandbox_maintainers
from bot.offline.state import (
    WORLD_DIR,
    WORLD_MARK,
    SandboxDatabaseError,
    StateDirBusyError,
    holding_state_dir,
    is_sandbox_database,
    sandbox_database_url,
    wipe_world,
)

__all__ = [
    "GUILD_NAME",
    "MEMBERS",
    "SANDBOX_BOT_TOKEN",
    "WORLD_DIR",
    "WORLD_MARK",
    "SandboxDatabaseError",
    "SandboxEnvironment",
    "StateDirBusyError",
    "guild_channels",
    "holding_state_dir",
    "is_sandbox_database",
    "run_sandbox",
    "sandbox_database_url",
    "sandbox_environment",
    "sandbox_guide",
    "sandbox_maintainers",
    "wipe_world",
]
