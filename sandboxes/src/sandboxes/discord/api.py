"""Request helpers the routes share: the sandbox context, JSON and multipart in, JSON out."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, MultipartReader, StreamReader, web
from aiohttp.base_protocol import BaseProtocol

from sandboxes.discord import errors as err
from sandboxes.discord.errors import ApiError
from sandboxes.discord.faults import FaultList
from sandboxes.discord.gateway import Gateway
from sandboxes.discord.interactions import Interactions
from sandboxes.discord.limits import ATTACHMENT_SIZE
from sandboxes.discord.messaging import Messaging
from sandboxes.discord.operations import Operations
from sandboxes.discord.payloads import Payloads
from sandboxes.discord.responses import Responses
from sandboxes.discord.snowflakes import parse_snowflake
from sandboxes.discord.state import State

Files = list[tuple[str, str, bytes]]


@dataclass
class Context:
    """Everything a route needs, stored on the aiohttp application."""

    state: State
    payloads: Payloads
    gateway: Gateway
    ops: Operations
    messages: Messaging
    interactions: Interactions
    responses: Responses
    faults: FaultList
    requests: list[dict[str, Any]]
    token: str


CONTEXT = web.AppKey("discord_sandbox_context", Context)


def context(request: web.Request) -> Context:
    """Return the sandbox context of the application serving `request`."""
    return request.app[CONTEXT]


def respond(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """Return JSON with `Content-Type: application/json` exactly, as Discord sends it
    (discord.py reads any other content type, even with a charset, as text)."""
    return web.Response(
        body=json.dumps(data, ensure_ascii=False).encode(),
        status=status,
        headers={**(headers or {}), "Content-Type": "application/json"},
    )


def no_content() -> web.Response:
    """Return an empty 204 response."""
    return web.Response(status=204)


async def read_json(request: web.Request) -> Any:
    """Return the parsed JSON body (None when empty), or answer 50109."""
    raw = await request.read()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError as error:
        raise err.invalid_json() from error


async def read_object(request: web.Request) -> dict[str, Any]:
    """Return the JSON body as an object (empty when absent)."""
    data = await read_json(request)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ApiError(
            400,
            50035,
            "Invalid Form Body",
            errors={
                "_errors": [
                    {
                        "code": "DICT_TYPE_CONVERT",
                        "message": "Only dictionaries may be used in a DictType",
                    }
                ]
            },
        )
    return data


async def read_payload(request: web.Request) -> tuple[dict[str, Any], Files]:
    """Return a message body and its files, from JSON or from multipart `payload_json`
    plus `files[n]` parts (how discord.py uploads attachments)."""
    if not request.content_type.startswith("multipart/"):
        return await read_object(request), []
    reader = MultipartReader(request.headers, await _buffered(request))
    payload: dict[str, Any] = {}
    files: Files = []
    total = 0
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        body = await part.read(decode=False)
        total += len(body)
        if total > ATTACHMENT_SIZE:
            raise err.too_large()
        if part.name == "payload_json":
            try:
                parsed = json.loads(body or b"{}")
            except ValueError as error:
                raise err.invalid_json() from error
            if isinstance(parsed, dict):
                payload = parsed
        elif part.filename:
            kind = part.headers.get("Content-Type", "application/octet-stream")
            files.append((part.filename, kind, bytes(body)))
    return payload, files


async def _buffered(request: web.Request) -> StreamReader:
    """Return the request body as a fresh stream: a middleware may have read it already
    (aiohttp caches it), which would leave `request.multipart()` nothing to read."""
    body = await request.read()
    loop = asyncio.get_running_loop()
    stream = StreamReader(BaseProtocol(loop), max(len(body), 2**16), loop=loop)
    stream.feed_data(body)
    stream.feed_eof()
    return stream


def path_id(request: web.Request, key: str, missing: Callable[[], ApiError]) -> int:
    """Return a snowflake path parameter, or raise the route's 404 for a malformed one."""
    value = parse_snowflake(request.match_info.get(key))
    if value is None:
        raise missing()
    return value


def query_flag(request: web.Request, name: str) -> bool:
    """Tell whether a boolean query parameter is set (`1`, `true`)."""
    return request.query.get(name, "").lower() in ("1", "true", "yes")


def query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    """Return a whole-number query parameter within bounds, or answer 50035."""
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ApiError(
            400,
            50035,
            "Invalid Form Body",
            errors={
                name: {
                    "_errors": [
                        {
                            "code": "NUMBER_TYPE_MAX",
                            "message": f"int value should be between {low} and {high}.",
                        }
                    ]
                }
            },
        )
    return value
