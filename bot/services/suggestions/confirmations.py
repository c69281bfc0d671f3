"""Mode "unknown": a held suggester who gave an email confirms it once, and is known from then.

The first suggestion held because its sender is unknown records one row per address
(`email_confirmations`, unique) and, only when that row is new, the job that emails the
signed link, in the suggestion's own transaction: an address is asked once, and a second
suggestion sends nothing while the link is outstanding. Confirming marks the address
known (a compare-and-set) and releases that sender's suggestions held only for being
unknown, each as a moderator's approval would; suspicious ones stay held.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import t
from bot.services.outbox import Claim
from bot.services.ports import OutgoingMail
from bot.services.suggestions.dependencies import Dependencies
from bot.services.suggestions.moderation import Moderation, ModerationError
from bot.services.suggestions.moderation_posts import EMAIL_CONFIRMED
from bot.services.suggestions.records import JOB_KIND
from bot.store.models import (
    EmailConfirmation,
    Suggestion,
    SuggestionCredit,
    SuggestionModeration,
    SuggestionStatus,
)
from bot.store.upsert import insert_new

log = logging.getLogger(__name__)

PURPOSE = "confirm-email"
CONFIRM_PATH = "/suggestions/confirm"


def email_key(address: str) -> str:
    """Return an address as confirmations keep it: trimmed and lower-cased."""
    return address.strip().lower()[:400]


class Confirmations:
    """Ask unknown suggesters to confirm their email once, and release them when they do."""

    def __init__(self, deps: Dependencies, moderation: Moderation) -> None:
        self._deps = deps
        self._moderation = moderation

    async def ask(
        self, session: AsyncSession, suggestion_id: int, address: str, locale: str
    ) -> bool:
        """Record, in the caller's transaction, the one confirmation of an address; return
        whether it is new (then its email is due)."""
        if self._deps.mail is None:
            return False  # no mail here: a moderator decides, as without an address
        now = self._deps.clock()
        inserted = await session.execute(
            insert_new(session, EmailConfirmation, ["email"])
            .values(email=email_key(address), locale=locale[:16], created_at=now)
            .returning(EmailConfirmation.id)
        )
        confirmation_id = inserted.scalar()
        if confirmation_id is None:
            return False  # asked before: the link it got still works
        await self._deps.outbox.enqueue_many(
            JOB_KIND,
            [
                (
                    f"suggestion:{suggestion_id}:confirm-email",
                    {"op": "confirm_email", "confirmation_id": int(confirmation_id)},
                )
            ],
            session,
        )
        return True

    def token(self, confirmation_id: int, address: str) -> str:
        """Return the signed token of one address's confirmation link."""
        return self._deps.signer.sign(PURPOSE, f"{confirmation_id}:{email_key(address)}")

    def url(self, confirmation_id: int, address: str, locale: str) -> str:
        """Return the confirmation link an email carries."""
        query = urlencode(
            {
                "id": confirmation_id,
                "token": self.token(confirmation_id, address),
                "locale": locale,
            }
        )
        return f"{self._deps.settings.web.public_url.rstrip('/')}{CONFIRM_PATH}?{query}"

    async def send(self, claim: Claim) -> str:
        """Email the confirmation link (the same Message-ID on every retry)."""
        deps = self._deps
        confirmation_id = int(claim.payload["confirmation_id"])
        async with deps.sessions() as session:
            row = await session.get(EmailConfirmation, confirmation_id)
        if row is None or row.confirmed_at is not None or deps.mail is None:
            await deps.outbox.complete(claim)
            return "nothing to send"
        locale = row.locale
        link = self.url(row.id, row.email, locale)
        domain = deps.settings.mail.sender.rpartition("@")[2] or "lessonbot"
        await deps.mail.send(
            OutgoingMail(
                to=(row.email,),
                subject=t(locale, "moderation_queue.confirm_subject"),
                text=t(locale, "moderation_queue.confirm_body", url=link) + "\n",
                message_id=f"<confirm-email-{row.id}@{domain}>",
            )
        )
        await deps.outbox.complete(claim)
        log.info("confirmation email %d sent", row.id)
        return "emailed"

    async def check(self, confirmation_id: int, token: str) -> str | None:
        """Return the address a link confirms when its token is right, else None."""
        async with self._deps.sessions() as session:
            row = await session.get(EmailConfirmation, confirmation_id)
        if row is None or not self._deps.signer.verify(PURPOSE, f"{row.id}:{row.email}", token):
            return None
        return row.email

    async def confirm(self, confirmation_id: int, token: str) -> list[int] | None:
        """Mark an address known and release its suggestions held only for being unknown;
        return their ids (None when the link is not ours)."""
        address = await self.check(confirmation_id, token)
        if address is None:
            return None
        now = self._deps.clock()
        async with self._deps.sessions() as session, session.begin():
            # Once: a second press (or a second process) finds it confirmed already.
            await session.execute(
                update(EmailConfirmation)
                .where(
                    EmailConfirmation.id == confirmation_id,
                    EmailConfirmation.confirmed_at.is_(None),
                )
                .values(confirmed_at=now)
                .execution_options(synchronize_session=False)
            )
            held = list(
                await session.scalars(
                    select(Suggestion.id)
                    .join(SuggestionCredit, SuggestionCredit.suggestion_id == Suggestion.id)
                    .join(
                        SuggestionModeration,
                        SuggestionModeration.suggestion_id == Suggestion.id,
                    )
                    .where(
                        func.lower(SuggestionCredit.email) == address,
                        Suggestion.status == SuggestionStatus.HELD,
                        SuggestionModeration.reason == "unknown",
                    )
                    .order_by(Suggestion.id)
                    .distinct()
                )
            )
        released = []
        for suggestion_id in held:
            try:
                await self._moderation.approve(suggestion_id, EMAIL_CONFIRMED)
            except ModerationError:
                continue  # a moderator decided it meanwhile
            released.append(suggestion_id)
        log.info("email confirmation %d: %d suggestion(s) released", confirmation_id, len(released))
        return released
