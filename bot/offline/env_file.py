"""sandbox.env: the `LESSONBOT_*` lines that point every lessonbot command at the sandbox."""

from __future__ import annotations

import dataclasses
import json
import shlex
from pathlib import Path

from bot.config import MaintainerSettings, Secret, Settings, env_name
from bot.running_sandbox import written_by_line
from bot.store.engine import masked_url


def _absolute_sqlite(url: str) -> str:
    """Return a SQLite URL with an absolute path, so it works from any directory."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(f"{prefix}/"):
        return f"{prefix}{Path(url[len(prefix) :]).absolute()}"
    return url


def sandbox_env(settings: Settings, state_dir: Path) -> str:
    """Return `LESSONBOT_*` lines, quoted for sh, that point `lessonbot` at the sandbox."""
    database = _absolute_sqlite(settings.database.url)
    # A database password is a real secret, unlike the sandboxes' tokens: left out, the
    # commands use the LESSONBOT_DATABASE_URL (or config file) the sandbox was given.
    hidden = masked_url(database) != database
    values: list[tuple[str, str, object]] = [
        ("database", "url", None if hidden else database),
        ("content", "source", settings.content.source),
        ("content", "clone_dir", Path(settings.content.clone_dir).absolute()),
        ("discord", "api_base_url", settings.discord.api_base_url),
        ("discord", "gateway_url", settings.discord.gateway_url),
        ("discord", "web_url", settings.discord.web_url),
        ("discord", "guild_id", settings.discord.guild_id),
        ("discord", "digest_channel_id", settings.discord.digest_channel_id),
        ("discord", "token", _reveal(settings.discord.token)),
        ("github", "base_url", settings.github.base_url),
        ("github", "repository", settings.github.repository),
        ("github", "token", _reveal(settings.github.token)),
        ("github", "webhook_secret", _reveal(settings.github.webhook_secret)),
        ("github", "seconds_between_requests", settings.github.seconds_between_requests),
        ("github", "seconds_between_writes", settings.github.seconds_between_writes),
        ("github", "writes_per_minute", settings.github.writes_per_minute),
        ("github", "writes_per_hour", settings.github.writes_per_hour),
        ("web", "host", settings.web.host),
        ("web", "port", settings.web.port),
        ("web", "public_url", settings.web.public_url),
        ("mail", "smtp_host", settings.mail.smtp_host),
        ("mail", "smtp_port", settings.mail.smtp_port),
        ("mail", "starttls", str(settings.mail.starttls).lower()),
        ("mail", "smtp_username", settings.mail.smtp_username),
        # The digest is rendered where it is queued: `digest --now` needs the maintainers.
        ("mail", "maintainers", _maintainers_json(settings.mail.maintainers)),
    ]
    lines = [
        "# lessonbot sandbox: `set -a; . ./sandbox.env; set +a` points every lessonbot",
        "# command at the running sandbox. These tokens open nothing but the local",
        "# sandboxes; they are not secrets. Rewritten at each start of `lessonbot sandbox`.",
        # Commands run beside a running sandbox read this file without being told to;
        # this line tells them it is the running one's, not an earlier run's.
        written_by_line(),
    ]
    if hidden:
        lines.append(
            f"# {env_name('database', 'url')} is not written here: it holds a password. "
            f"Set it as for the sandbox ({masked_url(database)})."
        )
    for section, key, value in values:
        if value is not None:
            lines.append(f"{env_name(section, key)}={shlex.quote(str(value))}")
    return "\n".join(lines) + "\n"


def _reveal(secret: Secret | None) -> str | None:
    return None if secret is None else secret.reveal()


def _maintainers_json(maintainers: tuple[MaintainerSettings, ...]) -> str | None:
    """Return maintainers as the JSON array LESSONBOT_MAIL_MAINTAINERS reads (None: none)."""
    if not maintainers:
        return None
    default = MaintainerSettings()
    return json.dumps(
        [
            {
                name: list(value) if isinstance(value, tuple) else value
                for name, value in dataclasses.asdict(maintainer).items()
                if name == "address" or value != getattr(default, name)
            }
            for maintainer in maintainers
        ],
        ensure_ascii=False,
    )
