"""The SMTP adapter: MailPort over the standard library's smtplib, in a worker thread."""

from __future__ import annotations

import asyncio
import logging
import smtplib
import socket
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from bot.config import MailSettings
from bot.services.ports import MailError, OutgoingMail

__all__ = ["MailError", "SmtpMailer", "build_message"]

log = logging.getLogger(__name__)

# Seconds for the connection and for each read or write on it.
DEFAULT_TIMEOUT = 30.0
# Headers the mailer writes itself: a mail's extra headers may not override them.
_OWN_HEADERS = frozenset(
    {"from", "to", "subject", "date", "message-id", "mime-version", "content-type"}
)
_MAX_REASON = 200
# CRLF line ends and RFC 2047 words for non-ASCII headers; bodies in 7 bits (quoted-printable
# or base64, whichever is shorter), since not every server takes 8BITMIME.
# Lines up to RFC 5322's hard limit: CPython 3.11 folding a non-ASCII subject at 78
# columns drops or doubles the spaces between its encoded words (python/cpython gh-144156).
_POLICY = policy.SMTP.clone(cte_type="7bit", max_line_length=998)


def build_message(mail: OutgoingMail, sender: str) -> EmailMessage:
    """Return the MIME message for `mail`: text, or multipart/alternative text and HTML.

    Raises MailError when a header is unusable (a line break in it, or a header the
    mailer owns).
    """
    message = EmailMessage(policy=_POLICY)
    try:
        message["From"] = sender
        message["To"] = ", ".join(mail.to)
        message["Subject"] = mail.subject
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = mail.message_id or new_message_id(sender)
        for name, value in mail.headers.items():
            if name.strip().lower() in _OWN_HEADERS:
                raise MailError(f"header {name} is set by the mailer, not by the mail")
            message[name] = value
    except ValueError as error:  # a line break in a header: an injection, refused
        raise MailError(f"unusable header: {_one_line(str(error))}") from None
    message.set_content(mail.text, charset="utf-8")
    if mail.html is not None:
        message.add_alternative(mail.html, subtype="html", charset="utf-8")
    return message


def new_message_id(sender: str) -> str:
    """Return a new Message-ID on the sender's domain (no DNS look-up for the host name)."""
    domain = sender.rpartition("@")[2].strip(" <>") or "lessonbot"
    return make_msgid(domain=domain)


class MissingExtensionError(Exception):
    """The server lacks what the settings ask of it (STARTTLS, a login)."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


@contextmanager
def logged_in(
    settings: MailSettings, *, timeout: float, tls_context: ssl.SSLContext | None
) -> Iterator[smtplib.SMTP]:
    """Open an SMTP session as the settings ask: EHLO, then STARTTLS and login when set."""
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout) as smtp:
        smtp.ehlo()
        if settings.starttls:
            if not smtp.has_extn("starttls"):
                raise MissingExtensionError("no_starttls", "the server does not offer STARTTLS")
            smtp.starttls(context=tls_context or ssl.create_default_context())
            smtp.ehlo()
        if settings.smtp_username and settings.smtp_password is not None:
            if not smtp.has_extn("auth"):
                raise MissingExtensionError("no_auth", "the server offers no login (AUTH)")
            smtp.login(settings.smtp_username, settings.smtp_password.reveal())
        yield smtp


class SmtpMailer:
    """Send mail through the SMTP server of `mail` settings: STARTTLS and login when set."""

    def __init__(
        self,
        settings: MailSettings,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.settings = settings
        self.timeout = timeout
        self._tls_context = tls_context

    async def send(self, mail: OutgoingMail) -> None:
        """Send one email, or raise MailError with a one-line reason."""
        if not mail.to:
            raise MailError("the mail has no recipient")
        message = build_message(mail, self.settings.sender)
        await asyncio.to_thread(self._send, message, mail.to)
        log.info("Sent mail %s to %d recipient(s)", message["Message-ID"], len(mail.to))

    def _send(self, message: EmailMessage, recipients: Sequence[str]) -> None:
        """Deliver `message` in one SMTP session (blocking; runs in a worker thread)."""
        try:
            refused = self._deliver(message, recipients)
        except MailError:
            raise
        except smtplib.SMTPRecipientsRefused as error:
            reasons = "; ".join(
                f"{address} ({code} {_text(reply)})"
                for address, (code, reply) in error.recipients.items()
            )
            raise MailError(self._reason(f"recipient refused: {reasons}")) from None
        except smtplib.SMTPAuthenticationError as error:
            user = self.settings.smtp_username
            raise MailError(
                self._reason(
                    f"login as {user} refused: {error.smtp_code} {_text(error.smtp_error)}"
                )
            ) from None
        except smtplib.SMTPSenderRefused as error:
            raise MailError(
                self._reason(
                    f"sender {error.sender} refused: {error.smtp_code} {_text(error.smtp_error)}"
                )
            ) from None
        except smtplib.SMTPResponseException as error:
            raise MailError(
                self._reason(f"server said {error.smtp_code} {_text(error.smtp_error)}")
            ) from None
        except smtplib.SMTPServerDisconnected as error:
            # smtplib reports a read that timed out as a disconnection.
            if isinstance(error.__context__, TimeoutError):
                raise MailError(self._timed_out()) from None
            raise MailError(self._reason("the server closed the connection")) from None
        except smtplib.SMTPNotSupportedError as error:
            raise MailError(self._reason(f"not supported by the server: {error}")) from None
        except smtplib.SMTPException as error:
            raise MailError(self._reason(str(error))) from None
        except ssl.SSLError as error:
            raise MailError(self._reason(f"TLS failed: {error.reason or error}")) from None
        except ConnectionRefusedError:
            raise MailError(self._reason("connection refused")) from None
        except TimeoutError:
            raise MailError(self._timed_out()) from None
        except socket.gaierror as error:
            raise MailError(self._reason(f"unknown host: {error.strerror}")) from None
        except OSError as error:
            raise MailError(self._reason(f"connection failed: {error.strerror or error}")) from None
        if refused:
            # The others have it: raising would send it to them again on a retry.
            log.warning(
                "Mail %s was refused for %s",
                message["Message-ID"],
                self._reason(", ".join(sorted(refused))),
            )

    def _deliver(self, message: EmailMessage, recipients: Sequence[str]) -> dict[str, object]:
        settings = self.settings
        try:
            with logged_in(settings, timeout=self.timeout, tls_context=self._tls_context) as smtp:
                refused = smtp.send_message(
                    message, from_addr=settings.sender, to_addrs=list(recipients)
                )
        except MissingExtensionError as error:
            raise MailError(self._reason(error.text)) from None
        return dict(refused)

    def _timed_out(self) -> str:
        return self._reason(f"no answer within {self.timeout:g} seconds")

    def _reason(self, text: str) -> str:
        """Return one line naming the server, without the password, cut to a sane length."""
        settings = self.settings
        reason = f"{_one_line(text)} ({settings.smtp_host}:{settings.smtp_port})"
        if settings.smtp_password is not None:
            password = settings.smtp_password.reveal()
            if password:
                reason = reason.replace(password, "**********")
        return reason if len(reason) <= _MAX_REASON else reason[: _MAX_REASON - 1] + "…"


def _text(reply: bytes | str) -> str:
    """Return a server reply as text."""
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _one_line(text: str) -> str:
    return " ".join(text.split())
