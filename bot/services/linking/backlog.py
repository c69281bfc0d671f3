"""The linking backlog: how far it has come, and moving a lesson someone touched ahead.

A lesson a person just touched (`/lesson`, a question in its post, a suggestion for it)
should not wait behind a whole catalogue's bulk linking. Its pending linking jobs are
raised to TOUCHED with one UPDATE, and only when it has any: which lessons do is read
into a set at most every `refresh_seconds`, in the background, so the paths that call
`touch` (question intake among them) add no query when nothing is pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.backlog import LinkingBacklog
from bot.domain.priorities import LINKING, LINKING_ISSUE, JobPriority
from bot.services.linking.performing import identity_of, issue_job_key, post_job_key
from bot.services.outbox import Outbox
from bot.store.models import JobStatus, Lesson, LessonLink, OutboxJob

log = logging.getLogger(__name__)

# How stale the set of lessons with pending linking jobs may be.
REFRESH_SECONDS = 30.0
_NOT_DONE = (JobStatus.PENDING, JobStatus.RUNNING)


class LinkBacklog:
    """Count the linking backlog, and raise a touched lesson's pending jobs to TOUCHED."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        *,
        refresh_seconds: float = REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._outbox = outbox
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        # Lessons with linking jobs not yet done and less urgent than TOUCHED: identity ->
        # lesson id (None before its first job ran); None until first read.
        self._pending: dict[str, int | None] | None = None
        self._by_id: dict[int, str] = {}
        self._read_at = 0.0
        self._reading: asyncio.Task[None] | None = None

    async def touch(self, identity: str) -> bool:
        """Move a lesson's pending linking jobs ahead of bulk work; return whether any
        moved. Costs one UPDATE when it has some, and no query when it has none; never
        raises (what touched it, a question or a suggestion, is already stored)."""
        try:
            return await self._touch(identity)
        except Exception:
            log.warning("could not move lesson %s ahead of bulk linking", identity, exc_info=True)
            return False

    async def touch_lesson(self, lesson_id: int) -> bool:
        """Move a stored lesson's pending linking jobs ahead (as `touch`), by its row id."""
        try:
            await self._known()
        except Exception:
            log.warning("could not read the linking backlog", exc_info=True)
            return False
        identity = self._by_id.get(lesson_id)
        return identity is not None and await self.touch(identity)

    async def _touch(self, identity: str) -> bool:
        pending = await self._known()
        if identity not in pending:
            return False
        lesson_id = pending.pop(identity)
        if lesson_id is not None:
            self._by_id.pop(lesson_id, None)
        moved = await self._outbox.raise_priority(
            [post_job_key(identity), issue_job_key(identity)], JobPriority.TOUCHED
        )
        if moved:
            log.info("lesson %s was touched: its linking goes ahead of bulk work", identity)
        return moved > 0

    async def refresh(self) -> None:
        """Read which lessons have linking jobs that a touch would move ahead."""
        async with self._sessions() as session:
            keys = (
                await session.scalars(
                    select(OutboxJob.dedupe_key).where(
                        OutboxJob.kind.in_([LINKING, LINKING_ISSUE]),
                        OutboxJob.status.in_(_NOT_DONE),
                        OutboxJob.priority > int(JobPriority.TOUCHED),
                    )
                )
            ).all()
            identities = {identity_of(key) for key in keys if key}
            ids: dict[str, int | None] = dict.fromkeys(identities)
            if identities:
                for lesson_id, program, slug in (
                    await session.execute(select(Lesson.id, Lesson.program, Lesson.slug))
                ).all():
                    identity = f"{program}/{slug}"
                    if identity in ids:
                        ids[identity] = lesson_id
        self._pending = ids
        self._by_id = {lesson_id: key for key, lesson_id in ids.items() if lesson_id is not None}
        self._read_at = self._clock()

    async def _known(self) -> dict[str, int | None]:
        if self._pending is None:
            # The first touch reads the set; later ones never wait for a read.
            await self.refresh()
        elif self._clock() - self._read_at >= self._refresh_seconds and self._reading is None:
            self._reading = asyncio.create_task(self._refresh_quietly())
        assert self._pending is not None
        return self._pending

    async def _refresh_quietly(self) -> None:
        try:
            await self.refresh()
        except Exception:
            # A database away for a moment: the set stays as it was, and is read again later.
            log.warning("could not read the linking backlog", exc_info=True)
            self._read_at = self._clock()
        finally:
            self._reading = None

    async def close(self) -> None:
        """Wait for a read under way (a stopping process leaves no task behind)."""
        if self._reading is not None:
            with contextlib.suppress(Exception):
                await self._reading

    async def counts(self) -> LinkingBacklog:
        """Count lessons with a post and an issue, and the post and issue jobs to run."""
        async with self._sessions() as session:
            lessons = (
                await session.execute(
                    select(
                        Lesson.program,
                        Lesson.slug,
                        LessonLink.discord_thread_id,
                        LessonLink.github_issue_number,
                    )
                    .outerjoin(LessonLink, LessonLink.lesson_id == Lesson.id)
                    .where(Lesson.removed_at.is_(None))
                )
            ).all()
            jobs = (
                await session.execute(
                    select(OutboxJob.kind, OutboxJob.dedupe_key).where(
                        OutboxJob.kind.in_([LINKING, LINKING_ISSUE]),
                        OutboxJob.status.in_(_NOT_DONE),
                    )
                )
            ).all()
        known = {f"{program}/{slug}" for program, slug, _, _ in lessons}
        # A lesson whose first job has not run yet has no row: its job counts it.
        queued = {identity_of(key) for _, key in jobs if key} - known
        return LinkingBacklog(
            lessons=len(known) + len(queued),
            with_post=sum(1 for row in lessons if row[2] is not None),
            with_issue=sum(1 for row in lessons if row[3] is not None),
            posts_pending=sum(1 for kind, _ in jobs if kind == LINKING),
            issues_pending=sum(1 for kind, _ in jobs if kind == LINKING_ISSUE),
        )
