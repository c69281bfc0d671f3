"""Bridge comments on a lesson's GitHub issue into the lesson's Discord forum post."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.excerpt import excerpt
from bot.domain.markers import find_markers, marker
from bot.domain.neutral import neutralize
from bot.i18n import t
from bot.services.ports import ChatPort, GitHubPort
from bot.store.models import BridgedComment, Lesson, LessonLink

log = logging.getLogger(__name__)

# The hidden marker on a comment mirrored from Discord: written once, never bridged back.
DISCORD_MARKER = "discord_message"
DISCORD_WEB = "https://discord.com/channels"
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
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        chat: ChatPort,
        *,
        bot_login: Callable[[], Awaitable[str]],
        locale: str = "en",
        github: GitHubPort | None = None,
        mirror: bool = False,
    ) -> None:
        self._sessions = sessions
        self._chat = chat
        self._bot_login = bot_login
        self._locale = locale
        self._github = github
        self._mirror = mirror and github is not None

    async def on_issue_comment(self, payload: Mapping[str, Any]) -> str:
        """Apply one `issue_comment` delivery; return what was done (for logs and tests)."""
        action = payload.get("action")
        issue = payload.get("issue") or {}
        comment = payload.get("comment") or {}
        if issue.get("pull_request") is not None:
            return "ignored: pull request"
        if not isinstance(comment.get("id"), int) or not isinstance(issue.get("number"), int):
            return "ignored: malformed"
        if action == "deleted":
            return await self._delete(comment["id"])
        if await self._by_bot(payload):
            return "ignored: written by the bot"
        thread_id = await self._thread_of(issue["number"])
        if thread_id is None:
            return "ignored: not a lesson issue"
        text = self._comment_message(
            (comment.get("user") or {}).get("login") or "?",
            comment.get("html_url") or "",
            (comment.get("body") or "").strip(),
        )
        if action == "created":
            return await self._create(comment["id"], issue["number"], thread_id, text)
        if action == "edited":
            return await self._edit(comment["id"], issue["number"], thread_id, text)
        return f"ignored: action {action}"

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

    async def _by_bot(self, payload: Mapping[str, Any]) -> bool:
        """Tell whether the bot wrote the comment (its login, or one of its markers)."""
        comment = payload.get("comment") or {}
        if find_markers(comment.get("body")):
            return True
        login = await self._bot_login()
        authors = {
            (comment.get("user") or {}).get("login"),
            (payload.get("sender") or {}).get("login")
            if payload.get("action") == "created"
            else None,
        }
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

    async def _create(self, comment_id: int, number: int, thread_id: int, text: str) -> str:
        """Post a new comment, unless it was posted already (a redelivery under a new id)."""
        async with self._sessions() as session:
            if await self._row(session, comment_id) is not None:
                return "ignored: already bridged"
            ids = await self._chat.post_message(thread_id, text)
            if len(ids) > 1:  # the text was fitted to one message: the limit above is wrong
                log.warning("comment %s went out as %d messages", comment_id, len(ids))
            session.add(
                BridgedComment(
                    github_comment_id=comment_id,
                    github_issue_number=number,
                    discord_thread_id=thread_id,
                    discord_message_ids={"ids": ids},
                )
            )
            try:
                await session.commit()
            except IntegrityError:
                # A concurrent delivery of the same comment won: take back what we posted.
                await session.rollback()
                for message_id in ids:
                    await self._chat.delete_message(thread_id, message_id)
                return "ignored: already bridged"
        return "posted"

    async def _edit(self, comment_id: int, number: int, thread_id: int, text: str) -> str:
        """Edit a bridged comment's message; one never bridged is posted now.

        A comment bridged before the one-message rule may have several: the first takes
        the new text and the rest are deleted.
        """
        async with self._sessions() as session:
            row = await self._row(session, comment_id)
            if row is None:
                return await self._create(comment_id, number, thread_id, text)
            first, *extra = list(row.discord_message_ids["ids"])
            await self._chat.edit_message(row.discord_thread_id, first, content=text)
            # Deleting before storing is safe to repeat: a message already gone counts
            # as deleted, so a crash in between only means deleting nothing next time.
            for message_id in extra:
                await self._chat.delete_message(row.discord_thread_id, message_id)
            row.discord_message_ids = {"ids": [first]}
            await session.commit()
        return "edited"

    async def _delete(self, comment_id: int) -> str:
        """Delete a bridged comment's messages and forget it."""
        async with self._sessions() as session:
            row = await self._row(session, comment_id)
            if row is None:
                return "ignored: not bridged"
            if row.discord_source_message_id is not None:
                # It mirrors a person's message: deleting the copy never deletes the original.
                return "ignored: mirrored from Discord"
            for message_id in row.discord_message_ids["ids"]:
                await self._chat.delete_message(row.discord_thread_id, message_id)
            await session.delete(row)
            await session.commit()
        return "deleted"

    # --- Discord -> GitHub (linking.mirror_to_github) --------------------------------------

    async def on_discord_message(
        self, guild_id: int, thread_id: int, message_id: int, author: str, content: str
    ) -> str:
        """Mirror a person's new message in a lesson's post to the lesson's issue."""
        if not self._mirror or not content.strip():
            return "ignored: not mirrored"
        assert self._github is not None
        async with self._sessions() as session:
            number = await self._issue_of(session, thread_id)
            if number is None:
                return "ignored: not a lesson post"
            if await self._mirrored(session, message_id) is not None:
                return "ignored: already mirrored"
            hidden = marker(DISCORD_MARKER, str(message_id))
            body = self._mirror_body(guild_id, thread_id, message_id, author, content, hidden)
            # With its marker, a retried or replayed create finds the comment, never adds one.
            comment = await self._github.create_comment(number, body, marker=hidden)
            session.add(
                BridgedComment(
                    github_comment_id=comment.id,
                    github_issue_number=number,
                    discord_thread_id=thread_id,
                    discord_message_ids={"ids": [message_id]},
                    discord_source_message_id=message_id,
                )
            )
            try:
                await session.commit()
            except IntegrityError:
                await session.rollback()
                return "ignored: already mirrored"
        return "mirrored"

    async def on_discord_edit(
        self, guild_id: int, message_id: int, author: str, content: str
    ) -> str:
        """Edit the comment that mirrors an edited message."""
        if not self._mirror:
            return "ignored: not mirrored"
        assert self._github is not None
        async with self._sessions() as session:
            row = await self._mirrored(session, message_id)
            if row is None:
                return "ignored: not mirrored"
            hidden = marker(DISCORD_MARKER, str(message_id))
            body = self._mirror_body(
                guild_id, row.discord_thread_id, message_id, author, content, hidden
            )
            await self._github.update_comment(row.github_issue_number, row.github_comment_id, body)
        return "edited"

    async def on_discord_delete(self, message_id: int) -> str:
        """Delete the comment that mirrors a deleted message."""
        if not self._mirror:
            return "ignored: not mirrored"
        assert self._github is not None
        async with self._sessions() as session:
            row = await self._mirrored(session, message_id)
            if row is None:
                return "ignored: not mirrored"
            await self._github.delete_comment(row.github_issue_number, row.github_comment_id)
            await session.delete(row)
            await session.commit()
        return "deleted"

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
            "author": neutralize(author),
            "message_url": f"{DISCORD_WEB}/{guild_id}/{thread_id}/{message_id}",
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
