"""The API's OpenAPI description: valid 3.1, covering every API route, matching real answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

from bot.config import Settings
from bot.web.app import create_web_app
from bot.web.openapi import OPENAPI
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
