"""`lessonbot suggest`: the CLI door to the suggestion service Discord, the web form and the
API use; the running bot's job worker opens the pull request."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

from bot.cli.content import CONTENT_HELP, content_dir, load_lessons
from bot.cli.output import EXIT_OK, EXIT_PROBLEMS, UsageError, print_error
from bot.cli.suggestions import with_suggestions
from bot.config import ConfigError, Settings
from bot.domain.catalogue import Catalogue
from bot.i18n import t

STDIN = "-"


def register(commands: Any) -> None:
    """Add `suggest` to the parser."""
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
    suggest.add_argument("--content", metavar="DIR", help=CONTENT_HELP)
    suggest.add_argument("--json", action="store_true", help="print one JSON object")
    suggest.set_defaults(handler=_suggest)


def _suggest(arguments: argparse.Namespace, settings: Settings) -> int:
    from bot.github.content import ContentSyncError
    from bot.services.suggestions import Author, SuggestionError, SuggestionInput
    from bot.store.models import SuggestionSource

    locale = settings.locale
    find = _stdin_passage(locale) if arguments.find == STDIN else arguments.find
    try:
        catalogue = _suggestion_catalogue(arguments, settings)
    except ContentSyncError as error:
        print_error(t(locale, "cli.content_sync_failed", reason=str(error)))
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
        submitted, status_url = with_suggestions(settings, submit, lambda: catalogue)
    except SuggestionError as error:
        print_error(error.message(locale))
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
        return load_lessons(content_dir(arguments, settings), settings)
    from bot.app import content_from_github, content_source

    try:
        from_github = content_from_github(settings)
    except ConfigError as error:
        raise UsageError(t(settings.locale, "cli.config_error", message=str(error))) from None
    if not from_github:
        return load_lessons(content_dir(arguments, settings), settings)
    from bot.github.adapter import GitHubAdapter

    async def fetch() -> Catalogue:
        # The edit is checked against the default branch as it is now, as the bot checks it.
        github = GitHubAdapter.from_settings(settings.github)
        try:
            return await content_source(settings, github).refresh()
        finally:
            github.close()

    return asyncio.run(fetch())
