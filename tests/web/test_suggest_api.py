"""The JSON API: 202 with a token, replays, bearer-guarded changes, and 4xx for bad input."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.store.models import Suggestion
from tests.web.suggest_support import (
    PASSAGE,
    REPLACEMENT,
    Door,
    Sessions,
    api_body,
    copy_content,
    open_door,
)

API = "/api/suggestions"


@pytest.fixture
async def door(session_factory: Sessions, tmp_path: Path) -> AsyncIterator[Door]:
    """Serve the suggest door without rate limits."""
    opened = await open_door(session_factory, copy_content(tmp_path))
    yield opened
    await opened.client.close()


async def post(door: Door, body: Any, **headers: str) -> tuple[int, dict[str, Any]]:
    response = await door.client.post(API, json=body, headers=headers)
    return response.status, await response.json()


def assert_error(data: dict[str, Any], code: str, field: str | None = None) -> None:
    assert set(data) == {"error"}
    assert data["error"]["code"] == code and data["error"]["field"] == field
    assert isinstance(data["error"]["message"], str) and data["error"]["message"]


async def test_a_suggestion_is_taken_with_202_and_can_be_followed(door: Door) -> None:
    status, data = await post(door, api_body())

    assert status == 202
    assert set(data) == {"id", "status_url", "token"}
    assert data["status_url"].endswith(f"/suggestions/{data['id']}")
    response = await door.client.get(f"{API}/{data['id']}")
    record = await response.json()
    assert response.status == 200
    assert record["status"] == "queued" and record["lesson"] == "demo/pipes"
    assert set(record) == {
        "id",
        "lesson",
        "locale",
        "status",
        "pr_number",
        "pr_url",
        "error",
        "passage",
        "events",
    }
    # Before its branch exists, the passage is the edit as sent.
    assert record["passage"] == {"text": REPLACEMENT, "line": None}
    assert [event["kind"] for event in record["events"]] == ["submitted"]
    assert await door.count() == 1


async def test_a_replayed_idempotency_key_answers_the_same_and_a_changed_body_409(
    door: Door,
) -> None:
    first = await post(door, api_body(), **{"Idempotency-Key": "key-1"})
    again = await post(door, api_body(), **{"Idempotency-Key": "key-1"})
    changed = await post(door, api_body(replace="Other text."), **{"Idempotency-Key": "key-1"})

    assert first[0] == again[0] == 202 and first[1] == again[1]
    assert changed[0] == 409
    assert_error(changed[1], "idempotency_mismatch", "Idempotency-Key")
    assert await door.counts() == (1, 1, 1, 1)


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        (api_body(find=""), 422, "field_empty", "find"),
        (api_body(reason=""), 422, "field_empty", "reason"),
        (api_body(lesson=""), 422, "field_empty", "lesson"),
        (api_body(find="x" * 2001), 422, "field_too_long", "find"),
        (api_body(replace="y" * 4001), 422, "field_too_long", "replace"),
        (api_body(reason="z" * 1001), 422, "field_too_long", "reason"),
        (api_body(author={"name": "n" * 101}), 422, "field_too_long", "name"),
        (api_body(author={"email": "nope"}), 422, "email_invalid", "email"),
        (api_body(find=3), 400, "not_string", "find"),
        (api_body(replace=["a"]), 400, "not_string", "replace"),
        (api_body(reason={"a": 1}), 400, "not_string", "reason"),
        (api_body(lesson=None, locale=True), 400, "not_string", "locale"),
        (api_body(author="Ada"), 400, "not_object_field", "author"),
        (api_body(author={"name": 5}), 400, "not_string", "author.name"),
        (api_body(author={"email": 5}), 400, "not_string", "author.email"),
        (api_body(lesson="demo/nope"), 422, "lesson_unknown", "lesson"),
        (api_body(locale="fr"), 422, "locale_unknown", "locale"),
        (api_body(find="Nowhere in the lesson"), 422, "find_not_found_anywhere", "find"),
        (api_body(find="Answer the quizz"), 422, "find_not_found", "find"),
        (api_body(find="Quiz", replace="Test"), 422, "find_ambiguous", "find"),
        (api_body(find="<FunFact>", replace="FunFact"), 422, "breaks_lesson", "replace"),
        ([1, 2], 400, "not_object", None),
        ("text", 400, "not_object", None),
    ],
)
async def test_bad_input_is_refused_with_the_documented_status_and_nothing_stored(
    door: Door, body: Any, status: int, code: str, field: str | None
) -> None:
    answered, data = await post(door, body)

    assert answered == status
    assert_error(data, code, field)
    assert await door.counts() == (0, 0, 0, 0)


async def test_a_body_that_is_not_json_is_a_400(door: Door) -> None:
    invalid = await door.client.post(
        API, data=b"{nope", headers={"Content-Type": "application/json"}
    )
    form = await door.client.post(API, data={"lesson": "demo/pipes"})
    binary = await door.client.post(
        API, data=b"\xff\xfe\x00", headers={"Content-Type": "application/json"}
    )

    assert_error(await invalid.json(), "invalid_json")
    assert_error(await form.json(), "not_json")
    assert_error(await binary.json(), "invalid_json")
    assert {invalid.status, form.status, binary.status} == {400}
    assert await door.counts() == (0, 0, 0, 0)


async def test_an_invalid_idempotency_key_is_a_400(door: Door) -> None:
    status, data = await post(door, api_body(), **{"Idempotency-Key": "k" * 201})

    assert status == 400
    assert_error(data, "idempotency_key_invalid", "Idempotency-Key")
    assert await door.count() == 0


async def test_an_oversize_body_is_a_413_unread(session_factory: Sessions, tmp_path: Path) -> None:
    door = await open_door(session_factory, copy_content(tmp_path), max_form_bytes=1024)
    try:
        status, data = await post(door, api_body(reason="r" * 2000))

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(10):
                yield b" " * 200

        chunked = await door.client.post(
            API, data=chunks(), headers={"Content-Type": "application/json"}
        )
        assert status == 413 and chunked.status == 413
        assert_error(data, "body_too_large")
        assert "1024" in data["error"]["message"]
        assert await door.count() == 0
    finally:
        await door.client.close()


async def test_a_flood_from_one_address_gets_429_with_retry_after(
    session_factory: Sessions, tmp_path: Path
) -> None:
    door = await open_door(session_factory, copy_content(tmp_path), per_ip_per_hour=3)
    try:
        answers = [
            await door.client.post(API, json=api_body(find=f"bad {index}")) for index in range(5)
        ]
        assert [answer.status for answer in answers] == [422, 422, 422, 429, 429]
        assert int(answers[-1].headers["Retry-After"]) > 0
        assert_error(await answers[-1].json(), "rate_limited")
        # Reading is not limited.
        assert (await door.client.get(f"{API}/1")).status == 404
        assert await door.count() == 0
    finally:
        await door.client.close()


async def test_the_per_person_limit_of_the_service_is_a_429(
    session_factory: Sessions, tmp_path: Path
) -> None:
    door = await open_door(session_factory, copy_content(tmp_path), per_person_per_hour=1)
    try:
        first = await post(door, api_body())
        second = await door.client.post(
            API, json=api_body(find="Some text with", replace="Some words with")
        )
        assert first[0] == 202 and second.status == 429
        assert "Retry-After" in second.headers
        assert_error(await second.json(), "rate_limited")
        assert await door.count() == 1
    finally:
        await door.client.close()


async def test_messages_follow_accept_language(door: Door) -> None:
    response = await door.client.post(
        API,
        data=b"{",
        headers={"Accept-Language": "ar, en;q=0.5", "Content-Type": "application/json"},
    )
    english = await door.client.post(API, data=b"{", headers={"Content-Type": "application/json"})

    arabic = (await response.json())["error"]["message"]
    assert arabic != (await english.json())["error"]["message"]
    assert any("\u0600" <= char <= "\u06ff" for char in arabic)


async def test_not_found_and_wrong_methods_answer_in_the_error_envelope(door: Door) -> None:
    missing = await door.client.get(f"{API}/12345")
    huge = await door.client.get(f"{API}/999999999999")
    not_a_number = await door.client.get(f"{API}/abc")
    wrong_method = await door.client.put(API, json={})

    for response, status in ((missing, 404), (huge, 404), (not_a_number, 404)):
        assert response.status == status
        assert_error(await response.json(), "not_found")
    assert wrong_method.status == 405
    assert_error(await wrong_method.json(), "method_not_allowed")


async def test_revise_accept_and_withdraw_need_the_token(door: Door) -> None:
    _, sent = await post(door, api_body())
    url = f"{API}/{sent['id']}"
    revision = {"find": REPLACEMENT, "replace": "Fixtures stay small.", "reason": "Shorter"}

    missing = await door.client.post(f"{url}/revise", json=revision)
    forged = await door.client.post(
        f"{url}/revise", json=revision, headers={"Authorization": "Bearer forged"}
    )
    other = await post(door, api_body(find="Some text with", replace="Some words with"))
    borrowed = await door.client.delete(
        url, headers={"Authorization": f"Bearer {other[1]['token']}"}
    )
    no_delete = await door.client.delete(url)

    assert missing.status == 401 and forged.status == 403 and borrowed.status == 403
    assert no_delete.status == 401
    assert_error(await missing.json(), "token_missing", "token")
    assert_error(await forged.json(), "token_invalid", "token")
    view = await door.service.view(sent["id"])
    assert view is not None and view.status == "queued"
    assert [event.kind for event in view.events] == ["submitted"]


async def test_revise_then_withdraw_with_the_token(door: Door) -> None:
    _, sent = await post(door, api_body())
    url = f"{API}/{sent['id']}"
    bearer = {"Authorization": f"Bearer {sent['token']}"}

    revised = await door.client.post(
        f"{url}/revise",
        json={"find": REPLACEMENT, "replace": "Fixtures stay small.", "reason": "Shorter"},
        headers=bearer,
    )
    wrong_type = await door.client.post(
        f"{url}/revise", json={"find": 1, "replace": "x"}, headers=bearer
    )
    no_pr = await door.client.post(f"{url}/accept", headers=bearer)
    bad_comment = await door.client.post(f"{url}/accept", json={"comment_id": "x"}, headers=bearer)
    withdrawn = await door.client.delete(url, headers=bearer)
    again = await door.client.delete(url, headers=bearer)

    assert revised.status == 200
    assert [event["kind"] for event in (await revised.json())["events"]] == [
        "submitted",
        "revised",
    ]
    assert wrong_type.status == 400
    assert no_pr.status == 409  # nothing to accept before the PR opens
    assert bad_comment.status == 400
    assert withdrawn.status == 200 and (await withdrawn.json())["status"] == "withdrawn"
    assert again.status in (403, 409)
    async with door.sessions() as session:
        row = await session.get(Suggestion, sent["id"])
        assert row is not None and row.edit["find"] == PASSAGE


async def test_bad_inputs_never_answer_a_5xx(door: Door) -> None:
    _, sent = await post(door, api_body())
    url = f"{API}/{sent['id']}"
    bodies: list[bytes] = [
        b"",
        b"null",
        b"[]",
        b'{"lesson": {"$gt": ""}}',
        json.dumps(api_body(find="\u0000")).encode(),
        json.dumps(api_body(locale="x" * 500)).encode(),
        json.dumps(api_body(lesson="../../etc/passwd")).encode(),
        json.dumps(api_body(lesson="demo/pipes/../../x")).encode(),
        b'{"lesson": "demo/pipes", "locale": "en", "find": 1e999}',
        '{"find": "\ud800"}'.encode("utf-8", "surrogatepass"),
    ]
    statuses = []
    for body in bodies:
        for method, target in (("POST", API), ("POST", f"{url}/revise"), ("POST", f"{url}/accept")):
            response = await door.client.request(
                method,
                target,
                data=body,
                headers={"Content-Type": "application/json", "Authorization": "Bearer x"},
            )
            statuses.append(response.status)
            error = (await response.json())["error"]
            assert_error({"error": error}, error["code"], error["field"])
    odd = [
        await door.client.get(f"{API}/0"),
        await door.client.delete(f"{API}/0"),
        await door.client.post(f"{API}/1/revise", headers={"Authorization": "Basic abc"}),
        await door.client.get("/api/nothing"),
    ]
    statuses += [response.status for response in odd]
    assert all(400 <= status < 500 for status in statuses), statuses
    assert await door.count() == 1
