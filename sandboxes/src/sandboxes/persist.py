"""Keeping a sandbox's world on disk: atomic JSON snapshots, debounced saves, a codec."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import os
import socket
import tempfile
import types
import typing
from collections.abc import Awaitable, Callable
from dataclasses import fields, is_dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from sandboxes.net import PortInUseError, bind_listener

log = logging.getLogger(__name__)

SAVE_DELAY = 0.5  # seconds: a burst of changes (a whole sync) is written once or twice
READS = frozenset({"GET", "HEAD", "OPTIONS"})


def write_json(path: Path, data: Any) -> None:
    """Write JSON to `path` atomically: a reader sees the old file or the new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False, separators=(",", ":"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def read_json(path: Path) -> Any | None:
    """Return a JSON file's content, or None when there is no file."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def bind_preferred(host: str, port: int, previous: int | None) -> socket.socket:
    """Bind `port`, or with port 0 the `previous` one when free (else any free port), so
    the URLs a restored world stored keep working whenever they can."""
    if port == 0 and previous:
        try:
            return bind_listener(host, previous)
        except PortInUseError:
            log.warning("port %s of the last run is in use; listening on another", previous)
    return bind_listener(host, port)


class Saver:
    """Write a snapshot of a world to a file at most every SAVE_DELAY seconds after a
    change, and once more on close; the snapshot is taken on the world's loop."""

    def __init__(
        self, path: Path, snapshot: Callable[[], dict[str, Any]], delay: float = SAVE_DELAY
    ) -> None:
        self.path = path
        self._snapshot = snapshot
        self._delay = delay
        self._changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start saving after changes, on the running loop."""
        self._task = asyncio.create_task(self._run(), name=f"save {self.path.name}")

    def touch(self) -> None:
        """Note a change (call on the world's loop); it is written shortly."""
        self._changed.set()

    async def save(self) -> None:
        """Write the world now."""
        data = self._snapshot()
        await asyncio.to_thread(write_json, self.path, data)

    async def _run(self) -> None:
        while not self._closing.is_set():
            await self._changed.wait()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self._delay)
            self._changed.clear()
            try:
                await self.save()
            except OSError:
                log.exception("could not save the sandbox's world to %s", self.path)

    async def close(self) -> None:
        """Stop saving after a last write of the world."""
        task, self._task = self._task, None
        if task is None:
            return
        self._closing.set()
        self._changed.set()
        # Let a write under way finish, so an older snapshot never lands after the last.
        await asyncio.gather(task, return_exceptions=True)
        await self.save()


def touch_middleware(saver: Callable[[], Saver | None]) -> Any:
    """Return a middleware that notes a change after every request that can write."""

    @web.middleware
    async def middleware(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        try:
            return await handler(request)
        finally:
            current = saver()
            if current is not None and request.method not in READS:
                current.touch()

    return middleware


# A codec for plain dataclasses: datetimes as ISO 8601, bytes as base64, int keys as strings


def encode(value: Any) -> Any:
    """Return a dataclass tree as JSON-ready data."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {str(key): encode(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [encode(item) for item in value]
    return value


def decode(kind: Any, raw: Any) -> Any:
    """Rebuild a value of type `kind` (a dataclass, list, dict, datetime...) from `encode`."""
    if raw is None:
        return None
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in args if arg is not type(None)]
        return decode(options[0], raw) if len(options) == 1 else raw
    if kind is datetime:
        return datetime.fromisoformat(raw)
    if kind is bytes:
        return base64.b64decode(raw)
    if isinstance(kind, type) and is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        known = {f.name for f in fields(kind) if f.init}
        return kind(**{name: decode(hints[name], v) for name, v in raw.items() if name in known})
    if origin is list:
        return [decode(args[0], item) for item in raw]
    if origin is dict:
        key_kind, item_kind = args
        return {
            (int(key) if key_kind is int else key): decode(item_kind, item)
            for key, item in raw.items()
        }
    return raw
