"""Digest emails through the real SMTP adapter into the SMTP catcher: one multipart email
per maintainer with exactly their open questions, and a one-click unsubscribe header."""

from __future__ import annotations

import dataclasses
from email import message_from_bytes, policy
from email.message import EmailMessage

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import MailSettings
from bot.mail.smtp import SmtpMailer
from sandboxes.mail import MailSandbox
from tests.services.test_digests import drain, make, seed, settings

Sessions = async_sessionmaker[AsyncSession]


def parts(raw: bytes) -> tuple[EmailMessage, str, str]:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return message, text.get_content(), html.get_content()


async def test_one_multipart_email_per_maintainer_reaches_the_catcher(
    session_factory: Sessions,
) -> None:
    await seed(session_factory)
    catcher = MailSandbox()
    await catcher.start()
    try:
        config = settings()
        config = dataclasses.replace(
            config,
            mail=dataclasses.replace(
                config.mail, smtp_port=catcher.smtp_port, sender="lessonbot@example.org"
            ),
        )
        assert isinstance(config.mail, MailSettings)
        service, worker, _, _ = make(session_factory, config)
        service.mail = SmtpMailer(config.mail)
        await service.run()
        await drain(worker)
        caught = await catcher.wait_for_messages(2)
        assert len(caught) == 2
        by_address = {mail.to[0].lower(): mail for mail in caught}
        ana, ana_text, ana_html = parts(by_address["ana@example.org"].raw)
        assert ana["Subject"] == "[lessonbot] 2 open questions, 1 edit awaiting review"
        assert ana.get_content_type() == "multipart/alternative"
        assert ana["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert ana["List-Unsubscribe"].startswith("<https://bot.example/digest/unsubscribe?")
        assert "How do I stop a loop?" in ana_text and "CSV" not in ana_text
        assert "How do I stop a loop?" in ana_html and 'dir="ltr"' in ana_html
        bo, bo_text, bo_html = parts(by_address["bo@example.org"].raw)
        assert "لماذا لا تعيد الدالة" in bo_text and 'dir="rtl"' in bo_html
        assert "CSV" not in bo_text and bo["Subject"].startswith("[lessonbot] ")
        # The first-reply target over the week, over each one's programs and languages:
        # one answered in 10 hours, one missed; one asked 10 hours ago still in its window.
        assert (
            "Replied in time: 50% (1 of 2), below target · still within the window: 1" in ana_text
        )
        assert "Lessons missing the target most" in ana_text and "Functions" in ana_text
        assert "الردود الأولى: الهدف" in bo_text and "الردود الأولى: الهدف" in bo_html
        assert "reply_target." not in bo_text + bo_html + ana_text + ana_html
        # A second run of the same period sends nothing more.
        assert not (await service.run()).created
        await drain(worker)
        assert len(catcher.messages) == 2
    finally:
        await catcher.close()
