"""Change recorded questions: mark one answered, re-read an edited one, drop a deleted one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.questions import ReplyVerdict, classify
from bot.services.questions.dependencies import Dependencies
from bot.services.questions.records import (
    ASK_RULE,
    HELP_POST_RULE,
    Scope,
    find_question,
)
from bot.store.models import Question, QuestionSource


class Answers:
    """Keep each question's answered and dropped state true to the messages about it."""

    def __init__(self, deps: Dependencies) -> None:
        self._deps = deps

    def answered_from_discord(self) -> tuple[QuestionSource, ...]:
        """Return where a Discord message is seen: GitHub too when messages are mirrored."""
        if self._deps.settings.linking.mirror_to_github:
            return (QuestionSource.DISCORD, QuestionSource.GITHUB)
        return (QuestionSource.DISCORD,)

    async def answer(
        self,
        session: AsyncSession,
        scope: Scope,
        *,
        answer_id: str,
        author: str,
        name: str,
        staff: bool,
        at: datetime,
        reply_to: str | None,
        sources: Sequence[QuestionSource],
        later: str,
        is_question: bool,
        reply: ReplyVerdict,
    ) -> int:
        """Mark the question this message answers; return how many changed (0 or 1).

        A reply answers the question it replies to, whatever it says. Any other message
        answers only when it is substantive (`reply_verdict`: thanks, "+1" or a learner's
        own question answer nobody), and then only the newest question it can still
        change: the latest one of the lesson (or help post), asked before it by someone
        else, still open (or, for staff, not yet answered by staff). Earlier ones stay open
        for the digest.
        """
        query = select(Question).where(
            *scope.where(),
            Question.dropped_at.is_(None),
            Question.author_id != author,
            Question.external_id != answer_id,
        )
        how = later
        if reply_to is not None:
            replied = await find_question(session, QuestionSource.DISCORD, reply_to)
            if replied is not None and scope.holds(replied):
                query = query.where(Question.id == replied.id)
                how = "reply"
            elif is_question or not reply.substantive:
                return 0
        elif is_question or not reply.substantive:
            return 0
        if how != "reply":
            query = (
                query.where(
                    Question.source.in_(sources),
                    Question.asked_at <= at,
                    Question.resolved_at.is_(None),
                )
                .order_by(Question.asked_at.desc(), Question.id.desc())
                .limit(1)
            )
        # Only questions this message can still change: unanswered ones, or (a staff
        # answer) those no staff answered yet.
        if staff:
            query = query.where(
                or_(Question.answered_at.is_(None), Question.answered_by_staff.is_(False))
            )
        else:
            query = query.where(Question.answered_at.is_(None))
        changed = 0
        for row in await session.scalars(query):
            if row.answered_at is None:
                row.answered_at, row.answered_by = at, name[:200]
                row.answer_id, row.answered_how = answer_id, how
                row.answered_by_staff = staff
                changed += 1
            elif staff and not row.answered_by_staff:
                # The first reply stays the first; a maintainer's later one is noted.
                row.answered_by_staff = True
                changed += 1
        return changed

    def reevaluate(self, row: Question, text: str) -> str:
        """Apply an edit to a recorded question: it stays one, or is dropped."""
        if row.rule == ASK_RULE:
            return "ignored: asked with /ask"
        if row.dropped_at is not None and row.drop_reason == "deleted":
            return "ignored: deleted"
        if row.rule == HELP_POST_RULE:
            # A help post asks whatever its message says: the title (its first line) stays.
            title = row.text.split("\n", 1)[0]
            row.text = f"{title}\n{text}".strip()
            return "updated"
        verdict = classify(text)
        if not verdict.is_question:
            if row.dropped_at is None:
                row.dropped_at, row.drop_reason = self._deps.clock(), "not_a_question"
                return "dropped: no longer a question"
            return "ignored: still not a question"
        row.text = text
        row.rule = verdict.rule.value if verdict.rule else None
        row.cue = (verdict.cue or "")[:200] or None
        row.locale = verdict.locale
        if row.dropped_at is not None:
            row.dropped_at = row.drop_reason = None
            return "question again"
        return "updated"

    async def drop(self, session: AsyncSession, source: QuestionSource, external_id: str) -> str:
        """Drop a deleted question; a deleted first answer leaves its questions unanswered."""
        row = await find_question(session, source, external_id)
        if row is not None:
            row.dropped_at, row.drop_reason = self._deps.clock(), "deleted"
            return "dropped: deleted"
        # Ids of both platforms share the column: snowflakes and comment ids never meet.
        answered = list(
            await session.scalars(select(Question).where(Question.answer_id == external_id))
        )
        for question in answered:
            question.answered_at = question.answered_by = None
            question.answer_id = question.answered_how = None
            question.answered_by_staff = False
        if answered:
            return f"answer deleted: {len(answered)} unanswered"
        return "ignored: not a question"
