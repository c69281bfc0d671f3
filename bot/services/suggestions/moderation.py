"""Hold suggestions for moderators: screen them at intake, then approve, reject or block.

A held suggestion has no job, so nothing of it can reach GitHub until a moderator approves
it; approving records the job that opens its pull request in the same transaction that
moves it to `queued`, as a compare-and-set, so two moderators (or processes) release it
once.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, exists, func, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import spam
from bot.domain.review_flow import SuggestionStatus
from bot.services.signing import Signer, client_handle
from bot.services.suggestions.dependencies import Dependencies
from bot.services.suggestions.moderation_posts import ModerationPosts
from bot.services.suggestions.records import JOB_KIND, open_job_key
from bot.services.suggestions.views import SuggestionInput
from bot.store.models import (
    EmailConfirmation,
    Lesson,
    ModerationBlock,
    Suggestion,
    SuggestionCredit,
    SuggestionModeration,
)

log = logging.getLogger(__name__)

MODES = ("suspicious", "unknown", "none")
BLOCK_KINDS = ("email", "discord", "address")


class ModerationError(Exception):
    """A moderator's request that cannot be done: its message key and parameters."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass(frozen=True, slots=True)
class Screening:
    """What intake does with a suggestion: let it through, hold it, or turn it down unseen."""

    # "" (through), "suspicious", "unknown" or "blocked".
    reason: str = ""
    verdict: spam.Verdict = field(default_factory=lambda: spam.Verdict((), 0.0))

    @property
    def held(self) -> bool:
        """Tell whether the suggestion waits for a moderator (or is turned down)."""
        return bool(self.reason)

    @property
    def status(self) -> SuggestionStatus:
        """Return the status the suggestion is stored with."""
        if self.reason == "blocked":
            return SuggestionStatus.REJECTED
        return SuggestionStatus.HELD if self.reason else SuggestionStatus.QUEUED

    def row(self, suggestion_id: int, now: Any, handle: str = "") -> dict[str, Any]:
        """Return the moderation row kept beside a held suggestion."""
        signals = list(self.verdict.signals)
        if self.reason == "unknown":
            signals.append(spam.Signal("unknown_sender", 0.0))
        return {
            "suggestion_id": suggestion_id,
            "reason": self.reason,
            "score": self.verdict.score,
            # The web door's hashed address, so "block the person" can block it too.
            "signals": {
                "signals": [signal.as_json() for signal in signals],
                "handle": handle,
            },
            "decision": "blocked" if self.reason == "blocked" else None,
            "decided_by": "block list" if self.reason == "blocked" else None,
            "decided_at": now if self.reason == "blocked" else None,
            "created_at": now,
        }


@dataclass(frozen=True, slots=True)
class HeldView:
    """A held suggestion as a moderator reviews it."""

    id: int
    lesson: str
    locale: str
    path: str | None
    author_name: str
    find: str
    replace: str
    reason: str
    held_because: str
    score: float
    signals: tuple[spam.Signal, ...]
    created_at: Any

    def as_json(self) -> dict[str, Any]:
        """Return the held suggestion as `--json` lists it."""
        return {
            "id": self.id,
            "lesson": self.lesson,
            "locale": self.locale,
            "path": self.path,
            "author": self.author_name,
            "find": self.find,
            "replace": self.replace,
            "reason": self.reason,
            "held_because": self.held_because,
            "score": self.score,
            "signals": [signal.as_json() for signal in self.signals],
            "created_at": self.created_at.isoformat(),
        }


def address_value(handle: str) -> str:
    """Return how an address is kept on the block list: the web's hashed client handle."""
    return f"handle:{handle}"


def blocked_value(signer: Signer, kind: str, value: str) -> str:
    """Return a sender as the block list keeps it: an address only as its keyed hash."""
    value = value.strip()
    if kind == "email":
        return value.lower()
    if kind == "address":
        # Never the address itself: the same hash the web door gives the sender.
        return address_value(client_handle(signer, value))
    return value


class Moderation:
    """Screen suggestions at intake and carry out moderators' decisions."""

    def __init__(self, deps: Dependencies, posts: ModerationPosts | None = None) -> None:
        self._deps = deps
        self._posts = posts or ModerationPosts(deps)

    @property
    def posts(self) -> ModerationPosts:
        """Return the moderators' channel: the message of each held suggestion."""
        return self._posts

    def may_moderate(self, role_ids: Sequence[int | str]) -> bool:
        """Tell whether a Discord member with these roles may decide: a maintainer role."""
        maintainers = set(self._deps.settings.questions.staff_role_ids)
        return any(str(role) in maintainers for role in role_ids)

    @property
    def mode(self) -> str:
        """Return the configured moderation mode."""
        return self._deps.settings.suggestions.moderation

    def judge_text(self, request: SuggestionInput, lesson_text: str) -> spam.Verdict | None:
        """Return the verdict on the edit's text alone (None when nothing is screened).

        Pure CPU work, done before the intake's transaction takes its lock.
        """
        if self.mode == "none":
            return None
        return spam.assess(
            spam.SpamInput(
                find=request.find,
                replace=request.replace,
                reason=request.reason,
                lesson_text=lesson_text,
                locale=request.locale,
            )
        )

    def lookup(self, request: SuggestionInput, lesson_id: int | None) -> ScreeningLookup:
        """Return what the intake's one lookup statement must also read for screening."""
        author = request.author
        now = self._deps.clock()
        blocks = {
            "email": author.email.strip().lower() if author.email else None,
            "discord": str(author.discord_user_id) if author.discord_user_id is not None else None,
            "address": address_value(author.handle) if author.handle else None,
        }
        kinds = tuple(kind for kind, value in blocks.items() if value is not None)
        params: dict[str, Any] = {f"block_{kind}": blocks[kind] for kind in kinds}
        counting = self.mode != "none"
        if counting:
            params.update(
                person=author.person[:400],
                burst_since=now - timedelta(minutes=spam.BURST_MINUTES),
                text_hash=spam.text_hash(request.replace),
                same_since=now - timedelta(hours=spam.SAME_TEXT_HOURS),
                lesson_id=lesson_id if lesson_id is not None else -1,
            )
        return ScreeningLookup(screening_columns(kinds, counting), params)

    async def decide(
        self,
        session: AsyncSession,
        request: SuggestionInput,
        verdict: spam.Verdict | None,
        facts: Sequence[Any],
    ) -> Screening:
        """Decide, from the text's verdict and the lookup's facts (blocked, the sender's
        recent suggestions, the lessons its text went to), whether a suggestion goes on,
        waits for a moderator, or is turned down."""
        is_blocked, recent_count, same_text_count = facts
        if is_blocked:
            log.info("suggestion from a blocked sender (%s) turned down unseen", request.source)
            return Screening("blocked")
        if verdict is None:
            return Screening()
        verdict = spam.with_counts(
            verdict,
            same_text_lessons=int(same_text_count or 0),
            # An anonymous sender is one address's worth of people: not a person.
            recent_from_person=(
                0 if request.author.person == "handle:anonymous" else int(recent_count or 0)
            ),
        )
        if verdict.suspicious:
            return Screening("suspicious", verdict)
        if self.mode == "unknown" and not await self._known(session, request):
            return Screening("unknown", verdict)
        return Screening()

    async def _known(self, session: AsyncSession, request: SuggestionInput) -> bool:
        """Tell whether a sender is known: a Discord account, a confirmed email, or an edit
        merged before."""
        if request.author.discord_user_id is not None:
            return True
        if request.author.email:
            confirmed = await session.scalar(
                select(EmailConfirmation.id).where(
                    EmailConfirmation.email == request.author.email.strip().lower()[:400],
                    EmailConfirmation.confirmed_at.is_not(None),
                )
            )
            if confirmed is not None:
                return True
        merged = await session.scalar(
            select(SuggestionCredit.id)
            .join(Suggestion, Suggestion.id == SuggestionCredit.suggestion_id)
            .where(
                SuggestionCredit.person == request.author.person[:400],
                Suggestion.status == SuggestionStatus.MERGED,
            )
            .limit(1)
        )
        return merged is not None

    # --- the moderators' side ----------------------------------------------------------------

    async def held(self) -> list[HeldView]:
        """Return the suggestions waiting for a moderator, oldest first."""
        async with self._deps.sessions() as session:
            rows = (
                await session.execute(
                    select(Suggestion, SuggestionModeration, Lesson)
                    .join(Lesson, Lesson.id == Suggestion.lesson_id)
                    .outerjoin(
                        SuggestionModeration,
                        SuggestionModeration.suggestion_id == Suggestion.id,
                    )
                    .where(Suggestion.status == SuggestionStatus.HELD)
                    .order_by(Suggestion.id)
                )
            ).all()
            views = []
            for row, moderation, lesson in rows:
                stored = (moderation.signals if moderation else {}).get("signals", [])
                views.append(
                    HeldView(
                        id=row.id,
                        lesson=lesson.identity,
                        locale=row.locale,
                        path=row.path,
                        author_name=row.author_name,
                        find=str(row.edit.get("find", "")),
                        replace=str(row.edit.get("replace", "")),
                        reason=row.reason or "",
                        held_because=moderation.reason if moderation else "",
                        score=moderation.score if moderation else 0.0,
                        signals=tuple(spam.Signal.from_json(item) for item in stored),
                        created_at=row.created_at,
                    )
                )
        return views

    async def approve(self, suggestion_id: int, moderator: str) -> None:
        """Release a held (or rejected) suggestion to the job that opens its pull request."""
        await self._decide(
            suggestion_id,
            moderator,
            "approved",
            (SuggestionStatus.HELD, SuggestionStatus.REJECTED),
            SuggestionStatus.QUEUED,
        )
        self._deps.wake()

    async def reject(self, suggestion_id: int, moderator: str, *, block: bool = False) -> None:
        """Turn a held suggestion down as spam; with `block`, block its senders too."""
        await self._decide(
            suggestion_id,
            moderator,
            "blocked" if block else "rejected",
            (SuggestionStatus.HELD,),
            SuggestionStatus.REJECTED,
            block=block,
        )

    async def _decide(
        self,
        suggestion_id: int,
        moderator: str,
        decision: str,
        sources: Sequence[SuggestionStatus],
        target: SuggestionStatus,
        *,
        block: bool = False,
    ) -> None:
        now = self._deps.clock()
        async with self._deps.sessions() as session, session.begin():
            exists = await session.scalar(
                select(Suggestion.id).where(Suggestion.id == suggestion_id)
            )
            if exists is None:
                raise ModerationError("moderation.cli_not_found", id=suggestion_id)
            # A compare-and-set: of two moderators deciding at once, one moves it.
            moved = await session.execute(
                update(Suggestion)
                .where(Suggestion.id == suggestion_id, Suggestion.status.in_(list(sources)))
                .values(status=target, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            if moved.rowcount != 1:
                raise ModerationError("moderation.cli_not_held", id=suggestion_id)
            await self._record(session, suggestion_id, decision, moderator, now)
            # In the same transaction: the moderators' message says who decided, once.
            await self._posts.record(session, suggestion_id, decision)
            if target == SuggestionStatus.QUEUED:
                await self._deps.outbox.enqueue_many(
                    JOB_KIND,
                    [(open_job_key(suggestion_id), {"op": "open", "suggestion_id": suggestion_id})],
                    session,
                )
            if block:
                senders = (
                    await session.execute(
                        select(
                            SuggestionCredit.email,
                            SuggestionCredit.discord_user_id,
                            SuggestionCredit.person,
                        ).where(SuggestionCredit.suggestion_id == suggestion_id)
                    )
                ).all()
                handle = await session.scalar(
                    select(SuggestionModeration.signals).where(
                        SuggestionModeration.suggestion_id == suggestion_id
                    )
                )
                stored = str((handle or {}).get("handle") or "")
                if stored and stored != "anonymous":
                    await self._add_block(session, "address", address_value(stored))
                for email, discord_user_id, person in senders:
                    if email:
                        await self._add_block(session, "email", email.strip().lower())
                    if discord_user_id is not None:
                        await self._add_block(session, "discord", str(discord_user_id))
                    if person.startswith("handle:") and person != "handle:anonymous":
                        await self._add_block(session, "address", person)
        log.info(
            "suggestion %d %s by %s",
            suggestion_id,
            decision,
            moderator,
            extra={"suggestion_id": suggestion_id},
        )

    async def _record(
        self, session: AsyncSession, suggestion_id: int, decision: str, moderator: str, now: Any
    ) -> None:
        updated = await session.execute(
            update(SuggestionModeration)
            .where(SuggestionModeration.suggestion_id == suggestion_id)
            .values(decision=decision, decided_by=moderator[:200], decided_at=now)
            .execution_options(synchronize_session=False)
        )
        if updated.rowcount == 0:
            session.add(
                SuggestionModeration(
                    suggestion_id=suggestion_id,
                    reason="",
                    score=0.0,
                    signals={"signals": []},
                    decision=decision,
                    decided_by=moderator[:200],
                    decided_at=now,
                    created_at=now,
                )
            )

    async def _add_block(self, session: AsyncSession, kind: str, value: str) -> bool:
        # A savepoint: a value another moderator blocked meanwhile is no failure.
        try:
            async with session.begin_nested():
                session.add(
                    ModerationBlock(kind=kind, value=value[:400], created_at=self._deps.clock())
                )
                await session.flush()
        except IntegrityError:
            return False
        return True

    async def block(self, kind: str, value: str) -> bool:
        """Add a sender to the block list; False when already there."""
        async with self._deps.sessions() as session, session.begin():
            added = await self._add_block(
                session, kind, blocked_value(self._deps.signer, kind, value)
            )
        log.info("moderation block %s (%s)", "added" if added else "kept", kind)
        return added

    async def unblock(self, kind: str, value: str) -> bool:
        """Take a sender off the block list; False when not there."""
        async with self._deps.sessions() as session, session.begin():
            removed = await session.execute(
                delete(ModerationBlock).where(
                    ModerationBlock.kind == kind,
                    ModerationBlock.value == blocked_value(self._deps.signer, kind, value),
                )
            )
        log.info("moderation block %s (%s)", "removed" if removed.rowcount else "absent", kind)
        return bool(removed.rowcount)

    async def blocks(self) -> list[ModerationBlock]:
        """Return the block list, oldest first."""
        async with self._deps.sessions() as session:
            return list(
                (await session.scalars(select(ModerationBlock).order_by(ModerationBlock.id))).all()
            )


@dataclass(frozen=True)
class ScreeningLookup:
    """Columns for the intake's lookup statement, and the values they bind."""

    columns: tuple[Any, ...]
    params: dict[str, Any]


@functools.cache
def screening_columns(block_kinds: tuple[str, ...], counting: bool) -> tuple[Any, ...]:
    """Return whether a sender is blocked (by the kinds it has a value for) and, when
    `counting`, its suggestions of the last minutes and the lessons its text went to: three
    labelled columns, built once per shape, their values bound at execution."""
    blocks = ModerationBlock.__table__
    blocked: Any = literal(False)
    if block_kinds:
        blocked = exists().where(
            or_(
                *(
                    and_(blocks.c.kind == kind, blocks.c.value == bindparam(f"block_{kind}"))
                    for kind in block_kinds
                )
            )
        )
    if not counting:
        return (
            blocked.label("blocked"),
            literal(0).label("recent_count"),
            literal(0).label("same_text_count"),
        )
    credits, suggestions = SuggestionCredit.__table__, Suggestion.__table__
    recent = (
        select(func.count())
        .select_from(credits)
        .where(
            credits.c.person == bindparam("person"),
            credits.c.created_at > bindparam("burst_since"),
        )
        .scalar_subquery()
    )
    same_text = (
        select(func.count(func.distinct(suggestions.c.lesson_id)))
        .where(
            suggestions.c.text_hash == bindparam("text_hash"),
            suggestions.c.created_at > bindparam("same_since"),
            suggestions.c.lesson_id != bindparam("lesson_id"),
        )
        .scalar_subquery()
    )
    return (
        blocked.label("blocked"),
        recent.label("recent_count"),
        same_text.label("same_text_count"),
    )
