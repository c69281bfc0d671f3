"""Settings: one typed object from `lessonbot.toml` and `LESSONBOT_*` environment variables."""

from __future__ import annotations

import dataclasses
import difflib
import json
import logging
import os
import re
import string
import tomllib
import types
import typing
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bot.domain.cron import parse_cron
from bot.domain.nudges import QuietHours, parse_duration
from bot.domain.reply_stats import DEFAULT_TARGET, ReplyTarget, parse_target
from bot.domain.roles import ALL, UnknownRoleError, parse_roles

log = logging.getLogger(__name__)

ENV_PREFIX = "LESSONBOT_"
CONFIG_ENV = "LESSONBOT_CONFIG"
DEFAULT_CONFIG_FILE = "lessonbot.toml"
# Environment names that are ours but not settings.
_NOT_SETTINGS = {CONFIG_ENV, "LESSONBOT_TEST_DATABASE_URL"}


# Where Discord shows a message on the web; its links are {web_url}/channels/{g}/{c}/{m}.
DISCORD_WEB_URL = "https://discord.com"

# A GitHub login: letters, digits and single hyphens, at most 39 characters.
_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")


class ConfigError(ValueError):
    """A setting is missing or wrong; the message names it and fits on one line."""


class Secret:
    """A secret that never shows itself in repr, str, logs or error messages."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the secret itself, for the one place that must send it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"

    def __bool__(self) -> bool:
        return bool(self._value)


# Field metadata of a setting that only the environment may set.
_SECRET = types.MappingProxyType({"secret": True})


@dataclass(frozen=True)
class ContentSettings:
    """Where the lessons are and which locales we serve."""

    # "auto": the GitHub repository when GitHub is configured, else the directory `dir`.
    source: Literal["auto", "github", "directory"] = "auto"
    dir: Path = Path("lessons")
    # The bot's own clone of the repository, when the lessons come from GitHub.
    clone_dir: Path = Path(".lessonbot/content")
    default_locale: str = "en"
    locales: tuple[str, ...] = ("en", "es", "ar", "zh", "fr", "hi", "nl", "te")


@dataclass(frozen=True)
class DatabaseSettings:
    """The database: a SQLite file by default, PostgreSQL in production."""

    url: str = "sqlite:///.lessonbot/lessonbot.db"


@dataclass(frozen=True)
class GitHubSettings:
    """The content repository on GitHub (or the sandbox) and how to authenticate."""

    base_url: str = "https://api.github.com"
    repository: str = ""
    app_id: int | None = None
    installation_id: int | None = None
    seconds_between_requests: float = 0.25
    seconds_between_writes: float = 1.0
    # GitHub's secondary limits on content-creating requests; a sandbox may raise them.
    writes_per_minute: int = 80
    writes_per_hour: int = 500
    token: Secret | None = field(default=None, metadata=_SECRET)
    app_private_key: Secret | None = field(default=None, metadata=_SECRET)
    webhook_secret: Secret | None = field(default=None, metadata=_SECRET)


@dataclass(frozen=True)
class DiscordSettings:
    """The Discord application (or the sandbox) the bot runs as."""

    api_base_url: str = "https://discord.com/api/v10"
    gateway_url: str = "wss://gateway.discord.gg"
    # Where message and post links point: Discord's web app, or the sandbox's viewer.
    web_url: str = DISCORD_WEB_URL
    guild_id: int | None = None
    digest_channel_id: int | None = None
    # Sharding: how many shards the bot's gateway sessions are split into (unset: one
    # session), and which of them this process holds ("0-3", "0,1"; empty: all).
    shard_count: int | None = None
    shard_ids: str = ""
    # Discord's global limit on the bot's requests, shared by every process.
    requests_per_second: int = 50
    token: Secret | None = field(default=None, metadata=_SECRET)

    @property
    def shards(self) -> tuple[int, ...] | None:
        """Return the shard ids this process holds, or None when it is not sharded."""
        if self.shard_count is None:
            return None
        if not self.shard_ids.strip():
            return tuple(range(self.shard_count))
        return parse_shard_ids(self.shard_ids)

    @property
    def holds_first_shard(self) -> bool:
        """Tell whether this process does the once-per-bot work (shard 0, or no sharding)."""
        shards = self.shards
        return shards is None or 0 in shards


def parse_shard_ids(text: str) -> tuple[int, ...]:
    """Return the ids of "0-3", "0,1" or "0-1,4", sorted; ValueError when malformed."""
    ids: set[int] = set()
    for part in text.split(","):
        first, dash, last = part.strip().partition("-")
        if not first.strip().isdigit() or (dash and not last.strip().isdigit()):
            raise ValueError(f"{part.strip()!r} is not a shard id or a range like 0-3")
        low, high = int(first), int(last) if dash else int(first)
        if high < low:
            raise ValueError(f"{part.strip()!r} runs backwards")
        ids.update(range(low, high + 1))
    return tuple(sorted(ids))


@dataclass(frozen=True)
class WebSettings:
    """The bot's HTTP server: suggest form, JSON API, webhooks, health."""

    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = "http://127.0.0.1:8080"
    # GitHub caps webhook payloads at 25 MB; a larger body is refused (413) unread.
    max_webhook_bytes: int = 25 * 1024 * 1024
    # A suggest form or API request body larger than this is refused (413) unread.
    max_form_bytes: int = 64 * 1024
    # Requests to the suggest form and API per client address per hour (0: no limit).
    per_ip_per_hour: int = 30
    # Signs suggestion tokens, form (CSRF) tokens and unsubscribe links. When unset the bot
    # makes a random one and keeps it in its database, so every process shares it.
    secret: Secret | None = field(default=None, metadata=_SECRET)
    # Sites whose lesson pages may read the embed's JSON (CORS); "*": any, as it is public.
    embed_origins: tuple[str, ...] = ("*",)
    # How long the embed's discussion of a lesson is kept before Discord and GitHub are
    # asked again: every reader of a page would otherwise spend the bot's rate limits.
    embed_cache_seconds: int = 60


@dataclass(frozen=True)
class SiteSettings:
    """The learning site whose lessons we link to."""

    lesson_url_template: str = "https://example.org/{locale}/programs/{program}/lessons/{slug}"


@dataclass(frozen=True)
class MaintainerSettings:
    """One `[[mail.maintainers]]` entry: who gets the digest email, and what it holds."""

    address: str = ""
    # The email's language; empty: the bot's `locale`.
    locale: str = ""
    # Programs and question locales to include; empty: all of them.
    programs: tuple[str, ...] = ()
    locales: tuple[str, ...] = ()
    # "every" scheduled digest, or at most one a day, week or month.
    frequency: Literal["every", "daily", "weekly", "monthly"] = "every"


@dataclass(frozen=True)
class MailSettings:
    """Outgoing mail: maintainer digests, and suggesters' updates."""

    # Empty: the bot sends no mail.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str = ""
    starttls: bool = False
    sender: str = "lessonbot@localhost"
    # Tables (address, locale, programs, locales, frequency) or plain addresses.
    maintainers: tuple[MaintainerSettings, ...] = ()
    smtp_password: Secret | None = field(default=None, metadata=_SECRET)

    @property
    def configured(self) -> bool:
        """Tell whether the bot sends mail at all (an SMTP server is set)."""
        return bool(self.smtp_host.strip())


@dataclass(frozen=True)
class DigestSettings:
    """When digests of open questions go out."""

    schedule: str = "0 9 * * 1"
    timezone: str = "UTC"
    # Send a digest with no open questions and no waiting edits too.
    send_empty: bool = False
    # A digest whose time passed while no process ran is still sent this late (seconds).
    misfire_grace_seconds: int = 6 * 3600
    # The digest counts every suggested edit awaiting review, and tells how many have
    # waited longer than this many days.
    suggestion_wait_days: int = 3
    # `lessonbot digest --now` sends nothing when a digest went out this recently (seconds;
    # 0: only a concurrent one stops it); `--force` sends anyway.
    min_interval_seconds: int = 300


@dataclass(frozen=True)
class LinkingSettings:
    """How lessons get their Discord post and GitHub issue."""

    mode: Literal["eager", "lazy"] = "eager"
    mirror_to_github: bool = False
    max_removals: int = 5


@dataclass(frozen=True)
class SuggestionSettings:
    """Suggested edits: what a person may send, and who reviews the pull requests."""

    max_find_chars: int = 2000
    max_replace_chars: int = 4000
    max_reason_chars: int = 1000
    max_name_chars: int = 100
    # Edits inside a lesson's front matter (its title, order, ...) are refused unless true.
    allow_front_matter: bool = False
    # Suggestions one person may send per hour, whatever the door (0: no limit).
    per_person_per_hour: int = 10
    # Reviewers requested on each PR: "program:login", or "*:login" for every program.
    reviewers: tuple[str, ...] = ()
    # Email a suggester who gave an address at each step of the review (when mail is
    # configured: mail.smtp_host).
    email_updates: bool = True
    # Which suggestions wait for a moderator before reaching GitHub: "suspicious" (those
    # the spam signals flag), "unknown" (also everyone not known yet), "none".
    moderation: str = "suspicious"
    # The Discord channel where each held suggestion is posted once, with buttons for the
    # maintainers (questions.staff_role_ids) to open its PR, reject it or block its sender.
    moderation_channel_id: int | None = None


@dataclass(frozen=True)
class QuestionsSettings:
    """Open questions: who counts as staff when answering or resolving them."""

    # Discord role ids whose holders are maintainers (their answers are staff answers).
    staff_role_ids: tuple[str, ...] = ()
    # GitHub logins counted as staff besides those with write access to the repository.
    staff_logins: tuple[str, ...] = ()
    # Ask GitHub for each commenter's permission (write, maintain or admin is staff).
    check_github_permission: bool = True
    # After a fresh gateway session, read back posts active in the last this many days for
    # messages said while no session was up (0: no catch-up).
    catch_up_days: int = 7
    # The most messages read back per post in one catch-up (Discord pages hold 100).
    catch_up_messages: int = 500
    # When a pull request that edits a lesson merges, tell each asker whose open question
    # points at the changed passage, once, in the lesson's post.
    change_notices: bool = True

    # What share of questions should get a first reply, and how soon ("80% within 24h");
    # the digest and `lessonbot questions stats` measure against it.
    first_reply_target: str = DEFAULT_TARGET

    @property
    def reply_target(self) -> ReplyTarget:
        """Return the first-reply target, parsed (validated when settings load)."""
        return parse_target(self.first_reply_target)

    # A Discord question with no reply this long (e.g. 24h, 3d, 90m) is raised once in its
    # post, mentioning the helper role when one is set.
    nudge_after: str = "24h"
    # The Discord role id mentioned by that nudge ("": no ping, the message alone).
    helper_role_id: str = ""
    # An answered question still not resolved this long asks its asker whether it is solved.
    ask_resolved_after: str = "3d"
    # Local times (in questions.timezone) when no nudge is sent ("": none); sent after.
    quiet_hours: str = "22:00-07:00"
    timezone: str = "UTC"
    # The most nudges one post gets in a local day.
    nudges_per_post_per_day: int = 2
    # How often the scheduler looks for questions due a nudge (a cron line, UTC).
    nudge_schedule: str = "*/10 * * * *"


@dataclass(frozen=True)
class JobsSettings:
    """The write path: how long a claim holds, how often failing work is retried."""

    lease_seconds: float = 60.0
    max_attempts: int = 8
    backoff_seconds: float = 2.0
    max_backoff_seconds: float = 900.0
    poll_seconds: float = 2.0
    # A job that would wait longer than this for a rate budget is deferred, shown waiting.
    budget_wait_seconds: float = 5.0


@dataclass(frozen=True)
class RetentionSettings:
    """How long finished records are kept; a daily prune removes older ones (0: keep)."""

    # When the prune runs: a cron line (minute hour day month weekday) in UTC.
    schedule: str = "30 4 * * *"
    # Jobs done this many days ago; failed ones are kept longer, for people to retry.
    done_jobs_days: int = 14
    failed_jobs_days: int = 90
    # GitHub deliveries recorded to refuse a redelivery twice. Longer than GitHub lets a
    # delivery be redelivered (3 days): an older id that comes again is handled again.
    webhook_deliveries_days: int = 30
    # Events of finished suggestions (merged, closed, ...): 0 keeps them as long as the
    # suggestion, as its status page shows them.
    suggestion_events_days: int = 0
    # Questions resolved or dropped this many days ago (open ones are always kept).
    questions_days: int = 365
    # Finished digest runs and their deliveries (the latest ones are always kept).
    digest_runs_days: int = 365
    # Rows removed per transaction, so a prune never holds a long lock.
    batch_size: int = 500


@dataclass(frozen=True)
class RunSettings:
    """What a `lessonbot run` process does (its --role options win over this)."""

    # Any of gateway, web, worker, scheduler; "all" for every one.
    roles: tuple[str, ...] = (ALL,)


@dataclass(frozen=True)
class LogSettings:
    """How a process writes its log (its level is the top-level `log_level`)."""

    # "text": `time LEVEL logger: message`; "json": one object per line, for a collector.
    format: Literal["text", "json"] = "text"


@dataclass(frozen=True)
class Settings:
    """Everything the bot is configured with."""

    locale: str = "en"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    content: ContentSettings = field(default_factory=ContentSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    github: GitHubSettings = field(default_factory=GitHubSettings)
    discord: DiscordSettings = field(default_factory=DiscordSettings)
    web: WebSettings = field(default_factory=WebSettings)
    site: SiteSettings = field(default_factory=SiteSettings)
    mail: MailSettings = field(default_factory=MailSettings)
    digest: DigestSettings = field(default_factory=DigestSettings)
    linking: LinkingSettings = field(default_factory=LinkingSettings)
    jobs: JobsSettings = field(default_factory=JobsSettings)
    suggestions: SuggestionSettings = field(default_factory=SuggestionSettings)
    questions: QuestionsSettings = field(default_factory=QuestionsSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    run: RunSettings = field(default_factory=RunSettings)
    log: LogSettings = field(default_factory=LogSettings)


def env_name(section: str | None, key: str) -> str:
    """Return the environment variable that sets `section.key`."""
    return ENV_PREFIX + (f"{section}_{key}" if section else key).upper()


def load_settings(
    config_path: Path | str | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Load settings from a TOML file (optional) and the environment, then validate them."""
    environ = os.environ if environ is None else environ
    file_values = _read_config_file(config_path, environ)
    used_env: set[str] = set()
    sections: dict[str, Any] = {}
    top_level: dict[str, Any] = {}
    hints = typing.get_type_hints(Settings)
    for settings_field in dataclasses.fields(Settings):
        name = settings_field.name
        if dataclasses.is_dataclass(hints[name]):
            section_values = file_values.pop(name, {})
            if not isinstance(section_values, dict):
                raise ConfigError(f"setting [{name}] must be a table in the config file")
            sections[name] = _load_section(name, hints[name], section_values, environ, used_env)
        else:
            top_level.update(_load_fields(None, Settings, {name}, file_values, environ, used_env))
    if file_values:
        raise ConfigError(_unknown_message(next(iter(file_values)), None, Settings))
    for name in sorted(environ):
        if name.startswith(ENV_PREFIX) and name not in used_env | _NOT_SETTINGS:
            log.warning("ignoring environment variable %s: no such setting", name)
    settings = Settings(**top_level, **sections)
    _validate(settings)
    return settings


def setting_origin(
    dotted: str, config_path: Path | str | None = None, environ: Mapping[str, str] | None = None
) -> str | None:
    """Return where a setting such as `database.url` is set: its environment variable, the
    config file's path, or None when it keeps its default."""
    environ = os.environ if environ is None else environ
    section, _, key = dotted.rpartition(".")
    variable = env_name(section or None, key)
    if variable in environ:  # the environment wins over the file, as in load_settings
        return variable
    values = _read_config_file(config_path, environ)
    table = values.get(section, {}) if section else values
    if isinstance(table, dict) and key in table:
        return str(_config_file_path(config_path, environ))
    return None


def _config_file_path(config_path: Path | str | None, environ: Mapping[str, str]) -> Path:
    return Path(config_path or environ.get(CONFIG_ENV) or DEFAULT_CONFIG_FILE)


def _read_config_file(config_path: Path | str | None, environ: Mapping[str, str]) -> dict:
    explicit = config_path is not None or bool(environ.get(CONFIG_ENV))
    path = _config_file_path(config_path, environ)
    if not path.is_file():
        if explicit:
            raise ConfigError(f"config file not found: {path}")
        return {}
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"config file {path} is not valid TOML: {error}") from None
    except OSError as error:
        raise ConfigError(f"config file {path} cannot be read: {error.strerror}") from None


def _load_section(
    section: str,
    section_type: type,
    values: dict[str, Any],
    environ: Mapping[str, str],
    used_env: set[str],
) -> Any:
    names = {section_field.name for section_field in dataclasses.fields(section_type)}
    loaded = _load_fields(section, section_type, names, values, environ, used_env)
    if values:
        raise ConfigError(_unknown_message(next(iter(values)), section, section_type))
    return section_type(**loaded)


def _load_fields(
    section: str | None,
    owner: type,
    names: set[str],
    values: dict[str, Any],
    environ: Mapping[str, str],
    used_env: set[str],
) -> dict[str, Any]:
    """Take each named field from the environment first, then the file; pop what is used."""
    hints = typing.get_type_hints(owner)
    loaded: dict[str, Any] = {}
    for owner_field in dataclasses.fields(owner):
        name = owner_field.name
        if name not in names:
            continue
        dotted = f"{section}.{name}" if section else name
        variable = env_name(section, name)
        secret = owner_field.metadata.get("secret", False)
        if name in values:
            if secret:
                raise ConfigError(
                    f"setting {dotted} is a secret: set {variable} in the environment, "
                    "never in the config file"
                )
            loaded[name] = _convert(values.pop(name), hints[name], dotted, variable, False)
        if variable in environ:
            used_env.add(variable)
            loaded[name] = _convert(environ[variable], hints[name], dotted, variable, True)
    return loaded


def _convert(value: Any, hint: Any, dotted: str, variable: str, from_env: bool) -> Any:
    """Turn a TOML value or an environment string into the field's type."""
    where = f"setting {dotted} ({variable})"
    origin = typing.get_origin(hint)
    arguments = typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):  # `X | None`: an empty value means None
        if value is None or (from_env and value.strip() == ""):
            return None
        inner = next(argument for argument in arguments if argument is not type(None))
        return _convert(value, inner, dotted, variable, from_env)
    if hint is Secret:
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where} must not be empty")
        return Secret(value)
    if origin is Literal:
        if value not in arguments:
            choices = ", ".join(str(argument) for argument in arguments)
            raise ConfigError(f"{where} must be one of {choices}, not {value!r}")
        return value
    if hint is bool:
        if isinstance(value, bool):
            return value
        if from_env and value.strip().lower() in ("1", "true", "yes", "on"):
            return True
        if from_env and value.strip().lower() in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"{where} must be true or false, not {value!r}")
    if hint is int or hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            if hint is float or isinstance(value, int):
                return hint(value)
        elif from_env:
            try:
                return hint(value.strip())
            except ValueError:
                pass
        words = "a whole number" if hint is int else "a number"
        raise ConfigError(f"{where} must be {words}, not {value!r}")
    if hint is Path:
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where} must be a path")
        return Path(value)
    if origin is tuple and arguments and arguments[0] is MaintainerSettings:
        return _maintainers(value, where, from_env)
    if origin is tuple:
        items = [item.strip() for item in value.split(",")] if from_env else value
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise ConfigError(f"{where} must be a list of strings")
        return tuple(item for item in items if item)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, not {value!r}")
        return value
    raise TypeError(f"no conversion for {hint!r}")  # pragma: no cover - a programming error


def _maintainers(value: Any, where: str, from_env: bool) -> tuple[MaintainerSettings, ...]:
    """Read `[[mail.maintainers]]`: tables, or plain addresses as before (the environment
    gives a comma-separated list of addresses, or a JSON array of either)."""
    if from_env and value.lstrip().startswith("["):
        # A maintainer's locale, programs and frequency fit in no comma list: the
        # environment (sandbox.env) says them as JSON, tables as in the file.
        try:
            items = json.loads(value)
        except ValueError as error:
            raise ConfigError(f"{where} is not a valid JSON array: {error}") from None
    elif from_env:
        items = [item.strip() for item in value.split(",") if item.strip()]
    else:
        items = value
    if not isinstance(items, list):
        raise ConfigError(f"{where} must be a list of addresses or [[mail.maintainers]] tables")
    entries = []
    for index, item in enumerate(items):
        if isinstance(item, str):
            entries.append(MaintainerSettings(address=item.strip()))
            continue
        if not isinstance(item, dict):
            raise ConfigError(f"{where} entry {index + 1} must be an address or a table")
        dotted = f"mail.maintainers[{index + 1}]"
        values = dict(item)
        names = {entry.name for entry in dataclasses.fields(MaintainerSettings)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ConfigError(_unknown_message(unknown[0], dotted, MaintainerSettings))
        hints = typing.get_type_hints(MaintainerSettings)
        loaded = {
            name: _convert(values[name], hints[name], f"{dotted}.{name}", "config file", False)
            for name in names & set(values)
        }
        entries.append(MaintainerSettings(**loaded))
    return tuple(entries)


def _unknown_message(key: str, section: str | None, owner: type) -> str:
    names = [owner_field.name for owner_field in dataclasses.fields(owner)]
    dotted = f"{section}.{key}" if section else key
    close = difflib.get_close_matches(key, names, n=1)
    hint = f" (did you mean {section + '.' if section else ''}{close[0]}?)" if close else ""
    return f"unknown setting {dotted} in the config file{hint}"


_REPOSITORY = re.compile(r"[A-Za-z0-9-]+/[A-Za-z0-9._-]+")
_LOCALE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")


def _validate(settings: Settings) -> None:
    """Check values whose type is right but whose content is not."""

    def fail(dotted: str, message: str) -> typing.NoReturn:
        section, _, key = dotted.rpartition(".")
        raise ConfigError(f"setting {dotted} ({env_name(section or None, key)}) {message}")

    if not settings.database.url.startswith(("sqlite", "postgresql")):
        fail("database.url", "must be a sqlite:/// or postgresql:// URL")
    for dotted, locale in (
        ("locale", settings.locale),
        ("content.default_locale", settings.content.default_locale),
        *(("content.locales", locale) for locale in settings.content.locales),
    ):
        if not _LOCALE.fullmatch(locale):
            fail(dotted, f"has a malformed locale {locale!r} (use e.g. en, es, zh-TW)")
    if settings.github.repository and not _REPOSITORY.fullmatch(settings.github.repository):
        fail("github.repository", "must look like owner/name")
    for dotted, url in (
        ("github.base_url", settings.github.base_url),
        ("discord.api_base_url", settings.discord.api_base_url),
        ("discord.web_url", settings.discord.web_url),
        ("web.public_url", settings.web.public_url),
    ):
        if not url.startswith(("http://", "https://")):
            fail(dotted, "must be an http:// or https:// URL")
    if not settings.discord.gateway_url.startswith(("ws://", "wss://")):
        fail("discord.gateway_url", "must be a ws:// or wss:// URL")
    for dotted, port in (
        ("web.port", settings.web.port),
        ("mail.smtp_port", settings.mail.smtp_port),
    ):
        if not 0 <= port <= 65535:
            fail(dotted, "must be between 0 and 65535")
    for dotted, seconds in (
        ("github.seconds_between_requests", settings.github.seconds_between_requests),
        ("github.seconds_between_writes", settings.github.seconds_between_writes),
        ("jobs.budget_wait_seconds", settings.jobs.budget_wait_seconds),
    ):
        if seconds < 0:
            fail(dotted, "must not be negative")
    for dotted, count in (
        ("github.writes_per_minute", settings.github.writes_per_minute),
        ("github.writes_per_hour", settings.github.writes_per_hour),
        ("discord.requests_per_second", settings.discord.requests_per_second),
        ("web.max_webhook_bytes", settings.web.max_webhook_bytes),
        ("web.max_form_bytes", settings.web.max_form_bytes),
        ("suggestions.max_find_chars", settings.suggestions.max_find_chars),
        ("suggestions.max_replace_chars", settings.suggestions.max_replace_chars),
        ("suggestions.max_reason_chars", settings.suggestions.max_reason_chars),
        ("suggestions.max_name_chars", settings.suggestions.max_name_chars),
        ("questions.catch_up_messages", settings.questions.catch_up_messages),
    ):
        if count < 1:
            fail(dotted, "must be 1 or more")
    for dotted, count in (
        ("web.per_ip_per_hour", settings.web.per_ip_per_hour),
        ("web.embed_cache_seconds", settings.web.embed_cache_seconds),
        ("suggestions.per_person_per_hour", settings.suggestions.per_person_per_hour),
    ):
        if count < 0:
            fail(dotted, "must be 0 (no limit) or more")
    for origin in settings.web.embed_origins:
        if origin != "*" and not re.fullmatch(r"https?://[^/\s]+", origin):
            fail(
                "web.embed_origins",
                f'must hold "*" or origins like https://site.example, not {origin!r}',
            )
    if settings.questions.catch_up_days < 0:
        fail("questions.catch_up_days", "must be 0 (no catch-up) or more")
    if settings.suggestions.moderation not in ("suspicious", "unknown", "none"):
        fail("suggestions.moderation", "must be suspicious, unknown or none")
    try:
        parse_target(settings.questions.first_reply_target)
    except ValueError as error:
        fail("questions.first_reply_target", str(error))
    _validate_nudges(settings.questions, fail)
    for entry in settings.suggestions.reviewers:
        program, colon, login = entry.partition(":")
        if not colon or not program.strip() or not _LOGIN.fullmatch(login.strip()):
            fail("suggestions.reviewers", f"has {entry!r}: use program:login or *:login")
    placeholders = {
        name
        for _, name, _, _ in string.Formatter().parse(settings.site.lesson_url_template)
        if name
    }
    if not placeholders <= {"program", "slug", "locale"}:
        unknown = ", ".join(sorted(placeholders - {"program", "slug", "locale"}))
        fail(
            "site.lesson_url_template", f"may use {{program}}, {{slug}}, {{locale}}, not {unknown}"
        )
    for maintainer in settings.mail.maintainers:
        address = maintainer.address
        if "@" not in address.strip("@") or any(c.isspace() or c in "<>,;" for c in address):
            fail("mail.maintainers", f"has {address!r}, which is not an email address")
        for locale in (maintainer.locale, *maintainer.locales):
            if locale and not _LOCALE.fullmatch(locale):
                fail("mail.maintainers", f"has a malformed locale {locale!r} for {address!r}")
    for dotted, count in (
        ("digest.misfire_grace_seconds", settings.digest.misfire_grace_seconds),
        ("digest.suggestion_wait_days", settings.digest.suggestion_wait_days),
        ("digest.min_interval_seconds", settings.digest.min_interval_seconds),
    ):
        if count < 0:
            fail(dotted, "must not be negative")
    try:
        zoneinfo.ZoneInfo(settings.digest.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        fail("digest.timezone", f"is not a known time zone: {settings.digest.timezone!r}")
    # Read as crontab reads it (Sunday is 0 or 7, Monday 1), as the scheduler will.
    try:
        parse_cron(settings.digest.schedule)
    except ValueError as error:
        fail("digest.schedule", f"is not a valid cron line ({error}); e.g. '0 9 * * 1'")
    _validate_retention(settings.retention, fail)
    _validate_shards(settings.discord, fail)
    try:
        parse_roles(settings.run.roles)
    except UnknownRoleError as error:
        fail("run.roles", f"is wrong: {error}")


def _validate_shards(
    discord: DiscordSettings, fail: typing.Callable[[str, str], typing.NoReturn]
) -> None:
    """Check the shard settings: a count of 1 or more, ids that exist under it."""
    count = discord.shard_count
    if count is not None and count < 1:
        fail("discord.shard_count", "must be 1 or more")
    if not discord.shard_ids.strip():
        return
    if count is None:
        fail("discord.shard_ids", "needs discord.shard_count: how many shards there are in all")
    try:
        ids = parse_shard_ids(discord.shard_ids)
    except ValueError as error:
        fail("discord.shard_ids", f"is wrong: {error}; use e.g. 0-3 or 0,1")
    beyond = [shard for shard in ids if shard >= count]
    if beyond:
        fail(
            "discord.shard_ids",
            f"names shard {beyond[0]}, but with discord.shard_count {count} the ids are "
            f"0 to {count - 1}",
        )


def _validate_nudges(
    questions: QuestionsSettings, fail: typing.Callable[[str, str], typing.NoReturn]
) -> None:
    """Check the nudge settings: durations, quiet hours, zone, cap, role id, schedule."""
    for name in ("nudge_after", "ask_resolved_after"):
        try:
            parse_duration(getattr(questions, name))
        except ValueError as error:
            fail(f"questions.{name}", f"is wrong: {error}")
    try:
        QuietHours.parse(questions.quiet_hours)
    except ValueError as error:
        fail("questions.quiet_hours", f"is wrong: {error} (or empty for none)")
    try:
        zoneinfo.ZoneInfo(questions.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        fail("questions.timezone", f"is not a known time zone: {questions.timezone!r}")
    if questions.nudges_per_post_per_day < 0:
        fail("questions.nudges_per_post_per_day", "must be 0 (no nudges) or more")
    if questions.helper_role_id.strip() and not questions.helper_role_id.strip().isdigit():
        fail("questions.helper_role_id", "must be a Discord role id (digits) or empty")
    try:
        parse_cron(questions.nudge_schedule)
    except ValueError as error:
        fail("questions.nudge_schedule", f"is not a valid cron line ({error}); e.g. '*/10 * * * *'")


# GitHub lets a delivery be redelivered for this many days; dedupe must outlast it.
GITHUB_REDELIVERY_DAYS = 3


def _validate_retention(
    retention: RetentionSettings, fail: typing.Callable[[str, str], typing.NoReturn]
) -> None:
    """Check the retention section: days not negative, dedupe longer than redelivery."""
    for name in (
        "done_jobs_days",
        "failed_jobs_days",
        "webhook_deliveries_days",
        "suggestion_events_days",
        "questions_days",
        "digest_runs_days",
    ):
        if getattr(retention, name) < 0:
            fail(f"retention.{name}", "must be 0 (keep) or more")
    if 0 < retention.webhook_deliveries_days < GITHUB_REDELIVERY_DAYS:
        fail(
            "retention.webhook_deliveries_days",
            f"must be 0 (keep) or at least {GITHUB_REDELIVERY_DAYS}: GitHub redelivers "
            "deliveries that old, and a redelivery must still be recognised",
        )
    if retention.batch_size < 1:
        fail("retention.batch_size", "must be 1 or more")
    try:
        parse_cron(retention.schedule)
    except ValueError as error:
        fail("retention.schedule", f"is not a valid cron line ({error}); e.g. '30 4 * * *'")
