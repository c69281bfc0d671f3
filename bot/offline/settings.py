"""The settings that point the real bot at the sandboxes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from bot.config import MaintainerSettings, Secret, Settings
from bot.offline.state import sandbox_database_url
from sandboxes.discord import DiscordSandbox
from sandboxes.github import GitHubSandbox
from sandboxes.mail import MailSandbox

# Who gets the digest email when the settings name nobody: a reader of the default locale
# and, when it is served, one of Arabic, whose email is laid out right to left. Each gets
# the whole digest in their language.
MAINTAINER_LOCALES = ("ar",)
MAINTAINER_ADDRESS = "maintainer-{locale}@sandbox.test"


def sandbox_settings(
    settings: Settings,
    discord: DiscordSandbox,
    github: GitHubSandbox,
    *,
    guild_id: int,
    digest_channel_id: int,
    web_port: int,
    webhook_secret: str,
    state_dir: Path,
    database_url: str | None = None,
    mail: MailSandbox | None = None,
) -> Settings:
    """Return the settings that point the real bot at the sandboxes (and at a SQLite
    database in `state_dir` unless `database_url` is given; its mail at the SMTP catcher
    `mail` when given, for the maintainers the settings name or else the sandbox's own)."""
    replace = dataclasses.replace
    database_url = database_url or sandbox_database_url(state_dir)
    if mail is not None:
        # The catcher takes mail in the clear without a login: none is sent to it.
        settings = replace(
            settings,
            mail=replace(
                settings.mail,
                smtp_host=mail.host,
                smtp_port=mail.smtp_port,
                starttls=False,
                smtp_username="",
                smtp_password=None,
                maintainers=sandbox_maintainers(settings),
            ),
        )
    return replace(
        settings,
        database=replace(settings.database, url=database_url),
        # The lessons come from the sandbox's repository, cloned into the state directory,
        # so what is pushed there is what the bot shows and syncs.
        content=replace(settings.content, source="github", clone_dir=state_dir / "content"),
        discord=replace(
            settings.discord,
            api_base_url=discord.api_base_url,
            gateway_url=discord.gateway_url,
            # Links to posts and messages open in the Discord sandbox's viewer.
            web_url=discord.web_url,
            guild_id=guild_id,
            digest_channel_id=digest_channel_id,
            token=Secret(discord.bot_token),
        ),
        github=replace(
            settings.github,
            base_url=github.base_url,
            repository=github.repository,
            token=Secret("lessonbot"),
            webhook_secret=Secret(webhook_secret),
            app_id=None,
            installation_id=None,
            seconds_between_requests=0.0,
            seconds_between_writes=0.0,
            # The local sandbox has no secondary limits: a first sync of a whole corpus
            # would otherwise wait out GitHub's 500 writes an hour.
            writes_per_minute=100_000,
            writes_per_hour=1_000_000,
        ),
        web=replace(
            settings.web,
            host="127.0.0.1",
            port=web_port,
            public_url=f"http://127.0.0.1:{web_port}",
        ),
    )


def sandbox_maintainers(settings: Settings) -> tuple[MaintainerSettings, ...]:
    """Return who gets the digest email: the maintainers the settings name, else one
    reader of the default locale and one of each of MAINTAINER_LOCALES that is served.

    Without any, a digest would be said to go out and no email would reach the catcher.
    """
    if settings.mail.maintainers:
        return settings.mail.maintainers
    content = settings.content
    served = [locale for locale in MAINTAINER_LOCALES if locale in content.locales]
    return tuple(
        MaintainerSettings(address=MAINTAINER_ADDRESS.format(locale=locale), locale=locale)
        for locale in dict.fromkeys([content.default_locale, *served])
    )
