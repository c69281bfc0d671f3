"""Read-only questions to Discord's REST API for `lessonbot doctor` (DiscordProbe).

A few GETs with the bot's token: no gateway session, no discord.py client, nothing written.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp

from bot import __version__
from bot.config import DiscordSettings
from bot.services.ports import ChannelView, GuildView, ProbeError

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 15.0
# The longest a 429 is waited out, once; a longer one fails the check.
MAX_RETRY_AFTER = 5.0
# Each privileged intent and the application flags that grant it: the plain flag for a
# verified bot, `_LIMITED` for one in fewer than 100 servers.
INTENT_FLAGS = {
    "GUILD_PRESENCES": (1 << 12) | (1 << 13),
    "GUILD_MEMBERS": (1 << 14) | (1 << 15),
    "MESSAGE_CONTENT": (1 << 18) | (1 << 19),
}


def needed_intents() -> frozenset[str]:
    """Return the privileged intents the bot's client asks for."""
    from bot.discord.client import bot_intents

    intents = bot_intents()
    asked = {
        "GUILD_PRESENCES": intents.presences,
        "GUILD_MEMBERS": intents.members,
        "MESSAGE_CONTENT": intents.message_content,
    }
    return frozenset(name for name, wanted in asked.items() if wanted)


class DiscordRestProbe:
    """DiscordProbe over plain HTTP GETs, one session for every question."""

    def __init__(self, settings: DiscordSettings, session: aiohttp.ClientSession) -> None:
        assert settings.token is not None
        self._base = settings.api_base_url.rstrip("/")
        self._headers = {
            "Authorization": f"Bot {settings.token.reveal()}",
            "User-Agent": f"DiscordBot (https://github.com/lessonbot, {__version__})",
        }
        self._session = session
        self._user_id: int | None = None

    async def bot_name(self) -> str:
        """Return the bot's user name (the token works), or raise ProbeError."""
        user = await self._get("/users/@me")
        self._user_id = int(user["id"])
        return str(user.get("username") or user["id"])

    async def privileged_intents(self) -> tuple[frozenset[str], frozenset[str]]:
        """Return the privileged intents the bot asks for and those its application has."""
        application = await self._get("/applications/@me")
        flags = int(application.get("flags") or 0)
        granted = frozenset(name for name, bits in INTENT_FLAGS.items() if flags & bits)
        return needed_intents(), granted

    async def guild(self, guild_id: int) -> GuildView:
        """Return the server with its roles, the bot's roles and the channels."""
        if self._user_id is None:
            await self.bot_name()
        assert self._user_id is not None
        guild = await self._get(f"/guilds/{guild_id}")
        member = await self._get(f"/guilds/{guild_id}/members/{self._user_id}")
        channels = await self._get(f"/guilds/{guild_id}/channels")
        return GuildView(
            id=int(guild["id"]),
            name=str(guild.get("name") or guild["id"]),
            owner_id=int(guild.get("owner_id") or 0),
            bot_user_id=self._user_id,
            role_permissions={
                int(role["id"]): int(role.get("permissions") or 0)
                for role in guild.get("roles") or []
            },
            bot_role_ids=tuple(int(role_id) for role_id in member.get("roles") or []),
            channels=tuple(_channel(channel) for channel in channels),
        )

    async def _get(self, path: str, *, retried: bool = False) -> Any:
        """GET one route; raise ProbeError with a code and a one-line reason on failure."""
        try:
            async with self._session.get(self._base + path, headers=self._headers) as response:
                if response.status == 429 and not retried:
                    wait = float((await response.json(content_type=None)).get("retry_after", 1))
                    if wait <= MAX_RETRY_AFTER:
                        await asyncio.sleep(wait)
                        return await self._get(path, retried=True)
                if response.status >= 400:
                    raise _http_error(response.status, await _message(response))
                return await response.json(content_type=None)
        except aiohttp.ClientError as error:
            raise ProbeError("unreachable", f"{type(error).__name__}: {error}") from None
        except TimeoutError:
            raise ProbeError("unreachable", f"no answer within {TIMEOUT_SECONDS:g} s") from None
        except ValueError:
            raise ProbeError("failed", "the answer was not JSON") from None


def _channel(payload: dict[str, Any]) -> ChannelView:
    return ChannelView(
        id=int(payload["id"]),
        name=str(payload.get("name") or payload["id"]),
        type=int(payload.get("type") or 0),
        overwrites=tuple(
            (
                int(item["id"]),
                int(item.get("type") or 0),
                int(item.get("allow") or 0),
                int(item.get("deny") or 0),
            )
            for item in payload.get("permission_overwrites") or []
        ),
    )


async def _message(response: aiohttp.ClientResponse) -> str:
    """Return Discord's error message of a response, or its status line."""
    try:
        body = await response.json(content_type=None)
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("message"):
        message = str(body["message"])  # Discord's own may start with the status already
        return (
            message if message.startswith(str(response.status)) else f"{response.status} {message}"
        )
    return f"{response.status} {response.reason or ''}".strip()


def _http_error(status: int, reason: str) -> ProbeError:
    if status == 401:
        return ProbeError("unauthorized", reason)
    if status in (403, 404):
        return ProbeError("not_found", reason)
    return ProbeError("failed", reason)
