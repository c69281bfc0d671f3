"""The API's OpenAPI description: valid 3.1, covering every API route, matching real answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

from bot.config import Settings, SuggestionSettings
from bot.web.app import create_web_app
from bot.web.openapi import OPENAPI, openapi_document
from bot.web.router import WebhookRouter
from tests.web.suggest_support import Sessions, api_body, copy_content, open_door
from tests.web.support import Client

IGNORED_METHODS = {"HEAD", "OPTIONS"}


def check(instance: Any, component: str) -> None:
    """Validate an answer against one of the description's schemas."""
    schema = {"$ref": f"#/components/schemas/{component}", "components": OPENAPI["components"]}
    OAS31Validator(schema).validate(instance)


def test_the_description_is_valid_openapi_3_1() -> None:
    validate(OPENAPI)
    assert OPENAPI["openapi"].startswith("3.1")


async def test_every_api_route_is_described_and_answers_match_it(
    session_factory: Sessions, tmp_path: Path
) -> None:
    door = await open_door(session_factory, copy_content(tmp_path))
    try:
        app = door.client.app
        assert app is not None
        routes = {
            (route.resource.canonical, route.method.lower())
            for route in app.router.routes()
            if route.resource is not None
            and route.resource.canonical.startswith("/api/")
            and route.method not in IGNORED_METHODS
        }
        described = {(path, method) for path, item in OPENAPI["paths"].items() for method in item}
        assert routes == described

        served = await door.client.get("/api/openapi.json")
        assert served.status == 200 and await served.json() == OPENAPI

        created = await door.client.post("/api/suggestions", json=api_body())
        check(await created.json(), "Submitted")
        sent = await created.json()
        shown = await door.client.get(f"/api/suggestions/{sent['id']}")
        check(await shown.json(), "Suggestion")
        refused = await door.client.post("/api/suggestions", json=api_body(find=""))
        check(await refused.json(), "Error")
        withdrawn = await door.client.delete(
            f"/api/suggestions/{sent['id']}", headers={"Authorization": f"Bearer {sent['token']}"}
        )
        check(await withdrawn.json(), "Suggestion")
    finally:
        await door.client.close()


async def test_without_the_suggestion_service_no_suggest_route_is_served(
    session_factory: Sessions,
) -> None:
    app = create_web_app(
        Settings(), session_factory=session_factory, webhook_router=WebhookRouter()
    )
    client: Client = TestClient(TestServer(app))
    await client.start_server()
    try:
        for path in ("/api/openapi.json", "/lessons/demo/pipes/suggest", "/suggestions/1"):
            assert (await client.get(path)).status == 404
        assert (await client.get("/healthz")).status == 200
    finally:
        await client.close()


async def test_the_served_description_states_the_limits_the_server_runs_with(
    session_factory: Sessions, tmp_path: Path
) -> None:
    limits = {
        "max_find_chars": 50,
        "max_replace_chars": 60,
        "max_reason_chars": 70,
        "max_name_chars": 20,
    }
    door = await open_door(session_factory, copy_content(tmp_path), max_form_bytes=4096, **limits)
    try:
        served = await (await door.client.get("/api/openapi.json")).json()
        too_long = await door.client.post("/api/suggestions", json=api_body(find="x" * 51))
    finally:
        await door.client.close()

    expected = openapi_document(SuggestionSettings(per_person_per_hour=0, **limits), 4096)
    assert served == json.loads(json.dumps(expected))
    fields = served["components"]["schemas"]["SuggestionRequest"]["properties"]
    assert [fields[name]["maxLength"] for name in ("find", "replace", "reason")] == [50, 60, 70]
    assert served["components"]["schemas"]["Author"]["properties"]["name"]["maxLength"] == 20
    assert too_long.status == 422


def test_ids_are_whole_numbers_from_1_to_the_largest_the_database_holds() -> None:
    for item in OPENAPI["paths"].values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter["name"] == "id":
                    assert parameter["schema"] == {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": 2**31 - 1,
                    }


def valid(instance: Any, component: str) -> bool:
    """Tell whether an instance matches one of the description's schemas."""
    schema = {"$ref": f"#/components/schemas/{component}", "components": OPENAPI["components"]}
    return bool(OAS31Validator(schema).is_valid(instance))


def without(field: str) -> dict[str, Any]:
    """Return the fixture suggestion without one of its fields."""
    body = api_body()
    del body[field]
    return body


# Each body, and whether the description takes it: the server must take exactly those.
BODIES: list[tuple[dict[str, Any], bool]] = [
    (api_body(), True),
    (api_body(find=""), False),
    (api_body(find="   "), False),
    (api_body(reason="\u3000\x1c"), False),  # whitespace to str.strip(), not all of it to \s
    (api_body(reason="\ufeff"), True),  # whitespace to ECMA's \s, not to str.strip()
    (api_body(lesson=""), False),
    (api_body(locale=" "), False),
    (api_body(lesson="l" * 301), False),
    (api_body(locale="l" * 17), False),
    (api_body(find="x" * 2001), False),
    (api_body(reason="r" * 1001), False),
    (api_body(replace="y" * 4001), False),
    (api_body(replace="Fixtures are\x00 small."), False),
    (api_body(reason="Clearer\x00"), False),
    (api_body(replace=""), True),
    (without("replace"), False),
    (without("reason"), False),
    (api_body(author=None), True),
    (without("author"), True),
    (api_body(author={"name": None, "email": None}), True),
    (api_body(author={"email": ""}), True),
    (api_body(author={"email": "  "}), True),
    (api_body(author={"email": " ada@example.org "}), True),
    (api_body(author={"email": "nope"}), False),
    (api_body(author={"email": "ada@example"}), False),
    (api_body(author={"email": "ada@exam ple.org"}), False),
    (api_body(author={"name": "n" * 100}), True),
    (api_body(author={"name": "n" * 101}), False),
    (api_body(author={"name": " " + "n" * 100}), False),
    (api_body(author={"name": "Ada", "nickname": "A"}, extra=[1, 2]), True),
    (api_body(find=1), False),
    (api_body(author="Ada"), False),
]


@pytest.mark.parametrize(("body", "taken"), BODIES)
async def test_the_server_takes_exactly_the_bodies_the_description_takes(
    session_factory: Sessions, tmp_path: Path, body: dict[str, Any], taken: bool
) -> None:
    door = await open_door(session_factory, copy_content(tmp_path))
    try:
        response = await door.client.post("/api/suggestions", json=body)
        answer = await response.json()
    finally:
        await door.client.close()

    assert valid(body, "SuggestionRequest") is taken
    assert (response.status == 202) is taken, answer
    if not taken:
        assert response.status in (400, 422)
        check(answer, "Error")


async def test_an_unknown_lesson_answer_is_described_with_its_closest_lessons(
    session_factory: Sessions, tmp_path: Path
) -> None:
    door = await open_door(session_factory, copy_content(tmp_path))
    try:
        refused = await door.client.post("/api/suggestions", json=api_body(lesson="demo/pipe"))
        answer = await refused.json()
    finally:
        await door.client.close()

    assert refused.status == 422 and answer["error"]["did_you_mean"] == ["demo/pipes"]
    check(answer, "Error")
    described = OPENAPI["components"]["schemas"]["Error"]["properties"]["error"]["properties"]
    assert described["did_you_mean"]["maxItems"] == 3
    assert "did_you_mean" in OPENAPI["info"]["description"]
