"""Link every lesson to one Discord forum post and one GitHub issue, and keep them right."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bot.domain.catalogue import Catalogue, Program, lesson_file_from_text, parse_lesson_path
from bot.domain.catalogue import Lesson as CatalogueLesson
from bot.domain.markers import find_markers, marker
from bot.domain.neutral import neutralize
from bot.i18n import t
from bot.services.ports import ChatPort, Forum, GitHubPort, Issue
from bot.store.models import Lesson, LessonFile, LessonLink, ProgramForum, utcnow

log = logging.getLogger(__name__)

LESSON_LABEL = "lesson-discussion"
MARKER_KIND = "lesson"
DIFFICULTIES = ("beginner", "intermediate", "advanced")
# Discord lets a post carry 5 tags: one for the difficulty, four for translations.
POST_TAGS_LIMIT = 5
DISCORD_WEB = "https://discord.com/channels"
# A message link: guild, channel (here the post's thread) and message.
_POST_LINK = re.compile(r"https://discord\.com/channels/(\d+)/(\d+)(?:/(\d+))?")
# Each of the three parts a lesson's links are made of gets this many hex digits of digest.
_PART = 21
# Stored in place of a part's digest: unknown (write it) or taken as right (leave it).
_UNKNOWN = "?" * _PART
_ASSUMED = "=" * _PART


@dataclass
class SyncReport:
    """What a sync did (or, in a dry run, would do), with the requests it cost."""

    lessons: int = 0
    issues_created: int = 0
    issues_updated: int = 0
    threads_created: int = 0
    threads_updated: int = 0
    issues_adopted: int = 0
    removed: int = 0
    restored: int = 0
    github_requests: int = 0
    discord_requests: int = 0
    dry_run: bool = False

    def as_json(self) -> dict[str, int]:
        """Return the figures `lessonbot sync --json` prints."""
        return {
            "lessons": self.lessons,
            "issues_created": self.issues_created,
            "issues_updated": self.issues_updated,
            "threads_created": self.threads_created,
            "threads_updated": self.threads_updated,
            "github_requests": self.github_requests,
            "discord_requests": self.discord_requests,
        }


@dataclass(frozen=True, slots=True)
class WantedLesson:
    """What a lesson's post and issue should say, derived from the catalogue."""

    identity: str
    program: str
    slug: str
    title: str
    path: str
    page_url: str
    difficulty: str | None
    locales: tuple[str, ...]
    files: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # locale -> title, path


@dataclass
class _Plan:
    """One lesson's writes, decided before any is made."""

    create_thread: bool = False
    create_issue: bool = False
    edit_thread: bool = False
    edit_starter: bool = False
    edit_issue: bool = False
    reopen: bool = False


def forum_name(title: str, fallback: str) -> str:
    """Return a forum channel name as Discord shows one: lower case, words joined by '-'."""
    name = "-".join(re.findall(r"\w+", title.casefold()))
    return name[:100] or fallback


def post_url(guild_id: int, thread_id: int, message_id: int) -> str:
    """Return the link to a forum post's starter message (it opens the post)."""
    return f"{DISCORD_WEB}/{guild_id}/{thread_id}/{message_id}"


def _digest(*values: Any) -> str:
    text = json.dumps(values, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:_PART]


def _total(counts: Mapping[str, int]) -> int:
    return sum(counts.values())


@dataclass(frozen=True, slots=True)
class LessonLinks:
    """Where a lesson is discussed, as stored by the last sync."""

    post_url: str | None
    issue_url: str | None


class LinkDirectory:
    """Look up a lesson's stored post and issue links (one query, no network).

    In lazy mode a creator is set once the linking service exists: a lesson without links
    gets them the first time someone asks for them.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self.creator: Callable[[str], Awaitable[object]] | None = None

    async def find(self, identity: str, *, create: bool = False) -> LessonLinks | None:
        """Return a lesson's links; None when it has none (or was removed).

        With `create`, and a creator set, a lesson without links gets them first.
        """
        found = await self._stored(identity)
        if found is None and create and self.creator is not None:
            await self.creator(identity)
            found = await self._stored(identity)
        return found

    async def _stored(self, identity: str) -> LessonLinks | None:
        program, _, slug = identity.partition("/")
        async with self._sessions() as session:
            found = (
                await session.execute(
                    select(LessonLink, ProgramForum.discord_guild_id)
                    .join(Lesson, Lesson.id == LessonLink.lesson_id)
                    .outerjoin(
                        ProgramForum, ProgramForum.discord_forum_id == LessonLink.discord_forum_id
                    )
                    .where(
                        Lesson.program == program,
                        Lesson.slug == slug,
                        Lesson.removed_at.is_(None),
                    )
                )
            ).first()
        if found is None:
            return None
        link, guild_id = found
        post = None
        if guild_id and link.discord_thread_id and link.discord_starter_message_id:
            post = post_url(guild_id, link.discord_thread_id, link.discord_starter_message_id)
        if post is None and link.github_issue_url is None:
            return None
        return LessonLinks(post_url=post, issue_url=link.github_issue_url)


class LinkingService:
    """Give each lesson identity (`program/slug`) one forum post and one issue, kept in sync.

    Everything is found again by the ids stored in the database. When the database is lost,
    issues are re-adopted by their hidden marker from one paginated listing of the
    `lesson-discussion` label, and each post from the link in its issue's body.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        github: GitHubPort,
        chat: ChatPort,
        *,
        default_locale: str,
        locales: Sequence[str],
        lesson_url_template: str,
        locale: str = "en",
        eager: bool = True,
    ) -> None:
        self._sessions = sessions
        self._eager = eager
        self._lock = asyncio.Lock()
        self._github = github
        self._chat = chat
        self._default_locale = default_locale
        # Tags mark translations: every lesson exists in the default locale.
        self._locale_tags = tuple(loc for loc in locales if loc != default_locale)
        self._url_template = lesson_url_template
        self._locale = locale
        self._forums: dict[str, Forum] = {}

    # --- what the links should say -------------------------------------------------------

    def wanted(self, lesson: CatalogueLesson) -> WantedLesson:
        """Return what a catalogue lesson's post and issue should say."""
        shown = lesson.file(self._default_locale, self._default_locale)
        difficulty = shown.meta.get("difficulty")
        return WantedLesson(
            identity=lesson.identity,
            program=lesson.program,
            slug=lesson.slug,
            title=shown.title,
            path=shown.path,
            page_url=self._url_template.format(
                program=lesson.program, slug=lesson.slug, locale=shown.locale
            ),
            difficulty=difficulty if difficulty in DIFFICULTIES else None,
            locales=tuple(lesson.locales),
            files={loc: (f.title, f.path) for loc, f in lesson.files.items()},
        )

    def published(self, catalogue: Catalogue) -> list[CatalogueLesson]:
        """Return the lessons that get links: published ones (drafts stay hidden, as on
        the site), in catalogue order."""
        default = self._default_locale
        return [
            lesson
            for lesson in catalogue.ordered_lessons()
            if lesson.file(default, default).published
        ]

    def forum_tags(self) -> list[str]:
        """Return the tags every program forum offers: difficulties, then translations.

        3 difficulties + one tag per served locale but the default stays well within
        Discord's 20 tags per forum (11 for the 8 locales served today).
        """
        return [*DIFFICULTIES, *self._locale_tags]

    def post_tags(self, wanted: WantedLesson) -> list[str]:
        """Return a post's tags: its difficulty, then its translations, at most five."""
        tags = [wanted.difficulty] if wanted.difficulty else []
        tags += [loc for loc in self._locale_tags if loc in wanted.locales]
        return tags[:POST_TAGS_LIMIT]

    def issue_title(self, wanted: WantedLesson) -> str:
        """Return the lesson issue's title (GitHub renders no mentions or HTML in titles)."""
        return t(self._locale, "linking.issue_title", title=wanted.title)

    def issue_body(self, wanted: WantedLesson, post: str | None) -> str:
        """Return the lesson issue's body, ending with its hidden marker."""
        text = t(
            self._locale,
            "linking.issue_body",
            title=neutralize(wanted.title),
            identity=wanted.identity,
            page_url=wanted.page_url,
            path=wanted.path,
            locales=", ".join(wanted.locales),
        )
        if post:
            text += "\n" + t(self._locale, "linking.issue_post", post_url=post)
        return f"{text}\n\n{marker(MARKER_KIND, wanted.identity)}\n"

    def starter(self, wanted: WantedLesson, issue_url: str | None) -> str:
        """Return the post's starter message: the page and, once it exists, the issue."""
        text = t(
            self._locale,
            "linking.post_body",
            title=wanted.title,
            page_url=wanted.page_url,
            path=wanted.path,
        )
        if issue_url:
            text += "\n" + t(self._locale, "linking.post_issue", issue_url=issue_url)
        return text

    # --- sync ----------------------------------------------------------------------------

    async def sync(
        self,
        catalogue: Catalogue,
        *,
        dry_run: bool = False,
        progress: Callable[[str], None] | None = None,
        only: Collection[str] | None = None,
        create: bool | None = None,
    ) -> SyncReport:
        """Reconcile every published lesson's post and issue with the catalogue.

        Creates what is missing, renames what changed, archives and closes what left the
        catalogue and reopens what came back. Progress is committed lesson by lesson, so an
        interrupted sync resumes. A dry run counts what would change and writes nothing.
        With `only`, just those identities are looked at (a push's changed lessons); with
        `create` false (lazy mode's default), lessons without links are left without.
        """
        create = self._eager if create is None else create
        # One sync at a time: two pushes racing over one lesson would open two posts.
        async with self._lock:
            return await self._reconcile(catalogue, dry_run, progress, only, create)

    async def _reconcile(
        self,
        catalogue: Catalogue,
        dry_run: bool,
        progress: Callable[[str], None] | None,
        only: Collection[str] | None,
        create: bool,
    ) -> SyncReport:
        github_before = _total(self._github.request_counts)
        chat_before = _total(self._chat.request_counts)
        wanted = {
            lesson.identity: self.wanted(lesson)
            for lesson in self.published(catalogue)
            if only is None or lesson.identity in only
        }
        report = SyncReport(lessons=len(wanted), dry_run=dry_run)
        self._forums = {}
        async with self._sessions() as session:
            query = select(Lesson).options(selectinload(Lesson.link), selectinload(Lesson.files))
            rows = (await session.execute(query)).scalars().all()
            known = {row.identity: row for row in rows if only is None or row.identity in only}
            forums = (await session.execute(select(ProgramForum))).scalars().all()
            stored_forums = {
                row.program: Forum(row.discord_forum_id, row.discord_guild_id, dict(row.tag_ids))
                for row in forums
            }
        if not create:
            wanted = {
                identity: lesson
                for identity, lesson in wanted.items()
                if (row := known.get(identity)) is not None and row.link is not None
            }
        adoptable = await self._adoptable(wanted, known)
        for identity, lesson in wanted.items():
            if not self._unchanged(lesson, known.get(identity), stored_forums):
                await self._sync_lesson(
                    lesson, catalogue, adoptable.get(identity), stored_forums, report, dry_run
                )
            if progress is not None:
                progress(identity)
        published = {lesson.identity for lesson in self.published(catalogue)}
        for identity, row in known.items():
            if identity not in published and row.removed_at is None:
                await self._remove(identity, report, dry_run)
        report.github_requests = _total(self._github.request_counts) - github_before
        report.discord_requests = _total(self._chat.request_counts) - chat_before
        return report

    async def ensure(self, catalogue: Catalogue, identity: str) -> SyncReport:
        """Give one lesson its post and issue now (lazy mode's first use); no-op if linked."""
        return await self.sync(catalogue, only={identity}, create=True)

    async def on_push(
        self, catalogue: Catalogue, payload: Mapping[str, Any], branch: str = "main"
    ) -> SyncReport | None:
        """Apply a push to `branch` to the catalogue and sync only the lessons it touched.

        Changed files are read from GitHub at the push's `after` commit (front matter is
        all that is needed); a file removed drops that locale, and a lesson with no file
        left leaves the catalogue, so its post is archived and its issue closed.
        """
        if payload.get("ref") != f"refs/heads/{branch}" or payload.get("deleted"):
            return None
        changed: dict[str, None] = {}
        removed: set[str] = set()
        for commit in payload.get("commits") or []:
            for path in [*commit.get("added", []), *commit.get("modified", [])]:
                changed[path] = None
                removed.discard(path)
            for path in commit.get("removed", []):
                removed.add(path)
                changed.pop(path, None)
        touched: set[str] = set()
        for path in removed:
            if (parsed := parse_lesson_path(path)) is None:
                continue
            program, locale, slug = parsed
            identity = f"{program}/{slug}"
            lesson = catalogue.lessons.get(identity)
            if lesson is not None:
                lesson.files.pop(locale, None)
                if not lesson.files:
                    del catalogue.lessons[identity]
            touched.add(identity)
        for path in changed:
            if parse_lesson_path(path) is None:
                continue
            fetched = await self._github.get_file(path, ref=str(payload["after"]))
            lesson_file = lesson_file_from_text(path, fetched.text)
            lesson = catalogue.lessons.get(lesson_file.identity)
            if lesson is None:
                lesson = CatalogueLesson(lesson_file.program, lesson_file.slug)
                catalogue.lessons[lesson_file.identity] = lesson
            lesson.files[lesson_file.locale] = lesson_file
            catalogue.programs.setdefault(lesson.program, Program(lesson.program, {}))
            touched.add(lesson_file.identity)
        if not touched:
            return None
        log.info("push %s: syncing %d lessons", payload.get("after"), len(touched))
        return await self.sync(catalogue, only=touched)

    def _unchanged(
        self, wanted: WantedLesson, row: Lesson | None, stored_forums: Mapping[str, Forum]
    ) -> bool:
        """Tell from what was loaded up front that a lesson needs nothing: no write, and
        not even a query of its own (what makes a sync with nothing changed cheap)."""
        forum = stored_forums.get(wanted.program)
        if row is None or row.link is None or row.removed_at is not None or forum is None:
            return False
        if not set(self.forum_tags()) <= set(forum.tags):
            return False
        files = {file.locale: (file.title, file.path) for file in row.files}
        if files != {loc: (title[:300], path) for loc, (title, path) in wanted.files.items()}:
            return False
        tag_ids = [forum.tags[name] for name in self.post_tags(wanted) if name in forum.tags]
        plan = self._plan(wanted, row.link, row, forum, tag_ids)
        return not (
            plan.create_thread
            or plan.create_issue
            or plan.edit_thread
            or plan.edit_starter
            or plan.edit_issue
            or plan.reopen
        )

    async def _adoptable(
        self, wanted: Mapping[str, WantedLesson], known: Mapping[str, Lesson]
    ) -> dict[str, Issue]:
        """Return lesson issues by identity when some lesson has no issue stored.

        One paginated listing of the label, never the search API: it also guards a first
        sync after a crash from opening a second issue for a lesson.
        """
        missing = [
            identity
            for identity in wanted
            if (row := known.get(identity)) is None
            or row.link is None
            or row.link.github_issue_number is None
        ]
        if not missing:
            return {}
        found: dict[str, Issue] = {}
        for issue in await self._github.list_issues(label=LESSON_LABEL):
            identity = find_markers(issue.body).get(MARKER_KIND)
            if identity and identity not in found:  # oldest first: the original wins
                found[identity] = issue
        return found

    async def _forum(
        self, session: AsyncSession, program: str, catalogue: Catalogue, dry_run: bool
    ) -> Forum | None:
        """Return the program's forum with every tag, creating or extending it if needed."""
        if program in self._forums:
            return self._forums[program]
        row = await session.scalar(select(ProgramForum).where(ProgramForum.program == program))
        tags = self.forum_tags()
        if row is not None and set(tags) <= set(row.tag_ids):
            forum = Forum(row.discord_forum_id, row.discord_guild_id, dict(row.tag_ids))
        elif dry_run:
            return None
        else:
            info = catalogue.programs.get(program)
            title = info.title(self._default_locale) if info else program
            forum = await self._chat.ensure_forum(
                forum_name(title, program),
                title,
                tags,
                forum_id=row.discord_forum_id if row is not None else None,
            )
            if row is None:
                row = ProgramForum(program=program, tag_ids={})
                session.add(row)
            row.discord_guild_id = forum.guild_id
            row.discord_forum_id = forum.id
            row.tag_ids = dict(forum.tags)
            await session.commit()
        self._forums[program] = forum
        return forum

    async def _lesson_row(self, session: AsyncSession, wanted: WantedLesson) -> Lesson:
        """Return the lesson's row with its files brought up to date (created if new)."""
        row = await session.scalar(
            select(Lesson)
            .where(Lesson.program == wanted.program, Lesson.slug == wanted.slug)
            .options(selectinload(Lesson.link), selectinload(Lesson.files))
        )
        if row is None:
            row = Lesson(program=wanted.program, slug=wanted.slug, files=[])
            session.add(row)
        files = {file.locale: file for file in row.files}
        for locale, (title, path) in wanted.files.items():
            file = files.pop(locale, None)
            if file is None:
                row.files.append(LessonFile(locale=locale, title=title[:300], path=path))
            elif (file.title, file.path) != (title[:300], path):
                file.title, file.path = title[:300], path
        for file in files.values():
            row.files.remove(file)
        return row

    async def _sync_lesson(
        self,
        wanted: WantedLesson,
        catalogue: Catalogue,
        adopted: Issue | None,
        stored_forums: Mapping[str, Forum],
        report: SyncReport,
        dry_run: bool,
    ) -> None:
        """Bring one lesson's post and issue in line, committing after each write."""
        async with self._sessions() as session:
            row = await self._lesson_row(session, wanted)
            link = row.link
            if link is None:
                link = row.link = LessonLink()
            if adopted is not None and link.github_issue_number is None:
                self._adopt(row, link, adopted)
                report.issues_adopted += 1
            forum = await self._forum(session, wanted.program, catalogue, dry_run)
            forum = forum or stored_forums.get(wanted.program)
            tags = forum.tags if forum is not None else {}
            tag_ids = [tags[name] for name in self.post_tags(wanted) if name in tags]
            plan = self._plan(wanted, link, row, forum, tag_ids)
            if plan.create_thread:
                report.threads_created += 1
            elif plan.edit_thread or plan.edit_starter or plan.reopen:
                report.threads_updated += 1
            if plan.create_issue:
                report.issues_created += 1
            elif plan.edit_issue or plan.reopen:
                report.issues_updated += 1
            if plan.reopen:
                report.restored += 1
            if dry_run:
                await session.rollback()
                return
            assert forum is not None  # only a dry run goes without one
            await self._apply(session, wanted, row, link, forum, tag_ids, plan)

    def _adopt(self, row: Lesson, link: LessonLink, issue: Issue) -> None:
        """Take over an issue found by its marker, and the post its body links to."""
        log.info("lesson %s: adopting issue #%d", row.identity, issue.number)
        link.github_issue_number = issue.number
        link.github_issue_url = issue.html_url
        link.synced_title = issue.title
        issue_part = _digest(issue.title, issue.body)
        found = _POST_LINK.search(issue.body)
        if found and link.discord_thread_id is None:
            thread_id = int(found.group(2))
            link.discord_thread_id = thread_id
            link.discord_starter_message_id = int(found.group(3) or thread_id)
            # The thread's name and tags were written by the sync that wrote this issue, so
            # they are taken as they are; the starter message is rewritten once, as a crash
            # may have left it without the issue's link.
            link.synced_digest = _ASSUMED + _UNKNOWN + issue_part
        else:
            link.synced_digest = _UNKNOWN + _UNKNOWN + issue_part
        if issue.state == "closed" and row.removed_at is None:
            row.removed_at = utcnow()  # closed when it left: reopen it, as it is back

    def _parts(
        self, wanted: WantedLesson, link: LessonLink, forum: Forum | None, tag_ids: Sequence[int]
    ) -> tuple[str, str, str]:
        """Return the digests of what the thread, starter message and issue should hold."""
        url = self._post_url(link, forum)
        return (
            _digest(wanted.title, list(tag_ids)),
            _digest(self.starter(wanted, link.github_issue_url)),
            _digest(self.issue_title(wanted), self.issue_body(wanted, url)),
        )

    @staticmethod
    def _post_url(link: LessonLink, forum: Forum | None) -> str | None:
        if link.discord_thread_id is None or link.discord_starter_message_id is None:
            return None
        guild = forum.guild_id if forum is not None else 0
        return post_url(guild, link.discord_thread_id, link.discord_starter_message_id)

    def _plan(
        self,
        wanted: WantedLesson,
        link: LessonLink,
        row: Lesson,
        forum: Forum | None,
        tag_ids: Sequence[int],
    ) -> _Plan:
        stored = link.synced_digest or _UNKNOWN * 3
        thread, starter, issue = self._parts(wanted, link, forum, tag_ids)
        plan = _Plan(
            create_thread=link.discord_thread_id is None,
            create_issue=link.github_issue_number is None,
            reopen=row.removed_at is not None,
        )
        plan.edit_thread = not plan.create_thread and stored[:_PART] not in (thread, _ASSUMED)
        plan.edit_starter = plan.create_issue or stored[_PART : 2 * _PART] != starter
        plan.edit_issue = not plan.create_issue and (
            plan.create_thread or stored[2 * _PART :] != issue
        )
        return plan

    async def _apply(
        self,
        session: AsyncSession,
        wanted: WantedLesson,
        row: Lesson,
        link: LessonLink,
        forum: Forum,
        tag_ids: Sequence[int],
        plan: _Plan,
    ) -> None:
        """Make the planned writes: the post first, then the issue linking it, then the
        starter message linking the issue, so each is written once."""
        await session.commit()  # the lesson's rows, before anything leaves the building
        if plan.create_thread:
            post = await self._chat.create_forum_post(
                forum.id,
                wanted.title,
                self.starter(wanted, link.github_issue_url),
                tag_ids=tag_ids,
            )
            link.discord_forum_id = forum.id
            link.discord_thread_id = post.thread_id
            link.discord_starter_message_id = post.message_ids[0]
            await session.commit()
        elif plan.edit_thread or plan.reopen:
            await self._chat.edit_thread(
                link.discord_thread_id or 0,
                name=wanted.title,
                tag_ids=tag_ids,
                **({"archived": False, "locked": False} if plan.reopen else {}),
            )
        url = self._post_url(link, forum)
        if plan.create_issue:
            issue = await self._github.create_issue(
                self.issue_title(wanted),
                self.issue_body(wanted, url),
                [LESSON_LABEL, f"program:{wanted.program}"],
                marker(MARKER_KIND, wanted.identity),
            )
            link.github_issue_number = issue.number
            link.github_issue_url = issue.html_url
            await session.commit()
        elif plan.edit_issue or plan.reopen:
            await self._github.update_issue(
                link.github_issue_number or 0,
                title=self.issue_title(wanted),
                body=self.issue_body(wanted, url),
                state="open" if plan.reopen else None,
            )
        if plan.edit_starter:
            await self._chat.edit_message(
                link.discord_thread_id or 0,
                link.discord_starter_message_id or 0,
                content=self.starter(wanted, link.github_issue_url),
            )
        link.discord_forum_id = link.discord_forum_id or forum.id
        link.synced_title = wanted.title[:300]
        link.synced_digest = "".join(self._parts(wanted, link, forum, tag_ids))
        link.synced_at = utcnow()
        row.removed_at = None
        await session.commit()

    async def _remove(self, identity: str, report: SyncReport, dry_run: bool) -> None:
        """Archive and lock a removed lesson's post, close its issue with a comment."""
        program, slug = identity.split("/", 1)
        async with self._sessions() as session:
            row = await session.scalar(
                select(Lesson)
                .where(Lesson.program == program, Lesson.slug == slug)
                .options(selectinload(Lesson.link))
            )
            if row is None:
                return
            link = row.link
            report.removed += 1
            if link is not None and link.discord_thread_id is not None:
                report.threads_updated += 1
            if link is not None and link.github_issue_number is not None:
                report.issues_updated += 1
            if dry_run:
                return
            if link is not None and link.discord_thread_id is not None:
                await self._chat.edit_thread(link.discord_thread_id, archived=True, locked=True)
            if link is not None and link.github_issue_number is not None:
                removed_at = utcnow()
                note = marker("lesson_removed", f"{identity}@{removed_at:%Y%m%dT%H%M%S}")
                text = t(self._locale, "linking.removed_comment")
                await self._github.create_comment(
                    link.github_issue_number, f"{text}\n\n{note}", marker=note
                )
                await self._github.update_issue(link.github_issue_number, state="closed")
            row.removed_at = utcnow()
            await session.commit()
