"""Lesson MDX as safe HTML: Markdown, components as labelled blocks, raw HTML sanitized."""

from __future__ import annotations

import re

from bot.domain.render import humanize, render_lesson, strip_front_matter
from tests.conftest import FIXTURES

PIPES = FIXTURES / "content" / "programs" / "demo" / "lessons" / "en" / "pipes.mdx"


def test_the_fixture_lesson_renders_its_text_and_components_without_front_matter() -> None:
    html = render_lesson(PIPES.read_text(encoding="utf-8"))

    assert "title:" not in html and "published" not in html
    assert "<h2>Quizzes With Pipes</h2>" in html  # one level below the page's own title
    assert "<code>inline &lt;Code&gt;</code>" in html  # code is text, not a component
    assert '<section class="mdx mdx-fun-fact" aria-label="Fun fact">' in html
    assert "<p>Fixtures are small on purpose.</p>" in html
    assert html.count('class="mdx mdx-quiz"') == 2
    assert '<li class="mdx-answer">second <strong>(answer)</strong></li>' in html
    assert "Counting starts at 0." in html


def test_labels_come_from_the_caller_in_the_readers_language() -> None:
    html = render_lesson(
        "<Quiz question='¿Sí?' options='sí|no' answer='0' explanation='Porque sí.' />",
        {"Quiz": "Cuestionario", "answer": "respuesta correcta", "explanation": "Explicación"},
    )

    assert 'aria-label="Cuestionario"' in html
    assert "sí <strong>(respuesta correcta)</strong>" in html
    assert "<strong>Explicación:</strong> Porque sí." in html


def test_raw_html_is_sanitized_and_attributes_are_escaped() -> None:
    html = render_lesson(
        "# T\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n"
        '<a href="javascript:alert(1)" onclick="x()">link</a> [md](javascript:alert(2))\n\n'
        "<Callout title='<b>hi</b>\" onmouseover=\"x'>\nBody with <iframe src=x></iframe>\n"
        "</Callout>\n"
    )

    lowered = html.lower()
    tags = re.findall(r"<[^>]*>", lowered)
    for forbidden in ("<script", "<iframe", "<img", "javascript:"):
        assert forbidden not in lowered
    for attribute in ("onerror", "onclick", "onmouseover", "src="):
        assert not [tag for tag in tags if attribute in tag]
    assert "Callout: &lt;b&gt;hi&lt;/b&gt;" in html
    assert 'rel="noopener noreferrer nofollow"' in html


def test_components_nest_and_unclosed_or_stray_tags_do_not_lose_text() -> None:
    html = render_lesson(
        "<Callout type='tip'>\nOuter\n<ThinkAboutIt>\nInner **bold**\n</ThinkAboutIt>\n"
        "</Callout>\n\n</Stray>\n\n<FunFact>\nNever closed\n"
    )

    assert html.index("Callout: tip") < html.index("Think about it") < html.index("Inner")
    assert "<strong>bold</strong>" in html
    assert "Stray" not in html
    assert "Never closed" in html and 'aria-label="Fun fact"' in html


def test_tags_inside_code_blocks_stay_code() -> None:
    html = render_lesson("```jsx\n<Quiz question='x' />\n```\n")

    assert "mdx-quiz" not in html
    assert "&lt;Quiz question=" in html


def test_a_tag_that_cannot_be_read_is_shown_as_text() -> None:
    html = render_lesson("Before\n\n<Quiz question='never closed\n\nAfter\n")

    assert "Before" in html and "After" in html


def test_front_matter_and_names() -> None:
    assert strip_front_matter("---\ntitle: x\n---\nBody\n") == "Body\n"
    assert strip_front_matter("No front matter\n") == "No front matter\n"
    assert humanize("ThinkAboutIt") == "Think about it"
    assert humanize("FunFact") == "Fun fact"
