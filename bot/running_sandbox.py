"""A running `lessonbot sandbox` as other commands see it: its lock, its sandbox.env, and how
to run `lessonbot` again the way it was run.

Kept free of the sandboxes' own imports, as the package's __init__ is: every command that
touches the database looks here first, and must not pay for loading them.
"""

from __future__ import annotations

import fcntl
import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

# Where `lessonbot sandbox` keeps its state unless told otherwise, relative to the folder it
# runs in: the folder other commands look in for a running sandbox.
DEFAULT_STATE_DIR = Path(".lessonbot")
# Held by the running sandbox for as long as it runs.
LOCK_FILE = "sandbox.lock"
ENV_FILE = "sandbox.env"
# sandbox.env names the process that wrote it after this, so a file an earlier run left
# is not taken for the running one's while that one is still starting.
WRITTEN_BY = "# Written by lessonbot sandbox "


@dataclass(frozen=True)
class RunningSandbox:
    """A sandbox holding a state folder's lock, and the settings it wrote for others."""

    state_dir: Path
    # Who holds the lock, as the lock file says it: `process 1234`.
    holder: str
    # The `LESSONBOT_*` variables of its sandbox.env; None while it is starting (the file
    # is missing or was written by an earlier run).
    environ: dict[str, str] | None

    @property
    def env_file(self) -> Path:
        """Return the path of its sandbox.env."""
        return self.state_dir / ENV_FILE


def running_sandbox(state_dir: Path = DEFAULT_STATE_DIR) -> RunningSandbox | None:
    """Return the sandbox running on `state_dir`, or None when none holds its lock."""
    try:
        handle = open(state_dir / LOCK_FILE, encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError:  # no lock file (no sandbox ever ran here) or one this user cannot read
        return None
    with handle:
        try:
            # A shared lock, given back at once: it is only free when no sandbox holds the
            # folder. A sandbox starting in that instant retries rather than fail.
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = handle.read().strip()
        except OSError:
            return None
        else:
            fcntl.flock(handle, fcntl.LOCK_UN)
            return None
    written_by, environ = _read_env_file(state_dir / ENV_FILE)
    current = environ is not None and bool(holder) and written_by == holder
    return RunningSandbox(state_dir, holder, environ if current else None)


def written_by_line() -> str:
    """Return the line sandbox.env opens with, naming the process that writes it."""
    return f"{WRITTEN_BY}process {os.getpid()}."


def _read_env_file(path: Path) -> tuple[str | None, dict[str, str] | None]:
    """Return the writer and the variables of a sandbox.env, as `sh` would read them."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None, None
    writer, values = None, {}
    for line in text.splitlines():
        if line.startswith(WRITTEN_BY):
            writer = line.removeprefix(WRITTEN_BY).rstrip(".")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            words = shlex.split(line)
        except ValueError:  # cut short: not a file this module wrote whole
            return writer, None
        name, equals, value = words[0].partition("=") if len(words) == 1 else ("", "", "")
        if not equals or not name.startswith("LESSONBOT_"):
            return writer, None
        values[name] = value
    return writer, values


def lessonbot_command(*, relative: bool = True) -> str:
    """Return how to run `lessonbot` as this process was run, quoted for `sh`: the
    `lessonbot` script it was started as, else this interpreter with `-m bot`.

    Neither needs the virtualenv on PATH (make runs `.venv/bin/lessonbot` without it); with
    `relative`, a path inside the current folder is shown relative to it, as it reads
    shorter, and works from there.
    """
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if script is not None and script.name == "lessonbot" and os.access(script, os.X_OK):
        return shlex.join([_shown(script, relative)])
    return shlex.join([_shown(Path(sys.executable), relative), "-m", "bot"])


def _shown(path: Path, relative: bool) -> str:
    """Return a path relative to the current folder when inside it (and `relative`), else
    absolute."""
    # abspath, not resolve: a virtualenv's python is a symlink out of the virtualenv.
    absolute, here = Path(os.path.abspath(path)), Path.cwd()
    if not relative or not absolute.is_relative_to(here):
        return str(absolute)
    relative = absolute.relative_to(here)
    # `sh` looks a bare name up on PATH: a file right here needs its `./`.
    return f"./{relative}" if len(relative.parts) == 1 else str(relative)
