"""The digest email's HTML part in headless Chromium, in English and Arabic.

Screenshots are kept in tests/artifacts/ (gitignored) for people to look at.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Browser

from bot.domain.digest import QuestionRecord, SuggestionRecord, build_digest
from bot.domain.digest_email import render_email
from tests.e2e.conftest import ARTIFACTS

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
UNSUBSCRIBE = "https://bot.example/digest/unsubscribe?address=ana%40example.org&token=abc"


def sample_digest():
    def q(qid: int, days: float, lesson: str, text: str, locale: str) -> QuestionRecord:
        return QuestionRecord(
            qid,
            "python",
            lesson,
            lesson.title(),
            f"learner{qid}",
            text,
            NOW - timedelta(days=days),
            f"https://discord.com/channels/1/2/{qid}",
            locale,
        )

    questions = [
        q(1, 9, "loops", "How do I break out of two nested loops at once?", "en"),
        q(2, 4, "loops", "¿Por qué mi bucle no termina nunca?", "es"),
        q(3, 1.5, "functions", "لماذا تعيد الدالة None بدلًا من القيمة؟", "ar"),
        q(4, 0.2, "functions", "为什么这个函数没有返回值？", "zh"),  # noqa: RUF001
    ]
    waiting = [
        SuggestionRecord(
            7,
            "python",
            "loops",
            "en",
            "open",
            NOW - timedelta(days=5),
            "https://github.com/o/r/pull/7",
        ),
    ]
    return build_digest(questions, waiting, now=NOW, since=NOW - timedelta(days=7))


@pytest.mark.parametrize("locale", ["en", "ar"])
async def test_the_digest_email_renders_in_chromium(browser: Browser, locale: str) -> None:
    email = render_email(sample_digest(), locale, UNSUBSCRIBE)
    page = await browser.new_page(viewport={"width": 760, "height": 900})
    # Mail clients load nothing from outside: neither does this page.
    await page.route("**/*", lambda route: route.abort())
    await page.set_content(email.html)
    assert await page.evaluate("document.documentElement.dir") == (
        "rtl" if locale == "ar" else "ltr"
    )
    direction = await page.evaluate(
        "getComputedStyle(document.querySelector('body > div')).direction"
    )
    assert direction == ("rtl" if locale == "ar" else "ltr")
    links = await page.eval_on_selector_all("a", "els => els.map(e => e.href)")
    assert "https://discord.com/channels/1/2/1" in links
    assert UNSUBSCRIBE in links
    text = await page.inner_text("body")
    assert "How do I break out of two nested loops at once?" in text
    assert "digest." not in text and "{" not in text
    # The text is laid out on the page: the heading sits inside the visible card.
    heading = await page.query_selector("h1")
    assert heading is not None
    box = await heading.bounding_box()
    assert box is not None and box["width"] > 0 and box["height"] > 0
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"digest-email-{locale}.png"
    await page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 0
    await page.close()
