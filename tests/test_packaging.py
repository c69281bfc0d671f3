"""What each distribution declares: the bot's wheel leaves the sandboxes out, the sandboxes
declare what they import, and the content workflow installs just what `lessons check` needs."""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml
from setuptools import find_packages

from tests.conftest import PROJECT

SANDBOXES = PROJECT / "sandboxes"
LESSONS_WORKFLOW = PROJECT / ".github" / "workflows" / "lessons.yml"
# The stacks a content check must not need: Discord, GitHub (PyGithub) and PostgreSQL.
HEAVY = ("discord", "github", "psycopg")


def _pyproject(folder: Path) -> dict:
    return tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))


def _distribution(requirement: str) -> str:
    """Return a requirement's distribution name, normalized: `PyJWT[crypto]>=2` -> pyjwt."""
    name = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert name, requirement
    return re.sub(r"[-_.]+", "-", name.group()).lower()


def _import_names(distributions: set[str]) -> set[str]:
    """Return the top-level modules the installed `distributions` provide."""
    return {
        module
        for module, owners in importlib.metadata.packages_distributions().items()
        if any(_distribution(owner) in distributions for owner in owners)
    }


def test_the_bot_wheel_has_neither_the_sandboxes_nor_aiosmtpd() -> None:
    project = _pyproject(PROJECT)
    dependencies = {_distribution(r) for r in project["project"]["dependencies"]}
    assert "aiosmtpd" not in dependencies
    assert "lessonbot-sandboxes" not in dependencies
    found = project["tool"]["setuptools"]["packages"]["find"]
    packages = find_packages(str(PROJECT), include=found["include"])
    assert "bot" in packages and "bot.web" in packages
    assert [name for name in packages if not name.startswith("bot")] == []
    assert not (PROJECT / "bot" / "sandbox").exists()


def test_the_sandboxes_declare_every_third_party_import_and_nothing_of_the_bot() -> None:
    source = SANDBOXES / "src" / "sandboxes"
    imported: set[str] = set()
    for path in source.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    assert "bot" not in imported
    third_party = imported - set(sys.stdlib_module_names) - {"sandboxes"}
    declared = {_distribution(r) for r in _pyproject(SANDBOXES)["project"]["dependencies"]}
    assert third_party and third_party <= _import_names(declared), third_party
    found = _pyproject(SANDBOXES)["tool"]["setuptools"]["packages"]["find"]
    packages = find_packages(str(SANDBOXES / found["where"][0]), include=found["include"])
    assert {"sandboxes", "sandboxes.discord", "sandboxes.github"} <= set(packages)


def _lessons_extra() -> list[str]:
    return _pyproject(PROJECT)["project"]["optional-dependencies"]["lessons"]


def test_the_content_workflow_installs_the_lessons_extra() -> None:
    workflow = yaml.safe_load(LESSONS_WORKFLOW.read_text(encoding="utf-8"))
    runs = [step["run"] for step in workflow["jobs"]["check"]["steps"] if "run" in step]
    assert "python -m pip install --no-deps ." in runs
    [extra] = [run for run in runs if run.startswith('python -m pip install "')]
    assert re.findall(r'"([^"]+)"', extra) == _lessons_extra()
    # The same pins as the bot's own dependencies, so the check runs what the bot runs.
    assert set(_lessons_extra()) <= set(_pyproject(PROJECT)["project"]["dependencies"])


def test_lessons_check_runs_without_the_discord_github_and_database_stacks() -> None:
    """Run `lessons check` where every bot dependency outside the extra fails to import."""
    project = _pyproject(PROJECT)["project"]
    extra = {_distribution(r) for r in _lessons_extra()}
    left_out = {_distribution(r) for r in project["dependencies"]} - extra
    blocked = sorted(_import_names(left_out) - _import_names(extra) | set(HEAVY))
    shim = (
        "import sys\n"
        f"for name in {blocked!r}:\n"
        "    sys.modules[name] = None\n"
        "from bot.cli import main\n"
        "sys.exit(main(['lessons', 'check', '--content', sys.argv[1]]))\n"
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LESSONBOT_")}
    done = subprocess.run(
        [sys.executable, "-c", shim, str(PROJECT / "lessons")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**environment, "PYTHONPATH": str(PROJECT)},
    )
    assert done.returncode == 0, done.stderr
    assert "no problems found" in done.stderr, done.stderr
