"""Telling people about a suggestion: the suggester by DM or email, the lesson's post.

Every person who sent a suggestion is told at each step, a job per person and step, so
nobody is told twice or never.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from bot.domain.neutral import discord_fenced, discord_name, one_line_name, strip_overrides
from bot.domain.pull_request import cut
from bot.i18n import t
from bot.services.outbox import Claim
from bot.services.ports import (
    ChatButton,
    ChatForbiddenError,
    ChatMessage,
    ChatNotFoundError,
    OutgoingMail,
    suggestion_button_id,
)
from bot.services.suggestions.dependencies import Dependencies
from bot.services.suggestions.records import (
    REVISABLE,
    lesson_links,
    load_suggestion,
    suggestion_of_job,
)
from bot.services.suggestions.views import SuggestionView, view_of
from bot.store.models import Suggestion, SuggestionEvent

# Review verdicts whose notice carries the proposals that came before it.
VERDICTS = ("changes_requested", "approved")
# A notice is one Discord message (so its buttons and the mention it starts with stay
# together): the reviewer's words and proposed texts are cut shorter until it fits.
NOTICE_LIMIT = 1900
_NOTICE_CUTS = ((1500, 500, 3), (700, 300, 3), (300, 150, 2), (120, 80, 1))


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


class Notices:
    """Tell suggesters and the lesson's readers what became of a suggestion."""

    def __init__(self, deps: Dependencies) -> None:
        self._deps = deps

    async def notify(self, claim: Claim) -> str:
        """Tell one suggester about one event: a DM, else a reply in the lesson's post."""
        deps = self._deps
        job = claim.payload
        async with deps.sessions() as session:
            row = await load_suggestion(session, int(job["suggestion_id"]))
            event = next((e for e in row.events if e.id == job["event_id"]), None) if row else None
            credit = (
                next((c for c in row.credits if c.id == job["credit_id"]), None) if row else None
            )
            if row is None or event is None or credit is None:
                await deps.outbox.complete(claim, session)
                await session.commit()
                return "nothing to tell"
            view = view_of(row)
            # A proposed text told on its own: it came after its review was told.
            kind = "proposal" if event.kind == "reviewer_suggestion" else event.kind
            if kind == "proposal" and not _still_open(view, event.detail):
                await deps.outbox.complete(claim, session)
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
        chat = deps.chat
        if user_id is None or chat is None:
            # Web and API suggesters follow their status page (and email, when enabled).
            await deps.outbox.complete(claim)
            return "shown on the status page"
        message = self._step_text(step)
        buttons = self.notice_buttons(step.view, step.event_id, step.locale, step.proposals)
        # The status link names this step and the person's language: an attempt after a
        # crash finds the message it may have sent by it, and nobody reads it as clutter.
        url = buttons[-1].url
        try:
            if claim.uncertain and await self._already_told(user_id, url):
                await deps.outbox.complete(claim)
                return "sent a DM (found after a crash)"
            await chat.send_dm(user_id, message, buttons=buttons)
            how = "sent a DM"
        except ChatForbiddenError:
            links = await lesson_links(deps.sessions, deps.settings, lesson_id)
            if links.thread_id is None:
                await deps.outbox.complete(claim)
                return "DMs closed and no lesson post"
            mention = f"<@{user_id}>"
            if claim.uncertain:
                recent = await chat.recent_messages(links.thread_id, 50)
                if _told_in(recent, url, mention):
                    await deps.outbox.complete(claim)
                    return "replied in the lesson's post (found after a crash)"
            await chat.post_message(links.thread_id, f"{mention} {message}", buttons=buttons)
            how = "replied in the lesson's post"
        except ChatNotFoundError:
            how = "no such user"
        await deps.outbox.complete(claim)
        return how

    async def post_in_lesson(self, claim: Claim) -> str:
        """Say in the lesson's post that an edit was suggested, or thank people for it."""
        deps = self._deps
        suggestion_id = suggestion_of_job(claim.key)
        async with deps.sessions() as session:
            row = await load_suggestion(session, suggestion_id)
            event = (
                next((e for e in row.events if e.id == claim.payload["event_id"]), None)
                if row is not None
                else None
            )
            chat = deps.chat
            if row is None or event is None or chat is None:
                await deps.outbox.complete(claim, session)
                await session.commit()
                return "nothing to post"
            view = view_of(row)
            lesson_id = row.lesson_id
        links = await lesson_links(deps.sessions, deps.settings, lesson_id)
        if links.thread_id is None:
            await deps.outbox.complete(claim)
            return "the lesson has no post"
        locale = deps.settings.locale
        # Many people read a post, each in their language: its link names none (the page
        # takes the reader's), which also tells it apart from a suggester's notice.
        link = ChatButton(
            t(locale, "suggest.button.status"), url=self.step_url(suggestion_id, event.id)
        )
        if claim.uncertain:
            recent = await chat.recent_messages(links.thread_id, 50)
            if _told_in(recent, link.url):
                await deps.outbox.complete(claim)
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
        await chat.post_message(links.thread_id, message, buttons=[link])
        await deps.outbox.complete(claim)
        return "posted"

    def _lesson_title(self, view: SuggestionView) -> str:
        """Return the lesson's title in the edited language (its program/slug if unknown)."""
        catalogue = self._deps.catalogue()
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
        deps = self._deps
        if deps.mail is None or not address:
            await deps.outbox.complete(claim)
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
        domain = deps.settings.mail.sender.rpartition("@")[2] or "lessonbot"
        await deps.mail.send(
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
        await deps.outbox.complete(claim)
        return "emailed"

    async def _already_told(self, user_id: int, url: str) -> bool:
        """Tell whether an earlier attempt sent this notice before it could confirm it."""
        chat = self._deps.chat
        assert chat is not None
        channel_id = await chat.dm_channel_id(user_id)
        recent = await chat.recent_messages(channel_id, 50)
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
        return f"{self._deps.settings.web.public_url.rstrip('/')}/suggestions/{suggestion_id}"


def _proposals_told(row: Suggestion, event: SuggestionEvent) -> list[dict[str, Any]]:
    """Return the proposed texts a notice of `event` carries, oldest first.

    A verdict carries its review's proposals recorded before it; one recorded after was
    told on its own (see Review.on_review_comment), so each is told once.
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


def _summary(body: str, limit: int, plain: bool) -> str:
    """Return a reviewer's words as a block of their own, or nothing when they wrote none."""
    body = body.strip()
    return "\n" + _block(body, limit, plain) if body else ""


def _block(text_: str, limit: int, plain: bool) -> str:
    """Return a person's text as a block nothing in it can end: a Discord code block, or
    in an email its lines indented (plain text has no markup to escape)."""
    if not plain:
        return discord_fenced(cut(text_, limit))
    lines = strip_overrides(cut(text_.rstrip("\r\n"), limit)).splitlines() or [""]
    return "\n".join(f"    {line}" for line in lines)
