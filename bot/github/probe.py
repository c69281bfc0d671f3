"""Read-only questions to GitHub's REST API for `lessonbot doctor` (GitHubProbe).

Plain GETs with the bot's token: the repository (whose `permissions` say what the token
may do) and its webhooks with their recent deliveries. Nothing is written.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp

from bot import __version__
from bot.config import GitHubSettings
from bot.services.ports import HookDeliveries, ProbeError, RepositoryAccess

log = logging.getLogger(__name__)

# Deliveries read per hook: enough to tell one failure from a failing hook.
RECENT_DELIVERIES = 10


class GitHubRestProbe:
    """GitHubProbe over GETs with a personal or bot account's token."""

    def __init__(self, settings: GitHubSettings, session: aiohttp.ClientSession) -> None:
        assert settings.token is not None
        self._base = settings.base_url.rstrip("/")
        self._repository = settings.repository
        self._headers = {
            "Authorization": f"token {settings.token.reveal()}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": f"lessonbot/{__version__}",
        }
        self._session = session

    async def repository(self) -> RepositoryAccess:
        """Return the repository and the token's permission flags on it."""
        repo = await self._get(f"/repos/{self._repository}")
        flags = repo.get("permissions")
        return RepositoryAccess(
            full_name=str(repo.get("full_name") or self._repository),
            default_branch=str(repo.get("default_branch") or "main"),
            flags={str(key): bool(value) for key, value in flags.items()}
            if isinstance(flags, dict)
            else {},
        )

    async def deliveries(self, url: str) -> HookDeliveries | None:
        """Return the hooks posting to `url` and their latest deliveries, newest first;
        None when the token may not list hooks (GitHub answers 404 to a non-admin)."""
        try:
            hooks = await self._get(f"/repos/{self._repository}/hooks")
        except ProbeError as error:
            if error.code in ("not_found", "forbidden"):
                return None
            raise
        ours = [hook for hook in hooks if _same_url(_hook_url(hook), url)]
        recent: list[tuple[str, int, str]] = []
        for hook in ours:
            items = await self._get(
                f"/repos/{self._repository}/hooks/{hook['id']}/deliveries"
                f"?per_page={RECENT_DELIVERIES}"
            )
            recent += [
                (
                    str(item.get("delivered_at") or ""),
                    int(item.get("status_code") or 0),
                    str(item.get("event") or ""),
                )
                for item in items
            ]
        recent.sort(reverse=True)
        return HookDeliveries(
            hooks=len(ours), recent=tuple((code, event) for _, code, event in recent)
        )

    async def _get(self, path: str) -> Any:
        """GET one route; raise ProbeError with a code and a one-line reason on failure."""
        try:
            async with self._session.get(self._base + path, headers=self._headers) as response:
                if response.status >= 400:
                    raise _http_error(response.status, await _message(response))
                return await response.json(content_type=None)
        except aiohttp.ClientError as error:
            raise ProbeError("unreachable", f"{type(error).__name__}: {error}") from None
        except TimeoutError:
            raise ProbeError("unreachable", "no answer in time") from None
        except ValueError:
            raise ProbeError("failed", "the answer was not JSON") from None


def _hook_url(hook: dict[str, Any]) -> str:
    config = hook.get("config")
    return str(config.get("url") or "") if isinstance(config, dict) else ""


def _same_url(first: str, second: str) -> bool:
    return first.rstrip("/").casefold() == second.rstrip("/").casefold()


async def _message(response: aiohttp.ClientResponse) -> str:
    """Return GitHub's error message of a response, or its status line."""
    try:
        body = await response.json(content_type=None)
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("message"):
        return f"{response.status} {body['message']}"
    return f"{response.status} {response.reason or ''}".strip()


def _http_error(status: int, reason: str) -> ProbeError:
    if status == 401:
        return ProbeError("unauthorized", reason)
    if status == 403:
        return ProbeError("forbidden", reason)
    if status == 404:
        return ProbeError("not_found", reason)
    return ProbeError("failed", reason)
