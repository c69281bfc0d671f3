"""`make run` and `make test-fast` need no browser; only the other test targets install one."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PROJECT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _planned(target: str, tmp_path: Path) -> str:
    """Return what `make -n TARGET` would run on a fresh clone with no Chromium installed.

    `-n` runs nothing but recursive `$(MAKE)` lines, which pass `-n` on, so a recipe that
    calls `$(MAKE) install-browser` shows that target's commands too.
    """
    done = subprocess.run(
        [
            "make",
            "-n",
            "-C",
            str(PROJECT),
            target,
            f"VENV={tmp_path / 'venv'}",
            f"CHROMIUM={tmp_path / 'no-chromium'}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_make_run_neither_installs_nor_asks_for_a_browser(tmp_path: Path) -> None:
    planned = _planned("run", tmp_path)
    assert "pip install" in planned  # a fresh clone: the virtualenv is made first
    assert "lessonbot sandbox" in planned
    assert "install-browser" not in planned
    assert "apt-get" not in planned and "chromium" not in planned.lower()


@pytest.mark.parametrize("target", ["test", "test-fresh"])
def test_the_test_targets_still_install_chromium(target: str, tmp_path: Path) -> None:
    planned = _planned(target, tmp_path)
    assert "apt-get install -y -qq chromium chromium-driver" in planned
    # Only when missing: the Chinese and Arabic fonts the locale screenshots need.
    assert "grep -q 'Noto Sans CJK'" in planned
    assert "apt-get install -y -qq fonts-noto-cjk fonts-noto-core" in planned


@pytest.mark.parametrize("target", ["run", "test"])
def test_make_installs_the_sandboxes_beside_the_bot(target: str, tmp_path: Path) -> None:
    planned = _planned(target, tmp_path)
    assert "pip install --quiet -e '.[test]' -e sandboxes" in planned


def test_the_virtualenv_follows_the_sandboxes_pyproject(tmp_path: Path) -> None:
    stamp = tmp_path / "venv" / "bin" / ".installed"
    stamp.parent.mkdir(parents=True)
    stamp.touch()  # newer than both pyproject files: nothing to install
    assert "pip install" not in _planned("run", tmp_path)
    # `make -W FILE` plans as if FILE had just changed.
    venv = f"VENV={tmp_path / 'venv'}"
    done = subprocess.run(
        ["make", "-n", "-C", str(PROJECT), "-W", "sandboxes/pyproject.toml", "run", venv],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "pip install" in done.stdout


def test_make_test_fast_leaves_out_the_slow_kinds_and_needs_no_browser(tmp_path: Path) -> None:
    planned = _planned("test-fast", tmp_path)
    assert "ruff check" in planned
    assert '-m "not (e2e or browser or live)"' in planned
    assert "install-browser" not in planned
    assert "apt-get" not in planned and "chromium" not in planned.lower()
