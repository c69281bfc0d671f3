"""End to end on GitHub: a suggestion becomes a PR, is reviewed, revised, merged and told."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import email
import email.policy
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
from aiohttp import web
from github import Auth, Github
from github.Repository import Repository
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import GitHubSettings, MailSettings, Secret, Settings, SuggestionSettings
from bot.domain.catalogue import load_catalogue
from bot.github.adapter import GitHubAdapter
from bot.mail.smtp import SmtpMailer
from bot.services.events import EventHandler, PushEvent
from bot.services.outbox import Outbox
from bot.services.signing import Signer
from bot.services.suggestions import Author, SuggestionInput, SuggestionService
from bot.services.worker import JobWorker
from bot.store.models import Lesson, LessonLink, OutboxJob, SuggestionEvent, SuggestionSource
from bot.web.app import create_web_app
from bot.web.keys import BACKGROUND_TASKS
from bot.web.router import WebhookRouter
from sandboxes.github import GitHubSandbox
from sandboxes.mail import MailSandbox
from tests.conftest import FIXTURES

Sessions = async_sessionmaker[AsyncSession]
SECRET = "suggestion-review-secret"
PATH = "programs/demo/lessons/en/pipes.mdx"
T = TypeVar("T")
PASSAGE = "Fixtures are small on purpose."


@dataclass
class World:
    """A GitHub sandbox, the bot's web app receiving its webhooks, and the service."""

    sandbox: GitHubSandbox
    app: web.Application
    github: GitHubAdapter
    service: SuggestionService
    worker: JobWorker
    sessions: Sessions
    maintainer: Github

    async def settle(self) -> None:
        """Let every webhook reach the app and its handlers finish, then run due jobs."""
        for _ in range(3):
            await self.sandbox.wait_for_webhooks()
            await self.app[BACKGROUND_TASKS].drain()
            while await self.worker.run_once():
                pass

    async def as_maintainer(self, action: Callable[[Repository], T]) -> T:
        """Run PyGithub calls as a maintainer, off the loop the sandbox serves on."""
        return await asyncio.to_thread(
            lambda: action(self.maintainer.get_repo(self.sandbox.repository))
        )


@pytest.fixture
async def world(session_factory: Sessions, tmp_path: Path) -> AsyncIterator[World]:
    async with make_world(session_factory, tmp_path) as made:
        yield made


@contextlib.asynccontextmanager
async def make_world(
    session_factory: Sessions, tmp_path: Path, *, mail: MailSandbox | None = None
) -> AsyncIterator[World]:
    """Run the GitHub sandbox and the bot's web app and service (its mail to `mail`)."""
    content = tmp_path / "content"
    shutil.copytree(FIXTURES / "content", content)
    catalogue = load_catalogue(content, "en")
    settings = Settings(
        github=GitHubSettings(webhook_secret=Secret(SECRET)),
        mail=MailSettings(smtp_port=mail.smtp_port if mail else 25, sender="bot@lessons.example"),
    )
    router = WebhookRouter()
    outbox = Outbox(session_factory)
    app = create_web_app(settings, session_factory=session_factory, webhook_router=router)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    webhook_url = f"http://127.0.0.1:{runner.addresses[0][1]}/webhooks/github"
    try:
        async with GitHubSandbox(
            FIXTURES / "content",
            "lessons/content",
            webhook_url=webhook_url,
            webhook_secret=SECRET,
        ) as sandbox:
            sandbox.add_collaborator("maintainer", "write")
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
            service = SuggestionService(
                session_factory,
                outbox,
                # Only events of the repository the bot writes to are followed.
                dataclasses.replace(
                    settings,
                    github=dataclasses.replace(settings.github, repository=sandbox.repository),
                ),
                catalogue=lambda: catalogue,
                signer=Signer(b"s" * 32),
                github=github,
                mail=SmtpMailer(settings.mail) if mail else None,
            )
            router.follow(*service.webhook_handlers())

            async def on_push(push: PushEvent) -> str:
                if push.ref != "refs/heads/main":
                    return "ignored"
                followed = await service.on_default_branch_push(push.changed_paths, "main")
                return f"{followed} suggestions to update"

            router.follow(EventHandler(PushEvent, "suggestions", on_push))
            worker = JobWorker(
                outbox, {service.JOB_KIND: service.run_job, service.NOTIFY_KIND: service.run_job}
            )
            maintainer = Github(
                base_url=sandbox.base_url,
                auth=Auth.Token("maintainer"),
                retry=None,
                seconds_between_requests=0,
                seconds_between_writes=0,
            )
            try:
                yield World(sandbox, app, github, service, worker, session_factory, maintainer)
            finally:
                github.close()
    finally:
        await runner.cleanup()


def request(
    find: str = PASSAGE, replace: str = "Fixtures are kept small on purpose."
) -> SuggestionInput:
    return SuggestionInput(
        lesson="demo/pipes",
        locale="en",
        find=find,
        replace=replace,
        reason="Say it more clearly @everyone, fixes #1 <b>now</b>",
        source=SuggestionSource.WEB,
        author=Author(name="Ada Learner", email="ada@example.org", handle="ip:1"),
    )


async def link_issue(world: World, number: int) -> None:
    async with world.sessions() as session, session.begin():
        lesson = (await session.execute(select(Lesson).where(Lesson.slug == "pipes"))).scalar_one()
        session.add(LessonLink(lesson_id=lesson.id, github_issue_number=number))


async def test_a_suggestion_opens_one_pr_with_exactly_that_change_in_six_requests(
    world: World,
) -> None:
    original = (FIXTURES / "content" / PATH).read_bytes()
    submitted = await world.service.submit(request())
    before = sum(world.github.request_counts.values())

    await world.settle()

    view = await world.service.view(submitted.id)
    assert view is not None and view.status == "open" and view.pr_number is not None
    assert sum(world.github.request_counts.values()) - before == 6
    on_branch = await world.github.get_file(PATH, f"lessonbot/suggest/{submitted.id}")
    expected = original.replace(PASSAGE.encode(), b"Fixtures are kept small on purpose.")
    assert on_branch.text.encode() == expected
    number = view.pr_number

    def observe(repo: Repository) -> tuple[set[str], str, str, list[str]]:
        pull = repo.get_pull(number)
        messages = [commit.commit.message for commit in pull.get_commits()]
        return {label.name for label in pull.labels}, pull.title, pull.body, messages

    labels, title, body, messages = await world.as_maintainer(observe)
    assert labels == {"suggested-edit", "program:demo", "locale:en"}
    assert title == "Suggest edit: Quizzes With Pipes (en)"
    # What a person typed cannot ping, close or inject on GitHub.
    assert "@everyone" not in body and "@\u200beveryone" in body
    assert "fixes #1" not in body.lower()
    # The reason is a code block of its own: its HTML shows as text, and what follows it
    # (the diff, the credit, the marker) stays outside it.
    why = body.split("### Why\n\n", 1)[1].split("\n\n### The change", 1)[0]
    assert why.startswith("```text\n") and why.endswith("\n```")
    assert "<b>now</b>" in why and "<b>" not in body.replace(why, "")
    assert len(messages) == 1
    assert "Co-authored-by: Ada Learner <ada@example.org>" in messages[0]


async def test_review_accept_revise_approve_merge_and_the_translation_note(world: World) -> None:
    issue = await world.as_maintainer(
        lambda repo: repo.create_issue("Lesson: Quizzes With Pipes", "The lesson's issue").number
    )
    submitted = await world.service.submit(request())
    await link_issue(world, issue)
    await world.settle()
    view = await world.service.view(submitted.id)
    assert view is not None and view.pr_number is not None
    number, branch = view.pr_number, f"lessonbot/suggest/{submitted.id}"
    body = await world.as_maintainer(lambda repo: repo.get_pull(number).body)
    assert f"Refs #{issue}" in body

    # A maintainer requests changes with a line comment holding a suggestion block.
    text = (await world.github.get_file(PATH, branch)).text
    line = text.splitlines().index("Fixtures are kept small on purpose.") + 1

    def request_changes(repo: Repository) -> None:
        pull = repo.get_pull(number)
        pull.create_review(
            commit=repo.get_commit(pull.head.sha),
            body="Nearly: one word.",
            event="REQUEST_CHANGES",
            comments=[
                {
                    "path": PATH,
                    "line": line,
                    "body": "```suggestion\nFixtures are kept tiny on purpose.\n```",
                }
            ],
        )

    await world.as_maintainer(request_changes)
    await world.settle()
    view = await world.service.view(submitted.id)
    assert view is not None and view.status == "changes_requested"
    [proposal] = view.reviewer_suggestions
    assert proposal.detail["suggestion"].rstrip("\n") == "Fixtures are kept tiny on purpose."
    assert "changes_requested" in [event.kind for event in view.events]

    # The suggester accepts the reviewer's text: that answers the review, and the passage
    # as the branch now holds it is kept (with its line) for every view to show.
    assert view.passage == "Fixtures are kept small on purpose."
    await world.service.accept(submitted.id, token=submitted.token)
    await world.settle()
    assert "Fixtures are kept tiny on purpose." in (await world.github.get_file(PATH, branch)).text
    view = await world.service.view(submitted.id)
    assert view is not None and view.status == "answered"
    assert (view.passage, view.passage_line) == ("Fixtures are kept tiny on purpose.", line)
    assert view.as_json()["passage"] == {"text": view.passage, "line": line}
    # A revision starts from that passage, and its commit is kept the same way.
    await world.service.revise(
        submitted.id,
        view.passage,
        "Fixtures are kept really tiny on purpose.",
        "Even clearer",
        token=submitted.token,
    )
    await world.settle()
    on_branch = (await world.github.get_file(PATH, branch)).text
    assert "Fixtures are kept really tiny on purpose." in on_branch
    view = await world.service.view(submitted.id)
    assert view is not None and view.status == "answered"
    assert view.passage == "Fixtures are kept really tiny on purpose."
    commits = await world.as_maintainer(lambda repo: repo.get_pull(number).commits)
    assert commits == 3

    # Approved, merged: the default branch holds the new text and translations are listed.
    def approve(repo: Repository) -> None:
        pull = repo.get_pull(number)
        pull.create_review(commit=repo.get_commit(pull.head.sha), body="Thanks!", event="APPROVE")

    await world.as_maintainer(approve)
    await world.settle()
    view = await world.service.view(submitted.id)
    assert view is not None and view.status == "approved"
    await world.as_maintainer(lambda repo: repo.get_pull(number).merge(merge_method="merge"))
    await world.settle()
    view = await world.service.view(submitted.id)
    assert view is not None and view.status == "merged"
    main = (await world.github.get_file(PATH, "main")).text
    assert "Fixtures are kept really tiny on purpose." in main
    notes = await world.as_maintainer(
        lambda repo: [comment.body for comment in repo.get_issue(issue).get_comments()]
    )
    assert len(notes) == 1
    assert "programs/demo/lessons/es/pipes.mdx" in notes[0]
    assert "programs/demo/lessons/ar/pipes.mdx" in notes[0]
    # Each step the suggester hears of became one notification job, all done.
    async with world.sessions() as session:
        jobs = (
            (
                await session.execute(
                    select(OutboxJob).where(OutboxJob.kind == SuggestionService.NOTIFY_KIND)
                )
            )
            .scalars()
            .all()
        )
    async with world.sessions() as session:
        kinds = dict(
            (await session.execute(select(SuggestionEvent.id, SuggestionEvent.kind))).all()
        )
    told = sorted(jobs, key=lambda job: job.id)
    # The review's proposed text is told with it, or on its own when its webhook was
    # handled after the review's (GitHub keeps no order): once either way.
    alone = (
        ["reviewer_suggestion"]
        if "reviewer_suggestion" in kinds.values()
        and (
            min(i for i, kind in kinds.items() if kind == "reviewer_suggestion")
            > min(i for i, kind in kinds.items() if kind == "changes_requested")
        )
        else []
    )
    assert [kinds[int(str(job.dedupe_key).split(":")[1])] for job in told] == [
        "pr_opened",
        "changes_requested",
        *alone,
        "approved",
        "merged",
    ]
    assert {str(job.status) for job in jobs} == {"done"}


def put_on_main(old: str, new: str) -> Callable[[Repository], None]:
    """Return an action that changes the lesson on the default branch."""

    def change(repo: Repository) -> None:
        current = repo.get_contents(PATH, ref="main")
        text = current.decoded_content.decode().replace(old, new)
        repo.update_file(PATH, "Change the lesson", text, current.sha, branch="main")

    return change


async def test_a_change_on_main_before_the_pr_opens_is_built_on(world: World) -> None:
    submitted = await world.service.submit(request())
    await world.as_maintainer(put_on_main("# Quizzes With Pipes", "# Pipes Quizzes"))

    await world.settle()

    view = await world.service.view(submitted.id)
    assert view is not None and view.status == "open"
    on_branch = (await world.github.get_file(PATH, f"lessonbot/suggest/{submitted.id}")).text
    assert "# Pipes Quizzes" in on_branch
    assert "Fixtures are kept small on purpose." in on_branch


async def test_an_edit_that_no_longer_applies_becomes_a_conflict_and_nothing_is_overwritten(
    world: World,
) -> None:
    submitted = await world.service.submit(request())
    await world.as_maintainer(put_on_main(PASSAGE, "Fixtures stay small."))

    await world.settle()

    view = await world.service.view(submitted.id)
    assert view is not None and view.status == "conflict" and view.pr_number is None
    assert "Fixtures stay small." in (await world.github.get_file(PATH, "main")).text


async def test_a_change_on_main_while_the_pr_is_open_is_merged_in_or_told_as_a_conflict(
    world: World,
) -> None:
    submitted = await world.service.submit(request())
    await world.settle()
    branch = f"lessonbot/suggest/{submitted.id}"

    await world.as_maintainer(put_on_main("# Quizzes With Pipes", "# Pipes Quizzes"))
    await world.settle()

    view = await world.service.view(submitted.id)
    assert view is not None and view.status == "open"
    on_branch = (await world.github.get_file(PATH, branch)).text
    assert "# Pipes Quizzes" in on_branch and "Fixtures are kept small" in on_branch

    await world.as_maintainer(put_on_main(PASSAGE, "Fixtures stay small."))
    await world.settle()

    view = await world.service.view(submitted.id)
    assert view is not None and view.status == "conflict"
    assert "Fixtures are kept small" in (await world.github.get_file(PATH, branch)).text
    assert "Fixtures stay small." in (await world.github.get_file(PATH, "main")).text


async def test_withdrawing_closes_the_pr_with_a_note(world: World) -> None:
    submitted = await world.service.submit(request())
    await world.settle()

    await world.service.withdraw(submitted.id, token=submitted.token)
    await world.settle()

    view = await world.service.view(submitted.id)
    assert view is not None and view.status == "withdrawn" and view.pr_number is not None
    number = view.pr_number

    def observe(repo: Repository) -> tuple[str, bool, list[str]]:
        pull = repo.get_pull(number)
        return pull.state, pull.merged, [c.body for c in pull.get_issue_comments()]

    state, merged, comments = await world.as_maintainer(observe)
    assert state == "closed" and not merged
    assert any("withdrew" in comment for comment in comments)


async def test_closing_unmerged_is_followed(world: World) -> None:
    submitted = await world.service.submit(request())
    await world.settle()
    view = await world.service.view(submitted.id)
    assert view is not None and view.pr_number is not None
    number = view.pr_number
    await world.as_maintainer(lambda repo: repo.get_pull(number).edit(state="closed"))
    await world.settle()
    view = await world.service.view(submitted.id)
    assert view is not None and view.status == "closed"


async def test_two_workers_open_one_pr(world: World) -> None:
    submitted = await world.service.submit(request())
    second = JobWorker(Outbox(world.sessions), {world.service.JOB_KIND: world.service.run_job})
    await asyncio.gather(world.worker.run_once(), second.run_once())
    await world.settle()
    heads = await world.as_maintainer(
        lambda repo: [(p.number, p.head.ref) for p in repo.get_pulls(state="all")]
    )
    ours = [number for number, ref in heads if ref.startswith("lessonbot/")]
    view = await world.service.view(submitted.id)
    assert view is not None and ours == [view.pr_number]


async def test_a_suggester_who_gave_an_email_is_emailed_each_step_once_in_their_language(
    session_factory: Sessions, tmp_path: Path
) -> None:
    async with (
        MailSandbox() as catcher,
        make_world(session_factory, tmp_path, mail=catcher) as world,
    ):
        # Emails are on by default: giving an address is asking for them.
        assert SuggestionSettings().email_updates is True
        sent = dataclasses.replace(
            request(), author=Author(name="Zoé", email="zoe@example.org", locale="fr")
        )
        submitted = await world.service.submit(sent)
        await world.settle()
        view = await world.service.view(submitted.id)
        assert view is not None and view.pr_number is not None
        number, branch = view.pr_number, f"lessonbot/suggest/{submitted.id}"
        text = (await world.github.get_file(PATH, branch)).text
        line = text.splitlines().index("Fixtures are kept small on purpose.") + 1

        def request_changes(repo: Repository) -> None:
            pull = repo.get_pull(number)
            pull.create_review(
                commit=repo.get_commit(pull.head.sha),
                body="Presque : _un_ mot.",
                event="REQUEST_CHANGES",
                comments=[
                    {
                        "path": PATH,
                        "line": line,
                        "body": "```suggestion\nFixtures are kept tiny on purpose.\n```",
                    }
                ],
            )

        await world.as_maintainer(request_changes)
        await world.settle()
        await world.settle()  # a retried send, should one fail, goes out with its Message-ID

        ids = {}
        async with world.sessions() as session:
            for kind, event_id in (
                await session.execute(select(SuggestionEvent.kind, SuggestionEvent.id))
            ).all():
                ids.setdefault(kind, event_id)
        mails = {}
        for mail in catcher.messages:
            assert mail.to == ["zoe@example.org"]
            message = email.message_from_bytes(mail.raw, policy=email.policy.default)
            # In Zoé's French, naming the lesson by its title.
            assert mail.subject == f"Votre suggestion {submitted.id} pour Quizzes With Pipes"
            assert message["Message-ID"].startswith(f"<suggestion-{submitted.id}-")
            body = message.get_content().replace("\r\n", "\n")
            for inner in ("`", "-#", "lessonbot:", "\\", "<@"):
                assert inner not in body, (inner, body)
            mails[message["Message-ID"]] = body
        # One email a step (a proposed text with its review or on its own), none twice.
        assert len(mails) == len(catcher.messages) in (2, 3)
        bodies = list(mails.values())
        [opened] = [b for b in bodies if "est maintenant une pull request" in b]
        assert opened.endswith(
            "Révisez ou retirez votre suggestion sur sa page : "
            f"{world.service.step_url(submitted.id, ids['pr_opened'], 'fr')}\n"
        )
        [asked] = [b for b in bodies if b.startswith("Un relecteur (maintainer) a demandé")]
        assert asked.startswith(
            "Un relecteur (maintainer) a demandé des changements à votre suggestion pour "
            "Quizzes With Pipes :\n    Presque : _un_ mot.\n"
        )
        proposal = (
            f"maintainer a proposé ce texte pour la ligne {line} :\n"
            "    Fixtures are kept tiny on purpose.\n"
        )
        [told] = [b for b in bodies if proposal in b]
        assert (
            "Utilisez un texte proposé, révisez ou retirez votre suggestion sur sa page : " in told
        )
