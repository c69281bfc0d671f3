"""Every web page in every served locale: no keys, codes or English, and right to left in ar.

Each page is served by the real web app (the aiohttp test server over the fixture lessons
and a migrated database), once in the locale under test and once in English, and read as a
browser shows it (tests/i18n/audit.py). The pages' catalog tables, the suggestion statuses
and the event kinds are enumerated from the English catalog, so strings added later are
rendered here too.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.i18n import load_catalog
from bot.store.models import Suggestion, SuggestionEvent
from bot.web.router import WebhookRouter
from tests.conftest import FIXTURES
from tests.i18n.audit import (
    SERVED_LOCALES,
    Output,
    check_clean,
    check_page_direction,
    check_translated,
    read_page,
)
from tests.services.test_digests import make, settings
from tests.web.conftest import ClientMaker
from tests.web.suggest_support import (
    FORM_URL,
    PASSAGE,
    REPLACEMENT,
    Door,
    Sessions,
    copy_content,
    form,
    open_door,
)

LESSON_FILE = "content/programs/demo/lessons/en/pipes.mdx"
LESSON_TITLE = "Quizzes With Pipes"
PROGRAM_TITLE = "Demo Program"  # the fixture program's title in the languages it lacks
NAME = "Ada Lovelace"
REVIEWER = "octo-cat 2"
REASON = "Clearer wording"
BODY = "Please keep the original example."
# What people typed or named: shown as given in every language, never translated.
DATA = (
    LESSON_TITLE,
    PROGRAM_TITLE,
    NAME,
    REVIEWER,
    REASON,
    BODY,
    PASSAGE,
    REPLACEMENT,
    "demo/pipes",
    "demo/nope",
    "demo/pipez",
    "pt",
    # The lesson's own lines, quoted back when a passage is not found in it.
    *(line for line in (FIXTURES / LESSON_FILE).read_text(encoding="utf-8").splitlines() if line),
)
UNKNOWN_KIND = "mystery_kind"  # an event kind a newer bot may record before words exist

Render = Callable[[Door, str], Awaitable[list[str]]]


def event_kinds() -> list[str]:
    """Return every event kind the status page has words for, and one it has none for."""
    prefix = "web_suggest.event."
    english = load_catalog("en").messages
    # `other` is the words for a kind without words of its own: UNKNOWN_KIND shows it.
    kinds = [key.removeprefix(prefix) for key in english if key.startswith(prefix)]
    return [kind for kind in kinds if kind != "other"] + [UNKNOWN_KIND]


def statuses() -> list[str]:
    """Return every suggestion status the pages have words for."""
    prefix = "web_suggest.status."
    return [
        key.removeprefix(prefix) for key in load_catalog("en").messages if key.startswith(prefix)
    ]


def every_locale_content(root: Path) -> Path:
    """Copy the fixture lessons with the English pipes lesson in every served locale."""
    content = copy_content(root)
    lessons = content / "programs/demo/lessons"
    for locale in SERVED_LOCALES[1:]:
        (lessons / locale).mkdir(exist_ok=True)
        shutil.copyfile(lessons / "en/pipes.mdx", lessons / locale / "pipes.mdx")
    return content


@pytest.fixture
async def door(session_factory: Sessions, tmp_path: Path) -> AsyncIterator[Door]:
    """Serve the web app over a lesson that exists in every served locale."""
    opened = await open_door(session_factory, every_locale_content(tmp_path))
    yield opened
    await opened.client.close()


async def _get(door: Door, url: str, **params: str) -> str:
    response = await door.client.get(url, params=params)
    assert response.status < 500, (url, response.status)
    return await response.text()


async def index(door: Door, locale: str) -> list[str]:
    return [await _get(door, "/", locale=locale)]


async def suggest_form(door: Door, locale: str) -> list[str]:
    return [await _get(door, FORM_URL, locale=locale)]


async def suggest_preview(door: Door, locale: str) -> list[str]:
    csrf = await door.csrf(f"{FORM_URL}?locale={locale}")
    fields = form(csrf, locale=locale, name=NAME, reason=REASON, action="preview")
    response = await door.client.post(f"{FORM_URL}?locale={locale}", data=fields)
    assert response.status == 200
    return [await response.text()]


async def suggest_refusals(door: Door, locale: str) -> list[str]:
    """The form re-rendered with each kind of field error the service gives."""
    csrf = await door.csrf(f"{FORM_URL}?locale={locale}")
    pages = []
    for fields in (
        {"find": ""},
        {"find": "A passage the lesson does not have"},
        {"email": "not an address"},
        {"find": "x" * 5000},
    ):
        data = form(csrf, locale=locale, name=NAME, action="preview", **fields)
        response = await door.client.post(f"{FORM_URL}?locale={locale}", data=data)
        assert 400 <= response.status < 500, (fields, response.status)
        pages.append(await response.text())
    return pages


async def _sent_suggestion(door: Door, locale: str) -> int:
    """Send the fixture edit from the form (so this browser may manage it); return its id."""
    csrf = await door.csrf(f"{FORM_URL}?locale={locale}")
    fields = form(csrf, locale=locale, name=NAME, reason=REASON)
    sent = await door.client.post(FORM_URL, data=fields, allow_redirects=False)
    assert sent.status == 303, await sent.text()
    return int(sent.headers["Location"].split("?")[0].rsplit("/", 1)[1])


async def status_pages(door: Door, locale: str) -> list[str]:
    """The status page with every event kind, in every status, and after each action."""
    suggestion_id = await _sent_suggestion(door, locale)
    async with door.sessions() as session, session.begin():
        for kind in event_kinds():
            detail = {"reviewer": REVIEWER, "line": 16, "body": BODY}
            if kind == "reviewer_suggestion":
                detail |= {"comment_id": 55, "suggestion": REPLACEMENT}
            session.add(SuggestionEvent(suggestion_id=suggestion_id, kind=kind, detail=detail))
    pages = []
    for status in statuses():
        async with door.sessions() as session, session.begin():
            await session.execute(
                update(Suggestion)
                .where(Suggestion.id == suggestion_id)
                .values(
                    status=status,
                    pr_number=700 + suggestion_id,
                    pr_url="https://github.example/lessons/content/pull/7",
                )
            )
        pages.append(await _get(door, f"/suggestions/{suggestion_id}", locale=locale))
    for done in ("sent", "revised", "withdrawn", "accepted"):
        pages.append(await _get(door, f"/suggestions/{suggestion_id}", locale=locale, done=done))
    return pages


async def status_refusal(door: Door, locale: str) -> list[str]:
    """The status page re-rendered with a refused revision."""
    suggestion_id = await _sent_suggestion(door, locale)
    csrf = await door.csrf(f"/suggestions/{suggestion_id}?locale={locale}")
    data = {"csrf": csrf, "find": PASSAGE, "replace": "", "reason": ""}
    response = await door.client.post(
        f"/suggestions/{suggestion_id}/revise?locale={locale}", data=data
    )
    assert 400 <= response.status < 500, response.status
    return [await response.text()]


async def messages(door: Door, locale: str) -> list[str]:
    """The pages that only say something: not found (three ways), expired form, too large."""
    pages = [
        await _get(door, "/suggestions/424242", locale=locale),
        await _get(door, "/lessons/demo/nope/suggest", locale=locale),
        await _get(door, "/lessons/demo/pipez/suggest", locale=locale),
    ]
    expired = await door.client.post(
        f"{FORM_URL}?locale={locale}", data=form("forged", locale=locale)
    )
    assert expired.status == 403
    pages.append(await expired.text())
    too_large = await door.client.post(
        f"{FORM_URL}?locale={locale}", data=form("x", locale=locale, find="x" * 70_000)
    )
    assert too_large.status == 413
    pages.append(await too_large.text())
    return pages


async def unknown_locale(door: Door, locale: str) -> list[str]:
    """A lesson asked for in a language it lacks, the page in the reader's language."""
    response = await door.client.get(
        FORM_URL, params={"locale": "pt"}, headers={"Accept-Language": locale}
    )
    return [await response.text()]


PAGES: dict[str, Render] = {
    "index": index,
    "suggest_form": suggest_form,
    "suggest_preview": suggest_preview,
    "suggest_refusals": suggest_refusals,
    "status": status_pages,
    "status_refusal": status_refusal,
    "messages": messages,
}


def i18n_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Return what the catalog logged as missing: a key, a placeholder's value."""
    return [record.getMessage() for record in caplog.records if record.name == "bot.i18n.catalog"]


def audit(name: str, locale: str, pages: list[str], english: list[str]) -> list[str]:
    """Return every problem a person would meet on these pages."""
    problems: list[str] = []
    assert len(pages) == len(english)
    for number, (document, english_document) in enumerate(zip(pages, english, strict=True)):
        page, english_page = read_page(document), read_page(english_document)
        label = f"{name}#{number}"
        output = Output(label, locale, page.segments(), DATA)
        check_clean(output)
        check_translated(output, Output(label, "en", english_page.segments(), DATA))
        check_page_direction(output, page, DATA)
        if page.lang.split("-")[0] != locale:
            output.flag("a page in another language", page.lang)
        problems += output.problems
    return problems


@pytest.mark.parametrize("locale", SERVED_LOCALES)
@pytest.mark.parametrize("name", sorted(PAGES))
async def test_page_reads_right_in_every_locale(
    door: Door, name: str, locale: str, caplog: pytest.LogCaptureFixture
) -> None:
    pages = await PAGES[name](door, locale)
    english = await PAGES[name](door, "en")
    assert audit(name, locale, pages, english) == []
    assert i18n_errors(caplog) == []


@pytest.mark.parametrize("locale", SERVED_LOCALES)
async def test_missing_lesson_locale_page_reads_right(door: Door, locale: str) -> None:
    pages, english = await unknown_locale(door, locale), await unknown_locale(door, "en")
    assert audit("locale_unknown", locale, pages, english) == []


@pytest.mark.parametrize("locale", SERVED_LOCALES)
async def test_unsubscribe_pages_read_right(
    make_client: ClientMaker, session_factory: Sessions, locale: str
) -> None:
    service, _, _, _ = make(session_factory)
    client = await make_client(
        settings(), session_factory=session_factory, router=WebhookRouter(), digests=service
    )
    address = "ana@example.org"
    path = service.unsubscribe_url(address).removeprefix("https://bot.example")

    async def pages(language: str) -> list[str]:
        headers = {"Accept-Language": language}
        asked = await client.get(path, headers=headers)
        done = await client.post(path, headers=headers)
        broken = await client.get(path + "x", headers=headers)
        assert (asked.status, done.status, broken.status) == (200, 200, 400)
        return [await asked.text(), await done.text(), await broken.text()]

    shown, english = await pages(locale), await pages("en")
    problems: list[str] = []
    for number, (document, english_document) in enumerate(zip(shown, english, strict=True)):
        page = read_page(document)
        output = Output(f"unsubscribe#{number}", locale, page.segments(), (address,))
        check_clean(output)
        check_translated(output, Output("", "en", read_page(english_document).segments()))
        check_page_direction(output, page, (address,))
        problems += output.problems
    assert problems == []


async def test_the_audit_catches_what_it_looks_for() -> None:
    """An English sentence, a key, a code and an unisolated name on an Arabic page fail."""
    document = (
        '<html lang="ar" dir="ltr"><body><p>Suggest an edit</p><p>web_suggest.heading</p>'
        "<p>tag_never_closed</p><p>أرسل Ada Lovelace اقتراحًا</p><p>None</p></body></html>"
    )
    english = '<html lang="en"><body><p>Suggest an edit</p></body></html>'
    problems = audit("probe", "ar", [document], [english])
    assert any("English" in problem for problem in problems)
    assert any("message key" in problem for problem in problems)
    assert any("internal code" in problem for problem in problems)
    assert any("not isolated" in problem for problem in problems)
    assert any("Python value" in problem for problem in problems)
    assert any('dir="rtl"' in problem for problem in problems)
    # The same words, translated, the name isolated: nothing to say.
    clean = (
        '<html lang="ar" dir="rtl"><body><p>اقترح تعديلًا</p>'
        "<p>أرسل <bdi>Ada Lovelace</bdi> اقتراحًا</p></body></html>"
    )
    assert audit("probe", "ar", [clean], [english]) == []


@pytest.mark.parametrize("locale", SERVED_LOCALES)
async def test_too_many_requests_page_reads_right(
    session_factory: Sessions, tmp_path: Path, locale: str
) -> None:
    door = await open_door(session_factory, every_locale_content(tmp_path), per_ip_per_hour=1)
    try:

        async def refused(language: str) -> str:
            url = f"{FORM_URL}?locale={language}"
            # One post an hour: the first is refused for its form, the second for the limit.
            await door.client.post(url, data=form("x", locale=language))
            answer = await door.client.post(url, data=form("x", locale=language))
            assert answer.status == 429
            return await answer.text()

        pages, english = [await refused(locale)], [await refused("en")]
    finally:
        await door.client.close()
    assert audit("too_many", locale, pages, english) == []
