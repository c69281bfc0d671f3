"""`lessonbot suggestions list|show|review|block|unblock`: suggested edits, where they are in
review, and the moderators' queue and block list."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from bot.cli.content import load_lessons
from bot.cli.db import with_database
from bot.cli.output import (
    EXIT_OK,
    EXIT_PROBLEMS,
    age,
    print_error,
    print_json_array,
    print_table,
    printable,
)
from bot.config import Settings
from bot.domain.catalogue import Catalogue
from bot.domain.review_flow import STATUSES, SuggestionStatus
from bot.i18n import t


def register(commands: Any) -> None:
    """Add `suggestions list` and `suggestions show` to the parser."""
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
        choices=STATUSES,
        metavar="STATUS",
        help=f"only these statuses ({', '.join(STATUSES)})",
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
    review = suggestion_commands.add_parser(
        "review", help="suggestions held for a moderator: list, approve, reject or block"
    )
    decision = review.add_mutually_exclusive_group()
    decision.add_argument(
        "--approve", type=int, metavar="ID", help="release it to its pull request"
    )
    decision.add_argument(
        "--reject", type=int, metavar="ID", help="reject it as spam: it never reaches GitHub"
    )
    decision.add_argument("--block", type=int, metavar="ID", help="reject it and block its sender")
    review.add_argument("--json", action="store_true", help="print a JSON array")
    review.set_defaults(handler=_suggestions_review)
    for name, helping in (
        ("block", "block a sender (no option: list the block list)"),
        ("unblock", "take a sender off the block list"),
    ):
        command = suggestion_commands.add_parser(name, help=helping)
        sender = command.add_mutually_exclusive_group(required=name == "unblock")
        sender.add_argument("--email", metavar="ADDRESS", help="an email address")
        sender.add_argument("--discord", metavar="USER_ID", help="a Discord user id")
        sender.add_argument(
            "--address", metavar="IP", help="a web client's IP address (kept only hashed)"
        )
        command.add_argument("--json", action="store_true", help="print a JSON array (list)")
        command.set_defaults(handler=_suggestions_block, unblocking=name == "unblock")


def with_suggestions(
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
            catalogue=catalogue or (lambda: load_lessons(settings.content.dir, settings)),
            signer=signer,
            github=None,
        )
        return await use(service)

    return with_database(settings, run)


def _suggestions_list(arguments: argparse.Namespace, settings: Settings) -> int:
    if arguments.translations_behind:
        return _translations_behind(arguments, settings)
    statuses = [SuggestionStatus(status) for status in arguments.status or ()] or None
    views = with_suggestions(settings, lambda service: service.list(statuses))
    if arguments.json:
        print_json_array([_suggestion_record(view) for view in views], sys.stdout)
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
            age(now - view.created_at, locale),
        ]
        for view in views
    ]
    print_table([t(locale, f"cli_suggest.{column}") for column in columns], rows)
    return EXIT_OK


def _translations_behind(arguments: argparse.Namespace, settings: Settings) -> int:
    views = with_suggestions(settings, lambda service: service.list([SuggestionStatus.MERGED]))
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
        print_json_array(records, sys.stdout)
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
    print_table([t(locale, f"cli_suggest.{column}") for column in columns], rows)
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

    view, status_url = with_suggestions(settings, show)
    locale = settings.locale
    if view is None:
        print_error(t(locale, "suggest.error.not_found", id=arguments.id))
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
        print(printable(line.rstrip()))
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


def _moderator() -> str:
    """Return who decides from this terminal, as the decision records it."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _suggestions_review(arguments: argparse.Namespace, settings: Settings) -> int:
    from bot.services.suggestions.moderation import ModerationError

    locale = settings.locale
    for option, key in (
        ("approve", "cli_approved"),
        ("reject", "cli_rejected"),
        ("block", "cli_blocked"),
    ):
        suggestion_id = getattr(arguments, option)
        if suggestion_id is None:
            continue

        async def decide(
            service: Any, option: str = option, suggestion_id: int = suggestion_id
        ) -> None:
            moderation = service.moderation
            if option == "approve":
                await moderation.approve(suggestion_id, _moderator())
            else:
                await moderation.reject(suggestion_id, _moderator(), block=option == "block")

        try:
            with_suggestions(settings, decide)
        except ModerationError as error:
            print_error(t(locale, error.key, **error.params))
            return EXIT_PROBLEMS
        print(t(locale, f"moderation.{key}", id=suggestion_id))
        return EXIT_OK
    held = with_suggestions(settings, lambda service: service.moderation.held())
    if arguments.json:
        print_json_array(
            [{**view.as_json(), "diff": _diff(view.find, view.replace)} for view in held],
            sys.stdout,
        )
        return EXIT_OK
    if not held:
        print(t(locale, "moderation.cli_none"), file=sys.stderr)
        return EXIT_OK
    for view in held:
        lines = [
            t(
                locale,
                "moderation.cli_held",
                id=view.id,
                lesson=view.lesson,
                locale=view.locale,
                name=view.author_name,
                score=f"{view.score:g}",
            )
        ]
        if view.path:
            lines.append(t(locale, "cli_suggest.show_path", path=view.path))
        lines.extend(f"    {line}" for line in _diff(view.find, view.replace).splitlines())
        if view.reason:
            lines.append(t(locale, "cli_suggest.show_reason", reason=view.reason))
        lines.append(t(locale, "moderation.cli_why"))
        lines.extend(f"  - {signal.explain(locale)}" for signal in view.signals)
        for line in lines:
            print(printable(line.rstrip()))
        print()
    return EXIT_OK


def _diff(find: str, replace: str) -> str:
    """Return the edit as unified-diff lines: what goes, then what comes."""
    import difflib

    lines = difflib.unified_diff(find.splitlines(), replace.splitlines(), lineterm="", n=1)
    return "\n".join(line for line in lines if not line.startswith(("---", "+++", "@@")))


def _suggestions_block(arguments: argparse.Namespace, settings: Settings) -> int:
    locale = settings.locale
    kind, value = next(
        (
            (kind, getattr(arguments, kind))
            for kind in ("email", "discord", "address")
            if getattr(arguments, kind)
        ),
        (None, None),
    )
    if kind is None or value is None:
        blocks = with_suggestions(settings, lambda service: service.moderation.blocks())
        records = [
            {"kind": block.kind, "value": block.value, "created_at": block.created_at.isoformat()}
            for block in blocks
        ]
        if arguments.json:
            print_json_array(records, sys.stdout)
        elif not records:
            print(t(locale, "moderation.cli_blocks_none"), file=sys.stderr)
        else:
            for record in records:
                print(
                    printable(
                        t(
                            locale,
                            "moderation.cli_block_entry",
                            value=record["value"],
                            date=record["created_at"][:10],
                        )
                    )
                )
        return EXIT_OK
    if arguments.unblocking:
        done = with_suggestions(settings, lambda service: service.moderation.unblock(kind, value))
        key = "cli_block_removed" if done else "cli_block_missing"
    else:
        done = with_suggestions(settings, lambda service: service.moderation.block(kind, value))
        key = "cli_block_added" if done else "cli_block_kept"
    print(printable(t(locale, f"moderation.{key}", value=value)))
    return EXIT_OK if done or not arguments.unblocking else EXIT_PROBLEMS
