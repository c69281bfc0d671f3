"""The pages a newcomer's clicks open, in a real headless Chromium: a pull request with a
suggested change in the GitHub sandbox, a forum post with an embed and buttons in the
Discord sandbox's viewer, and the web app's list of lessons. Screenshots are kept under
tests/artifacts/. A missing browser fails the test: install it with `make install-browser`.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import aiohttp
import pytest
from github import Auth, Github
from playwright.async_api import Browser, Page, expect

from sandboxes.discord import DiscordSandbox
from sandboxes.github import GitHubSandbox
from tests.conftest import FIXTURES
from tests.e2e.conftest import ARTIFACTS, TIMEOUT_MS
from tests.web.suggest_support import Sessions, copy_content, open_door

LESSON = "programs/demo/lessons/en/pipes.mdx"
SUGGESTION = "Clearer:\n\n```suggestion\nFixtures are kept small on purpose.\n```\n"


async def open_page(browser: Browser, url: str, locale: str = "en") -> Page:
    """Open a page in a fresh context, failing on any script error."""
    context = await browser.new_context(locale=locale, viewport={"width": 1100, "height": 800})
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.on("pageerror", lambda error: pytest.fail(f"script error on {url}: {error}"))
    response = await page.goto(url)
    assert response is not None and response.status == 200, url
    return page


async def screenshot(page: Page, name: str) -> Path:
    """Keep a full-page screenshot under tests/artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    await page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    assert path.stat().st_size > 0
    return path


def review_a_suggestion(base_url: str) -> str:
    """Open a pull request and review it with a suggestion block; return its html_url."""
    bot = Github(base_url=base_url, auth=Auth.Token("lessonbot"), retry=None)
    maintainer = Github(base_url=base_url, auth=Auth.Token("maintainer"), retry=None)
    try:
        repo = bot.get_repo("lessons/content")
        repo.create_git_ref("refs/heads/suggest-1", repo.get_branch("main").commit.sha)
        current = repo.get_contents(LESSON, ref="suggest-1")
        text = current.decoded_content.replace(b"small on purpose", b"tiny on purpose")
        repo.update_file(LESSON, "Suggest: tiny", text, current.sha, "suggest-1")
        number = repo.create_pull(
            base="main", head="suggest-1", title="Say <tiny>", body="From **Discord**."
        ).number
        pull = maintainer.get_repo("lessons/content").get_pull(number)
        line = text.decode().splitlines().index("Fixtures are tiny on purpose.") + 1
        pull.create_review(
            body="Nearly: <script>alert(1)</script>",
            event="REQUEST_CHANGES",
            comments=[{"path": LESSON, "line": line, "side": "RIGHT", "body": SUGGESTION}],
        )
        return pull.html_url
    finally:
        bot.close()
        maintainer.close()


async def test_a_pull_request_with_a_suggested_change(browser: Browser) -> None:
    async with GitHubSandbox(FIXTURES / "content", "lessons/content") as sandbox:
        url = await asyncio.to_thread(review_a_suggestion, sandbox.base_url)
        page = await open_page(browser, url)
        await expect(page.locator(".sandbox-header")).to_contain_text("GitHub sandbox (offline)")
        await expect(page.locator("h1")).to_contain_text("Say <tiny>")
        review = page.locator("article[id^=pullrequestreview-]")
        await expect(review).to_contain_text("requested changes")
        await expect(review).to_contain_text("Nearly: <script>alert(1)</script>")
        suggestion = page.locator(".suggestion")
        await expect(suggestion).to_contain_text("Suggested change")
        await expect(suggestion.locator("tr.d-del")).to_contain_text(
            "-Fixtures are tiny on purpose."
        )
        await expect(suggestion.locator("tr.d-add")).to_contain_text(
            "+Fixtures are kept small on purpose."
        )
        await screenshot(page, "views-github-pull.png")

        await page.click("text=Files changed")
        await expect(page.locator("table.diff tr.d-add").first).to_contain_text("tiny on purpose")
        await screenshot(page, "views-github-files.png")


async def test_a_forum_post_in_the_discord_viewer(browser: Browser) -> None:
    async with DiscordSandbox() as sandbox, aiohttp.ClientSession() as http:
        guild = sandbox.create_guild(
            "Lessons",
            channels=[{"name": "demo-program", "type": 15, "topic": "Demo Program"}],
            members=[{"id": 1001, "username": "ana", "locale": "es-ES"}],
        )
        forum = guild["channels"]["demo-program"]
        body = {
            "name": "Quizzes With Pipes",
            "message": {
                "content": "Discuss **Quizzes With Pipes** here.",
                "embeds": [
                    {
                        "title": "Quizzes With Pipes",
                        "url": "https://example.org/en/programs/demo/lessons/pipes",
                        "description": "A fixture lesson using the pipe quiz syntax",
                        "color": 0x2B7A78,
                        "fields": [{"name": "Links", "value": "[GitHub issue](http://x/1)"}],
                    }
                ],
                "components": [
                    {
                        "type": 1,
                        "components": [
                            {"type": 2, "style": 1, "label": "Suggest an edit", "custom_id": "s"},
                            {"type": 2, "style": 2, "label": "Ask", "custom_id": "a"},
                        ],
                    }
                ],
            },
        }
        headers = {"Authorization": f"Bot {sandbox.bot_token}"}
        async with http.post(
            f"{sandbox.api_base_url}/channels/{forum}/threads", json=body, headers=headers
        ) as response:
            assert response.status in (200, 201)
            thread = int((await response.json())["id"])
        for n in range(25):  # enough to scroll: the link must land on the message
            await sandbox.post_message(thread, 1001, f"Message {n} <script>alert(1)</script>")
        last = sandbox.channel_messages(thread)[-1]["id"]

        page = await open_page(
            browser, f"{sandbox.web_url}/channels/{guild['id']}/{thread}/{thread}"
        )
        await expect(page.locator(".sandbox-header")).to_contain_text("Discord sandbox (offline)")
        starter = page.locator(f"#message-{thread}")
        await expect(starter).to_have_class("message target")
        await expect(starter.locator(".embed .title")).to_have_text("Quizzes With Pipes")
        await expect(starter.locator(".embed")).to_contain_text("GitHub issue")
        button = starter.get_by_role("button", name="Suggest an edit")
        await expect(button).to_be_disabled()
        await expect(starter.get_by_role("button", name="Ask")).to_be_disabled()
        await screenshot(page, "views-discord-post.png")

        # A link to a later message opens scrolled to it, focused, no script needed.
        page = await open_page(browser, f"{sandbox.web_url}/channels/{guild['id']}/{thread}/{last}")
        target = page.locator(f"#message-{last}")
        await expect(target).to_be_focused()
        await expect(target).to_be_in_viewport()
        await expect(target).to_contain_text("Message 24 <script>alert(1)</script>")
        await screenshot(page, "views-discord-message.png")

        forum_page = await open_page(browser, f"{sandbox.web_url}/channels/{guild['id']}/{forum}")
        await expect(forum_page.get_by_role("link", name="Quizzes With Pipes")).to_be_visible()


async def test_the_web_apps_list_of_lessons(
    browser: Browser, session_factory: Sessions, tmp_path: Path
) -> None:
    door = await open_door(session_factory, copy_content(tmp_path))
    try:
        page = await open_page(browser, str(door.client.make_url("/")))
        await expect(page.locator("h1")).to_have_text("Lessons")
        item = page.locator("#lesson-demo-pipes")
        await expect(item).to_contain_text("Quizzes With Pipes")
        # The label isolates each value (U+2068 ... U+2069) for right-to-left pages.
        link = item.get_by_role(
            "link",
            name=re.compile(r"^Suggest an edit: \W?Quizzes With Pipes\W? \(\W?English\W?\)$"),
        )
        await expect(link).to_be_visible()
        await screenshot(page, "views-lessons-en.png")
        await link.click()
        await page.wait_for_url("**/lessons/demo/pipes/suggest?locale=en")
        await expect(page.locator("#find")).to_be_visible()

        arabic = await open_page(browser, str(door.client.make_url("/")), locale="ar")
        assert await arabic.get_attribute("html", "dir") == "rtl"
        await expect(arabic.locator("#lesson-demo-pipes")).to_contain_text("اختبارات بالفواصل")
        await screenshot(arabic, "views-lessons-ar.png")
    finally:
        await door.client.close()
