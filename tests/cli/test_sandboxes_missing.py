"""`lessonbot sandbox` without the sandboxes installed: one line on how to install them."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from bot.cli import main
from tests.conftest import FIXTURES

INSTALL = "lessonbot: The sandboxes are not installed: run `pip install -e sandboxes`"


@pytest.fixture
def without_sandboxes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Make `import sandboxes` fail as it does where only the bot is installed."""
    for name in list(sys.modules):
        # The whole package: a module of it still loaded would import without them.
        if name.split(".")[:2] == ["bot", "offline"] or name.split(".")[0] == "sandboxes":
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "sandboxes", None)
    for name in list(os.environ):
        if name.startswith("LESSONBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.mark.usefixtures("without_sandboxes")
@pytest.mark.parametrize(
    "command",
    [
        ["sandbox", "--content", str(FIXTURES / "content"), "--state-dir", "state"],
        ["sandbox", "discord", "--port", "0", "--rate-limit", "message_create=5/1"],
        ["sandbox", "github", "--port", "0", "--content", str(FIXTURES / "content")],
        ["sandbox", "mail", "--port", "0", "--api-port", "0"],
    ],
    ids=["sandbox", "discord", "github", "mail"],
)
def test_sandbox_commands_say_how_to_install_the_sandboxes(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(command) == 2
    err = capsys.readouterr().err
    assert err.startswith(INSTALL), err
    assert "make run" in err
    assert err.count("\n") == 1, err
    assert not Path("state").exists()  # nothing started
