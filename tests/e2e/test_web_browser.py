"""The suggest form and status page in a real headless Chromium, in English and Arabic.

Fill the form (the passage copied by selecting it in the rendered lesson), preview the
diff, send, land on the status page and follow it, while the job worker opens the pull
request in the GitHub sandbox, until the PR link shows. Screenshots are kept under
tests/artifacts/. A missing browser fails the test: install it with `make install-browser`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from bot.config import GitHubSettings, Secret
from bot.github.adapter import GitHubAdapter
from bot.services.suggestions import Author, SuggestionInput
from bot.services.worker import JobWorker
from bot.store.models import SuggestionSource
from sandboxes.github import GitHubSandbox
from tests.conftest import FIXTURES
from tests.e2e.conftest import ARTIFACTS, TIMEOUT_MS
from tests.web.suggest_support import Door, Sessions, copy_content, open_door


@pytest.fixture
async def door(session_factory: Sessions, tmp_path: Path) -> AsyncIterator[Door]:
    """Serve the suggest door with a GitHub adapter pointed at the GitHub sandbox."""
    async with GitHubSandbox(FIXTURES / "content", "lessons/content") as sandbox:
        github = GitHubAdapter.from_settings(
            GitHubSettings(
                base_url=sandbox.base_url,
                repository=sandbox.repository,
                token=Secret("lessonbot"),
                seconds_between_requests=0,
                seconds_between_writes=0,
            ),
            backoff=0.01,
        )
        opened = await open_door(
            session_factory, copy_content(tmp_path), github=github, poll_seconds=0.3
        )
        try:
            yield opened
        finally:
            await opened.client.close()
            github.close()


async def select_in_lesson(page: Page, text: str) -> None:
    """Select `text` in the rendered lesson as a person would, ending with a mouseup."""
    await page.evaluate(
        """(text) => {
            const lesson = document.getElementById("lesson-text");
            const walker = document.createTreeWalker(lesson, NodeFilter.SHOW_TEXT);
            let node;
            while ((node = walker.nextNode())) {
                const at = node.textContent.indexOf(text);
                if (at >= 0) {
                    const range = document.createRange();
                    range.setStart(node, at);
                    range.setEnd(node, at + text.length);
                    const selection = window.getSelection();
                    selection.removeAllRanges();
                    selection.addRange(range);
                    lesson.dispatchEvent(new MouseEvent("mouseup", {bubbles: true}));
                    return;
                }
            }
            throw new Error("text not in the lesson: " + text);
        }""",
        text,
    )


async def follow_until_pr_link(page: Page, door: Door) -> str:
    """Run the suggestion jobs while the status page polls; return the PR link it shows."""
    worker = JobWorker(door.outbox, {door.service.JOB_KIND: door.service.run_job})
    link = page.locator("#pr-link")
    for _ in range(100):
        await worker.run_once()
        if await link.count():
            break
        await asyncio.sleep(0.2)
    await expect(link).to_be_visible(timeout=TIMEOUT_MS)
    href = await link.get_attribute("href")
    assert href is not None
    return href


async def suggest(
    browser: Browser, door: Door, locale: str, passage: str, replacement: str
) -> tuple[Page, str]:
    """Fill, preview and send the form in a locale; return the status page and PR link."""
    context = await browser.new_context(locale=locale, viewport={"width": 390, "height": 844})
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(str(door.client.make_url(f"/lessons/demo/pipes/suggest?locale={locale}")))

    await select_in_lesson(page, passage)
    await expect(page.locator("#find")).to_have_value(passage)
    await expect(page.locator("#copied")).not_to_be_empty()
    await page.fill("#replace", replacement)
    await page.fill("#reason", "Clearer wording")
    await page.fill("#name", "Ada")
    await page.click("#preview-button")
    await expect(page.locator(".diff-add")).to_contain_text(replacement)
    await expect(page.locator(".diff-remove")).to_contain_text(passage)
    assert await page.input_value("#find") == passage  # the form kept what was typed
    await page.click("#send-button")

    await page.wait_for_url("**/suggestions/*")
    await expect(page.locator("#status")).to_have_attribute("data-status", "queued")
    await expect(page.locator("#withdraw-button")).to_be_visible()
    href = await follow_until_pr_link(page, door)
    await expect(page.locator("#status")).to_have_attribute("data-status", "open")
    assert errors == []
    return page, href


async def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    await page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


async def test_suggest_in_english_and_follow_it_to_the_pull_request(
    browser: Browser, door: Door
) -> None:
    page, href = await suggest(
        browser, door, "en", "Fixtures are small on purpose.", "Fixtures are kept small."
    )

    assert await page.get_attribute("html", "dir") == "ltr"
    assert "/pull/" in href
    view = await door.service.view(1)
    assert view is not None and view.status == "open" and view.pr_url == href
    assert (await screenshot(page, "suggest-status-en.png")).stat().st_size > 0


async def test_suggest_in_arabic_right_to_left(browser: Browser, door: Door) -> None:
    passage = "النص العربي يُكتب من اليمين إلى اليسار."
    context = await browser.new_context(locale="ar")
    form_page = await context.new_page()
    await form_page.goto(str(door.client.make_url("/lessons/demo/pipes/suggest?locale=ar")))
    assert await form_page.get_attribute("html", "dir") == "rtl"
    assert await form_page.get_attribute("html", "lang") == "ar"
    await screenshot(form_page, "suggest-form-ar.png")
    await context.close()

    page, href = await suggest(browser, door, "ar", passage, "يُكتب النص العربي من اليمين.")

    assert await page.get_attribute("html", "dir") == "rtl"
    direction = await page.evaluate("getComputedStyle(document.body).direction")
    assert direction == "rtl"
    assert "/pull/" in href
    assert (await screenshot(page, "suggest-status-ar.png")).stat().st_size > 0


# What the page measures of the rendered diff: its lines as a person copies them (innerText),
# each line's box, and the height the lines take inside the block's padding.
DIFF_METRICS = """() => {
    const pre = document.querySelector("pre.diff");
    const style = getComputedStyle(pre);
    const inner = pre.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
    const boxes = [...pre.querySelectorAll("span")].map((span) => span.getBoundingClientRect());
    return {
        text: pre.innerText,
        heights: boxes.map((box) => box.height),
        inner: inner,
        lineHeight: parseFloat(getComputedStyle(pre.querySelector("span")).lineHeight),
    };
}"""


async def test_the_preview_diff_shows_each_line_once(browser: Browser, door: Door) -> None:
    passage, replacement = "Fixtures are small on purpose.", "Fixtures are kept small."
    # Wide enough that no diff line wraps: one line of text is one line on screen.
    context = await browser.new_context(locale="en", viewport={"width": 1400, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    await page.goto(str(door.client.make_url("/lessons/demo/pipes/suggest?locale=en")))
    await page.fill("#find", passage)
    await page.fill("#replace", replacement)
    await page.fill("#reason", "Shorter")
    await page.click("#preview-button")
    await expect(page.locator(".diff-add")).to_contain_text(replacement)

    expected = (await preview_diff(door, passage, replacement)).splitlines()
    measured = await page.evaluate(DIFF_METRICS)
    assert measured["text"].rstrip("\n").split("\n") == expected
    assert len(measured["heights"]) == len(expected) > 4
    # Every line one line high, and nothing between them: the block is exactly as tall.
    assert all(abs(height - measured["lineHeight"]) < 1 for height in measured["heights"])
    assert abs(measured["inner"] - sum(measured["heights"])) < 2
    assert round(measured["inner"] / measured["lineHeight"]) == len(expected)
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "suggest-preview-diff-en.png"
    await page.locator("#preview").screenshot(path=str(shot))
    print(f"screenshot: {shot}")
    await context.close()


async def preview_diff(door: Door, passage: str, replacement: str) -> str:
    """Return the diff the service previews for an edit of the English fixture lesson."""
    preview = await door.service.preview(
        SuggestionInput(
            "demo/pipes", "en", passage, replacement, "Shorter", SuggestionSource.WEB, Author()
        )
    )
    return preview.diff


# Each <bdi> on the page: its text, how it is laid out, and where its first and last
# characters are drawn (in left-to-right text the first is left of the last).
BIDI_METRICS = """() => [...document.querySelectorAll("main bdi")].map((element) => {
    const style = getComputedStyle(element);
    const text = document.createTreeWalker(element, NodeFilter.SHOW_TEXT).nextNode();
    const at = (index) => {
        const range = document.createRange();
        range.setStart(text, index);
        range.setEnd(text, index + 1);
        return range.getBoundingClientRect().left;
    };
    return {
        text: element.textContent,
        direction: style.direction,
        isolated: style.unicodeBidi === "isolate",
        pieces: element.getClientRects().length,
        firstLeft: text && text.length > 1 ? at(0) : null,
        lastLeft: text && text.length > 1 ? at(text.length - 1) : null,
    };
})"""


async def test_the_arabic_status_page_of_a_spanish_suggestion_keeps_each_value_whole(
    browser: Browser, door: Door
) -> None:
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
    context = await browser.new_context(locale="ar", viewport={"width": 900, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    await page.goto(str(door.client.make_url(f"/suggestions/{sent.id}?locale=ar")))
    assert await page.get_attribute("html", "dir") == "rtl"

    shown = {item["text"]: item for item in await page.evaluate(BIDI_METRICS)}
    title = shown['Cuestionarios con barras: "pipes"']
    # The Spanish title is isolated and drawn left to right in one piece: its closing quote
    # stays at its end instead of jumping to the Arabic side.
    assert title["isolated"] and title["direction"] == "ltr" and title["pieces"] == 1
    assert title["firstLeft"] < title["lastLeft"]
    identity = shown["demo/pipes"]
    assert identity["isolated"] and identity["firstLeft"] < identity["lastLeft"]
    assert shown["الإسبانية"]["isolated"]
    # In the heading, the Arabic words come first from the right, then the title.
    heading = await page.evaluate(
        """() => {
            const h1 = document.querySelector("h1");
            const range = document.createRange();
            range.selectNodeContents(h1.firstChild);
            return {
                arabic: range.getBoundingClientRect().toJSON(),
                title: h1.querySelector("bdi").getBoundingClientRect().toJSON(),
            };
        }"""
    )
    assert heading["title"]["right"] <= heading["arabic"]["left"] + 1
    await screenshot(page, "suggest-status-ar-spanish-lesson.png")
    await context.close()
