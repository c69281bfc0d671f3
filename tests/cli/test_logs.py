"""Log lines as text or JSON: one per record, the correlation id on each, secrets masked."""

from __future__ import annotations

import json
import logging
import sys

from bot.cli.logs import JsonFormatter, Redactor, TextFormatter, make_formatter, settings_secrets
from bot.config import DiscordSettings, GitHubSettings, Secret, Settings
from bot.services import correlation

TOKEN = "discord-token-abcdef123456"


def record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("bot.test", logging.WARNING, __file__, 1, message, args, None)
    made.__dict__.update(extra)
    return made


def test_a_json_line_holds_the_fields_and_the_correlation_id() -> None:
    formatter = JsonFormatter(Redactor(), "web,worker")
    with correlation.correlated("req-1", suggestion_id=7):
        line = json.loads(formatter.format(record("stored %d", 7, job_id=3)))
    assert line["message"] == "stored 7"
    assert line["level"] == "WARNING" and line["logger"] == "bot.test"
    assert line["role"] == "web,worker" and isinstance(line["pid"], int)
    assert line["correlation_id"] == "req-1"
    assert line["suggestion_id"] == 7 and line["job_id"] == 3
    assert line["time"].endswith("+00:00") and "T" in line["time"]
    assert "exception" not in line


def test_outside_any_work_the_id_is_null_and_no_field_is_made_up() -> None:
    line = json.loads(JsonFormatter(Redactor(), "gateway").format(record("hello")))
    assert line["correlation_id"] is None
    assert not set(correlation.FIELDS) & set(line)


def test_secrets_are_masked_in_messages_and_tracebacks_in_both_formats() -> None:
    settings = Settings(discord=DiscordSettings(token=Secret(TOKEN)))
    assert settings_secrets(settings) == [TOKEN]
    try:
        raise ValueError(f"bad token {TOKEN}")
    except ValueError:
        failed = record("login with %s to https://x-access-token:%s@github.com/a/b", TOKEN, "ghs1")
        failed.exc_info = sys.exc_info()
    for format_name in ("json", "text"):
        text = make_formatter(format_name, settings, "all").format(failed)
        assert TOKEN not in text and "ghs1" not in text, format_name
        assert "**********" in text
    line = json.loads(make_formatter("json", settings, "all").format(failed))
    assert "ValueError: bad token **********" in line["exception"]


def test_each_line_of_a_private_key_is_masked() -> None:
    key = "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\n-----END KEY-----"
    settings = Settings(github=GitHubSettings(app_private_key=Secret(key)))
    text = TextFormatter(Redactor(settings_secrets(settings))).format(
        record("read MIIEvQIBADANBgkqhkiG9w0B")
    )
    assert "MIIEvQ" not in text


def test_a_text_line_ends_with_its_correlation_id_when_there_is_one() -> None:
    formatter = TextFormatter(Redactor())
    assert formatter.format(record("plain")).endswith("WARNING bot.test: plain")
    with correlation.correlated("cli-1"):
        assert formatter.format(record("in a command")).endswith("in a command [cli-1]")


def test_an_object_in_a_field_never_breaks_a_json_line() -> None:
    line = JsonFormatter(Redactor(), "all").format(record("x", lesson=object()))
    assert json.loads(line)["lesson"].startswith("<object")
