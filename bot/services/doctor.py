"""`lessonbot doctor`: check a configuration against the services it names, changing nothing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.config import Settings, env_name
from bot.domain.doctor import (
    APP_EVENTS,
    DIGEST_NEEDS,
    FORUM_NEEDS,
    GUILD_NEEDS,
    CheckResult,
    Overwrite,
    Status,
    channel_permissions,
    guild_permissions,
    missing_app_events,
    missing_app_permissions,
    missing_permissions,
)
from bot.services.ports import (
    DiscordProbe,
    GitHubProbe,
    GuildView,
    MailProbe,
    ProbeError,
    RepositoryAccess,
)
from bot.store.readonly import DatabaseMissingError, DatabaseState, inspect_database

log = logging.getLogger(__name__)

OK, WARN, FAIL = Status.OK, Status.WARN, Status.FAIL
FORUM, TEXT_CHANNELS = 15, (0, 5)
# Failures with a sentence of their own; the others share `doctor.probe.<code>`.
OWN_FAILURES = {
    ("discord.token", "unauthorized"),
    ("discord.guild", "not_found"),
    ("github.repository", "not_found"),
    ("github.repository", "unauthorized"),
    ("github.repository", "app_not_installed"),
    ("github.repository", "app_refused"),
    ("mail", "login_refused"),
}
WEBHOOK_PATH = "/webhooks/github"


@dataclass
class _Found:
    """What earlier checks learned that later ones use."""

    database: DatabaseState | None = None


class Doctor:
    """Run every check once, in order: database, Discord, GitHub, mail."""

    def __init__(
        self,
        settings: Settings,
        *,
        discord: DiscordProbe | None,
        github: GitHubProbe | None,
        mail: MailProbe | None,
        inspect: Callable[[str], DatabaseState] = inspect_database,
    ) -> None:
        self._settings = settings
        self._discord = discord
        self._github = github
        self._mail = mail
        self._inspect = inspect

    async def run(self) -> list[CheckResult]:
        """Return one result per check."""
        found = _Found()
        results = [await self._database(found)]
        results += await self._discord_checks(found)
        results += await self._github_checks()
        results.append(await self._mail_check())
        for result in results:
            # The report is the command's output; the log keeps it for --verbose runs only.
            log.debug(
                "doctor: %s %s %s %s",
                result.status,
                result.check,
                result.subject,
                result.code,
            )
        return results

    # --- database -----------------------------------------------------------------------

    async def _database(self, found: _Found) -> CheckResult:
        from bot.store.engine import masked_url, problem_reason

        url = self._settings.database.url
        shown = masked_url(url)
        try:
            state = await asyncio.to_thread(self._inspect, url)
        except DatabaseMissingError as error:
            return CheckResult("database", FAIL, "missing", shown, {"path": str(error)})
        except Exception as error:  # the driver's errors vary: one line, the rest logged
            log.debug("doctor: database unreachable", exc_info=True)
            reason = problem_reason(error)
            return CheckResult("database", FAIL, "unreachable", shown, {"reason": reason})
        found.database = state
        if state.revision is None:
            return CheckResult("database", FAIL, "empty", shown, {"head": state.head})
        if not state.migrated:
            params = {"revision": state.revision, "head": state.head}
            return CheckResult("database", FAIL, "behind", shown, params)
        return CheckResult("database", OK, "ok", shown, {"revision": state.revision})

    # --- Discord ------------------------------------------------------------------------

    async def _discord_checks(self, found: _Found) -> list[CheckResult]:
        settings = self._settings.discord
        if self._discord is None or not settings.token:
            env = env_name("discord", "token")
            return [CheckResult("discord.token", FAIL, "not_set", "", {"env": env})]
        try:
            name = await self._discord.bot_name()
        except ProbeError as error:
            return [_probe_failure("discord.token", error)]
        results = [CheckResult("discord.token", OK, "ok", "", {"name": name})]
        results.append(await self._intents())
        if settings.guild_id is None:
            env = env_name("discord", "guild_id")
            results.append(CheckResult("discord.guild", FAIL, "not_set", "", {"env": env}))
            return results
        try:
            guild = await self._discord.guild(settings.guild_id)
        except ProbeError as error:
            results.append(_probe_failure("discord.guild", error, str(settings.guild_id)))
            return results
        base = guild_permissions(
            guild.id, guild.owner_id, guild.bot_user_id, guild.bot_role_ids, guild.role_permissions
        )
        lacking = missing_permissions(base, GUILD_NEEDS)
        if lacking:
            results.append(_lacking("discord.guild", WARN, guild.name, lacking))
        else:
            results.append(CheckResult("discord.guild", OK, "ok", guild.name))
        results += self._forums(guild, base, found.database)
        results.append(self._digest_channel(guild, base))
        results += self._helper_role(guild)
        return results

    def _helper_role(self, guild: GuildView) -> list[CheckResult]:
        """Check the role nudges ping, when one is set (unset, they ping nobody)."""
        role = self._settings.questions.helper_role_id.strip()
        if not role:
            return []
        if int(role) not in guild.role_permissions:
            env = env_name("questions", "helper_role_id")
            return [
                CheckResult("discord.helper_role", WARN, "not_found", "", {"id": role, "env": env})
            ]
        return [CheckResult("discord.helper_role", OK, "ok", "", {"id": role})]

    async def _intents(self) -> CheckResult:
        assert self._discord is not None
        try:
            needed, granted = await self._discord.privileged_intents()
        except ProbeError as error:
            return _probe_failure("discord.intents", error)
        missing = sorted(needed - granted)
        if missing:
            return CheckResult(
                "discord.intents", FAIL, "missing", "", {"intents": ", ".join(missing)}
            )
        return CheckResult("discord.intents", OK, "ok", "", {"intents": ", ".join(sorted(needed))})

    def _forums(
        self, guild: GuildView, base: int, database: DatabaseState | None
    ) -> list[CheckResult]:
        if database is None or not database.migrated:
            return [CheckResult("discord.forums", WARN, "unknown", "")]
        if not database.forums:
            return [CheckResult("discord.forums", OK, "none_yet", "")]
        channels = {channel.id: channel for channel in guild.channels}
        results = []
        for program, forum_id in sorted(database.forums.items()):
            channel = channels.get(forum_id)
            if channel is None or channel.type != FORUM:
                params = {"id": str(forum_id)}
                results.append(CheckResult("discord.forum", FAIL, "not_found", program, params))
                continue
            subject = f"#{channel.name} ({program})"
            value = self._channel_permissions(guild, base, channel.overwrites)
            lacking = missing_permissions(value, FORUM_NEEDS)
            if lacking:
                results.append(_lacking("discord.forum", FAIL, subject, lacking))
            else:
                results.append(CheckResult("discord.forum", OK, "ok", subject))
        return results

    def _digest_channel(self, guild: GuildView, base: int) -> CheckResult:
        channel_id = self._settings.discord.digest_channel_id
        if channel_id is None:
            env = env_name("discord", "digest_channel_id")
            return CheckResult("discord.digest_channel", WARN, "not_set", "", {"env": env})
        channel = next((c for c in guild.channels if c.id == channel_id), None)
        if channel is None or channel.type not in TEXT_CHANNELS:
            params = {"id": str(channel_id)}
            return CheckResult("discord.digest_channel", FAIL, "not_found", "", params)
        value = self._channel_permissions(guild, base, channel.overwrites)
        lacking = missing_permissions(value, DIGEST_NEEDS)
        if lacking:
            return _lacking("discord.digest_channel", FAIL, f"#{channel.name}", lacking)
        return CheckResult("discord.digest_channel", OK, "ok", f"#{channel.name}")

    @staticmethod
    def _channel_permissions(
        guild: GuildView, base: int, overwrites: tuple[tuple[int, int, int, int], ...]
    ) -> int:
        return channel_permissions(
            base,
            guild.id,
            guild.bot_user_id,
            guild.bot_role_ids,
            [Overwrite(*overwrite) for overwrite in overwrites],
        )

    # --- GitHub -------------------------------------------------------------------------

    async def _github_checks(self) -> list[CheckResult]:
        settings = self._settings.github
        if not settings.repository:
            env = env_name("github", "repository")
            return [CheckResult("github.repository", FAIL, "not_set", "", {"env": env})]
        if self._github is None and settings.app_id is not None:
            unset = [
                env_name("github", key)
                for key, value in (
                    ("installation_id", settings.installation_id),
                    ("app_private_key", settings.app_private_key),
                )
                if value is None
            ]
            params = {"unset": ", ".join(unset)}
            return [CheckResult("github.repository", FAIL, "app_incomplete", "", params)]
        if self._github is None:
            env = env_name("github", "token")
            params = {"env": env}
            return [CheckResult("github.repository", FAIL, "no_credentials", "", params)]
        try:
            access = await self._github.repository()
        except ProbeError as error:
            return [_probe_failure("github.repository", error, settings.repository)]
        results = [CheckResult("github.repository", OK, "ok", access.full_name)]
        if access.app_permissions is None:
            results.append(_github_permissions(access))
        else:
            results += _app_checks(access, settings.installation_id)
        results.append(await self._webhook(via_app=access.app_permissions is not None))
        return results

    async def _webhook(self, *, via_app: bool) -> CheckResult:
        assert self._github is not None
        url = self._settings.web.public_url.rstrip("/") + WEBHOOK_PATH
        try:
            report = await self._github.deliveries(url)
        except ProbeError as error:
            return _probe_failure("github.webhook", error, url)
        if report is None:
            return CheckResult("github.webhook", WARN, "hidden", url)
        if report.hooks == 0:
            return CheckResult("github.webhook", FAIL, "app_no_hook" if via_app else "no_hook", url)
        if not report.recent:
            return CheckResult("github.webhook", WARN, "no_deliveries", url)
        code, event = report.recent[0]
        if not 200 <= code < 300:
            failed = sum(1 for status, _ in report.recent if not 200 <= status < 300)
            params = {"code": str(code), "event": event, "failed": str(failed)}
            params["count"] = str(len(report.recent))
            return CheckResult("github.webhook", FAIL, "failing", url, params)
        return CheckResult("github.webhook", OK, "ok", url, {"count": str(len(report.recent))})

    # --- mail ---------------------------------------------------------------------------

    async def _mail_check(self) -> CheckResult:
        settings = self._settings.mail
        if not settings.configured or self._mail is None:
            return CheckResult("mail", OK, "off", "")
        subject = f"{settings.smtp_host}:{settings.smtp_port}"
        try:
            await self._mail.check()
        except ProbeError as error:
            return _probe_failure("mail", error, subject)
        if settings.smtp_username and settings.smtp_password is not None:
            return CheckResult("mail", OK, "ok_login", subject, {"user": settings.smtp_username})
        return CheckResult("mail", OK, "ok", subject)


def _github_permissions(access: RepositoryAccess) -> CheckResult:
    """Tell whether the token may do the bot's work: read, push branches, open PRs."""
    flags = access.flags or {}
    if not flags.get("pull"):
        return CheckResult("github.permissions", FAIL, "no_read", access.full_name)
    if not flags.get("push"):
        return CheckResult("github.permissions", FAIL, "no_push", access.full_name)
    return CheckResult("github.permissions", OK, "ok", access.full_name)


def _app_checks(access: RepositoryAccess, installation_id: int | None) -> list[CheckResult]:
    """Tell whether the App's installation is the configured one, may do the bot's work,
    and hears the events it acts on."""
    subject = access.full_name
    if installation_id is not None and access.installation_id not in (None, installation_id):
        params = {"found": str(access.installation_id), "configured": str(installation_id)}
        return [CheckResult("github.permissions", FAIL, "app_other_installation", subject, params)]
    lacking = missing_app_permissions(access.app_permissions or {})
    if lacking:
        params = {"permissions": ", ".join(lacking)}
        permissions = CheckResult("github.permissions", FAIL, "app_lacking", subject, params)
    else:
        permissions = CheckResult("github.permissions", OK, "app_ok", subject)
    unheard = missing_app_events(access.app_events or ())
    if unheard:
        events = CheckResult("github.events", FAIL, "missing", "", {"events": ", ".join(unheard)})
    else:
        events = CheckResult("github.events", OK, "ok", "", {"count": str(len(APP_EVENTS))})
    return [permissions, events]


def _lacking(check: str, status: Status, subject: str, names: list[str]) -> CheckResult:
    return CheckResult(check, status, "lacking", subject, {"permissions": ", ".join(names)})


def _probe_failure(check: str, error: ProbeError, subject: str = "") -> CheckResult:
    """Return the failed result for a probe's error: its code, and its reason when any."""
    shared = None if (check, error.code) in OWN_FAILURES else f"doctor.probe.{error.code}"
    params = {"reason": error.reason or error.code}
    return CheckResult(check, FAIL, error.code, subject, params, text_key=shared)
