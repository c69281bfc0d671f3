"""End to end: one correlation id follows a suggestion from its door to its PR and notices,
and a digest's log line names the questions it listed (JSON logs, as `--log-format json`)."""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from github.Repository import Repository
from sqlalchemy import select

from bot.cli.logs import JsonFormatter, Redactor
from bot.domain.catalogue import load_catalogue
from bot.scheduler import run_digest
from bot.services.signing import Signer
from bot.store.models import Question, SuggestionEvent
from bot.web.app import REQUEST_ID_HEADER, create_web_app
from bot.web.router import WebhookRouter
from sandboxes.mail import MailSandbox
from tests.conftest import FIXTURES
from tests.e2e.test_suggestion_review import PASSAGE, Sessions, make_world
from tests.services.test_digests import make as make_digests
from tests.services.test_digests import seed as seed_questions


class JsonLines(logging.Handler):
    """Keep every record as the JSON line a `--log-format json` process writes."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(JsonFormatter(Redactor(["lessonbot-token-never-shown"]), "all"))
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))

    def matching(self, pattern: str) -> list[dict[str, Any]]:
        """Return the lines whose message matches `pattern`."""
        return [line for line in self.lines if re.search(pattern, line["message"])]


@contextlib.contextmanager
def json_lines() -> Iterator[JsonLines]:
    handler = JsonLines()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def test_one_id_follows_a_suggestion_from_its_request_to_its_pr_and_notices(
    session_factory: Sessions, tmp_path: Path
) -> None:
    async with (
        MailSandbox() as catcher,
        make_world(session_factory, tmp_path, mail=catcher) as world,
    ):
        # The JSON API, a door of its own, over the same service.
        api = create_web_app(
            world.service._deps.settings,
            session_factory=session_factory,
            webhook_router=WebhookRouter(),
            suggestions=world.service,
            lessons=lambda: load_catalogue(FIXTURES / "content", "en"),
            signer=Signer(b"s" * 32),
        )
        runner = web.AppRunner(api)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/api/suggestions"
        try:
            with json_lines() as logs:
                async with aiohttp.ClientSession() as client:
                    response = await client.post(
                        url,
                        json={
                            "lesson": "demo/pipes",
                            "locale": "en",
                            "find": PASSAGE,
                            "replace": "Fixtures are kept small on purpose.",
                            "reason": "Clearer.",
                            "author": {"name": "Ada", "email": "ada@example.org"},
                        },
                        headers={REQUEST_ID_HEADER: "req-e2e-42"},
                    )
                    assert response.status == 202, await response.text()
                    # The id the client sent is the one it gets back and the logs use.
                    assert response.headers[REQUEST_ID_HEADER] == "req-e2e-42"
                    suggestion_id = (await response.json())["id"]
                    # A nonsense id is not taken: a fresh one is made and echoed.
                    refused = await client.get(
                        f"{url}/{suggestion_id}", headers={REQUEST_ID_HEADER: "bad id\u202e"}
                    )
                    assert refused.headers[REQUEST_ID_HEADER].startswith("web-")
                await world.settle()
                view = await world.service.view(suggestion_id)
                assert view is not None and view.pr_number is not None
                number = view.pr_number

                def request_changes(repo: Repository) -> None:
                    pull = repo.get_pull(number)
                    pull.create_review(
                        commit=repo.get_commit(pull.head.sha),
                        body="Nearly.",
                        event="REQUEST_CHANGES",
                    )

                await world.as_maintainer(request_changes)
                await world.settle()
        finally:
            await runner.cleanup()

    [door] = logs.matching(r"^POST /api/suggestions -> 202")
    [stored] = logs.matching(rf"^suggestion {suggestion_id} stored from api")
    [opened] = logs.matching(rf"^job \d+ \(suggestion:{suggestion_id}:open\): opened #{number}")
    told = logs.matching(r"^job \d+ \(notify:\d+:\d+:mail\): ")
    assert len(told) == 2  # the PR opened, then changes were asked for
    for line in (door, stored, opened, *told):
        assert line["correlation_id"] == "req-e2e-42", line
        assert line["role"] == "all" and isinstance(line["pid"], int)
        assert line["time"].endswith("+00:00")
    for line in (stored, opened, *told):
        assert line["suggestion_id"] == suggestion_id, line
    assert opened["job_kind"] == "suggestion" and isinstance(opened["job_id"], int)
    # The review came by a webhook delivery, logged under GitHub's delivery id, and the
    # line that ties that delivery to the suggestion's own id.
    [review] = logs.matching(r"^pull_request_review '[^']+' \(suggestions\): changes requested")
    assert review["correlation_id"] not in (None, "req-e2e-42")
    [tie] = logs.matching(rf"^suggestion {suggestion_id}: changes_requested follows under")
    assert tie["correlation_id"] == review["correlation_id"]
    assert tie["message"].endswith("req-e2e-42")
    # Two emails went out, to the suggester: the notices the lines are about.
    assert [mail.to for mail in catcher.messages] == [["ada@example.org"]] * 2
    # The id is kept with the suggestion, but no view of it (API, page, CLI) shows it.
    async with session_factory() as session:
        stored = await session.scalar(
            select(SuggestionEvent.detail).where(SuggestionEvent.kind == "submitted")
        )
    assert stored is not None and stored["correlation_id"] == "req-e2e-42"
    [submitted] = [event for event in view.events if event.kind == "submitted"]
    assert "correlation_id" not in submitted.detail


async def test_a_scheduled_digest_logs_the_questions_it_listed(session_factory: Sessions) -> None:
    service, worker, _, _ = make_digests(session_factory)
    await seed_questions(session_factory)
    async with session_factory() as session:
        ids = sorted((await session.execute(select(Question.id))).scalars())
    with json_lines() as logs:
        await run_digest(service)
        while await worker.run_once():
            pass
    [listed] = logs.matching(r"^digest run \d+ \(scheduled:[^)]+\) lists \d+ open question")
    named = set(re.findall(r"q-(\d+)", listed["message"]))
    assert named and named <= {str(question_id) for question_id in ids}
    assert listed["correlation_id"].startswith("schedule-")
    # Its deliveries ran under the same id, as the worker took them from their payloads.
    sent = logs.matching(r"^job \d+ \(digest:")
    assert sent and {line["correlation_id"] for line in sent} == {listed["correlation_id"]}
