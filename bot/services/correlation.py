"""The correlation id: which door a piece of work came in by, followed across processes.

Each door (a web request, a Discord event, a CLI command, a webhook delivery, a scheduled
run) sets it; every log line written while it is set carries it. Work recorded in the
outbox carries it in its job's payload (`PAYLOAD_KEY`), and the worker sets it again from
there, so the job that opens a pull request, and the notices after it, log the id of the
request that brought the suggestion in. Only a context variable: no I/O.
"""

from __future__ import annotations

import re
import secrets
import types
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

# Where a job's payload keeps the id of the work that recorded it.
PAYLOAD_KEY = "correlation_id"

# The structured fields a log line may carry besides its message (JSON logs).
FIELDS = ("suggestion_id", "job_id", "job_kind", "lesson", "question_id", "delivery_id")

# An id taken from outside (X-Request-Id, X-GitHub-Delivery) must be short and plain:
# it is written into every log line and echoed back as a header.
_SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")

_CORRELATION: ContextVar[str | None] = ContextVar("lessonbot_correlation_id", default=None)
_FIELDS: ContextVar[Mapping[str, Any]] = ContextVar(
    "lessonbot_log_fields", default=types.MappingProxyType({})
)


def current() -> str | None:
    """Return the correlation id of the work under way, if any."""
    return _CORRELATION.get()


def fields() -> Mapping[str, Any]:
    """Return the structured fields bound to the work under way (suggestion_id, ...)."""
    return _FIELDS.get()


def new_id(door: str) -> str:
    """Return a fresh id naming its door (`web`, `discord`, `cli`, `schedule`, ...)."""
    return f"{door}-{secrets.token_hex(8)}"


def sane(inbound: str | None) -> str | None:
    """Return an id sent by a client when it is safe to log and echo, else None."""
    if inbound is None:
        return None
    inbound = inbound.strip()
    return inbound if _SANE.fullmatch(inbound) else None


@contextmanager
def correlated(correlation_id: str | None, **bound: Any) -> Iterator[str | None]:
    """Run the block under this correlation id (None keeps the current one) and fields."""
    token = _CORRELATION.set(correlation_id) if correlation_id else None
    field_token = _FIELDS.set({**_FIELDS.get(), **bound}) if bound else None
    try:
        yield current()
    finally:
        if field_token is not None:
            _FIELDS.reset(field_token)
        if token is not None:
            _CORRELATION.reset(token)


def stamped(payload: dict[str, Any]) -> dict[str, Any]:
    """Return a job payload carrying the current correlation id (one it has is kept)."""
    correlation_id = current()
    if correlation_id is None or PAYLOAD_KEY in payload:
        return payload
    return {**payload, PAYLOAD_KEY: correlation_id}


def unstamped(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Return a job payload without its correlation id, to compare what the work is."""
    return {key: value for key, value in payload.items() if key != PAYLOAD_KEY}


def of_payload(payload: Mapping[str, Any]) -> str | None:
    """Return the correlation id a job's payload carries, if it is a sane one."""
    value = payload.get(PAYLOAD_KEY)
    return sane(value) if isinstance(value, str) else None
