"""What every command prints: exit statuses, error lines, JSON arrays and rich tables."""

from __future__ import annotations

import json
import sys
import unicodedata
from datetime import timedelta
from typing import Any, TextIO

from bot.i18n import t

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """A problem with what the user asked for; printed as one line, exit status 2."""


def print_error(message: str) -> None:
    """Print one `lessonbot: ...` line on stderr."""
    print(f"lessonbot: {message}", file=sys.stderr)


def printable(text: str) -> str:
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


def print_json_array(records: list[dict[str, Any]], stream: TextIO) -> None:
    """Print a JSON array with one record per line: valid JSON and easy to grep."""
    if not records:
        stream.write("[]\n")
        return
    lines = ",\n".join(json.dumps(record, ensure_ascii=False) for record in records)
    stream.write(f"[\n{lines}\n]\n")


def print_table(headers: list[str], rows: list[list[str]]) -> None:
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
        table.add_row(*(Text(printable(cell)) for cell in row))
    width = None if sys.stdout.isatty() else 10_000
    Console(file=sys.stdout, width=width, highlight=False).print(table)


def age(elapsed: timedelta, locale: str) -> str:
    """Return a short, localized age such as `5h`."""
    from babel import Locale, UnknownLocaleError
    from babel.dates import format_timedelta

    try:
        language = Locale.parse(locale.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        language = Locale.parse("en")
    return format_timedelta(elapsed, locale=language, format="narrow")


class ProgressBar:
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
