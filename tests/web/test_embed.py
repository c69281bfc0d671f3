"""The lesson page's embed over HTTP: its script and stylesheet, its JSON, its page."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import WebSettings
from bot.domain.review_flow import OPEN, QUEUED
from bot.services.discussion import DiscussionService
from bot.store.models import (
    Lesson,
    LessonLink,
    ProgramForum,
    Question,
    QuestionSource,
    Suggestion,
    SuggestionSource,
)
from bot.web.suggest import STATIC
from tests.web.suggest_support import Door, Sessions, open_door

LESSONS = Path(__file__).resolve().parents[2] / "lessons"
API = "/api/lessons/data-basics/what-is-data"
# Size budget of what a lesson page downloads for the embed (uncompressed bytes).
EMBED_BUDGET = 40_000


async def seed(sessions: Sessions) -> None:
    """Store the lesson, its links and what is open about it."""
    async with sessions() as session, session.begin():
        lesson = Lesson(program="data-basics", slug="what-is-data")
        other = Lesson(program="data-basics", slug="cleaning-data")
        session.add_all([lesson, other])
        await session.flush()
        session.add(
            ProgramForum(
                program="data-basics", discord_guild_id=11, discord_forum_id=22, tag_ids={}
            )
        )
        session.add(
            LessonLink(
                lesson_id=lesson.id,
                discord_forum_id=22,
                discord_thread_id=33,
                discord_starter_message_id=33,
                github_issue_number=7,
                github_issue_url="https://github.example/lessons/content/issues/7",
            )
        )
        now = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
        for index, (answered, lesson_id) in enumerate(
            [(None, lesson.id), (None, lesson.id), (now, lesson.id), (None, other.id)]
        ):
            session.add(
                Question(
                    source=QuestionSource.DISCORD,
                    external_id=str(100 + index),
                    container_id="33",
                    lesson_id=lesson_id,
                    author_id="5",
                    author_name="ana",
                    text="Why?",
                    asked_at=now,
                    answered_at=answered,
                )
            )
        for index, status in enumerate([QUEUED, OPEN, "merged"]):
            session.add(
                Suggestion(
                    source=SuggestionSource.WEB,
                    author_id="a",
                    author_name="Ada",
                    lesson_id=lesson.id,
                    locale="en",
                    edit={"find": "a", "replace": "b"},
                    status=status,
                    idempotency_key=f"k{index}",
                )
            )


@pytest.fixture
async def door(session_factory: Sessions, tmp_path: Path) -> AsyncIterator[Door]:
    """Serve the app with the embed over a copy of the sample lessons."""
    content = tmp_path / "lessons"
    shutil.copytree(LESSONS, content)
    await seed(session_factory)
    opened = await open_door(
        session_factory,
        content,
        discussion=DiscussionService(session_factory, discord_web_url="https://chat.example"),
    )
    try:
        yield opened
    finally:
        await opened.client.close()


async def test_the_script_and_stylesheet_fit_the_budget_and_revalidate(door: Door) -> None:
    script = await door.client.get("/embed.js")
    assert script.status == 200
    assert script.headers["Content-Type"].startswith("text/javascript")
    body = await script.read()
    assert body == (STATIC / "embed.js").read_bytes()
    sheet = (STATIC / "embed.css").read_bytes()
    assert len(body) + len(sheet) < EMBED_BUDGET
    assert "max-age=3600" in script.headers["Cache-Control"]
    again = await door.client.get("/embed.js", headers={"If-None-Match": script.headers["ETag"]})
    assert again.status == 304 and await again.read() == b""
    changed = await door.client.get("/embed.js", headers={"If-None-Match": '"other"'})
    assert changed.status == 200


async def test_the_versioned_stylesheet_is_cached_for_good(door: Door) -> None:
    data = await (await door.client.get(f"{API}/discussion?locale=en")).json()
    assert data["stylesheet"].startswith("/embed.css?v=")
    sheet = await door.client.get(data["stylesheet"])
    assert sheet.status == 200 and sheet.headers["Content-Type"].startswith("text/css")
    assert "immutable" in sheet.headers["Cache-Control"]
    stale = await door.client.get("/embed.css?v=old")
    assert "immutable" not in stale.headers["Cache-Control"]


async def test_the_discussion_json_has_links_counts_and_texts_in_the_locale(door: Door) -> None:
    response = await door.client.get(
        f"{API}/discussion?locale=ar", headers={"Origin": "https://learn.example"}
    )
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "max-age" in response.headers["Cache-Control"]
    data = await response.json()
    assert data["dir"] == "rtl" and data["locale"] == "ar"
    assert data["counts"] == {"questions": 2, "suggestions": 2}
    assert data["links"]["discord"] == "https://chat.example/channels/11/33/33"
    assert data["links"]["github"].endswith("/issues/7")
    assert data["links"]["suggest"] == "/lessons/data-basics/what-is-data/suggest?locale=ar"
    assert data["strings"]["join_discord"] == "انضم إلى النقاش على ديسكورد"
    assert data["entries"] == [] and data["unreachable"] == []
    english = await (await door.client.get(f"{API}/discussion?locale=en")).json()
    assert english["dir"] == "ltr"
    assert set(english["strings"]) == set(data["strings"])
    assert all(english["strings"][key] != data["strings"][key] for key in data["strings"])


async def test_a_lesson_without_links_says_so_and_an_unknown_one_is_a_localized_404(
    door: Door,
) -> None:
    data = await (
        await door.client.get("/api/lessons/data-basics/cleaning-data/discussion?locale=en")
    ).json()
    assert data["links"]["discord"] is None and data["links"]["github"] is None
    assert data["counts"] == {"questions": 1, "suggestions": 0}
    missing = await door.client.get("/api/lessons/data-basics/nope/discussion?locale=es")
    assert missing.status == 404
    error = (await missing.json())["error"]
    assert error["code"] == "lesson_unknown" and "data-basics/nope" in error["message"]
    assert error["message"].startswith("No existe")
    assert missing.headers["Access-Control-Allow-Origin"] == "*"


async def test_only_the_configured_origins_may_read(
    session_factory: Sessions, tmp_path: Path
) -> None:
    content = tmp_path / "lessons"
    shutil.copytree(LESSONS, content)
    opened = await open_door(
        session_factory,
        content,
        web=WebSettings(per_ip_per_hour=0, embed_origins=("https://learn.example",)),
        discussion=DiscussionService(session_factory),
    )
    try:
        allowed = await opened.client.get(
            f"{API}/discussion", headers={"Origin": "https://learn.example"}
        )
        assert allowed.headers["Access-Control-Allow-Origin"] == "https://learn.example"
        assert allowed.headers["Vary"] == "Origin"
        other = await opened.client.get(
            f"{API}/discussion", headers={"Origin": "https://evil.example"}
        )
        assert other.status == 200
        assert "Access-Control-Allow-Origin" not in other.headers
    finally:
        await opened.client.close()


async def test_a_selection_with_bold_text_comes_back_as_its_source(door: Door) -> None:
    selected = (
        "Structured data fits neatly into rows and columns, like a spreadsheet of "
        "students and their marks."
    )
    response = await door.client.get(f"{API}/passage", params={"locale": "en", "text": selected})
    assert response.status == 200
    found = await response.json()
    assert found["found"] is True and found["matches"] == 1
    assert found["passage"].startswith("**Structured data** fits neatly")
    assert found["message"] is None
    assert found["form"].startswith("/lessons/data-basics/what-is-data/suggest?locale=en&find=")
    form = await door.client.get(found["form"])
    page = await form.text()
    assert "**Structured data** fits neatly into rows" in page


async def test_a_selection_in_the_arabic_lesson_is_found_in_the_arabic_source(door: Door) -> None:
    selected = "البيانات المنظَّمة تنتظم بسهولة في صفوف وأعمدة"
    found = await (
        await door.client.get(
            f"{API}/passage", params={"locale": "ar", "lesson_locale": "ar", "text": selected}
        )
    ).json()
    assert found["passage"] == "**البيانات المنظَّمة** تنتظم بسهولة في صفوف وأعمدة"
    assert "locale=ar" in found["form"]


async def test_bad_selections_get_a_localized_answer_and_no_5xx(door: Door) -> None:
    empty = await door.client.get(f"{API}/passage", params={"locale": "fr", "text": "  "})
    assert empty.status == 400
    assert (await empty.json())["error"]["message"].startswith("Sélectionnez")
    long = await door.client.get(f"{API}/passage", params={"locale": "en", "text": "a" * 5001})
    assert long.status == 400
    missing = await door.client.get(
        f"{API}/passage", params={"locale": "nl", "text": "not in this lesson at all"}
    )
    assert missing.status == 200
    data = await missing.json()
    assert data["found"] is False and data["message"].startswith("Deze passage")
    twice = await (
        await door.client.get(f"{API}/passage", params={"locale": "en", "text": "data"})
    ).json()
    assert twice["matches"] > 1 and twice["message"]


async def test_the_no_script_page_shows_counts_links_and_direction(door: Door) -> None:
    page = await door.client.get("/lessons/data-basics/what-is-data/discussion?locale=ar")
    assert page.status == 200
    html = await page.text()
    assert 'dir="rtl"' in html and 'lang="ar"' in html
    assert "أسئلة مفتوحة" in html and 'id="open-questions">2<' in html
    assert "https://chat.example/channels/11/33/33" in html
    assert "Content-Security-Policy" in page.headers
    unknown = await door.client.get("/lessons/data-basics/nope/discussion")
    assert unknown.status == 404
