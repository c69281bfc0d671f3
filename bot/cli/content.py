"""The content folder a command reads its lessons from."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli.output import UsageError
from bot.config import Settings
from bot.domain.catalogue import Catalogue, load_catalogue
from bot.i18n import t

CONTENT_HELP = "content directory (default: the configured content.dir, lessons/)"


def content_dir(arguments: argparse.Namespace, settings: Settings) -> Path:
    """Return --content, else content.dir; raise UsageError unless it is a folder."""
    content = Path(arguments.content) if arguments.content else settings.content.dir
    if content.exists() and not content.is_dir():
        raise UsageError(t(settings.locale, "cli.content_not_dir", path=str(content)))
    if not content.is_dir():
        raise UsageError(t(settings.locale, "cli.content_missing", path=str(content)))
    return content


def load_lessons(content: Path, settings: Settings) -> Catalogue:
    """Read the lessons of a content folder in the configured default locale."""
    return load_catalogue(content, settings.content.default_locale)
