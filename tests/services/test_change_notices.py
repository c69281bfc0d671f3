"""A merged change that may answer a question: matched on the GitHub sandbox's real git,
told once per question and pull request, across repeats and two service instances."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from github import Auth, Github
from sqlalchemy import select

from bot.config import GitHubSettings, QuestionsSettings, Secret, Settings
from bot.github.adapter import GitHubAdapter
from bot.services.events import PullRequestEvent
from bot.services.outbox import Outbox
from bot.services.questions import QuestionService
from bot.services.questions.change_notices import JOB_KIND, ChangeNotices, notice_text
from bot.store.models import ChangeNotice, Lesson, LessonLink, Question, QuestionSource
from sandboxes.github import GitHubSandbox
from tests.conftest import PROJECT
from tests.events import handled, parsed
from tests.services.test_questions import FakeChat, Sessions, receiver

__all__ = ["receiver"]  # the webhook receiver fixture, shared with the question tests

PATH = "programs/data-basics/lessons/en/train-test-split.mdx"
OLD = "Shuffling randomly before splitting makes both parts look like the whole dataset."
NEW = (
    "Shuffling randomly before splitting, with a fixed random seed so the split can be"
    " repeated, makes both parts look like the whole dataset."
)
THREAD = 100
T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
QUESTIONS = {
    # id: (author, text) — the first points at the edited sentence.
    "m1": ("11", "Why does shuffling randomly before splitting make both parts look alike?"),
    "m2": ("12", "What is a validation set for, if the test set is kept for one final check?"),
    "m3": ("13", "How long does this lesson take to read?"),
}


async def _store(sessions: Sessions) -> dict[str, int]:
    async with sessions() as session, session.begin():
        lesson = Lesson(program="data-basics", slug="train-test-split")
        session.add(lesson)
        await session.flush()
        session.add(LessonLink(lesson_id=lesson.id, discord_thread_id=THREAD))
        rows = {}
        for external, (author, text) in QUESTIONS.items():
            row = Question(
                source=QuestionSource.DISCORD,
                external_id=external,
                container_id=str(THREAD),
                url=f"https://discord.test/channels/1/{THREAD}/{external}",
                lesson_id=lesson.id,
                author_id=author,
                author_name=f"user{author}",
                text=text,
                asked_at=T0,
                locale="en",
            )
            session.add(row)
            rows[external] = row
        await session.flush()
        return {external: row.id for external, row in rows.items()}


def _merge_an_edit(base_url: str, repository: str) -> int:
    """Edit one sentence on a branch, open a PR and merge it, as a maintainer would."""
    client = Github(base_url=base_url, auth=Auth.Token("maintainer"), retry=None)
    repo = client.get_repo(repository)
    main = repo.get_branch(repo.default_branch)
    repo.create_git_ref("refs/heads/shuffle-seed", main.commit.sha)
    current = repo.get_contents(PATH, ref="shuffle-seed")
    text = current.decoded_content.decode()  # type: ignore[union-attr]
    assert OLD in text
    repo.update_file(
        PATH,
        "Say that the shuffle uses a fixed seed",
        text.replace(OLD, NEW),
        current.sha,  # type: ignore[union-attr]
        branch="shuffle-seed",
    )
    pull = repo.create_pull(
        title="Shuffle with a seed", body="", head="shuffle-seed", base=repo.default_branch
    )
    pull.merge(merge_method="merge")
    return pull.number


async def _drain(outbox: Outbox, *services: ChangeNotices) -> list[str]:
    """Run due change-notice jobs, taking turns between the services, until none is due."""
    done: list[str] = []
    turn = 0
    while claims := await outbox.claim_due(10, kinds=[JOB_KIND]):
        for claim in claims:
            done.append(await services[turn % len(services)].run_job(claim))
            turn += 1
    return done


class KilledError(Exception):
    """The process died here."""


@dataclass
class Merged:
    """An edit merged on the GitHub sandbox: the bot's adapter and the merge's webhook."""

    adapter: GitHubAdapter
    payload: dict[str, Any]
    number: int
    settings: Settings


@contextlib.asynccontextmanager
async def merged_edit(
    url: str, received: list[tuple[str, dict[str, Any]]]
) -> AsyncIterator[Merged]:
    """Merge an edit of the shuffle sentence on the GitHub sandbox; yield what the bot sees."""
    async with GitHubSandbox(PROJECT / "lessons", webhook_url=url) as sandbox:
        adapter = GitHubAdapter.from_settings(
            GitHubSettings(
                base_url=sandbox.base_url,
                repository=sandbox.repository,
                token=Secret("lessonbot"),
                seconds_between_requests=0,
                seconds_between_writes=0,
            )
        )
        try:
            number = await asyncio.to_thread(_merge_an_edit, sandbox.base_url, sandbox.repository)
            merged: list[dict[str, Any]] = []
            for _ in range(250):
                merged = [
                    payload
                    for event, payload in received
                    if event == "pull_request"
                    and payload["action"] == "closed"
                    and payload["pull_request"]["merged"]
                ]
                if merged:
                    break
                await asyncio.sleep(0.02)
            (payload,) = merged
            settings = Settings(github=GitHubSettings(repository=sandbox.repository))
            yield Merged(adapter, payload, number, settings)
        finally:
            adapter.close()


async def test_a_merged_edit_tells_only_the_asker_it_may_answer_once(
    session_factory: Sessions, receiver: tuple[str, list[tuple[str, dict[str, Any]]]]
) -> None:
    ids = await _store(session_factory)
    async with merged_edit(*receiver) as merged:
        number, payload, settings = merged.number, merged.payload, merged.settings
        outbox = Outbox(session_factory)
        chats = FakeChat(), FakeChat()
        one, two = (
            ChangeNotices(session_factory, outbox, settings, github=merged.adapter, chat=chat)
            for chat in chats
        )
        # The webhook twice, and to a second instance (another process): one match.
        outcomes = [
            await handled(PullRequestEvent, service.on_pull_request, payload)
            for service in (one, one, two)
        ]
        first = await _drain(outbox, one, two)
        # A match run again (a redone job, another process) records and sends nothing.
        event = parsed(PullRequestEvent, payload)
        await outbox.enqueue(
            JOB_KIND,
            f"change_notice:pr:{number}",
            {
                "op": "match",
                "number": number,
                "url": event.pull_request.url,
                "base": event.pull_request.base_sha,
                "merged": event.pull_request.merge_commit_sha,
            },
        )
        again = await _drain(outbox, two, one)

    assert outcomes == ["matching", "already matched", "already matched"]
    assert first[0] == f"1 notices for PR #{number} (1 lesson files)"
    assert first[1:] == ["told in the post"]
    assert again == [f"0 notices for PR #{number} (1 lesson files)"]
    posts = chats[0].posts + chats[1].posts
    assert len(posts) == 1
    thread, text = posts[0]
    assert thread == THREAD
    assert text.startswith("<@11> ")
    assert event.pull_request.url and event.pull_request.url in text
    assert "fixed random seed" in text and "✅" in text
    async with session_factory() as session:
        notices = list(await session.scalars(select(ChangeNotice)))
    assert [(n.question_id, n.pr_number) for n in notices] == [(ids["m1"], number)]
    assert notices[0].sent_at is not None and notices[0].message_id is not None
    assert "shuffl" in notices[0].reasons["words"]

    # The list shows the match per question; the ✅ on the notice resolves the question.
    questions = QuestionService(session_factory, settings)
    listed = {view.external_id: view.as_json() for view in await questions.list()}
    assert listed["m1"]["changes"][0]["pr_number"] == number
    assert listed["m2"]["changes"] == [] and listed["m3"]["changes"] == []
    notice_message = notices[0].message_id
    assert await questions.on_reaction(notice_message, 12, "✅", True) == (
        "ignored: neither the asker nor staff"
    )
    assert await questions.on_reaction(notice_message, 11, "✅", True) == "resolved"


async def test_a_notice_posted_before_a_crash_is_found_not_posted_again(
    session_factory: Sessions, receiver: tuple[str, list[tuple[str, dict[str, Any]]]]
) -> None:
    await _store(session_factory)
    async with merged_edit(*receiver) as merged:
        outbox = Outbox(session_factory)
        chat = FakeChat()
        service = ChangeNotices(
            session_factory, outbox, merged.settings, github=merged.adapter, chat=chat
        )
        await handled(PullRequestEvent, service.on_pull_request, merged.payload)
        (match,) = await outbox.claim_due(10, kinds=[JOB_KIND])
        await service.run_job(match)
        (send,) = await outbox.claim_due(10, kinds=[JOB_KIND])

        # The attempt posts, then the process dies before it records the message.
        async def posted_then_killed() -> None:
            async with session_factory() as session:
                row = await session.scalar(select(ChangeNotice))
                question = await session.get(Question, row.question_id) if row else None
            assert row is not None and question is not None
            await chat.post_message(
                THREAD,
                notice_text("en", "<@11>", question.url, row.pr_url or "", row.reasons),
            )
            raise KilledError

        await outbox.attempt(send, posted_then_killed)
        # Retried after its backoff; due now for the test.
        await outbox.retry(send.job_id)
        (retry,) = await outbox.claim_due(10, kinds=[JOB_KIND])
        outcome = await service.run_job(retry)
    assert retry.uncertain
    assert outcome == "told in the post"
    assert len(chat.posts) == 1
    async with session_factory() as session:
        row = await session.scalar(select(ChangeNotice))
    assert row is not None and row.message_id == chat.messages[0][1].id and row.sent_at is not None


async def test_merges_of_other_repositories_and_closed_prs_are_not_matched(
    session_factory: Sessions,
) -> None:
    outbox = Outbox(session_factory)
    settings = Settings(github=GitHubSettings(repository="lessons/content"))
    service = ChangeNotices(session_factory, outbox, settings, github=None, chat=None)
    pull = {
        "number": 3,
        "merged": True,
        "merge_commit_sha": "b" * 40,
        "base": {"ref": "main", "sha": "a" * 40},
        "head": {"ref": "x", "sha": "c" * 40},
    }
    elsewhere = {"action": "closed", "repository": {"full_name": "else/where"}}
    closed = {"action": "closed", "repository": {"full_name": "lessons/content"}}
    outcomes = [
        await handled(
            PullRequestEvent, service.on_pull_request, {**elsewhere, "pull_request": pull}
        ),
        await handled(
            PullRequestEvent,
            service.on_pull_request,
            {**closed, "pull_request": {**pull, "merged": False}},
        ),
    ]
    elsewhere_branch = {
        **pull,
        "base": {**pull["base"], "ref": "draft", "repo": {"default_branch": "main"}},
    }
    outcomes.append(
        await handled(
            PullRequestEvent,
            service.on_pull_request,
            {**closed, "pull_request": elsewhere_branch},
        )
    )
    off = ChangeNotices(
        session_factory,
        outbox,
        Settings(questions=QuestionsSettings(change_notices=False)),
        github=None,
        chat=None,
    )
    outcomes.append(
        await handled(PullRequestEvent, off.on_pull_request, {**closed, "pull_request": pull})
    )
    assert outcomes == [
        "ignored: another repository",
        "ignored",
        "ignored: not merged into the default branch",
        "ignored: change notices are off",
    ]
    assert await outbox.jobs() == []
