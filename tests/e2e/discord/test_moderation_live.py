"""The moderators' Discord channel, through discord.py, the Discord sandbox and the GitHub
sandbox with real git (issue 19, part 4).

A held suggestion is posted once to `suggestions.moderation_channel_id` with three buttons;
a member without the maintainer role is refused and nothing changes; a maintainer's
"Open the PR" opens it on GitHub and the message then says who did it, without buttons;
a decision from the CLI edits the message too; two processes, or a run killed after its
post, still leave one message. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from github import Auth, Github
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import GitHubSettings, QuestionsSettings, Secret, SuggestionSettings
from bot.discord.client import BotServices, LessonBot, create_bot
from bot.domain.catalogue import load_catalogue
from bot.github.adapter import GitHubAdapter
from bot.i18n import t
from bot.services.lessons import LessonDirectory
from bot.services.outbox import Outbox
from bot.services.signing import Signer
from bot.services.suggestions import Author, SuggestionInput, SuggestionService
from bot.services.suggestions.moderation_posts import ModerationPosts
from bot.services.worker import JobWorker
from bot.store.models import (
    JobStatus,
    OutboxJob,
    Suggestion,
    SuggestionModeration,
    SuggestionSource,
)
from sandboxes.github import GitHubSandbox
from tests.conftest import FIXTURES
from tests.discord.support import LESSONS, make_settings
from tests.e2e.discord.support import ANA, ANSWER_TIMEOUT, log_in, stop_bot

Sessions = async_sessionmaker[AsyncSession]
MOD = 1010  # holds the maintainers role
PASSAGE = "Fixtures are small on purpose."
SPAM = "Fixtures are small on purpose. Best online casino bonus: https://bit.ly/3xYzAbc"
SUCCESS, DANGER = 3, 4
TITLE = "Quizzes With Pipes"


@pytest.fixture
def guild_roles() -> list[str]:
    """Return the guild's roles: the maintainers'."""
    return ["maintainers"]


@pytest.fixture
def guild_members() -> list[dict[str, Any]]:
    """Return a maintainer, and a Spanish learner who is none."""
    return [
        {"id": MOD, "username": "mo", "nick": "Mo", "locale": "en-US", "roles": ["maintainers"]},
        {"id": ANA, "username": "ana", "locale": "es-ES"},
    ]


class ChatRelay:
    """The chat port of whichever bot runs now: a test restarts the bot, the service stays."""

    def __init__(self) -> None:
        self.chat: Any = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.chat, name)


@dataclass
class Queue:
    """The bot on the Discord sandbox, the service and worker on the GitHub sandbox."""

    sandbox: Any
    guild: dict[str, Any]
    sessions: Sessions
    service: SuggestionService
    worker: JobWorker
    github: GitHubSandbox
    maintainer: Github
    relay: ChatRelay

    @property
    def channel(self) -> int:
        return int(self.guild["channels"]["general"])

    def messages(self) -> list[dict[str, Any]]:
        return list(self.sandbox.channel_messages(self.channel))

    async def settle(self, worker: JobWorker | None = None) -> None:
        """Run every due job, as the running bot's worker would."""
        while await (worker or self.worker).run_once():
            pass

    async def hold(self, replace: str = SPAM, name: str = "Spammy") -> int:
        """Send a suspicious suggestion from the web; return its id (it is held)."""
        submitted = await self.service.submit(
            SuggestionInput(
                lesson="demo/pipes",
                locale="en",
                find=PASSAGE,
                replace=replace,
                reason="Better",
                source=SuggestionSource.WEB,
                author=Author(name=name, handle="ip:one"),
            )
        )
        assert submitted.status == "held"
        return submitted.id

    async def status(self, suggestion_id: int) -> str:
        async with self.sessions() as session:
            return str(
                await session.scalar(
                    select(Suggestion.status).where(Suggestion.id == suggestion_id)
                )
            )

    async def pulls(self) -> list[int]:
        def read() -> list[int]:
            repo = self.maintainer.get_repo(self.github.repository)
            return [pull.number for pull in repo.get_pulls(state="all")]

        return await asyncio.to_thread(read)

    async def click(self, message: dict[str, Any], user: int, custom_id: str) -> dict[str, Any]:
        """Click a button of the message as a user; return the bot's one answer."""
        clicked = await self.sandbox.click(self.channel, int(message["id"]), user, custom_id)
        (answer,) = await self.sandbox.wait_for_interaction_response(
            clicked, timeout=ANSWER_TIMEOUT
        )
        return answer


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for row in message.get("components") or [] for item in row["components"]]


def make_service(
    sessions: Sessions, settings: Any, github: GitHubAdapter | None, chat: Any
) -> SuggestionService:
    catalogue = load_catalogue(FIXTURES / "content", "en")
    return SuggestionService(
        sessions,
        Outbox(sessions),
        settings,
        catalogue=lambda: catalogue,
        signer=Signer(b"m" * 32),
        github=github,
        chat=chat,
    )


async def start_bot(queue_settings: Any, service: SuggestionService) -> LessonBot:
    bot = create_bot(queue_settings, guild_ready_timeout=0.1)
    await bot.add_service_cogs(
        BotServices(lessons=LessonDirectory(load_catalogue(LESSONS), "en"), suggestions=service)
    )
    return bot


@pytest.fixture
async def queue(
    sandbox: Any, guild: dict[str, Any], session_factory: Sessions
) -> AsyncIterator[Queue]:
    settings = make_settings(sandbox.api_base_url, sandbox.gateway_url, guild["id"])
    settings = dataclasses.replace(
        settings,
        suggestions=SuggestionSettings(
            per_person_per_hour=0, moderation_channel_id=int(guild["channels"]["general"])
        ),
        questions=QuestionsSettings(staff_role_ids=(str(guild["roles"]["maintainers"]),)),
    )
    async with GitHubSandbox(FIXTURES / "content", "lessons/content") as github_sandbox:
        github = GitHubAdapter.from_settings(
            GitHubSettings(
                base_url=github_sandbox.base_url,
                repository=github_sandbox.repository,
                token=Secret("lessonbot"),
                seconds_between_requests=0,
                seconds_between_writes=0,
            ),
            backoff=0.01,
        )
        relay = ChatRelay()
        service = make_service(session_factory, settings, github, relay)
        bot = await start_bot(settings, service)
        task = await log_in(bot)
        relay.chat = bot.chat
        maintainer = Github(
            base_url=github_sandbox.base_url,
            auth=Auth.Token("maintainer"),
            retry=None,
            seconds_between_requests=0,
            seconds_between_writes=0,
        )
        github_sandbox.add_collaborator("maintainer", "write")
        worker = JobWorker(service_outbox(service), {service.JOB_KIND: service.run_job})
        try:
            yield Queue(
                sandbox,
                guild,
                session_factory,
                service,
                worker,
                github_sandbox,
                maintainer,
                relay,
            )
        finally:
            await stop_bot(bot, task)
            github.close()


def service_outbox(service: SuggestionService) -> Outbox:
    return service._deps.outbox


async def test_a_held_suggestion_is_posted_once_and_a_maintainer_opens_its_pr(
    queue: Queue,
) -> None:
    suggestion_id = await queue.hold()
    await queue.settle()
    await queue.settle()  # nothing more to do: still one message

    [message] = queue.messages()
    content = message["content"]
    assert content.startswith(
        t("en", "moderation_queue.held", id=suggestion_id, lesson=TITLE, locale="en")
    )
    # The diff, old then new, each in a block nothing in it can close; and why it was held.
    assert f"```\n{PASSAGE}\n```" in content
    assert "bit.ly/3xYzAbc" in content
    assert t("en", "moderation.signal.link_shortener", domains="bit.ly") in content.replace(
        "\\", ""
    )
    assert [(b["style"], b["label"], b["custom_id"]) for b in buttons(message)] == [
        (SUCCESS, "Open the PR", f"lessonbot:moderate:approve:{suggestion_id}"),
        (DANGER, "Reject as spam", f"lessonbot:moderate:reject:{suggestion_id}"),
        (DANGER, "Block the person", f"lessonbot:moderate:block:{suggestion_id}"),
    ]

    # Ana holds no maintainer role: told so in Spanish, and nothing changes.
    refused = await queue.click(message, ANA, f"lessonbot:moderate:approve:{suggestion_id}")
    assert refused["ephemeral"] is True
    assert refused["data"]["content"] == t("es", "moderation_queue.refused")
    await queue.settle()
    assert await queue.status(suggestion_id) == "held"
    assert await queue.pulls() == []
    assert len(buttons(queue.messages()[0])) == 3

    done = await queue.click(message, MOD, f"lessonbot:moderate:approve:{suggestion_id}")
    assert done["ephemeral"] is True
    assert done["data"]["content"] == t("en", "moderation.cli_approved", id=suggestion_id)
    # A second press (a second maintainer at once) finds it decided: it acts once.
    again = await queue.click(message, MOD, f"lessonbot:moderate:reject:{suggestion_id}")
    assert again["data"]["content"] == t("en", "moderation.cli_not_held", id=suggestion_id)
    await queue.settle()

    assert await queue.status(suggestion_id) == "open"
    assert len(await queue.pulls()) == 1
    [edited] = queue.messages()
    assert edited["id"] == message["id"]
    assert t("en", "moderation_queue.decided_approved", who=f"<@{MOD}>") in edited["content"]
    assert buttons(edited) == []


async def test_a_decision_from_the_cli_edits_the_message(queue: Queue) -> None:
    suggestion_id = await queue.hold()
    await queue.settle()
    await queue.service.moderation.reject(suggestion_id, "cli:root", block=True)
    await queue.settle()

    [message] = queue.messages()
    who = t("en", "moderation_queue.by_terminal", login="root")
    assert t("en", "moderation_queue.decided_blocked", who=who) in message["content"]
    assert buttons(message) == []
    assert await queue.status(suggestion_id) == "rejected"
    assert await queue.pulls() == []


async def test_two_processes_and_a_run_killed_after_its_post_leave_one_message(
    queue: Queue, session_factory: Sessions
) -> None:
    first = await queue.hold()
    # Two processes' workers on the same database, at once: the job is claimed once.
    other = make_service(session_factory, queue.service._deps.settings, None, queue.relay)
    other_worker = JobWorker(service_outbox(other), {other.JOB_KIND: other.run_job})
    await asyncio.gather(queue.settle(), queue.settle(other_worker))
    assert len(queue.messages()) == 1

    # A run killed between its post and recording the message: the next holder finds the
    # message by its buttons instead of posting again.
    second = await queue.hold(SPAM.replace("bonus", "bonuses"), name="Other")
    outbox = service_outbox(queue.service)
    [claim] = await outbox.claim_due(5, [queue.service.JOB_KIND])
    assert claim.payload["op"] == "moderation"

    class Killed(BaseException):
        """The process dies here."""

    posts = ModerationPosts(queue.service._deps)

    async def die(*_: Any) -> None:
        raise Killed

    posts._remember = die  # type: ignore[method-assign]
    with pytest.raises(Killed):
        await posts.run(claim)
    assert len(queue.messages()) == 2
    async with session_factory() as session, session.begin():
        # Its lease ran out: another process takes it over, uncertain of what was done.
        await session.execute(
            update(OutboxJob)
            .where(OutboxJob.id == claim.job_id)
            .values(locked_until=claim_deadline())
        )
    await queue.settle()

    messages = queue.messages()
    assert len(messages) == 2
    async with session_factory() as session:
        query = select(SuggestionModeration.suggestion_id, SuggestionModeration.message_id)
        recorded = {row[0]: row[1] for row in (await session.execute(query)).all()}
        states = set(await session.scalars(select(OutboxJob.status)))
    assert recorded == {first: int(messages[0]["id"]), second: int(messages[1]["id"])}
    assert states == {JobStatus.DONE}


def claim_deadline() -> Any:
    from bot.store.models import utcnow

    return utcnow() - timedelta(seconds=1)
