"""Settings: file and environment, secrets only from the environment, one-line errors."""

from __future__ import annotations

import dataclasses
import logging
import re
from pathlib import Path

import pytest

from bot.config import ConfigError, Secret, Settings, env_name, load_settings, setting_origin

PROJECT = Path(__file__).parents[1]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "lessonbot.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_file_or_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings.content.dir == Path("lessons")
    assert settings.content.default_locale == "en"
    assert settings.database.url.startswith("sqlite:///")
    assert settings.github.token is None
    assert settings.linking.mode == "eager"
    assert settings.discord.web_url == "https://discord.com"


def test_file_values_and_environment_override(tmp_path: Path) -> None:
    config = _write(
        tmp_path,
        '[content]\ndir = "content"\nlocales = ["en", "ar"]\n[web]\nport = 9000\n'
        '[linking]\nmode = "lazy"\n',
    )
    environ = {"LESSONBOT_WEB_PORT": "9100", "LESSONBOT_CONTENT_LOCALES": "en, es ,fr"}
    settings = load_settings(config, environ)
    assert settings.content.dir == Path("content")
    assert settings.web.port == 9100
    assert settings.content.locales == ("en", "es", "fr")
    assert settings.linking.mode == "lazy"


def test_a_settings_origin_is_its_variable_the_file_or_none(tmp_path: Path) -> None:
    config = _write(tmp_path, '[database]\nurl = "sqlite:///mine.db"\n')
    assert setting_origin("database.url", config, {}) == str(config)
    url = {"LESSONBOT_DATABASE_URL": "postgresql://db/x"}
    assert setting_origin("database.url", config, url) == "LESSONBOT_DATABASE_URL"
    assert setting_origin("web.port", config, url) is None  # left at its default


def test_config_path_from_environment(tmp_path: Path) -> None:
    config = _write(tmp_path, 'locale = "ar"\n')
    assert load_settings(environ={"LESSONBOT_CONFIG": str(config)}).locale == "ar"


def test_secrets_come_from_the_environment_and_never_show(tmp_path: Path) -> None:
    environ = {"LESSONBOT_GITHUB_TOKEN": "ghp_topsecret", "LESSONBOT_MAIL_SMTP_PASSWORD": "pw"}
    settings = load_settings(_write(tmp_path, ""), environ)
    assert isinstance(settings.github.token, Secret)
    assert settings.github.token.reveal() == "ghp_topsecret"
    assert "topsecret" not in repr(settings)
    assert "topsecret" not in str(settings.github)
    assert "pw" not in repr(settings.mail).replace("smtp_password", "")


def test_a_secret_in_the_file_is_refused_without_echoing_it(tmp_path: Path) -> None:
    config = _write(tmp_path, '[discord]\ntoken = "abc.def.ghi"\n')
    with pytest.raises(ConfigError) as raised:
        load_settings(config, {})
    message = str(raised.value)
    assert "discord.token" in message and "LESSONBOT_DISCORD_TOKEN" in message
    assert "abc.def.ghi" not in message


@pytest.mark.parametrize(
    ("text", "environ", "names"),
    [
        ("[web]\nport = 'eighty'\n", {}, "web.port"),
        ("", {"LESSONBOT_WEB_PORT": "eighty"}, "LESSONBOT_WEB_PORT"),
        ("", {"LESSONBOT_WEB_PORT": "70000"}, "web.port"),
        ("[linking]\nmode = 'sometimes'\n", {}, "linking.mode"),
        ("", {"LESSONBOT_LINKING_MIRROR_TO_GITHUB": "maybe"}, "linking.mirror_to_github"),
        ("[database]\nurl = 'mysql://x'\n", {}, "database.url"),
        ("[github]\nrepository = 'no-slash'\n", {}, "github.repository"),
        ("", {"LESSONBOT_DISCORD_WEB_URL": "discord.com"}, "discord.web_url"),
        ("[content]\nlocales = 'en'\n", {}, "content.locales"),
        ("[content]\ndefault_locale = 'English'\n", {}, "content.default_locale"),
        ("[site]\nlesson_url_template = 'https://x/{lesson}'\n", {}, "site.lesson_url_template"),
        ("[mail]\nmaintainers = ['nobody']\n", {}, "mail.maintainers"),
        ("[[mail.maintainers]]\naddress = 'x@y.org'\nfrequency = 'hourly'\n", {}, "frequency"),
        ("[[mail.maintainers]]\naddress = 'x@y.org'\nlocale = 'Arabic'\n", {}, "Arabic"),
        ("[[mail.maintainers]]\nadress = 'x@y.org'\n", {}, "did you mean"),
        ("[mail]\nmaintainers = [3]\n", {}, "mail.maintainers"),
        ("[digest]\nsuggestion_wait_days = -1\n", {}, "digest.suggestion_wait_days"),
        ("[digest]\nschedule = 'every monday'\n", {}, "digest.schedule"),
        ("[digest]\nschedule = '0 25 * * *'\n", {}, "digest.schedule"),
        ("[digest]\ntimezone = 'Mars/Olympus'\n", {}, "digest.timezone"),
        ("[web]\nprot = 80\n", {}, "web.prot"),
        ("[webb]\nport = 80\n", {}, "webb"),
        ("web = 3\n", {}, "web"),
        ("[github]\nseconds_between_writes = -1\n", {}, "github.seconds_between_writes"),
        ("[web]\nmax_webhook_bytes = 0\n", {}, "web.max_webhook_bytes"),
        ("not toml = = 1\n", {}, "lessonbot.toml"),
    ],
)
def test_bad_settings_fail_with_one_line_naming_the_setting(
    tmp_path: Path, text: str, environ: dict[str, str], names: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(_write(tmp_path, text), environ)
    message = str(raised.value)
    assert names in message
    assert "\n" not in message


def test_maintainers_are_tables_or_plain_addresses(tmp_path: Path) -> None:
    config = _write(
        tmp_path,
        '[[mail.maintainers]]\naddress = "ana@example.org"\nlocale = "es"\n'
        'programs = ["python"]\nlocales = ["es", "en"]\nfrequency = "weekly"\n'
        '[[mail.maintainers]]\naddress = "bo@example.org"\n'
        "[digest]\nsend_empty = true\nsuggestion_wait_days = 5\n",
    )
    settings = load_settings(config, {})
    ana, bo = settings.mail.maintainers
    assert (ana.address, ana.locale, ana.programs, ana.locales, ana.frequency) == (
        "ana@example.org",
        "es",
        ("python",),
        ("es", "en"),
        "weekly",
    )
    assert (bo.address, bo.locale, bo.programs, bo.frequency) == ("bo@example.org", "", (), "every")
    assert settings.digest.send_empty is True
    assert settings.digest.suggestion_wait_days == 5
    # The old form, a list of addresses, still works, and so does the environment.
    sunday = load_settings(_write(tmp_path, "[digest]\nschedule = '0 9 * * 7'\n"), {})
    assert sunday.digest.schedule == "0 9 * * 7"  # crontab's other Sunday
    plain = load_settings(_write(tmp_path, "[mail]\nmaintainers = ['a@b.org']\n"), {})
    assert [m.address for m in plain.mail.maintainers] == ["a@b.org"]
    env = load_settings(_write(tmp_path, ""), {"LESSONBOT_MAIL_MAINTAINERS": "a@b.org, c@d.org"})
    assert [m.address for m in env.mail.maintainers] == ["a@b.org", "c@d.org"]


def test_the_environment_names_maintainers_with_their_locale_as_json(tmp_path: Path) -> None:
    tables = '[{"address": "a@b.org", "locale": "ar", "programs": ["python"]}, "c@d.org"]'
    env = load_settings(_write(tmp_path, ""), {"LESSONBOT_MAIL_MAINTAINERS": tables})
    first, second = env.mail.maintainers
    assert (first.address, first.locale, first.programs) == ("a@b.org", "ar", ("python",))
    assert (second.address, second.locale) == ("c@d.org", "")
    for wrong, said in (
        ("[{", "is not a valid JSON array"),
        ('[{"address": "a@b.org", "langue": "ar"}]', "unknown setting"),
        ('[{"address": "a@b.org", "locale": "A R"}]', "malformed locale"),
    ):
        with pytest.raises(ConfigError, match=said):
            load_settings(_write(tmp_path, ""), {"LESSONBOT_MAIL_MAINTAINERS": wrong})


def test_the_catch_up_bounds_come_from_the_environment_and_are_checked(tmp_path: Path) -> None:
    assert (Settings().questions.catch_up_days, Settings().questions.catch_up_messages) == (7, 500)
    env = {"LESSONBOT_QUESTIONS_CATCH_UP_DAYS": "0", "LESSONBOT_QUESTIONS_CATCH_UP_MESSAGES": "100"}
    loaded = load_settings(_write(tmp_path, ""), env).questions
    assert (loaded.catch_up_days, loaded.catch_up_messages) == (0, 100)
    for key, value, said in (
        ("LESSONBOT_QUESTIONS_CATCH_UP_DAYS", "-1", "0 \\(no catch-up\\) or more"),
        ("LESSONBOT_QUESTIONS_CATCH_UP_MESSAGES", "0", "1 or more"),
    ):
        with pytest.raises(ConfigError, match=said):
            load_settings(_write(tmp_path, ""), {key: value})


def test_the_nudge_settings_have_defaults_and_refuse_bad_values_in_one_line(
    tmp_path: Path,
) -> None:
    questions = Settings().questions
    assert (questions.nudge_after, questions.ask_resolved_after) == ("24h", "3d")
    assert (questions.quiet_hours, questions.timezone) == ("22:00-07:00", "UTC")
    assert (questions.nudges_per_post_per_day, questions.helper_role_id) == (2, "")
    text = '[questions]\nnudge_after = "90m"\nquiet_hours = ""\nhelper_role_id = "42"\n'
    loaded = load_settings(_write(tmp_path, text), {}).questions
    assert (loaded.nudge_after, loaded.quiet_hours, loaded.helper_role_id) == ("90m", "", "42")
    for key, value, said in (
        ("NUDGE_AFTER", "tomorrow", "questions.nudge_after .* is wrong: 'tomorrow' is not a dur"),
        ("ASK_RESOLVED_AFTER", "0d", "must be longer than zero"),
        ("QUIET_HOURS", "22-7", "is not a range like 22:00-07:00 \\(or empty for none\\)"),
        ("TIMEZONE", "Mars/Olympus", "is not a known time zone"),
        ("NUDGES_PER_POST_PER_DAY", "-1", "0 \\(no nudges\\) or more"),
        ("HELPER_ROLE_ID", "@helpers", "must be a Discord role id"),
        ("NUDGE_SCHEDULE", "every hour", "is not a valid cron line"),
    ):
        with pytest.raises(ConfigError, match=said) as raised:
            load_settings(_write(tmp_path, ""), {f"LESSONBOT_QUESTIONS_{key}": value})
        assert "\n" not in str(raised.value)


def test_unknown_key_suggests_the_close_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"did you mean web\.port\?"):
        load_settings(_write(tmp_path, "[web]\nprot = 80\n"), {})


def test_missing_explicit_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "absent.toml", {})


def test_unknown_environment_variable_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        load_settings(_write(tmp_path, ""), {"LESSONBOT_WEB_PROT": "1"})
    assert "LESSONBOT_WEB_PROT" in caplog.text


def test_empty_optional_environment_value_means_unset(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, ""), {"LESSONBOT_DISCORD_GUILD_ID": " "})
    assert settings.discord.guild_id is None
    settings = load_settings(_write(tmp_path, ""), {"LESSONBOT_DISCORD_GUILD_ID": "123"})
    assert settings.discord.guild_id == 123


def test_example_config_documents_every_setting_and_loads() -> None:
    example = PROJECT / "lessonbot.example.toml"
    text = example.read_text(encoding="utf-8")
    load_settings(example, {})  # the example itself must be valid
    for top in dataclasses.fields(Settings):
        if top.default_factory is dataclasses.MISSING:
            assert f"\n{top.name} = " in text, f"{top.name} undocumented"
            continue
        assert f"[{top.name}]" in text
        for setting in dataclasses.fields(top.default_factory()):
            if setting.metadata.get("secret"):
                assert env_name(top.name, setting.name) in text, f"{top.name}.{setting.name}"
            else:
                # Optional settings without a default are shown commented out.
                shown = re.search(rf"^(# )?{setting.name} = ", text, re.MULTILINE)
                assert shown, f"{top.name}.{setting.name} undocumented"


def test_shard_settings_name_a_range_of_a_count(tmp_path: Path) -> None:
    empty = _write(tmp_path, "")
    unsharded = load_settings(empty, {})
    assert unsharded.discord.shards is None and unsharded.discord.holds_first_shard
    every = load_settings(empty, {"LESSONBOT_DISCORD_SHARD_COUNT": "3"})
    assert every.discord.shards == (0, 1, 2)
    some = load_settings(_write(tmp_path, '[discord]\nshard_count = 8\nshard_ids = "4-5, 7"\n'), {})
    assert some.discord.shards == (4, 5, 7) and not some.discord.holds_first_shard
    first = load_settings(
        empty, {"LESSONBOT_DISCORD_SHARD_COUNT": "2", "LESSONBOT_DISCORD_SHARD_IDS": "0,1"}
    )
    assert first.discord.shards == (0, 1) and first.discord.holds_first_shard


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"LESSONBOT_DISCORD_SHARD_COUNT": "0"}, "must be 1 or more"),
        ({"LESSONBOT_DISCORD_SHARD_IDS": "0-1"}, "needs discord.shard_count"),
        (
            {"LESSONBOT_DISCORD_SHARD_COUNT": "2", "LESSONBOT_DISCORD_SHARD_IDS": "1-2"},
            "names shard 2, but with discord.shard_count 2 the ids are 0 to 1",
        ),
        (
            {"LESSONBOT_DISCORD_SHARD_COUNT": "4", "LESSONBOT_DISCORD_SHARD_IDS": "3-1"},
            "'3-1' runs backwards",
        ),
        (
            {"LESSONBOT_DISCORD_SHARD_COUNT": "4", "LESSONBOT_DISCORD_SHARD_IDS": "one"},
            "'one' is not a shard id or a range like 0-3",
        ),
    ],
)
def test_wrong_shard_settings_are_refused_with_one_clear_line(
    tmp_path: Path, environ: dict[str, str], expected: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(_write(tmp_path, ""), environ)
    message = str(refused.value)
    assert expected in message and "\n" not in message
    assert "LESSONBOT_DISCORD_SHARD_" in message
