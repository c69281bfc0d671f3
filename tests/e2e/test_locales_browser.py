"""The pages and the digest email in Arabic and Chinese, as Chromium draws them: screenshots
for people to look at (tests/artifacts/screens/<locale>/, not committed), right to left in
Arabic, and every letter drawn from a font, never as a missing-glyph box (tofu)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from tests.e2e.conftest import ARTIFACTS, TIMEOUT_MS
from tests.i18n.test_emails_all_locales import digest_settings, mail_to
from tests.i18n.test_pages_all_locales import every_locale_content
from tests.services.test_digests import drain, make, seed
from tests.web.suggest_support import FORM_URL, Door, Sessions, form, open_door

SCREENS = ARTIFACTS / "screens"
# The letters of each script the check measures (and the sample when a page has none).
SCRIPTS = {"ar": r"[\u0600-\u06ff]", "zh": r"[\u4e00-\u9fff]"}
# Code points no font has (unassigned): Chromium draws each as the missing-glyph box.
TOFU = "\u0378\u0379\U0003fffd"

# Each letter drawn alone in the heading's font, as pixels: a letter no font has is drawn
# as the same box as an unassigned code point, whatever width that box has.
_DRAW = """([text, tofu]) => {
    const heading = document.querySelector("h1") || document.body;
    const font = getComputedStyle(heading).font;
    const canvas = document.createElement("canvas");
    canvas.width = 96;
    canvas.height = 96;
    const context = canvas.getContext("2d");
    const draw = (letter) => {
        context.clearRect(0, 0, canvas.width, canvas.height);
        context.font = font;
        context.fillStyle = "#000";
        context.textBaseline = "top";
        context.fillText(letter, 8, 8);
        return canvas.toDataURL();
    };
    return {letters: [...text].map((letter) => [letter, draw(letter)]), tofu: [...tofu].map(draw)};
}"""

Opener = Callable[[Page, Door, Sessions, str], Awaitable[None]]


@pytest.fixture
async def door(session_factory: Sessions, tmp_path: Path) -> AsyncIterator[Door]:
    """Serve the web app over a lesson that exists in every served locale."""
    opened = await open_door(session_factory, every_locale_content(tmp_path))
    yield opened
    await opened.client.close()


async def suggest_form(page: Page, door: Door, _: Sessions, locale: str) -> None:
    await page.goto(str(door.client.make_url(f"{FORM_URL}?locale={locale}")))


async def status(page: Page, door: Door, _: Sessions, locale: str) -> None:
    csrf = await door.csrf(f"{FORM_URL}?locale={locale}")
    sent = await door.client.post(
        FORM_URL, data=form(csrf, locale=locale, name="Ada Lovelace"), allow_redirects=False
    )
    assert sent.status == 303
    await page.goto(str(door.client.make_url(sent.headers["Location"])))


async def message(page: Page, door: Door, _: Sessions, locale: str) -> None:
    await page.goto(str(door.client.make_url(f"/suggestions/424242?locale={locale}")))


async def digest_email(page: Page, _: Door, sessions: Sessions, locale: str) -> None:
    await seed(sessions)
    service, worker, _, mail = make(sessions, digest_settings())
    await service.run("manual:screens")
    await drain(worker)
    [sent] = mail_to(mail.sent, locale)
    assert sent.html is not None
    await page.set_content(sent.html)


PAGES: dict[str, Opener] = {
    "suggest_form": suggest_form,
    "status": status,
    "message": message,
    "digest_email": digest_email,
}


@pytest.mark.parametrize("locale", sorted(SCRIPTS))
@pytest.mark.parametrize("name", sorted(PAGES))
async def test_the_page_is_drawn_in_its_script(
    browser: Browser, door: Door, session_factory: Sessions, name: str, locale: str
) -> None:
    context = await browser.new_context(locale=locale, viewport={"width": 1024, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        await PAGES[name](page, door, session_factory, locale)
        await page.wait_for_load_state("load")
        shot = SCREENS / locale / f"{name}.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot: {shot}")

        direction = await page.evaluate("document.documentElement.dir")
        assert direction == ("rtl" if locale == "ar" else "ltr")
        heading = await page.evaluate("(document.querySelector('h1') || document.body).innerText")
        letters = "".join(dict.fromkeys(re.findall(SCRIPTS[locale], heading)))
        assert letters, f"the heading {heading!r} has no {locale} letters"
        drawn = await page.evaluate(_DRAW, [letters, TOFU])
    finally:
        await context.close()

    tofu = drawn["tofu"]
    # The baseline is one box: two unassigned code points are drawn alike.
    assert tofu[0] == tofu[1]
    boxes = [letter for letter, image in drawn["letters"] if image in tofu]
    assert boxes == [], f"drawn as missing-glyph boxes: {boxes} (install fonts-noto-cjk/-core)"
