"""Track learners' questions in lesson posts and issues until they are answered or resolved.

Adapters hand every message, edit, deletion, reaction and issue comment to this service;
it asks `bot.domain.questions.classify` whether the text is a question, stores the rule
that said so, and marks a question answered by a reply to it, or by a later substantive
message from someone else (`bot.domain.questions.reply_verdict`: not thanks, praise, "me
too", emoji or a bare link), which answers the newest question still open (staff when the
answerer holds a maintainer role or write access). The bot only records: it never answers
a question itself.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bot.config import Settings
from bot.domain.catalogue import Catalogue
from bot.domain.help_posts import LessonCandidate, LessonMatch, match_lesson, rank
from bot.domain.link_texts import lesson_page_url, message_url
from bot.domain.markers import find_markers
from bot.domain.questions import (
    QuestionVerdict,
    ReplyVerdict,
    classify,
    guess_locale,
    reply_verdict,
)
from bot.i18n import t
from bot.services.events import IssueCommentEvent
from bot.services.ports import CUSTOM_ID_LIMIT, ChatOption, ChatPort, ChatSelect, GitHubPort
from bot.store.models import (
    BridgedComment,
    HelpPost,
    Lesson,
    LessonLink,
    ProgramForum,
    Question,
    QuestionSource,
    utcnow,
)
from bot.store.upsert import lesson_id

log = logging.getLogger(__name__)

RESOLVE_EMOJI = "✅"
# The rule stored for a question asked with /ask: always a question, whatever it says.
ASK_RULE = "ask"
# The rule stored for the starter message of a post a learner opened in a program's forum:
# a help post asks for help, question mark or not.
HELP_POST_RULE = "help_post"
# A lesson picker's custom_id: `lessonbot:pick:<thread id>`; its values are `program/slug`.
PICKER_PREFIX = "lessonbot:pick:"
# Discord's limits on a select menu's options and on an option's value.
PICKER_OPTIONS = 25
OPTION_LIMIT = 100
# Permissions on GitHub that make a commenter staff.
STAFF_PERMISSIONS = frozenset({"admin", "maintain", "write"})
# Without a GitHub port, the webhook's author_association is the next best sign.
STAFF_ASSOCIATIONS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})
# The longest question /ask posts (a Discord message holds 2,000 characters).
ASK_LIMIT = 1500


P = ParamSpec("P")
R = TypeVar("R")


def _in_order(
    method: Callable[Concatenate[QuestionService, P], Awaitable[R]],
) -> Callable[Concatenate[QuestionService, P], Awaitable[R]]:
    """Apply events one at a time, in the order they came.

    discord.py runs each event's listener as its own task: without this, a reply could
    be looked at before the question it answers is stored. The lock is taken before the
    first await and asyncio's lock is first come, first served, so the order holds.
    """

    @functools.wraps(method)
    async def ordered(self: QuestionService, *args: P.args, **kwargs: P.kwargs) -> R:
        async with self._order:
            return await method(self, *args, **kwargs)

    return ordered


@dataclass(frozen=True, slots=True)
class QuestionView:
    """A tracked question as lists and the CLI show it."""

    id: int
    source: str
    # The message or comment id on its platform.
    external_id: str
    lesson: str  # program/slug; "" for a help post's question not linked to a lesson yet
    program: str
    author_id: str
    author_name: str
    text: str
    url: str | None
    asked_at: datetime
    rule: str | None
    cue: str | None
    locale: str | None
    answered_at: datetime | None
    answered_by: str | None
    answered_how: str | None
    answered_by_staff: bool
    resolved_at: datetime | None
    resolved_by: str | None
    resolved_how: str | None
    dropped_at: datetime | None
    drop_reason: str | None

    @property
    def state(self) -> str:
        """Return dropped, resolved, answered or open."""
        if self.dropped_at is not None:
            return "dropped"
        if self.resolved_at is not None:
            return "resolved"
        return "answered" if self.answered_at is not None else "open"

    def outcome(self, locale: str) -> str:
        """Say who answered or resolved it and how, in words ("" while it is open)."""
        parts = []
        if self.answered_at is not None:
            how = self.answered_how or "other"
            if how not in ("reply", "later_message", "later_comment"):
                how = "other"
            name = self.answered_by or "?"
            parts.append(t(locale, f"questions.outcome.answered_{how}", name=name))
            if self.answered_by_staff:
                parts.append(t(locale, "questions.outcome.staff"))
        if self.resolved_at is not None:
            # Only the asker and staff may resolve: anyone else who did is staff.
            who = "asker" if self.resolved_by == self.author_id else "staff"
            how = "reaction" if self.resolved_how == "reaction" else "command"
            parts.append(t(locale, f"questions.outcome.resolved_{how}_{who}"))
        said = parts[0] if parts else ""
        for part in parts[1:]:
            said = t(locale, "questions.outcome.join", first=said, second=part)
        return said

    def as_json(self, locale: str = "en") -> dict[str, Any]:
        """Return the question as JSON-ready values (timestamps in ISO 8601), with its
        outcome in words."""
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = value.isoformat()
        data["state"] = self.state
        data["outcome"] = self.outcome(locale)
        return data


@dataclass(frozen=True, slots=True)
class AskResult:
    """Where /ask put a question: the lesson's post and the bot's message quoting it."""

    question_id: int
    thread_id: int
    message_id: int
    url: str | None


@dataclass(frozen=True, slots=True)
class ResolveResult:
    """What /resolve did: `outcome` is resolved, none, not_found or forbidden."""

    outcome: str
    count: int = 0


@dataclass(frozen=True, slots=True)
class PickResult:
    """What a lesson picked in a help post's picker did: `outcome` is linked, forbidden,
    unknown_lesson or not_a_help_post; `count` questions were linked."""

    outcome: str
    identity: str = ""
    count: int = 0


@dataclass(frozen=True, slots=True)
class _Scope:
    """The questions a message may answer or resolve: a lesson's (its post and issue), or
    one help post's."""

    lesson_id: int | None = None
    thread_id: int | None = None

    def where(self) -> list[ColumnElement[bool]]:
        """Return the conditions that select the questions in this scope."""
        if self.thread_id is not None:
            return [
                Question.source == QuestionSource.DISCORD,
                Question.container_id == str(self.thread_id),
                Question.program.is_not(None),
            ]
        # A help post linked to the lesson keeps its own questions: they are answered there.
        return [Question.lesson_id == self.lesson_id, Question.program.is_(None)]

    def holds(self, row: Question) -> bool:
        """Tell whether a question is in this scope."""
        if self.thread_id is not None:
            return row.program is not None and row.container_id == str(self.thread_id)
        return row.program is None and row.lesson_id == self.lesson_id


class QuestionError(Exception):
    """A question could not be asked; `key` is the i18n key of the reason."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class QuestionService:
    """Capture questions, mark them answered and resolved, and list them."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        github: GitHubPort | None = None,
        chat: ChatPort | None = None,
        catalogue: Callable[[], Catalogue | None] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self.github = github
        self.chat = chat
        # The lessons' titles in every locale, which a help post may name its lesson by.
        self._catalogue = catalogue
        self._clock = clock
        self._permissions: dict[str, bool] = {}
        self._order = asyncio.Lock()

    @property
    def discord_web_url(self) -> str:
        """Return where Discord message links lead (Discord, or the sandbox's viewer)."""
        return self._settings.discord.web_url

    def message_url(self, guild_id: int | None, thread_id: int, message_id: int) -> str | None:
        """Return the link to a message in a post (None without the guild)."""
        if not guild_id:
            return None
        return message_url(self.discord_web_url, guild_id, thread_id, message_id)

    # --- staff ------------------------------------------------------------------------------

    def is_discord_staff(self, roles: Sequence[str | int]) -> bool:
        """Tell whether any of these Discord role ids is a maintainer role."""
        staff = set(self._settings.questions.staff_role_ids)
        return any(str(role) in staff for role in roles)

    async def is_github_staff(self, login: str, association: str | None = None) -> bool:
        """Tell whether a GitHub login is staff: listed, or with write access."""
        settings = self._settings.questions
        if login.casefold() in {name.casefold() for name in settings.staff_logins}:
            return True
        if self.github is None or not settings.check_github_permission:
            return (association or "").upper() in STAFF_ASSOCIATIONS
        if login not in self._permissions:
            try:
                permission = await self.github.permission(login)
            except Exception as error:
                # Unknown is not staff, but the webhook's association may still say so.
                log.warning("permission of %s unknown: %s", login, type(error).__name__)
                return (association or "").upper() in STAFF_ASSOCIATIONS
            self._permissions[login] = permission in STAFF_PERMISSIONS
        return self._permissions[login]

    # --- Discord ----------------------------------------------------------------------------

    @_in_order
    async def on_discord_message(
        self,
        thread_id: int,
        message_id: int,
        author_id: int | str,
        author_name: str,
        text: str,
        *,
        is_bot: bool = False,
        reply_to: int | None = None,
        roles: Sequence[str | int] = (),
        created_at: datetime | None = None,
        guild_id: int | None = None,
        forum_id: int | None = None,
        post_title: str | None = None,
        post_owner_id: int | str | None = None,
    ) -> str:
        """Record a message in a lesson's post, or in a post a learner opened in a
        program's forum (`forum_id`, `post_title`, `post_owner_id` tell one): answer an
        earlier question, or ask one."""
        if self._by_bot(author_id, is_bot):
            return "ignored: written by the bot"
        created_at = created_at or self._clock()
        picker: HelpPost | None = None
        async with self._sessions() as session, session.begin():
            lesson_id = await self._lesson_of_thread(session, thread_id)
            if lesson_id is None:
                post = await self._help_post(
                    session, thread_id, forum_id, post_title, post_owner_id, author_id, text
                )
                if post is None:
                    return "ignored: not a lesson post"
                outcome, picker = await self._in_help_post(
                    session,
                    post,
                    message_id,
                    str(author_id),
                    author_name,
                    text,
                    reply_to=reply_to,
                    staff=self.is_discord_staff(roles),
                    created_at=created_at,
                    guild_id=guild_id,
                )
        if lesson_id is None:
            if picker is not None:
                outcome += await self._offer_picker(picker)
            return outcome
        async with self._sessions() as session, session.begin():
            verdict = classify(text)
            answered = await self._answer(
                session,
                _Scope(lesson_id=lesson_id),
                answer_id=str(message_id),
                author=str(author_id),
                name=author_name,
                staff=self.is_discord_staff(roles),
                at=created_at,
                reply_to=str(reply_to) if reply_to is not None else None,
                sources=self._answered_from_discord(),
                later="later_message",
                is_question=verdict.is_question,
                reply=reply_verdict(text),
            )
            if not verdict.is_question:
                return f"answered {answered}" if answered else "ignored: not a question"
            url = self.message_url(guild_id, thread_id, message_id)
            recorded = await self._insert(
                session,
                Question(
                    source=QuestionSource.DISCORD,
                    external_id=str(message_id),
                    container_id=str(thread_id),
                    url=url,
                    lesson_id=lesson_id,
                    author_id=str(author_id),
                    author_name=author_name[:200],
                    text=text,
                    asked_at=created_at,
                    rule=verdict.rule.value if verdict.rule else None,
                    cue=(verdict.cue or "")[:200] or None,
                    locale=verdict.locale,
                ),
            )
            if not recorded:
                return "ignored: already recorded"
        return _recorded(verdict, answered)

    @_in_order
    async def on_discord_edit(
        self,
        message_id: int,
        text: str,
        *,
        thread_id: int | None = None,
        author_id: int | str | None = None,
        author_name: str = "",
        is_bot: bool = False,
        created_at: datetime | None = None,
        guild_id: int | None = None,
    ) -> str:
        """Re-evaluate an edited message: a question may stop being one, or become one."""
        if author_id is not None and self._by_bot(author_id, is_bot):
            return "ignored: written by the bot"
        async with self._sessions() as session, session.begin():
            row = await self._question(session, QuestionSource.DISCORD, str(message_id))
            if row is not None:
                return self._reevaluate(row, text)
        if thread_id is None or author_id is None:
            return "ignored: not a question"
        verdict = classify(text)
        if not verdict.is_question:
            return "ignored: not a question"
        # Edited into a question: recorded as asked when the message was written.
        outcome = await self._record_edited_into(
            thread_id, message_id, str(author_id), author_name, text, created_at, guild_id
        )
        return outcome

    async def _record_edited_into(
        self,
        thread_id: int,
        message_id: int,
        author_id: str,
        author_name: str,
        text: str,
        created_at: datetime | None,
        guild_id: int | None,
    ) -> str:
        verdict = classify(text)
        async with self._sessions() as session, session.begin():
            lesson_id = await self._lesson_of_thread(session, thread_id)
            if lesson_id is None:
                return "ignored: not a lesson post"
            recorded = await self._insert(
                session,
                Question(
                    source=QuestionSource.DISCORD,
                    external_id=str(message_id),
                    container_id=str(thread_id),
                    url=self.message_url(guild_id, thread_id, message_id),
                    lesson_id=lesson_id,
                    author_id=author_id,
                    author_name=author_name[:200],
                    text=text,
                    asked_at=created_at or self._clock(),
                    rule=verdict.rule.value if verdict.rule else None,
                    cue=(verdict.cue or "")[:200] or None,
                    locale=verdict.locale,
                ),
            )
            if not recorded:
                return "ignored: already recorded"
        return f"{_recorded(verdict)}: edited into one"

    @_in_order
    async def on_discord_delete(self, message_id: int) -> str:
        """Drop the question a deleted message asked (kept, no longer counted)."""
        return await self._drop(QuestionSource.DISCORD, str(message_id))

    @_in_order
    async def on_reaction(
        self,
        message_id: int,
        user_id: int | str,
        emoji: str,
        added: bool,
        roles: Sequence[str | int] = (),
        *,
        is_bot: bool = False,
    ) -> str:
        """Resolve a question when its asker or staff reacts ✅; removing it reopens it."""
        if emoji != RESOLVE_EMOJI:
            return "ignored: not the resolve reaction"
        if self._by_bot(user_id, is_bot):
            return "ignored: the bot's reaction"
        user = str(user_id)
        async with self._sessions() as session, session.begin():
            row = await self._question(session, QuestionSource.DISCORD, str(message_id))
            if row is None or row.dropped_at is not None:
                return "ignored: not a question"
            if added:
                if row.author_id != user and not self.is_discord_staff(roles):
                    return "ignored: neither the asker nor staff"
                if row.resolved_at is not None:
                    return "ignored: already resolved"
                row.resolved_at = self._clock()
                row.resolved_by = user
                row.resolved_how = "reaction"
                return "resolved"
            if row.resolved_how == "reaction" and row.resolved_by == user:
                row.resolved_at = row.resolved_by = row.resolved_how = None
                return "reopened"
            return "ignored: not resolved by this reaction"

    # --- GitHub -----------------------------------------------------------------------------

    @_in_order
    async def on_issue_comment(self, event: IssueCommentEvent) -> str:
        """Apply one `issue_comment` delivery (created, edited or deleted)."""
        action, issue, comment = event.action, event.issue, event.comment
        if issue.is_pull_request:
            return "ignored: pull request"
        comment_id = str(comment.id)
        if action == "deleted":
            return await self._drop(QuestionSource.GITHUB, comment_id)
        if action not in ("created", "edited"):
            return f"ignored: action {action}"
        login, body = comment.author, comment.body
        if await self._comment_by_bot(comment.id, login, comment.author_type, body):
            return "ignored: written by the bot or mirrored from Discord"
        if action == "edited":
            async with self._sessions() as session, session.begin():
                row = await self._question(session, QuestionSource.GITHUB, comment_id)
                if row is not None:
                    return self._reevaluate(row, body)
        created_at = comment.created_at or self._clock()
        verdict = classify(body)
        reply = reply_verdict(body)
        # Only an answer needs to know who is staff: a question or thanks costs no request.
        staff = (
            action == "created"
            and reply.substantive
            and await self.is_github_staff(login, comment.association)
        )
        async with self._sessions() as session, session.begin():
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
                    container_id=str(issue.number),
                    url=comment.url,
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
        if self.github is not None and login:
            try:
                if login == await self.github.login():
                    return True
            except Exception:
                log.warning("could not tell the bot's GitHub login")
        async with self._sessions() as session:
            mirrored = await session.scalar(
                select(BridgedComment.id).where(
                    BridgedComment.github_comment_id == comment_id,
                    BridgedComment.discord_source_message_id.is_not(None),
                )
            )
        return mirrored is not None

    # --- commands ---------------------------------------------------------------------------

    async def thread_of(self, identity: str) -> int | None:
        """Return the forum post (thread id) of a lesson, `program/slug`, if it has one."""
        program, _, slug = identity.partition("/")
        async with self._sessions() as session:
            return await session.scalar(
                select(LessonLink.discord_thread_id)
                .join(Lesson, Lesson.id == LessonLink.lesson_id)
                .where(
                    Lesson.program == program,
                    Lesson.slug == slug,
                    Lesson.removed_at.is_(None),
                )
            )

    async def is_lesson_post(self, thread_id: int) -> bool:
        """Tell whether a thread is a lesson's forum post."""
        async with self._sessions() as session:
            return await self._lesson_of_thread(session, thread_id) is not None

    async def ask(
        self,
        thread_id: int,
        user_id: int | str,
        user_name: str,
        text: str,
        *,
        locale: str | None = None,
    ) -> AskResult:
        """Post a question in a lesson's post, quoted by the bot, and record it (/ask)."""
        text = text.strip()
        if not text:
            raise QuestionError("questions.empty")
        if len(text) > ASK_LIMIT:
            raise QuestionError("questions.too_long")
        if self.chat is None:
            raise QuestionError("questions.unavailable")
        async with self._sessions() as session:
            lesson_id = await self._lesson_of_thread(session, thread_id)
            guild_id = await self._guild_of_thread(session, thread_id)
        if lesson_id is None:
            raise QuestionError("questions.not_a_lesson_post")
        quoted = "\n".join(f"> {line}" for line in text.splitlines())
        content = t(
            self._settings.locale, "questions.asked_by", user=f"<@{user_id}>", question=quoted
        )
        [message_id, *_] = await self.chat.post_message(thread_id, content)
        verdict = classify(text, locale)
        url = self.message_url(guild_id, thread_id, message_id)
        async with self._sessions() as session, session.begin():
            row = Question(
                source=QuestionSource.DISCORD,
                external_id=str(message_id),
                container_id=str(thread_id),
                url=url,
                lesson_id=lesson_id,
                author_id=str(user_id),
                author_name=user_name[:200],
                text=text,
                asked_at=self._clock(),
                rule=ASK_RULE,
                cue=(verdict.cue or "")[:200] or None,
                locale=verdict.locale or locale,
            )
            session.add(row)
            await session.flush()
            question_id = row.id
        return AskResult(question_id, thread_id, message_id, url)

    async def resolve(
        self,
        thread_id: int,
        user_id: int | str,
        roles: Sequence[str | int] = (),
        message_id: int | None = None,
    ) -> ResolveResult:
        """Resolve questions in a lesson's post or a help post (/resolve): the named one,
        else the asker's own, or every open one of the lesson (or post) when staff runs it."""
        user = str(user_id)
        staff = self.is_discord_staff(roles)
        async with self._sessions() as session, session.begin():
            lesson_id = await self._lesson_of_thread(session, thread_id)
            scope = _Scope(lesson_id=lesson_id)
            if lesson_id is None:
                if await self._stored_help_post(session, thread_id) is None:
                    return ResolveResult("not_a_lesson_post")
                scope = _Scope(thread_id=thread_id)
            query = select(Question).where(*scope.where(), Question.dropped_at.is_(None))
            if message_id is not None:
                query = query.where(
                    Question.source == QuestionSource.DISCORD,
                    Question.external_id == str(message_id),
                )
            else:
                query = query.where(Question.resolved_at.is_(None))
                if not staff:
                    query = query.where(
                        Question.source == QuestionSource.DISCORD, Question.author_id == user
                    )
            rows = list(await session.scalars(query))
            if message_id is not None:
                if not rows:
                    return ResolveResult("not_found")
                if rows[0].author_id != user and not staff:
                    return ResolveResult("forbidden")
                rows = [row for row in rows if row.resolved_at is None]
            now = self._clock()
            for row in rows:
                row.resolved_at = now
                row.resolved_by = user
                row.resolved_how = "command"
        return ResolveResult("resolved" if rows else "none", len(rows))

    async def list(self, open_only: bool = False, program: str | None = None) -> list[QuestionView]:
        """Return the questions (not dropped), oldest first; open: neither answered nor
        resolved, as the digest counts them."""
        program_of = func.coalesce(Lesson.program, Question.program)
        query = (
            select(Question, program_of, Lesson.slug)
            .outerjoin(Lesson, Lesson.id == Question.lesson_id)
            .where(Question.dropped_at.is_(None))
            .order_by(Question.asked_at, Question.id)
        )
        if open_only:
            query = query.where(Question.resolved_at.is_(None), Question.answered_at.is_(None))
        if program:
            query = query.where(program_of == program)
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        return [_view(row, lesson_program, slug) for row, lesson_program, slug in rows]

    # --- posts learners open ---------------------------------------------------------------

    async def _help_post(
        self,
        session: AsyncSession,
        thread_id: int,
        forum_id: int | None,
        title: str | None,
        owner_id: int | str | None,
        author_id: int | str,
        text: str,
    ) -> HelpPost | None:
        """Return the help post a thread is, recording it the first time a message in a
        post of a program's forum is seen (None: the thread is no program's post)."""
        post = await self._stored_help_post(session, thread_id)
        if post is not None or forum_id is None:
            return post
        # The bot's own posts are lessons' (a removed lesson's too), never help posts.
        if owner_id is not None and self._by_bot(owner_id, False):
            return None
        lesson_post = select(LessonLink.id).where(LessonLink.discord_thread_id == thread_id)
        if await session.scalar(lesson_post) is not None:
            return None
        program = await session.scalar(
            select(ProgramForum.program).where(ProgramForum.discord_forum_id == forum_id)
        )
        if program is None:
            return None
        title = (title or "").strip()
        post = HelpPost(
            discord_thread_id=thread_id,
            discord_forum_id=forum_id,
            program=program,
            author_id=str(owner_id if owner_id is not None else author_id),
            title=title[:300],
            locale=guess_locale(f"{title}\n{text}", self._settings.locale),
        )
        found = match_lesson(f"{title}\n{text}", await self._lesson_candidates(session, program))
        if found is not None:
            post.lesson_id = await self._ensure_lesson(session, found.identity)
            post.linked_how = str(found.how)
        session.add(post)
        await session.flush()
        log.info("help post %s in %s: %s", thread_id, program, _linked(found))
        return post

    async def _in_help_post(
        self,
        session: AsyncSession,
        post: HelpPost,
        message_id: int,
        author: str,
        name: str,
        text: str,
        *,
        reply_to: int | None,
        staff: bool,
        created_at: datetime,
        guild_id: int | None,
    ) -> tuple[str, HelpPost | None]:
        """Record a message in a help post; return the outcome, and the post when its
        author should be offered the lesson picker."""
        thread_id = post.discord_thread_id
        # A forum post's first message has the post's id: it is the help asked for.
        starter = message_id == thread_id and author == post.author_id
        asked = f"{post.title}\n{text}".strip() if starter else text
        verdict = classify(asked)
        answered = 0
        if not starter:
            answered = await self._answer(
                session,
                _Scope(thread_id=thread_id),
                answer_id=str(message_id),
                author=author,
                name=name,
                staff=staff,
                at=created_at,
                reply_to=str(reply_to) if reply_to is not None else None,
                sources=(QuestionSource.DISCORD,),
                later="later_message",
                is_question=verdict.is_question,
                reply=reply_verdict(text),
            )
            if not verdict.is_question:
                return (f"answered {answered}" if answered else "ignored: not a question"), None
        recorded = await self._insert(
            session,
            Question(
                source=QuestionSource.DISCORD,
                external_id=str(message_id),
                container_id=str(thread_id),
                url=self.message_url(guild_id, thread_id, message_id),
                lesson_id=post.lesson_id,
                program=post.program,
                author_id=author,
                author_name=name[:200],
                text=asked,
                asked_at=created_at,
                rule=HELP_POST_RULE if starter else (verdict.rule.value if verdict.rule else None),
                cue=(verdict.cue or "")[:200] or None,
                locale=verdict.locale or (post.locale if starter else None),
            ),
        )
        if not recorded:
            return "ignored: already recorded", None
        if starter:
            said = f"question ({HELP_POST_RULE}, {post.locale or '?'})"
            if post.lesson_id is not None:
                return f"{said}, linked by {post.linked_how}", None
            return said, post if post.picker_message_id is None else None
        return _recorded(verdict, answered), None

    async def _offer_picker(self, post: HelpPost) -> str:
        """Post the lesson picker in a help post; return what became of it."""
        if self.chat is None:
            return ", no lesson named"
        async with self._sessions() as session:
            candidates = await self._lesson_candidates(session, post.program)
        select_menu = self.picker(post, candidates)
        if select_menu is None:
            return ", no lesson to offer"
        locale = post.locale or self._settings.locale
        content = t(locale, "questions.picker.prompt", user=f"<@{post.author_id}>")
        try:
            [*_, message_id] = await self.chat.post_message(
                post.discord_thread_id, content, select=select_menu
            )
        except Exception as error:
            log.warning("help post %s: no picker: %s", post.discord_thread_id, error)
            return ", picker not posted"
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(HelpPost)
                .where(HelpPost.id == post.id)
                .values(picker_message_id=message_id, updated_at=self._clock())
            )
        return ", lesson picker offered"

    def picker(self, post: HelpPost, candidates: Sequence[LessonCandidate]) -> ChatSelect | None:
        """Return the lesson picker of a help post: the program's lessons, likeliest first,
        titled in the post's language (None when it has none to offer)."""
        locale = post.locale or self._settings.locale
        ranked = rank(post.title, candidates)
        options = tuple(
            ChatOption(
                label=_title_in(candidate, locale, self._settings.content.default_locale),
                value=candidate.identity,
                description=candidate.identity,
            )
            for candidate in ranked
            # An option's value holds at most 100 characters: a longer identity cannot fit.
            if len(candidate.identity) <= OPTION_LIMIT
        )[:PICKER_OPTIONS]
        custom_id = f"{PICKER_PREFIX}{post.discord_thread_id}"
        if not options or len(custom_id) > CUSTOM_ID_LIMIT:
            return None
        return ChatSelect(custom_id, t(locale, "questions.picker.placeholder"), options)

    async def choose_lesson(
        self, thread_id: int, user_id: int | str, identity: str, roles: Sequence[str | int] = ()
    ) -> PickResult:
        """Link a help post, and its questions, to the lesson its author (or staff) picked."""
        async with self._sessions() as session, session.begin():
            post = await self._stored_help_post(session, thread_id)
            if post is None:
                return PickResult("not_a_help_post")
            if str(user_id) != post.author_id and not self.is_discord_staff(roles):
                return PickResult("forbidden")
            candidates = await self._lesson_candidates(session, post.program)
            if identity not in {candidate.identity for candidate in candidates}:
                return PickResult("unknown_lesson")
            post.lesson_id = await self._ensure_lesson(session, identity)
            post.linked_how = "picked"
            linked = await session.execute(
                update(Question)
                .where(*_Scope(thread_id=thread_id).where())
                .values(lesson_id=post.lesson_id, updated_at=self._clock())
            )
        return PickResult("linked", identity, linked.rowcount or 0)

    async def _lesson_candidates(
        self, session: AsyncSession, program: str
    ) -> list[LessonCandidate]:
        """Return a program's lessons with every name a post may give them: titles in every
        locale (from the catalogue, else as last synced), page links, post and issue."""
        rows = list(
            await session.scalars(
                select(Lesson)
                .where(Lesson.program == program, Lesson.removed_at.is_(None))
                .options(selectinload(Lesson.link), selectinload(Lesson.files))
            )
        )
        stored = {row.slug: row for row in rows}
        template = self._settings.site.lesson_url_template
        catalogue = self._catalogue() if self._catalogue is not None else None
        default = self._settings.content.default_locale
        named: dict[str, tuple[dict[str, str], Lesson | None]] = {}
        if catalogue is not None:
            for lesson in catalogue.ordered_lessons():
                if lesson.program == program and lesson.file(default, default).published:
                    titles = {locale: file.title for locale, file in lesson.files.items()}
                    named[lesson.slug] = (titles, stored.get(lesson.slug))
        else:
            for row in rows:
                named[row.slug] = ({file.locale: file.title for file in row.files}, row)
        candidates = []
        for slug, (titles, row) in named.items():
            link = row.link if row is not None else None
            candidates.append(
                LessonCandidate(
                    identity=f"{program}/{slug}",
                    slug=slug,
                    titles=titles,
                    page_urls=tuple(
                        lesson_page_url(template, program, slug, locale) for locale in titles
                    ),
                    thread_id=link.discord_thread_id if link is not None else None,
                    issue_url=link.github_issue_url if link is not None else None,
                )
            )
        return candidates

    @staticmethod
    async def _ensure_lesson(session: AsyncSession, identity: str) -> int:
        """Return the id of a lesson's row, adding it when no post or issue made it yet."""
        program, _, slug = identity.partition("/")
        return await lesson_id(session, program, slug)

    @staticmethod
    async def _stored_help_post(session: AsyncSession, thread_id: int) -> HelpPost | None:
        return await session.scalar(select(HelpPost).where(HelpPost.discord_thread_id == thread_id))

    # --- shared -----------------------------------------------------------------------------

    def _by_bot(self, author_id: int | str, is_bot: bool) -> bool:
        """Tell whether the bot (or any bot: bridged comments, webhooks) wrote it."""
        mine = self.chat.user_id if self.chat is not None else 0
        return is_bot or (bool(mine) and str(author_id) == str(mine))

    def _answered_from_discord(self) -> tuple[QuestionSource, ...]:
        """Return where a Discord message is seen: GitHub too when messages are mirrored."""
        if self._settings.linking.mirror_to_github:
            return (QuestionSource.DISCORD, QuestionSource.GITHUB)
        return (QuestionSource.DISCORD,)

    async def _answer(
        self,
        session: AsyncSession,
        scope: _Scope,
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
            replied = await self._question(session, QuestionSource.DISCORD, reply_to)
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

    def _reevaluate(self, row: Question, text: str) -> str:
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
                row.dropped_at, row.drop_reason = self._clock(), "not_a_question"
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

    async def _insert(self, session: AsyncSession, question: Question) -> bool:
        """Add a question unless its message is already recorded (a redelivered event)."""
        if await self._question(session, question.source, question.external_id) is not None:
            return False
        session.add(question)
        await session.flush()
        return True

    async def _drop(self, source: QuestionSource, external_id: str) -> str:
        """Drop a deleted question; a deleted first answer leaves its questions unanswered."""
        async with self._sessions() as session, session.begin():
            row = await self._question(session, source, external_id)
            if row is not None:
                row.dropped_at, row.drop_reason = self._clock(), "deleted"
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

    @staticmethod
    async def _question(
        session: AsyncSession, source: QuestionSource, external_id: str
    ) -> Question | None:
        return await session.scalar(
            select(Question).where(Question.source == source, Question.external_id == external_id)
        )

    @staticmethod
    async def _lesson_of_thread(session: AsyncSession, thread_id: int) -> int | None:
        return await session.scalar(
            select(LessonLink.lesson_id)
            .join(Lesson, Lesson.id == LessonLink.lesson_id)
            .where(LessonLink.discord_thread_id == thread_id, Lesson.removed_at.is_(None))
        )

    @staticmethod
    async def _guild_of_thread(session: AsyncSession, thread_id: int) -> int | None:
        return await session.scalar(
            select(ProgramForum.discord_guild_id)
            .join(LessonLink, LessonLink.discord_forum_id == ProgramForum.discord_forum_id)
            .where(LessonLink.discord_thread_id == thread_id)
        )


def _view(row: Question, program: str, slug: str | None) -> QuestionView:
    return QuestionView(
        id=row.id,
        source=str(row.source),
        external_id=row.external_id,
        lesson=f"{program}/{slug}" if slug is not None else "",
        program=program,
        author_id=row.author_id,
        author_name=row.author_name,
        text=row.text,
        url=row.url,
        asked_at=row.asked_at,
        rule=row.rule,
        cue=row.cue,
        locale=row.locale,
        answered_at=row.answered_at,
        answered_by=row.answered_by,
        answered_how=row.answered_how,
        answered_by_staff=bool(row.answered_by_staff),
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        resolved_how=row.resolved_how,
        dropped_at=row.dropped_at,
        drop_reason=row.drop_reason,
    )


def _linked(found: LessonMatch | None) -> str:
    """Say which lesson a help post names, and how."""
    return f"names {found.identity} ({found.how}: {found.cue})" if found else "names no lesson"


def _title_in(candidate: LessonCandidate, locale: str, default: str) -> str:
    """Return a lesson's title in a locale, else the default locale's, else its slug."""
    for code in (locale, locale.split("-")[0], default):
        if code in candidate.titles:
            return candidate.titles[code]
    return candidate.slug


def _recorded(verdict: QuestionVerdict, answered: int = 0) -> str:
    """Return the outcome of a message recorded as a question (and what it answered)."""
    said = f"question ({verdict.rule}, {verdict.locale or '?'})"
    return f"{said}, answered {answered}" if answered else said
