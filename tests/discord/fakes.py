"""Stand-ins for discord.py interactions, recording what the bot answers."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import discord
from discord.enums import try_enum


class FakeResponse:
    """An interaction's one response: records what is sent, knows whether it was."""

    def __init__(self, fail_with: Exception | None = None) -> None:
        self.sent: list[tuple[str, Any, dict[str, Any]]] = []
        self._done = False
        self._fail_with = fail_with

    def is_done(self) -> bool:
        return self._done

    async def _record(self, kind: str, content: Any, options: dict[str, Any]) -> None:
        if self._fail_with is not None:
            raise self._fail_with
        if self._done:
            raise discord.InteractionResponded(None)  # type: ignore[arg-type]
        self._done = True
        self.sent.append((kind, content, options))

    async def send_message(self, content: str | None = None, **options: Any) -> None:
        await self._record("message", content, options)

    async def defer(self, **options: Any) -> None:
        await self._record("defer", None, options)

    async def autocomplete(self, choices: list[Any]) -> None:
        await self._record("autocomplete", choices, {})


class FakeFollowup:
    """An interaction's follow-up webhook."""

    def __init__(self) -> None:
        self.sent: list[tuple[str | None, dict[str, Any]]] = []

    async def send(self, content: str | None = None, **options: Any) -> None:
        self.sent.append((content, options))


class FakeInteraction:
    """Just what the replies and the error handler use of a discord.Interaction."""

    def __init__(
        self,
        locale: str = "en-US",
        *,
        kind: discord.InteractionType = discord.InteractionType.application_command,
        command: str | None = "lesson",
        fail_with: Exception | None = None,
    ) -> None:
        # Like discord.py: a locale Discord does not list (ar, te) still keeps its value.
        self.locale = try_enum(discord.Locale, locale)
        self.type = kind
        self.command = SimpleNamespace(qualified_name=command) if command else None
        self.data: dict[str, Any] = {"name": command} if command else {}
        self.response = FakeResponse(fail_with)
        self.followup = FakeFollowup()


def http_error(status: int, message: str) -> discord.HTTPException:
    """Return the exception discord.py raises for an HTTP error response."""
    response = SimpleNamespace(status=status, reason=message)
    return discord.HTTPException(response, message)  # type: ignore[arg-type]
