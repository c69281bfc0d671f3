"""`lessonbot run --role`: which roles a process takes, and a clear refusal of bad ones."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import Settings
from bot.i18n import t


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in an empty folder with no lessonbot settings in the environment."""
    for name in list(os.environ):
        if name.startswith("LESSONBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[frozenset[str]]:
    """Record the roles `run` starts the bot with, instead of starting it."""
    calls: list[frozenset[str]] = []

    async def run_bot(settings: Settings, roles: Iterable[str]) -> None:
        calls.append(frozenset(roles))

    monkeypatch.setattr("bot.app.run_bot", run_bot)
    return calls


@pytest.mark.parametrize(
    ("argv", "environment", "roles"),
    [
        ([], {}, {"gateway", "web", "worker", "scheduler"}),
        (["--role", "web", "--role", "worker,scheduler"], {}, {"web", "worker", "scheduler"}),
        ([], {"LESSONBOT_RUN_ROLES": "gateway"}, {"gateway"}),
        # The option wins over the setting.
        (["--role", "worker"], {"LESSONBOT_RUN_ROLES": "web,gateway"}, {"worker"}),
    ],
)
def test_run_takes_its_roles_from_the_option_or_the_setting(
    argv: list[str],
    environment: dict[str, str],
    roles: set[str],
    started: list[frozenset[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert main(["run", *argv]) == 0
    assert started == [roles]


@pytest.mark.parametrize("locale", ["en", "es", "ar"])
def test_an_unknown_role_stops_run_with_one_localized_line(
    locale: str,
    started: list[frozenset[str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("LESSONBOT_LOCALE", locale)
    assert main(["run", "--role", "web", "--role", "wroker"]) == 2
    expected = t(
        locale, "cli.unknown_role", role="wroker", roles="all, gateway, web, worker, scheduler"
    )
    assert capsys.readouterr().err.strip() == f"lessonbot: {expected}"
    assert started == []


def test_a_role_option_naming_no_role_is_refused(
    started: list[frozenset[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--role", " , "]) == 2
    expected = t("en", "cli.no_role", roles="all, gateway, web, worker, scheduler")
    assert capsys.readouterr().err.strip() == f"lessonbot: {expected}"
    assert started == []


def test_an_unknown_role_in_the_settings_names_the_setting(
    started: list[frozenset[str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("LESSONBOT_RUN_ROLES", "web,mailer")
    assert main(["run"]) == 2
    error = capsys.readouterr().err
    assert "run.roles (LESSONBOT_RUN_ROLES)" in error and "'mailer'" in error
    assert started == []
