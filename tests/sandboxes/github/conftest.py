"""Fixtures for the sandbox tests: a sandbox per test, clients, schemas and a receiver."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from github import Auth, Github

from sandboxes.github import GitHubSandbox
from tests.conftest import SHARED

SPECS = SHARED / "specs"
WEBHOOK_SCHEMAS = SPECS / "github-webhooks" / "schemas"
WEBHOOK_EXAMPLES = SPECS / "github-webhooks" / "examples"
LESSON = "programs/demo/lessons/en/pipes.mdx"
LESSON_TEXT = (
    "---\ntitle: Pipes\ndescription: Connect small tools.\n---\n\n"
    "# Pipes\n\nA pipe joins two commands.\n\nKeep each tool small.\n"
)


def write_content(root: Path) -> Path:
    """Write a small lesson repository: nested lessons, a program file and a README."""
    files = {
        "README.md": "# Lessons\n",
        "programs/demo/program.json": '{"title": "Demo"}\n',
        LESSON: LESSON_TEXT,
        "programs/demo/lessons/es/pipes.mdx": "---\ntitle: Tuberías\n---\n\nHola.\n",
    }
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    """Return a fresh content directory."""
    return write_content(tmp_path / "content")


@pytest.fixture
def sandbox(content_dir: Path) -> Iterator[GitHubSandbox]:
    """Run a sandbox in its own thread, for the blocking PyGithub client."""
    handle = GitHubSandbox(content_dir).start_in_thread()
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def gh(sandbox: GitHubSandbox) -> Callable[..., Github]:
    """Return a factory of PyGithub clients acting as a given login, without throttling."""
    clients: list[Github] = []

    def make(login: str = "lessonbot", **options: Any) -> Github:
        options.setdefault("retry", None)
        client = Github(
            base_url=sandbox.base_url,
            auth=Auth.Token(login),
            seconds_between_requests=0,
            seconds_between_writes=0,
            **options,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@dataclass
class Reply:
    """A raw HTTP answer."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """Return the body parsed as JSON."""
        return json.loads(self.body)


def http(
    base_url: str,
    method: str,
    path: str,
    data: Any = None,
    login: str | None = "maintainer",
    headers: dict[str, str] | None = None,
) -> Reply:
    """Send one raw request with urllib and return the answer, whatever the status."""
    body = None if data is None else json.dumps(data).encode()
    request = urllib.request.Request(base_url + path, data=body, method=method)  # noqa: S310
    if login is not None:
        # The sandbox's tokens are logins: the token names the acting user.
        request.add_header("Authorization", f"token {login}")
    if body is not None:
        request.add_header("Content-Type", "application/json")
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return Reply(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, dict(error.headers), error.read())


@pytest.fixture
def raw(sandbox: GitHubSandbox) -> Callable[..., Reply]:
    """Return a raw HTTP helper bound to the sandbox."""

    def send(method: str, path: str, data: Any = None, **options: Any) -> Reply:
        return http(sandbox.base_url, method, path, data, **options)

    return send


@pytest.fixture(scope="session")
def models() -> Any:
    """Import GitHub's official response models once per session (the import is slow)."""
    from githubkit_schemas.latest import models as loaded

    return loaded


def validate(model: Any, body: bytes | str) -> Any:
    """Validate a raw JSON body strictly against a githubkit model; missing fields fail."""
    return model.model_validate_json(body, strict=True)


@dataclass
class Receiver:
    """A webhook endpoint that records what it receives."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """Run a small aiohttp webhook receiver on a free port."""
    state = Receiver()

    async def handle(request: web.Request) -> web.Response:
        state.received.append({"headers": dict(request.headers), "body": await request.read()})
        return web.Response(status=state.status)

    app = web.Application()
    app.router.add_post("/hooks", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.url = f"http://127.0.0.1:{port}/hooks"
    try:
        yield state
    finally:
        await runner.cleanup()


@pytest.fixture(scope="session")
def webhook_validator() -> Callable[[str, str | None, dict[str, Any]], None]:
    """Return a validator of webhook payloads against GitHub's official JSON Schemas."""
    if not WEBHOOK_SCHEMAS.is_dir():
        pytest.skip(
            f"official webhook schemas not present at {WEBHOOK_SCHEMAS} "
            "(a fresh clone has no ../shared/specs)"
        )
    from datetime import datetime
    from urllib.parse import urlsplit

    from jsonschema import Draft7Validator, FormatChecker
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT7

    def load(path: Path) -> dict[str, Any]:
        schema = json.loads(path.read_text())
        if path.relative_to(WEBHOOK_SCHEMAS).as_posix() == "common/label.schema.json":
            # GitHub added label archiving after these schemas were frozen: its current
            # models (webhook_model_validator) require both fields, so allow them here.
            schema["properties"]["archived_at"] = {"type": ["string", "null"]}
            schema["properties"]["archived_by"] = {"type": ["object", "null"]}
        return schema

    resources = [
        (
            path.relative_to(WEBHOOK_SCHEMAS).as_posix(),
            Resource.from_contents(load(path), default_specification=DRAFT7),
        )
        for path in WEBHOOK_SCHEMAS.rglob("*.schema.json")
    ]
    registry = Registry().with_resources(resources)
    # jsonschema checks date-time and uri only with optional packages; check them here.
    checker = FormatChecker()

    @checker.checks("date-time", raises=ValueError)
    def is_date_time(value: object) -> bool:
        return not isinstance(value, str) or (
            "T" in value and datetime.fromisoformat(value.replace("Z", "+00:00")) is not None
        )

    @checker.checks("uri")
    def is_uri(value: object) -> bool:
        return not isinstance(value, str) or bool(urlsplit(value).scheme)

    def check(event: str, action: str | None, payload: dict[str, Any]) -> None:
        name = f"{event}/{action or 'event'}.schema.json"
        schema = json.loads((WEBHOOK_SCHEMAS / name).read_text())
        Draft7Validator(schema, registry=registry, format_checker=checker).validate(payload)

    return check


@pytest.fixture(scope="session")
def webhook_model_validator() -> Callable[[str, str | None, dict[str, Any]], None]:
    """Return a validator of webhook payloads against githubkit's current webhook models."""
    import re

    from githubkit import webhooks
    from githubkit_schemas.latest import models as loaded
    from pydantic import ValidationError

    def camel(name: str) -> str:
        return "".join(part.capitalize() for part in name.split("_"))

    def check(event: str, action: str | None, payload: dict[str, Any]) -> None:
        # What a typed receiver does: parse by event name, the action picks the model.
        parsed = webhooks.parse_obj(event, payload)
        name = f"Webhook{camel(event)}{camel(action or '')}"
        # Some actions have several shapes (a reviewer that is a user or a team).
        candidates = [
            getattr(loaded, found)
            for found in dir(loaded)
            if re.fullmatch(rf"{name}(Oneof\d+)?", found)
        ]
        assert candidates, f"githubkit has no model for {event}/{action}"
        assert type(parsed) in candidates, f"{event}/{action} parsed as {type(parsed).__name__}"
        # Then strictly against that action's model: no coercion, every required field.
        body = json.dumps(payload)
        errors: list[ValidationError] = []
        for model in candidates:
            try:
                model.model_validate_json(body, strict=True)
                return
            except ValidationError as error:
                errors.append(error)
        raise errors[0]

    return check
