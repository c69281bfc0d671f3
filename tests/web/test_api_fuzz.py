"""Schemathesis against the API's own OpenAPI description, the app served on a real port.

Every generated request, valid or not, must be answered without a 5xx, with a status the
description documents and a body that matches it; a valid one must be taken (or refused
only for a reason a schema cannot know, like an unknown lesson), an invalid one refused.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings, SuggestionSettings, WebSettings
from bot.domain.catalogue import load_catalogue
from bot.services.outbox import Outbox
from bot.services.suggestions import Author, SuggestionInput, SuggestionService
from bot.store.engine import make_engine, make_session_factory
from bot.store.models import SuggestionSource
from bot.web.app import create_web_app
from bot.web.openapi import openapi_document
from bot.web.router import WebhookRouter
from tests.web.suggest_support import LESSON, PASSAGE, REPLACEMENT, SIGNER, copy_content

T = TypeVar("T")

# Limits other than the defaults, so the run also shows the description follows the settings.
SETTINGS = Settings(
    web=WebSettings(per_ip_per_hour=0, max_form_bytes=32 * 1024),
    suggestions=SuggestionSettings(
        per_person_per_hour=0,
        max_find_chars=300,
        max_replace_chars=400,
        max_reason_chars=200,
        max_name_chars=50,
    ),
)
DOCUMENT = openapi_document(SETTINGS.suggestions, SETTINGS.web.max_form_bytes)
CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 15,
        "generation": {"max-examples": 60},
        # 422 only for what the lesson holds: see refused_only_for_what_a_schema_cannot_know.
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "401", "403", "404", "409", "422"]
            }
        },
    }
)
# Loaded when the module is, so pytest can make one test per operation (schemathesis's lazy
# loader, from_fixture, does not work with this pytest); api_url checks that the server
# serves this very document at /api/openapi.json.
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)
# Refusals of a well-formed request that no schema can foresee: the lesson, locale or
# passage is not there, the edit breaks the lesson, the suggestion or token is not one.
UNFORESEEABLE = frozenset(
    {
        "lesson_unknown",
        "locale_unknown",
        "find_not_found",
        "find_not_found_anywhere",
        "find_ambiguous",
        "no_change",
        "front_matter",
        "breaks_lesson",
        "too_large",
        "idempotency_mismatch",
        "not_found",
        "token_missing",
        "token_invalid",
        "not_revisable",
        "no_reviewer_suggestion",
    }
)


class ServedApp:
    """The web app on 127.0.0.1, in a thread with its own event loop (schemathesis blocks)."""

    def __init__(self, database_url: str, content: Path) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._engine: AsyncEngine | None = None
        self._runner: web.AppRunner | None = None
        try:
            self.url = self._run(self._start(database_url, content))
        except BaseException:
            self.close()
            raise

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        return future.result(timeout=60)

    async def _start(self, database_url: str, content: Path) -> str:
        self._engine = make_engine(database_url)
        sessions = make_session_factory(self._engine)
        catalogue = load_catalogue(content, "en")
        service = SuggestionService(
            sessions, Outbox(sessions), SETTINGS, catalogue=lambda: catalogue, signer=SIGNER
        )
        # One suggestion, so that reading one answers 200 and its body is checked too.
        await service.submit(
            SuggestionInput(
                LESSON, "en", PASSAGE, REPLACEMENT, "Clearer", SuggestionSource.API, Author()
            )
        )
        app = create_web_app(
            SETTINGS,
            session_factory=sessions,
            webhook_router=WebhookRouter(),
            suggestions=service,
            lessons=lambda: catalogue,
            signer=SIGNER,
        )
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        return f"http://{host}:{port}"

    def get_json(self, path: str) -> Any:
        """Return what the server answers at a path, as JSON."""

        async def get() -> Any:
            async with aiohttp.ClientSession() as session, session.get(self.url + path) as answer:
                return await answer.json()

        return self._run(get())

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._engine is not None:
            await self._engine.dispose()

    def close(self) -> None:
        """Stop the server, dispose of the engine and end the thread."""
        try:
            self._run(self._stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()


@pytest.fixture
def api_url(migrated_url: str, tmp_path: Path) -> Iterator[str]:
    """Serve the app over a fresh database; yield its base URL."""
    served = ServedApp(migrated_url, copy_content(tmp_path))
    try:
        # What is fuzzed is what the server describes, with the limits it runs with.
        assert served.get_json("/api/openapi.json") == json.loads(json.dumps(DOCUMENT))
        yield served.url
    finally:
        served.close()


@SCHEMA.parametrize()
@settings(
    deadline=None,
    derandomize=True,
    database=None,
    # The served app is meant to outlive the examples: it is the server under test.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_every_request_gets_a_documented_answer(case: Any, api_url: str) -> None:
    case.call_and_validate(
        base_url=api_url, additional_checks=[refused_only_for_what_a_schema_cannot_know]
    )


def refused_only_for_what_a_schema_cannot_know(ctx: Any, response: Any, case: Any) -> None:
    """Fail when a request that matches the description is refused for its form."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if 400 <= response.status_code < 500:
        error = response.json()["error"]
        assert error["code"] in UNFORESEEABLE, f"a valid request was refused: {error}"
