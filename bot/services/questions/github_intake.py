"""Questions and answers in comments on lessons' GitHub issues, from `issue_comment`
webhooks."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from bot.domain.markers import find_markers
from bot.domain.question_texts import parse_github_time as _parse_time
from bot.domain.question_texts import recorded_outcome as _recorded
from bot.domain.questions import classify, reply_verdict
from bot.services.questions.answers import Answers
from bot.services.questions.dependencies import Dependencies
from bot.services.questions.records import Scope as _Scope
from bot.services.questions.records import find_question, insert_question
from bot.services.questions.staff import Staff
from bot.store.models import BridgedComment, Lesson, LessonLink, Question, QuestionSource

log = logging.getLogger(__name__)


class GitHubIntake:
    """Record what a comment on a lesson's issue asks or answers, and its edits and deletions."""

    def __init__(self, deps: Dependencies, *, staff: Staff, answers: Answers) -> None:
        self._deps = deps
        # The names on_issue_comment was written against before the service was split: its
        # body moved here word for word, so a change made to it meanwhile applies unchanged.
        # Inline them (and the import aliases above) once that change has landed.
        self._sessions = deps.sessions
        self._clock = deps.clock
        self._question = find_question
        self._insert = insert_question
        self._answer = answers.answer
        self._reevaluate = answers.reevaluate
        self._drop = answers.drop
        self.is_github_staff = staff.is_github_staff

    async def on_issue_comment(self, payload: Mapping[str, Any]) -> str:
        """Apply one `issue_comment` delivery (created, edited or deleted)."""
        action = payload.get("action")
        issue = payload.get("issue") or {}
        comment = payload.get("comment") or {}
        if issue.get("pull_request") is not None:
            return "ignored: pull request"
        if not isinstance(comment.get("id"), int) or not isinstance(issue.get("number"), int):
            return "ignored: malformed"
        comment_id = str(comment["id"])
        if action == "deleted":
            return await self._drop(QuestionSource.GITHUB, comment_id)
        if action not in ("created", "edited"):
            return f"ignored: action {action}"
        user = comment.get("user") or {}
        login = str(user.get("login") or "")
        body = str(comment.get("body") or "")
        if await self._comment_by_bot(comment["id"], login, user.get("type"), body):
            return "ignored: written by the bot or mirrored from Discord"
        if action == "edited":
            async with self._sessions() as session, session.begin():
                row = await self._question(session, QuestionSource.GITHUB, comment_id)
                if row is not None:
                    return self._reevaluate(row, body)
        created_at = _parse_time(comment.get("created_at")) or self._clock()
        verdict = classify(body)
        reply = reply_verdict(body)
        # Only an answer needs to know who is staff: a question or thanks costs no request.
        staff = (
            action == "created"
            and reply.substantive
            and await self.is_github_staff(login, comment.get("author_association"))
        )
        async with self._sessions() as session, session.begin():
            lesson_id = await session.scalar(
                select(LessonLink.lesson_id)
                .join(Lesson, Lesson.id == LessonLink.lesson_id)
                .where(
                    LessonLink.github_issue_number == issue["number"],
                    Lesson.removed_at.is_(None),
                )
            )
            if lesson_id is None:
                return "ignored: not a lesson issue"
            answered = 0
            if action == "created":
                # Comments on the issue are shown in the lesson's post: they answer both.
                answered = await self._answer(
                    session,
                    _Scope(lesson_id=lesson_id),
                    answer_id=comment_id,
                    author=login,
                    name=login,
                    staff=staff,
                    at=created_at,
                    reply_to=None,
                    sources=(QuestionSource.GITHUB, QuestionSource.DISCORD),
                    later="later_comment",
                    is_question=verdict.is_question,
                    reply=reply,
                )
            if not verdict.is_question:
                return f"answered {answered}" if answered else "ignored: not a question"
            recorded = await self._insert(
                session,
                Question(
                    source=QuestionSource.GITHUB,
                    external_id=comment_id,
                    container_id=str(issue["number"]),
                    url=comment.get("html_url") or None,
                    lesson_id=lesson_id,
                    author_id=login,
                    author_name=login[:200],
                    text=body,
                    asked_at=created_at,
                    rule=verdict.rule.value if verdict.rule else None,
                    cue=(verdict.cue or "")[:200] or None,
                    locale=verdict.locale,
                ),
            )
            if not recorded:
                return "ignored: already recorded"
        return _recorded(verdict, answered)

    async def _comment_by_bot(
        self, comment_id: int, login: str, user_type: object, body: str
    ) -> bool:
        """Tell whether the bot wrote a comment, or it mirrors a Discord message."""
        if find_markers(body) or user_type == "Bot":
            return True
        if self._deps.github is not None and login:
            try:
                if login == await self._deps.github.login():
                    return True
            except Exception:
                log.warning("could not tell the bot's GitHub login")
        async with self._deps.sessions() as session:
            mirrored = await session.scalar(
                select(BridgedComment.id).where(
                    BridgedComment.github_comment_id == comment_id,
                    BridgedComment.discord_source_message_id.is_not(None),
                )
            )
        return mirrored is not None
