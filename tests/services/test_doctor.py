"""The doctor's checks over stand-in probes, and Discord's permission rules they apply."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import pytest

from bot.config import (
    DiscordSettings,
    GitHubSettings,
    MailSettings,
    QuestionsSettings,
    Secret,
    Settings,
)
from bot.domain.doctor import (
    FORUM_NEEDS,
    PERMISSIONS,
    CheckResult,
    Overwrite,
    Status,
    channel_permissions,
    exit_status,
    guild_permissions,
    missing_permissions,
)
from bot.services.doctor import Doctor
from bot.services.ports import (
    ChannelView,
    GuildView,
    HookDeliveries,
    ProbeError,
    RepositoryAccess,
)
from bot.store.readonly import DatabaseMissingError, DatabaseState

GUILD, BOT, ROLE, FORUM_ID, DIGEST_ID = 10, 20, 30, 40, 50
BOT_ROLE = sum(PERMISSIONS[name] for name in (*FORUM_NEEDS, "MANAGE_CHANNELS"))


class Discord:
    """A Discord probe answering from fields a test sets."""

    def __init__(self) -> None:
        self.error: ProbeError | None = None
        self.granted = frozenset({"MESSAGE_CONTENT"})
        self.overwrites: tuple[tuple[int, int, int, int], ...] = ()
        self.roles: Mapping[int, int] = {GUILD: 0, ROLE: BOT_ROLE}
        self.owner = 1

    async def bot_name(self) -> str:
        if self.error is not None:
            raise self.error
        return "lessonbot"

    async def privileged_intents(self) -> tuple[frozenset[str], frozenset[str]]:
        return frozenset({"MESSAGE_CONTENT"}), self.granted

    async def guild(self, guild_id: int) -> GuildView:
        if guild_id != GUILD:
            raise ProbeError("not_found", "404 Unknown Guild")
        return GuildView(
            id=GUILD,
            name="school",
            owner_id=self.owner,
            bot_user_id=BOT,
            role_permissions=self.roles,
            bot_role_ids=(ROLE,),
            channels=(
                ChannelView(FORUM_ID, "python", 15, self.overwrites),
                ChannelView(DIGEST_ID, "digests", 0),
            ),
        )


class GitHub:
    """A GitHub probe answering from fields a test sets."""

    def __init__(self) -> None:
        self.flags = {"admin": True, "push": True, "pull": True}
        self.error: ProbeError | None = None
        self.deliveries_seen: HookDeliveries | None = HookDeliveries(1, ((200, "push"),))
        self.urls: list[str] = []

    async def repository(self) -> RepositoryAccess:
        if self.error is not None:
            raise self.error
        return RepositoryAccess("org/lessons", "main", self.flags)

    async def deliveries(self, url: str) -> HookDeliveries | None:
        self.urls.append(url)
        return self.deliveries_seen


class Mail:
    """An SMTP probe that fails when told to."""

    def __init__(self) -> None:
        self.error: ProbeError | None = None

    async def check(self) -> None:
        if self.error is not None:
            raise self.error


def _settings(**discord: object) -> Settings:
    return Settings(
        discord=DiscordSettings(
            token=Secret("t"),
            **{"guild_id": GUILD, "digest_channel_id": DIGEST_ID, **discord},  # type: ignore[arg-type]
        ),
        github=GitHubSettings(repository="org/lessons", token=Secret("g")),
        mail=MailSettings(smtp_host="mail.example", smtp_port=587),
    )


def _migrated(_url: str) -> DatabaseState:
    return DatabaseState("0011", "0011", {"python": FORUM_ID})


async def _run(
    settings: Settings | None = None,
    *,
    discord: Discord | None = None,
    github: GitHub | None = None,
    mail: Mail | None = None,
    inspect: object = _migrated,
) -> dict[str, CheckResult]:
    doctor = Doctor(
        settings or _settings(),
        discord=discord or Discord(),
        github=github or GitHub(),
        mail=mail or Mail(),
        inspect=inspect,  # type: ignore[arg-type]
    )
    results = await doctor.run()
    return {f"{result.check} {result.subject}".strip(): result for result in results}


def _failures(results: Mapping[str, CheckResult]) -> dict[str, str]:
    return {name: r.code for name, r in results.items() if r.status is Status.FAIL}


async def test_everything_right_is_all_ok() -> None:
    results = await _run()

    assert {result.status for result in results.values()} == {Status.OK}
    assert list(results) == [
        "database sqlite:///.lessonbot/lessonbot.db",
        "discord.token",
        "discord.intents",
        "discord.guild school",
        "discord.forum #python (python)",
        "discord.digest_channel #digests",
        "github.repository org/lessons",
        "github.permissions org/lessons",
        "github.webhook http://127.0.0.1:8080/webhooks/github",
        "mail mail.example:587",
    ]
    assert exit_status(results.values()) == 0


@pytest.mark.parametrize(
    ("state", "code"),
    [
        (DatabaseState(None, "0011"), "empty"),
        (DatabaseState("0009", "0011"), "behind"),
    ],
)
async def test_a_database_not_at_head_fails_and_leaves_the_forums_unchecked(
    state: DatabaseState, code: str
) -> None:
    results = await _run(inspect=lambda _url: state)

    assert _failures(results) == {"database sqlite:///.lessonbot/lessonbot.db": code}
    assert results["discord.forums"].status is Status.WARN


async def test_a_missing_or_unreachable_database_fails() -> None:
    def missing(_url: str) -> DatabaseState:
        raise DatabaseMissingError("/srv/bot.db")

    def unreachable(_url: str) -> DatabaseState:
        raise ConnectionRefusedError("Connection refused")

    missing_results = await _run(inspect=missing)
    unreachable_results = await _run(inspect=unreachable)

    database = "database sqlite:///.lessonbot/lessonbot.db"
    assert missing_results[database].code == "missing"
    assert missing_results[database].params == {"path": "/srv/bot.db"}
    assert unreachable_results[database].code == "unreachable"
    assert unreachable_results[database].params == {"reason": "Connection refused"}


async def test_a_refused_token_is_one_failure_and_skips_the_other_discord_checks() -> None:
    discord = Discord()
    discord.error = ProbeError("unauthorized", "401: Unauthorized")

    results = await _run(discord=discord)

    assert _failures(results) == {"discord.token": "unauthorized"}
    assert not any(name.startswith(("discord.guild", "discord.forum")) for name in results)
    assert results["discord.token"].key == "doctor.discord.token.unauthorized"


async def test_an_unreachable_discord_uses_the_shared_sentence() -> None:
    discord = Discord()
    discord.error = ProbeError("unreachable", "ClientConnectorError: refused")

    results = await _run(discord=discord)

    assert results["discord.token"].key == "doctor.probe.unreachable"


async def test_a_missing_intent_fails() -> None:
    discord = Discord()
    discord.granted = frozenset({"GUILD_MEMBERS"})

    results = await _run(discord=discord)

    assert _failures(results) == {"discord.intents": "missing"}
    assert results["discord.intents"].params == {"intents": "MESSAGE_CONTENT"}


async def test_an_unknown_guild_fails_and_an_unset_one_says_which_variable() -> None:
    unknown = await _run(_settings(guild_id=99))
    unset = await _run(_settings(guild_id=None))

    assert _failures(unknown) == {"discord.guild 99": "not_found"}
    assert unset["discord.guild"].params == {"env": "LESSONBOT_DISCORD_GUILD_ID"}


async def test_a_forum_overwrite_that_hides_it_fails_with_what_is_missing() -> None:
    discord = Discord()
    discord.overwrites = ((ROLE, 0, 0, PERMISSIONS["VIEW_CHANNEL"]),)

    results = await _run(discord=discord)

    result = results["discord.forum #python (python)"]
    assert result.status is Status.FAIL
    assert result.params["permissions"] == ", ".join(FORUM_NEEDS)


async def test_an_owner_or_administrator_bot_needs_no_overwrite() -> None:
    owner, admin = Discord(), Discord()
    owner.owner = BOT
    admin.roles = {GUILD: 0, ROLE: PERMISSIONS["ADMINISTRATOR"]}
    for discord in (owner, admin):
        discord.overwrites = ((ROLE, 0, 0, PERMISSIONS["VIEW_CHANNEL"]),)

        results = await _run(discord=discord)

        assert _failures(results) == {}


async def test_a_forum_gone_from_the_server_fails() -> None:
    results = await _run(inspect=lambda _url: DatabaseState("1", "1", {"python": 777}))

    assert _failures(results) == {"discord.forum python": "not_found"}


async def test_no_forum_yet_is_fine_but_a_bot_that_cannot_make_one_is_warned() -> None:
    discord = Discord()
    discord.roles = {GUILD: 0, ROLE: BOT_ROLE & ~PERMISSIONS["MANAGE_CHANNELS"]}

    results = await _run(discord=discord, inspect=lambda _url: DatabaseState("1", "1"))

    assert results["discord.forums"].code == "none_yet"
    assert results["discord.guild school"].status is Status.WARN
    assert results["discord.guild school"].params == {"permissions": "MANAGE_CHANNELS"}
    assert exit_status(results.values()) == 0


async def test_the_digest_channel_unset_warns_and_a_wrong_one_fails() -> None:
    unset = await _run(_settings(digest_channel_id=None))
    wrong = await _run(_settings(digest_channel_id=FORUM_ID))

    assert unset["discord.digest_channel"].status is Status.WARN
    assert _failures(wrong) == {"discord.digest_channel": "not_found"}


async def test_a_helper_role_is_checked_only_when_set() -> None:
    def with_role(role: str) -> Settings:
        return dataclasses.replace(_settings(), questions=QuestionsSettings(helper_role_id=role))

    assert "discord.helper_role" not in await _run()
    present = (await _run(with_role(str(ROLE))))["discord.helper_role"]
    assert (present.status, present.code) == (Status.OK, "ok")
    missing = (await _run(with_role("999")))["discord.helper_role"]
    assert (missing.status, missing.code) == (Status.WARN, "not_found")
    assert missing.params == {"id": "999", "env": "LESSONBOT_QUESTIONS_HELPER_ROLE_ID"}


@pytest.mark.parametrize(
    ("flags", "code"),
    [({"pull": True, "push": False}, "no_push"), ({"pull": False}, "no_read")],
)
async def test_a_token_that_cannot_push_or_read_fails(flags: dict[str, bool], code: str) -> None:
    github = GitHub()
    github.flags = flags

    results = await _run(github=github)

    assert _failures(results) == {"github.permissions org/lessons": code}


async def test_a_repository_not_found_is_one_failure() -> None:
    github = GitHub()
    github.error = ProbeError("not_found", "404 Not Found")

    results = await _run(github=github)

    assert _failures(results) == {"github.repository org/lessons": "not_found"}
    assert "github.webhook" not in " ".join(results)


async def test_webhook_findings() -> None:
    hook = "github.webhook https://bot.example/webhooks/github"
    settings = dataclasses.replace(
        _settings(), web=dataclasses.replace(Settings().web, public_url="https://bot.example/")
    )
    cases = {
        None: (Status.WARN, "hidden"),
        HookDeliveries(0): (Status.FAIL, "no_hook"),
        HookDeliveries(1): (Status.WARN, "no_deliveries"),
        HookDeliveries(1, ((0, "push"), (200, "issues"))): (Status.FAIL, "failing"),
        HookDeliveries(2, ((202, "push"), (500, "issues"))): (Status.OK, "ok"),
    }
    for seen, (status, code) in cases.items():
        github = GitHub()
        github.deliveries_seen = seen

        result = (await _run(settings, github=github))[hook]

        assert (result.status, result.code) == (status, code), seen
        assert github.urls == ["https://bot.example/webhooks/github"]


async def test_mail_off_passes_and_a_refused_login_fails() -> None:
    mail = Mail()
    mail.error = ProbeError("login_refused", "535 5.7.8 Authentication credentials invalid")
    off = dataclasses.replace(_settings(), mail=MailSettings(smtp_host=""))

    assert (await _run(off))["mail"].code == "off"
    refused = await _run(mail=mail)
    assert _failures(refused) == {"mail mail.example:587": "login_refused"}


async def test_github_missing_credentials_or_an_incomplete_app_are_said() -> None:
    no_token = dataclasses.replace(_settings(), github=GitHubSettings(repository="org/lessons"))
    app = dataclasses.replace(
        _settings(), github=GitHubSettings(repository="org/lessons", app_id=1, installation_id=2)
    )
    doctor = Doctor(no_token, discord=Discord(), github=None, mail=Mail(), inspect=_migrated)
    app_doctor = Doctor(app, discord=Discord(), github=None, mail=Mail(), inspect=_migrated)

    [missing] = [r for r in await doctor.run() if r.check == "github.repository"]
    [unchecked] = [r for r in await app_doctor.run() if r.check == "github.repository"]

    assert (missing.status, missing.code) == (Status.FAIL, "no_credentials")
    assert (unchecked.status, unchecked.code) == (Status.FAIL, "app_incomplete")
    assert unchecked.params == {"unset": "LESSONBOT_GITHUB_APP_PRIVATE_KEY"}


def test_channel_overwrites_apply_in_discords_order() -> None:
    view, send, manage = (
        PERMISSIONS[n] for n in ("VIEW_CHANNEL", "SEND_MESSAGES", "MANAGE_THREADS")
    )
    base = guild_permissions(GUILD, 1, BOT, [ROLE], {GUILD: view | send, ROLE: manage})
    assert base == view | send | manage
    everyone_denies = [Overwrite(GUILD, 0, 0, manage)]
    role_allows = [*everyone_denies, Overwrite(ROLE, 0, manage, 0)]
    member_denies = [*role_allows, Overwrite(BOT, 1, 0, manage)]

    assert not channel_permissions(base, GUILD, BOT, [ROLE], everyone_denies) & manage
    assert channel_permissions(base, GUILD, BOT, [ROLE], role_allows) & manage
    assert not channel_permissions(base, GUILD, BOT, [ROLE], member_denies) & manage


def test_no_view_means_nothing_and_no_send_means_no_embeds() -> None:
    view, send, embed = (PERMISSIONS[n] for n in ("VIEW_CHANNEL", "SEND_MESSAGES", "EMBED_LINKS"))
    base = view | send | embed

    hidden = channel_permissions(base, GUILD, BOT, [], [Overwrite(GUILD, 0, 0, view)])
    muted = channel_permissions(base, GUILD, BOT, [], [Overwrite(GUILD, 0, 0, send)])

    assert hidden == 0
    assert missing_permissions(muted, ["VIEW_CHANNEL", "SEND_MESSAGES", "EMBED_LINKS"]) == [
        "SEND_MESSAGES",
        "EMBED_LINKS",
    ]
