"""Errors a person can act on: one `lessonbot:` line naming the thing, a status, no traceback.

Each test runs the real command in a subprocess, as a person (or systemd) would.
"""

from __future__ import annotations

import os
import re
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from bot.cli import main
from tests.conftest import FIXTURES

CONTENT = FIXTURES / "content"
A_FILE = CONTENT / "programs" / "demo" / "lessons" / "en" / "arrays.mdx"
LESSONBOT = Path(sys.executable).with_name("lessonbot")
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ [A-Z]+ ")
PASSWORD = "hunter2"  # made up; it must never be printed
UNREACHABLE = f"postgresql://postgres:{PASSWORD}@127.0.0.1:1/test"
# What `run` and `sync` need before they touch the database; nothing is contacted first.
BOT = {"LESSONBOT_DISCORD_TOKEN": "not-used", "LESSONBOT_CONTENT_DIR": str(CONTENT)}
SYNC = {**BOT, "LESSONBOT_GITHUB_REPOSITORY": "lessons/content", "LESSONBOT_GITHUB_TOKEN": "x"}


def lessonbot(
    argv: Sequence[str],
    cwd: Path,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the real command with only the given lessonbot settings in its environment."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LESSONBOT_")}
    environment.update(env or {})
    return subprocess.run(
        [str(LESSONBOT), *argv],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def one_line(done: subprocess.CompletedProcess[str], status: int) -> str:
    """Assert the command failed with `status` and said one thing; return what it said."""
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == status, done.stderr
    said = [line for line in done.stderr.splitlines() if not LOG_LINE.match(line)]
    assert len(said) == 1, done.stderr
    assert said[0].startswith("lessonbot: ")
    return said[0]


# PostgreSQL that does not answer


@pytest.mark.parametrize(
    "argv",
    [
        ["run"],
        ["sync", "--content", str(CONTENT)],
        ["sync", "--content", str(CONTENT), "--dry-run"],
        ["db", "upgrade"],
        ["jobs", "list"],
    ],
    ids=["run", "sync", "sync-dry-run", "db-upgrade", "jobs-list"],
)
def test_unreachable_postgresql_is_named_with_its_password_masked(
    argv: list[str], tmp_path: Path
) -> None:
    done = lessonbot(argv, tmp_path, {**SYNC, "LESSONBOT_DATABASE_URL": UNREACHABLE})

    line = one_line(done, 2)
    assert line == (
        "lessonbot: Cannot connect to the database at postgresql://postgres:***@127.0.0.1:1/test"
        " (Connection refused): check that the server is running and that database.url "
        "(LESSONBOT_DATABASE_URL) is right."
    )
    assert PASSWORD not in done.stderr + done.stdout


def test_the_message_speaks_the_configured_locale(tmp_path: Path) -> None:
    env = {"LESSONBOT_DATABASE_URL": UNREACHABLE, "LESSONBOT_LOCALE": "es"}
    line = one_line(lessonbot(["db", "upgrade"], tmp_path, env), 2)
    assert line.startswith("lessonbot: No se puede conectar a la base de datos en ")


# A SQLite file the command may not write


@pytest.fixture
def lock() -> Iterator[Callable[[Path, int], None]]:
    """Yield lock(path, mode): chmod, and as root (whom modes do not stop) chattr +i."""
    locked: list[Path] = []

    def lock_path(path: Path, mode: int) -> None:
        path.chmod(mode)
        if os.geteuid() != 0:
            return
        done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
        if done.returncode != 0:
            pytest.skip(f"running as root, and chattr +i is not available: {done.stderr!r}")
        locked.append(path)

    yield lock_path
    for path in locked:
        subprocess.run(["chattr", "-i", str(path)], check=True)


@pytest.mark.parametrize("argv", [["db", "upgrade"], ["sync"], ["run"]], ids=" ".join)
@pytest.mark.parametrize("locked", ["file", "folder"])
def test_read_only_sqlite_is_named_for_every_command_that_writes(
    argv: list[str], locked: str, tmp_path: Path, lock: Callable[[Path, int], None]
) -> None:
    folder = tmp_path / "state"
    database = folder / "bot.db"
    env = {**SYNC, "LESSONBOT_DATABASE_URL": f"sqlite:///{database}"}
    assert lessonbot(["db", "upgrade"], tmp_path, env).returncode == 0
    assert not Path(f"{database}-wal").exists()  # a clean close leaves the file alone
    if locked == "file":
        lock(database, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    else:
        lock(folder, 0o555)  # SQLite cannot create its journal beside the file
    if argv[0] == "sync":
        argv = [*argv, "--content", str(CONTENT)]

    done = lessonbot(argv, tmp_path, env)

    line = one_line(done, 2)
    assert line == (
        f"lessonbot: Cannot write the database file {database}: make it and its folder "
        "writable, or change database.url (LESSONBOT_DATABASE_URL)."
    )


def test_a_database_folder_that_cannot_be_created_is_named(
    tmp_path: Path, lock: Callable[[Path, int], None]
) -> None:
    (tmp_path / "locked").mkdir()
    lock(tmp_path / "locked", 0o555)
    database = tmp_path / "locked" / "state" / "bot.db"
    env = {"LESSONBOT_DATABASE_URL": f"sqlite:///{database}"}

    done = lessonbot(["db", "upgrade"], tmp_path, env)

    assert f"Cannot write the database file {database}:" in one_line(done, 2)


def test_a_read_only_sandbox_state_folder_is_named(
    tmp_path: Path, lock: Callable[[Path, int], None]
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    lock(state, 0o555)

    done = lessonbot(["sandbox", "--content", str(CONTENT), "--state-dir", str(state)], tmp_path)

    assert one_line(done, 2) == (
        f"lessonbot: Cannot write in the state folder {state}: make it writable or pass "
        "another --state-dir."
    )


# A port something else listens on


@pytest.fixture
def busy_port() -> Iterator[int]:
    """Yield a port on 127.0.0.1 that another socket is listening on."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


@pytest.mark.parametrize(
    "argv",
    [["sandbox", "discord"], ["sandbox", "github", "--content", str(CONTENT)]],
    ids=" ".join,
)
def test_a_busy_sandbox_port_is_named(argv: list[str], busy_port: int, tmp_path: Path) -> None:
    done = lessonbot([*argv, "--port", str(busy_port)], tmp_path)

    assert one_line(done, 2) == (
        f"lessonbot: Port {busy_port} on 127.0.0.1 is in use: stop what uses it or pass "
        "--port (0 picks a free port)."
    )


def test_a_busy_web_port_is_named_for_run(busy_port: int, tmp_path: Path) -> None:
    env = {
        **BOT,
        "LESSONBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "LESSONBOT_WEB_PORT": str(busy_port),
    }

    done = lessonbot(["run"], tmp_path, env)

    assert one_line(done, 2) == (
        f"lessonbot: Port {busy_port} on 127.0.0.1 is in use: stop what uses it or set "
        "web.port (LESSONBOT_WEB_PORT)."
    )


@pytest.mark.parametrize("host", ["192.0.2.1", "no-such-host.invalid"])
def test_a_web_host_that_is_not_this_machine_is_named_for_run(host: str, tmp_path: Path) -> None:
    env = {
        **BOT,
        "LESSONBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "LESSONBOT_WEB_HOST": host,
        "LESSONBOT_WEB_PORT": "0",
    }

    done = lessonbot(["run"], tmp_path, env)

    assert one_line(done, 2) == (
        f"lessonbot: web.host (LESSONBOT_WEB_HOST) is {host}, which is no address of this "
        "machine, so nothing can listen there: set it to 127.0.0.1, 0.0.0.0 or one of its "
        "addresses."
    )


class _Held(socket.socket):
    """A port holder that held nothing: another process won the port anyway."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port

    def getsockname(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)


def test_a_port_taken_while_the_sandbox_starts_is_named_and_cleaned_up(
    busy_port: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import bot.offline.environment as offline

    for name in list(os.environ):
        if name.startswith("LESSONBOT_"):
            monkeypatch.delenv(name)
    # `lessonbot sandbox` picks free ports; this makes another process win the race.
    monkeypatch.setattr(offline, "_reserve_port", lambda _host, _preferred=None: _Held(busy_port))
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))

    state = str(tmp_path / "state")
    status = main(["sandbox", "--content", str(CONTENT), "--state-dir", state])

    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err
    assert err.endswith(
        f"lessonbot: Port {busy_port} on 127.0.0.1 was taken while the sandbox started: "
        "stop what uses it and try again.\n"
    )
    # The GitHub sandbox's repository, made before the port was found busy, is gone.
    assert list(temporary.iterdir()) == []


# Arguments checked before anything starts


@pytest.mark.parametrize("repo", ["not a repo", "lessons", "a/b/c", "-lessons/content"])
def test_sandbox_github_repo_must_be_owner_slash_name(repo: str, tmp_path: Path) -> None:
    done = lessonbot(["sandbox", "github", f"--repo={repo}", "--content", str(CONTENT)], tmp_path)

    assert one_line(done, 2) == (
        f'lessonbot: --repo must be OWNER/NAME, such as lessons/content, not "{repo}".'
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["lessons", "list"],
        ["lessons", "check"],
        ["sync"],
        ["sandbox"],
        ["sandbox", "github"],
    ],
    ids=" ".join,
)
def test_content_naming_a_file_says_it_must_be_a_folder(argv: list[str], tmp_path: Path) -> None:
    done = lessonbot([*argv, "--content", str(A_FILE)], tmp_path, SYNC)

    assert one_line(done, 2) == (
        f"lessonbot: {A_FILE} is a file, not a folder: give --content (or content.dir) the "
        "folder that holds programs/."
    )
