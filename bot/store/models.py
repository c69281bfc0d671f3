"""Typed SQLAlchemy models: lessons and links, suggestions, questions, digests, outbox, webhooks."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bot.domain.priorities import JobPriority
from bot.domain.review_flow import PENDING, UNFINISHED, SuggestionStatus

# Stable constraint names, so migrations can find them again on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes; store UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        # SQLite would store the offset as text and compare strings; store naive UTC there.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return aware UTC datetimes whatever the database gave back."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# JSON everywhere, JSONB on PostgreSQL (indexable, compact).
JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


def _enum(enum_class: type[enum.Enum], name: str) -> Enum:
    # Stored as the value strings with a CHECK constraint: portable, readable in SQL, and
    # adding a value never needs PostgreSQL's ALTER TYPE.
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    """Declarative base with naming conventions and UTC timestamps."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSONType,
    }


class TimestampMixin:
    """Creation and update times, set by the application in UTC."""

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Lesson(TimestampMixin, Base):
    """A lesson identity, `program/slug`, shared by all its locales."""

    __tablename__ = "lessons"
    __table_args__ = (UniqueConstraint("program", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program: Mapped[str] = mapped_column(String(100))
    slug: Mapped[str] = mapped_column(String(200))
    # Set when the lesson left the catalogue: its links are archived, history is kept.
    removed_at: Mapped[datetime | None]

    files: Mapped[list[LessonFile]] = relationship(
        back_populates="lesson", cascade="all, delete-orphan", order_by="LessonFile.locale"
    )
    link: Mapped[LessonLink | None] = relationship(
        back_populates="lesson", cascade="all, delete-orphan"
    )

    @property
    def identity(self) -> str:
        """Return `program/slug`."""
        return f"{self.program}/{self.slug}"


class LessonFile(TimestampMixin, Base):
    """One locale of a lesson: its title, file path and, when known, git blob sha."""

    __tablename__ = "lesson_files"
    __table_args__ = (UniqueConstraint("lesson_id", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    path: Mapped[str] = mapped_column(String(500))
    blob_sha: Mapped[str | None] = mapped_column(String(40))

    lesson: Mapped[Lesson] = relationship(back_populates="files")


class LessonLink(TimestampMixin, Base):
    """Where a lesson is discussed: its Discord forum post and GitHub issue."""

    __tablename__ = "lesson_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(
        ForeignKey("lessons.id", ondelete="CASCADE"), unique=True
    )
    # Discord snowflakes exceed 2**31; BigInteger holds them (and SQLite's INTEGER is 64-bit).
    discord_forum_id: Mapped[int | None] = mapped_column(BigInteger)
    discord_thread_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    discord_starter_message_id: Mapped[int | None] = mapped_column(BigInteger)
    github_issue_number: Mapped[int | None] = mapped_column(Integer, unique=True)
    # Kept so the post's starter message can link the issue without asking GitHub.
    github_issue_url: Mapped[str | None] = mapped_column(String(500))
    # The title last written to the post and issue, so a sync knows what changed.
    synced_title: Mapped[str | None] = mapped_column(String(300))
    # A digest of everything else written (tags, links, locales): a sync compares it and
    # so finds a change without reading the post or the issue back.
    synced_digest: Mapped[str | None] = mapped_column(String(64))
    synced_at: Mapped[datetime | None]

    lesson: Mapped[Lesson] = relationship(back_populates="link")


class ProgramForum(TimestampMixin, Base):
    """A program's Discord forum channel and the ids of the tags lessonbot put on it."""

    __tablename__ = "program_forums"

    id: Mapped[int] = mapped_column(primary_key=True)
    program: Mapped[str] = mapped_column(String(100), unique=True)
    discord_guild_id: Mapped[int] = mapped_column(BigInteger)
    discord_forum_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    # Tag name -> Discord tag id, so a post's tags are set without reading the forum.
    tag_ids: Mapped[dict[str, Any]]


class BridgedComment(TimestampMixin, Base):
    """A comment on a lesson issue and its Discord side: the messages that show it in the
    post, or the person's message it mirrors."""

    __tablename__ = "bridged_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    # GitHub comment ids outgrow 2**31 too; unique, so a comment is never posted twice.
    github_comment_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    github_issue_number: Mapped[int] = mapped_column(Integer)
    discord_thread_id: Mapped[int] = mapped_column(BigInteger)
    # {"ids": [...]}: the messages a long comment was split into, in order.
    discord_message_ids: Mapped[dict[str, Any]]
    # Set when the comment mirrors a person's Discord message (the other direction).
    discord_source_message_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)


class SuggestionSource(enum.StrEnum):
    """Where a suggested edit came from."""

    DISCORD = "discord"
    WEB = "web"
    API = "api"
    CLI = "cli"


# The statuses and which are still moving belong to the review flow (bot/domain).
PENDING_SUGGESTION_STATUSES = PENDING
UNFINISHED_SUGGESTION_STATUSES = UNFINISHED


class Suggestion(TimestampMixin, Base):
    """A suggested edit to one locale of a lesson, followed through its pull request."""

    __tablename__ = "suggestions"
    __table_args__ = (
        Index("ix_suggestions_status", "status"),
        # The spam signals count the same replacement sent to other lessons lately.
        Index("ix_suggestions_text_hash_created_at", "text_hash", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[SuggestionSource] = mapped_column(_enum(SuggestionSource, "suggestion_source"))
    # Who to credit and tell: a Discord user id, an email address, or a CLI user name.
    author_id: Mapped[str] = mapped_column(String(200))
    author_name: Mapped[str] = mapped_column(String(200))
    author_locale: Mapped[str] = mapped_column(String(16), default="en")
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id"), index=True)
    locale: Mapped[str] = mapped_column(String(16))
    # The edit itself (e.g. {"find": ..., "replace": ...} or a whole new body) and why.
    edit: Mapped[dict[str, Any]]
    reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[SuggestionStatus] = mapped_column(
        _enum(SuggestionStatus, "suggestion_status"), default=SuggestionStatus.QUEUED
    )
    pr_number: Mapped[int | None] = mapped_column(Integer, unique=True)
    branch: Mapped[str | None] = mapped_column(String(200), unique=True)
    # Set by the client (or derived from the request) so a resubmission is not a duplicate.
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    # The lesson file edited and its git blob sha when the edit was checked against it.
    path: Mapped[str | None] = mapped_column(String(500))
    base_sha: Mapped[str | None] = mapped_column(String(40))
    # The PR head commit the bot last wrote (a push by anyone else moves it).
    head_sha: Mapped[str | None] = mapped_column(String(40))
    pr_url: Mapped[str | None] = mapped_column(String(500))
    # sha256 of the normalized (lesson, locale, find, replace): identical pending ones join.
    fingerprint: Mapped[str | None] = mapped_column(String(64), index=True)
    # sha256 of the normalized replacement alone (bot/domain/spam.py's text_hash).
    text_hash: Mapped[str | None] = mapped_column(String(64))

    lesson: Mapped[Lesson] = relationship()
    credits: Mapped[list[SuggestionCredit]] = relationship(
        back_populates="suggestion", cascade="all, delete-orphan", order_by="SuggestionCredit.id"
    )
    events: Mapped[list[SuggestionEvent]] = relationship(
        back_populates="suggestion", cascade="all, delete-orphan", order_by="SuggestionEvent.id"
    )


class SuggestionModeration(Base):
    """Why a suggestion was held for a moderator, and what a moderator decided."""

    __tablename__ = "suggestion_moderation"

    suggestion_id: Mapped[int] = mapped_column(
        ForeignKey("suggestions.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    # "suspicious" (spam signals), "unknown" (an unknown sender) or "blocked".
    reason: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Float, default=0.0)
    # {"signals": [{"code", "weight", "params"}, ...]} as bot/domain/spam.py's Signal keeps it.
    signals: Mapped[dict[str, Any]]
    # "approved", "rejected" or "blocked" once a moderator decided; who, and when.
    decision: Mapped[str | None] = mapped_column(String(16))
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The message in the moderators' Discord channel, once posted (so a decision edits it).
    channel_id: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)


class EmailConfirmation(Base):
    """One email address asked to confirm itself, and whether it did: then it is known."""

    __tablename__ = "email_confirmations"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Trimmed and lower-cased, as the block list keeps an email; unique, so one link ever.
    email: Mapped[str] = mapped_column(String(400), unique=True)
    # The language the link's email and page speak: the suggester's.
    locale: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]


class ModerationBlock(Base):
    """A sender whose suggestions are turned down unseen: a Discord user, an email, an address."""

    __tablename__ = "moderation_blocks"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # "discord", "email" or "address" (an address is kept as the web's hashed client handle).
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SuggestionCredit(Base):
    """One person who sent a suggestion: credited on the PR and told at every step."""

    __tablename__ = "suggestion_credits"
    __table_args__ = (
        UniqueConstraint("suggestion_id", "person"),
        # The per-person hourly limit counts a person's recent credits on every submission.
        Index("ix_suggestion_credits_person_created_at", "person", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    suggestion_id: Mapped[int] = mapped_column(
        ForeignKey("suggestions.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[SuggestionSource] = mapped_column(_enum(SuggestionSource, "credit_source"))
    # Who this is, for "the same person sent it again": discord:<id>, email:<addr>, ...
    person: Mapped[str] = mapped_column(String(400))
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320))
    discord_user_id: Mapped[int | None] = mapped_column(BigInteger)
    locale: Mapped[str] = mapped_column(String(16), default="en")
    # A client's Idempotency-Key and a hash of the request it came with (a replay must match).
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    request_hash: Mapped[str | None] = mapped_column(String(64))
    withdrawn: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    suggestion: Mapped[Suggestion] = relationship(back_populates="credits")


class SuggestionEvent(Base):
    """Something that happened to a suggestion, as its status page and API list it."""

    __tablename__ = "suggestion_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    suggestion_id: Mapped[int] = mapped_column(
        ForeignKey("suggestions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    suggestion: Mapped[Suggestion] = relationship(back_populates="events")


class AppSecret(Base):
    """A random key the app made for itself (signing tokens) when settings give none."""

    __tablename__ = "app_secrets"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class QuestionSource(enum.StrEnum):
    """Where a question was asked."""

    DISCORD = "discord"
    GITHUB = "github"


class Question(TimestampMixin, Base):
    """A question asked in a lesson's thread or issue, or in a help post of a program,
    tracked until answered or resolved."""

    __tablename__ = "questions"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        Index("ix_questions_open", "resolved_at", "answered_at"),
        # A question belongs to a lesson, or (in a help post not linked yet) to a program.
        CheckConstraint("lesson_id IS NOT NULL OR program IS NOT NULL", name="lesson_or_program"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[QuestionSource] = mapped_column(_enum(QuestionSource, "question_source"))
    # The message or comment id on its platform, and where it sits (thread id / issue number).
    external_id: Mapped[str] = mapped_column(String(100))
    container_id: Mapped[str] = mapped_column(String(100))
    url: Mapped[str | None] = mapped_column(String(500))
    # None while a help post's question is not linked to a lesson yet.
    lesson_id: Mapped[int | None] = mapped_column(ForeignKey("lessons.id"), index=True)
    # Set for questions asked in a help post (see HelpPost): the program of its forum. A
    # question in a lesson's post or issue has its lesson's program and leaves this None,
    # which is also how a message in a lesson's post tells them apart.
    program: Mapped[str | None] = mapped_column(String(100))
    author_id: Mapped[str] = mapped_column(String(200))
    author_name: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    asked_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    answered_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None]
    # Why it counts as a question: the classifier's rule ("ask" for /ask), cue and locale.
    rule: Mapped[str | None] = mapped_column(String(40))
    cue: Mapped[str | None] = mapped_column(String(200))
    locale: Mapped[str | None] = mapped_column(String(16))
    # The first answer: the message or comment, how it answered (reply, later message...),
    # and whether anyone answering so far had a maintainer role or write access.
    answer_id: Mapped[str | None] = mapped_column(String(100))
    answered_how: Mapped[str | None] = mapped_column(String(32))
    answered_by_staff: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # Who resolved it (a user id) and how ("reaction" can be undone by removing it).
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolved_how: Mapped[str | None] = mapped_column(String(32))
    # Set when the message was deleted or edited out of being a question: kept, not counted.
    dropped_at: Mapped[datetime | None]
    drop_reason: Mapped[str | None] = mapped_column(String(32))
    # Set when its asker pressed "Still stuck": it waits for an answer again from then, and
    # each reopening starts a new round of nudges (QuestionNudge.round).
    reopened_at: Mapped[datetime | None]
    reopen_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Its first answer's time, kept when a reopening clears answered_at: the first-reply
    # figures measure the first reply, whatever came after.
    first_answered_at: Mapped[datetime | None]

    lesson: Mapped[Lesson | None] = relationship()


class ChangeNotice(TimestampMixin, Base):
    """A merged pull request's change that a question may be answered by: the match and
    its one notice to the asker (at most one per question and pull request)."""

    __tablename__ = "change_notices"
    __table_args__ = (UniqueConstraint("question_id", "pr_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    pr_number: Mapped[int] = mapped_column(Integer)
    pr_url: Mapped[str | None] = mapped_column(String(500))
    # The lesson file the change is in, and how well and why the question points at it.
    path: Mapped[str] = mapped_column(String(500))
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[dict[str, Any]]
    # The notice in the lesson's post, once sent (its ✅ resolves the question too).
    message_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    sent_at: Mapped[datetime | None]


class QuestionNudge(Base):
    """A nudge claimed for a question's post: once per question, kind and round, and at most
    the daily cap per post (one slot each), whatever the number of processes."""

    __tablename__ = "question_nudges"
    __table_args__ = (
        UniqueConstraint("question_id", "kind", "round"),
        UniqueConstraint("post", "day", "slot"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    round: Mapped[int] = mapped_column(Integer)
    # The question's post (thread id) and the local day the nudge counts against.
    post: Mapped[str] = mapped_column(String(100))
    day: Mapped[str] = mapped_column(String(10))
    slot: Mapped[int] = mapped_column(Integer)
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The message posted (once sent), or why it was not (answered or resolved meanwhile).
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    sent_at: Mapped[datetime | None]
    skipped: Mapped[str | None] = mapped_column(String(64))


class HelpPost(TimestampMixin, Base):
    """A post a learner opened in a program's forum: its starter message is a question of
    the program, linked to a lesson when the post names one or its author picks one."""

    __tablename__ = "help_posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    discord_thread_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    discord_forum_id: Mapped[int] = mapped_column(BigInteger)
    program: Mapped[str] = mapped_column(String(100))
    author_id: Mapped[str] = mapped_column(String(200))
    # The post's title: its starter question reads title and message together.
    title: Mapped[str] = mapped_column(String(300))
    # The language the post is written in, which the lesson picker speaks.
    locale: Mapped[str | None] = mapped_column(String(16))
    lesson_id: Mapped[int | None] = mapped_column(ForeignKey("lessons.id"))
    # How the lesson was found: page_link, post_link, issue_link, slug, title or picked.
    linked_how: Mapped[str | None] = mapped_column(String(32))
    # The bot's message with the lesson picker, edited once a lesson is picked.
    picker_message_id: Mapped[int | None] = mapped_column(BigInteger)


class ThreadMark(Base):
    """The newest message of a forum post the question intake has applied: after a
    restart, the post's history is read from there (what was said while no gateway
    session was up)."""

    __tablename__ = "thread_marks"

    discord_thread_id: Mapped[int] = mapped_column(
        BigInteger, primary_key=True, autoincrement=False
    )
    last_message_id: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DigestRunStatus(enum.StrEnum):
    """How a digest run ended."""

    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class DigestRun(Base):
    """One scheduled digest; its period key makes a restart never send the same one twice."""

    __tablename__ = "digest_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    period_key: Mapped[str] = mapped_column(String(100), unique=True)
    status: Mapped[DigestRunStatus] = mapped_column(
        _enum(DigestRunStatus, "digest_run_status"), default=DigestRunStatus.RUNNING
    )
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    open_questions: Mapped[int] = mapped_column(default=0)
    waiting_suggestions: Mapped[int] = mapped_column(default=0)

    deliveries: Mapped[list[DigestDelivery]] = relationship(
        back_populates="run", cascade="all, delete-orphan"
    )


class DeliveryChannel(enum.StrEnum):
    """Where a digest goes."""

    DISCORD = "discord"
    EMAIL = "email"


class DeliveryStatus(enum.StrEnum):
    """Whether a digest reached one recipient."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class DigestDelivery(Base):
    """One recipient of one digest run: a Discord channel or a maintainer's address."""

    __tablename__ = "digest_deliveries"
    __table_args__ = (UniqueConstraint("run_id", "channel", "target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("digest_runs.id", ondelete="CASCADE"))
    channel: Mapped[DeliveryChannel] = mapped_column(_enum(DeliveryChannel, "delivery_channel"))
    target: Mapped[str] = mapped_column(String(320))
    status: Mapped[DeliveryStatus] = mapped_column(
        _enum(DeliveryStatus, "delivery_status"), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)

    run: Mapped[DigestRun] = relationship(back_populates="deliveries")


class JobStatus(enum.StrEnum):
    """Where an outbox job is."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class OutboxJob(TimestampMixin, Base):
    """A durable job written in the same transaction as the change that needs it."""

    __tablename__ = "outbox_jobs"
    # Due work is picked by status, then priority, then when it is due (claim_due's order).
    __table_args__ = (Index("ix_outbox_jobs_claim", "status", "priority", "run_after", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]]
    # Makes enqueueing idempotent: the same change never queues the same work twice.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    status: Mapped[JobStatus] = mapped_column(
        _enum(JobStatus, "job_status"), default=JobStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=8)
    run_after: Mapped[datetime] = mapped_column(default=utcnow)
    # A worker holds a job until this time; a crashed worker's job becomes due again.
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # Who holds the job: a token per claim, so a holder whose lease was taken over by
    # another process finds out before its next write (fencing).
    locked_by: Mapped[str | None] = mapped_column(String(64))
    # Bumped when a new intent replaces the payload; a holder that finishes an older
    # revision leaves the job pending, so the newer intent is not lost.
    revision: Mapped[int] = mapped_column(default=1)
    # Set while an attempt may have written without confirming (a crash, a lost response):
    # the next attempt first looks for what was written.
    uncertain: Mapped[bool] = mapped_column(default=False)
    # Set while a pending job waits out a known wait (a service's rate limit until
    # `run_after`) rather than a failed attempt's backoff: says what it waits for.
    wait_reason: Mapped[str | None] = mapped_column(String(200))
    # How soon it should run (bot/domain/priorities.py; lower first): a person waiting
    # goes before a lesson someone touched, before upkeep, before bulk linking.
    priority: Mapped[int] = mapped_column(
        SmallInteger, default=int(JobPriority.NORMAL), server_default=str(int(JobPriority.NORMAL))
    )


class WebhookDeliveryStatus(enum.StrEnum):
    """What became of a GitHub webhook delivery."""

    RECEIVED = "received"
    HANDLED = "handled"
    IGNORED = "ignored"
    FAILED = "failed"


class WebhookDeliveryRecord(Base):
    """A GitHub webhook delivery, recorded on arrival so a redelivery is never handled twice."""

    __tablename__ = "webhook_deliveries"
    # The daily prune removes deliveries by age.
    __table_args__ = (Index("ix_webhook_deliveries_received_at", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # GitHub's X-GitHub-Delivery GUID: unique, so the insert itself detects a replay, race-free.
    delivery_id: Mapped[str] = mapped_column(String(100), unique=True)
    event: Mapped[str] = mapped_column(String(100))
    action: Mapped[str | None] = mapped_column(String(100))
    # `received` until the handlers finish; a row left there was interrupted by a shutdown.
    status: Mapped[WebhookDeliveryStatus] = mapped_column(
        _enum(WebhookDeliveryStatus, "webhook_delivery_status"),
        default=WebhookDeliveryStatus.RECEIVED,
    )
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class RateBudgetState(Base):
    """One external limit every process shares: the row acquisitions lock, and a block.

    A spend takes this row's lock first (an UPDATE: PostgreSQL's row lock, SQLite's one
    writer), so two processes never both see room for the last unit.
    """

    __tablename__ = "rate_budget_states"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    # Nobody spends before this (epoch seconds): a limit the service reported spent.
    blocked_until: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RateBudgetSpend(Base):
    """One unit of a budget spent, at an epoch second; pruned once out of every window."""

    __tablename__ = "rate_budget_spends"
    __table_args__ = (Index("ix_rate_budget_spends_budget_spent_at", "budget", "spent_at"),)

    # Discord's 50 a second would run past a 32-bit id within a couple of years.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    budget: Mapped[str] = mapped_column(String(200))
    # Epoch seconds: windows are seconds long, and the math is plain arithmetic.
    spent_at: Mapped[float] = mapped_column(Float)
