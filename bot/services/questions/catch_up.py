"""Catching up after a restart: what people wrote in posts while no gateway session was up.

Discord hands each message to the sessions live when it is sent; a new session (IDENTIFY,
not RESUME) never sees what was said before it. So when a session becomes ready, each
active lesson or help post it holds is read back from the newest message the intake applied
there (its `ThreadMark`), and what is found goes through the same queue as live messages.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy import select

from bot.domain.snowflakes import snowflake_at
from bot.services.ports import ActivePost, PostHistory, PostMessage
from bot.services.questions.dependencies import Dependencies
from bot.services.questions.event_queue import Change, EventQueue
from bot.store.models import LessonLink, ProgramForum, ThreadMark
from bot.store.reachable import while_unreachable

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CatchUpReport:
    """What one catch-up did: posts read back, messages found, questions recorded."""

    posts_read: int = 0
    messages_seen: int = 0
    questions_recorded: int = 0
    failed: int = 0
    # Posts with more messages since their mark than one catch-up reads.
    truncated: int = 0


@dataclass(slots=True)
class _Held:
    message: PostMessage
    outcome: asyncio.Future[str]


class CatchUp:
    """Read posts back after a fresh session, in order with the live messages about them.

    From the moment a fresh session starts (READY, before any of its messages) until its
    catch-up has looked at the marks, live messages in the guilds it covers are held; then
    those of posts with nothing to read go on, and a post to read back holds its live
    messages until its history is read: history and held messages are then queued together,
    in message-id order (a snowflake grows with time), each once. A reply that arrives live
    to a question asked while the bot was down is so applied after that question, and no
    live message raises a post's mark past what is still unread.
    """

    def __init__(
        self, deps: Dependencies, events: EventQueue, change: Callable[[PostMessage], Change]
    ) -> None:
        self._deps = deps
        self._events = events
        self._change = change
        # Live messages kept back, by post, until the post is caught up or found current.
        self._held: dict[int, list[_Held]] = {}
        # Sessions started but not yet caught up, each with the guilds it covers.
        self._starting: dict[Hashable, Callable[[int | None], bool]] = {}
        # Posts whose history is yet to be read and applied.
        self._reading: set[int] = set()

    def begin(self, session: Hashable, covers: Callable[[int | None], bool]) -> None:
        """Hold the live messages of the guilds a fresh session covers until its catch-up
        (`run`) has found which posts to read back."""
        if self._deps.settings.questions.catch_up_days > 0:
            self._starting[session] = covers

    def holds(self, thread_id: int, guild_id: int | None) -> bool:
        """Tell whether a live message in this post waits for a catch-up."""
        if thread_id in self._reading:
            return True
        return any(covers(guild_id) for covers in self._starting.values())

    async def hold(self, message: PostMessage) -> str:
        """Keep a live message until its post is caught up; return its outcome then."""
        held = _Held(message, asyncio.get_running_loop().create_future())
        self._held.setdefault(message.thread_id, []).append(held)
        return await held.outcome

    async def run(
        self, posts: Sequence[ActivePost], history: PostHistory, session: Hashable = None
    ) -> CatchUpReport:
        """Read each active lesson or help post back from its mark and apply what is new,
        then stop holding the session's live messages."""
        settings = self._deps.settings.questions
        todo: list[tuple[ActivePost, int]] = []
        try:
            if settings.catch_up_days > 0 and posts:
                todo = await while_unreachable(
                    lambda: self._to_read(posts, settings.catch_up_days), "catch-up"
                )
            self._reading.update(post.thread_id for post, _ in todo)
        finally:
            # No await from here to the release: a live message now either joins a post
            # still to be read or is applied after those held.
            self._starting.pop(session, None)
            self._release_idle()
        report = CatchUpReport()
        try:
            for post, after in todo:
                report = await self._catch_up(post, after, history, report)
        finally:
            for post, _ in todo:
                self._release(post.thread_id, ())
        return report

    def _release_idle(self) -> None:
        """Queue the held messages of posts no catch-up is about to read."""
        for thread_id, held in list(self._held.items()):
            guild_id = held[0].message.guild_id if held else None
            if thread_id in self._reading:
                continue
            if any(covers(guild_id) for covers in self._starting.values()):
                continue
            self._release(thread_id, ())

    async def _to_read(
        self, posts: Sequence[ActivePost], days: int
    ) -> list[tuple[ActivePost, int]]:
        """Return the posts to read back and the message id to read each from."""
        ids = [post.thread_id for post in posts]
        async with self._deps.sessions() as session:
            forums = set(await session.scalars(select(ProgramForum.discord_forum_id)))
            lessons = set(
                await session.scalars(
                    select(LessonLink.discord_thread_id).where(
                        LessonLink.discord_thread_id.in_(ids)
                    )
                )
            )
            marks = {
                thread: message
                for thread, message in await session.execute(
                    select(ThreadMark.discord_thread_id, ThreadMark.last_message_id).where(
                        ThreadMark.discord_thread_id.in_(ids)
                    )
                )
            }
        # Nothing older than the window is read, whatever the mark says (or without one).
        floor = snowflake_at(self._deps.clock() - timedelta(days=days))
        todo = []
        for post in posts:
            after = max(marks.get(post.thread_id, 0), floor)
            # Lesson posts and help posts live in programs' forums; other threads are not ours.
            ours = post.thread_id in lessons or post.forum_id in forums
            if not ours or (post.last_message_id is not None and post.last_message_id <= after):
                why = "nothing new" if ours else "no lesson's or program's post"
                log.debug("catch-up: post %s not read: %s", post.thread_id, why)
            else:
                todo.append((post, after))
        return todo

    async def _catch_up(
        self, post: ActivePost, after: int, history: PostHistory, report: CatchUpReport
    ) -> CatchUpReport:
        """Read one post back and apply what it holds, with its held live messages."""
        limit = self._deps.settings.questions.catch_up_messages
        try:
            found = list(await history.read(post, after, limit))
        except Exception as error:
            # Its live messages still go through; what was said while down stays unread.
            log.warning(
                "catch-up: could not read post %s back: %s: %s",
                post.thread_id,
                type(error).__name__,
                error,
            )
            self._release(post.thread_id, ())
            return replace(report, failed=report.failed + 1)
        truncated = len(found) >= limit
        if truncated:
            log.warning(
                "catch-up: post %s has %d or more messages since it was last seen; "
                "only the oldest %d are read",
                post.thread_id,
                limit,
                limit,
            )
        outcomes = await asyncio.gather(
            *self._release(post.thread_id, found), return_exceptions=True
        )
        recorded = sum(1 for o in outcomes if isinstance(o, str) and o.startswith("question"))
        failed = sum(1 for o in outcomes if isinstance(o, BaseException))
        return replace(
            report,
            posts_read=report.posts_read + 1,
            messages_seen=report.messages_seen + len(found),
            questions_recorded=report.questions_recorded + recorded,
            failed=report.failed + failed,
            truncated=report.truncated + int(truncated),
        )

    def _release(self, thread_id: int, found: Sequence[PostMessage]) -> list[asyncio.Future[str]]:
        """Queue a post's history and its held live messages in id order, each once, and
        stop holding it; return the outcomes of the history's messages."""
        held = self._held.pop(thread_id, [])
        self._reading.discard(thread_id)
        read = {message.message_id for message in found}
        by_id: dict[int, tuple[PostMessage, list[asyncio.Future[str]]]] = {
            message.message_id: (message, []) for message in found
        }
        for waiting in held:
            entry = by_id.setdefault(waiting.message.message_id, (waiting.message, []))
            entry[1].append(waiting.outcome)
        outcomes = []
        for message_id in sorted(by_id):
            message, waiters = by_id[message_id]
            outcome = self._events.submit(self._change(message))
            for waiter in waiters:
                outcome.add_done_callback(_pass_on(waiter))
            if not waiters:
                outcomes.append(outcome)
            elif message_id in read:
                # Its live caller has the outcome too: counted here as history's.
                outcomes.append(_copy(outcome))
        return outcomes


def _pass_on(waiter: asyncio.Future[str]) -> Callable[[asyncio.Future[str]], None]:
    """Return a callback handing a queued message's outcome to a live caller waiting on it."""

    def done(outcome: asyncio.Future[str]) -> None:
        if waiter.done():
            return
        if outcome.cancelled():
            waiter.cancel()
        elif (error := outcome.exception()) is not None:
            waiter.set_exception(error)
        else:
            waiter.set_result(outcome.result())

    return done


def _copy(outcome: asyncio.Future[str]) -> asyncio.Future[str]:
    """Return a second future with an outcome (its error taken by one waiter only)."""
    copy: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    outcome.add_done_callback(_pass_on(copy))
    return copy
