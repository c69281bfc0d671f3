"""SmtpMailer against the sandbox's SMTP catcher: what arrives, logins, one-line failures."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import logging
import socket
import ssl
from collections.abc import AsyncIterator, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bot.config import MailSettings, Secret
from bot.mail.smtp import SmtpMailer
from bot.services.ports import MailError, OutgoingMail
from sandboxes.mail import MailSandbox

PASSWORD = "hunter2-very-secret"  # a test password, checked never to leak
ARABIC_SUBJECT = "[lessonbot] ١٢ سؤالاً مفتوحاً، ٣ تعديلات بانتظار المراجعة"
UNSUBSCRIBE = "<https://bot.example.org/digest/unsubscribe?t=abc>"


def _settings(port: int, **changes: object) -> MailSettings:
    values: dict[str, object] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "sender": "lessonbot@example.org",
    }
    values.update(changes)
    return MailSettings(**values)  # type: ignore[arg-type]


def _parse(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


@pytest.fixture
async def catcher() -> AsyncIterator[MailSandbox]:
    async with MailSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def closed_port() -> Iterator[int]:
    """Yield a port bound by nobody who listens: a connection to it is refused."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        yield holder.getsockname()[1]


async def test_a_multipart_arabic_mail_arrives_whole(catcher: MailSandbox) -> None:
    mailer = SmtpMailer(_settings(catcher.smtp_port))
    await mailer.send(
        OutgoingMail(
            to=("maintainer@example.org", "ops@example.org"),
            subject=ARABIC_SUBJECT,
            text="أسئلة مفتوحة: ١٢\nOpen questions: 12",
            html='<div dir="rtl"><p>أسئلة مفتوحة: <b>١٢</b></p></div>',
            headers={
                "List-Unsubscribe": UNSUBSCRIBE,
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
            message_id="<digest-7-abc@lessonbot>",
        )
    )
    [caught] = catcher.messages
    assert caught.mail_from == "lessonbot@example.org"
    assert caught.to == ["maintainer@example.org", "ops@example.org"]
    # Only ASCII on the wire: headers as RFC 2047 words, bodies in quoted-printable or base64.
    caught.raw.decode("ascii")
    message = _parse(caught.raw)
    assert message["Subject"] == ARABIC_SUBJECT
    assert message["From"] == "lessonbot@example.org"
    assert message["To"] == "maintainer@example.org, ops@example.org"
    assert message["Message-ID"] == "<digest-7-abc@lessonbot>"
    assert message["List-Unsubscribe"] == UNSUBSCRIBE
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Date"].datetime is not None
    assert message.get_content_type() == "multipart/alternative"
    plain, html = message.iter_parts()
    assert plain.get_content_type() == "text/plain"
    # Text parts travel in MIME's canonical form, with CRLF line ends.
    assert plain.get_content().splitlines() == ["أسئلة مفتوحة: ١٢", "Open questions: 12"]
    assert html.get_content_type() == "text/html"
    assert "<b>١٢</b>" in html.get_content()
    assert plain.get_content_charset() == html.get_content_charset() == "utf-8"


async def test_a_retried_send_carries_the_same_message_id(catcher: MailSandbox) -> None:
    mailer = SmtpMailer(_settings(catcher.smtp_port))
    mail = OutgoingMail(to=("a@example.org",), subject="s", text="t", message_id="<run-1@x>")
    await mailer.send(mail)
    await mailer.send(mail)
    assert [_parse(m.raw)["Message-ID"] for m in catcher.messages] == ["<run-1@x>"] * 2


async def test_text_only_mail_gets_a_generated_message_id(catcher: MailSandbox) -> None:
    mailer = SmtpMailer(_settings(catcher.smtp_port))
    await mailer.send(OutgoingMail(to="solo@example.org", subject="Hello", text="Plain."))
    await mailer.send(OutgoingMail(to="solo@example.org", subject="Hello", text="Plain."))
    first, second = (_parse(m.raw) for m in catcher.messages)
    assert catcher.messages[0].to == ["solo@example.org"]  # a string is one address
    assert first.get_content_type() == "text/plain"
    assert first.get_content().strip() == "Plain."
    assert first["Message-ID"].endswith("@example.org>")
    assert first["Message-ID"] != second["Message-ID"]


async def test_login_is_used_when_configured() -> None:
    async with MailSandbox(logins={"lessonbot": PASSWORD}) as catcher:
        settings = _settings(
            catcher.smtp_port, smtp_username="lessonbot", smtp_password=Secret(PASSWORD)
        )
        await SmtpMailer(settings).send(OutgoingMail(to=("m@example.org",), subject="s", text="t"))
        [caught] = catcher.messages
    assert caught.login == "lessonbot"


async def test_a_refused_login_is_one_line_without_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with MailSandbox(logins={"lessonbot": "the-right-one"}) as catcher:
        settings = _settings(
            catcher.smtp_port, smtp_username="lessonbot", smtp_password=Secret(PASSWORD)
        )
        with pytest.raises(MailError) as raised:
            await SmtpMailer(settings).send(
                OutgoingMail(to=("m@example.org",), subject="s", text="t")
            )
        assert catcher.messages == []
    reason = str(raised.value)
    assert reason.startswith("login as lessonbot refused: 535")
    assert f"127.0.0.1:{catcher.smtp_port}" in reason
    assert "\n" not in reason and PASSWORD not in reason
    assert PASSWORD not in caplog.text


async def test_a_server_that_wants_a_login_says_so() -> None:
    async with MailSandbox(logins={"lessonbot": PASSWORD}) as catcher:
        with pytest.raises(MailError, match="530"):
            await SmtpMailer(_settings(catcher.smtp_port)).send(
                OutgoingMail(to=("m@example.org",), subject="s", text="t")
            )
        assert catcher.messages == []


async def test_a_refused_connection_is_one_line_without_the_password(closed_port: int) -> None:
    settings = _settings(closed_port, smtp_username="lessonbot", smtp_password=Secret(PASSWORD))
    with pytest.raises(MailError) as raised:
        await SmtpMailer(settings).send(OutgoingMail(to=("m@example.org",), subject="s", text="t"))
    reason = raised.value.reason
    assert reason == f"connection refused (127.0.0.1:{closed_port})"
    assert PASSWORD not in repr(raised.value)


async def test_a_refused_recipient_is_named() -> None:
    async with MailSandbox(refuse=["gone@example.org"]) as catcher:
        with pytest.raises(MailError) as raised:
            await SmtpMailer(_settings(catcher.smtp_port)).send(
                OutgoingMail(to=("gone@example.org",), subject="s", text="t")
            )
        assert catcher.messages == []
    reason = raised.value.reason
    assert reason.startswith("recipient refused: gone@example.org (550")
    assert "\n" not in reason


async def test_a_partly_refused_mail_reaches_the_others_without_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with MailSandbox(refuse=["gone@example.org"]) as catcher:
        await SmtpMailer(_settings(catcher.smtp_port)).send(
            OutgoingMail(to=("gone@example.org", "here@example.org"), subject="s", text="t")
        )
        [caught] = catcher.messages
    # A retry would send it to the one who has it again: it is logged instead.
    assert caught.to == ["here@example.org"]
    assert "gone@example.org" in caplog.text


async def test_starttls_asked_of_a_server_without_it_fails_before_any_login(
    catcher: MailSandbox,
) -> None:
    settings = _settings(
        catcher.smtp_port,
        starttls=True,
        smtp_username="lessonbot",
        smtp_password=Secret(PASSWORD),
    )
    with pytest.raises(MailError, match="does not offer STARTTLS"):
        await SmtpMailer(settings).send(OutgoingMail(to=("m@example.org",), subject="s", text="t"))
    assert catcher.messages == []


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """Return a self-signed certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


async def test_starttls_then_login_when_the_server_offers_it(
    certificate: tuple[Path, Path],
) -> None:
    async with MailSandbox(
        logins={"lessonbot": PASSWORD}, tls_context=_server_context(certificate)
    ) as catcher:
        settings = _settings(
            catcher.smtp_port,
            starttls=True,
            smtp_username="lessonbot",
            smtp_password=Secret(PASSWORD),
        )
        trusting = ssl.create_default_context(cafile=str(certificate[0]))
        await SmtpMailer(settings, tls_context=trusting).send(
            OutgoingMail(to=("m@example.org",), subject="over TLS", text="t")
        )
        [caught] = catcher.messages
    assert caught.tls and caught.login == "lessonbot"
    assert _parse(caught.raw)["Subject"] == "over TLS"


async def test_an_untrusted_certificate_stops_before_the_login(
    certificate: tuple[Path, Path],
) -> None:
    async with MailSandbox(tls_context=_server_context(certificate)) as catcher:
        settings = _settings(
            catcher.smtp_port,
            starttls=True,
            smtp_username="lessonbot",
            smtp_password=Secret(PASSWORD),
        )
        with pytest.raises(MailError) as raised:
            await SmtpMailer(settings).send(
                OutgoingMail(to=("m@example.org",), subject="s", text="t")
            )
        assert catcher.messages == []
    reason = raised.value.reason
    assert reason.startswith("TLS failed: CERTIFICATE_VERIFY_FAILED")
    assert "\n" not in reason and PASSWORD not in reason


async def test_a_silent_server_times_out() -> None:
    async def never_greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up and closes
        writer.close()

    server = await asyncio.start_server(never_greet, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        mailer = SmtpMailer(_settings(port), timeout=0.2)
        with pytest.raises(MailError) as raised:
            await mailer.send(OutgoingMail(to=("m@example.org",), subject="s", text="t"))
    assert raised.value.reason == f"no answer within 0.2 seconds (127.0.0.1:{port})"


@pytest.mark.parametrize(
    "mail",
    [
        OutgoingMail(to=("m@example.org",), subject="Hi\r\nBcc: victim@example.org", text="t"),
        OutgoingMail(to=("m@example.org",), subject="s", text="t", headers={"X-A": "1\nBcc: v"}),
        OutgoingMail(to=("m@example.org",), subject="s", text="t", headers={"From": "a@b.c"}),
        OutgoingMail(to=(), subject="s", text="t"),
    ],
    ids=["subject-line-break", "header-line-break", "own-header", "no-recipient"],
)
async def test_an_unusable_mail_is_refused_before_sending(
    catcher: MailSandbox, mail: OutgoingMail
) -> None:
    with pytest.raises(MailError) as raised:
        await SmtpMailer(_settings(catcher.smtp_port)).send(mail)
    assert "\n" not in raised.value.reason
    assert catcher.messages == []
