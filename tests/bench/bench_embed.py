"""Benchmark: what the embed costs a lesson page, in bytes and in time to interactive.

Sizes: embed.js and embed.css as served (uncompressed, and gzip level 6 as a server
would send them), next to the 40 KB budget. Time: a static lesson page made from
lessons/ (the bot's own renderer) is opened in headless Chromium (Debian's, through
Playwright: LESSONBOT_CHROMIUM or /usr/bin/chromium) from its own loopback origin, RUNS
times without the embed (the baseline) and RUNS times with it, each in a fresh context
(cold cache). Time to interactive is taken from the page's own clock: without the embed,
the load event's end; with it, the later of that and the moment the embed is ready
(discussion shown, select-to-suggest armed). The bot answers from a migrated SQLite
database with the lesson linked; no Discord or GitHub is asked (the discussion's own
cost is the JSON request). Medians in milliseconds. Prints one JSON line; never asserts.

    .venv/bin/python tests/bench/bench_embed.py
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT))  # run as a script: import the project

from aiohttp import web  # noqa: E402
from aiohttp.test_utils import TestServer  # noqa: E402
from playwright.async_api import async_playwright  # noqa: E402

from bot.config import Settings, WebSettings  # noqa: E402
from bot.domain.catalogue import load_catalogue  # noqa: E402
from bot.domain.render import render_lesson  # noqa: E402
from bot.services.discussion import DiscussionService  # noqa: E402
from bot.services.outbox import Outbox  # noqa: E402
from bot.services.signing import Signer  # noqa: E402
from bot.services.suggestions import SuggestionService  # noqa: E402
from bot.store.engine import make_engine, make_session_factory  # noqa: E402
from bot.store.migrate import upgrade  # noqa: E402
from bot.store.models import Lesson, LessonLink  # noqa: E402
from bot.web.app import create_web_app  # noqa: E402
from bot.web.router import WebhookRouter  # noqa: E402
from bot.web.suggest import STATIC  # noqa: E402

RUNS = 15
BUDGET = 40_000
CHROMIUM = os.environ.get("LESSONBOT_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LESSON = PROJECT / "lessons/programs/data-basics/lessons/en/what-is-data.mdx"
READY_PROBE = """
window.__ready = null;
new MutationObserver((changes, observer) => {
  if (document.querySelector("[data-lessonbot-ready]")) {
    window.__ready = performance.now();
    observer.disconnect();
  }
}).observe(document, {subtree: true, attributes: true, childList: true});
"""


def page_html(bot: str | None) -> str:
    """Return the static lesson page, with the embed's one tag when `bot` is given."""
    body = render_lesson(LESSON.read_text(encoding="utf-8"))
    tag = (
        f'<div data-lessonbot></div><script src="{bot}/embed.js" '
        'data-lesson="data-basics/what-is-data" data-locale="en" async></script>'
        if bot
        else ""
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Lesson</title>'
        f"</head><body><main><article>{body}</article>{tag}</main></body></html>"
    )


def sizes() -> dict[str, int]:
    """Return the embed's bytes: each file, their sum, and their gzip'd sum."""
    script, sheet = (STATIC / "embed.js").read_bytes(), (STATIC / "embed.css").read_bytes()
    return {
        "embed_js_bytes": len(script),
        "embed_css_bytes": len(sheet),
        "total_bytes": len(script) + len(sheet),
        "gzip_bytes": len(gzip.compress(script, 6)) + len(gzip.compress(sheet, 6)),
        "budget_bytes": BUDGET,
    }


async def serve_bot(folder: Path) -> tuple[TestServer, object]:
    """Serve the bot's web app on a migrated SQLite database with the lesson linked."""
    url = f"sqlite:///{folder / 'bench.db'}"
    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    async with sessions() as session, session.begin():
        lesson = Lesson(program="data-basics", slug="what-is-data")
        session.add(lesson)
        await session.flush()
        session.add(
            LessonLink(
                lesson_id=lesson.id,
                github_issue_number=1,
                github_issue_url="https://github.example/issues/1",
            )
        )
    content = folder / "lessons"
    shutil.copytree(PROJECT / "lessons", content)
    catalogue = load_catalogue(content, "en")
    settings = Settings(web=WebSettings(per_ip_per_hour=0))
    signer = Signer(b"b" * 32)
    service = SuggestionService(
        sessions, Outbox(sessions), settings, catalogue=lambda: catalogue, signer=signer
    )
    app = create_web_app(
        settings,
        session_factory=sessions,
        webhook_router=WebhookRouter(),
        suggestions=service,
        lessons=lambda: catalogue,
        signer=signer,
        discussion=DiscussionService(sessions, ttl_seconds=0),
    )
    server = TestServer(app)
    await server.start_server()
    return server, engine


async def measure(browser: object, url: str, embedded: bool) -> float:
    """Open the page in a fresh context; return its time to interactive in ms."""
    context = await browser.new_context()  # type: ignore[attr-defined]
    await context.add_init_script(READY_PROBE)
    page = await context.new_page()
    await page.goto(url, wait_until="load")
    if embedded:
        await page.wait_for_function("window.__ready !== null", timeout=30_000)
    timing = await page.evaluate(
        """() => {
            const [nav] = performance.getEntriesByType("navigation");
            return {load: nav.loadEventEnd, ready: window.__ready};
        }"""
    )
    await context.close()
    return max(timing["load"], timing["ready"] or 0.0)


async def main() -> None:
    """Serve the bot and the site, open the page with and without the embed, print."""
    with tempfile.TemporaryDirectory() as temporary:
        bot, engine = await serve_bot(Path(temporary))
        bot_url = str(bot.make_url("")).rstrip("/")

        async def page(request: web.Request) -> web.Response:
            embedded = request.match_info["name"] == "with"
            return web.Response(
                text=page_html(bot_url if embedded else None), content_type="text/html"
            )

        app = web.Application()
        app.router.add_get("/{name}", page)
        site = TestServer(app)
        await site.start_server()
        try:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                without: list[float] = []
                with_embed: list[float] = []
                for _ in range(RUNS):
                    # Interleaved, so a slow moment of the machine hits both alike.
                    without.append(await measure(browser, str(site.make_url("/without")), False))
                    with_embed.append(await measure(browser, str(site.make_url("/with")), True))
                await browser.close()
        finally:
            await site.close()
            await bot.close()
            await engine.dispose()  # type: ignore[attr-defined]
    print(
        json.dumps(
            {
                "bench": "embed",
                **sizes(),
                "runs": RUNS,
                "tti_ms_with_embed": round(statistics.median(with_embed), 1),
                "baseline_tti_ms_without_embed": round(statistics.median(without), 1),
                "tti_ms_added": round(
                    statistics.median(with_embed) - statistics.median(without), 1
                ),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
