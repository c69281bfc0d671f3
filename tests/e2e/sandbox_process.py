"""`lessonbot sandbox` as a newcomer runs it: a process in a project folder, its stdout and
stderr on one screen, and lessonbot commands run beside it as a person would."""

from __future__ import annotations

import json
import os
import queue
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES

CONTENT = FIXTURES / "content"
# The console script, as `make run` starts it (`.venv/bin/lessonbot`).
LESSONBOT = Path(sys.executable).with_name("lessonbot")
READY = "The bot is connected. Press Ctrl+C to stop."
START_TIMEOUT = 120.0
COMMAND_TIMEOUT = 120.0


def clean_environment() -> dict[str, str]:
    """Return this process's environment without any lessonbot setting, as a new shell has."""
    return {k: v for k, v in os.environ.items() if not k.startswith("LESSONBOT_")}


class SandboxProcess:
    """A running `lessonbot sandbox`, its screen (stdout and stderr merged) read line by line."""

    def __init__(self, project: Path, *options: str, env: dict[str, str] | None = None) -> None:
        self.project = project
        self.process = subprocess.Popen(
            [str(LESSONBOT), "sandbox", "--content", str(CONTENT), *options],
            cwd=project,
            env={**clean_environment(), **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def until_ready(self) -> list[str]:
        """Return every line printed until the sandbox said it is ready; fail if it stopped."""
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                line = self._queue.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                pytest.fail("the sandbox did not get ready:\n" + "\n".join(self.lines))
            if line is None:
                self.process.wait()
                pytest.fail(f"exited {self.process.returncode}:\n" + "\n".join(self.lines))
            self.lines.append(line)
            if line == READY:
                return list(self.lines)

    def printed_within(self, seconds: float) -> list[str]:
        """Return what the sandbox prints in the next `seconds`."""
        deadline, printed = time.monotonic() + seconds, []
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            printed.append(line)
        self.lines += printed
        return printed

    @property
    def state_dir(self) -> Path:
        """Return the sandbox's state folder, the default one in the project folder."""
        return self.project / ".lessonbot"

    def description(self) -> dict[str, Any]:
        """Return what sandbox.json says."""
        return json.loads((self.state_dir / "sandbox.json").read_text())

    def until_idle(self) -> None:
        """Wait until the bot has no job pending or running (what a test queued is done)."""
        command = [str(LESSONBOT), "jobs", "list", "--json"]
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while time.monotonic() < deadline:
            done = subprocess.run(
                command,
                cwd=self.project,
                env=clean_environment(),
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT,
                check=True,
            )
            if all(job["status"] == "failed" for job in json.loads(done.stdout)):
                return
            time.sleep(0.5)
        pytest.fail("the bot's jobs did not finish")

    def stop(self) -> None:
        """Stop it as Ctrl+C's twin, SIGTERM, does, once its work is done; assert it
        stopped cleanly.

        A stop in the middle of a job's write is the job path's own concern: here the
        bot is idle, as a person stopping it after trying the guide finds it.
        """
        self.until_idle()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            status = self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.printed_within(1)
            pytest.fail("still running a minute after SIGTERM:\n" + "\n".join(self.lines))
        rest = self.printed_within(5)
        assert status == 0, "\n".join(self.lines)
        assert not any("Traceback" in line for line in rest), "\n".join(rest)

    def kill(self) -> None:
        """Kill the process if a test left it running."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Any]:
    """Yield start(*options, **env) -> SandboxProcess, run in `tmp_path/project`."""
    started: list[SandboxProcess] = []

    def start(*options: str, **env: str) -> SandboxProcess:
        project = tmp_path / "project"
        project.mkdir(exist_ok=True)
        process = SandboxProcess(project, *options, env=env)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


def guide(screen: Sequence[str]) -> list[str]:
    """Return the guide: the lines from its first one to the ready line."""
    first = next(i for i, line in enumerate(screen) if line.startswith("Act as a learner"))
    return list(screen[first:])


def run_as_printed(
    line: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run one command line of the guide as a person pasting it would (no shell needed)."""
    return subprocess.run(
        shlex.split(line),
        cwd=cwd,
        env=env if env is not None else clean_environment(),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
