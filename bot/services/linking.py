"""Link every lesson to one Discord forum post and one GitHub issue, and keep them right."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import re
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bot.config import DISCORD_WEB_URL
from bot.domain.catalogue import Catalogue, parse_lesson_path, parse_lesson_text
from bot.domain.catalogue import Lesson as CatalogueLesson
from bot.domain.linking import (
    DEFAULT_MAX_REMOVALS,
    StoredLesson,
    WantedLesson,
    plan_sync,
)
from bot.domain.markers import find_markers, marker
from bot.domain.neutral import neutralize
from bot.i18n import t
from bot.services.outbox import Claim, JobFailure, Outbox
from bot.services.ports import (
    SUGGEST_BUTTON_PREFIX,
    ChatButton,
    ChatMessage,
    ChatNotFoundError,
    ChatPort,
    Forum,
    GitHubPort,
    Issue,
    suggest_button,
)
from bot.store.models import Lesson, LessonFile, LessonLink, ProgramForum, utcnow
from bot.store.upsert import insert_new, lesson_id

log = logging.getLogger(__name__)

LESSON_LABEL = "lesson-discussion"
MARKER_KIND = "lesson"
DIFFICULTIES = ("beginner", "intermediate", "advanced")
# Discord lets a post carry 5 tags: one for the difficulty, four for translations.
POST_TAGS_LIMIT = 5
# A message link: guild, channel (here the post's thread) and message, on Discord or on
# whatever `discord.web_url` named when the issue was written (the sandbox's viewer).
_POST_LINK = re.compile(r"https?://[^\s()<>\[\]]+?/channels/(\d+)/(\d+)(?:/(\d+))?")
# Each of the three parts a lesson's links are made of gets this many hex digits of digest.
_PART = 21
# Stored in place of a part's digest: unknown (write it) or taken as right (leave it).
_UNKNOWN = "?" * _PART
_ASSUMED = "=" * _PART
# GitHub refuses longer issue titles.
ISSUE_TITLE_LIMIT = 256
# The lesson key a starter message's text carried before it moved into the button's
# custom_id: posts made then are still recognised by it.
_OLD_POST_KEY = re.compile(re.escape("lessonbot:lesson=") + r"([^\s`]+)")
# Discord's limit on a thread's name: longer lesson titles are cut to it.
_THREAD_NAME_LIMIT = 100


@dataclass
class SyncReport:
    """What a sync did (or, in a dry run, would do), with the requests it cost."""

    lessons: int = 0
    issues_created: int = 0
    issues_updated: int = 0
    threads_created: int = 0
    threads_updated: int = 0
    issues_adopted: int = 0
    threads_adopted: int = 0
    removed: int = 0
    restored: int = 0
    github_requests: int = 0
    discord_requests: int = 0
    dry_run: bool = False
    # Lessons another process was syncing (it finishes them), and lessons that failed.
    busy: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    # Lessons held back because a file of theirs is broken: identity -> problem.
    held_back: dict[str, str] = field(default_factory=dict)
    # Removals refused by the guard (too many, or an empty catalogue).
    refused_removals: list[str] = field(default_factory=list)
    # Where the lessons came from and how many it holds (drafts and broken ones too), and
    # the guard's limit: what a person needs to judge a refused removal.
    content: str = ""
    content_lessons: int = 0
    max_removals: int = 0

    @property
    def ok(self) -> bool:
        """Return whether everything asked for was done (or was being done elsewhere)."""
        return not self.failed and not self.refused_removals

    def as_json(self) -> dict[str, Any]:
        """Return the figures `lessonbot sync --json` prints."""
        return {
            "lessons": self.lessons,
            "issues_created": self.issues_created,
            "issues_updated": self.issues_updated,
            "threads_created": self.threads_created,
            "threads_updated": self.threads_updated,
            "issues_adopted": self.issues_adopted,
            "threads_adopted": self.threads_adopted,
            "removed": self.removed,
            "restored": self.restored,
            "github_requests": self.github_requests,
            "discord_requests": self.discord_requests,
            "busy": list(self.busy),
            "failed": dict(self.failed),
            "held_back": dict(self.held_back),
            "refused_removals": list(self.refused_removals),
            "dry_run": self.dry_run,
        }


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


def message_url(web_url: str, guild_id: int, channel_id: int, message_id: int) -> str:
    """Return the web link to a message: `{web_url}/channels/{guild}/{channel}/{message}`."""
    return f"{web_url.rstrip('/')}/channels/{guild_id}/{channel_id}/{message_id}"


def post_url(guild_id: int, thread_id: int, message_id: int, web_url: str = DISCORD_WEB_URL) -> str:
    """Return the link to a forum post's starter message (it opens the post)."""
    return message_url(web_url, guild_id, thread_id, message_id)


def lesson_page_url(template: str, program: str, slug: str, locale: str) -> str:
    """Return a lesson's page on the site; slugs may hold characters a URL path cannot."""
    return template.format(
        program=quote(program, safe=""), slug=quote(slug, safe=""), locale=quote(locale, safe="")
    )


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

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, discord_web_url: str = DISCORD_WEB_URL
    ) -> None:
        self._sessions = sessions
        self._web_url = discord_web_url
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
            post = post_url(
                guild_id, link.discord_thread_id, link.discord_starter_message_id, self._web_url
            )
        if post is None and link.github_issue_url is None:
            return None
        return LessonLinks(post_url=post, issue_url=link.github_issue_url)


@dataclass
class _StoredState:
    """A lesson's link as stored, copied out of its session (no I/O in between)."""

    lesson_id: int
    removed: bool
    thread_id: int | None
    starter_id: int | None
    forum_id: int | None
    issue_number: int | None
    issue_url: str | None
    digest: str | None
    # The post's name as last written: a name is sent only when it changes, as Discord
    # allows two channel name edits per ten minutes.
    thread_name: str | None = None


@dataclass
class _RunContext:
    """What one run (a sync, or a batch of jobs) looked up once and shares between lessons."""

    issues: dict[str, Issue] | None = None
    # Forum id -> the bot's posts there that no stored lesson owns, by lesson key.
    posts: dict[int, dict[str, int]] = field(default_factory=dict)
    # Forum id -> those of them without a key (made with no button), by name.
    unkeyed: dict[int, dict[str, int]] = field(default_factory=dict)


class LinkingService:
    """Give each lesson identity (`program/slug`) one forum post and one issue, kept in sync.

    A sync plans (bot/domain/linking.py) and then performs each lesson's writes as one job
    on the write path (bot/services/outbox.py): recorded, claimed by one process, written,
    confirmed. Everything is found again by the ids stored in the database; before creating
    a post or issue it looks for one already written (a crash, a lost response, a lost
    database): issues by their hidden marker in one listing of the `lesson-discussion`
    label, posts by the lesson key in their starter message's button (its custom_id,
    which nobody reads), from one listing of the forum's posts.
    """

    JOB_KIND = "linking"

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
        outbox: Outbox | None = None,
        max_removals: int = DEFAULT_MAX_REMOVALS,
        suggest_button: bool = False,
        discord_web_url: str = DISCORD_WEB_URL,
    ) -> None:
        self._sessions = sessions
        # Where post links in issues lead: Discord, or the sandbox's viewer.
        self._web_url = discord_web_url
        # With suggested edits on, each starter message carries a "Suggest an edit" button.
        self._suggest_button = suggest_button
        self._eager = eager
        self._github = github
        self._chat = chat
        self._default_locale = default_locale
        # Tags mark translations: every lesson exists in the default locale.
        self._locale_tags = tuple(loc for loc in locales if loc != default_locale)
        self._url_template = lesson_url_template
        self._locale = locale
        self._outbox = outbox or Outbox(sessions)
        self._max_removals = max_removals

    @property
    def outbox(self) -> Outbox:
        """Return the write path this service records its work on."""
        return self._outbox

    # --- what the links should say -------------------------------------------------------

    def wanted(self, lesson: CatalogueLesson, catalogue: Catalogue | None = None) -> WantedLesson:
        """Return what a catalogue lesson's post and issue should say."""
        shown = lesson.file(self._default_locale, self._default_locale)
        difficulty = shown.meta.get("difficulty")
        program = catalogue.programs.get(lesson.program) if catalogue is not None else None
        return WantedLesson(
            identity=lesson.identity,
            program=lesson.program,
            slug=lesson.slug,
            title=shown.title,
            path=shown.path,
            page_url=lesson_page_url(self._url_template, lesson.program, lesson.slug, shown.locale),
            difficulty=difficulty if difficulty in DIFFICULTIES else None,
            locales=tuple(lesson.locales),
            files={loc: (f.title, f.path) for loc, f in lesson.files.items()},
            program_title=program.title(self._default_locale) if program else lesson.program,
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
        """Return the lesson issue's title, cut to GitHub's 256 characters."""
        title = t(self._locale, "linking.issue_title", title=wanted.title)
        return title if len(title) <= ISSUE_TITLE_LIMIT else title[: ISSUE_TITLE_LIMIT - 1] + "…"

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

    def button(self, wanted: WantedLesson) -> ChatButton | None:
        """Return the starter message's "Suggest an edit" button, when suggestions are on."""
        if not self._suggest_button:
            return None
        label = t(self._locale, "discord_suggest.button")
        return suggest_button(wanted.identity, self._default_locale, label)

    def _button_parts(self, wanted: WantedLesson) -> tuple[str, ...]:
        button = self.button(wanted)
        return () if button is None else (button.label, button.custom_id)

    def starter(self, wanted: WantedLesson, issue_url: str | None) -> str:
        """Return the post's starter message: the page and the issue once it exists (the
        key that finds the post again is in its button, where people do not read it)."""
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
        allow_removals: bool = False,
    ) -> SyncReport:
        """Reconcile every published lesson's post and issue with the catalogue.

        Creates what is missing, renames what changed, archives and closes what left the
        catalogue and reopens what came back; each lesson is one job on the write path,
        so any number of processes may sync at once. A lesson that fails is reported and
        the others go on. A dry run counts what would change and writes nothing, not
        even to the database. With `only`, just those identities are looked at (a push's
        changed lessons); with `create` false (lazy mode's default), lessons without
        links are left without.
        """
        create = self._eager if create is None else create
        github_before = _total(self._github.request_counts)
        chat_before = _total(self._chat.request_counts)
        broken = _broken(catalogue, self._locale)
        wanted = {
            lesson.identity: self.wanted(lesson, catalogue)
            for lesson in self.published(catalogue)
            if (only is None or lesson.identity in only) and lesson.identity not in broken
        }
        try:
            rows, forums = await self._snapshot(only)
        except DBAPIError:
            if not dry_run:
                raise
            # A dry run does not migrate: a database never set up holds no links yet.
            log.info("the database is not set up yet: planning as if nothing were linked")
            rows, forums = {}, {}
        stored = {
            identity: StoredLesson(identity, row.link is not None, row.removed_at is not None)
            for identity, row in rows.items()
        }
        plan = plan_sync(
            wanted,
            stored,
            up_to_date=lambda lesson: self._unchanged(lesson, rows.get(lesson.identity), forums),
            broken=broken,
            present=catalogue.lessons.keys(),
            create=create,
            only=only,
            max_removals=self._max_removals,
            allow_removals=allow_removals,
        )
        report = SyncReport(
            lessons=len(wanted),
            dry_run=dry_run,
            content=str(catalogue.root),
            content_lessons=len(catalogue.lessons),
            max_removals=self._max_removals,
        )
        report.held_back = dict(plan.held_back)
        report.refused_removals = list(plan.refused_removals)
        for identity, reason in plan.held_back.items():
            log.warning("lesson %s held back until its files are fixed: %s", identity, reason)
        if plan.refused_removals:
            log.warning(
                "refused to remove %d lessons from %s (limit %d): %s",
                len(plan.refused_removals),
                catalogue.root,
                self._max_removals,
                ", ".join(plan.refused_removals[:10]),
            )
        for identity in plan.unchanged:
            if progress is not None:
                progress(identity)
        if dry_run:
            for lesson in plan.link:
                self._count(self._dry_plan(lesson, rows.get(lesson.identity), forums), report)
                if progress is not None:
                    progress(lesson.identity)
            for identity in plan.remove:
                self._count_removal(rows[identity], report)
        else:
            intents = [(_job_key(lesson.identity), _link_payload(lesson)) for lesson in plan.link]
            intents += [(_job_key(identity), _remove_payload(identity)) for identity in plan.remove]
            jobs = await self._outbox.enqueue_many(self.JOB_KIND, intents)
            await self._perform(list(jobs.values()), report, progress)
        report.github_requests = _total(self._github.request_counts) - github_before
        report.discord_requests = _total(self._chat.request_counts) - chat_before
        return report

    async def ensure(self, catalogue: Catalogue, identity: str) -> SyncReport:
        """Give one lesson its post and issue now (lazy mode's first use); no-op if linked."""
        return await self.sync(catalogue, only={identity}, create=True)

    async def on_push(
        self,
        catalogue: Catalogue,
        payload: Mapping[str, Any],
        branch: str = "main",
        *,
        read_files: bool = True,
    ) -> SyncReport | None:
        """Sync only the lessons a push to `branch` touched.

        With `read_files` (a catalogue from a plain directory), the push is applied to the
        catalogue first: changed files are read from GitHub at the push's `after` commit
        (front matter is all that is needed); a file removed drops that locale, and a
        lesson with no file left leaves the catalogue, so its post is archived and its
        issue closed. Without it the catalogue was reloaded from the pushed commit already.
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
            program, _locale, slug = parsed
            if read_files:
                catalogue.remove_file(path)
            touched.add(f"{program}/{slug}")
        for path in changed:
            if (parsed := parse_lesson_path(path)) is None:
                continue
            if not read_files:
                touched.add(f"{parsed[0]}/{parsed[2]}")
                continue
            fetched = await self._github.get_file(path, ref=str(payload["after"]))
            lesson_file, problems = parse_lesson_text(path, fetched.text)
            # Through the catalogue, so a file broken by this push is held back, not linked.
            catalogue.put_file(lesson_file, problems)
            touched.add(lesson_file.identity)
        if not touched:
            return None
        log.info("push %s: syncing %d lessons", payload.get("after"), len(touched))
        return await self.sync(catalogue, only=touched)

    # --- the write path ------------------------------------------------------------------

    async def _perform(
        self,
        job_ids: Sequence[int],
        report: SyncReport,
        progress: Callable[[str], None] | None,
        *,
        wait: float | None = None,
    ) -> None:
        """Claim and run each job; wait for those another process holds, then report them."""
        context = _RunContext()
        waiting: list[int] = []
        for job_id in job_ids:
            claim = await self._outbox.claim(job_id)
            if claim is None:
                waiting.append(job_id)
                continue
            await self.run_job(claim, report, context)
            if progress is not None:
                progress(claim.payload.get("identity", ""))
        # Held elsewhere: that process finishes them (or, if it died, its lease runs out
        # and they are taken over here). Wait a while, as two syncs at once should both
        # end with every lesson linked.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (wait if wait is not None else self._outbox.lease_seconds + 5)
        while waiting and loop.time() < deadline:
            await asyncio.sleep(0.2)
            still = []
            for job_id in waiting:
                state = await self._outbox.state(job_id)
                if state is None or state.status in ("done", "failed"):
                    if state is not None and state.status == "failed":
                        report.failed[state.key.removeprefix("lesson:")] = state.last_error or ""
                    continue
                claim = await self._outbox.claim(job_id)
                if claim is None:
                    still.append(job_id)
                    continue
                await self.run_job(claim, report, context)
            waiting = still
        for job_id in waiting:
            state = await self._outbox.state(job_id)
            if state is not None:
                report.busy.append(state.key.removeprefix("lesson:"))
                log.info("lesson %s: being synced by another process", state.key)

    async def run_job(
        self, claim: Claim, report: SyncReport | None = None, context: _RunContext | None = None
    ) -> None:
        """Perform one claimed linking job and confirm it (or give it back on error)."""
        report = report if report is not None else SyncReport()
        context = context if context is not None else _RunContext()
        identity = claim.payload.get("identity", claim.key)

        async def perform() -> None:
            if claim.payload.get("action") == "remove":
                await self._remove(claim, identity, report)
            else:
                await self._link(claim, WantedLesson.from_payload(claim.payload), report, context)

        done = await self._outbox.attempt(claim, perform, label=f"lesson {identity}")
        # One lesson's failure must not stop the others: it is reported and retried.
        if isinstance(done, JobFailure):
            if done.taken_over:
                report.busy.append(identity)
            else:
                report.failed[identity] = done.message

    # --- reading what is stored ----------------------------------------------------------

    async def _snapshot(
        self, only: Collection[str] | None
    ) -> tuple[dict[str, Lesson], dict[str, Forum]]:
        """Load every lesson with its link and files, and the forums, in two queries."""
        async with self._sessions() as session:
            query = select(Lesson).options(selectinload(Lesson.link), selectinload(Lesson.files))
            rows = (await session.execute(query)).scalars().all()
            known = {row.identity: row for row in rows if only is None or row.identity in only}
            forums = (await session.execute(select(ProgramForum))).scalars().all()
            stored_forums = {
                row.program: Forum(row.discord_forum_id, row.discord_guild_id, dict(row.tag_ids))
                for row in forums
            }
        return known, stored_forums

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
        plan = self._plan(wanted, _state_of(row), forum)
        return not _writes(plan)

    def _dry_plan(
        self, wanted: WantedLesson, row: Lesson | None, forums: Mapping[str, Forum]
    ) -> _Plan:
        """Return what a lesson would need, from what is stored (a dry run's count)."""
        if row is None or row.link is None:
            return _Plan(create_thread=True, create_issue=True, edit_starter=True)
        return self._plan(wanted, _state_of(row), forums.get(wanted.program))

    @staticmethod
    def _count(plan: _Plan, report: SyncReport) -> None:
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

    @staticmethod
    def _count_removal(row: Lesson, report: SyncReport) -> None:
        report.removed += 1
        if row.link is not None and row.link.discord_thread_id is not None:
            report.threads_updated += 1
        if row.link is not None and row.link.github_issue_number is not None:
            report.issues_updated += 1

    # --- linking one lesson --------------------------------------------------------------

    async def _link(
        self, claim: Claim, wanted: WantedLesson, report: SyncReport, context: _RunContext
    ) -> None:
        """Bring one lesson's post and issue in line: post, issue, then the starter message
        linking the issue, each write confirmed in the database before the next."""
        forum = await self._forum(wanted.program, wanted.program_title)
        tag_ids = [forum.tags[name] for name in self.post_tags(wanted) if name in forum.tags]
        state = await self._load_state(claim, wanted)
        if state.issue_number is None:
            issue = await self._find_issue(wanted.identity, context, fresh=claim.uncertain)
            if issue is not None:
                state = await self._adopt_issue(claim, state, wanted.identity, issue)
                report.issues_adopted += 1
        if state.thread_id is None and claim.uncertain:
            # An earlier attempt may have opened the post and died before recording it.
            thread_id = await self._find_post(forum, wanted, context, fresh=True)
            if thread_id is not None:
                log.info("lesson %s: adopting post %d", wanted.identity, thread_id)
                state = await self._save(
                    claim,
                    state,
                    thread_id=thread_id,
                    starter_id=thread_id,  # a forum post's starter message has its id
                    forum_id=forum.id,
                    digest=_UNKNOWN * 3,
                )
                report.threads_adopted += 1
        plan = self._plan(wanted, state, forum, tag_ids)
        self._count(plan, report)
        if plan.create_thread:
            post = await self._chat.create_forum_post(
                forum.id,
                wanted.title,
                self.starter(wanted, state.issue_url),
                tag_ids=tag_ids,
                button=self.button(wanted),
            )
            state = await self._save(
                claim,
                state,
                thread_id=post.thread_id,
                starter_id=post.message_ids[0],
                forum_id=forum.id,
                thread_name=wanted.title[:300],
            )
        elif plan.edit_thread or plan.reopen:
            renamed = state.thread_name != wanted.title[:300]
            await self._chat.edit_thread(
                state.thread_id or 0,
                name=wanted.title if renamed else None,
                tag_ids=tag_ids,
                **({"archived": False, "locked": False} if plan.reopen else {}),
            )
            # Recorded at once: a retry after a crash does not rename the post again.
            state = await self._save(
                claim,
                state,
                digest=self._with_part(state, 0, wanted, forum, tag_ids),
                thread_name=wanted.title[:300],
            )
        url = self._post_url(state, forum)
        if plan.create_issue:
            issue = await self._github.create_issue(
                self.issue_title(wanted),
                self.issue_body(wanted, url),
                [LESSON_LABEL, f"program:{wanted.program}"],
                marker(MARKER_KIND, wanted.identity),
            )
            state = await self._save(
                claim, state, issue_number=issue.number, issue_url=issue.html_url
            )
        elif plan.edit_issue or plan.reopen:
            await self._github.update_issue(
                state.issue_number or 0,
                title=self.issue_title(wanted),
                body=self.issue_body(wanted, url),
                state="open" if plan.reopen else None,
            )
            state = await self._save(
                claim, state, digest=self._with_part(state, 2, wanted, forum, tag_ids)
            )
        if plan.edit_starter:
            await self._chat.edit_message(
                state.thread_id or 0,
                state.starter_id or 0,
                content=self.starter(wanted, state.issue_url),
                button=self.button(wanted),
            )
        await self._confirm(claim, state, wanted, forum, tag_ids)

    def _with_part(
        self,
        state: _StoredState,
        index: int,
        wanted: WantedLesson,
        forum: Forum,
        tag_ids: Sequence[int],
    ) -> str:
        """Return the stored digest with one part (thread, starter, issue) now written."""
        parts = [(state.digest or _UNKNOWN * 3)[i * _PART : (i + 1) * _PART] for i in range(3)]
        parts[index] = self._parts(wanted, state, forum, tag_ids)[index]
        return "".join(parts)

    async def _load_state(self, claim: Claim, wanted: WantedLesson) -> _StoredState:
        """Return the lesson's stored link, creating its rows if it is new."""
        async with self._sessions() as session, session.begin():
            await self._outbox.renew(claim, session)
            # Another process may be inserting the same lesson: let one insert win.
            await lesson_id(session, wanted.program, wanted.slug)
            row = await session.scalar(
                select(Lesson)
                .where(Lesson.program == wanted.program, Lesson.slug == wanted.slug)
                .options(selectinload(Lesson.link))
            )
            assert row is not None
            if row.link is None:
                now = utcnow()
                await session.execute(
                    insert_new(session, LessonLink, ["lesson_id"]).values(
                        lesson_id=row.id, created_at=now, updated_at=now
                    )
                )
                await session.refresh(row, ["link"])
            return _state_of(row)

    async def _save(self, claim: Claim, state: _StoredState, **changes: Any) -> _StoredState:
        """Record what was just written, at once (a crash after this loses nothing), and
        renew the claim for the next write in the same commit."""
        columns = {
            "thread_id": "discord_thread_id",
            "starter_id": "discord_starter_message_id",
            "forum_id": "discord_forum_id",
            "issue_number": "github_issue_number",
            "issue_url": "github_issue_url",
            "digest": "synced_digest",
            "thread_name": "synced_title",
        }
        values = {columns[name]: value for name, value in changes.items()}
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(LessonLink)
                .where(LessonLink.lesson_id == state.lesson_id)
                .values(**values, updated_at=utcnow())
            )
            await self._outbox.renew(claim, session)
        return dataclasses.replace(state, **changes)

    async def _confirm(
        self,
        claim: Claim,
        state: _StoredState,
        wanted: WantedLesson,
        forum: Forum,
        tag_ids: Sequence[int],
    ) -> None:
        """Record the lesson as in line (its digest, files and title) and the job as done,
        in one commit."""
        async with self._sessions() as session, session.begin():
            row = await session.scalar(
                select(Lesson)
                .where(Lesson.id == state.lesson_id)
                .options(selectinload(Lesson.link), selectinload(Lesson.files))
            )
            assert row is not None and row.link is not None
            files = {file.locale: file for file in row.files}
            for locale, (title, path) in wanted.files.items():
                file = files.pop(locale, None)
                if file is None:
                    row.files.append(LessonFile(locale=locale, title=title[:300], path=path))
                elif (file.title, file.path) != (title[:300], path):
                    file.title, file.path = title[:300], path
            for file in files.values():
                row.files.remove(file)
            link = row.link
            link.discord_forum_id = link.discord_forum_id or forum.id
            link.synced_title = wanted.title[:300]
            link.synced_digest = "".join(self._parts(wanted, state, forum, tag_ids))
            link.synced_at = utcnow()
            row.removed_at = None
            await session.flush()
            await self._outbox.complete(claim, session)

    async def _find_issue(
        self, identity: str, context: _RunContext, *, fresh: bool
    ) -> Issue | None:
        """Return the lesson's issue if one was written already (one listing per run)."""
        if context.issues is None or fresh:
            found: dict[str, Issue] = {}
            for issue in await self._github.list_issues(label=LESSON_LABEL):
                key = find_markers(issue.body).get(MARKER_KIND)
                if key and key not in found:  # oldest first: the original wins
                    found[key] = issue
                elif key:
                    log.warning(
                        "lesson %s has a second issue #%d (kept: #%d); close it by hand",
                        key,
                        issue.number,
                        found[key].number,
                    )
            context.issues = found
        return context.issues.get(identity)

    async def _find_post(
        self, forum: Forum, wanted: WantedLesson, context: _RunContext, *, fresh: bool
    ) -> int | None:
        """Return the bot's post for a lesson that no stored link owns, if one exists.

        One listing of the forum's posts (active and archived) per run; only the bot's
        posts that no lesson owns have their starter message read, which after a clean
        run are none. A post is known by the lesson key in its button's custom_id; a
        lesson whose post has no button (suggestions off, or a key too long for a
        custom_id) is known by its name among the bot's posts without a key.
        """
        if forum.id not in context.posts or fresh:
            owned = await self._owned_threads()
            mine = self._chat.user_id
            keys: dict[str, int] = {}
            unkeyed: dict[str, int] = {}
            for thread in await self._chat.list_forum_threads(forum.id):
                if thread.id in owned or (mine and thread.owner_id != mine):
                    continue
                try:
                    starter = await self._chat.fetch_message(thread.id, thread.id)
                except ChatNotFoundError:
                    continue
                key = parse_post_key(starter)
                # Oldest first: the original wins.
                if key is not None:
                    keys.setdefault(key, thread.id)
                else:
                    unkeyed.setdefault(thread.name, thread.id)
            context.posts[forum.id] = keys
            context.unkeyed[forum.id] = unkeyed
        found = context.posts[forum.id].pop(wanted.identity, None)
        if found is None and self.button(wanted) is None:
            found = context.unkeyed[forum.id].pop(thread_name(wanted.title), None)
        return found

    async def _owned_threads(self) -> set[int]:
        async with self._sessions() as session:
            ids = await session.scalars(
                select(LessonLink.discord_thread_id).where(
                    LessonLink.discord_thread_id.is_not(None)
                )
            )
            return {int(thread_id) for thread_id in ids}

    async def _adopt_issue(
        self, claim: Claim, state: _StoredState, identity: str, issue: Issue
    ) -> _StoredState:
        """Take over an issue found by its marker, and the post its body links to."""
        log.info("lesson %s: adopting issue #%d", identity, issue.number)
        issue_part = _digest(issue.title, issue.body)
        changes: dict[str, Any] = {"issue_number": issue.number, "issue_url": issue.html_url}
        found = _POST_LINK.search(issue.body)
        if found and state.thread_id is None:
            thread_id = int(found.group(2))
            changes["thread_id"] = thread_id
            changes["starter_id"] = int(found.group(3) or thread_id)
            # The thread's name and tags were written by the sync that wrote this issue, so
            # they are taken as they are; the starter message is rewritten once, as a crash
            # may have left it without the issue's link.
            changes["digest"] = _ASSUMED + _UNKNOWN + issue_part
        else:
            changes["digest"] = _UNKNOWN + _UNKNOWN + issue_part
        state = await self._save(claim, state, **changes)
        if issue.state == "closed" and not state.removed:
            # Closed when it left: reopen it, as it is back.
            async with self._sessions() as session, session.begin():
                await session.execute(
                    update(Lesson).where(Lesson.id == state.lesson_id).values(removed_at=utcnow())
                )
            state = dataclasses.replace(state, removed=True)
        return state

    async def _forum(self, program: str, title: str) -> Forum:
        """Return the program's forum with every tag, creating or extending it once across
        processes."""
        tags = self.forum_tags()
        forum = await self._stored_forum(program)
        if forum is not None and set(tags) <= set(forum.tags):
            return forum
        async with self._outbox.exclusive(f"forum:{program}"):
            forum = await self._stored_forum(program)  # another process may have done it
            if forum is not None and set(tags) <= set(forum.tags):
                return forum
            forum = await self._chat.ensure_forum(
                forum_name(title, program),
                title,
                tags,
                forum_id=forum.id if forum is not None else None,
            )
            async with self._sessions() as session, session.begin():
                row = await session.scalar(
                    select(ProgramForum).where(ProgramForum.program == program)
                )
                if row is None:
                    row = ProgramForum(program=program, tag_ids={})
                    session.add(row)
                row.discord_guild_id = forum.guild_id
                row.discord_forum_id = forum.id
                row.tag_ids = dict(forum.tags)
            return forum

    async def _stored_forum(self, program: str) -> Forum | None:
        async with self._sessions() as session:
            row = await session.scalar(select(ProgramForum).where(ProgramForum.program == program))
        if row is None:
            return None
        return Forum(row.discord_forum_id, row.discord_guild_id, dict(row.tag_ids))

    def _parts(
        self,
        wanted: WantedLesson,
        state: _StoredState,
        forum: Forum | None,
        tag_ids: Sequence[int],
    ) -> tuple[str, str, str]:
        """Return the digests of what the thread, starter message and issue should hold."""
        url = self._post_url(state, forum)
        return (
            _digest(wanted.title, list(tag_ids)),
            # The button is part of the starter: turning suggestions on adds it to every post.
            _digest(self.starter(wanted, state.issue_url), *self._button_parts(wanted)),
            _digest(self.issue_title(wanted), self.issue_body(wanted, url)),
        )

    def _post_url(self, state: _StoredState, forum: Forum | None) -> str | None:
        if state.thread_id is None or state.starter_id is None:
            return None
        guild = forum.guild_id if forum is not None else 0
        return post_url(guild, state.thread_id, state.starter_id, self._web_url)

    def _plan(
        self,
        wanted: WantedLesson,
        state: _StoredState,
        forum: Forum | None,
        tag_ids: Sequence[int] | None = None,
    ) -> _Plan:
        if tag_ids is None:
            tags = forum.tags if forum is not None else {}
            tag_ids = [tags[name] for name in self.post_tags(wanted) if name in tags]
        stored = state.digest or _UNKNOWN * 3
        thread, starter, issue = self._parts(wanted, state, forum, tag_ids)
        plan = _Plan(
            create_thread=state.thread_id is None,
            create_issue=state.issue_number is None,
            reopen=state.removed,
        )
        plan.edit_thread = not plan.create_thread and stored[:_PART] not in (thread, _ASSUMED)
        plan.edit_starter = plan.create_issue or stored[_PART : 2 * _PART] != starter
        plan.edit_issue = not plan.create_issue and (
            plan.create_thread or stored[2 * _PART :] != issue
        )
        return plan

    # --- removing one lesson -------------------------------------------------------------

    async def _remove(self, claim: Claim, identity: str, report: SyncReport) -> None:
        """Archive and lock a removed lesson's post, close its issue with one comment."""
        program, slug = identity.split("/", 1)
        async with self._sessions() as session:
            row = await session.scalar(
                select(Lesson)
                .where(Lesson.program == program, Lesson.slug == slug)
                .options(selectinload(Lesson.link))
            )
            state = _state_of(row) if row is not None and row.link is not None else None
        if row is None or row.removed_at is not None:
            await self._outbox.complete(claim)
            return
        report.removed += 1
        if state is not None and state.thread_id is not None:
            report.threads_updated += 1
            await self._outbox.renew(claim)
            try:
                await self._chat.edit_thread(state.thread_id, archived=True, locked=True)
            except ChatNotFoundError:
                log.info("lesson %s: its post is gone already", identity)
        if state is not None and state.issue_number is not None:
            report.issues_updated += 1
            # The same removal (this job's revision) always carries the same marker, so a
            # retried removal finds its comment instead of writing a second one.
            note = marker("lesson_removed", f"{identity}@{claim.revision}")
            text = t(self._locale, "linking.removed_comment")
            await self._outbox.renew(claim)
            await self._github.create_comment(state.issue_number, f"{text}\n\n{note}", marker=note)
            await self._outbox.renew(claim)
            await self._github.update_issue(state.issue_number, state="closed")
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(Lesson).where(Lesson.id == row.id).values(removed_at=utcnow())
            )
            await self._outbox.complete(claim, session)


def parse_post_key(message: ChatMessage) -> str | None:
    """Return the lesson identity a starter message names, if any: by its "Suggest an
    edit" button's custom_id, or by the key line a post made before carried in its text."""
    for custom_id in message.custom_ids:
        if custom_id.startswith(SUGGEST_BUTTON_PREFIX):
            identity, colon, _locale = custom_id.removeprefix(SUGGEST_BUTTON_PREFIX).rpartition(":")
            if colon and "/" in identity:
                return identity
    found = _OLD_POST_KEY.search(message.content)
    return found.group(1) if found else None


def thread_name(title: str) -> str:
    """Return the name a post titled so has on Discord, which cuts names at 100."""
    if len(title) <= _THREAD_NAME_LIMIT:
        return title
    return title[: _THREAD_NAME_LIMIT - 1].rstrip() + "…"


def _state_of(row: Lesson) -> _StoredState:
    link = row.link
    return _StoredState(
        lesson_id=row.id,
        removed=row.removed_at is not None,
        thread_id=link.discord_thread_id if link else None,
        starter_id=link.discord_starter_message_id if link else None,
        forum_id=link.discord_forum_id if link else None,
        issue_number=link.github_issue_number if link else None,
        issue_url=link.github_issue_url if link else None,
        digest=link.synced_digest if link else None,
        thread_name=link.synced_title if link else None,
    )


def _writes(plan: _Plan) -> bool:
    return (
        plan.create_thread
        or plan.create_issue
        or plan.edit_thread
        or plan.edit_starter
        or plan.edit_issue
        or plan.reopen
    )


def _broken(catalogue: Catalogue, locale: str) -> dict[str, str]:
    """Return the catalogue's unusable lessons with their first problem, as people read it."""
    return {
        identity: (
            f"{problems[0].path}:{problems[0].line}: "
            f"{t(locale, f'check.{problems[0].code}', **problems[0].params)}"
        )
        for identity, problems in catalogue.broken().items()
        if problems
    }


def _job_key(identity: str) -> str:
    return f"lesson:{identity}"


def _link_payload(lesson: WantedLesson) -> dict[str, Any]:
    return {"action": "link", **lesson.as_payload()}


def _remove_payload(identity: str) -> dict[str, Any]:
    return {"action": "remove", "identity": identity}
