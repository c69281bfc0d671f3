"""Posts learners open in a program's forum: recording them and their messages, finding
the lesson each is about, and the picker that lets its author choose one when none is named."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.domain.help_posts import LessonCandidate, match_lesson, rank
from bot.domain.link_texts import lesson_page_url
from bot.domain.question_texts import lesson_named, recorded_outcome, title_in
from bot.domain.questions import classify, guess_locale, reply_verdict
from bot.i18n import t
from bot.services.ports import CUSTOM_ID_LIMIT, ChatOption, ChatSelect
from bot.services.questions.answers import Answers
from bot.services.questions.dependencies import Dependencies
from bot.services.questions.records import (
    HELP_POST_RULE,
    Scope,
    ensure_lesson,
    insert_question,
    stored_help_post,
)
from bot.services.questions.staff import Staff
from bot.services.questions.views import PickResult
from bot.store.models import HelpPost, Lesson, LessonLink, ProgramForum, Question, QuestionSource

log = logging.getLogger(__name__)

# A lesson picker's custom_id: `lessonbot:pick:<thread id>`; its values are `program/slug`.
PICKER_PREFIX = "lessonbot:pick:"
# Discord's limits on a select menu's options and on an option's value.
PICKER_OPTIONS = 25
OPTION_LIMIT = 100


class HelpPosts:
    """Track help posts: the post itself, its questions and answers, and its lesson."""

    def __init__(self, deps: Dependencies, *, staff: Staff, answers: Answers) -> None:
        self._deps = deps
        self._staff = staff
        self._answers = answers

    async def find_or_record(
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
        post = await stored_help_post(session, thread_id)
        if post is not None or forum_id is None:
            return post
        # The bot's own posts are lessons' (a removed lesson's too), never help posts.
        if owner_id is not None and self._deps.by_bot(owner_id, False):
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
            locale=guess_locale(f"{title}\n{text}", self._deps.settings.locale),
        )
        found = match_lesson(f"{title}\n{text}", await self.lesson_candidates(session, program))
        if found is not None:
            post.lesson_id = await ensure_lesson(session, found.identity)
            post.linked_how = str(found.how)
        session.add(post)
        await session.flush()
        log.info("help post %s in %s: %s", thread_id, program, lesson_named(found))
        return post

    async def record_message(
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
            answered = await self._answers.answer(
                session,
                Scope(thread_id=thread_id),
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
        recorded = await insert_question(
            session,
            Question(
                source=QuestionSource.DISCORD,
                external_id=str(message_id),
                container_id=str(thread_id),
                url=self._deps.message_url(guild_id, thread_id, message_id),
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
        return recorded_outcome(verdict, answered), None

    async def offer_picker(self, post: HelpPost) -> str:
        """Post the lesson picker in a help post; return what became of it."""
        if self._deps.chat is None:
            return ", no lesson named"
        async with self._deps.sessions() as session:
            candidates = await self.lesson_candidates(session, post.program)
        select_menu = self.picker(post, candidates)
        if select_menu is None:
            return ", no lesson to offer"
        locale = post.locale or self._deps.settings.locale
        content = t(locale, "questions.picker.prompt", user=f"<@{post.author_id}>")
        try:
            [*_, message_id] = await self._deps.chat.post_message(
                post.discord_thread_id, content, select=select_menu
            )
        except Exception as error:
            log.warning("help post %s: no picker: %s", post.discord_thread_id, error)
            return ", picker not posted"
        async with self._deps.sessions() as session, session.begin():
            await session.execute(
                update(HelpPost)
                .where(HelpPost.id == post.id)
                .values(picker_message_id=message_id, updated_at=self._deps.clock())
            )
        return ", lesson picker offered"

    def picker(self, post: HelpPost, candidates: Sequence[LessonCandidate]) -> ChatSelect | None:
        """Return the lesson picker of a help post: the program's lessons, likeliest first,
        titled in the post's language (None when it has none to offer)."""
        locale = post.locale or self._deps.settings.locale
        ranked = rank(post.title, candidates)
        options = tuple(
            ChatOption(
                label=title_in(candidate, locale, self._deps.settings.content.default_locale),
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
        async with self._deps.sessions() as session, session.begin():
            post = await stored_help_post(session, thread_id)
            if post is None:
                return PickResult("not_a_help_post")
            if str(user_id) != post.author_id and not self._staff.is_discord_staff(roles):
                return PickResult("forbidden")
            candidates = await self.lesson_candidates(session, post.program)
            if identity not in {candidate.identity for candidate in candidates}:
                return PickResult("unknown_lesson")
            post.lesson_id = await ensure_lesson(session, identity)
            post.linked_how = "picked"
            linked = await session.execute(
                update(Question)
                .where(*Scope(thread_id=thread_id).where())
                .values(lesson_id=post.lesson_id, updated_at=self._deps.clock())
            )
        return PickResult("linked", identity, linked.rowcount or 0)

    async def lesson_candidates(self, session: AsyncSession, program: str) -> list[LessonCandidate]:
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
        template = self._deps.settings.site.lesson_url_template
        catalogue = self._deps.catalogue() if self._deps.catalogue is not None else None
        default = self._deps.settings.content.default_locale
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
