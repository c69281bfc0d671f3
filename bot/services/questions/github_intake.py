"""Questions and answers in comments on lessons' GitHub issues, from `issue_comment`
webhooks."""

from __future__ import annotations

import logging

from sqlalchemy import select

from bot.domain.markers import find_markers
from bot.domain.question_texts import recorded_outcome
from bot.domain.questions import classify, reply_verdict
from bot.services.events import IssueCommentEvent
from bot.services.questions.answers import Answers
from bot.services.questions.dependencies import Dependencies
from bot.services.questions.records import Scope, asked_question, find_question, insert_question
from bot.services.questions.staff import Staff
from bot.store.models import BridgedComment, Lesson, LessonLink, QuestionSource

log = logging.getLogger(__name__)


class GitHubIntake:
    """Record what a comment on a lesson's issue asks or answers, and its edits and deletions."""

    def __init__(self, deps: Dependencies, *, staff: Staff, answers: Answers) -> None:
        self._deps = deps
        self._staff = staff
        self._answers = answers

    async def on_issue_comment(self, event: IssueCommentEvent) -> str:
        """Apply one `issue_comment` delivery (created, edited or deleted)."""
        action, issue, comment = event.action, event.issue, event.comment
        if issue.is_pull_request:
            return "ignored: pull request"
        comment_id = str(comment.id)
        if action == "deleted":
            async with self._deps.sessions() as session, session.begin():
                return await self._answers.drop(session, QuestionSource.GITHUB, comment_id)
        if action not in ("created", "edited"):
            return f"ignored: action {action}"
        login, body = comment.author, comment.body
        if await self._comment_by_bot(comment.id, login, comment.author_type, body):
            return "ignored: written by the bot or mirrored from Discord"
        if action == "edited":
            async with self._deps.sessions() as session, session.begin():
                row = await find_question(session, QuestionSource.GITHUB, comment_id)
                if row is not None:
                    return self._answers.reevaluate(row, body)
        created_at = comment.created_at or self._deps.clock()
        verdict = classify(body)
        reply = reply_verdict(body)
        # Only an answer needs to know who is staff: a question or thanks costs no request.
        staff = (
            action == "created"
            and reply.substantive
            and await self._staff.is_github_staff(login, comment.association)
        )
        async with self._deps.sessions() as session, session.begin():
            lesson_id = await session.scalar(
                select(LessonLink.lesson_id)
                .join(Lesson, Lesson.id == LessonLink.lesson_id)
                .where(
                    LessonLink.github_issue_number == issue.number,
                    Lesson.removed_at.is_(None),
                )
            )
            if lesson_id is None:
                return "ignored: not a lesson issue"
            answered = 0
            if action == "created":
                # Comments on the issue are shown in the lesson's post: they answer both.
                answered = await self._answers.answer(
                    session,
                    Scope(lesson_id=lesson_id),
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
            recorded = await insert_question(
                session,
                asked_question(
                    verdict,
                    source=QuestionSource.GITHUB,
                    external_id=comment_id,
                    container_id=str(issue.number),
                    url=comment.url,
                    lesson_id=lesson_id,
                    author_id=login,
                    author_name=login,
                    text=body,
                    asked_at=created_at,
                ),
            )
            if not recorded:
                return "ignored: already recorded"
        return recorded_outcome(verdict, answered)

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
