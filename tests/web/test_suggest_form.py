"""The suggest form: the lesson rendered, preview, send, and every refusal storing nothing."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp import ClientResponse
from markupsafe import escape

from bot.domain.catalogue import git_blob_sha
from bot.i18n import t
from bot.services.outbox import Outbox
from bot.services.ports import FileContent
from bot.services.suggestions import Author, SuggestionInput, SuggestionService
from bot.store.models import (
    OutboxJob,
    Suggestion,
    SuggestionEvent,
    SuggestionSource,
    SuggestionStatus,
)
from tests.web.suggest_support import (
    FORM_URL,
    PASSAGE,
    REPLACEMENT,
    Door,
    Sessions,
    copy_content,
    form,
    open_door,
    raw_request,
)


@pytest.fixture
async def door(session_factory: Sessions, tmp_path: Path) -> AsyncIterator[Door]:
    """Serve the suggest door without rate limits."""
    opened = await open_door(session_factory, copy_content(tmp_path))
    yield opened
    await opened.client.close()


async def test_the_form_shows_the_lesson_rendered_with_labelled_fields(door: Door) -> None:
    response = await door.client.get(FORM_URL, params={"locale": "en"})

    page = await response.text()
    assert response.status == 200
    assert '<html lang="en" dir="ltr">' in page
    assert '<meta name="viewport"' in page
    assert "Fixtures are small on purpose." in page
    assert 'class="mdx mdx-quiz"' in page and "Which option is second?" in page
    for name in ("find", "replace", "reason", "name", "email"):
        assert f'<label for="{name}">' in page and f'id="{name}"' in page
    assert "co-author" in page  # the email's use is said before it is given
    assert 'class="hp" aria-hidden="true"' in page and 'tabindex="-1"' in page
    assert 'id="send-button"' not in page  # the preview comes first
    assert "Content-Security-Policy" in response.headers
    assert "lb_csrf" in {cookie.key for cookie in door.client.session.cookie_jar}


async def test_arabic_is_served_right_to_left(door: Door) -> None:
    response = await door.client.get(FORM_URL, params={"locale": "ar"})

    page = await response.text()
    assert response.status == 200
    assert '<html lang="ar" dir="rtl">' in page
    assert "النص العربي" in page


async def test_the_locale_falls_back_to_accept_language_then_the_default(door: Door) -> None:
    spanish = await door.client.get(FORM_URL, headers={"Accept-Language": "es-MX,es;q=0.9"})
    german = await door.client.get(FORM_URL, headers={"Accept-Language": "de"})

    assert '<html lang="es"' in await spanish.text()
    assert 'name="locale" value="es"' in await spanish.text()
    assert 'name="locale" value="en"' in await german.text()


async def test_an_unknown_lesson_or_locale_is_a_friendly_localized_404(door: Door) -> None:
    lesson = await door.client.get("/lessons/demo/nope/suggest", params={"locale": "fr"})
    locale = await door.client.get(FORM_URL, params={"locale": "fr"})

    assert lesson.status == 404 and '<html lang="fr"' in await lesson.text()
    assert "demo/nope" in await lesson.text()
    page = await locale.text()
    assert locale.status == 404
    assert "?locale=ar" in page and "?locale=es" in page  # where the lesson does exist


async def test_preview_shows_the_diff_and_stores_nothing(door: Door) -> None:
    csrf = await door.csrf()

    response = await door.client.post(FORM_URL, data=form(csrf, action="preview"))

    page = await response.text()
    assert response.status == 200
    assert 'class="diff-remove"' in page and 'class="diff-add"' in page
    assert REPLACEMENT in page
    assert 'id="send-button"' in page
    assert await door.counts() == (0, 0, 0, 0)


async def test_the_preview_diff_holds_each_line_once_with_no_newline_between(
    door: Door,
) -> None:
    csrf = await door.csrf()

    page = await (await door.client.post(FORM_URL, data=form(csrf, action="preview"))).text()

    block = re.search(r'<pre class="diff"[^>]*>(.*?)</pre>', page, re.S)
    assert block is not None
    lines = re.findall(r'<span class="diff-[a-z]+">(.*?)</span>', block.group(1), re.S)
    preview = await door.service.preview(
        SuggestionInput(
            "demo/pipes", "en", PASSAGE, REPLACEMENT, "x", SuggestionSource.WEB, Author()
        )
    )
    assert [html.unescape(line) for line in lines] == preview.diff.splitlines()
    # Each span is a block (a line of its own): a newline between them would be a blank line.
    assert "\n" not in block.group(1)


async def test_send_stores_it_and_redirects_to_its_status_page_with_the_token(
    door: Door,
) -> None:
    csrf = await door.csrf()

    response = await door.client.post(FORM_URL, data=form(csrf), allow_redirects=False)

    assert response.status == 303
    location = response.headers["Location"]
    assert location.startswith("/suggestions/1?")
    cookie = response.cookies["lb_token"]
    assert cookie["path"] == "/suggestions/1" and cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert await door.count() == 1
    page = await (await door.client.get(location)).text()
    assert 'id="withdraw-button"' in page and 'id="revise-button"' in page
    assert "Queued" in page


@pytest.mark.parametrize(
    ("fields", "field", "status"),
    [
        ({"find": ""}, "find", 422),
        ({"reason": "   "}, "reason", 422),
        ({"find": "x" * 2001}, "find", 422),
        ({"replace": "y" * 4001}, "replace", 422),
        ({"reason": "z" * 1001}, "reason", 422),
        ({"name": "n" * 101}, "name", 422),
        ({"email": "not an email"}, "email", 422),
        ({"find": "A passage that is nowhere in the lesson"}, "find", 422),
        ({"find": "Quiz", "replace": "Test"}, "find", 422),
        ({"find": "<FunFact>", "replace": "FunFact"}, "replace", 422),
        ({"find": PASSAGE, "replace": PASSAGE}, "replace", 422),
    ],
)
async def test_a_bad_field_re_renders_the_form_with_what_was_typed(
    door: Door, fields: dict[str, str], field: str, status: int
) -> None:
    csrf = await door.csrf()

    response = await door.client.post(FORM_URL, data=form(csrf, **fields))

    page = await response.text()
    assert response.status == status
    assert f'id="{field}-error"' in page
    assert 'role="alert"' in page and f'href="#{field}"' in page
    assert 'aria-invalid="true"' in page and "autofocus" in page
    kept = "Ada" if "name" not in fields else "Clearer wording"
    assert kept in page  # what was typed is kept
    assert await door.counts() == (0, 0, 0, 0)


async def test_an_error_message_is_in_the_form_language(door: Door) -> None:
    csrf = await door.csrf(f"{FORM_URL}?locale=es")

    response = await door.client.post(
        f"{FORM_URL}?locale=es", data=form(csrf, locale="es", find="")
    )

    assert response.status == 422
    assert "Pasaje que cambiar" in await response.text()


async def test_a_missing_or_forged_csrf_token_is_refused_with_403(door: Door) -> None:
    csrf = await door.csrf()
    window, _, signature = csrf.partition(".")

    missing = await door.client.post(FORM_URL, data=form(""))
    forged = await door.client.post(FORM_URL, data=form(f"{window}.{signature[::-1]}"))
    door.clock[0] += 3 * 3600  # the token's window has passed
    expired = await door.client.post(FORM_URL, data=form(csrf))
    door.clock[0] -= 3 * 3600
    door.client.session.cookie_jar.clear()  # another browser: the cookie is not the token's
    elsewhere = await door.client.post(FORM_URL, data=form(csrf))

    for response in (missing, forged, expired, elsewhere):
        assert response.status == 403
        assert "expired" in await response.text()
    assert await door.counts() == (0, 0, 0, 0)


def header_shape(response: ClientResponse) -> tuple[int, set[str], dict[str, Any]]:
    """Return what a bot can compare of a redirect: status, header names, the token cookie."""
    cookie = response.cookies["lb_token"]
    attributes = {
        name: cookie[name] for name in ("httponly", "samesite", "max-age", "secure", "domain")
    }
    return response.status, set(response.headers), {"length": len(cookie.value), **attributes}


async def test_a_filled_honeypot_is_answered_like_a_real_send_and_stores_nothing(
    door: Door, caplog: pytest.LogCaptureFixture
) -> None:
    csrf = await door.csrf()

    caught = await door.client.post(
        FORM_URL, data=form(csrf, website="http://spam.example"), allow_redirects=False
    )
    assert await door.counts() == (0, 0, 0, 0)
    real = await door.client.post(FORM_URL, data=form(csrf), allow_redirects=False)

    assert caught.status == 303
    assert header_shape(caught) == header_shape(real)
    assert caught.headers["Location"].endswith("done=sent")
    thanked = await door.client.get(caught.headers["Location"])
    page = await thanked.text()
    assert thanked.status == 200 and t("en", "web_suggest.received") in page
    assert "honeypot" not in page and "spam" not in page
    assert await door.counts() == (1, 1, 1, 1)  # the real one only
    caught_lines = [record for record in caplog.records if "honeypot" in record.getMessage()]
    assert len(caught_lines) == 1


async def test_a_filled_honeypot_is_refused_or_previewed_like_a_real_post(door: Door) -> None:
    csrf = await door.csrf()
    trap = {"website": "http://spam.example"}

    bad = [
        await door.client.post(FORM_URL, data=form(csrf, find="", **extra)) for extra in ({}, trap)
    ]
    previews = [
        await door.client.post(FORM_URL, data=form(csrf, action="preview", **extra))
        for extra in ({}, trap)
    ]

    assert [response.status for response in bad] == [422, 422]
    assert [response.status for response in previews] == [200, 200]
    assert ['class="diff-add"' in await response.text() for response in previews] == [True, True]
    assert await door.counts() == (0, 0, 0, 0)


async def test_an_oversize_body_is_refused_with_413(
    session_factory: Sessions, tmp_path: Path
) -> None:
    door = await open_door(session_factory, copy_content(tmp_path), max_form_bytes=2048)
    try:
        csrf = await door.csrf()
        response = await door.client.post(FORM_URL, data=form(csrf, reason="r" * 5000))
        assert response.status == 413
        assert await door.counts() == (0, 0, 0, 0)
    finally:
        await door.client.close()


async def test_a_flood_from_one_address_is_held_back_with_429(
    session_factory: Sessions, tmp_path: Path
) -> None:
    door = await open_door(session_factory, copy_content(tmp_path), per_ip_per_hour=2)
    try:
        csrf = await door.csrf()
        statuses = []
        for _ in range(4):
            response = await door.client.post(
                FORM_URL, data=form(csrf, action="preview"), allow_redirects=False
            )
            statuses.append(response.status)
        assert statuses == [200, 200, 429, 429]
        assert int(response.headers["Retry-After"]) > 0
        assert await door.counts() == (0, 0, 0, 0)
    finally:
        await door.client.close()


async def test_the_status_page_of_an_unknown_suggestion_is_a_404(door: Door) -> None:
    missing = await door.client.get("/suggestions/999", params={"locale": "ar"})
    huge = await door.client.get("/suggestions/999999999999")

    assert missing.status == 404 and 'dir="rtl"' in await missing.text()
    assert huge.status == 404


async def test_revise_and_withdraw_from_the_status_page(door: Door) -> None:
    csrf = await door.csrf()
    sent = await door.client.post(FORM_URL, data=form(csrf), allow_redirects=False)
    page_url = sent.headers["Location"]
    csrf = await door.csrf(page_url)

    revised = await door.client.post(
        "/suggestions/1/revise",
        data={"csrf": csrf, "find": REPLACEMENT, "replace": "Fixtures stay small.", "reason": ""},
        allow_redirects=False,
    )
    bad = await door.client.post(
        "/suggestions/1/revise", data={"csrf": csrf, "find": "", "replace": "x", "reason": ""}
    )
    withdrawn = await door.client.post(
        "/suggestions/1/withdraw", data={"csrf": csrf}, allow_redirects=False
    )

    assert revised.status == 303, await revised.text()
    assert "done=revised" in revised.headers["Location"]
    assert bad.status == 422 and 'id="find-error"' in await bad.text()
    assert withdrawn.status == 303
    view = await door.service.view(1)
    assert view is not None and view.status == "withdrawn"
    assert [event.kind for event in view.events] == ["submitted", "revised", "withdrawn"]


async def test_the_status_page_without_the_token_offers_no_changes(door: Door) -> None:
    csrf = await door.csrf()
    await door.client.post(FORM_URL, data=form(csrf), allow_redirects=False)
    door.client.session.cookie_jar.clear()
    csrf = await door.csrf()

    page = await (await door.client.get("/suggestions/1")).text()
    refused = await door.client.post("/suggestions/1/withdraw", data={"csrf": csrf})
    forged = await door.client.post(
        "/suggestions/1/withdraw", data={"csrf": csrf}, cookies={"lb_token": "forged"}
    )

    assert 'id="withdraw-button"' not in page
    assert refused.status == 401 and forged.status == 403
    view = await door.service.view(1)
    assert view is not None and view.status == "queued"


async def test_what_was_typed_is_escaped_when_shown_again(door: Door) -> None:
    csrf = await door.csrf()

    response = await door.client.post(
        FORM_URL, data=form(csrf, find="<script>alert(1)</script>", name="<b>Ada</b>")
    )

    page = await response.text()
    assert response.status == 422
    assert "<script>alert(1)</script>" not in page and "<b>Ada</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert await door.counts() == (0, 0, 0, 0)


async def test_a_post_for_an_unknown_lesson_or_locale_is_a_404_storing_nothing(
    door: Door,
) -> None:
    csrf = await door.csrf()

    lesson = await door.client.post("/lessons/demo/nope/suggest", data=form(csrf))
    locale = await door.client.post(FORM_URL, data=form(csrf, locale="fr"))

    assert lesson.status == 404 and locale.status == 404
    assert await door.counts() == (0, 0, 0, 0)


async def test_a_reviewers_proposed_text_can_be_accepted_from_the_status_page(
    door: Door,
) -> None:
    csrf = await door.csrf()
    await door.client.post(FORM_URL, data=form(csrf), allow_redirects=False)
    async with door.sessions() as session, session.begin():
        row = await session.get(Suggestion, 1)
        assert row is not None
        row.status = SuggestionStatus.CHANGES_REQUESTED
        row.pr_number, row.pr_url = 7, "https://github.example/lessons/content/pull/7"
        session.add(
            SuggestionEvent(
                suggestion_id=1,
                kind="reviewer_suggestion",
                detail={
                    "comment_id": 55,
                    "reviewer": "maintainer",
                    "line": 16,
                    "suggestion": "Fixtures stay small on purpose.",
                },
                created_at=row.created_at,
            )
        )
    jobs_before = await door.count(OutboxJob)

    page = await (await door.client.get("/suggestions/1")).text()
    accepted = await door.client.post(
        "/suggestions/1/accept", data={"csrf": csrf, "comment_id": "55"}, allow_redirects=False
    )

    assert "<bdi>maintainer</bdi> proposed this text for line 16:" in page
    assert "Fixtures stay small on purpose." in page
    assert 'action="/suggestions/1/accept' in page and 'value="55"' in page
    assert 'id="pr-link" href="https://github.example/lessons/content/pull/7"' in page
    assert accepted.status == 303 and "done=accepted" in accepted.headers["Location"]
    assert await door.count(OutboxJob) == jobs_before + 1
    view = await door.service.view(1)
    assert view is not None and view.events[-1].kind == "accepted"
    assert view.reviewer_suggestions == []


async def test_garbage_posts_to_the_form_never_answer_a_5xx(door: Door) -> None:
    csrf = await door.csrf()
    bodies: list[tuple[bytes, str]] = [
        (b"", "application/x-www-form-urlencoded"),
        (b"\xff\xfe\xfd", "application/x-www-form-urlencoded"),
        (b"%%%&&&===", "application/x-www-form-urlencoded"),
        (b'{"find": "x"}', "application/json"),
        (b"--x\r\nContent-Disposition: form-data\r\n\r\n--x--", "multipart/form-data; boundary=x"),
        ("&".join(f"f{index}=v" for index in range(5000)).encode(), "text/plain"),
        (f"csrf={csrf}&find=%00&replace=x&reason=y&locale=en".encode(), "text/plain"),
        (f"csrf={csrf}&locale={'x' * 500}".encode(), "application/x-www-form-urlencoded"),
        (f"csrf={csrf}&action=send&find=%E2%80%A8".encode(), "application/x-www-form-urlencoded"),
    ]
    statuses = []
    for body, content_type in bodies:
        for target in (FORM_URL, "/suggestions/1/revise", "/suggestions/1/withdraw"):
            response = await door.client.post(
                target, data=body, headers={"Content-Type": content_type}
            )
            statuses.append(response.status)
    assert all(200 <= status < 500 for status in statuses), statuses
    assert await door.counts() == (0, 0, 0, 0)


async def test_a_real_bug_is_logged_and_answered_500_without_details(
    door: Door, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(suggestion_id: int) -> None:
        raise RuntimeError("a bug with a secret detail")

    monkeypatch.setattr(door.service, "view", broken)

    page = await door.client.get("/suggestions/1")
    api = await door.client.get("/api/suggestions/1")

    assert page.status == 500 and api.status == 500
    assert "secret detail" not in await page.text()
    body = await api.json()
    assert body["error"]["code"] == "internal" and "secret detail" not in body["error"]["message"]
    assert "a bug with a secret detail" in caplog.text  # the log has it, for whoever fixes it


async def test_status_page_actions_need_the_csrf_token_too(door: Door) -> None:
    csrf = await door.csrf()
    await door.client.post(FORM_URL, data=form(csrf), allow_redirects=False)

    missing = await door.client.post("/suggestions/1/withdraw", data={})
    forged = await door.client.post("/suggestions/1/withdraw", data={"csrf": "1.forged"})
    revise = await door.client.post(
        "/suggestions/1/revise", data={"find": REPLACEMENT, "replace": "x", "reason": ""}
    )

    assert (missing.status, forged.status, revise.status) == (403, 403, 403)
    view = await door.service.view(1)
    assert view is not None and view.status == "queued"
    assert [event.kind for event in view.events] == ["submitted"]


# --- input that must never close, break or stall anything (issue 15) ---------------------

URLENCODED = {"Content-Type": "application/x-www-form-urlencoded"}
TYPED = {
    "find": PASSAGE,
    "replace": REPLACEMENT,
    "reason": "Clearer wording",
    "name": "Ada",
    "email": "ada@example.org",
}


def form_with_bytes(csrf: str, field: str, raw: str, **fields: str) -> str:
    """Return the form urlencoded, with percent-encoded bytes `raw` inside one field."""
    data = form(csrf, email="ada@example.org", **fields)
    data[field] = "MARK"
    head, tail = TYPED[field][:3], TYPED[field][3:]
    return urlencode(data).replace(
        "MARK", urlencode({"": head})[1:] + raw + urlencode({"": tail})[1:]
    )


@pytest.mark.parametrize("raw", ["%FF", "%ED%A0%80", "%C3"])
@pytest.mark.parametrize("field", ["find", "replace", "reason", "name", "email"])
async def test_bytes_that_are_not_utf8_in_a_field_re_show_the_form_naming_it(
    door: Door, field: str, raw: str
) -> None:
    csrf = await door.csrf()

    response = await door.client.post(
        FORM_URL, data=form_with_bytes(csrf, field, raw), headers=URLENCODED
    )

    page = await response.text()
    assert response.status == 422
    label = t("en", f"web_suggest.field.{field}")
    assert f'id="{field}-error"' in page and f'href="#{field}"' in page
    assert t("en", "suggest.error.field_invalid", field=label) in page
    assert TYPED[field][:3] + "\ufffd" in page  # what was typed is kept, the bad byte shown
    assert await door.counts() == (0, 0, 0, 0)


async def test_bytes_that_are_not_utf8_are_named_in_the_forms_language(door: Door) -> None:
    csrf = await door.csrf(f"{FORM_URL}?locale=es")
    body = form_with_bytes(csrf, "reason", "%FF", locale="es")

    response = await door.client.post(f"{FORM_URL}?locale=es", data=body, headers=URLENCODED)

    page = await response.text()
    label = t("es", "web_suggest.field.reason")
    assert response.status == 422
    assert t("es", "suggest.error.field_invalid", field=label) in page
    assert await door.counts() == (0, 0, 0, 0)


async def test_raw_bytes_that_are_not_utf8_in_the_body_re_show_the_form(door: Door) -> None:
    csrf = await door.csrf()
    body = urlencode(form(csrf, replace="MARK")).encode().replace(b"MARK", b"kept\xff\xfe small")
    jar = door.client.session.cookie_jar.filter_cookies(door.client.make_url("/"))
    cookies = "; ".join(f"{name}={morsel.value}" for name, morsel in jar.items())

    status, page = await raw_request(
        door,
        f"POST {FORM_URL} HTTP/1.1\r\nHost: x\r\nCookie: {cookies}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n".encode(),
        body,
    )

    assert status == 422
    assert b'id="replace-error"' in page
    assert await door.counts() == (0, 0, 0, 0)


async def test_a_revision_with_bytes_that_are_not_utf8_is_refused_naming_the_field(
    door: Door,
) -> None:
    csrf = await door.csrf()
    await door.client.post(FORM_URL, data=form(csrf), allow_redirects=False)
    body = urlencode({"csrf": csrf, "find": REPLACEMENT, "replace": "MARK", "reason": ""})

    response = await door.client.post(
        "/suggestions/1/revise",
        data=body.replace("MARK", "Fixtures%FF stay small."),
        headers=URLENCODED,
    )

    page = await response.text()
    assert response.status == 422
    label = t("en", "web_suggest.field.replace")
    assert 'id="replace-error"' in page
    assert t("en", "suggest.error.field_invalid", field=label) in page
    assert "Fixtures\ufffd stay small." in page
    view = await door.service.view(1)
    assert view is not None and [event.kind for event in view.events] == ["submitted"]


@pytest.mark.parametrize(
    "path",
    [
        "\u0661",  # ARABIC-INDIC DIGIT ONE: a digit to \\d and int(), not an id
        "\uff11",  # FULLWIDTH DIGIT ONE
        "abc",
        "-1",
        "0",
        "1.0",
        "2147483648",
        "999999999999",
        "9999999999999999999999",
        "%FF",
    ],
)
async def test_a_status_page_id_that_is_not_a_suggestions_is_a_404(door: Door, path: str) -> None:
    csrf = await door.csrf()
    await door.client.post(FORM_URL, data=form(csrf), allow_redirects=False)

    page = await door.client.get(f"/suggestions/{path}")
    action = await door.client.post(f"/suggestions/{path}/withdraw", data={"csrf": csrf})

    assert page.status == 404 and action.status == 404
    view = await door.service.view(1)
    assert view is not None and view.status == "queued"


async def test_query_strings_that_are_not_utf8_are_no_5xx(door: Door) -> None:
    csrf = await door.csrf()
    await door.client.post(FORM_URL, data=form(csrf), allow_redirects=False)

    answers = [
        await door.client.get("/suggestions/1?locale=%FF%FE&done=%ED%A0%80"),
        await door.client.get(f"{FORM_URL}?locale=%FF"),
        await door.client.get(f"{FORM_URL}?done=sent&locale=%C3"),
        await door.client.post(f"{FORM_URL}?locale=%FF", data=form(csrf, locale="")),
    ]

    assert [answer.status for answer in answers] == [200, 404, 404, 404]


class BranchOnGitHub:
    """A suggestion's PR branch, in memory: the lesson file read and committed there."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.commits: list[str] = []

    async def login(self) -> str:
        return "lessonbot"

    async def permission(self, login: str) -> str:
        return "write"

    async def get_file(self, path: str, ref: str = "main") -> FileContent:
        return FileContent(path, self.text, git_blob_sha(self.text.encode()))

    async def commit_file(
        self, branch: str, path: str, content: str, message: str, *, expected_sha: str
    ) -> str:
        assert expected_sha == git_blob_sha(self.text.encode())
        self.text = content
        self.commits.append(message)
        return f"{len(self.commits):040x}"


def field_value(page: str, name: str) -> str:
    """Return what a textarea of the page holds, as a browser shows it."""
    found = re.search(rf'<textarea id="{name}"[^>]*>\n?([^<]*)</textarea>', page)
    assert found, f"no {name} field"
    return html.unescape(found.group(1))


async def test_a_used_text_shows_as_the_passage_now_answering_the_review(
    session_factory: Sessions, tmp_path: Path
) -> None:
    content = copy_content(tmp_path)
    lesson = (content / "programs/demo/lessons/en/pipes.mdx").read_text(encoding="utf-8")
    branch = BranchOnGitHub(lesson.replace(PASSAGE, REPLACEMENT))
    line = branch.text.splitlines().index(REPLACEMENT) + 1
    door = await open_door(session_factory, content, github=branch)  # type: ignore[arg-type]
    try:
        csrf = await door.csrf()
        sent = await door.client.post(FORM_URL, data=form(csrf), allow_redirects=False)
        page_url = sent.headers["Location"]
        async with door.sessions() as session, session.begin():
            row = await session.get(Suggestion, 1)
            assert row is not None
            row.status = SuggestionStatus.CHANGES_REQUESTED
            row.pr_number, row.pr_url = 7, "https://github.example/lessons/content/pull/7"
            row.branch = "lessonbot/suggest/1"
            session.add(
                SuggestionEvent(
                    suggestion_id=1,
                    kind="reviewer_suggestion",
                    detail={
                        "comment_id": 55,
                        "reviewer": "maintainer",
                        "line": line,
                        "suggestion": "Fixtures stay small on purpose.\n",
                    },
                    created_at=row.created_at,
                )
            )

        csrf = await door.csrf(page_url)
        used = await door.client.post(
            "/suggestions/1/accept", data={"csrf": csrf, "comment_id": "55"}, allow_redirects=False
        )
        assert used.status == 303
        claims = await Outbox(door.sessions).claim_due(10, [SuggestionService.JOB_KIND])
        # (The opening job finds the PR open already: nothing to do.)
        done = [await door.service.run_job(claim) for claim in claims]
        assert done == ["nothing to open", "accepted"]
        assert "Fixtures stay small on purpose." in branch.text

        page = await (await door.client.get("/suggestions/1?locale=en")).text()
    finally:
        await door.client.close()

    # The reviewer has been answered: the status says so, not "changes requested".
    assert 'data-status="answered"' in page
    assert t("en", "web_suggest.status.answered") in page
    # The passage shows as the pull request has it now, not the replacement first sent...
    current = re.search(r'<pre class="passage" id="current-passage"[^>]*>([^<]*)</pre>', page)
    assert current and current.group(1) == "Fixtures stay small on purpose."
    # ...and a revision starts from it, ready to edit.
    assert field_value(page, "find") == "Fixtures stay small on purpose."
    assert field_value(page, "replace") == "Fixtures stay small on purpose."
    assert field_value(page, "reason") == ""
    # The proposed text was used: it is no longer offered.
    assert 'name="comment_id"' not in page


# --- what a person meets in Arabic: values of another direction isolated (issue 16) ---------


async def spanish_suggestion(door: Door) -> int:
    """Send an edit of the Spanish fixture lesson; return its id."""
    sent = await door.service.submit(
        SuggestionInput(
            "demo/pipes",
            "es",
            "# Cuestionarios con barras",
            "# Cuestionarios con barras verticales",
            "Más claro",
            SuggestionSource.WEB,
            Author(name="Ana"),
        )
    )
    async with door.sessions() as session, session.begin():
        session.add(
            SuggestionEvent(
                suggestion_id=sent.id,
                kind="changes_requested",
                detail={"reviewer": "octo-cat 2"},
            )
        )
    return sent.id


async def test_the_arabic_status_page_isolates_the_spanish_title_id_and_names(
    door: Door,
) -> None:
    suggestion_id = await spanish_suggestion(door)

    page = await (await door.client.get(f"/suggestions/{suggestion_id}?locale=ar")).text()

    assert '<html lang="ar" dir="rtl">' in page
    title = escape('Cuestionarios con barras: "pipes"')
    assert f'الاقتراح {suggestion_id}: <bdi lang="es" dir="ltr">{title}</bdi></h1>' in page
    assert re.search(
        r'<bdi dir="ltr"><a href="[^"]+">demo/pipes</a></bdi> \(<bdi>الإسبانية</bdi>\)', page
    )
    assert "طلب <bdi>octo-cat 2</bdi> تغييرات" in page  # a name inside an Arabic sentence
    assert re.search(r'<time datetime="[^"]+" dir="ltr">', page)
    # The tab's title cannot hold markup: no <bdi> there.
    head_title = re.search(r"<title>(.*?)</title>", page, re.S)
    assert head_title is not None and "<" not in html.unescape(head_title.group(1))


async def test_arabic_sentences_on_the_form_and_its_errors_isolate_paths_and_passages(
    door: Door,
) -> None:
    url = f"{FORM_URL}?locale=ar"
    csrf = await door.csrf(url)
    passage = "النص العربي يُكتب من اليمين إلى اليسار."

    preview = await door.client.post(
        url, data=form(csrf, locale="ar", find=passage, replace="نص.", action="preview")
    )
    typo = await door.client.post(
        url, data=form(csrf, locale="ar", find="النص العربي يكتب من اليمين", action="preview")
    )

    page = await preview.text()
    assert preview.status == 200
    assert '<h1>اقترح تعديلًا: <bdi lang="ar" dir="rtl">' in page
    assert "<bdi>programs/demo/lessons/ar/pipes.mdx</bdi>" in page
    refused = await typo.text()
    assert typo.status == 422
    # The closest passage, quoted in the Arabic message, keeps its own order.
    assert re.search(r"«<bdi>[^<]*النص العربي[^<]*</bdi>»", refused)


async def test_arabic_not_found_pages_isolate_what_was_asked_for(door: Door) -> None:
    lesson = await door.client.get("/lessons/demo/nope/suggest", params={"locale": "ar"})
    suggestion = await door.client.get("/suggestions/999", params={"locale": "ar"})

    assert lesson.status == 404 and "«<bdi>demo/nope</bdi>»" in await lesson.text()
    assert suggestion.status == 404 and "<bdi>999</bdi>" in await suggestion.text()


# --- the 404 of a lesson's missing language, and of a mistyped lesson (issue 16) -------------


def links_of(page: str) -> list[tuple[str, str, str]]:
    """Return the (href, hreflang, text) of the links a message page lists."""
    found = re.findall(r'<li><a href="([^"]+)" hreflang="([^"]*)">(.*?)</a></li>', page)
    return [(html.unescape(href), lang, re.sub("<[^>]+>", "", text)) for href, lang, text in found]


@pytest.mark.parametrize(
    ("locale", "names"),
    [
        ("fr", ["arabe", "anglais", "espagnol"]),
        ("zh", ["阿拉伯语", "英语", "西班牙语"]),
        ("de", ["Arabic", "English", "Spanish"]),  # no German page: English, named in English
    ],
)
async def test_a_missing_language_lists_the_lessons_languages_by_name(
    door: Door, locale: str, names: list[str]
) -> None:
    response = await door.client.get(FORM_URL, params={"locale": locale})

    assert response.status == 404
    assert links_of(await response.text()) == [
        (f"{FORM_URL}?locale={code}", code, name)
        for code, name in zip(("ar", "en", "es"), names, strict=True)
    ]


async def test_a_mistyped_lesson_address_links_to_the_closest_lessons(door: Door) -> None:
    english = await door.client.get("/lessons/demo/pipe/suggest", params={"locale": "en"})
    arabic = await door.client.get("/lessons/demo/pipe/suggest", params={"locale": "ar"})
    far = await door.client.get("/lessons/demo/zzzzzz/suggest", params={"locale": "en"})

    assert english.status == 404
    page = await english.text()
    assert "Did you mean one of these?" in page
    assert links_of(page) == [
        ("/lessons/demo/pipes/suggest?locale=en", "en", "Quizzes With Pipes (demo/pipes)")
    ]
    assert links_of(await arabic.text()) == [
        ("/lessons/demo/pipes/suggest?locale=ar", "ar", "اختبارات بالفواصل (demo/pipes)")
    ]
    assert links_of(await far.text()) == []
    assert "Check the link you followed." in await far.text()
