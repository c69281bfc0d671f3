"""The embed on a static lesson page, in a real headless Chromium, under a strict CSP.

A page made here from lessons/ (rendered with the bot's own renderer) is served from its
own origin with `script-src 'self' <bot>; style-src <bot>`, and includes the embed with
one tag. The bot reads the lesson's post in the Discord sandbox and its issue in the
GitHub sandbox; a reader selects a sentence with bold text, the button opens the suggest
form with the source passage, and sending it opens a pull request in the GitHub sandbox.
Screenshots in Arabic and Chinese are kept under tests/artifacts/.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from markupsafe import escape
from playwright.async_api import Browser, BrowserContext, Page, expect

from bot.config import GitHubSettings, Secret
from bot.discord.client import create_bot
from bot.domain.render import render_lesson
from bot.github.adapter import GitHubAdapter
from bot.services.discussion import DiscussionService
from bot.store.models import Lesson, LessonLink, ProgramForum, Question, QuestionSource
from sandboxes.discord import DiscordSandbox
from sandboxes.github import GitHubSandbox
from tests.discord.support import BOT_TOKEN, make_settings
from tests.e2e.conftest import ARTIFACTS, TIMEOUT_MS
from tests.e2e.test_web_browser import follow_until_pr_link
from tests.web.suggest_support import Door, Sessions, open_door

LESSONS = Path(__file__).resolve().parents[2] / "lessons"
LESSON = "data-basics/what-is-data"
MARK_X, MARK_Y = "<!-- lessonbot:lesson=x -->", "<!-- lessonbot:lesson=y -->"
HOSTILE = '<img src="x" onerror="window.__pwned = 1"> is data always numbers?'
SENTENCES = {
    "en": (
        "Structured data fits neatly into rows and columns, like a spreadsheet of "
        "students and their marks.",
        "**Structured data** fits neatly into rows and columns, like a spreadsheet of "
        "students and their marks.",
    ),
    "ar": (
        "البيانات المنظَّمة تنتظم بسهولة في صفوف وأعمدة، مثل جدول بأسماء الطلاب ودرجاتهم.",
        "**البيانات المنظَّمة** تنتظم بسهولة في صفوف وأعمدة، مثل جدول بأسماء الطلاب ودرجاتهم.",
    ),
}


def lesson_page(bot: str, lesson_locale: str, reader_locale: str) -> str:
    """Return a static lesson page, as the site would serve it, with the embed's one tag."""
    source = (
        LESSONS / "programs/data-basics/lessons" / lesson_locale / "what-is-data.mdx"
    ).read_text(encoding="utf-8")
    direction = "rtl" if lesson_locale == "ar" else "ltr"
    return f"""<!doctype html>
<html lang="{lesson_locale}" dir="{direction}">
<head><meta charset="utf-8"><title>Lesson</title></head>
<body>
<main><article id="lesson">{render_lesson(source)}</article>
<div data-lessonbot></div>
<script src="{escape(bot)}/embed.js" data-lesson="{LESSON}"
  data-locale="{reader_locale}" async></script>
<noscript><a href="{escape(bot)}/lessons/{LESSON}/discussion?locale={reader_locale}">
  Discussion</a></noscript>
</main>
</body>
</html>"""


def strict_csp(bot: str) -> str:
    """Return the policy a careful lesson site sets: only itself and the bot, no inline."""
    return (
        f"default-src 'none'; script-src 'self' {bot}; style-src {bot}; "
        f"connect-src {bot}; img-src 'self'; base-uri 'none'"
    )


@dataclass
class World:
    """The bot's web app, the sandboxes behind it, and the static lesson site."""

    door: Door
    site: TestServer
    bot_url: str
    post_url: str


async def seed(sessions: Sessions, guild_id: int, forum_id: int, post: Any, issue: Any) -> None:
    """Store the lesson's links (as a sync leaves them) and one open question."""
    async with sessions() as session, session.begin():
        lesson = Lesson(program="data-basics", slug="what-is-data")
        session.add(lesson)
        await session.flush()
        session.add(
            ProgramForum(
                program="data-basics",
                discord_guild_id=guild_id,
                discord_forum_id=forum_id,
                tag_ids={},
            )
        )
        session.add(
            LessonLink(
                lesson_id=lesson.id,
                discord_forum_id=forum_id,
                discord_thread_id=post.thread_id,
                discord_starter_message_id=post.message_ids[0],
                github_issue_number=issue.number,
                github_issue_url=issue.html_url,
            )
        )
        session.add(
            Question(
                source=QuestionSource.DISCORD,
                external_id="1",
                container_id=str(post.thread_id),
                lesson_id=lesson.id,
                author_id="1",
                author_name="ana",
                text=HOSTILE,
                asked_at=datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
            )
        )


def github_adapter(sandbox: GitHubSandbox, token: str) -> GitHubAdapter:
    """Return the bot's GitHub adapter on the sandbox, as the user the token names."""
    return GitHubAdapter.from_settings(
        GitHubSettings(
            base_url=sandbox.base_url,
            repository=sandbox.repository,
            token=Secret(token),
            seconds_between_requests=0,
            seconds_between_writes=0,
        ),
        backoff=0.01,
    )


@pytest.fixture
async def world(session_factory: Sessions, tmp_path: Path) -> AsyncIterator[World]:
    """Start the sandboxes, link the lesson, serve the bot and a static lesson site."""
    content = tmp_path / "lessons"
    shutil.copytree(LESSONS, content)
    async with (
        DiscordSandbox(bot_token=BOT_TOKEN) as discord,
        GitHubSandbox(LESSONS, "lessons/content") as github,
    ):
        guild = discord.create_guild(
            "Site",
            channels=[{"name": "data-basics", "type": 15, "available_tags": [{"name": "lesson"}]}],
            members=[{"username": "ana", "locale": "es-ES"}],
        )
        guild_id, forum_id = int(guild["id"]), int(guild["channels"]["data-basics"])
        ana = int(guild["members"][0])
        bot = create_bot(make_settings(discord.api_base_url, discord.gateway_url, guild_id))
        bot.sync_commands = False
        await bot.login(BOT_TOKEN)
        adapter = github_adapter(github, "lessonbot")
        person = github_adapter(github, "grace")
        try:
            post = await bot.chat.create_forum_post(
                forum_id, "What is data?", "Talk about this lesson here.", tags=["lesson"]
            )
            await discord.post_message(post.thread_id, ana, HOSTILE)
            issue = await adapter.create_issue("What is data?", MARK_X, ["lesson"], MARK_X)
            await person.create_comment(issue.number, "The **second** quiz could use a hint.")
            await seed(session_factory, guild_id, forum_id, post, issue)
            service = DiscussionService(
                session_factory,
                chat=bot.chat,
                github=adapter,
                discord_web_url=discord.web_url,
            )
            door = await open_door(session_factory, content, github=adapter, discussion=service)
            bot_url = str(door.client.make_url("")).rstrip("/")

            async def page(request: web.Request) -> web.Response:
                name = request.match_info["name"]
                lesson_locale, _, reader = name.partition("-")
                html = lesson_page(bot_url, lesson_locale, reader or lesson_locale)
                return web.Response(
                    text=html,
                    content_type="text/html",
                    headers={"Content-Security-Policy": strict_csp(bot_url)},
                )

            app = web.Application()
            app.router.add_get("/lesson/{name}", page)
            site = TestServer(app)
            await site.start_server()
            post_url = (
                f"{discord.web_url}/channels/{guild_id}/{post.thread_id}/{post.message_ids[0]}"
            )
            try:
                yield World(door, site, bot_url, post_url)
            finally:
                await site.close()
                await door.client.close()
        finally:
            await bot.close()
            adapter.close()
            person.close()


async def open_lesson(
    browser: Browser, world: World, name: str, locale: str
) -> tuple[BrowserContext, Page, list[str]]:
    """Open a lesson page; return it and the CSP violations and page errors it reports."""
    context = await browser.new_context(locale=locale, viewport={"width": 900, "height": 1000})
    # Registered before the page's own scripts: a violation of the page's CSP is recorded.
    await context.add_init_script(
        """window.__violations = [];
        document.addEventListener("securitypolicyviolation", (event) => {
            window.__violations.push(event.violatedDirective + " " + event.blockedURI);
        });"""
    )
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"error: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"console: {message.text}")
            if "Content Security Policy" in message.text
            else None
        ),
    )
    # Every request of the page and the embed must succeed (the browser's own favicon
    # guess aside: the static site has none).
    page.on(
        "response",
        lambda response: (
            problems.append(f"{response.status} {response.url}")
            if response.status >= 400 and not response.url.endswith("/favicon.ico")
            else None
        ),
    )
    await page.goto(str(world.site.make_url(f"/lesson/{name}")))
    await expect(page.locator("[data-lessonbot][data-lessonbot-ready]")).to_have_count(1)
    return context, page, problems


async def select_sentence(page: Page, sentence: str) -> None:
    """Select a sentence of the lesson across its bold and plain text, as a mouse would."""
    await page.evaluate(
        """(sentence) => {
            const article = document.getElementById("lesson");
            for (const paragraph of article.querySelectorAll("p")) {
                const text = paragraph.textContent;
                const at = text.indexOf(sentence);
                if (at < 0) continue;
                const walker = document.createTreeWalker(paragraph, NodeFilter.SHOW_TEXT);
                const nodes = [];
                let node, offset = 0;
                while ((node = walker.nextNode())) {
                    nodes.push([node, offset]);
                    offset += node.textContent.length;
                }
                const place = (index) => {
                    for (const [each, start] of nodes) {
                        if (index <= start + each.textContent.length) return [each, index - start];
                    }
                };
                const range = document.createRange();
                range.setStart(...place(at));
                range.setEnd(...place(at + sentence.length));
                const selection = window.getSelection();
                selection.removeAllRanges();
                selection.addRange(range);
                document.dispatchEvent(new MouseEvent("mouseup", {bubbles: true}));
                return;
            }
            throw new Error("sentence not in the lesson: " + sentence);
        }""",
        sentence,
    )


async def assert_clean(page: Page, problems: list[str]) -> None:
    """Check the page reported no CSP violation, error, or script run from a message."""
    assert await page.evaluate("window.__violations") == []
    assert problems == []
    assert await page.evaluate("window.__pwned") is None


@pytest.mark.parametrize("locale", ["en", "ar"])
async def test_the_embed_shows_the_discussion_and_opens_the_form_with_the_source_passage(
    browser: Browser, world: World, locale: str
) -> None:
    context, page, problems = await open_lesson(browser, world, locale, locale)
    embed = page.locator("[data-lessonbot] .lessonbot")
    await expect(embed).to_have_attribute("dir", "rtl" if locale == "ar" else "ltr")
    direction = await page.evaluate(
        """() => getComputedStyle(document.querySelector("[data-lessonbot]").shadowRoot
               .querySelector(".lessonbot")).direction"""
    )
    assert direction == ("rtl" if locale == "ar" else "ltr")
    # The hostile message is shown as its text: no element was made from it.
    texts = page.locator("[data-lessonbot] .entry-text")
    await expect(texts.filter(has_text=HOSTILE)).to_have_count(1)
    await expect(texts.filter(has_text="The **second** quiz")).to_have_count(1)
    assert (
        await page.evaluate(
            """() => document.querySelector("[data-lessonbot]").shadowRoot
               .querySelectorAll("img").length"""
        )
        == 0
    )
    authors = page.locator("[data-lessonbot] bdi.author")
    await expect(authors).to_have_count(2)
    assert sorted(await authors.all_text_contents()) == ["ana", "grace"]
    await expect(page.locator("[data-lessonbot] #open-questions dd")).to_have_text("1")
    await expect(page.locator("[data-lessonbot] #open-suggestions dd")).to_have_text("0")
    await expect(page.locator("[data-lessonbot] a.join-discord")).to_have_attribute(
        "href", world.post_url
    )
    github_link = await page.locator("[data-lessonbot] a.join-github").get_attribute("href")
    assert github_link is not None and "/issues/" in github_link

    shown, source = SENTENCES[locale]
    await select_sentence(page, shown)
    button = page.locator("[data-lessonbot-suggest] .suggest-button")
    await expect(button).to_be_visible()
    async with context.expect_page() as opened:
        await button.click()
    form = await opened.value
    form.set_default_timeout(TIMEOUT_MS)
    await form.wait_for_load_state()
    await expect(form.locator("#find")).to_have_value(source)
    await assert_clean(page, problems)

    if locale == "en":
        await form.fill("#replace", source.replace("neatly", "tidily"))
        await form.fill("#reason", "A plainer word")
        await form.click("#preview-button")
        await expect(form.locator(".diff-add")).to_contain_text("tidily")
        await form.click("#send-button")
        await form.wait_for_url("**/suggestions/*")
        href = await follow_until_pr_link(form, world.door)
        assert "/pull/" in href
    else:
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "embed-ar.png"
        await page.locator("[data-lessonbot]").screenshot(path=str(shot))
        print(f"screenshot: {shot}")
    await context.close()


async def test_the_embed_in_chinese_on_an_english_lesson(browser: Browser, world: World) -> None:
    context, page, problems = await open_lesson(browser, world, "en-zh", "zh-CN")
    await expect(page.locator("[data-lessonbot] .heading")).to_have_text("讨论")
    await expect(page.locator("[data-lessonbot] .lessonbot")).to_have_attribute("dir", "ltr")
    # Times are the reader's: Intl writes a Chinese date with 年 (year).
    await expect(page.locator("[data-lessonbot] time").first).to_contain_text("年")
    await assert_clean(page, problems)
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "embed-zh.png"
    await page.locator("[data-lessonbot]").screenshot(path=str(shot))
    print(f"screenshot: {shot}")
    await context.close()


async def test_the_discussion_degrades_when_github_cannot_be_reached(
    session_factory: Sessions, tmp_path: Path
) -> None:
    async with GitHubSandbox(LESSONS, "lessons/content") as github:
        adapter = github_adapter(github, "lessonbot")
        issue = await adapter.create_issue("t", MARK_Y, [], MARK_Y)
        await adapter.create_comment(issue.number, "a person's comment")
        base_url = github.base_url
    # The sandbox is gone: its port answers nothing any more.
    adapter.close()
    gone = GitHubAdapter.from_settings(
        GitHubSettings(base_url=base_url, repository="lessons/content", token=Secret("x")),
        backoff=0.01,
    )
    try:

        class Post:
            thread_id, message_ids = 5, (5,)

        await seed(session_factory, 1, 2, Post(), issue)
        service = DiscussionService(session_factory, github=gone)
        found = await service.discussion(LESSON)
    finally:
        gone.close()
    assert found.github_reachable is False and found.entries == ()
    assert found.issue_url == issue.html_url and found.open_questions == 1
