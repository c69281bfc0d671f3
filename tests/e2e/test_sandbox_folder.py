"""A lessonbot command run beside a running sandbox, with no database of its own, uses the
sandbox's database and settings (saying so in one line), refuses in one line while it
cannot, and never makes a second database that nobody serves."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from bot.offline import holding_state_dir
from bot.running_sandbox import written_by_line
from tests.conftest import PROJECT
from tests.e2e.sandbox_process import COMMAND_TIMEOUT, LESSONBOT, clean_environment, sandbox

__all__ = ["sandbox"]  # the fixture, used here by name

SAID = "lessonbot: Using the sandbox running in .lessonbot (process {pid}): its database"


def lessonbot(
    cwd: Path, *argv: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a lessonbot command in `cwd` with no setting in the environment (but `env`)."""
    return subprocess.run(
        [str(LESSONBOT), *argv],
        cwd=cwd,
        env={**clean_environment(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 - the local sandbox
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - local sandbox
        return json.loads(answer.read())


def _thread_of(database: Path, program: str, slug: str) -> int:
    """Return the Discord post the sandbox linked a lesson to, from its database."""
    with sqlite3.connect(database) as connection:
        [(thread,)] = connection.execute(
            "SELECT discord_thread_id FROM lesson_links JOIN lessons"
            " ON lessons.id = lesson_links.lesson_id WHERE program = ? AND slug = ?",
            (program, slug),
        ).fetchall()
    return int(thread)


def _jobs_in(database: Path) -> set[int]:
    with sqlite3.connect(database) as connection:
        # Locks are jobs too, which `jobs list` leaves out.
        query = "SELECT id FROM outbox_jobs WHERE kind != 'lock'"
        return {row[0] for row in connection.execute(query)}


def test_a_command_beside_a_running_sandbox_acts_on_its_database(sandbox: Any) -> None:
    running = sandbox()
    running.until_ready()
    here, pid = running.project, running.process.pid
    discord = running.description()["discord"]
    thread = _thread_of(running.state_dir / "sandbox.db", "demo", "pipes")
    _post(
        f"{discord['url']}/_sandbox/channels/{thread}/messages",
        {"author_id": "1004", "content": "Why are fixtures kept small?"},
    )

    # What the sandbox recorded, seen by a command run in its folder without its env.
    deadline = time.monotonic() + COMMAND_TIMEOUT
    while True:
        listed = lessonbot(here, "questions", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        if questions := json.loads(listed.stdout):
            break
        assert time.monotonic() < deadline, "the question never showed"
        time.sleep(0.5)
    assert [question["text"] for question in questions] == ["Why are fixtures kept small?"]
    [said] = listed.stderr.splitlines()
    assert said.startswith(SAID.format(pid=pid)), said

    # The sandbox's jobs, and only those: the command opened the sandbox's database.
    jobs = lessonbot(here, "jobs", "list", "--all", "--json")
    assert jobs.returncode == 0, jobs.stderr
    listed_jobs = {job["id"] for job in json.loads(jobs.stdout)}
    assert listed_jobs and listed_jobs == _jobs_in(running.state_dir / "sandbox.db")

    # A suggestion queued here is work the running sandbox does: it becomes a pull request.
    suggested = lessonbot(
        here,
        "suggest",
        "--lesson",
        "demo/pipes",
        "--find",
        "Fixtures are small on purpose.",
        "--replace",
        "Fixtures are kept small on purpose.",
        "--reason",
        "Clearer",
        "--json",
    )
    assert suggested.returncode == 0, suggested.stderr
    suggestion = json.loads(suggested.stdout)["id"]
    while True:
        shown = lessonbot(here, "suggestions", "show", str(suggestion), "--json")
        if json.loads(shown.stdout)["status"] == "open":
            break
        assert time.monotonic() < deadline, shown.stdout
        time.sleep(0.5)

    assert sorted(path.name for path in running.state_dir.glob("*.db")) == ["sandbox.db"]
    running.stop()


def test_a_command_with_its_own_database_is_left_alone(sandbox: Any, tmp_path: Path) -> None:
    running = sandbox()
    running.until_ready()
    own = tmp_path / "own.db"
    done = lessonbot(
        running.project,
        "jobs",
        "list",
        "--json",
        env={"LESSONBOT_DATABASE_URL": f"sqlite:///{own}"},
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [] and "sandbox" not in done.stderr
    assert own.exists()
    running.stop()


def python_m_bot(cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m bot` in `cwd` with no setting in the environment."""
    environment = clean_environment()
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(PROJECT), environment.get("PYTHONPATH")])
    )
    return subprocess.run(
        [sys.executable, "-m", "bot", *argv],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )


def test_a_command_beside_a_sandbox_it_cannot_use_refuses_in_one_line(tmp_path: Path) -> None:
    state = tmp_path / ".lessonbot"
    env_file = state / "sandbox.env"
    database = state / "sandbox.db"
    # This test holds the lock, as a sandbox that is starting does.
    with holding_state_dir(state):
        # Not written yet, or left by an earlier run: the sandbox is starting.
        for written in (None, "# Written by lessonbot sandbox process 1.\n"):
            if written is not None:
                env_file.write_text(written + f"LESSONBOT_DATABASE_URL=sqlite:///{database}\n")
            done = python_m_bot(tmp_path, "digest", "--now")
            assert done.returncode == 2, done.stderr
            [line] = done.stderr.splitlines()
            assert line.startswith(
                f"lessonbot: A lessonbot sandbox is starting in .lessonbot (process {os.getpid()})"
            ), line
            assert "LESSONBOT_DATABASE_URL" in line
        # Written by the sandbox, but without the database's URL (it holds a password).
        env_file.write_text(f"{written_by_line()}\nLESSONBOT_WEB_PORT=8123\n")
        done = python_m_bot(tmp_path, "jobs", "list")
        assert done.returncode == 2, done.stderr
        [line] = done.stderr.splitlines()
        assert "holds a password" in line and "set LESSONBOT_DATABASE_URL as for" in line, line
        assert not state.joinpath("lessonbot.db").exists() and not database.exists()

        # Written by the sandbox, whole: used.
        env_file.write_text(f"{written_by_line()}\nLESSONBOT_DATABASE_URL=sqlite:///{database}\n")
        done = python_m_bot(tmp_path, "jobs", "list", "--json")
        assert done.returncode == 0, done.stderr
        assert database.exists() and not state.joinpath("lessonbot.db").exists()

    # Once no sandbox holds the folder, its sandbox.env is no longer read.
    done = python_m_bot(tmp_path, "jobs", "list", "--json")
    assert done.returncode == 0 and "sandbox" not in done.stderr, done.stderr
    assert state.joinpath("lessonbot.db").exists()
