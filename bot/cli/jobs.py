"""`lessonbot jobs list|retry`: the bot's pending and failed writes to GitHub and Discord."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.cli.db import with_database, with_outbox
from bot.cli.output import EXIT_OK, EXIT_PROBLEMS, print_error, print_json_array
from bot.config import Settings
from bot.i18n import t

# A big site's first sync queues thousands of linking jobs: the text list shows this many,
# the ones that need a person first, and says how many more there are.
SHOWN_JOBS = 50
# Which statuses a truncated list shows first.
_SHOWN_FIRST = {"failed": 0, "running": 1, "waiting": 2, "pending": 3, "done": 4}


def register(commands: Any) -> None:
    """Add `jobs list` and `jobs retry` to the parser."""
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
    jobs_list.add_argument(
        "--limit",
        type=int,
        default=None,
        metavar="N",
        help=f"list at most N jobs, failed and running first (default {SHOWN_JOBS}; 0: all)",
    )
    jobs_list.set_defaults(handler=_jobs_list)
    jobs_retry = job_commands.add_parser("retry", help="run a failed job again, now")
    jobs_retry.add_argument("id", type=int, metavar="ID")
    jobs_retry.set_defaults(handler=_jobs_retry)


def _jobs_list(arguments: argparse.Namespace, settings: Settings) -> int:
    from bot.app import make_outbox
    from bot.domain.backlog import number_text, progress_text
    from bot.services.linking import LinkBacklog
    from bot.store.models import JobStatus

    statuses = None if arguments.all else [JobStatus.PENDING, JobStatus.RUNNING, JobStatus.FAILED]

    async def read(sessions: Any) -> Any:
        outbox = make_outbox(settings, sessions)
        return await outbox.jobs(statuses), await LinkBacklog(sessions, outbox).counts()

    views, backlog = with_database(settings, read)
    limit = arguments.limit
    if limit is None:
        limit = 0 if arguments.json else SHOWN_JOBS
    hidden = 0
    if 0 < limit < len(views):
        ordered = sorted(views, key=lambda v: (_SHOWN_FIRST.get(v.status, 5), v.priority, v.id))
        shown = {view.id for view in ordered[:limit]}
        hidden = len(views) - limit
        views = [view for view in views if view.id in shown]
    if arguments.json:
        print_json_array([view.as_json() for view in views], sys.stdout)
        return EXIT_OK
    if backlog.busy:
        # A catalogue being linked: how far it has come, and how long its issues take.
        github = settings.github
        print(
            progress_text(
                settings.locale, backlog, github.writes_per_minute, github.writes_per_hour
            )
        )
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
    if hidden:
        print(t(settings.locale, "jobs.more", count=number_text(settings.locale, hidden)))
    return EXIT_OK


def _jobs_retry(arguments: argparse.Namespace, settings: Settings) -> int:
    view = with_outbox(settings, lambda outbox: outbox.retry(arguments.id))
    if view is None:
        print_error(t(settings.locale, "jobs.not_found", id=arguments.id))
        return EXIT_PROBLEMS
    print(t(settings.locale, "jobs.retried", id=view.id, key=view.key))
    return EXIT_OK
