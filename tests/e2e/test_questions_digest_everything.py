"""Issue 11 end to end: questions asked on Discord and GitHub reach the digest.

Both sandboxes, the SMTP catcher and the real bot (`started_app`, its job worker and
digest schedule running as `lessonbot sandbox` runs them): learners ask in lesson posts
(en, es, ar, zh) and on a lesson's issue; some are answered (one by a learner, one by a
Discord maintainer, one by a GitHub maintainer), one is resolved with ✅ and one with
`/resolve`, one is edited into a statement. `lessonbot digest --now` then posts exactly the
open ones to the digests channel and emails each maintainer the open ones their filter
allows, once.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from collections.abc import AsyncIterator, Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

import pytest
from github import Auth, Github
from github.Repository import Repository
from sqlalchemy import select

from bot.app import background_work
from bot.cli import build_parser
from bot.cli.digest import _digest
from bot.config import (
    DigestSettings,
    MailSettings,
    MaintainerSettings,
    QuestionsSettings,
    Settings,
)
from bot.discord.chat import custom_ids as custom_ids_of
from bot.i18n import t
from bot.mail.smtp import SmtpMailer
from bot.offline import (
    GUILD_NAME,
    MEMBERS,
    WORLD_DIR,
    SandboxEnvironment,
    guild_channels,
    sandbox_environment,
)
from bot.services.digests import DigestService
from bot.services.ports import OutgoingMail
from bot.store.models import DigestRun, JobStatus, Lesson, LessonLink, OutboxJob, Question
from sandboxes.discord import DiscordSandbox
from sandboxes.mail import MailSandbox
from tests.conftest import FIXTURES
from tests.e2e.test_suggest_everything import TIMEOUT, _delivered, eventually

T = TypeVar("T")
STRING = 3
ANA, LI, MAYA, SAM, STAFF = (member["id"] for member in MEMBERS)
ALEX, BO = "alex@example.org", "Bo@Example.org"
EXTRA_PROGRAM = '{"slug": "extra", "title": "Extra Program", "titles": {"en": "Extra Program"}}'
EXTRA_LESSON = """---
title: "Loops"
description: "A second program's lesson"
order: 1
difficulty: "beginner"
duration: 5
icon: "🔁"
published: true
---

# Loops

A loop repeats.
"""


def content_with_two_programs(tmp_path: Path) -> Path:
    """Return a copy of the fixture lessons with a second program, `extra/loops`."""
    content = tmp_path / "content"
    shutil.copytree(FIXTURES / "content", content)
    extra = content / "programs" / "extra"
    (extra / "lessons" / "en").mkdir(parents=True)
    (extra / "program.json").write_text(EXTRA_PROGRAM + "\n", encoding="utf-8")
    (extra / "lessons" / "en" / "loops.mdx").write_text(EXTRA_LESSON, encoding="utf-8")
    return content


async def seed_guild_with_staff(content: Path, state_dir: Path) -> int:
    """Create the sandbox guild ahead of the environment, as its own world does, but with a
    `maintainers` role held by the staff member; return the role's id.

    `sandbox_environment` restores a kept Discord world and picks up its guild by name;
    its own guild gives nobody a role, and a staff role must be known to the settings.
    """
    members = [
        {**member, "roles": ["maintainers"]} if member["id"] == STAFF else dict(member)
        for member in MEMBERS
    ]
    async with DiscordSandbox(state_dir=state_dir / WORLD_DIR / "discord") as discord:
        guild = discord.create_guild(
            GUILD_NAME,
            channels=guild_channels(content, "en"),
            members=members,
            roles=[{"name": "maintainers"}],
        )
    return int(guild["roles"]["maintainers"])


def settings_for(staff_role: int) -> Settings:
    """Return the settings: two maintainers with different filters and a staff role."""
    return Settings(
        mail=MailSettings(
            sender="lessonbot@example.org",
            maintainers=(
                # Everything, in English.
                MaintainerSettings(address=ALEX, locale="en"),
                # Only the demo program's Arabic and Spanish questions, in Arabic.
                MaintainerSettings(
                    address=BO, locale="ar", programs=("demo",), locales=("ar", "es")
                ),
            ),
        ),
        questions=QuestionsSettings(staff_role_ids=(str(staff_role),)),
        # No scheduled digest may fire (or be caught up) while the test runs: only --now.
        digest=DigestSettings(schedule="0 0 29 2 *", misfire_grace_seconds=60),
    )


async def question(env: SandboxEnvironment, external_id: int | str) -> Question | None:
    """Return the recorded question of a message or comment, if any."""
    async with env.app.sessions() as session:
        return await session.scalar(
            select(Question).where(Question.external_id == str(external_id))
        )


async def until(
    env: SandboxEnvironment, external_id: int | str, holds: Callable[[Question], bool], what: str
) -> Question:
    """Wait until the question of `external_id` is recorded and `holds`; return it."""

    async def check() -> Question | None:
        found = await question(env, external_id)
        return found if found is not None and holds(found) else None

    return await eventually(check, what)


async def thread_of(env: SandboxEnvironment, program: str, slug: str) -> tuple[int, int]:
    """Return a linked lesson's post (thread id) and issue number."""
    async with env.app.sessions() as session:
        link = await session.scalar(
            select(LessonLink)
            .join(Lesson, Lesson.id == LessonLink.lesson_id)
            .where(Lesson.program == program, Lesson.slug == slug)
        )
    assert link is not None, f"{program}/{slug} is not linked"
    assert link.discord_thread_id is not None and link.github_issue_number is not None
    return link.discord_thread_id, link.github_issue_number


def github_as(env: SandboxEnvironment, login: str) -> Github:
    """Return a PyGithub client acting as `login` on the GitHub sandbox."""
    return Github(
        base_url=env.github.base_url,
        auth=Auth.Token(login),
        retry=None,
        seconds_between_requests=0,
        seconds_between_writes=0,
    )


async def comment(env: SandboxEnvironment, client: Github, issue: int, body: str) -> Any:
    """Comment on a lesson issue (PyGithub, off the loop the sandboxes serve on)."""

    def create() -> Any:
        repo: Repository = client.get_repo(env.github.repository)
        return repo.get_issue(issue).create_comment(body)

    return await asyncio.to_thread(create)


async def command(
    env: SandboxEnvironment, channel: int, user: int, name: str, options: list[dict[str, Any]]
) -> str:
    """Run a slash command as a member; return the bot's answer."""
    guild = env.guild
    interaction = await env.discord.run_command(
        int(guild["id"]), channel, user, name, options=options, locale="en-US"
    )
    answers = await env.discord.wait_for_interaction_response(interaction, timeout=TIMEOUT)
    return str(answers[-1]["data"]["content"])


def digest_subject(locale: str, open_count: int) -> str:
    """Return the subject of a digest with `open_count` open questions and no waiting edits."""
    return t(
        locale,
        "digest.subject",
        questions=t(locale, "digest.open_count", count=open_count),
        edits=t(locale, "digest.waiting_count", count=0),
    )


def parts(raw: bytes) -> tuple[EmailMessage, str, str]:
    """Return an email with its text and HTML bodies."""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None
    return message, text.get_content(), html.get_content()


def digest_now(settings: Settings) -> int:
    """Run `lessonbot digest --now --json` in-process against the bot's database."""
    return _digest(build_parser().parse_args(["digest", "--now", "--json"]), settings)


def names(url: str, within: str) -> bool:
    """Tell whether `within` links `url` (not merely a longer id starting like it)."""
    return re.search(re.escape(url) + r"(?![0-9])", within) is not None


@pytest.fixture
async def env(tmp_path: Path, database_url: str) -> AsyncIterator[SandboxEnvironment]:
    """Run both sandboxes, the catcher and the bot over two programs, every lesson linked."""
    content = content_with_two_programs(tmp_path)
    state = tmp_path / "state"
    staff_role = await seed_guild_with_staff(content, state)
    async with sandbox_environment(
        settings_for(staff_role),
        content_dir=content,
        state_dir=state,
        database_url=database_url,
        link_at_start=True,
    ) as environment:
        assert environment.linked is not None and environment.linked.startswith("Linked")
        await _delivered(environment)
        environment.github.add_collaborator("maintainer", "write")
        yield environment


async def test_open_questions_reach_discord_and_each_maintainer_once(
    env: SandboxEnvironment, capsys: pytest.CaptureFixture[str]
) -> None:
    discord, app = env.discord, env.app
    assert app.digests is not None and env.mail is not None
    guild_id = int(env.guild["id"])
    pipes, issue = await thread_of(env, "demo", "pipes")
    loops, _ = await thread_of(env, "extra", "loops")
    learner, maintainer = github_as(env, "lena"), github_as(env, "maintainer")

    # On the lesson's issue: a learner asks, a maintainer (write access) answers; she asks again.
    first = await comment(env, learner, issue, "Why is the quiz empty on the site?")
    await until(env, first.id, lambda q: q.answered_at is None, "the issue question")
    await comment(env, maintainer, issue, "It was a build problem; fixed now.")
    answered_on_github = await until(
        env, first.id, lambda q: q.answered_at is not None, "the issue question answered"
    )
    assert answered_on_github.answered_by_staff and answered_on_github.answered_by == "maintainer"
    second = await comment(env, learner, issue, "How do I read the quiz answers from a file?")
    await until(env, second.id, lambda q: q.answered_at is None, "the second issue question")

    # In the lesson's post: a statement first (it answers nobody), then questions.
    said = await discord.post_message(pipes, SAM, "I finished this lesson today.")
    ana = await discord.post_message(pipes, ANA, "¿Cómo se usa una tubería con grep?")
    sam = await discord.post_message(pipes, SAM, "Why does my pipe hang forever?")
    maya = await discord.post_message(pipes, MAYA, "لماذا لا يعمل الأمر عندي؟")
    checked = await discord.post_message(pipes, ANA, "¿Dónde está el archivo de ejemplo?")
    resolved = await discord.post_message(pipes, SAM, "How do I pipe stderr as well?")
    edited = await discord.post_message(pipes, LI, "这个管道为什么这么慢？")  # noqa: RUF001
    stays = await discord.post_message(pipes, LI, "这个测验怎么做？")  # noqa: RUF001
    # A question mark decides; the wording ("Why does", "How do I") names the language.
    for message, locale in [
        (ana, "es"),
        (sam, "en"),
        (maya, "ar"),
        (checked, "es"),
        (resolved, "en"),
        (edited, "zh"),
        (stays, "zh"),
    ]:
        await until(env, message["id"], lambda q, lc=locale: q.locale == lc, f"{locale} question")
    assert await question(env, said["id"]) is None

    # A learner answers Ana by replying; the staff member answers Sam by replying.
    await discord.post_message(pipes, SAM, "Put grep after the pipe.", reply_to=int(ana["id"]))
    await discord.post_message(pipes, STAFF, "Add an end marker.", reply_to=int(sam["id"]))
    by_learner = await until(env, ana["id"], lambda q: q.answered_at is not None, "Ana answered")
    by_staff = await until(env, sam["id"], lambda q: q.answered_by_staff, "Sam answered by staff")
    assert (by_learner.answered_how, by_learner.answered_by_staff) == ("reply", False)
    assert by_staff.answered_how == "reply"

    # Ana resolves hers with ✅; Sam runs /resolve naming his; Li edits hers into a statement.
    await discord.add_reaction(pipes, int(checked["id"]), ANA, "✅")
    await until(env, checked["id"], lambda q: q.resolved_how == "reaction", "resolved with ✅")
    url = f"https://discord.com/channels/{guild_id}/{pipes}/{resolved['id']}"
    option = [{"name": "message_link", "type": STRING, "value": url}]
    assert await command(env, pipes, SAM, "resolve", option) == t(
        "en", "questions.resolved", count=1
    )
    await until(env, resolved["id"], lambda q: q.resolved_how == "command", "resolved by /resolve")
    await discord.edit_message(pipes, int(edited["id"]), "这个管道现在很快了。")
    await until(env, edited["id"], lambda q: q.dropped_at is not None, "edited into a statement")

    # /ask in the post (Spanish), and two questions in the other program's post.
    asked = await command(
        env,
        pipes,
        ANA,
        "ask",
        [{"name": "question", "type": STRING, "value": "qué significa la barra vertical"}],
    )
    async with app.sessions() as session:
        by_ask = await session.scalar(select(Question).where(Question.rule == "ask"))
    assert by_ask is not None and by_ask.url in asked
    loop_en = await discord.post_message(loops, SAM, "How do I stop an infinite loop?")
    loop_es = await discord.post_message(loops, ANA, "¿Por qué mi bucle no termina?")
    for message in (loop_en, loop_es):
        await until(env, message["id"], lambda q: q.answered_at is None, "a loops question")

    # What is open now, as the database says it, before any digest.
    async with app.sessions() as session:
        rows = list(await session.scalars(select(Question).order_by(Question.id)))
    open_ids = {
        row.external_id
        for row in rows
        if row.dropped_at is None and row.answered_at is None and row.resolved_at is None
    }
    expected = {
        str(second.id),
        str(maya["id"]),
        str(stays["id"]),
        by_ask.external_id,
        str(loop_en["id"]),
        str(loop_es["id"]),
    }
    assert open_ids == expected
    assert len(rows) == 12  # the statement and the answers are no questions
    urls = {row.external_id: row.url for row in rows}
    assert urls[str(second.id)] == second.html_url
    # Bo's filter: the demo program, in Arabic or Spanish: not the other program's, not
    # the Chinese one, not the English one asked on GitHub.
    for_bo = {str(maya["id"]), by_ask.external_id}

    async with background_work(app):
        # `lessonbot digest --now`, in-process, against the running bot's database.
        assert await asyncio.to_thread(digest_now, app.settings) == 0
        printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert printed["created"] is True and printed["open_questions"] == len(expected)
        channel = app.settings.discord.digest_channel_id
        assert channel is not None
        assert sorted(printed["deliveries"]) == sorted(
            [f"discord:{channel}", f"email:{ALEX}", f"email:{BO.lower()}"]
        )
        period = printed["period"]
        async with app.sessions() as session:
            job = await session.scalar(
                select(OutboxJob).where(OutboxJob.dedupe_key.like("digest:%:discord:%"))
            )
        assert job is not None
        rendered = job.payload["embeds"]

        async def posted() -> list[dict[str, Any]] | None:
            # The digest's parts are its embeds, nothing else: wait for every one.
            found = discord.channel_messages(channel)
            return found if len(found) >= len(rendered) else None

        messages = await eventually(posted, "the digest in the digests channel")
        caught = await env.mail.wait_for_messages(2, timeout=TIMEOUT)

        # A second run of the same period (as two processes, or a rerun) records nothing.
        again = await app.digests.run(period)
        assert not again.created

        async def settled() -> bool:
            async with app.sessions() as session:
                run = await session.scalar(select(DigestRun).where(DigestRun.period_key == period))
            return run is not None and run.finished_at is not None

        await eventually(settled, "the digest run to finish")

        async def jobs_done() -> bool:
            async with app.sessions() as session:
                statuses = set(
                    await session.scalars(
                        select(OutboxJob.status).where(OutboxJob.kind == DigestService.JOB_KIND)
                    )
                )
            return statuses == {JobStatus.DONE}

        await eventually(jobs_done, "every digest job done")

    # Discord: exactly the open questions, every one of them.
    shown = "\n".join(
        "\n".join(
            [embed.get("description") or ""] + [field["value"] for field in embed.get("fields", [])]
        )
        for message in messages
        for embed in message["embeds"]
    )
    for external_id, url in urls.items():
        assert names(url, shown) == (external_id in expected), (external_id, shown)
    # Each part once, in order, an embed with no text beside it.
    assert discord.channel_messages(channel) == messages
    assert [m["embeds"][0]["title"] for m in messages] == [part["title"] for part in rendered]
    assert all(m["content"] == "" for m in messages)
    count = t("en", "digest.open_count", count=len(expected))
    assert count in messages[0]["embeds"][0]["description"]

    # Email: one multipart email per maintainer, with the open ones their filter allows.
    assert len(env.mail.messages) == 2 == len(caught)
    by_address = {mail.to[0].lower(): mail for mail in caught}
    assert set(by_address) == {ALEX, BO.lower()}
    for address, wanted, locale in [
        (ALEX, expected, "en"),
        (BO.lower(), for_bo, "ar"),
    ]:
        message, text, html = parts(by_address[address].raw)
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        unsubscribe = message["List-Unsubscribe"]
        assert unsubscribe.startswith(f"<{app.settings.web.public_url}/digest/unsubscribe?")
        assert message["Subject"] == digest_subject(locale, len(wanted))
        for external_id, url in urls.items():
            assert names(url, text) == (external_id in wanted), (address, external_id, text)
            assert names(url, html) == (external_id in wanted), (address, external_id)
        assert ('dir="rtl"' in html) == (locale == "ar")
    _, alex_text, _ = parts(by_address[ALEX].raw)
    assert "How do I stop an infinite loop?" in alex_text
    _, bo_text, bo_html = parts(by_address[BO.lower()].raw)
    assert "لماذا لا يعمل الأمر عندي؟" in bo_text and "infinite loop" not in bo_text
    # Bo reads the lesson and program by their Arabic titles, never by slug.
    for read in (bo_text, bo_html):
        assert "اختبارات بالفواصل" in read and "برنامج تجريبي" in read
        assert "Quizzes With Pipes" not in read and "demo/pipes" not in read

    # Nothing the bot told Discord, at any time, shows its bookkeeping: lesson keys live in
    # the buttons' custom_ids, and digest parts are found again by what they show.
    sent = discord.sent()
    assert sent and {entry["action"] for entry in sent} == {"create", "edit"}
    bookkeeping = re.compile(r"lessonbot:|^-# (now|scheduled|manual)", re.MULTILINE)
    told = [entry["content"] for entry in sent if bookkeeping.search(entry["content"])]
    assert not told, told
    starters = [entry for entry in sent if entry["id"] == entry["channel_id"]]
    keys = {
        custom_id
        for entry in starters
        for custom_id in custom_ids_of(entry.get("components") or [])
    }
    assert {"lessonbot:suggest:demo/pipes:en", "lessonbot:suggest:extra/loops:en"} <= keys


@pytest.mark.parametrize(("locale", "open_count"), [("ar", 3), ("es", 2)])
async def test_a_digest_subject_arrives_as_written(locale: str, open_count: int) -> None:
    subject = digest_subject(locale, open_count)
    async with MailSandbox() as catcher:
        mailer = SmtpMailer(
            MailSettings(smtp_port=catcher.smtp_port, sender="lessonbot@example.org")
        )
        await mailer.send(OutgoingMail(to=(BO,), subject=subject, text="-", html="<p>-</p>"))
        [caught] = await catcher.wait_for_messages(1, timeout=TIMEOUT)
    message, _, _ = parts(caught.raw)
    assert message["Subject"] == subject
