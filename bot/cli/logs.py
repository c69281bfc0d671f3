"""How a `lessonbot` process logs: one line per record, as text or as JSON, secrets masked.

Every line carries the correlation id of the work under way (`bot.services.correlation`);
a JSON line is one object with the time (ISO 8601, UTC), level, logger, message, the
process's role and pid, the exception's text when there is one, and the structured fields
bound to the work (suggestion_id, job_id, lesson, question_id, ...).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal

from bot.config import Secret, Settings
from bot.services import correlation

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")

MASK = "**********"
# Credentials written into a URL (`https://user:token@host`) are masked whatever they are.
_URL_CREDENTIALS = re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+@")
# Shorter values would mask ordinary words; no real secret is this short.
_SHORTEST_SECRET = 6


def settings_secrets(settings: Settings) -> list[str]:
    """Return every secret value the settings hold (tokens, keys, passwords)."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, Secret):
            found.append(value.reveal())
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            for item in dataclasses.fields(value):
                walk(getattr(value, item.name))
        elif isinstance(value, tuple):
            for item in value:
                walk(item)

    walk(settings)
    return found


class Redactor:
    """Mask known secret values, and credentials in URLs, in any text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values: set[str] = set()
        for secret in secrets:
            # A multi-line private key may be logged a line at a time: mask each line too.
            values.update(part.strip() for part in [secret, *secret.splitlines()] if part.strip())
        # Longest first: a value that holds another is masked whole.
        self._values = sorted(
            (value for value in values if len(value) >= _SHORTEST_SECRET), key=len, reverse=True
        )

    def __call__(self, text: str) -> str:
        """Return `text` with every secret in it masked."""
        for value in self._values:
            if value in text:
                text = text.replace(value, MASK)
        return _URL_CREDENTIALS.sub(f"{MASK}@", text)


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message [correlation id]`, secrets masked."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as one line of text (a traceback follows it when there is one)."""
        text = super().format(record)
        correlation_id = _correlation_id(record)
        if correlation_id is not None:
            first, newline, rest = text.partition("\n")
            text = f"{first} [{correlation_id}]{newline}{rest}"
        return self._redact(text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for a log collector (and `jq`); secrets masked."""

    def __init__(self, redact: Redactor, role: str) -> None:
        super().__init__()
        self._redact = redact
        self._role = role

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as one line of JSON."""
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": self._redact(record.getMessage()),
            "role": self._role,
            "pid": record.process if record.process is not None else os.getpid(),
            "correlation_id": _correlation_id(record),
        }
        bound = {**correlation.fields(), **_extras(record)}
        line.update(
            {name: bound[name] for name in correlation.FIELDS if bound.get(name) is not None}
        )
        if record.exc_info:
            line["exception"] = self._redact(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exception"] = self._redact(record.exc_text)
        if record.stack_info:
            line["stack"] = self._redact(self.formatStack(record.stack_info))
        # `default=str`: a field holding an object (a path, a datetime) is never a crash.
        return json.dumps(line, ensure_ascii=False, default=str)


def _correlation_id(record: logging.LogRecord) -> str | None:
    # An id given with the record (`extra=`) wins over the work's: a line about other work.
    given = getattr(record, "correlation_id", None)
    return str(given) if given else correlation.current()


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in correlation.FIELDS if hasattr(record, name)}


def add_log_format_option(parser: Any) -> None:
    """Add `--log-format text|json` to a command's parser."""
    parser.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        help="how log lines are written: text, or one JSON object per line (default: "
        "setting log.format, text)",
    )


def make_formatter(log_format: LogFormat, settings: Settings, role: str) -> logging.Formatter:
    """Return the formatter of a log format, masking the settings' secrets."""
    redact = Redactor(settings_secrets(settings))
    if log_format == "json":
        return JsonFormatter(redact, role)
    return TextFormatter(redact)


def configure(log_format: LogFormat, settings: Settings, *, level: int | str, role: str) -> None:
    """Log to stderr in this format, unless logging was already set up (tests)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(make_formatter(log_format, settings, role))
    logging.basicConfig(level=level, handlers=[handler])
