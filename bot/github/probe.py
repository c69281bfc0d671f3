"""Read-only questions to GitHub's REST API for `lessonbot doctor` (GitHubProbe).

Plain GETs, nothing written. With the bot's token: the repository (whose `permissions`
say what the token may do) and its webhooks with their recent deliveries. With a GitHub
App, signed by its key alone (no installation token is minted): the App's installation on
the repository (its permissions and events) and the App's webhook with its deliveries.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from github import Auth

from bot import __version__
from bot.config import GitHubSettings
from bot.services.ports import HookDeliveries, ProbeError, RepositoryAccess

log = logging.getLogger(__name__)

# Deliveries read per hook: enough to tell one failure from a failing hook.
RECENT_DELIVERIES = 10


class _RestReader:
    """GETs against GitHub's REST API with one set of headers; errors become ProbeError."""

    def __init__(self, settings: GitHubSettings, session: aiohttp.ClientSession) -> None:
        self._base = settings.base_url.rstrip("/")
        self._repository = settings.repository
        self._session = session

    def _headers(self) -> dict[str, str]:
        return {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": f"lessonbot/{__version__}",
        }

    async def _get(self, path: str) -> Any:
        """GET one route; raise ProbeError with a code and a one-line reason on failure."""
        try:
            async with self._session.get(self._base + path, headers=self._headers()) as response:
                if response.status >= 400:
                    raise _http_error(response.status, await _message(response))
                return await response.json(content_type=None)
        except aiohttp.ClientError as error:
            raise ProbeError("unreachable", f"{type(error).__name__}: {error}") from None
        except TimeoutError:
            raise ProbeError("unreachable", "no answer in time") from None
        except ValueError:
            raise ProbeError("failed", "the answer was not JSON") from None


class GitHubRestProbe(_RestReader):
    """GitHubProbe over GETs with a personal or bot account's token."""

    def __init__(self, settings: GitHubSettings, session: aiohttp.ClientSession) -> None:
        assert settings.token is not None
        super().__init__(settings, session)
        self._token = settings.token

    def _headers(self) -> dict[str, str]:
        return {**super()._headers(), "Authorization": f"token {self._token.reveal()}"}

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


class GitHubAppProbe(_RestReader):
    """GitHubProbe over GETs signed as a GitHub App (a JWT from its private key)."""

    def __init__(self, settings: GitHubSettings, session: aiohttp.ClientSession) -> None:
        assert settings.app_id is not None and settings.app_private_key is not None
        super().__init__(settings, session)
        self._auth = Auth.AppAuth(settings.app_id, settings.app_private_key.reveal())

    def _headers(self) -> dict[str, str]:
        try:
            signed = self._auth.create_jwt()
        except (ValueError, TypeError) as error:
            # The key is not an RSA private key in PEM: say so, never what it holds.
            reason = f"the private key cannot sign ({type(error).__name__})"
            raise ProbeError("app_refused", reason) from None
        return {**super()._headers(), "Authorization": f"Bearer {signed}"}

    async def repository(self) -> RepositoryAccess:
        """Return the App's installation on the repository: what it may do, what it hears."""
        try:
            installation = await self._get(f"/repos/{self._repository}/installation")
        except ProbeError as error:
            if error.code == "not_found":
                raise ProbeError("app_not_installed", error.reason) from None
            if error.code == "unauthorized":
                raise ProbeError("app_refused", error.reason) from None
            raise
        permissions = installation.get("permissions")
        events = installation.get("events")
        return RepositoryAccess(
            full_name=self._repository,
            default_branch="",
            app_permissions={str(key): str(value) for key, value in permissions.items()}
            if isinstance(permissions, dict)
            else {},
            app_events=tuple(str(event) for event in events) if isinstance(events, list) else (),
            installation_id=_int_or_none(installation.get("id")),
        )

    async def deliveries(self, url: str) -> HookDeliveries | None:
        """Return the App's webhook, when it posts to `url`, and its latest deliveries."""
        config = await self._get("/app/hook/config")
        hook_url = str(config.get("url") or "") if isinstance(config, dict) else ""
        if not _same_url(hook_url, url):
            return HookDeliveries(hooks=0)
        items = await self._get(f"/app/hook/deliveries?per_page={RECENT_DELIVERIES}")
        recent = sorted(
            (
                (
                    str(item.get("delivered_at") or ""),
                    int(item.get("status_code") or 0),
                    str(item.get("event") or ""),
                )
                for item in items
            ),
            reverse=True,
        )
        return HookDeliveries(hooks=1, recent=tuple((code, event) for _, code, event in recent))


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) else None
