"""Every email in every served locale: the digest (text and HTML) and each suggestion notice.

The emails are the ones the services send, caught by the mail port's one fake: the digest
service's run for one maintainer per locale, and the suggestion service's notice jobs for
one suggester per locale, one for each notice the catalog has words for (enumerated from
the English catalog, so a notice added later is mailed here too).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.config import (
    DigestSettings,
    DiscordSettings,
    MailSettings,
    MaintainerSettings,
    Settings,
    SuggestionSettings,
    WebSettings,
)
from bot.domain.catalogue import load_catalogue
from bot.i18n import load_catalog
from bot.services.outbox import Outbox
from bot.services.ports import OutgoingMail
from bot.services.suggestions import Author, SuggestionInput, SuggestionService
from bot.services.suggestions.records import NOTIFY_KIND
from bot.store.models import (
    Suggestion,
    SuggestionCredit,
    SuggestionEvent,
    SuggestionSource,
    SuggestionStatus,
)
from tests.i18n.audit import (
    SERVED_LOCALES,
    Output,
    check_clean,
    check_page_direction,
    check_translated,
    read_page,
    text_segments,
)
from tests.services.test_digests import CHANNEL, FakeMail, drain, make, seed
from tests.web.suggest_support import PASSAGE, REPLACEMENT, SIGNER, Sessions, copy_content

PUBLIC_URL = "https://bot.example"
# What the digest shows that people wrote or named (tests/services/test_digests.py's seed).
DIGEST_DATA = (
    "How do I stop a loop?",
    "لماذا لا تعيد الدالة شيئًا؟",
    "How do I read a CSV?",
    "Loops",
    "Functions",
    "Pandas",
    "Python",
    "Data",
    "learner1",
    "learner2",
    "learner3",
)
REVIEWER = "octo-cat 2"
REVIEW_BODY = "Please keep the original example."
LESSON_TITLE = "Quizzes With Pipes"
NOTICE_DATA = (REVIEWER, REVIEW_BODY, LESSON_TITLE, REPLACEMENT, PASSAGE, "demo/pipes")


def digest_settings() -> Settings:
    """Return settings with one maintainer per served locale, all programs, all lessons."""
    maintainers = tuple(
        MaintainerSettings(address=f"{locale}@example.org", locale=locale)
        for locale in SERVED_LOCALES
    )
    return Settings(
        discord=DiscordSettings(digest_channel_id=CHANNEL),
        web=WebSettings(public_url=PUBLIC_URL),
        mail=MailSettings(maintainers=maintainers),
        digest=DigestSettings(),
    )


def mail_to(mails: list[OutgoingMail], locale: str) -> list[OutgoingMail]:
    """Return the emails sent to the reader of one locale."""
    return [mail for mail in mails if mail.to[0] == f"{locale}@example.org"]


def audit_mail(
    name: str, locale: str, mail: OutgoingMail, english: OutgoingMail, data: tuple[str, ...]
) -> list[str]:
    """Return every problem a reader would meet in an email's subject, text and HTML."""
    problems: list[str] = []
    parts = [
        ("subject", [mail.subject], [english.subject]),
        ("text", text_segments(mail.text), text_segments(english.text)),
    ]
    for part, segments, english_segments in parts:
        output = Output(f"{name}.{part}", locale, segments, data)
        check_clean(output)
        check_translated(output, Output("", "en", english_segments))
        problems += output.problems
    if mail.html is not None:
        assert english.html is not None
        page = read_page(mail.html)
        output = Output(f"{name}.html", locale, page.segments(), data)
        check_clean(output)
        check_translated(output, Output("", "en", read_page(english.html).segments()))
        check_page_direction(output, page, data)
        problems += output.problems
    return problems


@pytest.mark.parametrize("locale", SERVED_LOCALES)
async def test_digest_email_reads_right(session_factory: Sessions, locale: str) -> None:
    await seed(session_factory)
    service, worker, _, mail = make(session_factory, digest_settings())
    await service.run("manual:audit")
    await drain(worker)

    [shown], [english] = mail_to(mail.sent, locale), mail_to(mail.sent, "en")
    assert shown.html is not None and f'lang="{locale}"' in shown.html
    assert audit_mail("digest", locale, shown, english, DIGEST_DATA) == []


def notice_kinds() -> list[str]:
    """Return every event kind a suggester is emailed about, from the English catalog."""
    prefix = "suggest.notice."
    kinds = [
        key.removeprefix(prefix) for key in load_catalog("en").messages if key.startswith(prefix)
    ]
    # A proposed text is told under its review, or on its own as a reviewer_suggestion.
    return [kind for kind in kinds if kind not in ("proposed_text", "proposal")] + [
        "reviewer_suggestion"
    ]


def _detail(kind: str) -> Mapping[str, Any]:
    detail: dict[str, Any] = {"reviewer": REVIEWER, "body": REVIEW_BODY, "line": 16}
    if kind == "reviewer_suggestion":
        detail |= {"comment_id": 55, "suggestion": REPLACEMENT}
    return detail


async def notice_mails(sessions: Sessions, root: Path) -> list[tuple[str, OutgoingMail]]:
    """Send one suggestion from one person per locale, tell them every event, and return
    each email sent with the event kind it tells."""
    catalogue = load_catalogue(copy_content(root), "en")
    mail = FakeMail()
    settings = Settings(
        web=WebSettings(public_url=PUBLIC_URL),
        suggestions=SuggestionSettings(per_person_per_hour=0, email_updates=True),
    )
    outbox = Outbox(sessions)
    service = SuggestionService(
        sessions, outbox, settings, catalogue=lambda: catalogue, signer=SIGNER, mail=mail
    )
    for number, locale in enumerate(SERVED_LOCALES):
        author = Author(
            name=f"Ada {number}",
            email=f"{locale}@example.org",
            discord_user_id=1000 + number,
            locale=locale,
        )
        request = SuggestionInput(
            "demo/pipes", "en", PASSAGE, REPLACEMENT, "Clearer", SuggestionSource.WEB, author
        )
        submitted = await service.submit(request)
    kinds: dict[int, str] = {}
    async with sessions() as session, session.begin():
        # Under review, with a pull request: a reviewer's text may still be taken.
        await session.execute(
            update(Suggestion)
            .where(Suggestion.id == submitted.id)
            .values(
                status=SuggestionStatus.CHANGES_REQUESTED,
                pr_number=7,
                pr_url="https://github.example/lessons/content/pull/7",
            )
        )
        credits = (await session.execute(select(SuggestionCredit))).scalars().all()
        assert len(credits) == len(SERVED_LOCALES)
        for kind in notice_kinds():
            event = SuggestionEvent(suggestion_id=submitted.id, kind=kind, detail=_detail(kind))
            session.add(event)
            await session.flush()
            kinds[event.id] = kind
            intents = [
                (
                    f"notify:{event.id}:{credit.id}:mail",
                    {
                        "suggestion_id": submitted.id,
                        "event_id": event.id,
                        "credit_id": credit.id,
                        "channel": "mail",
                    },
                )
                for credit in credits
            ]
            await outbox.enqueue_many(NOTIFY_KIND, intents, session)
    while claims := await outbox.claim_due(50, [NOTIFY_KIND]):
        for claim in claims:
            await service.run_job(claim)
    # The events of the submits themselves are told too; the audit reads the ones above.
    by_event = []
    for sent in mail.sent:
        event_id = int(sent.message_id.split("-")[2]) if sent.message_id else 0
        if event_id in kinds:
            by_event.append((kinds[event_id], sent))
    return by_event


@pytest.mark.parametrize("locale", SERVED_LOCALES)
async def test_suggestion_notice_emails_read_right(
    session_factory: Sessions, tmp_path: Path, locale: str
) -> None:
    sent = await notice_mails(session_factory, tmp_path)
    shown = {kind: mail for kind, mail in sent if mail.to[0] == f"{locale}@example.org"}
    english = {kind: mail for kind, mail in sent if mail.to[0] == "en@example.org"}
    # Every notice kind reached this reader, in one email each.
    assert len([kind for kind, mail in sent if mail.to[0] == f"{locale}@example.org"]) == len(
        notice_kinds()
    )
    assert set(notice_kinds()) <= set(shown), sorted(set(notice_kinds()) - set(shown))
    problems: list[str] = []
    for kind, mail in sorted(shown.items()):
        problems += audit_mail(f"notice.{kind}", locale, mail, english[kind], NOTICE_DATA)
    assert problems == []
