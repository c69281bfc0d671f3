"""The suggestion service: one facade over the parts that take, follow and tell suggestions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.domain.catalogue import Catalogue
from bot.services.events import EventHandler, PullRequestEvent, ReviewCommentEvent, ReviewEvent
from bot.services.outbox import Claim, JobWait, Outbox
from bot.services.ports import ChatButton, ChatPort, GitHubPort, MailPort
from bot.services.signing import Signer
from bot.services.suggestions.access import Access
from bot.services.suggestions.actions import Actions
from bot.services.suggestions.confirmations import Confirmations
from bot.services.suggestions.dependencies import Dependencies
from bot.services.suggestions.intake import Intake, LessonTexts
from bot.services.suggestions.jobs import Jobs
from bot.services.suggestions.moderation import Moderation
from bot.services.suggestions.moderation_posts import ModerationPosts
from bot.services.suggestions.notices import Notices
from bot.services.suggestions.progress import Progress
from bot.services.suggestions.queries import Queries
from bot.services.suggestions.records import JOB_KIND, NOTIFY_KIND
from bot.services.suggestions.review import Review
from bot.services.suggestions.views import Preview, Submitted, SuggestionInput, SuggestionView
from bot.store.models import SuggestionStatus, utcnow


class SuggestionService:
    """Take suggested edits, open their pull requests and follow them through review."""

    JOB_KIND = JOB_KIND
    NOTIFY_KIND = NOTIFY_KIND

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
        touch: Callable[[str], Awaitable[object]] | None = None,
    ) -> None:
        deps = Dependencies(
            sessions=sessions,
            outbox=outbox,
            settings=settings,
            catalogue=catalogue,
            signer=signer,
            github=github,
            chat=chat,
            mail=mail,
            wake=wake or (lambda: None),
            clock=clock,
        )
        self._deps = deps
        # Moves the lesson's pending linking ahead of bulk work (its PR links its issue).
        self._touch = touch
        texts = LessonTexts()
        access = Access(deps)
        progress = Progress(deps)
        self._access = access
        self._queries = Queries(deps)
        posts = ModerationPosts(deps)
        self._moderation = Moderation(deps, posts)
        self._confirmations = Confirmations(deps, self._moderation)
        self._intake = Intake(deps, texts, access, self._moderation, self._confirmations)
        self._actions = Actions(
            deps, access=access, intake=self._intake, progress=progress, queries=self._queries
        )
        self._notices = Notices(deps)
        self._jobs = Jobs(
            deps,
            texts=texts,
            access=access,
            progress=progress,
            notices=self._notices,
            posts=posts,
            confirmations=self._confirmations,
        )
        self._review = Review(deps, access=access, progress=progress)

    @property
    def chat(self) -> ChatPort | None:
        """Return the chat port notices go through (None in commands run without the bot)."""
        return self._deps.chat

    # --- taking a suggestion ---------------------------------------------------------------

    async def preview(self, request: SuggestionInput) -> Preview:
        """Check an edit against the lesson as it is now, storing nothing."""
        return await self._intake.preview(request)

    async def submit(self, request: SuggestionInput) -> Submitted:
        """Check an edit and store it with the job that opens its PR; answer at once."""
        submitted = await self._intake.submit(request)
        if self._touch is not None:
            await self._touch(request.lesson)
        return submitted

    def token(self, suggestion_id: int, credit_id: int) -> str:
        """Return the token that lets one suggester revise or withdraw a suggestion."""
        return self._access.token(suggestion_id, credit_id)

    @property
    def moderation(self) -> Moderation:
        """Return the moderators' side: held suggestions, decisions, the block list."""
        return self._moderation

    @property
    def confirmations(self) -> Confirmations:
        """Return the email confirmations of mode "unknown": the link, and confirming it."""
        return self._confirmations

    # --- reading ---------------------------------------------------------------------------

    async def lesson_source(self, path: str) -> str:
        """Return a lesson file's text as the content copy has it (read once per change)."""
        text, _ = await self._intake.read(self._deps.catalogue(), path)
        return text

    async def opening_wait(self, suggestion_id: int) -> JobWait | None:
        """Return the known wait the job opening a suggestion's PR sits out, or None."""
        return await self._queries.opening_wait(suggestion_id)

    async def view(self, suggestion_id: int) -> SuggestionView | None:
        """Return a suggestion with its events, or None."""
        return await self._queries.view(suggestion_id)

    async def for_lesson(self, identity: str, *, pending_only: bool = True) -> list[SuggestionView]:
        """Return a lesson's suggestions (pending ones by default), newest first."""
        return await self._queries.for_lesson(identity, pending_only=pending_only)

    async def list(
        self, statuses: Sequence[SuggestionStatus] | None = None
    ) -> list[SuggestionView]:
        """Return suggestions (of these statuses), newest first."""
        return await self._queries.list(statuses)

    # --- the suggester changes their mind ----------------------------------------------------

    async def authorize(
        self,
        suggestion_id: int,
        *,
        token: str | None = None,
        discord_user_id: int | None = None,
    ) -> int:
        """Return the credit id of the suggester this token or Discord user is."""
        return await self._access.authorize(
            suggestion_id, token=token, discord_user_id=discord_user_id
        )

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
        return await self._actions.revise(
            suggestion_id, find, replace_with, reason, token=token, discord_user_id=discord_user_id
        )

    async def accept(
        self,
        suggestion_id: int,
        comment_id: int | None = None,
        *,
        token: str | None = None,
        discord_user_id: int | None = None,
    ) -> SuggestionView:
        """Commit a reviewer's proposed text (the newest, or the one of `comment_id`)."""
        return await self._actions.accept(
            suggestion_id, comment_id, token=token, discord_user_id=discord_user_id
        )

    async def withdraw(
        self,
        suggestion_id: int,
        *,
        token: str | None = None,
        discord_user_id: int | None = None,
    ) -> SuggestionView:
        """Take one suggester's name off; when nobody is left, close the PR with a note."""
        return await self._actions.withdraw(
            suggestion_id, token=token, discord_user_id=discord_user_id
        )

    # --- the write path --------------------------------------------------------------------

    async def run_job(self, claim: Claim) -> str:
        """Perform one claimed suggestion job and confirm it, or give it back with its error."""
        return await self._jobs.run_job(claim)

    # --- telling people --------------------------------------------------------------------

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
        """Return what a suggester is told about an event, in their language."""
        return self._notices.notice(
            view,
            kind,
            detail,
            locale,
            proposals=proposals,
            lesson_title=lesson_title,
            plain=plain,
        )

    def notice_buttons(
        self,
        view: SuggestionView,
        event_id: int,
        locale: str,
        proposals: Sequence[Mapping[str, Any]] = (),
    ) -> list[ChatButton]:
        """Return the buttons under a notice, its status page last."""
        return self._notices.notice_buttons(view, event_id, locale, proposals)

    def step_url(self, suggestion_id: int, event_id: int, locale: str | None = None) -> str:
        """Return the status page at one event, in a language when given."""
        return self._notices.step_url(suggestion_id, event_id, locale)

    def status_url(self, suggestion_id: int) -> str:
        """Return the status page of a suggestion."""
        return self._notices.status_url(suggestion_id)

    # --- following the review (GitHub webhooks) ------------------------------------------

    def webhook_handlers(self) -> list[EventHandler[Any]]:
        """Return the handlers that follow suggestions' pull requests through review."""
        return [
            EventHandler(PullRequestEvent, "suggestions", self.on_pull_request),
            EventHandler(ReviewEvent, "suggestions", self.on_review),
            EventHandler(ReviewCommentEvent, "suggestions", self.on_review_comment),
        ]

    async def on_pull_request(self, event: PullRequestEvent) -> str:
        """Move a suggestion when its PR closes, merges or reopens."""
        return await self._review.on_pull_request(event)

    async def on_review(self, event: ReviewEvent) -> str:
        """Follow a submitted or dismissed review of a suggestion's PR."""
        return await self._review.on_review(event)

    async def on_review_comment(self, event: ReviewCommentEvent) -> str:
        """Keep a reviewer's line comment, and its ```suggestion block as a proposal."""
        return await self._review.on_review_comment(event)

    async def may_propose(self, login: str, program: str) -> bool | None:
        """Tell whether `login` may propose text a suggester can commit (None: unknown)."""
        return await self._access.may_propose(login, program)

    async def on_default_branch_push(self, changed_paths: Sequence[str], branch: str) -> int:
        """Target `branch` from now on and re-check open suggestions whose file changed on
        it; return how many."""
        return await self._review.on_default_branch_push(changed_paths, branch)
