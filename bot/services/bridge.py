"""Bridge comments on a lesson's GitHub issue into the lesson's Discord forum post."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import DISCORD_WEB_URL
from bot.domain.excerpt import excerpt
from bot.domain.link_texts import message_url
from bot.domain.markers import find_markers, marker
from bot.domain.neutral import close_open_fences, markdown_name, neutralize
from bot.i18n import t
from bot.services.events import EventHandler, IssueCommentEvent
from bot.services.outbox import Claim, JobFailure, Outbox
from bot.services.ports import ChatNotFoundError, ChatPort, GitHubPort
from bot.store.models import BridgedComment, Lesson, LessonLink

log = logging.getLogger(__name__)

# The hidden marker on a comment mirrored from Discord: written once, never bridged back.
DISCORD_MARKER = "discord_message"
# A comment becomes one Discord message, and Discord takes at most this many characters;
# GitHub refuses a comment body longer than its limit.
DISCORD_MESSAGE_LIMIT = 2000
GITHUB_BODY_LIMIT = 65536


class CommentBridge:
    """Show each comment on a lesson issue in the lesson's forum post, and keep it in step.

    Each comment becomes exactly one Discord message: one too long for a message shows an
    excerpt and the link to the whole comment. Its message id is stored by comment id, so
    an edit edits it and a deletion deletes it. Comments the bot wrote itself (its login,
    or any hidden `lessonbot:` marker, which only the bot writes) are never bridged, so
    nothing loops.
    With `mirror` and a GitHub port, people's messages in a lesson's post are mirrored to
    its issue the other way, each with its marker.

    Every change is a job on the write path, keyed by the comment (or message) it shows:
    what it should look like now, so a later event replaces an earlier one not yet done.
    After a crash the next attempt finds the message it posted by the comment's link.
    """

    JOB_KIND = "bridge"

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        chat: ChatPort,
        *,
        bot_login: Callable[[], Awaitable[str]],
        locale: str = "en",
        github: GitHubPort | None = None,
        mirror: bool = False,
        outbox: Outbox | None = None,
        discord_web_url: str = DISCORD_WEB_URL,
    ) -> None:
        self._sessions = sessions
        self._outbox = outbox or Outbox(sessions)
        # Where a mirrored comment's link to its Discord message leads.
        self._web_url = discord_web_url
        self._chat = chat
        self._bot_login = bot_login
        self._locale = locale
        self._github = github
        self._mirror = mirror and github is not None

    def webhook_handlers(self) -> list[EventHandler[Any]]:
        """Return the handler that shows comments on lesson issues in their forum posts."""
        return [EventHandler(IssueCommentEvent, "bridge", self.on_issue_comment)]

    async def on_issue_comment(self, event: IssueCommentEvent) -> str:
        """Apply one `issue_comment` delivery; return what was done (for logs and tests)."""
        action, issue, comment = event.action, event.issue, event.comment
        if issue.is_pull_request:
            return "ignored: pull request"
        if action == "deleted":
            return await self._submit(
                f"comment:{comment.id}", {"op": "hide", "comment_id": comment.id}
            )
        if await self._by_bot(event):
            return "ignored: written by the bot"
        thread_id = await self._thread_of(issue.number)
        if thread_id is None:
            return "ignored: not a lesson issue"
        text = self._comment_message(comment.author or "?", comment.url or "", comment.body.strip())
        if action not in ("created", "edited"):
            return f"ignored: action {action}"
        return await self._submit(
            f"comment:{comment.id}",
            {
                "op": "show",
                "comment_id": comment.id,
                "issue_number": issue.number,
                "thread_id": thread_id,
                "comment_url": comment.url or "",
                "text": text,
            },
        )

    def _comment_message(self, login: str, url: str, body: str) -> str:
        """Return a bridged comment as one Discord message: all of it, or an excerpt and a
        note pointing to the whole comment, the link always whole."""
        text = t(self._locale, "bridge.comment", login=login, comment_url=url, body=body)
        if len(text) <= DISCORD_MESSAGE_LIMIT:
            return text
        frame = t(self._locale, "bridge.comment_excerpt", login=login, comment_url=url, body="")
        if len(frame) > DISCORD_MESSAGE_LIMIT:
            # Never in practice (GitHub logins are short), but the link must stay whole.
            login = excerpt(login, max(len(login) - (len(frame) - DISCORD_MESSAGE_LIMIT), 1))
            frame = t(self._locale, "bridge.comment_excerpt", login=login, comment_url=url, body="")
        log.info("comment %s: %d characters, bridged as an excerpt", url, len(text))
        return t(
            self._locale,
            "bridge.comment_excerpt",
            login=login,
            comment_url=url,
            body=excerpt(body, max(DISCORD_MESSAGE_LIMIT - len(frame), 0)),
        )

    async def _by_bot(self, event: IssueCommentEvent) -> bool:
        """Tell whether the bot wrote the comment (its login, or one of its markers)."""
        if find_markers(event.comment.body):
            return True
        login = await self._bot_login()
        # A `created` event's sender wrote the comment; an edit's sender only edited it.
        authors = {event.comment.author, event.sender if event.action == "created" else None}
        return bool(login) and login in authors

    async def _thread_of(self, issue_number: int) -> int | None:
        """Return the forum post of the lesson whose issue this is (None: not a lesson's)."""
        async with self._sessions() as session:
            return await session.scalar(
                select(LessonLink.discord_thread_id)
                .join(Lesson, Lesson.id == LessonLink.lesson_id)
                .where(
                    LessonLink.github_issue_number == issue_number,
                    Lesson.removed_at.is_(None),
                )
            )

    # --- the write path ---------------------------------------------------------------------

    async def _submit(self, key: str, payload: dict[str, Any]) -> str:
        """Record the change as a job, then try it at once; a failure is retried later."""
        job_id = await self._outbox.enqueue(self.JOB_KIND, key, payload)
        claim = await self._outbox.claim(job_id)
        if claim is None:
            return "queued: another process has it"
        return await self.run_job(claim)

    async def run_job(self, claim: Claim) -> str:
        """Perform one claimed bridge job and confirm it, or give it back with its error."""
        perform = self._perform_mirror if claim.key.startswith("mirror:") else self._perform_comment
        done = await self._outbox.attempt(claim, lambda: perform(claim))
        return done.summary if isinstance(done, JobFailure) else done

    async def _perform_comment(self, claim: Claim) -> str:
        """Make a comment's message in the lesson post show its text, or go."""
        job = claim.payload
        async with self._sessions() as session:
            row = await self._row(session, job["comment_id"])
        if job["op"] == "hide":
            return await self._hide_comment(claim, row)
        thread_id, text = int(job["thread_id"]), str(job["text"])
        if row is None:
            found = None
            if claim.uncertain:
                # An earlier attempt may have posted and died before recording it.
                found = await self._find_bridged(thread_id, str(job["comment_url"]))
            if found is None:
                ids = await self._chat.post_message(thread_id, text)
                if len(ids) > 1:  # the text was fitted to one message: the limit is wrong
                    log.warning("comment %s went out as %d messages", job["comment_id"], len(ids))
                outcome = "posted"
            else:
                await self._chat.edit_message(thread_id, found, content=text)
                ids, outcome = [found], "posted (found after a crash)"
            async with self._sessions() as session, session.begin():
                session.add(
                    BridgedComment(
                        github_comment_id=job["comment_id"],
                        github_issue_number=job["issue_number"],
                        discord_thread_id=thread_id,
                        discord_message_ids={"ids": ids},
                    )
                )
                await session.flush()
                await self._outbox.complete(claim, session)
            return outcome
        # A comment bridged before the one-message rule may have several messages: the
        # first takes the new text and the rest go. Repeating this is harmless.
        first, *extra = list(row.discord_message_ids["ids"])
        try:
            await self._chat.edit_message(row.discord_thread_id, first, content=text)
        except ChatNotFoundError:
            # Someone deleted the copy on Discord: the comment still exists, so show it again.
            [first] = (await self._chat.post_message(row.discord_thread_id, text))[:1]
        for message_id in extra:
            await self._chat.delete_message(row.discord_thread_id, message_id)
        async with self._sessions() as session, session.begin():
            stored = await self._row(session, job["comment_id"])
            if stored is not None:
                stored.discord_message_ids = {"ids": [first]}
            await self._outbox.complete(claim, session)
        return "edited"

    async def _hide_comment(self, claim: Claim, row: BridgedComment | None) -> str:
        """Delete a bridged comment's messages and forget it."""
        if row is None or row.discord_source_message_id is not None:
            await self._outbox.complete(claim)
            # A mirror of a person's message: deleting the copy never deletes the original.
            return "ignored: not bridged" if row is None else "ignored: mirrored from Discord"
        for message_id in row.discord_message_ids["ids"]:
            await self._chat.delete_message(row.discord_thread_id, message_id)
        async with self._sessions() as session, session.begin():
            await session.execute(delete(BridgedComment).where(BridgedComment.id == row.id))
            await self._outbox.complete(claim, session)
        return "deleted"

    async def _find_bridged(self, thread_id: int, comment_url: str) -> int | None:
        """Return the bot's message in the post that shows this comment, if one exists."""
        if not comment_url:
            return None
        mine = self._chat.user_id
        for message in await self._chat.recent_messages(thread_id):
            if (not mine or message.author_id == mine) and comment_url in message.content:
                return message.id
        return None

    async def _perform_mirror(self, claim: Claim) -> str:
        """Make the comment mirroring a person's message say what it says, or go."""
        assert self._github is not None
        job = claim.payload
        async with self._sessions() as session:
            row = await self._mirrored(session, int(job["message_id"]))
        if job["op"] == "hide":
            if row is not None:
                await self._github.delete_comment(row.github_issue_number, row.github_comment_id)
            async with self._sessions() as session, session.begin():
                if row is not None:
                    await session.execute(delete(BridgedComment).where(BridgedComment.id == row.id))
                await self._outbox.complete(claim, session)
            return "deleted" if row is not None else "ignored: not mirrored"
        body = str(job["body"])
        if row is not None:
            await self._github.update_comment(row.github_issue_number, row.github_comment_id, body)
            await self._outbox.complete(claim)
            return "edited"
        hidden = marker(DISCORD_MARKER, str(job["message_id"]))
        # With its marker, a retried create finds the comment, never adds a second one.
        comment = await self._github.create_comment(int(job["issue_number"]), body, marker=hidden)
        async with self._sessions() as session, session.begin():
            session.add(
                BridgedComment(
                    github_comment_id=comment.id,
                    github_issue_number=int(job["issue_number"]),
                    discord_thread_id=int(job["thread_id"]),
                    discord_message_ids={"ids": [int(job["message_id"])]},
                    discord_source_message_id=int(job["message_id"]),
                )
            )
            await session.flush()
            await self._outbox.complete(claim, session)
        return "mirrored"

    # --- Discord -> GitHub (linking.mirror_to_github) --------------------------------------

    async def on_discord_message(
        self, guild_id: int, thread_id: int, message_id: int, author: str, content: str
    ) -> str:
        """Mirror a person's new message in a lesson's post to the lesson's issue."""
        if not self._mirror or not content.strip():
            return "ignored: not mirrored"
        async with self._sessions() as session:
            number = await self._issue_of(session, thread_id)
            if number is None:
                return "ignored: not a lesson post"
            if await self._mirrored(session, message_id) is not None:
                return "ignored: already mirrored"
        hidden = marker(DISCORD_MARKER, str(message_id))
        body = self._mirror_body(guild_id, thread_id, message_id, author, content, hidden)
        return await self._submit(
            f"mirror:{message_id}",
            {
                "op": "show",
                "message_id": message_id,
                "thread_id": thread_id,
                "issue_number": number,
                "body": body,
            },
        )

    async def on_discord_edit(
        self, guild_id: int, message_id: int, author: str, content: str
    ) -> str:
        """Edit the comment that mirrors an edited message."""
        if not self._mirror:
            return "ignored: not mirrored"
        async with self._sessions() as session:
            row = await self._mirrored(session, message_id)
        if row is None:
            return "ignored: not mirrored"
        hidden = marker(DISCORD_MARKER, str(message_id))
        body = self._mirror_body(
            guild_id, row.discord_thread_id, message_id, author, content, hidden
        )
        return await self._submit(
            f"mirror:{message_id}",
            {
                "op": "show",
                "message_id": message_id,
                "thread_id": row.discord_thread_id,
                "issue_number": row.github_issue_number,
                "body": body,
            },
        )

    async def on_discord_delete(self, message_id: int) -> str:
        """Delete the comment that mirrors a deleted message."""
        if not self._mirror:
            return "ignored: not mirrored"
        async with self._sessions() as session:
            if await self._mirrored(session, message_id) is None:
                return "ignored: not mirrored"
        return await self._submit(f"mirror:{message_id}", {"op": "hide", "message_id": message_id})

    def _mirror_body(
        self,
        guild_id: int,
        thread_id: int,
        message_id: int,
        author: str,
        content: str,
        hidden: str,
    ) -> str:
        """Return a mirrored comment: who wrote it, where, the neutralized text (cut to
        what GitHub takes), the marker."""
        tail = f"\n\n{hidden}\n"
        fields = {
            "author": markdown_name(author),
            "message_url": message_url(self._web_url, guild_id, thread_id, message_id),
        }
        room = GITHUB_BODY_LIMIT - len(tail)
        room -= len(t(self._locale, "bridge.from_discord", **fields, body=""))
        content = content.strip()
        body = neutralize(content)
        cut = len(content)
        if len(body) > room:
            # Cut before neutralizing, so no cut splits an escape or a neutralized mention;
            # escaping lengthens text, so cut again by as much as it is still over.
            cut = max(room, 0)
            body = neutralize(excerpt(content, cut))
            while len(body) > room and cut > 0:
                cut = max(cut - (len(body) - room), 0)
                body = neutralize(excerpt(content, cut))
        if cut < len(content):
            log.info("message %s: mirrored as an excerpt of %d characters", message_id, cut)
        # A code block left open would swallow the bot's marker after it.
        body = close_open_fences(body)
        return f"{t(self._locale, 'bridge.from_discord', **fields, body=body)}{tail}"

    @staticmethod
    async def _issue_of(session: AsyncSession, thread_id: int) -> int | None:
        """Return the issue of the lesson whose post this thread is (None: not a lesson's)."""
        return await session.scalar(
            select(LessonLink.github_issue_number)
            .join(Lesson, Lesson.id == LessonLink.lesson_id)
            .where(LessonLink.discord_thread_id == thread_id, Lesson.removed_at.is_(None))
        )

    @staticmethod
    async def _mirrored(session: AsyncSession, message_id: int) -> BridgedComment | None:
        return await session.scalar(
            select(BridgedComment).where(BridgedComment.discord_source_message_id == message_id)
        )

    @staticmethod
    async def _row(session: AsyncSession, comment_id: int) -> BridgedComment | None:
        return await session.scalar(
            select(BridgedComment).where(BridgedComment.github_comment_id == comment_id)
        )
