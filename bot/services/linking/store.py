"""Read and record lessons' links in the database, each write with its job's claim."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bot.domain.linking import LinkState, WantedLesson
from bot.services.outbox import Claim, Outbox
from bot.services.ports import Forum
from bot.store.models import (
    JobStatus,
    Lesson,
    LessonFile,
    LessonLink,
    OutboxJob,
    ProgramForum,
    utcnow,
)
from bot.store.upsert import insert_new, lesson_id

# LinkState's fields and the link columns they are stored in.
_COLUMNS = {
    "thread_id": "discord_thread_id",
    "starter_id": "discord_starter_message_id",
    "forum_id": "discord_forum_id",
    "issue_number": "github_issue_number",
    "issue_url": "github_issue_url",
    "digest": "synced_digest",
    "thread_name": "synced_title",
}


def state_of(row: Lesson) -> LinkState:
    """Return a loaded lesson row's link as plain values."""
    link = row.link
    return LinkState(
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


class LinkStore:
    """The lessons, links and program forums the linking service keeps in the database."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        *,
        on_threads_changed: Callable[[], None] | None = None,
    ) -> None:
        self._sessions = sessions
        self._outbox = outbox
        # Told when a lesson's post changes or a lesson is removed or back: what remembers
        # which lesson a thread is (the question intake) must look again.
        self._on_threads_changed = on_threads_changed

    def _threads_changed(self) -> None:
        if self._on_threads_changed is not None:
            self._on_threads_changed()

    async def snapshot(
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

    async def load_state(self, claim: Claim, wanted: WantedLesson) -> LinkState:
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
            return state_of(row)

    async def save(self, claim: Claim, state: LinkState, **changes: Any) -> LinkState:
        """Record what was just written, at once (a crash after this loses nothing), and
        renew the claim for the next write in the same commit."""
        values = {_COLUMNS[name]: value for name, value in changes.items()}
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(LessonLink)
                .where(LessonLink.lesson_id == state.lesson_id)
                .values(**values, updated_at=utcnow())
            )
            await self._outbox.renew(claim, session)
        if "thread_id" in changes:
            self._threads_changed()
        return dataclasses.replace(state, **changes)

    async def confirm(
        self,
        claim: Claim,
        state: LinkState,
        wanted: WantedLesson,
        forum: Forum,
        digest: str,
        *,
        follow_up: tuple[str, str, dict[str, Any], int] | None = None,
    ) -> int | None:
        """Record the lesson as in line (its digest, files and title) and the job as done,
        in one commit, with the job that follows it (kind, key, payload, priority), whose
        id is returned."""
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
            link.synced_digest = digest
            link.synced_at = utcnow()
            restored = row.removed_at is not None
            row.removed_at = None
            await session.flush()
            current = await self._outbox.complete(claim, session)
            follow_up_id = None
            # A newer intent arrived while this one ran (a push renamed the lesson): the
            # job stays pending for it, and its run records the issue job from the newer
            # plan. Recording it from this stale one would undo the newer write.
            if follow_up is not None and current:
                kind, key, payload, priority = follow_up
                ids = await self._outbox.enqueue_many(
                    kind, [(key, payload)], session, priority=priority
                )
                follow_up_id = ids[key]
        if restored:
            self._threads_changed()
        return follow_up_id

    async def mark_removed(self, state: LinkState) -> LinkState:
        """Record a lesson as removed (so the next write reopens its post and issue)."""
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(Lesson).where(Lesson.id == state.lesson_id).values(removed_at=utcnow())
            )
        self._threads_changed()
        return dataclasses.replace(state, removed=True)

    async def removal(self, identity: str) -> tuple[Lesson | None, LinkState | None]:
        """Return a lesson about to be removed and its link, if it has one."""
        program, slug = identity.split("/", 1)
        async with self._sessions() as session:
            row = await session.scalar(
                select(Lesson)
                .where(Lesson.program == program, Lesson.slug == slug)
                .options(selectinload(Lesson.link))
            )
            state = state_of(row) if row is not None and row.link is not None else None
        return row, state

    async def confirm_removal(
        self, claim: Claim, lesson_id: int, settles: Collection[str] = ()
    ) -> None:
        """Record the lesson as removed and the job as done, in one commit; the pending
        jobs under `settles` (its issue's, now closed) are done with it."""
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(Lesson).where(Lesson.id == lesson_id).values(removed_at=utcnow())
            )
            if settles:
                await session.execute(
                    update(OutboxJob)
                    .where(
                        OutboxJob.dedupe_key.in_(list(settles)),
                        OutboxJob.status == JobStatus.PENDING,
                    )
                    .values(status=JobStatus.DONE, updated_at=utcnow())
                )
            await self._outbox.complete(claim, session)
        self._threads_changed()

    async def owned_threads(self) -> set[int]:
        """Return every post a stored lesson owns."""
        async with self._sessions() as session:
            ids = await session.scalars(
                select(LessonLink.discord_thread_id).where(
                    LessonLink.discord_thread_id.is_not(None)
                )
            )
            return {int(thread_id) for thread_id in ids}

    async def forum(self, program: str) -> Forum | None:
        """Return the program's forum as last stored."""
        async with self._sessions() as session:
            row = await session.scalar(select(ProgramForum).where(ProgramForum.program == program))
        if row is None:
            return None
        return Forum(row.discord_forum_id, row.discord_guild_id, dict(row.tag_ids))

    async def save_forum(self, program: str, forum: Forum) -> None:
        """Record the program's forum and its tags."""
        async with self._sessions() as session, session.begin():
            row = await session.scalar(select(ProgramForum).where(ProgramForum.program == program))
            if row is None:
                row = ProgramForum(program=program, tag_ids={})
                session.add(row)
            row.discord_guild_id = forum.guild_id
            row.discord_forum_id = forum.id
            row.tag_ids = dict(forum.tags)
