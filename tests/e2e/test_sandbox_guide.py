"""`lessonbot sandbox`'s guide: printed last, above no routine log lines; each command in it
works as printed; its links serve; and the digest it sends reaches the maintainers."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.config import ContentSettings, MailSettings, MaintainerSettings, Settings
from bot.i18n import t
from bot.offline import (
    SandboxEnvironment,
    sandbox_environment,
    sandbox_guide,
    sandbox_maintainers,
)
from tests.conftest import PROJECT
from tests.e2e.discord.support import STRING
from tests.e2e.discord.test_suggest_live import MODAL, SUBCOMMAND, modal_fields
from tests.e2e.sandbox_process import (
    COMMAND_TIMEOUT,
    LESSONBOT,
    clean_environment,
    guide,
    run_as_printed,
    sandbox,
)

__all__ = ["sandbox"]  # the fixture, used here by name

LESSON = "data-basics/what-is-data"  # the first of the project's lessons


@pytest.fixture
async def environment(tmp_path: Path) -> AsyncIterator[SandboxEnvironment]:
    """Run the whole offline environment over the project's own lessons."""
    async with sandbox_environment(
        Settings(), content_dir=PROJECT / "lessons", state_dir=tmp_path / "state"
    ) as running:
        yield running


async def test_the_guide_names_suggest_edit_and_a_web_form_that_serves(
    environment: SandboxEnvironment, tmp_path: Path
) -> None:
    guide = sandbox_guide(environment, tmp_path / "state").splitlines()
    public_url = environment.app.settings.web.public_url
    form = f"{public_url}/lessons/data-basics/what-is-data/suggest"

    [suggest] = [line for line in guide if line.startswith("Suggest an edit as a learner")]
    assert f"/suggest edit lesson:{LESSON}" in suggest
    assert guide[guide.index(suggest) + 1] == f"  {form}"
    assert public_url == environment.app.web_url  # the address the bot really listens on

    # The form the guide links to is served for that lesson.
    async with aiohttp.ClientSession() as http, http.get(form) as response:
        page = await response.text()
    assert response.status == 200 and "text/html" in response.content_type
    assert "<form" in page and "What Is Data?" in page

    # The command it names opens the edit modal for that lesson.
    discord, guild = environment.discord, environment.guild
    interaction = await discord.run_command(
        int(guild["id"]),
        int(guild["channels"]["general"]),
        1004,
        "suggest",
        options=[
            {
                "name": "edit",
                "type": SUBCOMMAND,
                "options": [{"name": "lesson", "type": STRING, "value": LESSON}],
            }
        ],
        locale="en-US",
    )
    [modal] = await discord.wait_for_interaction_response(interaction, timeout=30)
    assert modal["type"] == MODAL
    assert list(modal_fields(modal)) == ["find", "replace", "reason"]


# --- the guide as a newcomer sees it, from `lessonbot sandbox` run as `make run` runs it ---

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (DEBUG|INFO|WARNING|ERROR) ")


def test_the_guide_comes_last_and_routine_logs_stay_quiet(sandbox: Any) -> None:
    running = sandbox()
    screen = running.until_ready()
    later = running.printed_within(3.0)

    shown = guide(screen)
    assert shown[-2].startswith("A restart resumes this world"), "\n".join(screen)
    assert later == [], "printed after the guide:\n" + "\n".join(later)
    # Everything before the guide is the start's summary, none of it a routine log line.
    start = screen[: len(screen) - len(shown)]
    assert start[0].startswith("Sandbox world:") and start[-1].startswith("Linked at start.")
    logged = [line for line in screen if LOG_LINE.match(line)]
    assert logged == [], "\n".join(logged)
    running.stop()


def test_verbose_shows_each_webhook(sandbox: Any) -> None:
    running = sandbox("-v")
    screen = running.until_ready()
    assert any(" INFO bot.web.webhooks: " in line for line in screen), "\n".join(screen)
    # The guide is still the last thing printed at start.
    assert screen[-2].startswith("A restart resumes this world"), "\n".join(screen)
    running.stop()


def _commands(shown: list[str]) -> list[str]:
    """Return the guide's command lines with nothing left to fill in, in order."""
    programs = {"curl", "git", str(LESSONBOT)}
    return [
        line.strip()
        for line in shown
        if line.startswith("  ")
        and shlex.split(line)[0] in programs
        and not re.search(r"<\w+>", line)
    ]


def test_every_command_the_guide_prints_runs_as_printed(sandbox: Any, tmp_path: Path) -> None:
    running = sandbox()
    shown = guide(running.until_ready())
    commands = _commands(shown)
    lessonbot = [line for line in commands if line.startswith(str(LESSONBOT))]
    assert [shlex.split(line)[1:] for line in lessonbot] == [
        ["questions", "list"],
        ["suggestions", "list"],
        ["jobs", "list"],
        ["digest", "--now"],
    ]
    assert any(line.startswith("curl") for line in commands)

    # In the project folder, with no setting in the environment, as a second terminal has.
    for line in commands:
        done = run_as_printed(line, running.project)
        assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
        if line in lessonbot:
            assert "Using the sandbox running in .lessonbot" in done.stderr, done.stderr
    assert not (running.state_dir / "lessonbot.db").exists()  # no second database

    # Elsewhere, the shell line the guide gives for that.
    [anywhere] = re.findall(r"`(set -a; \. .+?; set \+a; .+? jobs list)`", "\n".join(shown))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run(
        ["sh", "-c", f"{anywhere} --json"],
        cwd=elsewhere,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert isinstance(json.loads(done.stdout), list)
    assert list(elsewhere.iterdir()) == []
    running.stop()


def test_the_digest_reaches_each_sandbox_maintainer_in_their_language(sandbox: Any) -> None:
    running = sandbox()
    shown = guide(running.until_ready())
    commands = _commands(shown)
    [ask] = [line for line in commands if "/messages -H" in line]
    [digest] = [line for line in commands if line.endswith(" digest --now")]
    [read] = [line for line in commands if line.endswith("/_sandbox/messages'")]
    assert "maintainer-en@sandbox.test (en), maintainer-ar@sandbox.test (ar)" in "\n".join(shown)

    assert run_as_printed(ask, running.project).returncode == 0
    questions = [LESSONBOT, "questions", "list", "--json"]
    deadline = time.monotonic() + COMMAND_TIMEOUT
    while not json.loads(run_as_printed(shlex.join(map(str, questions)), running.project).stdout):
        assert time.monotonic() < deadline, "the question was not recorded"
        time.sleep(0.5)
    done = run_as_printed(digest, running.project)
    assert done.returncode == 0, done.stderr
    assert "3 deliveries queued" in done.stderr  # #digests and two maintainers

    url = shlex.split(read)[-1]
    with urllib.request.urlopen(f"{url}?count=2&timeout=60", timeout=90) as answer:  # noqa: S310 - the local catcher
        caught = json.loads(answer.read())
    by_reader = {mail["to"][0]: mail["subject"] for mail in caught}
    subjects = {
        f"maintainer-{locale}@sandbox.test": t(
            locale,
            "digest.subject",
            questions=t(locale, "digest.open_count", count=1),
            edits=t(locale, "digest.waiting_count", count=0),
        )
        for locale in ("en", "ar")
    }
    assert by_reader == subjects
    running.stop()


def test_the_sandbox_names_maintainers_only_where_the_settings_name_none() -> None:
    named = [(m.address, m.locale) for m in sandbox_maintainers(Settings())]
    assert named == [("maintainer-en@sandbox.test", "en"), ("maintainer-ar@sandbox.test", "ar")]
    # Arabic only when it is served; the default locale's reader always.
    french = Settings(content=ContentSettings(default_locale="fr", locales=("fr", "en")))
    assert [m.address for m in sandbox_maintainers(french)] == ["maintainer-fr@sandbox.test"]
    own = Settings(mail=MailSettings(maintainers=(MaintainerSettings(address="me@x.org"),)))
    assert sandbox_maintainers(own) == own.mail.maintainers
