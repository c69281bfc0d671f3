"""Suggested edits: from any door (Discord, web, API, CLI) to a reviewed pull request.

`submit` checks an edit against the lesson as it is now and stores it with the job that
opens its pull request, in one transaction; the job worker opens the PR through the write
path; webhooks move the suggestion through review, and every person who sent it is told
at each step (a job per person and step, so nobody is told twice or never).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from babel.lists import format_list
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from bot.config import Settings
from bot.domain import edits, review_flow
from bot.domain.catalogue import Catalogue, Problem
from bot.domain.lookup import LessonLookup, lookup_lesson
from bot.domain.markers import marker
from bot.domain.neutral import (
    discord_fenced,
    discord_name,
    fenced,
    markdown_name,
    neutralize_plain,
    one_line_name,
    strip_overrides,
)
from bot.i18n import normalize_locale, t
from bot.services.linking import lesson_page_url, post_url
from bot.services.outbox import Claim, JobFailure, JobWait, Outbox, error_line
from bot.services.ports import (
    ChatButton,
    ChatForbiddenError,
    ChatMessage,
    ChatNotFoundError,
    ChatPort,
    GitHubPort,
    MailPort,
    OutgoingMail,
    ProposedChange,
    StaleContentError,
    suggestion_button_id,
)
from bot.services.signing import Signer
from bot.store.models import (
    PENDING_SUGGESTION_STATUSES,
    Lesson,
    LessonLink,
    ProgramForum,
    Suggestion,
    SuggestionCredit,
    SuggestionEvent,
    SuggestionSource,
    SuggestionStatus,
    utcnow,
)
from bot.store.upsert import lesson_id as ensure_lesson

log = logging.getLogger(__name__)

BRANCH_PREFIX = "lessonbot/suggest/"
TOKEN_PURPOSE = "suggestion"  # noqa: S105 - a purpose label, not a secret
LABEL = "suggested-edit"
# GitHub refuses titles over 256 characters.
TITLE_LIMIT = 256
_EMAIL = re.compile(r"[^@\s<>,;\"]{1,64}@[^@\s<>,;\"]{1,190}\.[^@\s<>,;\".]{2,63}")
# What no text column (SQLite, PostgreSQL) can hold: NUL, and the lone surrogates that a JSON
# escape like "\ud800" or undecodable bytes leave in a string.
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")
# Statuses a suggester may still revise or withdraw.
REVISABLE = (
    SuggestionStatus.QUEUED,
    SuggestionStatus.OPEN,
    SuggestionStatus.CHANGES_REQUESTED,
    SuggestionStatus.ANSWERED,
    SuggestionStatus.APPROVED,
    SuggestionStatus.CONFLICT,
)
# A suggestion with what its views show: lesson, credits and events.
_IN_FULL = (
    selectinload(Suggestion.lesson),
    selectinload(Suggestion.credits),
    selectinload(Suggestion.events),
)
# Events every suggester hears about (the others only show on the status page).
TOLD = frozenset(
    {
        "pr_opened",
        "changes_requested",
        "approved",
        "merged",
        "closed",
        "conflict",
        "failed",
        "revised",
        "withdrawn",
        "accept_refused",
    }
)
# The events of a review; its proposals (```suggestion blocks) arrive as events of their own.
REVIEW_KINDS = ("changes_requested", "approved", "reviewed")
# Review verdicts whose notice carries the proposals that came before it.
VERDICTS = ("changes_requested", "approved")
# A notice is one Discord message (so its buttons and the mention it starts with stay
# together): the reviewer's words and proposed texts are cut shorter until it fits.
NOTICE_LIMIT = 1900
_NOTICE_CUTS = ((1500, 500, 3), (700, 300, 3), (300, 150, 2), (120, 80, 1))


class SuggestionError(Exception):
    """A suggestion that cannot be taken as sent: a code, the field, an HTTP status."""

    def __init__(
        self, code: str, *, field: str | None = None, status: int = 422, **params: Any
    ) -> None:
        super().__init__(f"{code}{f' ({field})' if field else ''}")
        self.code = code
        self.field = field
        self.status = status
        self.params = params

    def message(self, locale: str, field_label: str | None = None) -> str:
        """Return what to tell the person, in their language (the field as they saw it)."""
        params = {
            key: value
            for key, value in self.params.items()
            if value is not None and key not in ("found", "did_you_mean")
        }
        params["field"] = field_label or self.field or ""
        found = self.params.get("found")
        if found:
            params["problems"] = worded_problems(found, locale)
        closest = self.params.get("did_you_mean")
        if closest:
            # Its own sentence: where "did you mean" goes differs from language to language.
            params["lessons"] = format_list(list(closest), "or", normalize_locale(locale))
            return t(locale, f"suggest.error.{self.code}_closest", **params)
        return t(locale, f"suggest.error.{self.code}", **params)


def unknown_lesson(typed: str, found: LessonLookup) -> SuggestionError:
    """Return the refusal of a lesson there is not: the form to use and the closest ones."""
    example = found.closest[0] if found.closest else found.example
    return SuggestionError(
        "lesson_unknown",
        field="lesson",
        lesson=typed.strip()[:100],
        example=example.identity if example else "program/slug",
        did_you_mean=tuple(lesson.identity for lesson in found.closest),
    )


@dataclass(frozen=True, slots=True)
class Author:
    """Who sent a suggestion: whatever we know of them, to credit and to tell."""

    name: str = ""
    email: str | None = None
    discord_user_id: int | None = None
    # Who this is when there is no Discord id or email: a hashed client address, a CLI user.
    handle: str = ""
    locale: str = "en"

    @property
    def person(self) -> str:
        """Return a stable key for "the same person sent it again"."""
        if self.discord_user_id is not None:
            return f"discord:{self.discord_user_id}"
        if self.email:
            return f"email:{self.email.strip().lower()}"
        return f"handle:{self.handle or 'anonymous'}"


@dataclass(frozen=True, slots=True)
class SuggestionInput:
    """One suggested edit as a door received it."""

    lesson: str  # program/slug
    locale: str
    find: str
    replace: str
    reason: str
    source: SuggestionSource
    author: Author = field(default_factory=Author)
    idempotency_key: str | None = None

    def request_hash(self) -> str:
        """Return a hash of what was asked, so a replayed Idempotency-Key must match it."""
        parts = (self.lesson, self.locale, self.find, self.replace, self.reason, self.author.person)
        return hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class Submitted:
    """What the door tells the person: the suggestion's id and their token."""

    id: int
    token: str
    status: str
    # True when an identical pending suggestion existed: this person is credited on it.
    joined: bool = False
    # True when this is a retry of a request already taken (same Idempotency-Key).
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class Preview:
    """An edit checked against the lesson as it is now, shown before sending."""

    lesson: str
    locale: str
    path: str
    lesson_title: str
    diff: str
    old_passage: str
    new_passage: str


@dataclass(frozen=True, slots=True)
class EventView:
    """Something that happened to a suggestion."""

    kind: str
    at: datetime
    detail: Mapping[str, Any]
    id: int = 0

    def as_json(self) -> dict[str, Any]:
        """Return the event as the API shows it."""
        return {
            "id": self.id,
            "kind": self.kind,
            "at": self.at.isoformat(),
            "detail": dict(self.detail),
        }


@dataclass(frozen=True, slots=True)
class SuggestionView:
    """A suggestion as its status page, the API and the CLI show it."""

    id: int
    lesson: str
    locale: str
    path: str | None
    status: str
    pr_number: int | None
    pr_url: str | None
    error: str | None
    find: str
    replace: str
    reason: str
    credited: tuple[str, ...]
    created_at: datetime
    events: tuple[EventView, ...]
    # The edited passage as the pull request's branch holds it now (the edit as sent, with
    # its revisions, before the branch exists), and the line it starts on when known.
    passage: str = ""
    passage_line: int | None = None

    @property
    def accepted_comments(self) -> frozenset[Any]:
        """Return the comment ids of the proposed texts a suggester chose."""
        return frozenset(
            event.detail.get("comment_id") for event in self.events if event.kind == "accepted"
        )

    @property
    def reviewer_suggestions(self) -> list[EventView]:
        """Return reviewers' proposed texts not yet accepted, newest first."""
        accepted = self.accepted_comments
        return [
            event
            for event in reversed(self.events)
            if event.kind == "reviewer_suggestion"
            and event.detail.get("comment_id") not in accepted
        ]

    def as_json(self) -> dict[str, Any]:
        """Return the record `GET /api/suggestions/{id}` answers."""
        return {
            "id": self.id,
            "lesson": self.lesson,
            "locale": self.locale,
            "status": self.status,
            "pr_number": self.pr_number,
            "pr_url": self.pr_url,
            "error": self.error,
            "passage": {"text": self.passage, "line": self.passage_line},
            "events": [event.as_json() for event in self.events],
        }


class SuggestionService:
    """Take suggested edits, open their pull requests and follow them through review."""

    JOB_KIND = "suggestion"
    NOTIFY_KIND = "suggestion_notify"

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        settings: Settings,
        *,
        catalogue: Callable[[], Catalogue],
        signer: Signer,
        github: GitHubPort | None = None,
        chat: ChatPort | None = None,
        mail: MailPort | None = None,
        wake: Callable[[], None] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._outbox = outbox
        self._settings = settings
        self._catalogue = catalogue
        self._signer = signer
        self._github = github
        # Set after construction when the chat client is built later (the bot needs us first).
        self.chat = chat
        self._mail = mail
        self._wake = wake or (lambda: None)
        self._clock = clock
        # Two identical suggestions at once in this process become one (PostgreSQL also
        # locks across processes, see _serialize).
        self._submit_lock = asyncio.Lock()
        # A review and its line comments arrive as webhooks handled at once: whether a
        # proposed text is told with its review or on its own is decided on what the other
        # recorded. PostgreSQL's row lock orders them across processes; SQLite reads before
        # it locks, so this process takes turns.
        self._review_lock = asyncio.Lock()
        self._texts: dict[tuple[str, int, int], tuple[str, str]] = {}
        self._fingerprint_locks: dict[str, asyncio.Lock] = {}
        self._lesson_ids: dict[tuple[str, str], int] = {}
        self.default_branch = "main"

    # --- taking a suggestion ---------------------------------------------------------------

    def _check_fields(self, request: SuggestionInput) -> None:
        """Refuse empty, oversize or malformed fields, naming the field."""
        limits = self._settings.suggestions
        for name, value, limit in (
            ("lesson", request.lesson, 300),
            ("locale", request.locale, 16),
            ("find", request.find, limits.max_find_chars),
            ("replace", request.replace, limits.max_replace_chars),
            ("reason", request.reason, limits.max_reason_chars),
        ):
            if name != "replace" and not value.strip():
                raise SuggestionError("field_empty", field=name)
            if len(value) > limit:
                raise SuggestionError("field_too_long", field=name, limit=limit)
            if _UNSTORABLE.search(value):
                raise SuggestionError("field_invalid", field=name)
        author = request.author
        if len(author.name) > limits.max_name_chars:
            raise SuggestionError("field_too_long", field="name", limit=limits.max_name_chars)
        for name, value in (("name", author.name), ("email", author.email or "")):
            if _UNSTORABLE.search(value):
                raise SuggestionError("field_invalid", field=name)
        if author.email is not None and (
            len(author.email) > 254 or not _EMAIL.fullmatch(author.email.strip())
        ):
            raise SuggestionError("email_invalid", field="email")

    def _lesson_file(self, identity: str, locale: str) -> tuple[Catalogue, Any]:
        catalogue = self._catalogue()
        # Also a unique slug or title, or the lesson's page address: what people paste.
        found = lookup_lesson(catalogue, identity)
        lesson = found.lesson
        if lesson is None:
            raise unknown_lesson(identity, found)
        if locale not in lesson.files:
            raise SuggestionError(
                "locale_unknown",
                field="locale",
                locale=locale[:16],
                locales=", ".join(lesson.locales),
            )
        return catalogue, lesson.files[locale]

    async def _read(self, catalogue: Catalogue, path: str) -> tuple[str, str]:
        """Return a lesson file's text and git blob sha, as the content copy has it."""
        file = Path(catalogue.root) / path
        # A stat is cheap; reading and hashing the file again for every suggestion is not.
        stat = file.stat()
        key = (str(file), stat.st_mtime_ns, stat.st_size)
        cached = self._texts.get(key)
        if cached is None:
            data = await asyncio.to_thread(file.read_bytes)
            cached = (data.decode("utf-8"), git_blob_sha(data))
            if len(self._texts) > 64:
                self._texts.clear()
            self._texts[key] = cached
        return cached

    def _apply(self, text_: str, request: SuggestionInput, path: str) -> edits.AppliedEdit:
        try:
            return edits.apply_edit(
                text_,
                request.find,
                request.replace,
                path=path,
                allow_front_matter=self._settings.suggestions.allow_front_matter,
            )
        except edits.EditError as error:
            raise edit_error(error) from error

    async def preview(self, request: SuggestionInput) -> Preview:
        """Check an edit against the lesson as it is now, storing nothing."""
        self._check_fields(request)
        catalogue, lesson_file = self._lesson_file(request.lesson, request.locale)
        current, _ = await self._read(catalogue, lesson_file.path)
        applied = self._apply(current, request, lesson_file.path)
        return Preview(
            lesson=lesson_file.identity,
            locale=request.locale,
            path=lesson_file.path,
            lesson_title=lesson_file.title,
            diff=edits.unified_diff(current, applied.text, lesson_file.path),
            old_passage=applied.old_passage,
            new_passage=applied.new_passage,
        )

    async def submit(self, request: SuggestionInput) -> Submitted:
        """Check an edit and store it with the job that opens its PR; answer at once.

        A retry with the same Idempotency-Key answers what the first answered; an
        identical pending suggestion gains this person as a co-suggester instead of a
        second PR.
        """
        if request.idempotency_key is not None:
            replayed = await self._replay(request)
            if replayed is not None:
                return replayed
        self._check_fields(request)
        catalogue, lesson_file = self._lesson_file(request.lesson, request.locale)
        current, blob_sha = await self._read(catalogue, lesson_file.path)
        self._apply(current, request, lesson_file.path)
        await self._check_rate(request.author.person)
        fingerprint = edits.fingerprint(
            lesson_file.identity, request.locale, request.find, request.replace
        )
        for attempt in range(3):
            try:
                async with self._lock_for(fingerprint):
                    submitted = await self._store(request, lesson_file, blob_sha, fingerprint)
                break
            except IntegrityError:
                # The same Idempotency-Key, or the same person, raced us: answer as a replay.
                if request.idempotency_key is not None:
                    replayed = await self._replay(request)
                    if replayed is not None:
                        return replayed
                if attempt == 2:
                    raise
            except OperationalError:
                # SQLite's writer lock was busy beyond its timeout: try again shortly.
                if attempt == 2:
                    raise
                await asyncio.sleep(0.05 * (attempt + 1))
        self._wake()
        return submitted

    def _lock_for(self, fingerprint: str) -> asyncio.Lock:
        """Return the lock identical suggestions take turns on in this process.

        SQLite has one writer at a time anyway, and a transaction that read before another
        wrote cannot write: there, every suggestion takes turns. PostgreSQL locks per
        fingerprint across processes (see _serialize), so only identical ones wait.
        """
        bind = self._sessions.kw.get("bind")
        if bind is None or bind.dialect.name == "sqlite":
            return self._submit_lock
        lock = self._fingerprint_locks.get(fingerprint)
        if lock is None:
            if len(self._fingerprint_locks) > 1024:
                self._fingerprint_locks = {
                    key: held for key, held in self._fingerprint_locks.items() if held.locked()
                }
            lock = self._fingerprint_locks[fingerprint] = asyncio.Lock()
        return lock

    async def _replay(self, request: SuggestionInput) -> Submitted | None:
        async with self._sessions() as session:
            credit = (
                await session.execute(
                    select(SuggestionCredit)
                    .options(selectinload(SuggestionCredit.suggestion))
                    .where(SuggestionCredit.idempotency_key == request.idempotency_key)
                )
            ).scalar_one_or_none()
            if credit is None:
                return None
            if credit.request_hash != request.request_hash():
                raise SuggestionError("idempotency_mismatch", field="Idempotency-Key", status=409)
            return Submitted(
                id=credit.suggestion_id,
                token=self.token(credit.suggestion_id, credit.id),
                status=str(credit.suggestion.status),
                replayed=True,
            )

    async def _check_rate(self, person: str) -> None:
        limit = self._settings.suggestions.per_person_per_hour
        if not limit or person == "handle:anonymous":
            return
        since = self._clock() - timedelta(hours=1)
        async with self._sessions() as session:
            sent = (
                await session.execute(
                    select(func.count(SuggestionCredit.id)).where(
                        SuggestionCredit.person == person, SuggestionCredit.created_at > since
                    )
                )
            ).scalar_one()
        if sent >= limit:
            raise SuggestionError("rate_limited", status=429, limit=limit)

    async def _store(
        self, request: SuggestionInput, lesson_file: Any, blob_sha: str, fingerprint: str
    ) -> Submitted:
        now = self._clock()
        author = request.author
        async with self._sessions() as session, session.begin():
            await _serialize(session, fingerprint)
            existing = (
                await session.execute(
                    select(Suggestion)
                    .where(
                        Suggestion.fingerprint == fingerprint,
                        Suggestion.status.in_(PENDING_SUGGESTION_STATUSES),
                    )
                    .order_by(Suggestion.id)
                    .limit(1)
                )
            ).scalar_one_or_none()
            if existing is not None:
                credit = (
                    await session.execute(
                        select(SuggestionCredit).where(
                            SuggestionCredit.suggestion_id == existing.id,
                            SuggestionCredit.person == author.person,
                        )
                    )
                ).scalar_one_or_none()
                if credit is None:
                    credit = self._credit(request, existing.id, now)
                    session.add(credit)
                    await session.flush()
                    session.add(
                        SuggestionEvent(
                            suggestion_id=existing.id,
                            kind="joined",
                            detail={"name": _shown_name(author, request.source)},
                            created_at=now,
                        )
                    )
                return Submitted(
                    id=existing.id,
                    token=self.token(existing.id, credit.id),
                    status=str(existing.status),
                    joined=True,
                )
            key = (lesson_file.program, lesson_file.slug)
            lesson_id = self._lesson_ids.get(key)
            if lesson_id is None:
                # Lesson rows are never deleted (a removed lesson is only marked), so an id
                # once known stays right.
                lesson_id = await ensure_lesson(session, *key)
                self._lesson_ids[key] = lesson_id
            suggestion = Suggestion(
                source=request.source,
                author_id=author.person[:200],
                author_name=_shown_name(author, request.source)[:200],
                author_locale=author.locale,
                lesson_id=lesson_id,
                locale=request.locale,
                edit={"find": request.find, "replace": request.replace, "revisions": []},
                reason=request.reason,
                status=SuggestionStatus.QUEUED,
                idempotency_key=request.idempotency_key or f"auto:{fingerprint}:{now.timestamp()}",
                path=lesson_file.path,
                base_sha=blob_sha,
                fingerprint=fingerprint,
                created_at=now,
                updated_at=now,
            )
            session.add(suggestion)
            await session.flush()
            credit = self._credit(request, suggestion.id, now)
            session.add(credit)
            session.add(
                SuggestionEvent(
                    suggestion_id=suggestion.id,
                    kind="submitted",
                    detail={"source": str(request.source)},
                    created_at=now,
                )
            )
            await session.flush()
            await self._outbox.enqueue_many(
                self.JOB_KIND, [(open_job_key(suggestion.id), {"op": "open"})], session
            )
            return Submitted(
                id=suggestion.id,
                token=self.token(suggestion.id, credit.id),
                status=str(SuggestionStatus.QUEUED),
            )

    def _credit(self, request: SuggestionInput, suggestion_id: int, now: datetime) -> Any:
        author = request.author
        return SuggestionCredit(
            suggestion_id=suggestion_id,
            source=request.source,
            person=author.person[:400],
            name=one_line_name(author.name),
            email=author.email.strip() if author.email else None,
            discord_user_id=author.discord_user_id,
            locale=author.locale,
            idempotency_key=request.idempotency_key,
            request_hash=request.request_hash(),
            withdrawn=False,
            created_at=now,
        )

    async def opening_wait(self, suggestion_id: int) -> JobWait | None:
        """Return the known wait (GitHub's rate limit) the job opening a suggestion's PR
        sits out, or None."""
        return await self._outbox.waiting(open_job_key(suggestion_id))

    def token(self, suggestion_id: int, credit_id: int) -> str:
        """Return the token that lets one suggester revise or withdraw a suggestion."""
        return self._signer.sign(TOKEN_PURPOSE, f"{suggestion_id}:{credit_id}")

    # --- reading ---------------------------------------------------------------------------

    async def view(self, suggestion_id: int) -> SuggestionView | None:
        """Return a suggestion with its events, or None."""
        async with self._sessions() as session:
            row = await self._load(session, suggestion_id)
            return None if row is None else _view(row)

    async def for_lesson(self, identity: str, *, pending_only: bool = True) -> list[SuggestionView]:
        """Return a lesson's suggestions (pending ones by default), newest first."""
        program, _, slug = identity.partition("/")
        statuses = PENDING_SUGGESTION_STATUSES if pending_only else tuple(SuggestionStatus)
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(Suggestion)
                    .join(Lesson, Lesson.id == Suggestion.lesson_id)
                    .options(*_IN_FULL)
                    .where(
                        Lesson.program == program,
                        Lesson.slug == slug,
                        Suggestion.status.in_(statuses),
                    )
                    .order_by(Suggestion.id.desc())
                )
            ).scalars()
            return [_view(row) for row in rows]

    async def list(
        self, statuses: Sequence[SuggestionStatus] | None = None
    ) -> list[SuggestionView]:
        """Return suggestions (of these statuses), newest first."""
        async with self._sessions() as session:
            query = select(Suggestion).options(*_IN_FULL).order_by(Suggestion.id.desc())
            if statuses:
                query = query.where(Suggestion.status.in_(statuses))
            return [_view(row) for row in (await session.execute(query)).scalars()]

    @staticmethod
    async def _load(session: AsyncSession, suggestion_id: int) -> Suggestion | None:
        return (
            await session.execute(
                select(Suggestion).options(*_IN_FULL).where(Suggestion.id == suggestion_id)
            )
        ).scalar_one_or_none()

    # --- the suggester changes their mind ----------------------------------------------------

    async def authorize(
        self,
        suggestion_id: int,
        *,
        token: str | None = None,
        discord_user_id: int | None = None,
    ) -> int:
        """Return the credit id of the suggester this token or Discord user is.

        No suggestion: 404; no credential: 401; a wrong one: 403.
        """
        async with self._sessions() as session:
            row = await self._load(session, suggestion_id)
            if row is None:
                raise SuggestionError("not_found", status=404, id=suggestion_id)
            if token is None and discord_user_id is None:
                raise SuggestionError("token_missing", field="token", status=401)
            for credit in row.credits:
                if credit.withdrawn:
                    continue
                if token is not None and self._signer.verify(
                    TOKEN_PURPOSE, f"{row.id}:{credit.id}", token
                ):
                    return credit.id
                if discord_user_id is not None and credit.discord_user_id == discord_user_id:
                    return credit.id
        raise SuggestionError("token_invalid", field="token", status=403)

    async def revise(
        self,
        suggestion_id: int,
        find: str,
        replace_with: str,
        reason: str,
        *,
        token: str | None = None,
        discord_user_id: int | None = None,
    ) -> SuggestionView:
        """Apply a further edit: to the stored edit before the PR opens, else to its branch."""
        credit_id = await self.authorize(
            suggestion_id, token=token, discord_user_id=discord_user_id
        )
        async with self._sessions() as session:
            row = await self._load(session, suggestion_id)
            assert row is not None
            identity, locale, status = row.lesson.identity, row.locale, row.status
            credit = next(credit for credit in row.credits if credit.id == credit_id)
            source = credit.source
            snapshot = _Snapshot.of(row)
        if status not in REVISABLE:
            raise SuggestionError("not_revisable", status=409, state=str(status))
        request = SuggestionInput(
            identity, locale, find, replace_with, reason or "-", SuggestionSource(source)
        )
        self._check_fields(request)
        catalogue, lesson_file = self._lesson_file(identity, locale)
        if status == SuggestionStatus.QUEUED:
            # Not on GitHub yet: the revision must apply on the lesson with the edit so far.
            current, _ = await self._read(catalogue, lesson_file.path)
            try:
                edited = snapshot.edited(current, self._settings.suggestions.allow_front_matter)
            except edits.EditError as error:
                raise edit_error(error) from error
            self._apply(edited, request, lesson_file.path)
        now = self._clock()
        async with self._sessions() as session, session.begin():
            row = await self._load(session, suggestion_id)
            assert row is not None
            revisions = list(row.edit.get("revisions", []))
            revisions.append({"find": find, "replace": replace_with, "reason": reason})
            row.edit = {**row.edit, "revisions": revisions}
            session.add(
                SuggestionEvent(
                    suggestion_id=row.id,
                    kind="revised",
                    detail={"find": find, "replace": replace_with, "reason": reason},
                    created_at=now,
                )
            )
            if row.status != SuggestionStatus.QUEUED:
                await self._outbox.enqueue_many(
                    self.JOB_KIND,
                    [(f"suggestion:{row.id}:revise:{len(revisions)}", {"op": "revise"})],
                    session,
                )
        self._wake()
        view = await self.view(suggestion_id)
        assert view is not None
        return view

    async def accept(
        self,
        suggestion_id: int,
        comment_id: int | None = None,
        *,
        token: str | None = None,
        discord_user_id: int | None = None,
    ) -> SuggestionView:
        """Commit a reviewer's proposed text (the newest, or the one of `comment_id`)."""
        await self.authorize(suggestion_id, token=token, discord_user_id=discord_user_id)
        view = await self.view(suggestion_id)
        assert view is not None
        if view.status not in REVISABLE or view.pr_number is None:
            raise SuggestionError("not_revisable", status=409, state=view.status)
        if comment_id is not None and comment_id in view.accepted_comments:
            # Chosen before (a second click): its commit is on the way, nothing to do twice.
            raise SuggestionError("proposal_accepted", status=409)
        proposals = view.reviewer_suggestions
        chosen = next(
            (
                event
                for event in proposals
                if comment_id is None or event.detail.get("comment_id") == comment_id
            ),
            None,
        )
        if chosen is None:
            raise SuggestionError("no_reviewer_suggestion", status=409)
        now = self._clock()
        key = f"suggestion:{suggestion_id}:accept:{chosen.detail['comment_id']}"
        async with self._sessions() as session, session.begin():
            session.add(
                SuggestionEvent(
                    suggestion_id=suggestion_id,
                    kind="accepted",
                    detail={"comment_id": chosen.detail["comment_id"]},
                    created_at=now,
                )
            )
            await self._outbox.enqueue_many(
                self.JOB_KIND, [(key, {"op": "accept", **dict(chosen.detail)})], session
            )
        self._wake()
        view = await self.view(suggestion_id)
        assert view is not None
        return view

    async def withdraw(
        self,
        suggestion_id: int,
        *,
        token: str | None = None,
        discord_user_id: int | None = None,
    ) -> SuggestionView:
        """Take one suggester's name off; when nobody is left, close the PR with a note."""
        credit_id = await self.authorize(
            suggestion_id, token=token, discord_user_id=discord_user_id
        )
        async with self._sessions() as session, session.begin():
            row = await self._load(session, suggestion_id)
            assert row is not None
            if row.status not in REVISABLE:
                raise SuggestionError("not_revisable", status=409, state=str(row.status))
            for credit in row.credits:
                if credit.id == credit_id:
                    credit.withdrawn = True
            if all(credit.withdrawn for credit in row.credits):
                had_pr = row.pr_number is not None
                if not await self._move_to(session, row, SuggestionStatus.WITHDRAWN):
                    raise SuggestionError("not_revisable", status=409, state=str(row.status))
                await self._event(session, row, "withdrawn", {})
                if had_pr:
                    await self._outbox.enqueue_many(
                        self.JOB_KIND, [(f"suggestion:{row.id}:close", {"op": "close"})], session
                    )
        self._wake()
        view = await self.view(suggestion_id)
        assert view is not None
        return view

    # --- the write path --------------------------------------------------------------------

    async def run_job(self, claim: Claim) -> str:
        """Perform one claimed suggestion job and confirm it, or give it back with its error."""
        if claim.kind == self.NOTIFY_KIND:
            handler = self._notify
        else:
            op = claim.payload.get("op")
            found = {
                "open": self._open,
                "revise": self._revise_branch,
                "accept": self._accept_on_branch,
                "close": self._close,
                "translations": self._note_translations,
                "update_branch": self._update_branch,
                "post": self._post_in_lesson,
            }.get(str(op))
            if found is None:
                await self._outbox.fail(claim, f"unknown operation {op!r}", retry=False)
                return "failed: unknown operation"
            handler = found
        done = await self._outbox.attempt(claim, lambda: handler(claim))
        if not isinstance(done, JobFailure):
            return done
        if done.counts_as_attempt and not done.retried:
            await self._mark_failed(claim, done.message)
        return done.summary

    def _github_or_fail(self) -> GitHubPort:
        if self._github is None:
            raise RuntimeError("GitHub is not configured: suggestions wait for it")
        return self._github

    async def _open(self, claim: Claim) -> str:
        """Open the suggestion's PR (one commit on its own branch), or say why not."""
        github = self._github_or_fail()
        suggestion_id = _suggestion_id(claim.key)
        async with self._sessions() as session:
            row = await self._load(session, suggestion_id)
            # A failed opening that someone retried (`lessonbot jobs retry`) opens after all.
            if row is None or row.status not in (SuggestionStatus.QUEUED, SuggestionStatus.FAILED):
                await self._outbox.complete(claim, session)
                await session.commit()
                return "nothing to open"
            snapshot = _Snapshot.of(row)
        links = await self._links(snapshot.lesson_id)
        catalogue = self._catalogue()
        lesson = catalogue.get(snapshot.identity)
        title = (
            lesson.title(snapshot.locale, catalogue.default_locale) if lesson else snapshot.identity
        )
        # The content copy is the default branch as last fetched: usually the base itself,
        # so the PR costs no read of its own; when it moved on, re-read and re-apply.
        base_text, base_sha = await self._base_text(catalogue, snapshot)
        for attempt in range(2):
            try:
                new_text = snapshot.edited(base_text, self._settings.suggestions.allow_front_matter)
            except edits.EditError as error:
                return await self._conflict(claim, snapshot, error)
            change = ProposedChange(
                branch=f"{BRANCH_PREFIX}{snapshot.id}",
                path=snapshot.path,
                content=new_text,
                commit_message=self._commit_message(snapshot, title),
                title=_cut(
                    neutralize_plain(f"Suggest edit: {one_line_name(title, TITLE_LIMIT)}")
                    + f" ({snapshot.locale})",
                    TITLE_LIMIT,
                ),
                body=self._pr_body(snapshot, base_text, new_text, links),
                base=self.default_branch,
                labels=(LABEL, f"program:{snapshot.program}", f"locale:{snapshot.locale}"),
                expected_sha=base_sha,
            )
            try:
                pull = await github.open_pull_request(change)
                break
            except StaleContentError:
                # The default branch moved on since the content copy was fetched.
                if attempt:
                    raise
                current = await github.get_file(snapshot.path, self.default_branch)
                base_text, base_sha = current.text, current.sha
        reviewers = self._reviewers(snapshot.program)
        if reviewers:
            await github.request_reviewers(pull.number, reviewers)  # type: ignore[attr-defined]
        now = self._clock()
        async with self._sessions() as session, session.begin():
            row = await self._load(session, suggestion_id)
            assert row is not None
            row.pr_number, row.pr_url, row.branch = pull.number, pull.html_url, pull.head
            row.head_sha = pull.head_sha or None
            row.base_sha = base_sha
            if row.status in (SuggestionStatus.QUEUED, SuggestionStatus.FAILED):
                await self._move_to(session, row, SuggestionStatus.OPEN)
            row.last_error = None
            row.updated_at = now
            detail: dict[str, Any] = {"pr_number": pull.number, "pr_url": pull.html_url}
            # The passage as the branch holds it: what the status page shows and a revision
            # starts from.
            detail.update(_passage_detail(edits.changed_passage(base_text, new_text)))
            event = await self._event(session, row, "pr_opened", detail)
            await self._outbox.complete(claim, session)
            if row.status == SuggestionStatus.WITHDRAWN:
                # Withdrawn while the PR was opening: close it now.
                await self._outbox.enqueue_many(
                    self.JOB_KIND, [(f"suggestion:{row.id}:close", {"op": "close"})], session
                )
            del event
        self._wake()
        return f"opened #{pull.number}"

    async def _base_text(self, catalogue: Catalogue, snapshot: _Snapshot) -> tuple[str, str]:
        try:
            return await self._read(catalogue, snapshot.path)
        except (OSError, UnicodeDecodeError):
            current = await self._github_or_fail().get_file(snapshot.path, self.default_branch)
            return current.text, current.sha

    def _reviewers(self, program: str) -> list[str]:
        chosen: list[str] = []
        for entry in self._settings.suggestions.reviewers:
            wanted, _, login = entry.partition(":")
            if wanted.strip() in ("*", program) and login.strip() not in chosen:
                chosen.append(login.strip())
        return chosen

    def _commit_message(self, snapshot: _Snapshot, title: str) -> str:
        subject = neutralize_plain(f"Suggest edit: {one_line_name(title)} ({snapshot.locale})")
        lines = [_cut(subject, 72), ""]
        # GitHub acts on mentions and closing keywords in commits that reach the default
        # branch (a squash merge copies this message there): none may come from the reason.
        reason = neutralize_plain(" ".join(snapshot.reason.split()))
        if reason:
            lines += [_cut(reason, 500), ""]
        lines.append(f"Suggested with lessonbot (suggestion {snapshot.id}).")
        trailers = [
            f"Co-authored-by: {_trailer_name(name)} <{email}>" for name, email in snapshot.emails
        ]
        if trailers:
            lines += ["", *trailers]
        return "\n".join(lines)

    def _pr_body(self, snapshot: _Snapshot, old: str, new: str, links: _Links) -> str:
        diff = edits.unified_diff(old, new, snapshot.path)
        names = ", ".join(markdown_name(name) for name in snapshot.names) or "a learner"
        source = {"discord": "Discord", "web": "the website", "api": "the API", "cli": "the CLI"}
        reason = snapshot.reason.strip()
        # Every person-typed block is fenced: nothing in it can close the fence, so nothing
        # can start structure that swallows the diff, the credit or the marker below.
        lines = [
            "### Why",
            "",
            fenced(reason, "text") if reason else "_(no reason given)_",
            "",
            "### The change",
            "",
            fenced(diff, "diff", reveal=True),
            "",
            f"Suggested by {names} from {source.get(snapshot.source, snapshot.source)}.",
        ]
        places = []
        url = self._lesson_url(snapshot)
        if url:
            places.append(f"[lesson page]({url})")
        if links.post_url:
            places.append(f"[Discord post]({links.post_url})")
        if places:
            lines.append("Links: " + " · ".join(places))
        if links.issue_number:
            # Refs, never a closing keyword: merging an edit must not close the lesson issue.
            lines.append(f"Refs #{links.issue_number}")
        lines += ["", marker("suggestion", str(snapshot.id))]
        return "\n".join(lines)

    def _lesson_url(self, snapshot: _Snapshot) -> str:
        return lesson_page_url(
            self._settings.site.lesson_url_template,
            snapshot.program,
            snapshot.slug,
            snapshot.locale,
        )

    async def _links(self, lesson_id: int, within: AsyncSession | None = None) -> _Links:
        """Return a lesson's issue and post, read in `within` when a transaction holds one."""
        async with contextlib.AsyncExitStack() as stack:
            session = within or await stack.enter_async_context(self._sessions())
            found = (
                await session.execute(
                    select(LessonLink, ProgramForum.discord_guild_id)
                    .outerjoin(
                        ProgramForum, ProgramForum.discord_forum_id == LessonLink.discord_forum_id
                    )
                    .where(LessonLink.lesson_id == lesson_id)
                )
            ).first()
        if found is None:
            return _Links()
        link, guild_id = found
        post = None
        if guild_id and link.discord_thread_id and link.discord_starter_message_id:
            post = post_url(
                guild_id,
                link.discord_thread_id,
                link.discord_starter_message_id,
                self._settings.discord.web_url,
            )
        return _Links(
            issue_number=link.github_issue_number,
            post_url=post,
            thread_id=link.discord_thread_id,
        )

    async def _conflict(self, claim: Claim, snapshot: _Snapshot, error: edits.EditError) -> str:
        now = self._clock()
        async with self._sessions() as session, session.begin():
            row = await self._load(session, snapshot.id)
            assert row is not None
            await self._move_to(session, row, SuggestionStatus.CONFLICT)
            row.last_error = edit_error(error).message("en")
            row.updated_at = now
            await self._event(session, row, "conflict", {"code": error.code})
            await self._outbox.complete(claim, session)
        return f"conflict: {error.code}"

    async def _mark_failed(self, claim: Claim, message: str) -> None:
        if claim.payload.get("op") != "open":
            return
        async with self._sessions() as session, session.begin():
            row = await self._load(session, _suggestion_id(claim.key))
            if row is None or not await self._move_to(session, row, SuggestionStatus.FAILED):
                return
            row.last_error = message
            await self._event(session, row, "failed", {"error": message[:500]})

    async def _revise_branch(self, claim: Claim) -> str:
        """Apply the newest revision to the PR branch's current text: one more commit."""
        github = self._github_or_fail()
        suggestion_id = _suggestion_id(claim.key)
        async with self._sessions() as session:
            row = await self._load(session, suggestion_id)
            assert row is not None
            number = int(claim.key.rsplit(":", 1)[1])
            revision = row.edit["revisions"][number - 1]
            branch, path = row.branch or f"{BRANCH_PREFIX}{row.id}", row.path or ""
            snapshot = _Snapshot.of(row)
            status = row.status
        if status not in REVISABLE:
            # Merged or closed while the revision waited: the branch is history now.
            await self._outbox.complete(claim)
            return f"not revised: {status}"
        on_branch = await github.get_file(path, branch)
        try:
            applied = edits.apply_edit(
                on_branch.text,
                revision["find"],
                revision["replace"],
                path=path,
                allow_front_matter=self._settings.suggestions.allow_front_matter,
            )
        except edits.EditError as error:
            if error.code == "no_change" or (
                claim.uncertain
                and revision["replace"].strip()
                and revision["replace"] in on_branch.text
            ):
                # An earlier attempt committed it before it could confirm.
                await self._answered(
                    claim, suggestion_id, _passage_of(on_branch.text, revision["replace"])
                )
                return "already revised"
            await self._complete_with(
                claim, suggestion_id, ("revision_failed", {"code": error.code, "revision": number})
            )
            return f"revision refused: {error.code}"
        reason = _cut(neutralize_plain(" ".join(revision["reason"].split())), 500)
        message = f"Revise suggested edit ({snapshot.locale})\n\n{reason}"
        sha = await github.commit_file(  # type: ignore[attr-defined]
            branch, path, applied.text, message.strip(), expected_sha=on_branch.sha
        )
        passage = edits.changed_passage(on_branch.text, applied.text)
        await self._answered(claim, suggestion_id, passage, head_sha=sha)
        return "revised"

    async def _accept_on_branch(self, claim: Claim) -> str:
        """Commit a reviewer's ```suggestion block to the PR, as GitHub's button does."""
        github = self._github_or_fail()
        suggestion_id = _suggestion_id(claim.key)
        detail = claim.payload
        async with self._sessions() as session:
            row = await self._load(session, suggestion_id)
            assert row is not None
            branch, path = row.branch or f"{BRANCH_PREFIX}{row.id}", row.path or ""
            program, status = row.lesson.program, row.status
        if status not in REVISABLE:
            await self._outbox.complete(claim)
            return f"not accepted: {status}"
        reviewer = str(detail.get("reviewer") or "")
        # Asked again now: access may have changed, or GitHub did not say when it was kept.
        allowed = await self.may_propose(reviewer, program)
        if allowed is None:
            raise RuntimeError(f"cannot tell whether {reviewer} may write to the repository")
        if not allowed:
            await self._complete_with(
                claim,
                suggestion_id,
                ("accept_refused", {"reviewer": reviewer, "comment_id": detail.get("comment_id")}),
            )
            return f"refused: {reviewer} cannot write to the repository"
        on_branch = await github.get_file(path, branch)
        end = int(detail["line"])
        start = int(detail.get("start_line") or end)
        suggested = str(detail["suggestion"])
        new_text = edits.apply_line_suggestion(on_branch.text, start, end, suggested)
        if new_text == on_branch.text:
            lines = len(suggested.rstrip("\r\n").splitlines()) if suggested else 0
            await self._answered(
                claim, suggestion_id, edits.lines_passage(on_branch.text, start, lines)
            )
            return "already applied"
        sha = await github.commit_file(  # type: ignore[attr-defined]
            branch,
            path,
            new_text,
            neutralize_plain(f"Apply suggestion from @{reviewer}"),
            expected_sha=on_branch.sha,
        )
        passage = edits.changed_passage(on_branch.text, new_text)
        await self._answered(claim, suggestion_id, passage, head_sha=sha)
        return "accepted"

    async def _close(self, claim: Claim) -> str:
        """Close a withdrawn suggestion's PR with a note saying why."""
        github = self._github_or_fail()
        suggestion_id = _suggestion_id(claim.key)
        async with self._sessions() as session:
            row = await self._load(session, suggestion_id)
            number = row.pr_number if row is not None else None
        if number is None:
            await self._outbox.complete(claim)
            return "no PR to close"
        note = marker("withdrawn", str(suggestion_id))
        await github.create_comment(
            number,
            "The person who suggested this edit withdrew it, so lessonbot closes this pull "
            f"request.\n\n{note}",
            marker=note,
        )
        await github.close_pull_request(number)  # type: ignore[attr-defined]
        await self._outbox.complete(claim)
        return "closed"

    async def _update_branch(self, claim: Claim) -> str:
        """Bring a PR up to date with the default branch; a conflict is told, not forced."""
        github = self._github_or_fail()
        suggestion_id = _suggestion_id(claim.key)
        async with self._sessions() as session:
            row = await self._load(session, suggestion_id)
            if row is None or row.pr_number is None or row.status not in REVISABLE:
                await self._outbox.complete(claim)
                return "nothing to update"
            number = row.pr_number
        updated = await github.update_pull_branch(number)  # type: ignore[attr-defined]
        if updated:
            await self._complete_with(claim, suggestion_id, ("rebased", {}))
            return "updated"
        async with self._sessions() as session, session.begin():
            row = await self._load(session, suggestion_id)
            assert row is not None
            if not await self._move_to(session, row, SuggestionStatus.CONFLICT):
                await self._outbox.complete(claim, session)
                return f"no conflict to record: {row.status}"
            row.last_error = "the lesson changed where the edit is"
            await self._event(session, row, "conflict", {"code": "merge_conflict"})
            await self._outbox.complete(claim, session)
        return "conflict"

    async def _note_translations(self, claim: Claim) -> str:
        """Comment once on the lesson's issue: which translations may need the same change."""
        github = self._github_or_fail()
        issue_number = claim.payload.get("issue_number")
        siblings = claim.payload.get("siblings") or []
        if not issue_number or not siblings:
            await self._outbox.complete(claim)
            return "no translations"
        lines = [
            f"The suggested edit in #{claim.payload['pr_number']} changed "
            f"`{claim.payload['path']}`. These translations may need the same change:",
            "",
            *(f"- [ ] `{path}`" for path in siblings),
        ]
        note = marker("translations", str(_suggestion_id(claim.key)))
        lines += ["", note]
        await github.create_comment(int(issue_number), "\n".join(lines), marker=note)
        await self._outbox.complete(claim)
        return "noted"

    async def _complete_with(
        self,
        claim: Claim,
        suggestion_id: int,
        event: tuple[str, dict[str, Any]] | None,
        *,
        head_sha: str | None = None,
    ) -> None:
        async with self._sessions() as session, session.begin():
            row = await self._load(session, suggestion_id)
            assert row is not None
            if head_sha:
                row.head_sha = head_sha
            if event is not None:
                await self._event(session, row, *event)
            await self._outbox.complete(claim, session)

    async def _answered(
        self,
        claim: Claim,
        suggestion_id: int,
        passage: edits.Passage | None,
        *,
        head_sha: str | None = None,
    ) -> None:
        """Record the passage a suggester's commit left on the branch, and that it answered
        a request for changes (the reviewer's turn again); confirm the job."""
        async with self._sessions() as session, session.begin():
            row = await self._load(session, suggestion_id)
            assert row is not None
            if head_sha:
                row.head_sha = head_sha
            if passage is not None:
                await self._event(session, row, "committed", _passage_detail(passage))
            if row.status == SuggestionStatus.CHANGES_REQUESTED:
                await self._move_to(session, row, SuggestionStatus.ANSWERED)
            await self._outbox.complete(claim, session)

    async def _event(
        self, session: AsyncSession, row: Suggestion, kind: str, detail: dict[str, Any]
    ) -> SuggestionEvent:
        """Record an event and, when people hear of it, one notification job per person."""
        event = SuggestionEvent(
            suggestion_id=row.id, kind=kind, detail=detail, created_at=self._clock()
        )
        session.add(event)
        await session.flush()
        if kind in TOLD:
            await self._tell(session, row, event)
        if kind in ("pr_opened", "merged"):
            # The lesson's post shows new suggestions and thanks people when one lands.
            await self._outbox.enqueue_many(
                self.JOB_KIND,
                [(f"suggestion:{row.id}:post:{event.id}", {"op": "post", "event_id": event.id})],
                session,
            )
        return event

    async def _tell(self, session: AsyncSession, row: Suggestion, event: SuggestionEvent) -> None:
        """Queue one notice of an event per suggester, and an email for those who gave one."""
        kind = event.kind
        intents = [
            (
                f"notify:{event.id}:{credit.id}",
                {"suggestion_id": row.id, "event_id": event.id, "credit_id": credit.id},
            )
            for credit in row.credits
            if not credit.withdrawn or kind == "withdrawn"
        ]
        if self._mail is not None and self._settings.suggestions.email_updates:
            # An email too, as its own job: a failed send never repeats a sent DM.
            intents += [
                (
                    f"notify:{event.id}:{credit.id}:mail",
                    {
                        "suggestion_id": row.id,
                        "event_id": event.id,
                        "credit_id": credit.id,
                        "channel": "mail",
                    },
                )
                for credit in row.credits
                if credit.email and (not credit.withdrawn or kind == "withdrawn")
            ]
        await self._outbox.enqueue_many(self.NOTIFY_KIND, intents, session)

    async def _post_in_lesson(self, claim: Claim) -> str:
        """Say in the lesson's post that an edit was suggested, or thank people for it."""
        suggestion_id = _suggestion_id(claim.key)
        async with self._sessions() as session:
            row = await self._load(session, suggestion_id)
            event = (
                next((e for e in row.events if e.id == claim.payload["event_id"]), None)
                if row is not None
                else None
            )
            if row is None or event is None or self.chat is None:
                await self._outbox.complete(claim, session)
                await session.commit()
                return "nothing to post"
            view = _view(row)
            lesson_id = row.lesson_id
        links = await self._links(lesson_id)
        if links.thread_id is None:
            await self._outbox.complete(claim)
            return "the lesson has no post"
        locale = self._settings.locale
        # Many people read a post, each in their language: its link names none (the page
        # takes the reader's), which also tells it apart from a suggester's notice.
        link = ChatButton(
            t(locale, "suggest.button.status"), url=self.step_url(suggestion_id, event.id)
        )
        if claim.uncertain:
            recent = await self.chat.recent_messages(links.thread_id, 50)
            if _told_in(recent, link.url):
                await self._outbox.complete(claim)
                return "posted (found after a crash)"
        names = ", ".join(discord_name(name) for name in view.credited) or t(
            locale, "suggest.post.someone"
        )
        key = "suggest.post.merged" if event.kind == "merged" else "suggest.post.opened"
        message = t(
            locale,
            key,
            id=view.id,
            names=names,
            pr_url=view.pr_url or "",
            status_url=self.status_url(view.id),
        )
        await self.chat.post_message(links.thread_id, message, buttons=[link])
        await self._outbox.complete(claim)
        return "posted"

    # --- telling people --------------------------------------------------------------------

    async def _notify(self, claim: Claim) -> str:
        """Tell one suggester about one event: a DM, else a reply in the lesson's post."""
        job = claim.payload
        async with self._sessions() as session:
            row = await self._load(session, int(job["suggestion_id"]))
            event = next((e for e in row.events if e.id == job["event_id"]), None) if row else None
            credit = (
                next((c for c in row.credits if c.id == job["credit_id"]), None) if row else None
            )
            if row is None or event is None or credit is None:
                await self._outbox.complete(claim, session)
                await session.commit()
                return "nothing to tell"
            view = _view(row)
            # A proposed text told on its own: it came after its review was told.
            kind = "proposal" if event.kind == "reviewer_suggestion" else event.kind
            if kind == "proposal" and not _still_open(view, event.detail):
                await self._outbox.complete(claim, session)
                await session.commit()
                return "the proposed text is no longer open"
            step = _Step(
                view=view,
                event_id=event.id,
                kind=kind,
                detail=dict(event.detail),
                locale=credit.locale,
                lesson=self._lesson_title(view),
                proposals=tuple(_proposals_told(row, event)),
            )
            user_id, lesson_id, email = credit.discord_user_id, row.lesson_id, credit.email
        if job.get("channel") == "mail":
            return await self._email(claim, email, step)
        if user_id is None or self.chat is None:
            # Web and API suggesters follow their status page (and email, when enabled).
            await self._outbox.complete(claim)
            return "shown on the status page"
        message = self._step_text(step)
        buttons = self.notice_buttons(step.view, step.event_id, step.locale, step.proposals)
        # The status link names this step and the person's language: an attempt after a
        # crash finds the message it may have sent by it, and nobody reads it as clutter.
        url = buttons[-1].url
        try:
            if claim.uncertain and await self._already_told(user_id, url):
                await self._outbox.complete(claim)
                return "sent a DM (found after a crash)"
            await self.chat.send_dm(user_id, message, buttons=buttons)
            how = "sent a DM"
        except ChatForbiddenError:
            links = await self._links(lesson_id)
            if links.thread_id is None:
                await self._outbox.complete(claim)
                return "DMs closed and no lesson post"
            mention = f"<@{user_id}>"
            if claim.uncertain:
                recent = await self.chat.recent_messages(links.thread_id, 50)
                if _told_in(recent, url, mention):
                    await self._outbox.complete(claim)
                    return "replied in the lesson's post (found after a crash)"
            await self.chat.post_message(links.thread_id, f"{mention} {message}", buttons=buttons)
            how = "replied in the lesson's post"
        except ChatNotFoundError:
            how = "no such user"
        await self._outbox.complete(claim)
        return how

    def _lesson_title(self, view: SuggestionView) -> str:
        """Return the lesson's title in the edited language (its program/slug if unknown)."""
        catalogue = self._catalogue()
        lesson = catalogue.get(view.lesson)
        return lesson.title(view.locale, catalogue.default_locale) if lesson else view.lesson

    def _step_text(self, step: _Step, *, plain: bool = False) -> str:
        return self.notice(
            step.view,
            step.kind,
            step.detail,
            step.locale,
            proposals=step.proposals,
            lesson_title=step.lesson,
            plain=plain,
        )

    async def _email(self, claim: Claim, address: str | None, step: _Step) -> str:
        """Email a suggester one step of their suggestion (the same Message-ID on retries)."""
        if self._mail is None or not address:
            await self._outbox.complete(claim)
            return "no email to send"
        job = claim.payload
        view, locale = step.view, step.locale
        if view.status not in REVISABLE:
            footer = "suggest.mail_page"
        elif any(_still_open(view, proposal) for proposal in step.proposals):
            footer = "suggest.mail_use"
        else:
            footer = "suggest.mail_revise"
        url = self.step_url(view.id, step.event_id, locale)
        text_ = f"{self._step_text(step, plain=True)}\n\n{t(locale, footer, status_url=url)}\n"
        domain = self._settings.mail.sender.rpartition("@")[2] or "lessonbot"
        await self._mail.send(
            OutgoingMail(
                to=(address,),
                subject=t(
                    locale, "suggest.mail_subject", id=view.id, lesson=one_line_name(step.lesson)
                ),
                text=text_,
                message_id=(
                    f"<suggestion-{view.id}-{job['event_id']}-{job['credit_id']}@{domain}>"
                ),
            )
        )
        await self._outbox.complete(claim)
        return "emailed"

    async def _already_told(self, user_id: int, url: str) -> bool:
        """Tell whether an earlier attempt sent this notice before it could confirm it."""
        assert self.chat is not None
        channel_id = await self.chat.dm_channel_id(user_id)
        recent = await self.chat.recent_messages(channel_id, 50)
        return _told_in(recent, url)

    def notice(
        self,
        view: SuggestionView,
        kind: str,
        detail: Mapping[str, Any],
        locale: str,
        *,
        proposals: Sequence[Mapping[str, Any]] = (),
        lesson_title: str | None = None,
        plain: bool = False,
    ) -> str:
        """Return what a suggester is told about an event, in their language, with the texts
        reviewers proposed: Discord markdown in one message, or `plain` text for an email."""
        name = one_line_name if plain else discord_name
        text_ = ""
        for summary_limit, proposal_limit, count in _NOTICE_CUTS:
            params: dict[str, Any] = {
                "id": view.id,
                "lesson": name(lesson_title or view.lesson),
                "pr_url": view.pr_url or "",
                "status_url": self.status_url(view.id),
                "reviewer": name(str(detail.get("reviewer") or "")),
                "summary": _summary(str(detail.get("body") or ""), summary_limit, plain),
            }
            text_ = t(locale, f"suggest.notice.{kind}", **params)
            for proposal in proposals[:count]:
                text_ += "\n" + t(
                    locale,
                    "suggest.notice.proposed_text",
                    reviewer=name(str(proposal.get("reviewer") or "?")),
                    line=proposal.get("line") or "?",
                    text=_block(str(proposal.get("suggestion") or ""), proposal_limit, plain),
                )
            # A block opens its own lines: no line ends in the space before it.
            text_ = "\n".join(line.rstrip() for line in text_.split("\n"))
            if plain or len(text_) <= NOTICE_LIMIT:
                break
        return text_

    def notice_buttons(
        self,
        view: SuggestionView,
        event_id: int,
        locale: str,
        proposals: Sequence[Mapping[str, Any]] = (),
    ) -> list[ChatButton]:
        """Return the buttons under a notice: use a proposed text, revise, withdraw (while
        the suggestion may change), and its status page, last."""
        buttons: list[ChatButton] = []
        for proposal in proposals[: _NOTICE_CUTS[0][2]]:
            comment_id = proposal.get("comment_id")
            if isinstance(comment_id, int) and _still_open(view, proposal):
                buttons.append(
                    ChatButton(
                        t(locale, "suggest.button.use", line=proposal.get("line") or "?"),
                        suggestion_button_id("use", view.id, comment_id),
                        style="primary",
                    )
                )
        if view.status in REVISABLE:
            buttons.append(
                ChatButton(
                    t(locale, "suggest.button.revise"), suggestion_button_id("revise", view.id)
                )
            )
            buttons.append(
                ChatButton(
                    t(locale, "suggest.button.withdraw"),
                    suggestion_button_id("withdraw", view.id),
                    style="danger",
                )
            )
        url = self.step_url(view.id, event_id, locale)
        buttons.append(ChatButton(t(locale, "suggest.button.status"), url=url))
        return buttons

    def step_url(self, suggestion_id: int, event_id: int, locale: str | None = None) -> str:
        """Return the status page at one event, in a language when given."""
        query = f"?{urlencode({'locale': locale})}" if locale else ""
        return f"{self.status_url(suggestion_id)}{query}#event-{event_id}"

    def status_url(self, suggestion_id: int) -> str:
        """Return the status page of a suggestion."""
        return f"{self._settings.web.public_url.rstrip('/')}/suggestions/{suggestion_id}"

    # --- following the review (GitHub webhooks) ------------------------------------------

    async def on_pull_request(self, payload: Mapping[str, Any]) -> str:
        """Move a suggestion when its PR closes, merges or reopens."""
        pull = payload.get("pull_request") or {}
        action = payload.get("action")
        if action not in ("closed", "reopened", "synchronize"):
            return "ignored"
        bot_login = await self._bot_login()
        async with self._sessions() as session, session.begin():
            row = await self._ours(session, payload, bot_login)
            if row is None:
                return "not a suggestion's pull request"
            if action == "closed" and pull.get("merged"):
                if not await self._advance(session, row, "merged"):
                    return f"already {row.status}"
                await self._event(
                    session,
                    row,
                    "merged",
                    {
                        "reviewer": _login(pull.get("merged_by")),
                        "sha": pull.get("merge_commit_sha"),
                    },
                )
                await self._after_merge(session, row)
                return "merged"
            if action == "closed":
                if not await self._advance(session, row, "closed"):
                    return f"already {row.status}"
                await self._event(
                    session, row, "closed", {"reviewer": _login(payload.get("sender"))}
                )
                return "closed"
            if action == "reopened":
                if not await self._advance(session, row, "reopened"):
                    return f"not reopened: {row.status}"
                await self._event(session, row, "reopened", {})
                return "reopened"
            head = (pull.get("head") or {}).get("sha")
            if head and head != row.head_sha:
                row.head_sha = head
                await self._event(session, row, "pushed", {"sha": head})
            return "synchronized"

    async def _bot_login(self) -> str:
        """Return the login the bot opens pull requests as ("" when unknown)."""
        # The port answers "" itself when GitHub will not say (and remembers the answer).
        return await self._github.login() if self._github is not None else ""

    async def _ours(
        self, session: AsyncSession, payload: Mapping[str, Any], bot_login: str
    ) -> Suggestion | None:
        """Return the suggestion whose pull request this event is about, locked for update.

        Only the repository the bot writes to and the PR number it recorded match: anyone
        can open a PR whose head is named `lessonbot/suggest/<id>`. Before the number is
        recorded (the PR opened, then the bot stopped), the branch matches only when the
        bot itself opened that PR from its own repository.
        """
        pull = payload.get("pull_request") or {}
        number = pull.get("number")
        head = pull.get("head") or {}
        repository = str((payload.get("repository") or {}).get("full_name") or "")
        configured = self._settings.github.repository
        if configured and repository.lower() != configured.lower():
            log.info("ignoring a pull request event from %s: not %s", repository[:200], configured)
            return None
        if not isinstance(number, int) or isinstance(number, bool):
            return None
        row = (
            await session.execute(
                select(Suggestion)
                .options(*_IN_FULL)
                .where(Suggestion.pr_number == number)
                .with_for_update(of=Suggestion)
            )
        ).scalar_one_or_none()
        if row is not None:
            return row
        suggestion_id = _from_branch(str(head.get("ref") or ""))
        if suggestion_id is None:
            return None
        head_repository = str((head.get("repo") or {}).get("full_name") or "")
        author = _login(pull.get("user"))
        if (
            not bot_login
            or author.lower() != bot_login.lower()
            or (head_repository.lower() != repository.lower())
        ):
            log.warning(
                "ignoring PR #%s with head %s by %s: not a pull request lessonbot opened",
                number,
                str(head.get("ref"))[:100],
                author[:100] or "someone",
            )
            return None
        row = (
            await session.execute(
                select(Suggestion)
                .options(*_IN_FULL)
                .where(Suggestion.id == suggestion_id, Suggestion.pr_number.is_(None))
                .with_for_update(of=Suggestion)
            )
        ).scalar_one_or_none()
        if row is not None:
            # Opened by the bot before it could record the number: record it now.
            row.pr_number, row.pr_url = number, pull.get("html_url")
        return row

    async def _advance(self, session: AsyncSession, row: Suggestion, event: str) -> bool:
        """Move the suggestion as `event` asks, if the review flow allows it from now."""
        return await self._move(session, row, lambda current: review_flow.target_of(event, current))

    async def _move_to(
        self, session: AsyncSession, row: Suggestion, target: SuggestionStatus
    ) -> bool:
        """Move the suggestion to `target` if the review flow allows it from now."""
        return await self._move(
            session,
            row,
            lambda current: target if review_flow.can_move(current, target) else None,
        )

    async def _move(
        self, session: AsyncSession, row: Suggestion, decide: Callable[[str], str | None]
    ) -> bool:
        """Set the status `decide` picks, as a compare-and-set on what the database holds.

        Two handlers reading the same status at once cannot both write theirs: the second
        update finds the status changed, reads it again and decides anew (a late approval
        then finds `merged` and leaves it).
        """
        for _ in range(len(SuggestionStatus)):
            current = str(row.status)
            target = decide(current)
            if target is None:
                return False
            if target == current:
                return True
            moved = await session.execute(
                update(Suggestion)
                .where(Suggestion.id == row.id, Suggestion.status == current)
                .values(status=SuggestionStatus(target), updated_at=self._clock())
                .execution_options(synchronize_session=False)
            )
            if moved.rowcount == 1:
                set_committed_value(row, "status", SuggestionStatus(target))
                return True
            await session.refresh(row, attribute_names=["status"])
        return False

    async def _after_merge(self, session: AsyncSession, row: Suggestion) -> None:
        """Thank people in the lesson's post and list translations that may lag behind."""
        catalogue = self._catalogue()
        lesson = catalogue.get(row.lesson.identity)
        if lesson is None or row.locale != catalogue.default_locale:
            return
        siblings = sorted(f.path for locale, f in lesson.files.items() if locale != row.locale)
        if not siblings:
            return
        # In this transaction: it holds the suggestion's row, so asking the pool for a
        # second connection could wait on handlers that wait on this row.
        links = await self._links(row.lesson_id, session)
        await self._event(session, row, "translations_behind", {"siblings": siblings})
        await self._outbox.enqueue_many(
            self.JOB_KIND,
            [
                (
                    f"suggestion:{row.id}:translations",
                    {
                        "op": "translations",
                        "issue_number": links.issue_number,
                        "siblings": siblings,
                        "path": row.path,
                        "pr_number": row.pr_number,
                    },
                )
            ],
            session,
        )

    async def on_review(self, payload: Mapping[str, Any]) -> str:
        """Follow a submitted or dismissed review of a suggestion's PR."""
        review = payload.get("review") or {}
        action = payload.get("action")
        if not review or action not in ("submitted", "dismissed"):
            return "ignored"
        state = str(review.get("state") or "").lower()
        detail = {
            "review_id": review.get("id"),
            "reviewer": _login(review.get("user")),
            "body": str(review.get("body") or "")[:4000],
        }
        bot_login = await self._bot_login()
        async with self._review_lock, self._sessions() as session, session.begin():
            row = await self._ours(session, payload, bot_login)
            if row is None:
                return "not a suggestion's pull request"
            if action == "dismissed":
                if not await self._advance(session, row, "review_dismissed"):
                    return f"not following: {row.status}"
                await self._event(session, row, "review_dismissed", detail)
                return "dismissed"
            if any(
                e.kind in REVIEW_KINDS and e.detail.get("review_id") == review.get("id")
                for e in row.events
            ):
                return "already seen"
            if state in ("changes_requested", "approved"):
                if not await self._advance(session, row, state):
                    # A review handled after the merge or close it preceded changes nothing.
                    log.info(
                        "suggestion %d: %s review after it was %s; status kept",
                        row.id,
                        state,
                        row.status,
                    )
                    return f"not following: {row.status}"
                # Its notice carries the review's proposed texts recorded so far.
                await self._event(session, row, state, detail)
                return state.replace("_", " ")
            if row.status in PENDING_SUGGESTION_STATUSES or row.status == SuggestionStatus.CONFLICT:
                await self._event(session, row, "reviewed", detail)
                # A review that only comments is not told: its proposed texts are, each.
                for waiting in row.events:
                    if waiting.kind == "reviewer_suggestion" and waiting.detail.get(
                        "review_id"
                    ) == review.get("id"):
                        await self._tell(session, row, waiting)
        return "commented"

    async def on_review_comment(self, payload: Mapping[str, Any]) -> str:
        """Keep a reviewer's line comment, and its ```suggestion block as a proposal.

        Only people who may write to the repository (or the configured reviewers) propose
        text the suggester can accept; anyone else's block is kept as a line comment.
        """
        comment = payload.get("comment") or {}
        if payload.get("action") != "created" or not comment:
            return "ignored"
        blocks = edits.suggestion_blocks(str(comment.get("body") or ""))
        reviewer = _login(comment.get("user"))
        detail = {
            "comment_id": comment.get("id"),
            "review_id": comment.get("pull_request_review_id"),
            "reviewer": reviewer,
            "path": comment.get("path"),
            "line": comment.get("line") or comment.get("original_line"),
            "start_line": comment.get("start_line"),
            "body": str(comment.get("body") or "")[:4000],
            "url": comment.get("html_url"),
        }
        bot_login = await self._bot_login()
        async with self._sessions() as session:
            row = await self._ours(session, payload, bot_login)
            program = row.lesson.program if row is not None else ""
        if row is None:
            return "not a suggestion's pull request"
        may_propose = (
            await self.may_propose(reviewer, program) if blocks and detail["line"] else False
        )
        async with self._review_lock, self._sessions() as session, session.begin():
            row = await self._ours(session, payload, bot_login)
            if row is None:
                return "not a suggestion's pull request"
            if any(
                e.detail.get("comment_id") == comment.get("id")
                for e in row.events
                if e.kind in ("line_comment", "reviewer_suggestion")
            ):
                return "already seen"
            if may_propose is not False:
                # Unknown (GitHub did not answer) is offered; the accept job asks again.
                event = await self._event(
                    session, row, "reviewer_suggestion", {**detail, "suggestion": blocks[0]}
                )
                review_id = detail["review_id"]
                if review_id is None or any(
                    e.kind in REVIEW_KINDS and e.detail.get("review_id") == review_id
                    for e in row.events
                ):
                    # Its review came first and was told (or there is none): it is told on
                    # its own. Otherwise the review, when it comes, tells it.
                    await self._tell(session, row, event)
                return "reviewer suggestion"
            if blocks:
                log.info(
                    "suggestion %d: a suggestion block by %s, who cannot write to the "
                    "repository, kept as a line comment",
                    row.id,
                    reviewer[:100] or "someone",
                )
            await self._event(session, row, "line_comment", detail)
        return "line comment"

    async def may_propose(self, login: str, program: str) -> bool | None:
        """Tell whether `login` may propose text a suggester can commit (None: unknown)."""
        if not login:
            return False
        if login.lower() in (name.lower() for name in self._reviewers(program)):
            return True
        if self._github is None:
            return False
        try:
            permission = await self._github.permission(login)
        except Exception as error:  # GitHub did not answer: ask again when it matters
            log.warning("cannot read %s's permission: %s", login[:100], error_line(error))
            return None
        return permission in ("admin", "maintain", "write")

    async def on_default_branch_push(self, changed_paths: Sequence[str]) -> int:
        """Re-check open suggestions whose file changed on the default branch; return how many."""
        if not changed_paths:
            return 0
        async with self._sessions() as session, session.begin():
            rows = (
                (
                    await session.execute(
                        select(Suggestion).where(
                            Suggestion.path.in_(list(changed_paths)),
                            Suggestion.status.in_(
                                (
                                    SuggestionStatus.OPEN,
                                    SuggestionStatus.CHANGES_REQUESTED,
                                    SuggestionStatus.ANSWERED,
                                    SuggestionStatus.APPROVED,
                                )
                            ),
                        )
                    )
                )
                .scalars()
                .all()
            )
            intents = [
                (f"suggestion:{row.id}:update_branch", {"op": "update_branch"}) for row in rows
            ]
            await self._outbox.enqueue_many(self.JOB_KIND, intents, session)
        if rows:
            self._wake()
        return len(rows)


# --- helpers ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Links:
    issue_number: int | None = None
    post_url: str | None = None
    thread_id: int | None = None


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """A suggestion's facts copied out of its session, for work over the network."""

    id: int
    lesson_id: int
    program: str
    slug: str
    locale: str
    path: str
    find: str
    replace: str
    revisions: tuple[Mapping[str, str], ...]
    reason: str
    source: str
    names: tuple[str, ...]
    emails: tuple[tuple[str, str], ...]

    @property
    def identity(self) -> str:
        return f"{self.program}/{self.slug}"

    @classmethod
    def of(cls, row: Suggestion) -> _Snapshot:
        credits = [credit for credit in row.credits if not credit.withdrawn]
        return cls(
            id=row.id,
            lesson_id=row.lesson_id,
            program=row.lesson.program,
            slug=row.lesson.slug,
            locale=row.locale,
            path=row.path or "",
            find=str(row.edit.get("find", "")),
            replace=str(row.edit.get("replace", "")),
            revisions=tuple(row.edit.get("revisions", [])),
            reason=row.reason or "",
            source=str(row.source),
            names=tuple(name for name in (credit.name for credit in credits) if name),
            emails=tuple(
                (credit.name or credit.email.split("@")[0], credit.email)
                for credit in credits
                if credit.email
            ),
        )

    def edited(self, base_text: str, allow_front_matter: bool) -> str:
        """Apply the edit, then each revision made before the PR opened, to `base_text`."""
        applied = edits.apply_edit(
            base_text,
            self.find,
            self.replace,
            path=self.path,
            allow_front_matter=allow_front_matter,
        ).text
        for revision in self.revisions:
            applied = edits.apply_edit(
                applied,
                revision["find"],
                revision["replace"],
                path=self.path,
                allow_front_matter=allow_front_matter,
            ).text
        return applied


@dataclass(frozen=True, slots=True)
class _Step:
    """One step of a suggestion as one suggester is told it."""

    view: SuggestionView
    event_id: int
    kind: str  # the notice: an event's kind, or "proposal" for a proposed text on its own
    detail: Mapping[str, Any]
    locale: str
    lesson: str  # the lesson's title
    proposals: tuple[Mapping[str, Any], ...]


def _proposals_told(row: Suggestion, event: SuggestionEvent) -> list[dict[str, Any]]:
    """Return the proposed texts a notice of `event` carries, oldest first.

    A verdict carries its review's proposals recorded before it; one recorded after was
    told on its own (see on_review_comment), so each is told once.
    """
    if event.kind == "reviewer_suggestion":
        return [dict(event.detail)]
    review_id = event.detail.get("review_id")
    if event.kind not in VERDICTS or review_id is None:
        return []
    return [
        dict(earlier.detail)
        for earlier in row.events
        if earlier.kind == "reviewer_suggestion"
        and earlier.id < event.id
        and earlier.detail.get("review_id") == review_id
    ]


def _still_open(view: SuggestionView, proposal: Mapping[str, Any]) -> bool:
    """Tell whether a suggester may still take this proposed text."""
    return (
        view.status in REVISABLE
        and view.pr_number is not None
        and proposal.get("comment_id") not in view.accepted_comments
    )


def _told_in(messages: Sequence[ChatMessage], url: str, mention: str | None = None) -> bool:
    """Tell whether one of these messages has the status link `url` (and, for a reply in a
    lesson's post, starts with the mention of the person it tells)."""
    return any(
        any(button.url == url for button in message.buttons)
        and (mention is None or message.content.startswith(mention))
        for message in messages
    )


def _passage_detail(passage: edits.Passage | None) -> dict[str, Any]:
    return {} if passage is None else {"passage": passage.text, "line": passage.line}


def _passage_of(text_: str, snippet: str) -> edits.Passage | None:
    """Return the lines holding `snippet` when it reads once in `text_`."""
    snippet = snippet.strip()
    if not snippet or text_.count(snippet) != 1:
        return None
    start = text_.index(snippet)
    return edits.passage_at(text_, start, start + len(snippet))


def _passage_now(row: Suggestion) -> tuple[str, int | None]:
    """Return the edited passage as the branch holds it, and its line when known."""
    for event in reversed(row.events):
        if event.kind in ("pr_opened", "committed") and "passage" in event.detail:
            line = event.detail.get("line")
            return str(event.detail["passage"]), line if isinstance(line, int) else None
    # No branch yet (or none recorded): the replacement as sent, with each revision on it.
    passage = str(row.edit.get("replace", ""))
    for revision in row.edit.get("revisions", []):
        find, replace = str(revision.get("find", "")), str(revision.get("replace", ""))
        passage = passage.replace(find, replace, 1) if find and find in passage else replace
    return passage, None


def _view(row: Suggestion) -> SuggestionView:
    passage, line = _passage_now(row)
    return SuggestionView(
        id=row.id,
        lesson=row.lesson.identity,
        locale=row.locale,
        path=row.path,
        status=str(row.status),
        pr_number=row.pr_number,
        pr_url=row.pr_url,
        error=row.last_error,
        find=str(row.edit.get("find", "")),
        replace=str(row.edit.get("replace", "")),
        reason=row.reason or "",
        credited=tuple(
            credit.name or "" for credit in row.credits if not credit.withdrawn and credit.name
        ),
        created_at=row.created_at,
        events=tuple(
            EventView(event.kind, event.created_at, event.detail, event.id) for event in row.events
        ),
        passage=passage,
        passage_line=line,
    )


def edit_error(error: edits.EditError) -> SuggestionError:
    """Return the suggestion error for an edit that does not apply."""
    if error.code == "not_found" and not error.closest:
        # Nothing in the lesson comes close: there is no passage to offer.
        return SuggestionError("find_not_found_anywhere", field="find")
    code = {
        "not_found": "find_not_found",
        "ambiguous": "find_ambiguous",
        "find_empty": "field_empty",
    }.get(error.code, error.code)
    return SuggestionError(
        code,
        field="find" if code.startswith("find") or code == "field_empty" else "replace",
        count=error.count or None,
        closest=(error.closest or "")[:200] or None,
        found=error.found or None,
    )


def worded_problems(found: Sequence[Problem], locale: str) -> str:
    """Return lesson-check problems as sentences for a person, each with its line."""
    return " ".join(
        t(
            locale,
            "suggest.error.problem_at",
            line=problem.line,
            problem=t(locale, f"check.{problem.code}", **problem.params),
        )
        for problem in sorted(found, key=lambda problem: problem.line)[:5]
    )


def git_blob_sha(data: bytes) -> str:
    """Return the git blob sha of a file's bytes (what GitHub calls the file's sha)."""
    return hashlib.sha1(b"blob %d\x00" % len(data) + data, usedforsecurity=False).hexdigest()


async def _serialize(session: AsyncSession, fingerprint: str) -> None:
    """Hold a transaction lock per fingerprint on PostgreSQL (processes take turns)."""
    if session.get_bind().dialect.name == "postgresql":
        key = int(fingerprint[:15], 16)
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def open_job_key(suggestion_id: int) -> str:
    """Return the key of the job that opens a suggestion's pull request."""
    return f"suggestion:{suggestion_id}:open"


def _suggestion_id(key: str) -> int:
    """Return the suggestion id of a job key `suggestion:<id>:<op>...`."""
    return int(key.split(":")[1])


def _from_branch(ref: str) -> int | None:
    if not ref.startswith(BRANCH_PREFIX):
        return None
    rest = ref.removeprefix(BRANCH_PREFIX)
    return int(rest) if rest.isdigit() else None


def _login(user: Any) -> str:
    return str((user or {}).get("login") or "") if isinstance(user, Mapping) else ""


def _shown_name(author: Author, source: SuggestionSource) -> str:
    # A name is one line with no bidi tricks wherever it is shown: stored that way.
    fallback = {"discord": "a Discord user"}.get(str(source), "a learner")
    return one_line_name(author.name) or fallback


def _trailer_name(name: str) -> str:
    # A trailer is one line; angle brackets would end the name early.
    name = neutralize_plain(one_line_name(name.replace("<", "").replace(">", ""), 100))
    return name or "Suggester"


def _summary(body: str, limit: int, plain: bool) -> str:
    """Return a reviewer's words as a block of their own, or nothing when they wrote none."""
    body = body.strip()
    return "\n" + _block(body, limit, plain) if body else ""


def _block(text_: str, limit: int, plain: bool) -> str:
    """Return a person's text as a block nothing in it can end: a Discord code block, or
    in an email its lines indented (plain text has no markup to escape)."""
    if not plain:
        return discord_fenced(_cut(text_, limit))
    lines = strip_overrides(_cut(text_.rstrip("\r\n"), limit)).splitlines() or [""]
    return "\n".join(f"    {line}" for line in lines)


def _cut(text_: str, limit: int) -> str:
    return text_ if len(text_) <= limit else text_[: limit - 1].rstrip() + "…"


__all__ = [
    "Author",
    "Preview",
    "Submitted",
    "SuggestionError",
    "SuggestionInput",
    "SuggestionService",
    "SuggestionView",
]
