"""The web app's first page: programs, lessons titled in the page's language, suggest links."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.web.suggest_support import Door, Sessions, copy_content, open_door

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
async def door(session_factory: Sessions, tmp_path: Path) -> AsyncIterator[Door]:
    """Serve the fixture lessons, plus one whose title holds markup."""
    content = copy_content(tmp_path)
    (content / "programs/demo/lessons/en/script.mdx").write_text(
        f"---\ntitle: '{SCRIPT}'\ndescription: Markup in a title.\norder: 3\n---\n\nText.\n",
        encoding="utf-8",
    )
    opened = await open_door(session_factory, content)
    yield opened
    await opened.client.close()


def visible(page: str) -> str:
    """Return a page's text without tags, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


async def test_the_first_page_lists_programs_and_lessons_with_suggest_links(door: Door) -> None:
    response = await door.client.get("/", params={"locale": "en"})
    page = await response.text()
    assert response.status == 200 and response.content_type == "text/html"
    assert "Content-Security-Policy" in response.headers
    assert '<html lang="en" dir="ltr">' in page
    assert "<h1>Lessons</h1>" in page and "Demo Program" in page
    assert "Quizzes With Pipes" in page
    assert 'href="/lessons/demo/pipes/suggest?locale=en"' in page
    # The lesson's other languages, each its own form, named in that language.
    assert 'href="/lessons/demo/pipes/suggest?locale=es" lang="es" hreflang="es"' in page
    assert ">español</a>" in page and ">العربية</a>" in page
    # Each value sits in its own directional isolate, so a title of another script reads right.
    label = "Suggest an edit: \u2068Quizzes With Pipes\u2069 (\u2068English\u2069)"
    assert f'aria-label="{label}"' in page
    assert "Quizzes With Arrays" not in page  # a draft, as the site hides it
    # A title is text, never markup.
    assert SCRIPT not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert SCRIPT in visible(page)
    assert 'href="/?locale=ar" lang="ar" hreflang="ar"' in page


async def test_titles_follow_the_page_language_and_fall_back_to_the_default(door: Door) -> None:
    response = await door.client.get("/", headers={"Accept-Language": "es-ES,es;q=0.9"})
    page = await response.text()
    assert '<html lang="es" dir="ltr">' in page and "<h1>Lecciones</h1>" in page
    assert "Programa de demostración" in page
    assert 'lang="es" dir="ltr">Cuestionarios con barras: &#34;pipes&#34;</span>' in page
    assert 'href="/lessons/demo/pipes/suggest?locale=es"' in page
    # No Spanish file: the English title, marked as English, with the English form.
    assert '<span class="lesson-title" lang="en" dir="ltr">&lt;script&gt;' in page
    assert 'aria-current="page">español</a>' in page


async def test_arabic_is_served_right_to_left(door: Door) -> None:
    response = await door.client.get("/", params={"locale": "ar"})
    page = await response.text()
    assert '<html lang="ar" dir="rtl">' in page
    assert "برنامج تجريبي" in page
    assert 'lang="ar" dir="rtl">اختبارات بالفواصل</span>' in page
    assert 'href="/lessons/demo/pipes/suggest?locale=ar"' in page


async def test_an_unknown_path_is_still_a_404(door: Door) -> None:
    response = await door.client.get("/nothing-here")
    assert response.status == 404
