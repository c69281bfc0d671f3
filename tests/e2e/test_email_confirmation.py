"""Mode "unknown": one confirmation email, a link that releases the sender's held edits.

The real SMTP adapter into the mail sandbox, the web app's confirmation page, the job
worker and the GitHub sandbox with real git: a stranger who gave an email is held and
emailed once (a second suggestion sends nothing more); the link's page asks, its POST
confirms, and the suggestions held only for being unknown open their PRs while a
suspicious one stays held. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer
from github import Auth, Github
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import GitHubSettings, MailSettings, Secret, Settings, SuggestionSettings
from bot.domain.catalogue import load_catalogue
from bot.github.adapter import GitHubAdapter
from bot.i18n import t
from bot.mail.smtp import SmtpMailer
from bot.services.outbox import Outbox
from bot.services.signing import Signer
from bot.services.suggestions import Author, SuggestionInput, SuggestionService
from bot.services.worker import JobWorker
from bot.store.models import EmailConfirmation, Suggestion, SuggestionSource
from bot.web.app import create_web_app
from bot.web.router import WebhookRouter
from sandboxes.github import GitHubSandbox
from sandboxes.mail import MailSandbox
from tests.conftest import FIXTURES
from tests.web.support import Client

Sessions = async_sessionmaker[AsyncSession]
PASSAGE = "Fixtures are small on purpose."
SPAM = "Fixtures are small on purpose. Best online casino bonus: https://bit.ly/3xYzAbc"
LINK = re.compile(r"https?://\S+/suggestions/confirm\?\S+")


@dataclass
class World:
    """The web app, the worker, the mail sandbox and the GitHub sandbox."""

    client: Client
    service: SuggestionService
    worker: JobWorker
    catcher: MailSandbox
    sessions: Sessions
    github: GitHubSandbox
    maintainer: Github

    async def settle(self) -> None:
        while await self.worker.run_once():
            pass

    async def send(self, replace: str, email: str = "Ann@Example.org", locale: str = "es") -> int:
        submitted = await self.service.submit(
            SuggestionInput(
                lesson="demo/pipes",
                locale="en",
                find=PASSAGE,
                replace=replace,
                reason="Clearer",
                source=SuggestionSource.API,
                author=Author(name="Ann", email=email, handle="ip:x", locale=locale),
            )
        )
        return submitted.id

    async def statuses(self) -> dict[int, str]:
        async with self.sessions() as session:
            rows = (await session.execute(select(Suggestion.id, Suggestion.status))).all()
        return {row[0]: str(row[1]) for row in rows}

    async def pulls(self) -> int:
        def read() -> int:
            repo = self.maintainer.get_repo(self.github.repository)
            return repo.get_pulls(state="all").totalCount

        return await asyncio.to_thread(read)


@pytest.fixture
async def world(session_factory: Sessions) -> AsyncIterator[World]:
    catcher = MailSandbox()
    await catcher.start()
    settings = Settings(
        suggestions=SuggestionSettings(per_person_per_hour=0, moderation="unknown"),
        mail=MailSettings(smtp_port=catcher.smtp_port, sender="lessonbot@example.org"),
    )
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
        catalogue = load_catalogue(FIXTURES / "content", "en")
        signer = Signer(b"c" * 32)
        outbox = Outbox(session_factory)
        service = SuggestionService(
            session_factory,
            outbox,
            settings,
            catalogue=lambda: catalogue,
            signer=signer,
            github=github,
            mail=SmtpMailer(settings.mail),
        )
        app = create_web_app(
            settings,
            session_factory=session_factory,
            webhook_router=WebhookRouter(),
            suggestions=service,
            lessons=lambda: catalogue,
            signer=signer,
        )
        client: Client = TestClient(TestServer(app))
        await client.start_server()
        sandbox.add_collaborator("maintainer", "write")
        maintainer = Github(
            base_url=sandbox.base_url,
            auth=Auth.Token("maintainer"),
            retry=None,
            seconds_between_requests=0,
            seconds_between_writes=0,
        )
        worker = JobWorker(outbox, {service.JOB_KIND: service.run_job})
        try:
            yield World(client, service, worker, catcher, session_factory, sandbox, maintainer)
        finally:
            await client.close()
            github.close()
            await catcher.close()


def body(raw: bytes) -> tuple[str, str]:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    text = message.get_body(("plain",))
    assert text is not None
    return str(message["Subject"]), text.get_content()


async def test_one_email_then_the_link_releases_only_the_unknown_held_ones(world: World) -> None:
    first = await world.send("Fixtures are kept small on purpose.")
    await world.settle()
    [caught] = await world.catcher.wait_for_messages(1)
    assert [address.lower() for address in caught.to] == ["ann@example.org"]
    subject, text = body(caught.raw)
    # In the suggester's Spanish, with the link and nothing internal.
    assert subject == t("es", "moderation_queue.confirm_subject")
    assert text.startswith(t("es", "moderation_queue.confirm_body", url="")[:40])
    assert "confirm_" not in text and "moderation_queue" not in text
    [link] = LINK.findall(text)

    # A second suggestion, and a suspicious one, while the link is out: no second email.
    second = await world.send("Fixtures stay small on purpose.", email="ann@example.org ")
    spam = await world.send(SPAM)
    await world.settle()
    assert len(world.catcher.messages) == 1
    statuses = await world.statuses()
    assert [statuses[first], statuses[second], statuses[spam]] == ["held", "held", "held"]
    assert await world.pulls() == 0

    target = urlsplit(link)
    path = f"{target.path}?{target.query}"
    # Opening the link changes nothing (mail scanners open links): it asks.
    page = await world.client.get(path)
    assert page.status == 200
    html = await page.text()
    assert t("es", "moderation_queue.confirm_button") in html and 'method="post"' in html
    assert (await world.statuses())[first] == "held"
    # A tampered token is refused, in the page's language, and confirms nothing.
    bad = await world.client.post(path.replace("token=", "token=x"))
    assert bad.status == 400
    assert t("es", "moderation_queue.confirm_invalid") in await bad.text()
    async with world.sessions() as session:
        assert await session.scalar(select(EmailConfirmation.confirmed_at)) is None

    done = await world.client.post(path)
    assert done.status == 200
    assert t("es", "moderation_queue.confirm_done") in await done.text()
    assert (await world.client.post(path)).status == 200  # pressed twice: still fine
    await world.settle()

    statuses = await world.statuses()
    assert [statuses[first], statuses[second], statuses[spam]] == ["open", "open", "held"]
    assert await world.pulls() == 2
    # Known from now on: the next one goes straight on, and no email is sent.
    later = await world.send("Fixtures are tiny on purpose.")
    await world.settle()
    assert (await world.statuses())[later] == "open"
    assert len(world.catcher.messages) == 1
