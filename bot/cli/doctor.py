"""`lessonbot doctor`: check the configuration against the services it names, read-only."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from bot.cli.output import print_json_array, printable
from bot.config import Settings
from bot.domain.doctor import CheckResult, exit_status
from bot.i18n import t

# Seconds for the whole of each HTTP question.
HTTP_TIMEOUT = 15.0


def register(commands: Any) -> None:
    """Add `doctor` to the parser."""
    doctor = commands.add_parser(
        "doctor",
        help="check the database, Discord, GitHub and mail settings, changing nothing",
    )
    doctor.add_argument("--json", action="store_true", help="print a JSON array of results")
    doctor.set_defaults(handler=_doctor)


def _doctor(arguments: argparse.Namespace, settings: Settings) -> int:
    results = asyncio.run(run_checks(settings))
    if arguments.json:
        print_json_array([_record(result, settings.locale) for result in results], sys.stdout)
    else:
        for result in results:
            print(line(result, settings.locale))
    return exit_status(results)


async def run_checks(settings: Settings) -> list[CheckResult]:
    """Build the read-only probes the settings allow and run every check."""
    import aiohttp

    from bot.discord.probe import DiscordRestProbe
    from bot.mail.probe import SmtpProbe
    from bot.services.doctor import Doctor

    timeout = aiohttp.ClientTimeout(total=HTTP_TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout, trust_env=True) as session:
        discord = DiscordRestProbe(settings.discord, session) if settings.discord.token else None
        github = _github_probe(settings, session)
        mail = SmtpProbe(settings.mail) if settings.mail.configured else None
        doctor = Doctor(settings, discord=discord, github=github, mail=mail)
        return await doctor.run()


def _github_probe(settings: Settings, session: Any) -> Any:
    """Return the GitHub probe the credentials allow: a token's, else a complete App's."""
    from bot.github.probe import GitHubAppProbe, GitHubRestProbe

    github = settings.github
    if github.token:
        return GitHubRestProbe(github, session)
    if github.app_id and github.installation_id and github.app_private_key:
        return GitHubAppProbe(github, session)
    return None


def line(result: CheckResult, locale: str) -> str:
    """Return a result as one line: `status  what  detail`."""
    what = t(locale, f"doctor.what.{result.check}", subject=result.subject).strip()
    detail = t(locale, result.key, subject=result.subject, **result.params)
    return printable(f"{result.status.value}  {what}  {detail}")


def _record(result: CheckResult, locale: str) -> dict[str, Any]:
    return {
        "status": result.status.value,
        "check": result.check,
        "subject": result.subject,
        "code": result.code,
        "message": t(locale, result.key, subject=result.subject, **result.params),
        **({"details": dict(result.params)} if result.params else {}),
    }
