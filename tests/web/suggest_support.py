"""Helpers for the suggest form and API tests: a service on fixture lessons, served."""

from __future__ import annotations

import asyncio
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings, SuggestionSettings, WebSettings
from bot.domain.catalogue import Catalogue, load_catalogue
from bot.services.discussion import DiscussionService
from bot.services.outbox import Outbox
from bot.services.ports import GitHubPort
from bot.services.signing import Signer
from bot.services.suggestions import SuggestionService
from bot.store.models import OutboxJob, Suggestion, SuggestionCredit, SuggestionEvent
from bot.web.app import create_web_app
from bot.web.router import WebhookRouter
from tests.conftest import FIXTURES
from tests.web.support import Client

Sessions = async_sessionmaker[AsyncSession]
LESSON = "demo/pipes"
FORM_URL = "/lessons/demo/pipes/suggest"
PASSAGE = "Fixtures are small on purpose."
REPLACEMENT = "Fixtures are kept small on purpose."
SIGNER = Signer(b"w" * 32)
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def copy_content(root: Path) -> Path:
    """Copy the fixture lessons under `root`, so a test may change them."""
    content = root / "content"
    shutil.copytree(FIXTURES / "content", content)
    return content


@dataclass
class Door:
    """A served web app with the suggest door, and what it stands on."""

    client: Client
    service: SuggestionService
    outbox: Outbox
    sessions: Sessions
    catalogue: Catalogue
    clock: list[float] = field(default_factory=lambda: [1_800_000_000.0])

    async def count(self, model: type = Suggestion) -> int:
        """Return how many rows a table holds."""
        async with self.sessions() as session:
            return (await session.execute(select(func.count()).select_from(model))).scalar_one()

    async def counts(self) -> tuple[int, int, int, int]:
        """Return the rows of every table a suggestion writes to."""
        return (
            await self.count(Suggestion),
            await self.count(SuggestionCredit),
            await self.count(SuggestionEvent),
            await self.count(OutboxJob),
        )

    async def csrf(self, url: str = FORM_URL) -> str:
        """Open a page (setting the CSRF cookie) and return its form token."""
        response = await self.client.get(url)
        match = _CSRF.search(await response.text())
        assert match, "the page has no CSRF field"
        return match.group(1)


async def open_door(
    sessions: Sessions,
    content: Path,
    *,
    per_ip_per_hour: int = 0,
    per_person_per_hour: int = 0,
    max_form_bytes: int = 64 * 1024,
    github: GitHubPort | None = None,
    poll_seconds: float = 5.0,
    server_options: dict[str, Any] | None = None,
    web: WebSettings | None = None,
    discussion: DiscussionService | None = None,
    **limits: Any,
) -> Door:
    """Serve a web app with the suggest door on a copy of the fixture lessons."""
    settings = Settings(
        web=web or WebSettings(per_ip_per_hour=per_ip_per_hour, max_form_bytes=max_form_bytes),
        suggestions=SuggestionSettings(per_person_per_hour=per_person_per_hour, **limits),
    )
    catalogue = load_catalogue(content, "en")
    outbox = Outbox(sessions)
    service = SuggestionService(
        sessions, outbox, settings, catalogue=lambda: catalogue, signer=SIGNER, github=github
    )
    clock = [1_800_000_000.0]
    app = create_web_app(
        settings,
        session_factory=sessions,
        webhook_router=WebhookRouter(),
        suggestions=service,
        lessons=lambda: catalogue,
        signer=SIGNER,
        clock=lambda: clock[0],
        poll_seconds=poll_seconds,
        discussion=discussion,
    )
    client: Client = TestClient(TestServer(app, **(server_options or {})))
    await client.start_server()
    return Door(client, service, outbox, sessions, catalogue, clock)


def form(csrf: str, **fields: str) -> dict[str, str]:
    """Return a filled suggest form (the fixture edit unless told otherwise)."""
    data = {
        "csrf": csrf,
        "locale": "en",
        "find": PASSAGE,
        "replace": REPLACEMENT,
        "reason": "Clearer wording",
        "name": "Ada",
        "email": "",
        "website": "",
        "action": "send",
    }
    data.update(fields)
    return data


def api_body(**fields: Any) -> dict[str, Any]:
    """Return a JSON API suggestion (the fixture edit unless told otherwise)."""
    data: dict[str, Any] = {
        "lesson": LESSON,
        "locale": "en",
        "find": PASSAGE,
        "replace": REPLACEMENT,
        "reason": "Clearer wording",
        "author": {"name": "Ada", "email": "ada@example.org"},
    }
    data.update(fields)
    return data


async def raw_request(door: Door, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
    """Send request bytes made by hand and return the answer's status and body."""
    # By hand: client libraries refuse to send the undecodable header bytes tested here.
    server = door.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        length = f"Content-Length: {len(body)}\r\n".encode() if body else b""
        writer.write(head.rstrip(b"\r\n") + b"\r\n" + length + b"Connection: close\r\n\r\n" + body)
        await writer.drain()
        answer = await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]
