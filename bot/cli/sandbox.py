"""`lessonbot sandbox [discord|github|mail]`: the bot offline, and the sandboxes it runs on.

Every import of the sandboxes is here and lazy: only these commands (and a command run
beside a running sandbox) need them.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli.content import CONTENT_HELP, content_dir
from bot.cli.logs import add_log_format_option
from bot.cli.output import EXIT_OK, UsageError
from bot.cli.stopping import until_stopped
from bot.config import Settings, env_name, setting_origin
from bot.i18n import t

if TYPE_CHECKING:
    from bot.running_sandbox import RunningSandbox

# GitHub's rules: an owner is letters, digits and inner hyphens; a name adds `.` and `_`.
REPOSITORY = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?/[A-Za-z0-9._-]+")

# Commands that read or write the bot's database: run beside a sandbox with no database of
# their own, they use the sandbox's rather than make a second one nobody serves.
DATABASE_COMMANDS = frozenset(
    {"sync", "jobs", "prune", "suggest", "suggestions", "questions", "digest", "db", "doctor"}
)


def register(commands: Any) -> None:
    """Add `sandbox` and `sandbox discord|github|mail` to the parser."""
    sandbox = commands.add_parser(
        "sandbox",
        help="run the bot offline against local Discord and GitHub sandboxes",
        description="Without a COMMAND: both sandboxes and the real bot against them.",
    )
    sandbox.add_argument("--content", metavar="DIR", help=CONTENT_HELP)
    sandbox.add_argument(
        "--state-dir",
        metavar="DIR",
        default=None,
        help="where the sandbox world, its database, sandbox.json and sandbox.env go "
        "(default: .lessonbot; with --tour, a temporary folder); a restart resumes the "
        "world kept there",
    )
    sandbox.add_argument(
        "--fresh",
        action="store_true",
        help="start a new world: wipe both sandboxes' state and the sandbox database",
    )
    sandbox.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log every step (webhooks, jobs, schedules) at log_level, not only warnings "
        "and errors",
    )
    sandbox.add_argument(
        "--tour",
        action="store_true",
        help="start a fresh sandbox, play the whole story in it as people would (questions, "
        "suggestions, review, merge, translation note, digest), narrate each step and stop; "
        "exit 1 naming the first step that did not happen",
    )
    add_log_format_option(sandbox)
    sandbox.set_defaults(handler=_sandbox_all)
    sandbox_commands = sandbox.add_subparsers(dest="sandbox_command", metavar="COMMAND")
    discord_sandbox = sandbox_commands.add_parser(
        "discord", help="a Discord-compatible REST and gateway server"
    )
    discord_sandbox.add_argument("--host", default="127.0.0.1")
    discord_sandbox.add_argument("--port", type=int, default=8002, help="0 picks a free port")
    discord_sandbox.add_argument(
        "--token",
        help="the bot token to accept (default: $LESSONBOT_DISCORD_TOKEN, else a token "
        "shaped like Discord's, printed at start)",
    )
    discord_sandbox.add_argument(
        "--no-rate-limits",
        action="store_true",
        help="answer without Discord's rate limits (they are on by default)",
    )
    discord_sandbox.add_argument(
        "--rate-limit",
        action="append",
        default=[],
        type=_rate_limit,
        metavar="NAME=REQUESTS/SECONDS",
        help="change one limit (message_create, message_edit, message_delete, reaction, "
        "channel_name_topic, channel_edit, webhook, default) or global=REQUESTS; repeatable",
    )
    discord_sandbox.set_defaults(handler=_sandbox_discord)
    github = sandbox_commands.add_parser(
        "github", help="a GitHub-compatible REST server over a real git repository"
    )
    github.add_argument("--host", default="127.0.0.1")
    github.add_argument("--port", type=int, default=8001, help="0 picks a free port")
    github.add_argument("--content", metavar="DIR", help=CONTENT_HELP)
    github.add_argument("--repo", default="lessons/content", metavar="OWNER/NAME")
    github.add_argument("--webhook-url", metavar="URL", help="where to POST signed webhooks")
    github.add_argument(
        "--webhook-secret",
        metavar="SECRET",
        help="webhook signing secret (default: $LESSONBOT_GITHUB_WEBHOOK_SECRET)",
    )
    github.add_argument(
        "--collaborator",
        action="append",
        default=[],
        type=_collaborator,
        metavar="LOGIN:ROLE",
        help="give LOGIN a role (read, triage, write, maintain, admin); repeatable",
    )
    github.set_defaults(handler=_sandbox_github)
    mail = sandbox_commands.add_parser(
        "mail", help="an SMTP catcher that accepts any mail, with a read API of what it caught"
    )
    mail.add_argument("--host", default="127.0.0.1")
    mail.add_argument("--port", type=int, default=1025, help="SMTP port; 0 picks a free port")
    mail.add_argument(
        "--api-port",
        type=int,
        default=8025,
        help="port of the read API (GET/DELETE /_sandbox/messages); 0 picks a free port",
    )
    mail.set_defaults(handler=_sandbox_mail)


def _sandbox_all(arguments: argparse.Namespace, settings: Settings) -> int:
    from bot.offline import run_sandbox

    content = content_dir(arguments, settings)
    if getattr(arguments, "tour", False):
        return _tour(arguments, settings, content)
    state_dir = _state_dir(arguments)
    fresh = bool(getattr(arguments, "fresh", False))
    database_url, database_setting = sandbox_database(arguments, settings)
    asyncio.run(
        until_stopped(
            run_sandbox(
                settings,
                content_dir=content,
                state_dir=state_dir,
                fresh=fresh,
                database_url=database_url,
                database_setting=database_setting,
            )
        )
    )
    return EXIT_OK


def _tour(arguments: argparse.Namespace, settings: Settings, content: Path) -> int:
    from bot.offline.tour import run_tour

    # Without --state-dir the tour plays in a temporary folder: a fresh start there wipes
    # nobody's kept world (the default .lessonbot holds `make run`'s).
    state_dir = Path(arguments.state_dir) if arguments.state_dir else None
    database_url = sandbox_database(arguments, settings)[0] if state_dir else None
    status = EXIT_OK

    async def tour() -> None:
        nonlocal status
        status = await run_tour(
            settings, content_dir=content, state_dir=state_dir, database_url=database_url
        )

    asyncio.run(until_stopped(tour()))
    return status


def _state_dir(arguments: argparse.Namespace) -> Path:
    """Return --state-dir, else the default `.lessonbot`."""
    return Path(arguments.state_dir or ".lessonbot")


def _sandbox_discord(arguments: argparse.Namespace, settings: Settings) -> int:
    from sandboxes.discord import serve

    configured = settings.discord.token.reveal() if settings.discord.token else None
    token = arguments.token or configured
    from sandboxes.discord.ratelimits import RateLimitSettings

    limits = RateLimitSettings.parse(not arguments.no_rate_limits, arguments.rate_limit)
    asyncio.run(
        until_stopped(serve(arguments.host, arguments.port, bot_token=token, rate_limits=limits))
    )
    return EXIT_OK


def _rate_limit(value: str) -> str:
    """Check `NAME=REQUESTS/SECONDS` for `lessonbot sandbox discord --rate-limit`."""
    try:
        from sandboxes.discord.ratelimits import RateLimitSettings
    except ModuleNotFoundError:
        return value  # the command then says how to install the sandboxes
    try:
        RateLimitSettings.parse(True, [value])
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error
    return value


def _collaborator(value: str) -> tuple[str, str]:
    """Parse `LOGIN:ROLE` for `lessonbot sandbox github --collaborator`."""
    login, _, role = value.rpartition(":")
    roles = ("read", "triage", "write", "maintain", "admin")
    if not login or role not in roles:
        raise argparse.ArgumentTypeError(f"expected LOGIN:ROLE with ROLE one of {', '.join(roles)}")
    return login, role


def _sandbox_github(arguments: argparse.Namespace, settings: Settings) -> int:
    if not REPOSITORY.fullmatch(arguments.repo):
        raise UsageError(t(settings.locale, "cli.repo_invalid", repo=arguments.repo))
    content = content_dir(arguments, settings)
    secret = arguments.webhook_secret or (
        settings.github.webhook_secret.reveal() if settings.github.webhook_secret else None
    )
    if arguments.webhook_url and not secret:
        raise UsageError(t(settings.locale, "cli.webhook_secret_missing"))
    from sandboxes.github import serve  # the sandbox is only needed by this command

    asyncio.run(
        until_stopped(
            serve(
                content,
                arguments.repo,
                arguments.host,
                arguments.port,
                arguments.webhook_url,
                secret,
                arguments.collaborator,
            )
        )
    )
    return EXIT_OK


def _sandbox_mail(arguments: argparse.Namespace, settings: Settings) -> int:
    from sandboxes.mail import serve  # aiosmtpd is only needed by the sandboxes

    asyncio.run(until_stopped(serve(arguments.host, arguments.port, arguments.api_port)))
    return EXIT_OK


def sandbox_here(arguments: argparse.Namespace, locale: str) -> RunningSandbox | None:
    """Return the sandbox running in this folder's `.lessonbot` when this command would
    otherwise use a database of its own making, else None; raise UsageError when one runs
    but its settings cannot be used (yet).

    A command with no database.url would create `.lessonbot/lessonbot.db` beside the
    sandbox's and queue work there that no running bot picks up.
    """
    if arguments.command not in DATABASE_COMMANDS:
        return None
    if setting_origin("database.url", arguments.config) is not None:
        return None  # a database of its own (a sourced sandbox.env names the sandbox's)
    from bot.running_sandbox import running_sandbox

    sandbox = running_sandbox()
    if sandbox is None:
        return None
    variable = env_name("database", "url")
    place = {"path": str(sandbox.state_dir), "holder": sandbox.holder, "env": variable}
    if sandbox.environ is None:
        raise UsageError(t(locale, "cli.sandbox_starting", **place))
    if variable not in sandbox.environ:
        env_file = str(sandbox.env_file)
        raise UsageError(t(locale, "cli.sandbox_here_no_database", **place, env_file=env_file))
    return sandbox


def sandbox_state_dir(arguments: argparse.Namespace) -> Path | None:
    """Return `lessonbot sandbox`'s state folder, or None for any other command."""
    if arguments.command == "sandbox" and not getattr(arguments, "sandbox_command", None):
        return _state_dir(arguments)
    return None


def sandbox_database(arguments: argparse.Namespace, settings: Settings) -> tuple[str | None, str]:
    """Return the database `lessonbot sandbox` was told to use (None: its own file in the
    state folder) and the setting or option that names it."""
    from bot.offline import is_sandbox_database

    state_dir = _state_dir(arguments)
    origin = setting_origin("database.url", arguments.config)
    # Left at its default, database.url names `lessonbot run`'s database, not a choice.
    if origin is None or is_sandbox_database(settings.database.url, state_dir):
        return None, "--state-dir"
    return settings.database.url, f"database.url ({origin})"


def database_setting(arguments: argparse.Namespace, settings: Settings) -> tuple[str, str]:
    """Return the database URL the command used and the setting or option that names it."""
    state_dir = sandbox_state_dir(arguments)
    if state_dir is not None:
        from bot.offline import sandbox_database_url

        named, setting = sandbox_database(arguments, settings)
        return named or sandbox_database_url(state_dir), setting
    return settings.database.url, f"database.url ({env_name('database', 'url')})"


def explain_sandbox_error(
    error: Exception, arguments: argparse.Namespace, settings: Settings
) -> str | None:
    """Return one line saying why `lessonbot sandbox` could not start, if it is known."""
    locale = settings.locale
    # The sandboxes are a distribution of their own; in a checkout without it installed,
    # `sandboxes` is the bare folder and only `sandboxes.discord` (say) is missing.
    if isinstance(error, ModuleNotFoundError) and (error.name or "").split(".")[0] == "sandboxes":
        return t(locale, "cli.sandboxes_missing")
    offline = sys.modules.get("bot.offline")  # only `sandbox` loads it
    if offline is not None and isinstance(error, offline.StateDirBusyError):
        return t(locale, "cli.sandbox_running", path=str(error.state_dir), holder=error.holder)
    if offline is not None and isinstance(error, offline.SandboxDatabaseError):
        from bot.store.engine import masked_url

        state_dir = _state_dir(arguments)
        place = {
            "url": masked_url(error.url),
            "setting": database_setting(arguments, settings)[1],
            "own": offline.sandbox_database_url(state_dir.absolute()),
        }
        if error.world is None:
            return t(locale, "cli.sandbox_database_bot_data", **place)
        return t(locale, "cli.sandbox_database_other_world", **place, world=error.world)
    return None
