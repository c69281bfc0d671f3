"""Link every lesson to one Discord forum post and one GitHub issue, and keep them right."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import DISCORD_WEB_URL
from bot.domain.catalogue import Catalogue, parse_lesson_path, parse_lesson_text
from bot.domain.catalogue import Lesson as CatalogueLesson
from bot.domain.link_texts import LinkTexts
from bot.domain.linking import (
    DEFAULT_MAX_REMOVALS,
    StoredLesson,
    WantedLesson,
    broken_lessons,
    plan_sync,
    published_lessons,
)
from bot.domain.priorities import LINKING, LINKING_ISSUE, JobPriority
from bot.services.events import PushEvent
from bot.services.linking.backlog import LinkBacklog
from bot.services.linking.finding import LinkFinder, RunContext
from bot.services.linking.performing import LinkPerformer, post_job_key
from bot.services.linking.planning import LinkPlanner
from bot.services.linking.report import SyncReport
from bot.services.linking.store import LinkStore
from bot.services.outbox import Claim, Outbox
from bot.services.ports import ChatButton, ChatPort, GitHubPort

log = logging.getLogger(__name__)

# How long the worker's jobs share what one of them looked up (the label's issues, a
# forum's posts): one listing serves a whole backlog, not one per lesson.
SHARED_LOOKUP_SECONDS = 600.0


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

    JOB_KIND = LINKING
    # A lesson's issue, a job of its own after its post's, paced by GitHub.
    ISSUE_JOB_KIND = LINKING_ISSUE

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
        backlog: LinkBacklog | None = None,
        on_threads_changed: Callable[[], None] | None = None,
    ) -> None:
        self._eager = eager
        self._github = github
        self._chat = chat
        self._default_locale = default_locale
        self._locale = locale
        self._outbox = outbox or Outbox(sessions)
        self._max_removals = max_removals
        self._texts = LinkTexts.for_locales(default_locale, locales, lesson_url_template, locale)
        self.planner = LinkPlanner(
            self._texts, web_url=discord_web_url, suggest_button=suggest_button
        )
        self._store = LinkStore(sessions, self._outbox, on_threads_changed=on_threads_changed)
        self.backlog = backlog or LinkBacklog(sessions, self._outbox)
        self._shared = RunContext()
        self._shared_since = time.monotonic()
        self._performer = LinkPerformer(
            github=github,
            chat=chat,
            outbox=self._outbox,
            store=self._store,
            planner=self.planner,
            finder=LinkFinder(github, chat, self._store, self.planner),
        )

    @property
    def outbox(self) -> Outbox:
        """Return the write path this service records its work on."""
        return self._outbox

    # --- what the links should say -------------------------------------------------------

    def wanted(self, lesson: CatalogueLesson, catalogue: Catalogue | None = None) -> WantedLesson:
        """Return what a catalogue lesson's post and issue should say."""
        return self._texts.wanted(lesson, catalogue)

    def published(self, catalogue: Catalogue) -> list[CatalogueLesson]:
        """Return the lessons that get links: published ones (drafts stay hidden, as on
        the site), in catalogue order."""
        return published_lessons(catalogue, self._default_locale)

    def forum_tags(self) -> list[str]:
        """Return the tags every program forum offers: difficulties, then translations."""
        return self._texts.forum_tags()

    def post_tags(self, wanted: WantedLesson) -> list[str]:
        """Return a post's tags: its difficulty, then its translations, at most five."""
        return self._texts.post_tags(wanted)

    def issue_title(self, wanted: WantedLesson) -> str:
        """Return the lesson issue's title, cut to GitHub's 256 characters."""
        return self._texts.issue_title(wanted)

    def issue_body(self, wanted: WantedLesson, post: str | None) -> str:
        """Return the lesson issue's body, ending with its hidden marker."""
        return self._texts.issue_body(wanted, post)

    def button(self, wanted: WantedLesson) -> ChatButton | None:
        """Return the starter message's "Suggest an edit" button, when suggestions are on."""
        return self.planner.button(wanted)

    def starter(self, wanted: WantedLesson, issue_url: str | None) -> str:
        """Return the post's starter message: the page and the issue once it exists."""
        return self._texts.starter(wanted, issue_url)

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
        priority: int | None = None,
        issues: bool = True,
        background: bool = False,
    ) -> SyncReport:
        """Reconcile every published lesson's post and issue with the catalogue.

        Creates what is missing, renames what changed, archives and closes what left the
        catalogue and reopens what came back; each lesson is one job on the write path,
        so any number of processes may sync at once. A lesson that fails is reported and
        the others go on. A dry run counts what would change and writes nothing, not
        even to the database. With `only`, just those identities are looked at (a push's
        changed lessons); with `create` false (lazy mode's default), lessons without
        links are left without.

        Each lesson's post is written first, then (with `issues`; otherwise the running
        bot's workers do it) its issue, every post before any issue. With `background`
        the jobs are only recorded, for the workers to run (the report counts nothing).
        Its jobs run at `priority`: BULK for a whole catalogue, NORMAL for some lessons
        (a push's).
        """
        if priority is None:
            priority = JobPriority.BULK if only is None else JobPriority.NORMAL
        create = self._eager if create is None else create
        github_before = _total(self._github.request_counts)
        chat_before = _total(self._chat.request_counts)
        broken = broken_lessons(catalogue, self._locale)
        wanted = {
            lesson.identity: self.wanted(lesson, catalogue)
            for lesson in self.published(catalogue)
            if (only is None or lesson.identity in only) and lesson.identity not in broken
        }
        try:
            rows, forums = await self._store.snapshot(only)
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
            up_to_date=lambda lesson: self.planner.unchanged(
                lesson, rows.get(lesson.identity), forums
            ),
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
                report.count(self.planner.dry_plan(lesson, rows.get(lesson.identity), forums))
                if progress is not None:
                    progress(lesson.identity)
            for identity in plan.remove:
                link = rows[identity].link
                report.count_removal(
                    has_thread=link is not None and link.discord_thread_id is not None,
                    has_issue=link is not None and link.github_issue_number is not None,
                )
        else:
            intents = [
                (post_job_key(lesson.identity), _link_payload(lesson)) for lesson in plan.link
            ]
            intents += [
                (post_job_key(identity), _remove_payload(identity)) for identity in plan.remove
            ]
            jobs = await self._outbox.enqueue_many(self.JOB_KIND, intents, priority=priority)
            if not background:
                await self._performer.perform(list(jobs.values()), report, progress, issues=issues)
        report.github_requests = _total(self._github.request_counts) - github_before
        report.discord_requests = _total(self._chat.request_counts) - chat_before
        return report

    async def ensure(self, catalogue: Catalogue, identity: str) -> SyncReport:
        """Give one lesson its post and issue now (lazy mode's first use); no-op if linked."""
        return await self.sync(
            catalogue, only={identity}, create=True, priority=JobPriority.TOUCHED
        )

    async def touch(self, identity: str) -> bool:
        """Move a lesson someone just touched ahead of bulk linking (see LinkBacklog)."""
        return await self.backlog.touch(identity)

    async def on_push(
        self, catalogue: Catalogue, push: PushEvent, *, read_files: bool = True
    ) -> SyncReport | None:
        """Sync only the lessons a push to the default branch touched.

        With `read_files` (a catalogue from a plain directory), the push is applied to the
        catalogue first: changed files are read from GitHub at the push's `after` commit
        (front matter is all that is needed); a file removed drops that locale, and a
        lesson with no file left leaves the catalogue, so its post is archived and its
        issue closed. Without it the catalogue was reloaded from the pushed commit already.
        """
        if not push.to_default_branch or push.deleted:
            return None
        changed: dict[str, None] = {}
        removed: set[str] = set()
        for commit in push.commits:
            for path in [*commit.added, *commit.modified]:
                changed[path] = None
                removed.discard(path)
            for path in commit.removed:
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
            fetched = await self._github.get_file(path, ref=push.after)
            lesson_file, problems = parse_lesson_text(path, fetched.text)
            # Through the catalogue, so a file broken by this push is held back, not linked.
            catalogue.put_file(lesson_file, problems)
            touched.add(lesson_file.identity)
        if not touched:
            return None
        log.info("push %s: syncing %d lessons", push.after, len(touched))
        return await self.sync(catalogue, only=touched)

    # --- the write path ------------------------------------------------------------------

    async def run_job(
        self, claim: Claim, report: SyncReport | None = None, context: RunContext | None = None
    ) -> None:
        """Perform one claimed linking job and confirm it (or give it back on error)."""
        await self._performer.run_job(claim, report, context or self._worker_context())

    def _worker_context(self) -> RunContext:
        """Return what the worker's jobs share, looked up afresh every so often."""
        if time.monotonic() - self._shared_since > SHARED_LOOKUP_SECONDS:
            self._shared = RunContext()
            self._shared_since = time.monotonic()
        # The worker runs each issue job as a job of its own, never as a batch.
        self._shared.issue_jobs.clear()
        return self._shared


def _total(counts: Mapping[str, int]) -> int:
    return sum(counts.values())


def _link_payload(lesson: WantedLesson) -> dict[str, Any]:
    return {"op": "link", **lesson.as_payload()}


def _remove_payload(identity: str) -> dict[str, Any]:
    return {"op": "remove", "identity": identity}
