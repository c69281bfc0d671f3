"""Linking sync end to end: the real bot's ChatPort and the GitHub adapter over both sandboxes."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from github import Auth, Github
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import linking_service
from bot.config import LinkingSettings, Settings
from bot.discord.chat import custom_ids as custom_ids_of
from bot.domain.catalogue import Catalogue, load_catalogue
from bot.domain.link_texts import LESSON_LABEL
from bot.domain.markers import find_markers
from bot.domain.priorities import JobPriority
from bot.github.adapter import GitHubAdapter
from bot.offline import SandboxEnvironment, sandbox_environment
from bot.services.events import PushEvent
from bot.services.linking import LinkingService, SyncReport
from bot.services.ports import ChatError, Issue
from bot.services.worker import JobWorker
from bot.store.engine import make_engine, make_session_factory
from bot.store.migrate import upgrade
from bot.store.models import JobStatus, Lesson, LessonFile, LessonLink, ProgramForum
from bot.web.keys import BACKGROUND_TASKS
from tests.conftest import FIXTURES, PROJECT, write_lesson
from tests.events import parsed

TEMPLATE = "https://learn.example/{locale}/programs/{program}/lessons/{slug}"
# The figures of a sync that had nothing to do.
NOTHING_DONE = {
    "lessons": 0,
    "issues_created": 0,
    "issues_updated": 0,
    "threads_created": 0,
    "threads_updated": 0,
    "issues_adopted": 0,
    "threads_adopted": 0,
    "removed": 0,
    "restored": 0,
    "github_requests": 0,
    "discord_requests": 0,
}


@dataclass
class Linked:
    """A running environment, a copy of its content to edit, and the linking service."""

    env: SandboxEnvironment
    content: Path
    service: LinkingService
    github: GitHubAdapter
    sessions: async_sessionmaker[AsyncSession]

    def catalogue(self) -> Catalogue:
        """Load the (possibly edited) content copy."""
        return load_catalogue(self.content, "en")

    async def sync(self) -> SyncReport:
        """Sync the content copy."""
        return await self.service.sync(self.catalogue())

    def requests(self) -> tuple[int, int]:
        """Return how many requests each sandbox has received so far."""
        return len(self.env.github.requests), len(self.env.discord.requests)

    async def issues(self) -> list[Issue]:
        """Return the lesson issues on the GitHub sandbox."""
        return await self.github.list_issues(label=LESSON_LABEL)

    async def links(self) -> dict[str, LessonLink]:
        """Return the stored links by lesson identity."""
        async with self.sessions() as session:
            rows = (await session.execute(select(Lesson))).scalars().all()
            links = (await session.execute(select(LessonLink))).scalars().all()
        by_id = {row.id: row.identity for row in rows}
        return {by_id[link.lesson_id]: link for link in links}


async def _linked(
    content: Path, state: Path, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[Linked]:
    settings = Settings()
    async with sandbox_environment(settings, content_dir=content, state_dir=state) as env:
        github = GitHubAdapter.from_settings(env.app.settings.github, backoff=0.01)
        service = LinkingService(
            sessions,
            github,
            env.app.bot.chat,
            default_locale="en",
            locales=settings.content.locales,
            lesson_url_template=TEMPLATE,
            discord_web_url=env.app.settings.discord.web_url,
        )
        try:
            yield Linked(env, content, service, github, sessions)
        finally:
            github.close()


@pytest.fixture
async def fixture_linked(
    tmp_path: Path, session_factory: async_sessionmaker[AsyncSession]
) -> AsyncIterator[Linked]:
    """Link the fixture lessons (a copy, to edit), on every database backend."""
    content = tmp_path / "content"
    shutil.copytree(FIXTURES / "content", content)
    # The fixture's second lesson is a draft, which gets no links: publish it here.
    arrays = content / "programs/demo/lessons/en/arrays.mdx"
    arrays.write_text(
        arrays.read_text(encoding="utf-8").replace("published: false", "published: true"),
        encoding="utf-8",
    )
    async for linked in _linked(content, tmp_path / "state", session_factory):
        yield linked


def _thread(env: SandboxEnvironment, thread_id: int, forum_id: int) -> dict[str, Any]:
    [thread] = [t for t in env.discord.threads(forum_id) if int(t["id"]) == thread_id]
    return thread


async def _check_links(linked: Linked, catalogue: Catalogue) -> None:
    """Assert one issue and one post per lesson, labelled, tagged and linked to each other."""
    env = linked.env
    issues = await linked.issues()
    links = await linked.links()
    by_identity = {find_markers(issue.body)["lesson"]: issue for issue in issues}
    assert len(issues) == len(catalogue.lessons) == len(by_identity)
    assert set(links) == set(catalogue.lessons)
    guild_id = int(env.guild["id"])
    async with linked.sessions() as session:
        forums = {f.program: f for f in (await session.execute(select(ProgramForum))).scalars()}
    for identity, lesson in catalogue.lessons.items():
        link, issue = links[identity], by_identity[identity]
        title = lesson.title("en")
        assert issue.number == link.github_issue_number
        assert issue.state == "open"
        assert set(issue.labels) == {LESSON_LABEL, f"program:{lesson.program}"}
        post = f"{env.discord.web_url}/channels/{guild_id}/{link.discord_thread_id}/"
        assert post + str(link.discord_starter_message_id) in issue.body
        assert TEMPLATE.format(locale="en", program=lesson.program, slug=lesson.slug) in issue.body
        assert lesson.file("en").path in issue.body
        assert issue.title == f"Lesson: {title}"
        forum = forums[lesson.program]
        assert link.discord_forum_id == forum.discord_forum_id
        thread = _thread(env, link.discord_thread_id or 0, forum.discord_forum_id)
        assert thread["name"] == title
        assert not thread["thread_metadata"]["archived"]
        tag_names = {v: k for k, v in forum.tag_ids.items()}
        applied = [tag_names[int(tag)] for tag in thread["applied_tags"]]
        difficulty = lesson.file("en").meta.get("difficulty")
        translations = [loc for loc in lesson.locales if loc != "en"]
        assert applied[0] == difficulty
        assert sorted(applied[1:]) == sorted(translations)[:4]
        starter = env.discord.message(thread_id := int(thread["id"]), thread_id)
        assert issue.html_url in starter["content"]
        assert (
            TEMPLATE.format(locale="en", program=lesson.program, slug=lesson.slug)
            in (starter["content"])
        )


async def test_first_sync_links_every_lesson_and_a_second_makes_no_request(
    fixture_linked: Linked,
) -> None:
    linked = fixture_linked
    catalogue = linked.catalogue()

    first = await linked.sync()

    assert (first.lessons, first.issues_created, first.threads_created) == (2, 2, 2)
    await _check_links(linked, catalogue)
    # The fixture's program is titled "Demo Program": its forum got the tags.
    forums = {c["name"]: c for c in linked.env.discord.channels(int(linked.env.guild["id"]))}
    tags = {tag["name"] for tag in forums["demo-program"]["available_tags"]}
    assert tags == {
        "beginner",
        "intermediate",
        "advanced",
        "es",
        "ar",
        "zh",
        "fr",
        "hi",
        "nl",
        "te",
    }

    before = linked.requests()
    second = await linked.sync()

    assert linked.requests() == before
    figures = second.as_json()
    assert {key: figures[key] for key in NOTHING_DONE} == NOTHING_DONE | {"lessons": 2}
    assert second.ok and not second.busy and not second.held_back


async def test_a_draft_gets_no_links(
    tmp_path: Path, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async for linked in _linked(FIXTURES / "content", tmp_path / "state", session_factory):
        report = await linked.sync()
        assert (report.lessons, report.issues_created, report.threads_created) == (1, 1, 1)
        assert set(await linked.links()) == {"demo/pipes"}


async def test_a_lost_database_re_adopts_every_issue_and_post(fixture_linked: Linked) -> None:
    linked = fixture_linked
    await linked.sync()
    threads_before = {i: link.discord_thread_id for i, link in (await linked.links()).items()}
    async with linked.sessions() as session:
        for model in (LessonLink, LessonFile, Lesson, ProgramForum):
            await session.execute(delete(model))
        await session.commit()
    github_before = len(linked.env.github.requests)

    again = await linked.sync()

    assert (again.issues_created, again.threads_created, again.issues_adopted) == (0, 0, 2)
    listings = [r for r in linked.env.github.requests[github_before:] if r["method"] == "GET"]
    assert len(listings) == 1 and listings[0]["path"].endswith("/issues")
    assert {i: link.discord_thread_id for i, link in (await linked.links()).items()} == (
        threads_before
    )
    await _check_links(linked, linked.catalogue())
    before = linked.requests()
    assert (await linked.sync()).as_json()["github_requests"] == 0
    assert linked.requests() == before


async def test_an_issue_that_landed_before_a_502_is_not_opened_twice(
    fixture_linked: Linked,
) -> None:
    linked = fixture_linked
    linked.env.github.add_fault(match="POST /repos/*/issues", mode="after", count=1)

    await linked.sync()

    await _check_links(linked, linked.catalogue())


class _LosesFirstPost:
    """The bot's chat, but the answer to its first new post is lost: the post is on
    Discord, and the sync hears of an error (a dropped connection, a crash right after)."""

    def __init__(self, chat: Any) -> None:
        self._chat = chat
        self.lost = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._chat, name)

    async def create_forum_post(self, *args: Any, **options: Any) -> Any:
        post = await self._chat.create_forum_post(*args, **options)
        if not self.lost:
            self.lost += 1
            raise ChatError("create forum post", 0, "the connection dropped before the answer")
        return post


@pytest.mark.parametrize("button", [True, False], ids=["key-in-button", "no-button"])
async def test_a_post_whose_answer_was_lost_is_adopted_not_opened_twice(
    fixture_linked: Linked, button: bool
) -> None:
    linked = fixture_linked
    chat = _LosesFirstPost(linked.env.app.bot.chat)
    service = LinkingService(
        linked.sessions,
        linked.github,
        chat,  # type: ignore[arg-type]
        default_locale="en",
        locales=Settings().content.locales,
        lesson_url_template=TEMPLATE,
        suggest_button=button,
        discord_web_url=linked.env.app.settings.discord.web_url,
    )
    first = await service.sync(linked.catalogue())
    assert chat.lost == 1 and len(first.failed) == 1

    again = await service.sync(linked.catalogue())

    # Found again by the key in its button (or, with none, by its name), never by text.
    assert again.threads_adopted == 1 and again.threads_created == 0, again
    await _check_links(linked, linked.catalogue())
    async with linked.sessions() as session:
        [forum] = (await session.execute(select(ProgramForum))).scalars()
    posts = linked.env.discord.threads(forum.discord_forum_id)
    assert len(posts) == len(linked.catalogue().lessons) == 2
    for post in posts:
        starter = linked.env.discord.message(int(post["id"]), int(post["id"]))
        assert "lessonbot" not in starter["content"] and "-#" not in starter["content"]
        custom_ids = custom_ids_of(starter.get("components") or [])
        assert len(custom_ids) == (1 if button else 0)
        assert all(custom_id.startswith("lessonbot:suggest:demo/") for custom_id in custom_ids)


class _CrashError(Exception):
    """Stands for the process dying between two lessons."""


async def test_an_interrupted_first_sync_resumes_where_it_stopped(
    fixture_linked: Linked,
) -> None:
    linked = fixture_linked

    def crash(identity: str) -> None:
        raise _CrashError(identity)

    with pytest.raises(_CrashError):
        await linked.service.sync(linked.catalogue(), progress=crash)
    # Posts go first: the first lesson has its post, and its issue job waits.
    assert len(await linked.issues()) == 0

    resumed = await linked.sync()

    assert (resumed.issues_created, resumed.threads_created) == (2, 1)
    await _check_links(linked, linked.catalogue())


async def test_a_renamed_lesson_renames_its_post_and_issue(fixture_linked: Linked) -> None:
    linked = fixture_linked
    await linked.sync()
    path = linked.content / "programs/demo/lessons/en/arrays.mdx"
    text = path.read_text(encoding="utf-8")
    old = linked.catalogue().lessons["demo/arrays"].title("en")
    path.write_text(text.replace(old, "Arrays, Renamed", 1), encoding="utf-8")

    report = await linked.sync()

    assert (report.threads_updated, report.issues_updated) == (1, 1)
    assert (report.threads_created, report.issues_created) == (0, 0)
    await _check_links(linked, linked.catalogue())
    assert linked.catalogue().lessons["demo/arrays"].title("en") == "Arrays, Renamed"


async def test_a_removed_lesson_is_archived_and_closed_then_reopened(
    fixture_linked: Linked,
) -> None:
    linked = fixture_linked
    await linked.sync()
    path = linked.content / "programs/demo/lessons/en/arrays.mdx"
    saved = path.read_bytes()
    path.unlink()
    link = (await linked.links())["demo/arrays"]

    removed = await linked.sync()

    assert (removed.threads_updated, removed.issues_updated, removed.removed) == (1, 1, 1)
    issue = await linked.github.get_issue(link.github_issue_number or 0)
    assert issue.state == "closed"
    comments = await linked.github.list_comments(issue.number)
    assert len(comments) == 1 and "removed from the catalogue" in comments[0].body
    thread = _thread(linked.env, link.discord_thread_id or 0, link.discord_forum_id or 0)
    assert thread["thread_metadata"]["archived"] and thread["thread_metadata"]["locked"]
    async with linked.sessions() as session:
        row = await session.scalar(select(Lesson).where(Lesson.slug == "arrays"))
    assert row is not None and row.removed_at is not None
    assert (await linked.sync()).as_json()["github_requests"] == 0  # removed stays removed

    write_lesson(linked.content, "programs/demo/lessons/en/arrays.mdx", saved)
    back = await linked.sync()

    assert (back.restored, back.threads_created, back.issues_created) == (1, 0, 0)
    await _check_links(linked, linked.catalogue())
    thread = _thread(linked.env, link.discord_thread_id or 0, link.discord_forum_id or 0)
    assert not thread["thread_metadata"]["locked"]


async def test_removing_more_lessons_than_the_limit_needs_allow_removals(
    fixture_linked: Linked,
) -> None:
    linked = fixture_linked
    await linked.sync()
    guarded = LinkingService(
        linked.sessions,
        linked.github,
        linked.env.app.bot.chat,
        default_locale="en",
        locales=Settings().content.locales,
        lesson_url_template=TEMPLATE,
        max_removals=1,
    )
    for lesson in linked.catalogue().lessons.values():
        for lesson_file in lesson.files.values():
            (linked.content / lesson_file.path).unlink()
    github_before, discord_before = linked.requests()

    refused = await guarded.sync(linked.catalogue())

    assert sorted(refused.refused_removals) == ["demo/arrays", "demo/pipes"]
    assert refused.removed == 0 and not refused.ok
    writes = [r for r in linked.env.github.requests[github_before:] if r["method"] != "GET"]
    assert writes == [] and linked.requests()[1] == discord_before
    assert all(issue.state == "open" for issue in await linked.issues())

    allowed = await guarded.sync(linked.catalogue(), allow_removals=True)

    assert allowed.removed == 2 and allowed.ok
    assert all(issue.state == "closed" for issue in await linked.issues())


async def test_each_removal_comments_once_however_often_it_is_retried(
    fixture_linked: Linked,
) -> None:
    linked = fixture_linked
    await linked.sync()
    path = linked.content / "programs/demo/lessons/en/arrays.mdx"
    saved = path.read_bytes()
    link = (await linked.links())["demo/arrays"]
    # The close is lost after the comment went in: the job is retried.
    linked.env.github.add_fault("PATCH /repos/*/issues/*", mode="before", count=50)
    path.unlink()
    failed = await linked.sync()
    assert list(failed.failed) == ["demo/arrays"]
    linked.env.github.clear_faults()
    assert (await linked.sync()).removed == 1
    assert (await linked.sync()).removed == 0

    def removal_notes() -> list[str]:
        return [c.body for c in comments if "lesson_removed" in c.body]

    comments = await linked.github.list_comments(link.github_issue_number or 0)
    assert len(removal_notes()) == 1
    # Back, then removed again: a new removal gets its own comment.
    write_lesson(linked.content, "programs/demo/lessons/en/arrays.mdx", saved)
    assert (await linked.sync()).restored == 1
    path.unlink()
    assert (await linked.sync()).removed == 1
    comments = await linked.github.list_comments(link.github_issue_number or 0)
    assert len(removal_notes()) == 2


async def test_broken_lessons_are_held_back_and_the_others_go_on(fixture_linked: Linked) -> None:
    linked = fixture_linked
    await linked.sync()
    before = {find_markers(issue.body)["lesson"]: issue for issue in await linked.issues()}
    # A linked lesson's front matter breaks; two new lessons arrive broken; one arrives fine.
    arrays = linked.content / "programs/demo/lessons/en/arrays.mdx"
    arrays.write_text("---\ntitle: [unclosed\n---\nBody\n", encoding="utf-8")
    write_lesson(linked.content, "programs/demo/lessons/en/broken-fm.mdx", "---\ntitle: [\n")
    write_lesson(
        linked.content,
        "programs/demo/lessons/en/two\u00a0words.mdx",
        '---\ntitle: "Two words"\ndescription: "d"\n---\nBody\n',
    )
    write_lesson(
        linked.content,
        "programs/demo/lessons/en/fine.mdx",
        '---\ntitle: "Fine"\ndescription: "d"\n---\nBody\n',
    )

    report = await linked.sync()

    assert sorted(report.held_back) == ["demo/arrays", "demo/broken-fm", "demo/two\u00a0words"]
    assert "U+00A0 NO-BREAK SPACE" in report.held_back["demo/two\u00a0words"]
    assert (report.issues_created, report.removed, report.ok) == (1, 0, True)
    after = {find_markers(issue.body)["lesson"]: issue for issue in await linked.issues()}
    assert sorted(after) == ["demo/arrays", "demo/fine", "demo/pipes"]
    # The broken lesson keeps its last good title, open.
    assert after["demo/arrays"].title == before["demo/arrays"].title
    assert after["demo/arrays"].state == "open"


async def test_the_projects_lessons_get_one_issue_and_post_each(
    tmp_path: Path, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async for linked in _linked(PROJECT / "lessons", tmp_path / "state", session_factory):
        catalogue = linked.catalogue()
        first = await linked.sync()
        assert first.issues_created == first.threads_created == len(catalogue.lessons) == 6
        await _check_links(linked, catalogue)
        # The sandbox guild already has a forum per program, named as Discord shows titles.
        channels = linked.env.guild["channels"]
        async with linked.sessions() as session:
            forums = {
                f.program: f.discord_forum_id
                for f in (await session.execute(select(ProgramForum))).scalars()
            }
        assert forums == {
            "data-basics": int(channels["data-basics"]),
            "prompt-craft": int(channels["prompt-craft"]),
        }
        before = linked.requests()
        second = await linked.sync()
        assert second.issues_created + second.issues_updated + second.threads_updated == 0
        assert linked.requests() == before


async def test_the_real_corpus_gets_one_issue_and_post_per_lesson(
    corpus: Path, tmp_path: Path, sqlite_url: str
) -> None:
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    try:
        sessions = make_session_factory(engine)
        async for linked in _linked(corpus, tmp_path / "state", sessions):
            first = await linked.sync()
            assert (first.lessons, first.issues_created, first.threads_created) == (153, 153, 153)
            assert len(await linked.issues()) == 153
            links = await linked.links()
            assert len({link.discord_thread_id for link in links.values()}) == 153
            before = linked.requests()
            second = await linked.sync()
            assert second.issues_created == second.threads_created == 0
            assert second.issues_updated == second.threads_updated == 0
            assert linked.requests() == before
    finally:
        await engine.dispose()


async def test_lesson_command_shows_the_page_post_and_issue_links(tmp_path: Path) -> None:
    settings = Settings()
    async with sandbox_environment(
        settings, content_dir=PROJECT / "lessons", state_dir=tmp_path / "state"
    ) as env:
        github = GitHubAdapter.from_settings(env.app.settings.github, backoff=0.01)
        try:
            # Into the bot's own database, which /lesson reads the links from.
            assert env.app.catalogue is not None
            await linking_service(env.app, github).sync(env.app.catalogue)
            [issue] = [
                i
                for i in await github.list_issues(label=LESSON_LABEL)
                if "data-basics/what-is-data" in i.body
            ]
        finally:
            github.close()
        guild_id, general = int(env.guild["id"]), int(env.guild["channels"]["general"])
        interaction = await env.discord.run_command(
            guild_id,
            general,
            1001,
            "lesson",
            options=[{"name": "lesson", "type": 3, "value": "data-basics/what-is-data"}],
            locale="es-ES",
        )
        [answer] = await env.discord.wait_for_interaction_response(interaction, timeout=10)
    fields = {f["name"]: f["value"] for f in answer["data"]["embeds"][0]["fields"]}
    links = fields["Enlaces"]
    assert f"[Issue de GitHub]({issue.html_url})" in links
    assert f"[Publicación en Discord]({env.discord.web_url}/channels/{guild_id}/" in links
    assert "[Página de la lección](https://example.org/es/programs/data-basics/" in links


def _as_maintainer(env: SandboxEnvironment) -> Any:
    """Return the content repository through a plain PyGithub client acting as a maintainer."""
    client = Github(
        base_url=env.github.base_url,
        auth=Auth.Token("maintainer"),
        lazy=True,  # no request here, on the event loop the sandbox serves on
        retry=None,
        seconds_between_requests=0,
        seconds_between_writes=0,
    )
    return client.get_repo(env.github.repository)


async def _pushed(env: SandboxEnvironment) -> None:
    """Wait until the push's webhook reached the bot and its handlers finished."""
    await env.github.wait_for_webhooks()
    assert env.app.web_app is not None
    await env.app.web_app[BACKGROUND_TASKS].drain()


async def test_a_push_to_main_syncs_only_the_lessons_it_changed(tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(PROJECT / "lessons", content)
    async with sandbox_environment(
        Settings(), content_dir=content, state_dir=tmp_path / "state"
    ) as env:
        linking, catalogue = env.app.linking, env.app.catalogue
        assert linking is not None and catalogue is not None
        await linking.sync(catalogue)
        links = {}
        async with env.app.sessions() as session:
            for row in (await session.execute(select(Lesson))).scalars():
                link = await session.scalar(
                    select(LessonLink).where(LessonLink.lesson_id == row.id)
                )
                links[row.identity] = link
        repo = _as_maintainer(env)
        path = "programs/data-basics/lessons/en/cleaning-data.mdx"

        def rename() -> None:
            current = repo.get_contents(path, ref="main")
            text = current.decoded_content.decode().replace(
                'title: "Cleaning Data"', 'title: "Cleaning Messy Data"'
            )
            repo.update_file(path, "Rename a lesson", text, current.sha, branch="main")

        other_branch = {"ref": "refs/heads/suggestion-1", "after": "0" * 40}
        other_branch["commits"] = [{"added": [], "removed": [], "modified": [path]}]
        # Only main counts.
        assert await linking.on_push(catalogue, parsed(PushEvent, other_branch)) is None

        await asyncio.to_thread(rename)
        github_before, discord_before = len(env.github.requests), len(env.discord.requests)
        await _pushed(env)

        handled = [
            f"{r['method']} {r['path'].rsplit('/', 1)[0]}"
            for r in env.github.requests[github_before:]
        ]
        # The bot fetched its clone over git, read no file through the REST API again,
        # and patched one issue.
        assert any(
            r["path"].endswith("/git-upload-pack") for r in env.github.requests[github_before:]
        )
        bot_requests = [r for r in handled if "/contents/" in r or "/issues" in r]
        assert len([r for r in bot_requests if r.startswith("GET")]) == 0
        assert len([r for r in bot_requests if r.startswith("PATCH")]) == 1
        link = links["data-basics/cleaning-data"]
        issue = await linking_issue(env, link.github_issue_number)
        assert issue.title == "Lesson: Cleaning Messy Data"
        forum = link.discord_forum_id
        [thread] = [t for t in env.discord.threads(forum) if int(t["id"]) == link.discord_thread_id]
        assert thread["name"] == "Cleaning Messy Data"
        # Only that lesson's thread (name) and starter message (title) were written.
        writes = [r for r in env.discord.requests[discord_before:] if r["method"] != "GET"]
        assert len(writes) == 2

        # The lesson leaves when its last locale file does.
        for locale in ("es", "ar", "en"):
            gone = path.replace("/en/", f"/{locale}/")
            await asyncio.to_thread(
                lambda gone=gone: repo.delete_file(
                    gone, "Remove a lesson", repo.get_contents(gone, ref="main").sha, "main"
                )
            )
            await _pushed(env)
            [thread] = [
                t for t in env.discord.threads(forum) if int(t["id"]) == link.discord_thread_id
            ]
            assert thread["thread_metadata"]["archived"] is (locale == "en")

        [thread] = [t for t in env.discord.threads(forum) if int(t["id"]) == link.discord_thread_id]
        assert thread["thread_metadata"]["archived"] and thread["thread_metadata"]["locked"]
        assert (await linking_issue(env, link.github_issue_number)).state == "closed"
        other = links["data-basics/what-is-data"]
        assert (await linking_issue(env, other.github_issue_number)).state == "open"


async def linking_issue(env: SandboxEnvironment, number: int | None) -> Issue:
    """Return an issue as the bot's adapter reads it."""
    assert env.app.github is not None and number is not None
    return await env.app.github.get_issue(number)


async def _ask_for_lesson(env: SandboxEnvironment, identity: str) -> dict[str, str]:
    """Run /lesson as a learner and return the answer's embed fields."""
    guild_id, general = int(env.guild["id"]), int(env.guild["channels"]["general"])
    interaction = await env.discord.run_command(
        guild_id,
        general,
        1004,
        "lesson",
        options=[{"name": "lesson", "type": 3, "value": identity}],
        locale="en-US",
    )
    answers = await env.discord.wait_for_interaction_response(interaction, timeout=10)
    embed = answers[-1]["data"]["embeds"][0]
    return {field["name"]: field["value"] for field in embed["fields"]}


async def test_lazy_mode_links_a_lesson_when_first_asked_for(tmp_path: Path) -> None:
    settings = Settings(linking=LinkingSettings(mode="lazy"))
    async with sandbox_environment(
        settings, content_dir=PROJECT / "lessons", state_dir=tmp_path / "state"
    ) as env:
        linking, catalogue, github = env.app.linking, env.app.catalogue, env.app.github
        assert linking is not None and catalogue is not None and github is not None

        nothing = await linking.sync(catalogue)

        assert nothing.issues_created == nothing.threads_created == 0
        assert await github.list_issues(label=LESSON_LABEL) == []

        fields = await _ask_for_lesson(env, "data-basics/what-is-data")

        [issue] = await github.list_issues(label=LESSON_LABEL)
        assert find_markers(issue.body)["lesson"] == "data-basics/what-is-data"
        assert f"[GitHub issue]({issue.html_url})" in fields["Links"]
        assert f"[Discord post]({env.discord.web_url}/channels/" in fields["Links"]

        await _ask_for_lesson(env, "data-basics/what-is-data")
        again = await linking.sync(catalogue)

        assert len(await github.list_issues(label=LESSON_LABEL)) == 1
        assert again.issues_created == again.issues_updated == again.threads_updated == 0


async def test_a_worker_stopped_mid_backlog_is_finished_by_the_next_without_duplicates(
    fixture_linked: Linked,
) -> None:
    linked = fixture_linked
    for n in range(8):
        write_lesson(
            linked.content,
            f"programs/demo/lessons/en/extra-{n}.mdx",
            f'---\ntitle: "Extra {n}"\ndescription: "More"\norder: {10 + n}\n'
            f"difficulty: beginner\n---\n\n# Extra {n}\n",
        )
    catalogue = linked.catalogue()
    # Posts now; issues left to the workers, as a bulk backlog.
    first = await linked.service.sync(catalogue, issues=False)
    assert (first.threads_created, first.issues_created) == (10, 0)
    assert await linked.issues() == []
    outbox = linked.service.outbox
    pending = await outbox.jobs([JobStatus.PENDING])
    assert {job.kind for job in pending} == {LinkingService.ISSUE_JOB_KIND}
    assert {job.priority for job in pending} == {JobPriority.BULK}

    create_issue = linked.github.create_issue
    made = 0
    killed = asyncio.Event()

    async def dies_after_the_third(*args: Any, **kwargs: Any) -> Issue:
        nonlocal made
        issue = await create_issue(*args, **kwargs)
        made += 1
        if made == 3:
            # The issue exists on GitHub, and the database never hears of it.
            killed.set()
            await asyncio.Event().wait()
        return issue

    linked.github.create_issue = dies_after_the_third  # type: ignore[method-assign]
    worker = JobWorker(outbox, {LinkingService.ISSUE_JOB_KIND: linked.service.run_job})
    running = asyncio.create_task(worker.run())
    await asyncio.wait_for(killed.wait(), 60)
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    linked.github.create_issue = create_issue  # type: ignore[method-assign]
    assert len(await linked.issues()) == 3
    assert len(await outbox.jobs([JobStatus.PENDING])) == 8

    # The next process: a fresh service and worker over the same database.
    service = LinkingService(
        linked.sessions,
        linked.github,
        linked.env.app.bot.chat,
        default_locale="en",
        locales=Settings().content.locales,
        lesson_url_template=TEMPLATE,
        discord_web_url=linked.env.app.settings.discord.web_url,
    )
    worker = JobWorker(service.outbox, {LinkingService.ISSUE_JOB_KIND: service.run_job})
    while await worker.run_once():
        pass

    assert await outbox.jobs([JobStatus.PENDING, JobStatus.RUNNING, JobStatus.FAILED]) == []
    await _check_links(linked, catalogue)
    again = await linked.sync()
    assert (again.threads_created, again.issues_created, again.issues_adopted) == (0, 0, 0)
