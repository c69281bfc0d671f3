"""A newcomer's walk through the bot, as `make run` serves it, seen in headless Chromium.

Both sandboxes and the real bot run over the fixture lessons. Each step opens what a person
would open at that moment (the lesson list, the Discord viewer's lesson post, the suggest
form and its status page, the suggester's DMs, the GitHub sandbox's pull request, the
digest in Discord and by email), checks what it says, and keeps a screenshot under
tests/artifacts/walkthrough-*.png. No page may show bookkeeping (`lessonbot:`, `-# `).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
from typing import Any

from github.Repository import Repository
from playwright.async_api import Browser, Page

from bot.i18n import t
from tests.e2e import test_suggest_everything as everything
from tests.e2e.conftest import ARTIFACTS, TIMEOUT_MS
from tests.e2e.discord.support import STRING
from tests.e2e.test_suggest_everything import (
    LESSON,
    PASSAGE,
    PATH,
    REVIEWED,
    SAM,
    TITLE,
    World,
    buttons,
    click,
    eventually,
    fill,
    suggest,
)

world = everything.world  # the fixture: both sandboxes and the bot, linked, worker running
BOOKKEEPING = ("lessonbot:", "-# ")


async def visit(browser: Browser, url: str, name: str, locale: str = "en") -> Page:
    """Open a page as a person would, keep its screenshot, check it shows no bookkeeping."""
    context = await browser.new_context(locale=locale, viewport={"width": 1100, "height": 800})
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    response = await page.goto(url)
    assert response is not None and response.status == 200, url
    await keep(page, name)
    return page


async def keep(page: Page, name: str) -> None:
    """Keep a full-page screenshot and fail on bookkeeping in the visible text."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"walkthrough-{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    shown = await page.inner_text("body")
    for internal in BOOKKEEPING:
        assert internal not in shown, f"{name} shows {internal!r}"


async def test_a_newcomer_walks_from_the_lesson_list_to_the_digest(
    world: World, browser: Browser
) -> None:
    env, service = world.env, world.service
    web = env.app.web_url
    viewer = env.discord.web_url
    guild_id = int(world.guild["id"])

    # 1. The web app's first page lists the lessons, each with its suggest link.
    page = await visit(browser, f"{web}/", "1-lessons")
    assert TITLE in await page.inner_text("body")

    # 2. /lesson on Discord answers with the lesson's links; its post opens in the viewer.
    fields = await world.lesson_fields()
    assert any(f"{viewer}/channels/{guild_id}/{world.thread_id}" in v for v in fields.values())
    page = await visit(browser, f"{viewer}/channels/{guild_id}/{world.thread_id}", "2-post")
    assert t("en", "discord_suggest.button") in await page.inner_text("body")

    # 3. A suggestion from the web form: previewed, sent, then followed on its status page.
    page = await visit(browser, f"{web}/lessons/demo/pipes/suggest", "3-form")
    await page.fill("#find", "Some text with")
    await page.fill("#replace", "Here is some text with")
    await page.fill("#reason", "Plainer words")
    await page.click("#preview-button")
    await keep(page, "4-preview")
    await page.click("#send-button")
    await page.wait_for_url("**/suggestions/*")
    await keep(page, "5-status-web")
    shown = await page.inner_text("body")
    assert TITLE in shown and "Here is some text with" in shown

    # 4. A suggestion from Discord: the modal, then the DM with its buttons.
    await suggest(
        world,
        "edit",
        [
            {"name": "lesson", "type": STRING, "value": LESSON},
            {"name": "locale", "type": STRING, "value": "en"},
        ],
    )
    await fill(
        world, find=PASSAGE, replace="Fixtures are kept small on purpose.", reason="Clearer."
    )
    suggestion_id = max(view.id for view in await service.for_lesson(LESSON))
    view = await world.status(suggestion_id, "open")
    assert view.pr_number is not None and view.pr_url is not None
    number = view.pr_number
    await world.dm_messages(1)
    dms = f"{viewer}/channels/@me/{SAM}"
    page = await visit(browser, dms, "6-dm-opened")
    assert "pull request" in await page.inner_text("body")

    # 5. A maintainer asks for changes with a suggestion block, on the GitHub sandbox.
    on_branch = await world.on_branch(f"lessonbot/suggest/{suggestion_id}", "kept small")
    line = on_branch.splitlines().index("Fixtures are kept small on purpose.") + 1

    def request_changes(repo: Repository) -> None:
        pull = repo.get_pull(number)
        pull.create_review(
            commit=repo.get_commit(pull.head.sha),
            body="Nearly: one word.",
            event="REQUEST_CHANGES",
            comments=[{"path": PATH, "line": line, "body": f"```suggestion\n{REVIEWED}\n```"}],
        )

    await world.as_maintainer(request_changes)
    view = await world.status(suggestion_id, "changes_requested")
    page = await visit(browser, view.pr_url, "7-pull-request")
    assert REVIEWED in await page.inner_text("body")

    # The review comment's webhook may be handled after the review's.
    async def proposed() -> list[Any] | None:
        found = await service.view(suggestion_id)
        return list(found.reviewer_suggestions) if found is not None else None

    [proposal] = await eventually(proposed, "the reviewer's proposed text recorded")
    use_id = f"lessonbot:suggestion:use:{suggestion_id}:{proposal.detail['comment_id']}"

    async def told() -> dict[str, Any] | None:
        found = [m for m in env.discord.dms(SAM) if use_id in str(buttons(m))]
        return found[0] if found else None

    with_text = await eventually(told, "the proposed text told with its button")
    page = await visit(browser, dms, "8-dm-changes-requested")
    shown = await page.inner_text("body")
    assert REVIEWED in shown and "Nearly: one word." in shown

    # 6. The learner uses the reviewer's text: the status page shows it answered.
    await click(env.discord, with_text, SAM, use_id, "en-US")
    await world.status(suggestion_id, "answered")
    page = await visit(browser, service.status_url(suggestion_id), "9-status-answered")
    assert REVIEWED in await page.inner_text("body")

    # 7. Approved and merged: the lesson's post thanks the people who suggested it.
    def approve_and_merge(repo: Repository) -> None:
        pull = repo.get_pull(number)
        pull.create_review(commit=repo.get_commit(pull.head.sha), body="Thanks!", event="APPROVE")
        pull.merge(merge_method="squash")

    await world.as_maintainer(approve_and_merge)
    await world.status(suggestion_id, "merged")
    await eventually(
        lambda: asyncio.sleep(0, [m for m in world.post() if "🎉" in m]), "the thanks in the post"
    )
    page = await visit(browser, f"{viewer}/channels/{guild_id}/{world.thread_id}", "10-merged")
    assert "🎉" in await page.inner_text("body")

    # 8. A learner asks in the post; nobody answers; the digest lists it in Discord and mail.
    question = "Why does the quiz need pipes at all?"
    await env.discord.post_message(world.thread_id, 1005, question)
    app = env.app
    assert app.digests is not None
    await eventually(
        lambda: app.digests.build(),
        "the question recorded",  # type: ignore[union-attr]
    )

    async def listed() -> bool:
        digest = await app.digests.build()  # type: ignore[union-attr]
        return digest.open_count >= 1

    await eventually(listed, "the question to be listed as open")
    await app.digests.run_now(force=True)
    digests = int(world.guild["channels"]["digests"])

    async def posted_digest() -> list[dict[str, Any]] | None:
        return env.discord.channel_messages(digests) or None

    await eventually(posted_digest, "the digest in its channel")
    page = await visit(browser, f"{viewer}/channels/{guild_id}/{digests}", "11-digest")
    assert question in await page.inner_text("body")
    await mailed_digests(browser, env, question)


async def mailed_digests(browser: Browser, env: Any, question: str) -> None:
    """Render each digest email the catcher got, as a mail reader would, one per reader."""
    assert env.mail is not None

    async def caught() -> list[Any] | None:
        # One per maintainer the sandbox configures (an English and an Arabic reader).
        found = [m for m in env.mail.messages if any("maintainer" in to for to in m.to)]
        return found if len(found) >= 2 else None

    mails = await eventually(caught, "a digest email in the catcher")
    for index, mail in enumerate(mails):
        message = email.message_from_bytes(mail.raw, policy=email.policy.default)
        html_part = message.get_body(preferencelist=("html",))
        assert html_part is not None
        context = await browser.new_context(viewport={"width": 900, "height": 800})
        page = await context.new_page()
        await page.set_content(html_part.get_content())
        await keep(page, f"12-digest-email-{index}")
        assert question in await page.inner_text("body")
