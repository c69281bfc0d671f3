"""`lessonbot digest`: the digest of open questions, shown or queued for Discord and email."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import Any

from bot.cli.db import with_database
from bot.cli.output import EXIT_OK
from bot.config import ConfigError, Settings
from bot.domain.catalogue import Catalogue, load_catalogue
from bot.i18n import t

DIGEST_FORMATS = ("markdown", "html", "text")


def register(commands: Any) -> None:
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

    shown, result = with_database(settings, run)
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
