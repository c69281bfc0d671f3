"""How the guide spells `lessonbot`, and how commands read a running sandbox's files."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from bot.offline import holding_state_dir
from bot.running_sandbox import lessonbot_command, running_sandbox, written_by_line


def _script(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def test_the_command_is_the_script_this_process_runs_as(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "my project"
    script = _script(project / ".venv" / "bin" / "lessonbot")
    monkeypatch.chdir(project)
    # make runs `.venv/bin/lessonbot`: shown as it is, relative to the project folder.
    monkeypatch.setattr(sys, "argv", [".venv/bin/lessonbot", "sandbox"])
    assert lessonbot_command() == ".venv/bin/lessonbot"
    # For a line that must work from any folder, it is absolute (and quoted for sh).
    assert lessonbot_command(relative=False) == f"'{script}'"
    # Run from elsewhere: the absolute path, quoted for sh.
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    monkeypatch.setattr(sys, "argv", [str(script), "sandbox"])
    assert lessonbot_command() == f"'{script}'"
    # A script right in the folder needs ./ (sh would look a bare name up on PATH).
    monkeypatch.chdir(script.parent)
    assert lessonbot_command() == "./lessonbot"


def test_the_command_is_this_interpreter_with_dash_m_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    # `python -m bot` runs with argv[0] naming bot/__main__.py.
    monkeypatch.setattr(sys, "argv", [str(Path("bot/__main__.py").absolute()), "sandbox"])
    assert lessonbot_command() == f"{os.path.abspath(sys.executable)} -m bot"


def test_no_sandbox_is_running_where_no_lock_is_held(tmp_path: Path) -> None:
    assert running_sandbox(tmp_path / ".lessonbot") is None
    with holding_state_dir(tmp_path / ".lessonbot"):
        pass
    # The lock file is left behind, but nobody holds it.
    assert (tmp_path / ".lessonbot" / "sandbox.lock").exists()
    assert running_sandbox(tmp_path / ".lessonbot") is None


def test_a_running_sandbox_gives_its_env_file_once_it_wrote_it(tmp_path: Path) -> None:
    state = tmp_path / ".lessonbot"
    with holding_state_dir(state):
        found = running_sandbox(state)
        assert found is not None and found.holder == f"process {os.getpid()}"
        assert found.environ is None  # starting: nothing written yet
        (state / "sandbox.env").write_text(
            f"# lessonbot sandbox\n{written_by_line()}\n"
            "LESSONBOT_DATABASE_URL=sqlite:////x/sandbox.db\n"
            'LESSONBOT_MAIL_MAINTAINERS=\'[{"address": "a@b.test", "locale": "ar"}]\'\n'
        )
        found = running_sandbox(state)
        assert found is not None and found.environ == {
            "LESSONBOT_DATABASE_URL": "sqlite:////x/sandbox.db",
            "LESSONBOT_MAIL_MAINTAINERS": '[{"address": "a@b.test", "locale": "ar"}]',
        }
        # A file cut short is no file to act on.
        (state / "sandbox.env").write_text(f"{written_by_line()}\nLESSONBOT_WEB_HOST='127.\n")
        found = running_sandbox(state)
        assert found is not None and found.environ is None
