"""Read the deployment files in docs/deploy/ as the tools that use them would: the
Dockerfile's instructions, the systemd unit's commands, the compose file, the env file; and
the variables the settings read, to hold those files to."""

from __future__ import annotations

import configparser
import dataclasses
import json
import re
import shlex
import typing
from pathlib import Path
from typing import Any

import yaml

from bot.config import CONFIG_ENV, Settings, env_name
from tests.conftest import PROJECT

DEPLOY = PROJECT / "docs" / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE = DEPLOY / "compose.yaml"
UNIT = DEPLOY / "systemd" / "lessonbot@.service"
ENV_EXAMPLE = DEPLOY / "lessonbot.env.example"
MANIFEST = DEPLOY / "github-app-manifest.json"


def dockerfile_instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """Return (INSTRUCTION, arguments) pairs, continuation lines joined, comments left out."""
    logical: list[str] = []
    pending = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, f"{path} ends inside a continued line"
    pairs = []
    for line in logical:
        instruction, _, arguments = line.strip().partition(" ")
        pairs.append((instruction.upper(), " ".join(arguments.split())))
    return pairs


def dockerfile_values(instruction: str) -> list[str]:
    """Return the arguments of every use of an instruction, in order."""
    return [arguments for name, arguments in dockerfile_instructions() if name == instruction]


def dockerfile_exec_form(instruction: str) -> list[str]:
    """Return the last ENTRYPOINT or CMD, which must be in exec (JSON) form."""
    *_, last = dockerfile_values(instruction)
    words = json.loads(last)
    assert isinstance(words, list) and all(isinstance(w, str) for w in words), last
    return words


def dockerfile_command() -> list[str]:
    """Return what a container of the image runs: ENTRYPOINT, then CMD."""
    return [*dockerfile_exec_form("ENTRYPOINT"), *dockerfile_exec_form("CMD")]


def dockerfile_environment() -> dict[str, str]:
    """Return the image's ENV, as `ENV NAME=value NAME=value` sets it."""
    environment = {}
    for arguments in dockerfile_values("ENV"):
        for assignment in shlex.split(arguments):
            name, equals, value = assignment.partition("=")
            assert equals, f"ENV {arguments}: write NAME=value"
            environment[name] = value
    return environment


def unit(path: Path = UNIT) -> configparser.ConfigParser:
    """Parse a systemd unit: sections of Key=value, keys case-sensitive, none repeated."""
    parser = configparser.ConfigParser(interpolation=None, strict=True, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    return parser


def unit_commands(parsed: configparser.ConfigParser) -> tuple[list[list[str]], list[str]]:
    """Return the unit's ExecStartPre commands and its ExecStart command, each as argv."""
    service = parsed["Service"]
    pre = [shlex.split(line) for line in service.get("ExecStartPre", "").splitlines() if line]
    return pre, shlex.split(service["ExecStart"])


def compose() -> dict[str, Any]:
    """Parse the compose file (YAML anchors and merge keys resolved)."""
    loaded = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def env_file(path: Path = ENV_EXAMPLE) -> dict[str, str]:
    """Return an env file's assignments, a double-quoted value kept across its lines."""
    assignments: dict[str, str] = {}
    lines = iter(path.read_text(encoding="utf-8").splitlines())
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        name, equals, value = line.partition("=")
        assert equals and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name), line
        if value.startswith('"'):
            while len(value) == 1 or not value.endswith('"'):
                value += "\n" + next(lines)
            value = value[1:-1]
        assignments[name] = value
    return assignments


def commented_names(path: Path = ENV_EXAMPLE) -> set[str]:
    """Return the variables an env file shows commented out (`# NAME=`)."""
    return set(re.findall(r"^# ([A-Z][A-Z0-9_]*)=", path.read_text(encoding="utf-8"), re.M))


def setting_variables() -> set[str]:
    """Return every LESSONBOT_ variable that sets something (or names the settings file)."""
    names = {CONFIG_ENV}
    hints = typing.get_type_hints(Settings)
    for field in dataclasses.fields(Settings):
        if dataclasses.is_dataclass(hints[field.name]):
            names |= {env_name(field.name, f.name) for f in dataclasses.fields(hints[field.name])}
        else:
            names.add(env_name(None, field.name))
    return names


def secret_variables() -> set[str]:
    """Return the variables of the settings that are secrets (read from the environment only)."""
    hints = typing.get_type_hints(Settings)
    return {
        env_name(field.name, inner.name)
        for field in dataclasses.fields(Settings)
        if dataclasses.is_dataclass(hints[field.name])
        for inner in dataclasses.fields(hints[field.name])
        if inner.metadata.get("secret")
    }
