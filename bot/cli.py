"""The `lessonbot` command line."""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import json
import logging
import os
import re
import signal
import sys
import threading
import unicodedata
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot import __version__
from bot.config import (
    CONFIG_ENV,
    ConfigError,
    Settings,
    env_name,
    load_settings,
    setting_origin,
)
from bot.domain.catalogue import Catalogue, LessonFile, Problem, load_catalogue
from bot.domain.checks import check_content
from bot.domain.review_flow import STATUSES
from bot.i18n import t

if TYPE_CHECKING:
    from bot.running_sandbox import RunningSandbox
    from bot.services.linking import SyncReport

log = logging.getLogger("lessonbot")

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
# GitHub's rules: an owner is letters, digits and inner hyphens; a name adds `.` and `_`.
REPOSITORY = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?/[A-Za-z0-9._-]+")


class UsageError(Exception):
    """A problem with what the user asked for; printed as one line, exit status 2."""


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

    lessons = commands.add_parser("lessons", help="list and check the lesson files")
    lesson_commands = lessons.add_subparsers(dest="lessons_command", metavar="COMMAND")
    lesson_commands.required = True
    content_help = "content directory (default: the configured content.dir, lessons/)"
    listing = lesson_commands.add_parser("list", help="print one record per lesson file")
    listing.add_argument("--content", metavar="DIR", help=content_help)
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.set_defaults(handler=_lessons_list)
    check = lesson_commands.add_parser(
        "check", help="lint front matter, components and quizzes (exit 1 on problems)"
    )
    check.add_argument("--content", metavar="DIR", help=content_help)
    check.add_argument(
        "--format",
        choices=("text", "github"),
        default="text",
        help="text: path:line: message; github: workflow annotations",
    )
    check.set_defaults(handler=_lessons_check)

    run = commands.add_parser("run", help="run the bot: Discord client, web server, jobs")
    run.set_defaults(handler=_run)

    sandbox = commands.add_parser(
        "sandbox",
        help="run the bot offline against local Discord and GitHub sandboxes",
        description="Without a COMMAND: both sandboxes and the real bot against them.",
    )
    sandbox.add_argument("--content", metavar="DIR", help=content_help)
    sandbox.add_argument(
        "--state-dir",
        metavar="DIR",
        default=".lessonbot",
        help="where the sandbox world, its database, sandbox.json and sandbox.env go "
        "(default: .lessonbot); a restart resumes the world kept there",
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
    sandbox.set_defaults(handler=_sandbox_everything)
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
    github.add_argument("--content", metavar="DIR", help=content_help)
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

    sync = commands.add_parser(
        "sync",
        help="link every lesson to a Discord forum post and a GitHub issue",
        description="Create missing posts and issues, rename changed ones, archive and close "
        "those of removed lessons. Needs the Discord and GitHub settings the bot runs with.",
    )
    sync.add_argument("--content", metavar="DIR", help=content_help)
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

    jobs = commands.add_parser(
        "jobs", help="see and retry the bot's pending and failed writes to GitHub and Discord"
    )
    job_commands = jobs.add_subparsers(dest="jobs_command", metavar="COMMAND")
    job_commands.required = True
    jobs_list = job_commands.add_parser(
        "list", help="pending, waiting (for a rate limit), running and failed jobs"
    )
    jobs_list.add_argument("--all", action="store_true", help="done jobs too")
    jobs_list.add_argument("--json", action="store_true", help="print a JSON array")
    jobs_list.set_defaults(handler=_jobs_list)
    jobs_retry = job_commands.add_parser("retry", help="run a failed job again, now")
    jobs_retry.add_argument("id", type=int, metavar="ID")
    jobs_retry.set_defaults(handler=_jobs_retry)

    _add_suggestion_commands(commands, content_help)
    _add_digest_command(commands)
    _add_question_commands(commands)

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

    database = commands.add_parser("db", help="manage the database")
    database_commands = database.add_subparsers(dest="db_command", metavar="COMMAND")
    database_commands.required = True
    upgrade = database_commands.add_parser("upgrade", help="migrate the database to the latest")
    upgrade.set_defaults(handler=_db_upgrade)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    arguments = parser.parse_args(argv)  # exits 2 with usage on bad arguments
    fallback_locale = os.environ.get("LESSONBOT_LOCALE", "en")
    try:
        sandbox = _sandbox_here(arguments, fallback_locale)
        environ = {**os.environ, **sandbox.environ} if sandbox and sandbox.environ else None
        settings = load_settings(arguments.config, environ)
        quiet = _quiet_logs(arguments, environ)
    except ConfigError as error:
        _error(t(fallback_locale, "cli.config_error", message=str(error)))
        return EXIT_USAGE
    except UsageError as error:
        _error(str(error))
        return EXIT_USAGE
    if sandbox is not None:
        place = {"path": str(sandbox.state_dir), "holder": sandbox.holder}
        _error(t(settings.locale, "cli.sandbox_here", **place, env_file=str(sandbox.env_file)))
    logging.basicConfig(
        level=logging.WARNING if quiet else settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
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
        return arguments.handler(arguments, settings)
    except UsageError as error:
        _error(str(error))
        return EXIT_USAGE
    except KeyboardInterrupt:
        _error(t(settings.locale, "cli.interrupted"))
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): not an error, and nothing more to print.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps the interpreter's flush quiet
        return EXIT_OK
    except Exception as error:
        message = _explain(error, arguments, settings)
        if message is None:
            raise  # a bug: the traceback is what a maintainer needs
        log.debug("%s", message, exc_info=error)
        _error(message)
        return EXIT_USAGE


# Commands that read or write the bot's database: run beside a sandbox with no database of
# their own, they use the sandbox's rather than make a second one nobody serves.
DATABASE_COMMANDS = frozenset(
    {"sync", "jobs", "prune", "suggest", "suggestions", "questions", "digest", "db"}
)


def _sandbox_here(arguments: argparse.Namespace, locale: str) -> RunningSandbox | None:
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


def _quiet_logs(arguments: argparse.Namespace, environ: dict[str, str] | None) -> bool:
    """Tell whether only warnings and errors are logged: `lessonbot sandbox` prints where
    everything is and a guide, which routine lines (each webhook, each job) would bury,
    unless asked for with --verbose or a log_level setting."""
    if _sandbox_state_dir(arguments) is None or arguments.verbose:
        return False
    return setting_origin("log_level", arguments.config, environ) is None


def _not_about_voice(record: logging.LogRecord) -> bool:
    return "voice will NOT be supported" not in record.getMessage()


def _error(message: str) -> None:
    print(f"lessonbot: {message}", file=sys.stderr)


def _explain(error: Exception, arguments: argparse.Namespace, settings: Settings) -> str | None:
    """Return one line saying what stopped the command and what to do, if it is known."""
    from bot.net import PortInUseError

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

        state_dir = Path(arguments.state_dir)
        place = {
            "url": masked_url(error.url),
            "setting": _database_setting(arguments, settings)[1],
            "own": offline.sandbox_database_url(state_dir.absolute()),
        }
        if error.world is None:
            return t(locale, "cli.sandbox_database_bot_data", **place)
        return t(locale, "cli.sandbox_database_other_world", **place, world=error.world)
    # The sandboxes raise their own copy of PortInUseError; only sandbox commands load it.
    sandboxes_net = sys.modules.get("sandboxes.net")
    if isinstance(error, (PortInUseError, sandboxes_net.PortInUseError if sandboxes_net else ())):
        place = {"host": error.host, "port": error.port}
        if getattr(arguments, "port", None) is not None:
            return t(locale, "cli.port_in_use_option", **place)
        if arguments.command == "run":
            return t(locale, "cli.port_in_use_setting", **place, env=env_name("web", "port"))
        return t(locale, "cli.port_in_use_retry", **place)
    state_dir = _sandbox_state_dir(arguments)
    if state_dir is not None and _permission_denied_in(error, state_dir):
        return t(locale, "cli.state_dir_not_writable", path=str(state_dir))
    if "sqlalchemy" not in sys.modules:
        return None  # nothing touched a database
    from bot.store.engine import database_problem, masked_url, problem_reason

    url, setting = _database_setting(arguments, settings)
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


def _sandbox_state_dir(arguments: argparse.Namespace) -> Path | None:
    """Return `lessonbot sandbox`'s state folder, or None for any other command."""
    if arguments.command == "sandbox" and not getattr(arguments, "sandbox_command", None):
        return Path(arguments.state_dir)
    return None


def _permission_denied_in(error: Exception, folder: Path) -> bool:
    """Tell whether a permission error is about a folder, something in it or above it."""
    if not isinstance(error, PermissionError) or not error.filename:
        return False
    path, folder = Path(os.fsdecode(error.filename)).absolute(), folder.absolute()
    return path == folder or folder in path.parents or path in folder.parents


def _database_setting(arguments: argparse.Namespace, settings: Settings) -> tuple[str, str]:
    """Return the database URL the command used and the setting or option that names it."""
    state_dir = _sandbox_state_dir(arguments)
    if state_dir is not None:
        from bot.offline import sandbox_database_url

        named, setting = _sandbox_database(arguments, settings)
        return named or sandbox_database_url(state_dir), setting
    return settings.database.url, f"database.url ({env_name('database', 'url')})"


def _sandbox_database(arguments: argparse.Namespace, settings: Settings) -> tuple[str | None, str]:
    """Return the database `lessonbot sandbox` was told to use (None: its own file in the
    state folder) and the setting or option that names it."""
    from bot.offline import is_sandbox_database

    state_dir = Path(arguments.state_dir)
    origin = setting_origin("database.url", arguments.config)
    # Left at its default, database.url names `lessonbot run`'s database, not a choice.
    if origin is None or is_sandbox_database(settings.database.url, state_dir):
        return None, "--state-dir"
    return settings.database.url, f"database.url ({origin})"


def _sqlite_path(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).database or url


def _in_database_path(error: Exception, url: str) -> bool:
    """Tell whether a permission error is about the SQLite file or a folder above it."""
    if not isinstance(error, PermissionError) or not error.filename or "sqlite" not in url:
        return False
    database = Path(_sqlite_path(url)).absolute()
    return Path(os.fsdecode(error.filename)).absolute() in (database, *database.parents)


def _content_dir(arguments: argparse.Namespace, settings: Settings) -> Path:
    content = Path(arguments.content) if arguments.content else settings.content.dir
    if content.exists() and not content.is_dir():
        raise UsageError(t(settings.locale, "cli.content_not_dir", path=str(content)))
    if not content.is_dir():
        raise UsageError(t(settings.locale, "cli.content_missing", path=str(content)))
    return content


def _load(content: Path, settings: Settings) -> Catalogue:
    return load_catalogue(content, settings.content.default_locale)


def _lessons_list(arguments: argparse.Namespace, settings: Settings) -> int:
    content = _content_dir(arguments, settings)
    catalogue = _load(content, settings)
    # The catalogue's problems are those that keep a file from being linked: said as
    # `lessons check` says them, and the file still listed, marked.
    problems: dict[str, list[dict[str, Any]]] = {}
    for problem in sorted(catalogue.problems, key=lambda problem: (problem.path, problem.line)):
        message = _problem_message(problem, settings.locale)
        print(f"{_shown_path(content, problem.path)}:{problem.line}: {message}", file=sys.stderr)
        record = {"code": problem.code, "line": problem.line, "message": message}
        problems.setdefault(problem.path, []).append(record)
    records = [
        {
            "program": lesson_file.program,
            "slug": lesson_file.slug,
            "locale": lesson_file.locale,
            "title": lesson_file.title,
            "path": lesson_file.path,
            "order": lesson_file.order,
            "published": lesson_file.published,
            "problems": problems.get(lesson_file.path, []),
        }
        for lesson_file in _files_with_duplicates(catalogue)
    ]
    if arguments.json:
        _print_json_array(records, sys.stdout)
        return EXIT_OK
    if not records:
        print(t(settings.locale, "cli.list_empty", path=str(content)), file=sys.stderr)
        return EXIT_OK
    width = max(len(f"{record['program']}/{record['slug']}") for record in records)
    broken = t(settings.locale, "cli.list_broken")
    for record in records:
        identity = f"{record['program']}/{record['slug']}"
        line = f"{identity:<{width}}  {record['locale']:<5}  {record['title']}"
        print(_printable(f"{line}  {broken}" if record["problems"] else line))
    return EXIT_OK


def _files_with_duplicates(catalogue: Catalogue) -> list[LessonFile]:
    """Return the catalogue's files in order, each duplicate right after the file it repeats."""
    later: dict[tuple[str, str], list[LessonFile]] = {}
    for duplicate in catalogue.duplicates:
        later.setdefault((duplicate.identity, duplicate.locale), []).append(duplicate)
    return [
        each
        for lesson_file in catalogue.files
        for each in [lesson_file, *later.get((lesson_file.identity, lesson_file.locale), [])]
    ]


def _shown_path(content: Path, relative: str) -> str:
    """Return a content file's path for a `path:line:` prefix."""
    return _printable((content / relative).as_posix())


def _printable(text: str) -> str:
    """Escape control characters and lone surrogates, which a file name may hold."""
    # A control character would drive the terminal; a surrogate (a file name that is not
    # UTF-8) would make printing raise.
    if text.isprintable():
        return text
    return "".join(
        character
        if character.isprintable() or unicodedata.category(character) not in ("Cc", "Cs")
        else character.encode("unicode_escape", "backslashreplace").decode("ascii")
        for character in text
    )


def _print_json_array(records: list[dict[str, Any]], stream: TextIO) -> None:
    """Print a JSON array with one record per line: valid JSON and easy to grep."""
    if not records:
        stream.write("[]\n")
        return
    lines = ",\n".join(json.dumps(record, ensure_ascii=False) for record in records)
    stream.write(f"[\n{lines}\n]\n")


def _lessons_check(arguments: argparse.Namespace, settings: Settings) -> int:
    content = _content_dir(arguments, settings)
    report = check_content(content, settings.content.default_locale)
    for problem in report.problems:
        message = _problem_message(problem, settings.locale)
        if arguments.format == "github":
            # Workflow commands end at a newline and treat % as an escape; a property value
            # also ends at `,` and `:` (as @actions/core escapes them).
            path = _escape_data((content / problem.path).as_posix())
            path = path.replace(":", "%3A").replace(",", "%2C")
            print(f"::error file={path},line={problem.line}::{_escape_data(message)}")
        else:
            print(f"{_shown_path(content, problem.path)}:{problem.line}: {message}")
    if report.problems:
        count, files = len(report.problems), report.files_checked
        print(t(settings.locale, "cli.check_failed", count=count, files=files), file=sys.stderr)
        return EXIT_PROBLEMS
    print(t(settings.locale, "cli.check_clean", count=report.files_checked), file=sys.stderr)
    return EXIT_OK


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _problem_message(problem: Problem, locale: str) -> str:
    return t(locale, f"check.{problem.code}", **problem.params)


async def _until_stopped(coroutine: Coroutine[Any, Any, None]) -> None:
    """Await a long-running coroutine; SIGTERM stops it as Ctrl+C does, by cancelling.

    The cancellation runs every cleanup on the way out (temporary repositories removed,
    connections closed), and a stop that was asked for ends the command with status 0.
    """
    loop = asyncio.get_running_loop()
    main_task = asyncio.current_task()
    assert main_task is not None
    stopping = False
    # A stop that is slow to finish says what still runs (every thread's stack), once.
    slow_stop = threading.Timer(SLOW_STOP_SECONDS, _report_slow_stop)
    slow_stop.daemon = True

    def stop() -> None:
        nonlocal stopping
        stopping = True
        log.info("SIGTERM received: stopping")
        # A second SIGTERM, while cleanup runs, ends the process at once as usual.
        loop.remove_signal_handler(signal.SIGTERM)
        slow_stop.start()
        main_task.cancel()

    loop.add_signal_handler(signal.SIGTERM, stop)
    try:
        await coroutine
    except asyncio.CancelledError:
        if not stopping:
            raise  # Ctrl+C, which asyncio.run turns into KeyboardInterrupt
        main_task.uncancel()
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        slow_stop.cancel()


# After this long, a stop still under way logs where each thread is, to find what holds it.
SLOW_STOP_SECONDS = 30.0


def _report_slow_stop() -> None:
    """Log that stopping takes long, and dump every thread's stack to stderr."""
    log.warning("still stopping after %.0f s; what each thread is doing:", SLOW_STOP_SECONDS)
    faulthandler.dump_traceback(file=sys.stderr, all_threads=True)


def _run(_arguments: argparse.Namespace, settings: Settings) -> int:
    from bot.app import run_bot  # discord.py and the web stack load only when running
    from bot.github.content import ContentSyncError

    try:
        asyncio.run(_until_stopped(run_bot(settings)))
    except ContentSyncError as error:
        _error(t(settings.locale, "cli.content_sync_failed", reason=str(error)))
        return EXIT_PROBLEMS
    except ConfigError as error:
        raise UsageError(t(settings.locale, "cli.config_error", message=str(error))) from None
    return EXIT_OK


def _sandbox_everything(arguments: argparse.Namespace, settings: Settings) -> int:
    from bot.offline import run_sandbox

    content = _content_dir(arguments, settings)
    state_dir = Path(arguments.state_dir)
    fresh = bool(getattr(arguments, "fresh", False))
    database_url, database_setting = _sandbox_database(arguments, settings)
    asyncio.run(
        _until_stopped(
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


def _sandbox_discord(arguments: argparse.Namespace, settings: Settings) -> int:
    from sandboxes.discord import serve

    configured = settings.discord.token.reveal() if settings.discord.token else None
    token = arguments.token or configured
    from sandboxes.discord.ratelimits import RateLimitSettings

    limits = RateLimitSettings.parse(not arguments.no_rate_limits, arguments.rate_limit)
    asyncio.run(
        _until_stopped(serve(arguments.host, arguments.port, bot_token=token, rate_limits=limits))
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
    content = _content_dir(arguments, settings)
    secret = arguments.webhook_secret or (
        settings.github.webhook_secret.reveal() if settings.github.webhook_secret else None
    )
    if arguments.webhook_url and not secret:
        raise UsageError(t(settings.locale, "cli.webhook_secret_missing"))
    from sandboxes.github import serve  # the sandbox is only needed by this command

    asyncio.run(
        _until_stopped(
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

    asyncio.run(_until_stopped(serve(arguments.host, arguments.port, arguments.api_port)))
    return EXIT_OK


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
        content = _content_dir(arguments, settings)
        settings = dataclasses.replace(
            settings,
            content=dataclasses.replace(settings.content, dir=content, source="directory"),
        )
    if arguments.dry_run:
        from bot.store.engine import check_reachable

        # A dry run reads what is linked: a server that does not answer must not pass for
        # a database that holds nothing yet.
        check_reachable(settings.database.url)
    bar = None if arguments.json or not sys.stdout.isatty() else _ProgressBar(settings.locale)
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
        _error(t(settings.locale, "cli.content_sync_failed", reason=str(error)))
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
        _error(t(locale, "sync.held_back", identity=identity, problem=problem))
    for identity, error in report.failed.items():
        _error(t(locale, "sync.failed", identity=identity, error=error))
    if report.failed:
        _error(t(locale, "sync.failed_summary", count=len(report.failed)))
    if report.busy:
        _error(t(locale, "sync.busy", count=len(report.busy)))
    if report.refused_removals:
        key = "sync.removals_refused" if report.content_lessons else "sync.removals_refused_empty"
        count = len(report.refused_removals)
        _error(t(locale, key, count=count, path=report.content, limit=report.max_removals))


def _jobs_list(arguments: argparse.Namespace, settings: Settings) -> int:
    from bot.store.models import JobStatus

    statuses = None if arguments.all else [JobStatus.PENDING, JobStatus.RUNNING, JobStatus.FAILED]
    views = _with_outbox(settings, lambda outbox: outbox.jobs(statuses))
    if arguments.json:
        _print_json_array([view.as_json() for view in views], sys.stdout)
        return EXIT_OK
    if not views:
        print(t(settings.locale, "jobs.empty"), file=sys.stderr)
        return EXIT_OK
    for view in views:
        error = (view.last_error or "").splitlines()[0] if view.last_error else ""
        # A waiting job failed nothing: say what it waits for and until when instead.
        note = view.wait.text if view.wait is not None else error
        print(
            f"{view.id:>6}  {view.status:<8} {view.key}  "
            f"{view.attempts}/{view.max_attempts}  {view.run_after:%Y-%m-%d %H:%M:%S}  {note}"
        )
    return EXIT_OK


def _jobs_retry(arguments: argparse.Namespace, settings: Settings) -> int:
    view = _with_outbox(settings, lambda outbox: outbox.retry(arguments.id))
    if view is None:
        _error(t(settings.locale, "jobs.not_found", id=arguments.id))
        return EXIT_PROBLEMS
    print(t(settings.locale, "jobs.retried", id=view.id, key=view.key))
    return EXIT_OK


def _prune(arguments: argparse.Namespace, settings: Settings) -> int:
    """Remove (or, dry, count) what is past its retention; print how many per table."""

    async def run(sessions: Any) -> Any:
        from bot.app import make_outbox
        from bot.services.retention import RetentionService

        service = RetentionService(sessions, make_outbox(settings, sessions), settings.retention)
        return await service.prune(dry_run=arguments.dry_run)

    report = _with_database(settings, run)
    if arguments.json:
        print(json.dumps(report.as_json()))
        return EXIT_OK
    key = "prune.would_remove" if report.dry_run else "prune.removed"
    print(t(settings.locale, key, count=report.total))
    width = max(len(kind) for kind in report.removed)
    for kind, count in report.removed.items():
        print(f"  {kind:<{width}}  {count:>8}")
    return EXIT_OK


def _with_outbox(settings: Settings, use: Callable[[Any], Awaitable[Any]]) -> Any:
    """Run one call on the write path's table, migrating the database first."""
    from bot.app import make_outbox

    return _with_database(settings, lambda sessions: use(make_outbox(settings, sessions)))


def _with_database(settings: Settings, use: Callable[[Any], Awaitable[Any]]) -> Any:
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


# --- suggested edits: the CLI door to the service Discord, the web form and the API use ---

# The review flow's statuses: a pure module, so building the parser loads no database code.
SUGGESTION_STATUSES = STATUSES
STDIN = "-"


def _add_suggestion_commands(commands: Any, content_help: str) -> None:
    """Add `suggest` and `suggestions list|show` to the parser."""
    suggest = commands.add_parser(
        "suggest",
        help="suggest an edit to a lesson; the running bot opens its pull request",
        description="Check an edit against the lesson as it is now and queue it, as the "
        "Discord command, the web form and the API do. The running bot's job worker opens "
        "the pull request.",
    )
    suggest.add_argument("--lesson", required=True, metavar="PROGRAM/SLUG")
    suggest.add_argument(
        "--locale", metavar="LOCALE", help="the version to change (default: content.default_locale)"
    )
    suggest.add_argument(
        "--find",
        required=True,
        metavar="TEXT",
        help="the exact passage to change; - reads it from standard input (one trailing "
        "newline dropped)",
    )
    suggest.add_argument(
        "--replace", required=True, metavar="TEXT", help="what it should say ('' deletes it)"
    )
    suggest.add_argument("--reason", required=True, metavar="TEXT", help="why, for the reviewers")
    suggest.add_argument("--author", metavar="NAME", help="the name to credit (default: $USER)")
    suggest.add_argument("--email", metavar="EMAIL", help="where to send updates (optional)")
    suggest.add_argument("--content", metavar="DIR", help=content_help)
    suggest.add_argument("--json", action="store_true", help="print one JSON object")
    suggest.set_defaults(handler=_suggest)

    suggestions = commands.add_parser(
        "suggestions", help="see suggested edits and where they are in review"
    )
    suggestion_commands = suggestions.add_subparsers(dest="suggestions_command", metavar="COMMAND")
    suggestion_commands.required = True
    listing = suggestion_commands.add_parser("list", help="suggested edits, newest first")
    which = listing.add_mutually_exclusive_group()
    which.add_argument(
        "--status",
        nargs="+",
        action="extend",
        choices=SUGGESTION_STATUSES,
        metavar="STATUS",
        help=f"only these statuses ({', '.join(SUGGESTION_STATUSES)})",
    )
    which.add_argument(
        "--translations-behind",
        action="store_true",
        help="merged edits to the default locale, one line per translation of the lesson "
        "that may need the same change",
    )
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.set_defaults(handler=_suggestions_list)
    show = suggestion_commands.add_parser("show", help="one suggestion and what happened to it")
    show.add_argument("id", type=int, metavar="ID")
    show.add_argument("--json", action="store_true", help="print one JSON object")
    show.set_defaults(handler=_suggestions_show)


def _suggest(arguments: argparse.Namespace, settings: Settings) -> int:
    from bot.github.content import ContentSyncError
    from bot.services.suggestions import Author, SuggestionError, SuggestionInput
    from bot.store.models import SuggestionSource

    locale = settings.locale
    find = _stdin_passage(locale) if arguments.find == STDIN else arguments.find
    try:
        catalogue = _suggestion_catalogue(arguments, settings)
    except ContentSyncError as error:
        _error(t(locale, "cli.content_sync_failed", reason=str(error)))
        return EXIT_PROBLEMS
    user = _login_name()
    request = SuggestionInput(
        lesson=arguments.lesson,
        locale=arguments.locale or settings.content.default_locale,
        find=find,
        replace=arguments.replace,
        reason=arguments.reason,
        source=SuggestionSource.CLI,
        author=Author(
            name=arguments.author or os.environ.get("USER") or user,
            email=arguments.email or None,
            handle=f"cli:{user}",
            locale=locale,
        ),
    )

    async def submit(service: Any) -> tuple[Any, str]:
        submitted = await service.submit(request)
        return submitted, service.status_url(submitted.id)

    try:
        submitted, status_url = _with_suggestions(settings, submit, lambda: catalogue)
    except SuggestionError as error:
        _error(error.message(locale))
        return EXIT_PROBLEMS
    if arguments.json:
        record = {
            "id": submitted.id,
            "status": submitted.status,
            "status_url": status_url,
            "token": submitted.token,
            "joined": submitted.joined,
        }
        print(json.dumps(record, ensure_ascii=False))
        return EXIT_OK
    said = "cli_suggest.joined" if submitted.joined else "cli_suggest.queued"
    print(t(locale, said, id=submitted.id, status_url=status_url))
    print(t(locale, "cli_suggest.token", token=submitted.token))
    return EXIT_OK


def _stdin_passage(locale: str) -> str:
    """Return the passage piped in, without the newline that ends a file or `echo`."""
    try:
        text = sys.stdin.read()
    except UnicodeDecodeError:
        raise UsageError(t(locale, "cli_suggest.stdin_not_text")) from None
    return text.removesuffix("\n").removesuffix("\r")


def _login_name() -> str:
    """Return the name of the user running the command, or "unknown" when there is none."""
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no $USER or $LOGNAME and no passwd entry (a container)
        return "unknown"


def _suggestion_catalogue(arguments: argparse.Namespace, settings: Settings) -> Catalogue:
    """Load the lessons as `sync` does: --content, else content.source (clone or folder)."""
    if arguments.content:
        return _load(_content_dir(arguments, settings), settings)
    from bot.app import content_from_github, content_source

    try:
        from_github = content_from_github(settings)
    except ConfigError as error:
        raise UsageError(t(settings.locale, "cli.config_error", message=str(error))) from None
    if not from_github:
        return _load(_content_dir(arguments, settings), settings)
    from bot.github.adapter import GitHubAdapter

    async def fetch() -> Catalogue:
        # The edit is checked against the default branch as it is now, as the bot checks it.
        github = GitHubAdapter.from_settings(settings.github)
        try:
            return await content_source(settings, github).refresh()
        finally:
            github.close()

    return asyncio.run(fetch())


def _with_suggestions(
    settings: Settings,
    use: Callable[[Any], Awaitable[Any]],
    catalogue: Callable[[], Catalogue] | None = None,
) -> Any:
    """Run one call on the suggestion service, migrating the database first.

    No GitHub client: the running bot's job worker opens the pull requests.
    """

    async def run(sessions: Any) -> Any:
        from bot.app import make_outbox
        from bot.services.signing import load_signer
        from bot.services.suggestions import SuggestionService

        # The signing key the running bot uses (web.secret or the stored one): the token
        # printed here opens the status page and the API for this suggestion.
        signer = await load_signer(sessions, settings.web.secret)
        service = SuggestionService(
            sessions,
            make_outbox(settings, sessions),
            settings,
            catalogue=catalogue or (lambda: _load(settings.content.dir, settings)),
            signer=signer,
            github=None,
        )
        return await use(service)

    return _with_database(settings, run)


def _suggestions_list(arguments: argparse.Namespace, settings: Settings) -> int:
    from bot.store.models import SuggestionStatus

    if arguments.translations_behind:
        return _translations_behind(arguments, settings)
    statuses = [SuggestionStatus(status) for status in arguments.status or ()] or None
    views = _with_suggestions(settings, lambda service: service.list(statuses))
    if arguments.json:
        _print_json_array([_suggestion_record(view) for view in views], sys.stdout)
        return EXIT_OK
    locale = settings.locale
    if not views:
        print(t(locale, "cli_suggest.list_empty"), file=sys.stderr)
        return EXIT_OK
    from bot.store.models import utcnow

    now = utcnow()
    columns = ("col_id", "col_lesson", "col_locale", "col_status", "col_pr", "col_age")
    rows = [
        [
            str(view.id),
            view.lesson,
            view.locale,
            view.status,
            f"#{view.pr_number}" if view.pr_number else "-",
            _age(now - view.created_at, locale),
        ]
        for view in views
    ]
    _print_table([t(locale, f"cli_suggest.{column}") for column in columns], rows)
    return EXIT_OK


def _translations_behind(arguments: argparse.Namespace, settings: Settings) -> int:
    from bot.store.models import SuggestionStatus

    views = _with_suggestions(settings, lambda service: service.list([SuggestionStatus.MERGED]))
    default_locale = settings.content.default_locale
    records = [
        {
            "id": view.id,
            "lesson": view.lesson,
            "locale": view.locale,
            "path": view.path,
            "pr_number": view.pr_number,
            "pr_url": view.pr_url,
            "sibling": sibling,
        }
        for view in views
        if view.locale == default_locale
        for sibling in _siblings(view)
    ]
    if arguments.json:
        _print_json_array(records, sys.stdout)
        return EXIT_OK
    locale = settings.locale
    if not records:
        print(t(locale, "cli_suggest.behind_empty"), file=sys.stderr)
        return EXIT_OK
    columns = ("col_id", "col_lesson", "col_pr", "col_file", "col_translation")
    rows = [
        [
            str(record["id"]),
            record["lesson"],
            f"#{record['pr_number']}" if record["pr_number"] else "-",
            record["path"] or "-",
            record["sibling"],
        ]
        for record in records
    ]
    _print_table([t(locale, f"cli_suggest.{column}") for column in columns], rows)
    return EXIT_OK


def _siblings(view: Any) -> list[str]:
    """Return the translations a merged edit's events name, each once, in order."""
    seen: dict[str, None] = {}
    for event in view.events:
        siblings = event.detail.get("siblings") if event.kind == "translations_behind" else None
        if isinstance(siblings, list):
            seen.update((str(path), None) for path in siblings)
    return list(seen)


def _suggestion_record(view: Any) -> dict[str, Any]:
    """Return a suggestion as `suggestions list --json` prints it (events left to `show`)."""
    record = view.as_json()
    record.pop("events", None)
    return {**record, "path": view.path, "created_at": view.created_at.isoformat()}


def _suggestions_show(arguments: argparse.Namespace, settings: Settings) -> int:
    async def show(service: Any) -> tuple[Any, str]:
        return await service.view(arguments.id), service.status_url(arguments.id)

    view, status_url = _with_suggestions(settings, show)
    locale = settings.locale
    if view is None:
        _error(t(locale, "suggest.error.not_found", id=arguments.id))
        return EXIT_PROBLEMS
    if arguments.json:
        record = {
            **view.as_json(),
            "path": view.path,
            "find": view.find,
            "replace": view.replace,
            "reason": view.reason,
            "credited": list(view.credited),
            "created_at": view.created_at.isoformat(),
            "status_url": status_url,
        }
        print(json.dumps(record, ensure_ascii=False))
        return EXIT_OK
    heading = t(
        locale,
        "cli_suggest.show_heading",
        id=view.id,
        lesson=view.lesson,
        locale=view.locale,
        status=view.status,
    )
    lines = [heading]
    if view.path:
        lines.append(t(locale, "cli_suggest.show_path", path=view.path))
    if view.pr_url:
        lines.append(t(locale, "cli_suggest.show_pr", pr_url=view.pr_url))
    if view.credited:
        lines.append(t(locale, "cli_suggest.show_credited", names=", ".join(view.credited)))
    lines.append(t(locale, "cli_suggest.show_status_url", status_url=status_url))
    if view.error:
        lines.append(t(locale, "cli_suggest.show_error", error=view.error))
    lines.append(t(locale, "cli_suggest.show_reason", reason=view.reason))
    for label, text in (("show_find", view.find), ("show_replace", view.replace)):
        lines.append(t(locale, f"cli_suggest.{label}"))
        lines.extend(f"    {line}" for line in text.splitlines() or [""])
    lines.append(t(locale, "cli_suggest.show_events"))
    for event in view.events:
        lines.append(f"    {event.at:%Y-%m-%d %H:%M:%S}  {event.kind}  {_detail(event.detail)}")
    for line in lines:
        print(_printable(line.rstrip()))
    return EXIT_OK


def _detail(detail: Any) -> str:
    """Return an event's detail as `key=value` pairs on one line."""
    parts = []
    for key, value in dict(detail).items():
        if isinstance(value, list):
            shown = ", ".join(str(item) for item in value)
        elif isinstance(value, str):
            shown = value
        else:
            shown = json.dumps(value, ensure_ascii=False)
        parts.append(f"{key}={shown}")
    return " ".join(parts)


def _age(elapsed: Any, locale: str) -> str:
    """Return a short, localized age such as `5h`."""
    from babel import Locale, UnknownLocaleError
    from babel.dates import format_timedelta

    try:
        language = Locale.parse(locale.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        language = Locale.parse("en")
    return format_timedelta(elapsed, locale=language, format="narrow")


def _print_table(headers: list[str], rows: list[list[str]]) -> None:
    """Print rows under headers as a rich table, wide enough not to wrap when piped."""
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for header in headers:
        table.add_column(header, no_wrap=True, overflow="ignore")
    for row in rows:
        # Text, not a str: a lesson or path with `[...]` is not rich markup.
        table.add_row(*(Text(_printable(cell)) for cell in row))
    width = None if sys.stdout.isatty() else 10_000
    Console(file=sys.stdout, width=width, highlight=False).print(table)


class _ProgressBar:
    """A rich progress bar for a terminal."""

    def __init__(self, locale: str) -> None:
        self._locale = locale
        self._progress: Any = None
        self._task: Any = None

    def start(self, total: int) -> None:
        """Show the bar for `total` lessons."""
        from rich.progress import Progress  # only a terminal run needs it

        self._progress = Progress(transient=True)
        self._progress.start()
        self._task = self._progress.add_task(t(self._locale, "sync.progress"), total=total)

    def advance(self, _identity: str) -> None:
        """Count one lesson done."""
        if self._progress is not None:
            self._progress.advance(self._task)

    def stop(self) -> None:
        """Remove the bar."""
        if self._progress is not None:
            self._progress.stop()


def _db_upgrade(_arguments: argparse.Namespace, settings: Settings) -> int:
    from bot.store.migrate import upgrade  # Alembic is only needed by this command

    try:
        revision = upgrade(settings.database.url)
    except Exception as error:  # the driver's own errors vary; report one line, log the rest
        if _explain(error, _arguments, settings) is not None:
            raise  # unreachable or read-only: main() says so as it does for every command
        log.debug("database upgrade failed", exc_info=True)
        reason = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        raise UsageError(t(settings.locale, "cli.db_failed", reason=reason)) from error
    print(t(settings.locale, "cli.db_upgraded", revision=revision))
    return EXIT_OK


# --- the digest of open questions ---------------------------------------------------------

DIGEST_FORMATS = ("markdown", "html", "text")


def _add_digest_command(commands: Any) -> None:
    """Add `digest` to the parser."""
    digest = commands.add_parser(
        "digest",
        help="show the digest of open questions; with --now, queue it for Discord and email",
    )
    digest.add_argument(
        "--now",
        action="store_true",
        help="send a digest now, whatever the schedule (the running bot delivers it)",
    )
    digest.add_argument(
        "--force",
        action="store_true",
        help="with --now, send even if a digest went out within digest.min_interval_seconds",
    )
    digest.add_argument(
        "--dry-run", action="store_true", help="show what would be sent, and send nothing"
    )
    digest.add_argument(
        "--format", choices=DIGEST_FORMATS, default="markdown", help="how to print the digest"
    )
    digest.add_argument("--json", action="store_true", help="print one JSON object")
    digest.set_defaults(handler=_digest)


def _digest(arguments: argparse.Namespace, settings: Settings) -> int:
    send = arguments.now and not arguments.dry_run

    async def run(sessions: Any) -> Any:
        from bot.app import make_outbox
        from bot.services.digests import DigestService
        from bot.services.signing import load_signer

        # The running bot's signing key, so the unsubscribe links it serves open.
        signer = await load_signer(sessions, settings.web.secret)
        service = DigestService(
            sessions,
            make_outbox(settings, sessions),
            settings,
            signer=signer,
            catalogue=_digest_catalogue(settings),
        )
        shown = await service.preview(arguments.format)
        if send:
            return shown, await service.run_now(force=arguments.force)
        return shown, await service.run(dry_run=True)

    shown, result = _with_database(settings, run)
    locale = settings.locale
    if arguments.json:
        record = {**result.as_json(), "format": arguments.format, "digest": shown}
        print(json.dumps(record, ensure_ascii=False))
    else:
        print(shown, end="" if shown.endswith("\n") else "\n")
    if not send:
        print(t(locale, "digest.cli.dry_run"), file=sys.stderr)
    elif not result.created and result.previous_at is not None:
        recent = {
            "time": f"{result.previous_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC",
            "period": result.period_key,
            "seconds": settings.digest.min_interval_seconds,
        }
        print(t(locale, "digest.cli.recent", **recent), file=sys.stderr)
    elif not result.created:
        print(t(locale, "digest.cli.already", period=result.period_key), file=sys.stderr)
    elif not result.deliveries:
        print(t(locale, "digest.cli.nothing"), file=sys.stderr)
    else:
        count = len(result.deliveries)
        print(
            t(locale, "digest.cli.queued", count=count, period=result.period_key), file=sys.stderr
        )
    return EXIT_OK


def _digest_catalogue(settings: Settings) -> Callable[[], Catalogue | None]:
    """Return where the digest finds program and lesson titles: the running bot's clone
    when the lessons come from GitHub, else the content folder (read once, when asked);
    None when there is none here, and the digest uses the titles the last sync stored."""
    found: list[Catalogue | None] = []

    def catalogue() -> Catalogue | None:
        if not found:
            from bot.app import content_from_github

            try:
                from_github = content_from_github(settings)
            except ConfigError:
                from_github = False
            root = Path(settings.content.clone_dir if from_github else settings.content.dir)
            loaded = None
            if (root / "programs").is_dir():
                loaded = load_catalogue(root, settings.content.default_locale)
            found.append(loaded)
        return found[0]

    return catalogue


# --- questions: what learners asked in lesson posts and issues ------------------------------


def _add_question_commands(commands: Any) -> None:
    """Add `questions list` to the parser."""
    questions = commands.add_parser(
        "questions", help="see the questions learners asked in lesson posts and issues"
    )
    question_commands = questions.add_subparsers(dest="questions_command", metavar="COMMAND")
    question_commands.required = True
    listing = question_commands.add_parser("list", help="questions, oldest first")
    listing.add_argument(
        "--open", action="store_true", help="only those neither answered nor resolved"
    )
    listing.add_argument("--program", metavar="PROGRAM", help="only this program's lessons")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.set_defaults(handler=_questions_list)


def _questions_list(arguments: argparse.Namespace, settings: Settings) -> int:
    """Print the tracked questions (dropped ones left out)."""

    async def run(sessions: Any) -> Any:
        from bot.services.questions import QuestionService

        service = QuestionService(sessions, settings)
        return await service.list(open_only=arguments.open, program=arguments.program)

    views = _with_database(settings, run)
    if arguments.json:
        _print_json_array([view.as_json(settings.locale) for view in views], sys.stdout)
        return EXIT_OK
    if not views:
        print(t(settings.locale, "questions.cli_empty"), file=sys.stderr)
        return EXIT_OK
    for view in views:
        text = _printable(" ".join(view.text.split()))
        if len(text) > 80:
            text = text[:79] + "…"
        staff = "*" if view.answered_by_staff else ""
        outcome = view.outcome(settings.locale)
        # A help post's question may wait for its lesson: its program says where it is.
        lesson = view.lesson or t(settings.locale, "questions.unlinked", program=view.program)
        print(
            f"{view.id:>6}  {view.state:<8}{staff:<1} {view.asked_at:%Y-%m-%d %H:%M}  "
            f"{lesson}  {_printable(view.author_name)}: {text}"
            + (f"  [{_printable(outcome)}]" if outcome else "")
        )
    return EXIT_OK
