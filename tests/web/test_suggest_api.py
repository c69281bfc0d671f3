"""The JSON API: 202 with a token, replays, bearer-guarded changes, and 4xx for bad input."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.services.ports import RateLimitedError
from bot.store.models import Suggestion, SuggestionCredit
from tests.web.suggest_support import (
    PASSAGE,
    REPLACEMENT,
    Door,
    Sessions,
    api_body,
    copy_content,
    open_door,
    raw_request,
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
        "waiting",
    }
    assert record["waiting"] is None
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


async def test_an_unknown_lesson_names_the_form_and_the_closest_lessons(door: Door) -> None:
    status, typo = await post(door, api_body(lesson="demo/pipe"))
    _, arabic = await post(door, api_body(lesson="demo/pipe"), **{"Accept-Language": "ar"})
    _, far = await post(door, api_body(lesson="zzz/qqq"))

    assert status == 422
    assert typo["error"]["code"] == "lesson_unknown" and typo["error"]["field"] == "lesson"
    assert typo["error"]["did_you_mean"] == ["demo/pipes"]
    assert typo["error"]["message"] == (
        "There is no lesson “demo/pipe”. Did you mean demo/pipes? Lessons are named program/slug."
    )
    assert arabic["error"]["did_you_mean"] == ["demo/pipes"]
    assert "هل تقصد demo/pipes؟" in arabic["error"]["message"]
    # Nothing comes close: no lesson offered, but the form, with a real lesson as example.
    assert far["error"]["did_you_mean"] == []
    assert far["error"]["message"] == (
        "There is no lesson “zzz/qqq”. Name a lesson as program/slug, for example demo/pipes."
    )
    # Only an unknown lesson has the field.
    _, other = await post(door, api_body(find=""))
    assert "did_you_mean" not in other["error"]
    assert await door.counts() == (0, 0, 0, 0)


@pytest.mark.parametrize(
    "lesson",
    [
        "pipes",
        "Quizzes with pipes",
        "اختبارات بالفواصل",
        "https://example.org/en/programs/demo/lessons/pipes",
        "programs/demo/lessons/en/pipes.mdx",
    ],
)
async def test_a_unique_slug_a_title_or_the_lessons_address_is_taken(
    door: Door, lesson: str
) -> None:
    status, data = await post(door, api_body(lesson=lesson))

    assert status == 202, data
    shown = await door.client.get(f"{API}/{data['id']}")
    assert (await shown.json())["lesson"] == "demo/pipes"


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


async def test_a_suggestion_waiting_for_github_says_until_when_not_failed(door: Door) -> None:
    _, data = await post(door, api_body())
    [claim] = await door.outbox.claim_due()
    assert claim.key == f"suggestion:{data['id']}:open"
    # As the job runner does when GitHub's hourly limit is used up until its reset.
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=41)
    error = RateLimitedError("rate limited", retry_at=until.timestamp(), service="GitHub")
    assert await door.outbox.fail(claim, "GitHubRateLimitedError: ...", cause=error)

    record = await (await door.client.get(f"{API}/{data['id']}")).json()
    assert record["status"] == "queued"
    shown = (
        f"{until:%H:%M}" if until.date() == datetime.now(UTC).date() else f"{until:%Y-%m-%d %H:%M}"
    )
    # The second too, when the wait does not end on the minute.
    shown += f":{until:%S}" if until.second else ""
    assert record["waiting"] == {
        "until": until.isoformat(),
        "reason": "GitHub's rate limit",
        "text": f"waiting for GitHub's rate limit until {shown} UTC",
    }
    page = await (await door.client.get(f"/suggestions/{data['id']}?locale=en")).text()
    assert "Waiting for GitHub until" in page and "Failed" not in page
    assert f'data-waiting="{until.isoformat()}"' in page


async def test_a_suggestion_merely_due_later_is_not_said_to_wait(door: Door) -> None:
    _, data = await post(door, api_body())
    [claim] = await door.outbox.claim_due()
    await door.outbox.fail(claim, "RuntimeError: boom", cause=RuntimeError("boom"))
    record = await (await door.client.get(f"{API}/{data['id']}")).json()
    assert (record["status"], record["waiting"]) == ("queued", None)
    page = await (await door.client.get(f"/suggestions/{data['id']}?locale=en")).text()
    assert "Waiting for GitHub" not in page


# --- input that must never close, break or stall anything (issue 15) ---------------------

DEEP = 10_000


@pytest.mark.parametrize(
    "body",
    [
        "[" * DEEP + "]" * DEEP,
        '{"find": ' + "[" * DEEP + "]" * DEEP + "}",
        '{"author": ' + '{"":' * DEEP + "0" + "}" * DEEP + "}",
    ],
)
async def test_json_nested_thousands_deep_is_a_400_on_every_json_route(
    door: Door, body: str
) -> None:
    _, sent = await post(door, api_body())
    bearer = {"Authorization": f"Bearer {sent['token']}", "Content-Type": "application/json"}

    answers = [
        await door.client.post(target, data=body.encode(), headers=bearer)
        for target in (API, f"{API}/{sent['id']}/revise", f"{API}/{sent['id']}/accept")
    ]

    for answer in answers:
        assert answer.status == 400
        assert_error(await answer.json(), "too_deep")
    assert await door.counts() == (1, 1, 1, 1)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"replace": "Fixtures are \ud800 small."}, "replace"),
        ({"find": "Fixtures are small\udfff"}, "find"),
        ({"reason": "\udc00"}, "reason"),
        ({"lesson": "demo/pipes\ud83d"}, "lesson"),
        ({"locale": "e\ud800"}, "locale"),
        ({"author": {"name": "Ada \ud800"}}, "name"),
        ({"author": {"email": "ada\udcff@example.org"}}, "email"),
        ({"author": {"name": "Ada\x00"}}, "name"),
        ({"author": {"email": "ada\x00@example.org"}}, "email"),
    ],
)
async def test_a_lone_surrogate_or_nul_is_refused_as_invalid_text_naming_the_field(
    door: Door, fields: dict[str, Any], field: str
) -> None:
    # json.dumps writes a lone surrogate as the escape "\ud800": valid JSON, invalid text.
    body = json.dumps(api_body(**fields))
    assert "\\u" in body or "\\u0000" in body

    status, data = await post(door, json.loads(body))
    replayed = await post(door, api_body(), **{"Idempotency-Key": "k1"})
    again = await post(door, json.loads(body), **{"Idempotency-Key": "k1"})

    assert status == 422
    assert_error(data, "field_invalid", field)
    assert "“" + field + "”" in data["error"]["message"]
    assert replayed[0] == 202 and again[0] == 409  # the key's body had no such text
    assert await door.counts() == (1, 1, 1, 1)


async def test_a_surrogate_pair_escape_is_one_real_character_and_taken(door: Door) -> None:
    body = json.dumps(api_body(reason="Clearer 😀"))
    assert "\\ud83d\\ude00" in body

    response = await door.client.post(
        API, data=body.encode(), headers={"Content-Type": "application/json"}
    )

    assert response.status == 202


@pytest.mark.parametrize("field", ["find", "replace", "reason"])
async def test_a_revision_with_a_lone_surrogate_is_refused_naming_the_field(
    door: Door, field: str
) -> None:
    _, sent = await post(door, api_body())
    revision = {"find": REPLACEMENT, "replace": "Fixtures stay small.", "reason": "Shorter"}
    revision[field] += "\ud800"

    response = await door.client.post(
        f"{API}/{sent['id']}/revise",
        json=revision,
        headers={"Authorization": f"Bearer {sent['token']}"},
    )

    assert response.status == 422
    assert_error(await response.json(), "field_invalid", field)
    view = await door.service.view(sent["id"])
    assert view is not None and [event.kind for event in view.events] == ["submitted"]


async def test_undecodable_bytes_in_a_bearer_token_or_cookie_are_refused_not_a_500(
    door: Door,
) -> None:
    _, sent = await post(door, api_body())
    target = f"{API}/{sent['id']}".encode()

    withdraw = await raw_request(
        door, b"DELETE " + target + b" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe\r\n"
    )
    cookies = b"Cookie: lb_token=\xed\xa0\x80; lb_csrf=\xff\r\n"
    page = await raw_request(door, b"GET /suggestions/1 HTTP/1.1\r\nHost: x\r\n" + cookies)
    language = await raw_request(
        door, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nAccept-Language: \xff\xfe;q=1\r\n"
    )

    assert withdraw[0] == 403
    assert json.loads(withdraw[1])["error"]["code"] == "token_invalid"
    assert page[0] == 200 and b'id="withdraw-button"' not in page[1]
    assert language[0] == 200
    view = await door.service.view(sent["id"])
    assert view is not None and view.status == "queued"


@pytest.mark.parametrize(
    "path",
    [
        "\u0661",  # ARABIC-INDIC DIGIT ONE: a digit to \d and int(), not an id
        "\uff11",  # FULLWIDTH DIGIT ONE
        "-1",
        "0",
        "1.0",
        "1e0",
        "+1",
        " 1",
        "2147483648",
        "999999999999",
        "9999999999999999999999",
        "%FF",
        "%00",
    ],
)
async def test_an_id_that_is_not_a_suggestions_is_a_404_in_the_envelope(
    door: Door, path: str
) -> None:
    _, sent = await post(door, api_body())
    assert sent["id"] == 1
    bearer = {"Authorization": f"Bearer {sent['token']}"}

    answers = [
        await door.client.get(f"{API}/{path}"),
        await door.client.delete(f"{API}/{path}", headers=bearer),
        await door.client.post(f"{API}/{path}/revise", json={}, headers=bearer),
        await door.client.post(f"{API}/{path}/accept", json={}, headers=bearer),
    ]

    for answer in answers:
        assert answer.status == 404
        assert_error(await answer.json(), "not_found")
    view = await door.service.view(1)
    assert view is not None and view.status == "queued"


@pytest.mark.parametrize("missing", ["lesson", "locale", "find", "replace", "reason"])
async def test_a_required_field_left_out_or_null_is_a_400_naming_it(
    door: Door, missing: str
) -> None:
    body = api_body()
    del body[missing]

    left_out = await post(door, body)
    null = await post(door, api_body(**{missing: None}))

    for status, data in (left_out, null):
        assert status == 400
        assert_error(data, "field_missing", missing)
        assert missing in data["error"]["message"]
    assert await door.count() == 0


async def test_a_name_or_email_padded_past_its_limit_is_refused_as_sent(door: Door) -> None:
    name = await post(door, api_body(author={"name": " " + "n" * 100}))
    email = await post(door, api_body(author={"email": " " * 250 + "ada@example.org"}))
    trimmed = await post(door, api_body(author={"name": " Ada ", "email": " ada@example.org "}))

    assert name[0] == 422
    assert_error(name[1], "field_too_long", "name")
    assert email[0] == 422
    assert_error(email[1], "email_invalid", "email")
    assert trimmed[0] == 202
    async with door.sessions() as session:
        credit = (await session.execute(select(SuggestionCredit))).scalar_one()
    assert (credit.name, credit.email) == ("Ada", "ada@example.org")


async def test_a_whole_comment_id_written_with_a_fraction_is_a_whole_number(door: Door) -> None:
    _, sent = await post(door, api_body())
    bearer = {"Authorization": f"Bearer {sent['token']}"}

    whole = await door.client.post(
        f"{API}/{sent['id']}/accept", json={"comment_id": 7.0}, headers=bearer
    )
    fraction = await door.client.post(
        f"{API}/{sent['id']}/accept", json={"comment_id": 7.5}, headers=bearer
    )

    assert whole.status == 409  # taken as 7: no PR yet, so nothing to accept
    assert_error(await whole.json(), "not_revisable")
    assert fraction.status == 400
    assert_error(await fraction.json(), "not_integer", "comment_id")
