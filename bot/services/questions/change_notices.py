"""Tell an asker when a merged change may answer their question, once per pull request.

A merged pull request is matched in a job (it reads the files from GitHub); each open
question of a changed lesson that points at the change (`bot/domain/change_match.py`)
gets a `ChangeNotice` row, unique per question and pull request, and a job that posts
the notice in the question's post. The row decides "once": a second match of the same
pull request, in this process or another, inserts nothing and so sends nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.domain.catalogue import parse_lesson_path
from bot.domain.change_match import changes_between, match_question
from bot.domain.neutral import discord_name
from bot.domain.priorities import CHANGE_NOTICE
from bot.i18n import t
from bot.services.events import EventHandler, PullRequestEvent
from bot.services.outbox import Claim, Outbox
from bot.services.ports import ChatButton, ChatMessage, ChatPort, GitHubPort
from bot.store.models import ChangeNotice, Lesson, Question, QuestionSource, utcnow
from bot.store.upsert import insert_new

log = logging.getLogger(__name__)

JOB_KIND = CHANGE_NOTICE
_MATCH_PREFIX = "change_notice:pr:"
_SEND_PREFIX = "change_notice:send:"


class ChangeNotices:
    """Match merged lesson changes to open questions and tell each asker once."""

    JOB_KIND = JOB_KIND

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        settings: Settings,
        *,
        github: GitHubPort | None,
        chat: ChatPort | None,
        wake: Callable[[], None] | None = None,
    ) -> None:
        self._sessions = sessions
        self._outbox = outbox
        self._settings = settings
        self._github = github
        self._chat = chat
        self._wake = wake

    def webhook_handlers(self) -> list[EventHandler[Any]]:
        """Return the handler that follows merged pull requests."""
        return [EventHandler(PullRequestEvent, "change_notices", self.on_pull_request)]

    async def on_pull_request(self, event: PullRequestEvent) -> str:
        """Record a job that matches a merged pull request's lesson changes to questions."""
        pull = event.pull_request
        if not self._settings.questions.change_notices:
            return "ignored: change notices are off"
        if event.action != "closed" or not pull.merged:
            return "ignored"
        configured = self._settings.github.repository
        if configured and event.repository.lower() != configured.lower():
            return "ignored: another repository"
        if pull.default_branch and pull.base_ref != pull.default_branch:
            # The lessons people read are the default branch's: a merge elsewhere is not.
            return "ignored: not merged into the default branch"
        if not pull.merge_commit_sha or not pull.base_sha:
            log.warning("merged PR #%d names no merge or base commit: no notices", pull.number)
            return "ignored: no commits to compare"
        payload = {
            "op": "match",
            "number": pull.number,
            "url": pull.url or "",
            "base": pull.base_sha,
            "merged": pull.merge_commit_sha,
        }
        # Once per pull request, whoever records it: a done match is not redone.
        job = await self._outbox.enqueue_once(JOB_KIND, f"{_MATCH_PREFIX}{pull.number}", payload)
        if job is not None and self._wake is not None:
            self._wake()
        return "matching" if job is not None else "already matched"

    async def run_job(self, claim: Claim) -> str:
        """Run one job: match a pull request, or send one notice."""
        work = self._match if claim.payload.get("op") == "match" else self._send
        outcome = await self._outbox.attempt(claim, lambda: work(claim))
        return outcome if isinstance(outcome, str) else outcome.summary

    async def _match(self, claim: Claim) -> str:
        job = claim.payload
        github = self._github
        if github is None:
            await self._outbox.complete(claim)
            return "no GitHub to read the change from"
        number = int(job["number"])
        paths = [path for path in await github.pull_request_files(number) if _lesson(path)]
        found: list[tuple[str, str, str]] = []
        for path in paths:
            before = await _text_at(github, path, str(job["base"]))
            after = await _text_at(github, path, str(job["merged"]))
            found.append((path, before, after))
        notices = 0
        async with self._sessions() as session, session.begin():
            for path, before, after in found:
                notices += await self._record(session, job, path, before, after)
            await self._outbox.complete(claim, session)
        if notices and self._wake is not None:
            self._wake()
        return f"{notices} notices for PR #{number} ({len(paths)} lesson files)"

    async def _record(
        self, session: AsyncSession, job: dict[str, Any], path: str, before: str, after: str
    ) -> int:
        """Record a notice for each open question of the lesson pointing at the change."""
        changes = changes_between(before, after)
        parsed = parse_lesson_path(path)
        if not changes or parsed is None:
            return 0
        program, locale, slug = parsed
        lesson_id = await session.scalar(
            select(Lesson.id).where(Lesson.program == program, Lesson.slug == slug)
        )
        if lesson_id is None:
            return 0
        questions = await session.scalars(
            select(Question).where(
                Question.lesson_id == lesson_id,
                Question.source == QuestionSource.DISCORD,
                Question.resolved_at.is_(None),
                Question.dropped_at.is_(None),
            )
        )
        made = 0
        now = utcnow()
        for question in questions:
            found = match_question(question.text, changes, after)
            if found is None:
                continue
            was, now_says = found.change.summary()
            reasons = {
                **found.reasons(),
                "before": was,
                "after": now_says,
                "section": found.change.heading,
                "locale": locale,
            }
            inserted = await session.scalar(
                insert_new(session, ChangeNotice, ["question_id", "pr_number"])
                .values(
                    question_id=question.id,
                    pr_number=int(job["number"]),
                    pr_url=str(job["url"])[:500] or None,
                    path=path[:500],
                    score=found.score,
                    reasons=reasons,
                    created_at=now,
                    updated_at=now,
                )
                .returning(ChangeNotice.id)
            )
            if inserted is None:
                continue  # matched before, here or by another process: told once
            await self._outbox.enqueue_new(
                session, JOB_KIND, f"{_SEND_PREFIX}{inserted}", {"op": "send", "id": inserted}
            )
            made += 1
        return made

    async def _send(self, claim: Claim) -> str:
        chat = self._chat
        async with self._sessions() as session:
            row = await session.get(ChangeNotice, int(claim.payload["id"]))
            question = await session.get(Question, row.question_id) if row else None
            if row is None or question is None or row.sent_at is not None:
                await self._outbox.complete(claim, session)
                await session.commit()
                return "already told"
            if question.resolved_at is not None or question.dropped_at is not None:
                await self._outbox.complete(claim, session)
                await session.commit()
                return "the question is no longer open"
            if chat is None:
                await self._outbox.complete(claim, session)
                await session.commit()
                return "no chat to tell"
            locale = question.locale or str(row.reasons.get("locale") or self._settings.locale)
            thread_id = int(question.container_id)
            mention = f"<@{question.author_id}>"
            text = notice_text(locale, mention, question.url, row.pr_url or "", row.reasons)
            button = ChatButton(t(locale, "change_notice.button"), url=row.pr_url or None)
            notice_id = row.id
        message_id: int | None = None
        if claim.uncertain:
            # An attempt may have posted before it could record so: find it, never repeat.
            recent = await chat.recent_messages(thread_id, 50)
            message_id = _told_in(recent, mention, question.url or text)
        if message_id is None:
            ids = await chat.post_message(thread_id, text, buttons=[button] if button.url else [])
            message_id = ids[-1] if ids else None
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(ChangeNotice)
                .where(ChangeNotice.id == notice_id, ChangeNotice.sent_at.is_(None))
                .values(message_id=message_id, sent_at=utcnow(), updated_at=utcnow())
            )
            await self._outbox.complete(claim, session)
        return "told in the post"


def notice_text(
    locale: str, mention: str, question_url: str | None, pr_url: str, reasons: dict[str, Any]
) -> str:
    """Return the notice an asker reads: what changed, the link, and how to resolve."""
    before = discord_name(str(reasons.get("before") or ""))
    after = discord_name(str(reasons.get("after") or ""))
    section = discord_name(str(reasons.get("section") or ""))
    if before and after:
        what = t(locale, "change_notice.changed", before=before, after=after)
    elif after:
        what = t(locale, "change_notice.added", after=after)
    else:
        what = t(locale, "change_notice.removed", before=before)
    where = t(locale, "change_notice.section", section=section) if section else ""
    question = (
        t(locale, "change_notice.your_question_link", url=question_url)
        if question_url
        else t(locale, "change_notice.your_question")
    )
    return t(
        locale,
        "change_notice.message",
        mention=mention,
        question=question,
        pr_url=pr_url,
        where=where,
        what=what,
    )


def _told_in(messages: Sequence[ChatMessage], mention: str, needle: str) -> int | None:
    """Return the id of a message that already told this asker about this question."""
    for message in messages:
        if message.content.startswith(mention) and needle in message.content:
            return message.id
    return None


def _lesson(path: str) -> bool:
    return parse_lesson_path(path) is not None


async def _text_at(github: GitHubPort, path: str, ref: str) -> str:
    """Return a file's text at a commit ("" where it did not exist)."""
    try:
        return (await github.get_file(path, ref)).text
    except Exception as error:
        # The adapter's error carries the HTTP status: a file added or removed by the
        # pull request is missing on one side.
        if getattr(error, "status", None) == 404:
            return ""
        raise
