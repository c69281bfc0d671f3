"""What the digest says, as people read it in the Discord sandbox and the SMTP catcher.

Every suggested edit awaiting review is counted, with how many wait longer than
`digest.suggestion_wait_days`; the first digest claims no last digest; text is escaped
once and only where markdown is rendered (no stray `\\(`); each maintainer reads programs
and lessons by their titles in their own language, Latin names isolated in Arabic HTML.
"""

from __future__ import annotations

import html
import re
import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.config import DigestSettings, MailSettings, MaintainerSettings, Settings
from bot.offline import SandboxEnvironment, sandbox_environment
from bot.services.digests import DigestService
from bot.services.worker import JobWorker
from bot.store.models import (
    Lesson,
    Question,
    QuestionSource,
    Suggestion,
    SuggestionSource,
    SuggestionStatus,
    utcnow,
)
from tests.conftest import FIXTURES
from tests.e2e.test_suggest_everything import TIMEOUT

ALEX, BO = "alex@example.org", "bo@example.org"
# A title and a question with what markdown acts on, to be shown as typed.
LISTS_TITLE = "Lists (and *tuples*) #1"
LISTS = f"""---
title: "{LISTS_TITLE}"
description: "A second fixture lesson"
order: 3
difficulty: "beginner"
published: true
---

# Lists
"""
ASKED = "Why (exactly) does `x[0]` fail in my_list?"
ASKED_AR = "لماذا لا يعمل الأمر (grep) عندي؟"
PIPES_EN, PIPES_AR = "Quizzes With Pipes", "اختبارات بالفواصل"
DEMO_EN, DEMO_AR = "Demo Program", "برنامج تجريبي"


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[SandboxEnvironment]:
    """Run the sandboxes and the bot over the fixture lessons and one more, all linked."""
    content = tmp_path / "content"
    shutil.copytree(FIXTURES / "content", content)
    (content / "programs/demo/lessons/en/lists.mdx").write_text(LISTS, encoding="utf-8")
    settings = Settings(
        mail=MailSettings(
            sender="lessonbot@example.org",
            maintainers=(
                MaintainerSettings(address=ALEX, locale="en"),
                MaintainerSettings(address=BO, locale="ar", locales=("ar",)),
            ),
        ),
        # No scheduled digest fires while the test runs: only the runs it makes.
        digest=DigestSettings(schedule="0 0 29 2 *", misfire_grace_seconds=60),
    )
    async with sandbox_environment(
        settings, content_dir=content, state_dir=tmp_path / "state", link_at_start=True
    ) as running:
        yield running


async def _seed(env: SandboxEnvironment) -> None:
    """Two open questions (en, ar) and three edits awaiting review, one for a week."""
    now = utcnow()
    async with env.app.sessions() as session, session.begin():
        lessons = {
            row.slug: row
            for row in (await session.execute(select(Lesson))).scalars()
            if row.program == "demo"
        }
        assert {"pipes", "lists"} <= set(lessons)
        for n, (slug, text, locale, author) in enumerate(
            [("lists", ASKED, "en", "sam_b"), ("pipes", ASKED_AR, "ar", "maya")], 1
        ):
            session.add(
                Question(
                    source=QuestionSource.DISCORD,
                    external_id=f"q{n}",
                    container_id="1",
                    url=f"https://discord.com/channels/1/2/{n}",
                    lesson_id=lessons[slug].id,
                    author_id=str(n),
                    author_name=author,
                    text=text,
                    asked_at=now - timedelta(hours=5 * n),
                    locale=locale,
                )
            )
        edits = [("pipes", "en", 7), ("pipes", "en", 1), ("lists", "ar", 1)]
        for n, (slug, locale, age) in enumerate(edits, 1):
            session.add(
                Suggestion(
                    source=SuggestionSource.WEB,
                    author_id=f"s{n}",
                    author_name=f"Suggester {n}",
                    lesson_id=lessons[slug].id,
                    locale=locale,
                    edit={},
                    status=SuggestionStatus.OPEN,
                    idempotency_key=f"wording-{n}",
                    created_at=now - timedelta(days=age),
                    pr_url=f"https://github.com/lessons/content/pull/{n}",
                )
            )


async def _deliver(env: SandboxEnvironment, key: str, emails: int) -> list[dict[str, Any]]:
    """Record a run and deliver it; return the digest messages it posted."""
    app = env.app
    assert app.digests is not None and app.outbox is not None and env.mail is not None
    channel = app.settings.discord.digest_channel_id
    assert channel is not None
    before = len(env.discord.channel_messages(channel))
    assert (await app.digests.run(key)).created
    worker = JobWorker(app.outbox, {DigestService.JOB_KIND: app.digests.run_job})
    while await worker.run_once():
        pass
    await env.mail.wait_for_messages(emails, timeout=TIMEOUT)
    return env.discord.channel_messages(channel)[before:]


def _shown(message: dict[str, Any]) -> list[str]:
    """Return every part of a message Discord renders markdown in."""
    parts = [message["content"]]
    for embed in message["embeds"]:
        parts += [embed.get("title") or "", embed.get("description") or ""]
        for field in embed.get("fields", []):
            parts += [field["name"], field["value"]]
    return parts


def _rendered(markdown: str) -> str:
    """Return what Discord shows of markdown: escapes applied, links as their text."""
    text = re.sub(r"(?<!\\)\[((?:\\.|[^\]\\])*)\]\([^)\s]+\)", r"\1", markdown)
    return re.sub(r"\\([^A-Za-z0-9\s])", r"\1", text)


def _email(raw: bytes) -> tuple[EmailMessage, str, str]:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    text, page = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and page is not None
    return message, text.get_content(), page.get_content()


def _visible(page: str) -> str:
    """Return the text a mail client shows of an HTML email."""
    body = page.split("<body", 1)[1]
    return html.unescape(re.sub(r"<[^>]+>", "", body))


async def test_the_digest_counts_names_and_escapes_as_people_read_it(
    env: SandboxEnvironment,
) -> None:
    await _seed(env)
    assert env.mail is not None
    messages = await _deliver(env, "manual:first", 2)

    # Discord: every edit awaiting review counted, with how many waited over 3 days.
    summary = messages[0]["embeds"][0]["description"]
    assert "2 open questions · 3 edits awaiting review (1 for over 3 days)" in summary
    # The first digest claims no last digest: it tells the window it counted.
    assert "last digest" not in summary and "Over the last 7 days:" in summary
    raw = [part for message in messages for part in _shown(message)]
    shown = "\n".join(_rendered(part) for part in raw)
    # Escaped exactly once, and only what markdown would act on: nothing shows `\(`.
    unnumbered = [re.sub(r"^\d+\\\.", "", part, flags=re.M) for part in raw]
    assert not [part for part in unnumbered if re.search(r"\\[()#!.]", part)]
    assert LISTS_TITLE in shown and ASKED in shown and "sam_b" in shown
    # Programs and lessons by their titles, never by slug.
    assert f"{DEMO_EN} (2)" in shown and PIPES_EN in shown
    assert "demo/" not in shown and "(demo)" not in shown

    by_address = {mail.to[0].lower(): mail for mail in env.mail.messages}
    alex, alex_text, alex_html = _email(by_address[ALEX].raw)
    assert alex["Subject"] == "[lessonbot] 2 open questions, 3 edits awaiting review"
    assert "3 edits awaiting review (1 for over 3 days)" in alex_text
    assert "Over the last 7 days:" in alex_text and "last digest" not in alex_text
    alex_page = _visible(alex_html)
    for read in (alex_text, alex_page):
        assert "\\" not in read  # nothing escaped where nothing renders markdown
        assert LISTS_TITLE in read and ASKED in read and "sam_b" in read
        assert DEMO_EN in read and PIPES_EN in read and "demo/" not in read

    # Bo reads Arabic: Arabic titles where the lesson and program have them, the English
    # one where not (the edit to the lists lesson), each name isolated from the Arabic
    # sentence around it.
    bo, bo_text, bo_html = _email(by_address[BO].raw)
    bo_page = _visible(bo_html)
    assert bo["Subject"] == "[lessonbot] سؤال مفتوح واحد، تعديل واحد بانتظار المراجعة"
    for read in (bo_text, bo_page):
        assert "\\" not in read
        assert DEMO_AR in read and PIPES_AR in read and ASKED_AR in read
        assert PIPES_EN not in read and DEMO_EN not in read and "demo/" not in read
        assert "منذ الملخص السابق" not in read  # "since the last digest"
    assert f"<bdi>{DEMO_AR}</bdi>" in bo_html and f"<bdi>{PIPES_AR}</bdi>" in bo_html
    assert "<bdi>maya</bdi>" in bo_html and f"<bdi>{LISTS_TITLE}</bdi>" in bo_html
    assert LISTS_TITLE in bo_text
    # Bo follows Arabic: one edit awaiting review, none over 3 days.
    assert "تعديل واحد بانتظار المراجعة (0 منها منذ أكثر من 3 أيام)" in bo_text
    assert 'dir="rtl"' in bo_html

    # A scheduled digest after it counts since the last scheduled one (the manual one
    # does not move the window), and the one after that names it.
    await _deliver(env, "scheduled:2026-01-05T09:00Z", 4)
    later = await _deliver(env, "scheduled:2026-01-12T09:00Z", 6)
    description = later[0]["embeds"][0]["description"]
    assert re.search(r"Since the last digest \(\d{4}-\d\d-\d\d\)", description), description
