"""Taking a suggestion from any door (Discord, web, API, CLI): check it, then store it.

`submit` checks an edit against the lesson as it is now and stores it with the job that
opens its pull request, in one transaction.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, insert, literal, null, select, text, true
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.domain import edits, spam
from bot.domain.catalogue import Catalogue, git_blob_sha
from bot.domain.lookup import lookup_lesson
from bot.domain.neutral import one_line_name
from bot.domain.review_flow import shown_status
from bot.services import correlation
from bot.services.suggestions.access import Access
from bot.services.suggestions.confirmations import Confirmations
from bot.services.suggestions.dependencies import Dependencies
from bot.services.suggestions.errors import SuggestionError, edit_error, unknown_lesson
from bot.services.suggestions.moderation import Moderation, Screening
from bot.services.suggestions.records import JOB_KIND, open_job_key
from bot.services.suggestions.views import Author, Preview, Submitted, SuggestionInput
from bot.store.models import (
    PENDING_SUGGESTION_STATUSES,
    OutboxJob,
    Suggestion,
    SuggestionCredit,
    SuggestionEvent,
    SuggestionModeration,
    SuggestionSource,
    SuggestionStatus,
)
from bot.store.sqlite_trips import begin_immediate, insert_row
from bot.store.upsert import lesson_id as ensure_lesson

log = logging.getLogger(__name__)

_EMAIL = re.compile(r"[^@\s<>,;\"]{1,64}@[^@\s<>,;\"]{1,190}\.[^@\s<>,;\".]{2,63}")
# What no text column (SQLite, PostgreSQL) can hold: NUL, and the lone surrogates that a JSON
# escape like "\ud800" or undecodable bytes leave in a string.
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


class LessonTexts:
    """Read lesson files from the content copy, remembering each until it changes."""

    def __init__(self) -> None:
        self._texts: dict[tuple[str, int, int], tuple[str, str]] = {}

    async def read(self, catalogue: Catalogue, path: str) -> tuple[str, str]:
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


class Intake:
    """Check suggested edits against the lessons and store them with their opening job."""

    def __init__(
        self,
        deps: Dependencies,
        texts: LessonTexts,
        access: Access,
        moderation: Moderation,
        confirmations: Confirmations | None = None,
    ) -> None:
        self._deps = deps
        self._texts = texts
        self._access = access
        self._moderation = moderation
        self._confirmations = confirmations
        # Two identical suggestions at once in this process become one (PostgreSQL also
        # locks across processes, see _serialize).
        self._submit_lock = asyncio.Lock()
        self._fingerprint_locks: dict[str, asyncio.Lock] = {}
        self._lesson_ids: dict[tuple[str, str], int] = {}

    def check_fields(self, request: SuggestionInput) -> None:
        """Refuse empty, oversize or malformed fields, naming the field."""
        limits = self._deps.settings.suggestions
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

    def lesson_file(self, identity: str, locale: str) -> tuple[Catalogue, Any]:
        """Return the catalogue and the lesson file a suggestion edits, or refuse it."""
        catalogue = self._deps.catalogue()
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

    async def read(self, catalogue: Catalogue, path: str) -> tuple[str, str]:
        """Return a lesson file's text and git blob sha, as the content copy has it."""
        return await self._texts.read(catalogue, path)

    def apply(self, text_: str, request: SuggestionInput, path: str) -> edits.AppliedEdit:
        """Apply the requested edit to `text_`, or refuse it with the reason."""
        try:
            return edits.apply_edit(
                text_,
                request.find,
                request.replace,
                path=path,
                allow_front_matter=self._deps.settings.suggestions.allow_front_matter,
            )
        except edits.EditError as error:
            raise edit_error(error) from error

    async def preview(self, request: SuggestionInput) -> Preview:
        """Check an edit against the lesson as it is now, storing nothing."""
        self.check_fields(request)
        catalogue, lesson_file = self.lesson_file(request.lesson, request.locale)
        current, _ = await self.read(catalogue, lesson_file.path)
        applied = self.apply(current, request, lesson_file.path)
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
        self.check_fields(request)
        catalogue, lesson_file = self.lesson_file(request.lesson, request.locale)
        current, blob_sha = await self.read(catalogue, lesson_file.path)
        self.apply(current, request, lesson_file.path)
        fingerprint = edits.fingerprint(
            lesson_file.identity, request.locale, request.find, request.replace
        )
        # The text is judged before the writer lock; the store's counts join it inside.
        verdict = self._moderation.judge_text(request, current)
        for attempt in range(3):
            try:
                async with self._lock_for(fingerprint):
                    submitted = await self._store(
                        request, lesson_file, blob_sha, fingerprint, verdict
                    )
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
        self._deps.wake()
        return submitted

    def _lock_for(self, fingerprint: str) -> asyncio.Lock:
        """Return the lock identical suggestions take turns on in this process.

        SQLite has one writer at a time anyway, and a transaction that read before another
        wrote cannot write: there, every suggestion takes turns. PostgreSQL locks per
        fingerprint across processes (see _serialize), so only identical ones wait.
        """
        bind = self._deps.sessions.kw.get("bind")
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
        credits, suggestions = SuggestionCredit.__table__, Suggestion.__table__
        async with self._deps.sessions() as session:
            row = (
                await session.execute(
                    select(
                        credits.c.id,
                        credits.c.suggestion_id,
                        credits.c.request_hash,
                        suggestions.c.status,
                    )
                    .join_from(credits, suggestions, credits.c.suggestion_id == suggestions.c.id)
                    .where(credits.c.idempotency_key == request.idempotency_key)
                )
            ).one_or_none()
        if row is None:
            return None
        if row.request_hash != request.request_hash():
            raise SuggestionError("idempotency_mismatch", field="Idempotency-Key", status=409)
        return Submitted(
            id=row.suggestion_id,
            token=self._access.token(row.suggestion_id, row.id),
            status=str(row.status),
            replayed=True,
        )

    def _rate_limit(self, person: str) -> int:
        """Return how many suggestions a person may send an hour here (0: no limit)."""
        if person == "handle:anonymous":
            return 0
        return self._deps.settings.suggestions.per_person_per_hour

    async def _store(
        self,
        request: SuggestionInput,
        lesson_file: Any,
        blob_sha: str,
        fingerprint: str,
        verdict: spam.Verdict | None,
    ) -> Submitted:
        # One transaction of Core statements: the lock, one lookup (the person's count for
        # the rate limit and an identical pending suggestion), then the rows. The ORM's
        # unit of work cost more than the database did here.
        now = self._deps.clock()
        author = request.author
        limit = self._rate_limit(author.person)
        async with self._deps.sessions() as session, session.begin():
            await _serialize(session, fingerprint)
            connection = await session.connection()
            postgresql = connection.dialect.name == "postgresql"
            # The same statement reads what moderation weighs: the block list and counts.
            screen = self._moderation.lookup(
                request, self._lesson_ids.get((lesson_file.program, lesson_file.slug))
            )
            params: dict[str, Any] = {"fingerprint": fingerprint, **screen.params}
            if limit > 0:
                params.update(rate_person=author.person[:400], since=now - timedelta(hours=1))
            row = (
                await connection.execute(
                    _lookup(count=limit > 0, next_id=postgresql, screening=screen.columns),
                    params,
                )
            ).one()
            sent, existing_id, existing_status, next_id = row[:4]
            if limit and sent >= limit:
                raise SuggestionError("rate_limited", status=429, limit=limit)
            screening = await self._moderation.decide(session, request, verdict, row[4:])
            # A held or blocked sender never joins a pending suggestion: their name would
            # reach its pull request's credits.
            if existing_id is not None and not screening.held:
                credit_id = await connection.scalar(
                    select(SuggestionCredit.__table__.c.id).where(
                        SuggestionCredit.__table__.c.suggestion_id == existing_id,
                        SuggestionCredit.__table__.c.person == author.person[:400],
                    )
                )
                if credit_id is None:
                    credit_id = await _insert(
                        connection, SuggestionCredit, _credit(request, existing_id, now)
                    )
                    await _insert(
                        connection,
                        SuggestionEvent,
                        {
                            "suggestion_id": existing_id,
                            "kind": "joined",
                            "detail": {"name": _shown_name(author, request.source)},
                            "created_at": now,
                        },
                    )
                log.info(
                    "suggestion %d joined by another suggester from %s",
                    existing_id,
                    request.source,
                    extra={"suggestion_id": existing_id},
                )
                return Submitted(
                    id=existing_id,
                    token=self._access.token(existing_id, credit_id),
                    status=str(existing_status),
                    joined=True,
                )
            key = (lesson_file.program, lesson_file.slug)
            lesson_id = self._lesson_ids.get(key)
            if lesson_id is None:
                # Lesson rows are never deleted (a removed lesson is only marked), so an id
                # once known stays right.
                lesson_id = await ensure_lesson(session, *key)
                self._lesson_ids[key] = lesson_id
            suggestion = {
                "source": request.source,
                "author_id": author.person[:200],
                "author_name": _shown_name(author, request.source)[:200],
                "author_locale": author.locale,
                "lesson_id": lesson_id,
                "locale": request.locale,
                "edit": {"find": request.find, "replace": request.replace, "revisions": []},
                "reason": request.reason,
                "status": SuggestionStatus.QUEUED,
                "idempotency_key": request.idempotency_key
                or f"auto:{fingerprint}:{now.timestamp()}",
                "path": lesson_file.path,
                "base_sha": blob_sha,
                "fingerprint": fingerprint,
                "text_hash": spam.text_hash(request.replace),
                "created_at": now,
                "updated_at": now,
            }
            if screening.held:
                return await self._store_held(
                    session, suggestion, request, now, screening, next_id, lesson_file.path
                )
            if next_id is not None:
                suggestion_id = int(next_id)
                credit_id = await self._insert_at_once(
                    session, {"id": suggestion_id, **suggestion}, request, now
                )
            else:
                # SQLite: one trip each to aiosqlite's thread while every other suggestion
                # waits for the writer lock (see bot/store/sqlite_trips.py).
                suggestion_id = await _insert_sqlite(connection, Suggestion, suggestion)
                credit_id = await _insert_sqlite(
                    connection, SuggestionCredit, _credit(request, suggestion_id, now)
                )
                await _insert_sqlite(
                    connection, SuggestionEvent, _submitted(request, suggestion_id, now)
                )
                await self._deps.outbox.enqueue_new(
                    session,
                    JOB_KIND,
                    open_job_key(suggestion_id),
                    {"op": "open", "suggestion_id": suggestion_id},
                )
            log.info(
                "suggestion %d stored from %s for %s (queued)",
                suggestion_id,
                request.source,
                lesson_file.path,
                extra={"suggestion_id": suggestion_id},
            )
            return Submitted(
                id=suggestion_id,
                token=self._access.token(suggestion_id, credit_id),
                status=str(SuggestionStatus.QUEUED),
            )

    async def _store_held(
        self,
        session: AsyncSession,
        suggestion: dict[str, Any],
        request: SuggestionInput,
        now: datetime,
        screening: Screening,
        next_id: Any,
        path: str,
    ) -> Submitted:
        """Store a suggestion that waits for a moderator: its rows, and no job at all.

        Without a job nothing of it can reach GitHub; approving records the job.
        """
        connection = await session.connection()
        row = {**suggestion, "status": screening.status}
        if next_id is not None:
            row["id"] = int(next_id)
        suggestion_id = await _insert(connection, Suggestion, row)
        credit_id = await _insert(
            connection, SuggestionCredit, _credit(request, suggestion_id, now)
        )
        await _insert(connection, SuggestionEvent, _submitted(request, suggestion_id, now))
        await connection.execute(
            insert(SuggestionModeration.__table__),
            screening.row(suggestion_id, now, request.author.handle),
        )
        if screening.status == SuggestionStatus.HELD:
            # With the suggestion or not at all: its one message in the moderators' channel.
            await self._moderation.posts.record(session, suggestion_id)
        email = request.author.email
        if screening.reason == "unknown" and email and self._confirmations is not None:
            # Once per address: a second suggestion sends nothing while its link is out.
            await self._confirmations.ask(session, suggestion_id, email, request.author.locale)
        log.info(
            "suggestion %d stored from %s for %s (%s: %s; signals %s)",
            suggestion_id,
            request.source,
            path,
            screening.status,
            screening.reason,
            ",".join(screening.verdict.codes) or "none",
            extra={"suggestion_id": suggestion_id},
        )
        return Submitted(
            id=suggestion_id,
            token=self._access.token(suggestion_id, credit_id),
            # A blocked sender is answered as any held one: nothing tells them apart.
            status=shown_status(str(screening.status)),
        )

    async def _insert_at_once(
        self,
        session: AsyncSession,
        suggestion: dict[str, Any],
        request: SuggestionInput,
        now: datetime,
    ) -> int:
        """Insert a suggestion with its credit, event and opening job in one statement.

        PostgreSQL only: data-modifying CTEs, the suggestion's id taken beforehand from its
        sequence (by the lookup), so each row is known here. Returns the credit's id.
        """
        suggestion_id = suggestion["id"]
        outbox = self._deps.outbox
        key = open_job_key(suggestion_id)
        payload = {"op": "open", "suggestion_id": suggestion_id}
        rows = (
            suggestion,
            _credit(request, suggestion_id, now),
            _submitted(request, suggestion_id, now),
            outbox.new_job_row(JOB_KIND, key, payload),
        )
        statement = _insert_all(*(tuple(row) for row in rows))
        params = {
            f"{prefix}_{column}": value
            for prefix, row in zip(_PREFIXES, rows, strict=True)
            for column, value in row.items()
        }
        connection = await session.connection()
        _, credit_id, _, job_id = (await connection.execute(statement, params)).one()
        if job_id is None:
            await outbox.enqueue_recorded(session, JOB_KIND, key, payload)
        return int(credit_id)


_PREFIXES = ("s", "c", "e", "j")


@functools.cache
def _insert_all(*columns: tuple[str, ...]) -> Any:
    """Build, once per set of columns, the statement that inserts all four rows (PostgreSQL).

    Each value is a named parameter (`s_id`, `c_person`, ...), so SQLAlchemy's compiled
    cache serves every call instead of a statement built, keyed and compiled anew.
    """
    tables = (
        Suggestion.__table__,
        SuggestionCredit.__table__,
        SuggestionEvent.__table__,
        OutboxJob.__table__,
    )
    ctes = []
    for prefix, table, names in zip(_PREFIXES, tables, columns, strict=True):
        values = {name: bindparam(f"{prefix}_{name}", type_=table.c[name].type) for name in names}
        statement = pg_insert(table).values(values)
        if table is OutboxJob.__table__:
            # A job left by an earlier row with this id: the caller records it the slow way.
            statement = statement.on_conflict_do_nothing(index_elements=["dedupe_key"])
        ctes.append(statement.returning(table.c.id).cte(prefix))
    # Scalar subqueries: a job whose key was there returns no row, and must not hide the
    # others' ids.
    return select(*(select(cte.c.id).scalar_subquery() for cte in ctes))


@functools.cache
@functools.cache
def _lookup(*, count: bool, next_id: bool, screening: tuple[Any, ...]) -> Any:
    """Select a person's suggestions since :since and the identical pending one, at once,
    with moderation's `screening` columns (blocked, recent suggestions, same text).

    Built once per shape, its values bound at execution, so SQLAlchemy's compiled cache
    serves every call.
    """
    # One row always: the count (0 unless `count`) beside the oldest identical pending
    # suggestion's id and status, NULLs when there is none, and (`next_id`, PostgreSQL) an
    # id taken from the suggestions' sequence for a new one.
    credits, suggestions = SuggestionCredit.__table__, Suggestion.__table__
    sent: Any = literal(0)
    if count:
        sent = (
            select(func.count())
            .select_from(credits)
            .where(
                credits.c.person == bindparam("rate_person"),
                credits.c.created_at > bindparam("since"),
            )
            .scalar_subquery()
        )
    existing = (
        select(suggestions.c.id, suggestions.c.status)
        .where(
            suggestions.c.fingerprint == bindparam("fingerprint"),
            suggestions.c.status.in_(PENDING_SUGGESTION_STATUSES),
        )
        .order_by(suggestions.c.id)
        .limit(1)
        .subquery()
    )
    new: Any = null()
    if next_id:
        new = func.nextval(func.pg_get_serial_sequence(suggestions.name, "id"))
    one = select(literal(1).label("one")).subquery()
    return select(
        sent.label("sent"), existing.c.id, existing.c.status, new.label("next_id"), *screening
    ).select_from(one.outerjoin(existing, true()))


async def _insert_sqlite(connection: AsyncConnection, model: type[Any], row: dict[str, Any]) -> int:
    inserted = await insert_row(connection, model.__table__, row)
    assert inserted is not None  # no conflict clause: a row is inserted or it raises
    return inserted


async def _insert(connection: AsyncConnection, model: type[Any], row: dict[str, Any]) -> int:
    """Insert one row into the model's table; return its new primary key."""
    result = await connection.execute(insert(model.__table__), row)
    return int(result.inserted_primary_key[0])


def _submitted(request: SuggestionInput, suggestion_id: int, now: datetime) -> dict[str, Any]:
    return {
        "suggestion_id": suggestion_id,
        "kind": "submitted",
        # Its correlation id is kept with it: the review's notices, weeks later, log the id
        # of the request that brought it in.
        "detail": correlation.stamped({"source": str(request.source)}),
        "created_at": now,
    }


def _credit(request: SuggestionInput, suggestion_id: int, now: datetime) -> dict[str, Any]:
    author = request.author
    return {
        "suggestion_id": suggestion_id,
        "source": request.source,
        "person": author.person[:400],
        "name": one_line_name(author.name),
        "email": author.email.strip() if author.email else None,
        "discord_user_id": author.discord_user_id,
        "locale": author.locale,
        "idempotency_key": request.idempotency_key,
        "request_hash": request.request_hash(),
        "withdrawn": False,
        "created_at": now,
    }


async def _serialize(session: AsyncSession, fingerprint: str) -> None:
    """Make processes take turns storing identical suggestions, on either database."""
    # PostgreSQL: a transaction lock per fingerprint. SQLite: its one writer lock, taken by
    # the transaction's first statement.
    if session.get_bind().dialect.name == "postgresql":
        key = int(fingerprint[:15], 16)
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
        return
    # Python's sqlite3 begins a transaction only at the first write, so the lookup for an
    # identical suggestion would run outside it and miss one another process is storing.
    await begin_immediate(await session.connection())


def _shown_name(author: Author, source: SuggestionSource) -> str:
    # A name is one line with no bidi tricks wherever it is shown: stored that way.
    fallback = {"discord": "a Discord user"}.get(str(source), "a learner")
    return one_line_name(author.name) or fallback
