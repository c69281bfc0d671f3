"""A read-only look at the SMTP server for `lessonbot doctor` (MailProbe).

The same smtplib session the mailer opens (EHLO, STARTTLS and login when set), then QUIT:
no MAIL FROM, nothing sent.
"""

from __future__ import annotations

import asyncio
import smtplib
import socket
import ssl

from bot.config import MailSettings
from bot.mail.smtp import MissingExtensionError, logged_in
from bot.services.ports import ProbeError

DEFAULT_TIMEOUT = 15.0


class SmtpProbe:
    """MailProbe over smtplib, in a worker thread."""

    def __init__(
        self,
        settings: MailSettings,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self._settings = settings
        self._timeout = timeout
        self._tls_context = tls_context

    async def check(self) -> None:
        """Return when the server greets us and takes our login, or raise ProbeError."""
        await asyncio.to_thread(self._check)

    def _check(self) -> None:
        settings = self._settings
        try:
            with logged_in(settings, timeout=self._timeout, tls_context=self._tls_context):
                pass  # greeted and logged in: QUIT, nothing sent
        except MissingExtensionError as error:
            raise ProbeError(error.code, error.text) from None
        except smtplib.SMTPAuthenticationError as error:
            raise ProbeError("login_refused", self._reply(error)) from None
        except smtplib.SMTPResponseException as error:
            raise ProbeError("refused", self._reply(error)) from None
        except smtplib.SMTPServerDisconnected:
            raise ProbeError("unreachable", "the server closed the connection") from None
        except smtplib.SMTPException as error:
            raise ProbeError("failed", self._clean(str(error))) from None
        except ssl.SSLError as error:
            raise ProbeError("failed", f"TLS failed: {error.reason or error}") from None
        except ConnectionRefusedError:
            raise ProbeError("unreachable", "connection refused") from None
        except TimeoutError:
            raise ProbeError("unreachable", f"no answer within {self._timeout:g} s") from None
        except socket.gaierror as error:
            raise ProbeError("unreachable", f"unknown host: {error.strerror}") from None
        except OSError as error:
            reason = f"connection failed: {error.strerror or error}"
            raise ProbeError("unreachable", reason) from None

    def _reply(self, error: smtplib.SMTPResponseException) -> str:
        text = error.smtp_error
        reply = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        return self._clean(f"{error.smtp_code} {reply}")

    def _clean(self, text: str) -> str:
        """Return one line, without the password should a server echo it."""
        line = " ".join(text.split())
        password = self._settings.smtp_password
        if password is not None and password.reveal():
            line = line.replace(password.reveal(), "**********")
        return line[:200]
