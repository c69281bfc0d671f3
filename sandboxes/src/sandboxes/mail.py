"""The SMTP catcher: accepts any mail on one port, shows what it caught on another.

aiosmtpd's SMTP protocol serves on the running loop (no thread of its own); an aiohttp
read API beside it answers `GET /_sandbox/messages` with a JSON list of
`{"from", "to", "subject", "raw"}` and `DELETE /_sandbox/messages` clears it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import socket
import ssl
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from aiohttp import web
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from sandboxes.persist import Saver, bind_preferred, read_json
from sandboxes.threaded import ThreadedServer

log = logging.getLogger(__name__)

MESSAGES_PATH = "/_sandbox/messages"
# The longest a `GET /_sandbox/messages?count=N` waits for N messages (seconds).
MAX_WAIT = 60.0
HOSTNAME = "lessonbot-sandbox"


@dataclass
class CaughtMail:
    """One message the catcher accepted: its envelope, the login used and the raw bytes."""

    mail_from: str
    to: list[str]
    raw: bytes
    login: str | None = None
    received_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    # Whether it came over STARTTLS.
    tls: bool = False

    @property
    def subject(self) -> str:
        """Return the decoded Subject header ('' when there is none or it is unreadable)."""
        try:
            message = message_from_bytes(self.raw, policy=policy.default)
            return str(message.get("Subject", ""))
        except Exception:  # a malformed message still shows, with no subject
            return ""

    def as_json(self) -> dict[str, Any]:
        """Return the read API's view: from, to, the decoded subject and the raw message."""
        return {
            "from": self.mail_from,
            "to": list(self.to),
            "subject": self.subject,
            "raw": self.raw.decode("utf-8", "replace"),
        }

    def snapshot(self) -> dict[str, Any]:
        """Return the message as kept in the state folder (raw bytes as base64)."""
        return {
            "from": self.mail_from,
            "to": list(self.to),
            "raw": base64.b64encode(self.raw).decode("ascii"),
            "login": self.login,
            "received_at": self.received_at,
            "tls": self.tls,
        }

    @classmethod
    def restore(cls, saved: Mapping[str, Any]) -> CaughtMail:
        """Rebuild a message from `snapshot()`."""
        return cls(
            mail_from=str(saved["from"]),
            to=[str(address) for address in saved["to"]],
            raw=base64.b64decode(saved["raw"]),
            login=saved.get("login"),
            received_at=str(saved.get("received_at", "")),
            tls=bool(saved.get("tls", False)),
        )


class _Handler:
    """aiosmtpd's handler: refuse the recipients asked for, keep every message."""

    def __init__(self, sandbox: MailSandbox) -> None:
        self._sandbox = sandbox

    async def handle_MAIL(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        # Checked here rather than with aiosmtpd's auth_required, which warns at every
        # connection that the sandbox takes a login without TLS (as it means to).
        if self._sandbox.logins is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.lower() in self._sandbox.refused:
            return "550 5.1.1 Recipient refused by the sandbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        data = envelope.original_content or envelope.content or b""
        raw = data if isinstance(data, bytes) else data.encode("utf-8")
        login = session.auth_data.login if isinstance(session.auth_data, LoginPassword) else None
        self._sandbox.keep(
            CaughtMail(
                mail_from=envelope.mail_from or "",
                to=list(envelope.rcpt_tos),
                raw=raw,
                login=login.decode("utf-8", "replace") if isinstance(login, bytes) else login,
                tls=session.ssl is not None,
            )
        )
        return "250 OK: caught by the lessonbot sandbox"


class MailSandbox(ThreadedServer):
    """An SMTP server that accepts any mail and an HTTP API that shows what it caught.

    With `logins`, AUTH (PLAIN or LOGIN, without TLS) is required and checked against
    them; without, any login or none is accepted. Addresses in `refuse` are refused at
    RCPT TO. With `tls_context`, STARTTLS is offered. With `state_dir`, the messages and
    ports are kept there across restarts.
    """

    thread_name = "mail sandbox"

    def __init__(
        self,
        smtp_port: int = 0,
        api_port: int = 0,
        *,
        host: str = "127.0.0.1",
        state_dir: Path | None = None,
        logins: Mapping[str, str] | None = None,
        refuse: Iterable[str] = (),
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.smtp_port = smtp_port
        self.api_port = api_port
        self.state_dir = Path(state_dir).absolute() if state_dir is not None else None
        self.logins = dict(logins) if logins else None
        self.refused = frozenset(address.lower() for address in refuse)
        self.tls_context = tls_context
        self.messages: list[CaughtMail] = []
        self.url = ""
        self.restored = False
        self._server: asyncio.Server | None = None
        # Open connections, closed with the server; a closed one is forgotten by itself.
        self._connections: weakref.WeakSet[SMTP] = weakref.WeakSet()
        self._runner: web.AppRunner | None = None
        self._saver: Saver | None = None
        self._arrived = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # Lifecycle

    async def start(self) -> None:
        """Start the SMTP server and the read API on the running loop."""
        self._loop = asyncio.get_running_loop()
        _quiet_aiosmtpd()
        try:
            await self._start()
        except BaseException:
            await self.close()
            raise

    async def _start(self) -> None:
        saved = await asyncio.to_thread(self._saved)
        if saved is not None:
            self.messages = [CaughtMail.restore(item) for item in saved.get("messages", [])]
            self.restored = True
        # PortInUseError names a busy port asked for; the last run's ports are only preferred.
        smtp_sock = bind_preferred(self.host, self.smtp_port, (saved or {}).get("smtp_port"))
        try:
            api_sock = bind_preferred(self.host, self.api_port, (saved or {}).get("api_port"))
        except BaseException:
            smtp_sock.close()
            raise
        self.smtp_port = int(smtp_sock.getsockname()[1])
        self.api_port = int(api_sock.getsockname()[1])
        host = f"[{self.host}]" if api_sock.family == socket.AF_INET6 else self.host
        self.url = f"http://{host}:{self.api_port}"
        try:
            self._server = await self._loop_or_fail().create_server(self._protocol, sock=smtp_sock)
        except BaseException:
            smtp_sock.close()
            api_sock.close()
            raise
        if self.state_dir is not None:
            self._saver = Saver(self.state_dir / "mail.json", self._snapshot)
            await self._saver.save()
            self._saver.start()
        app = web.Application()
        app.router.add_routes(routes(self))
        self._runner = web.AppRunner(app, access_log=None)
        try:
            await self._runner.setup()
            await web.SockSite(self._runner, api_sock).start()
        except BaseException:
            api_sock.close()
            raise

    def _protocol(self) -> SMTP:
        """Return the SMTP protocol for one connection."""
        authenticator = self._authenticate
        protocol = SMTP(
            _Handler(self),
            hostname=HOSTNAME,
            ident="lessonbot sandbox SMTP catcher",
            enable_SMTPUTF8=True,
            authenticator=authenticator,
            tls_context=self.tls_context,
            # A login in the clear is what the sandbox is for; STARTTLS only when asked.
            auth_require_tls=False,
            timeout=60,
            loop=self._loop,
        )
        self._connections.add(protocol)
        return protocol

    def _authenticate(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        """Accept any login, or with `logins` only a matching login and password."""
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        if self.logins is not None:
            login = auth_data.login.decode("utf-8", "replace")
            password = auth_data.password.decode("utf-8", "replace")
            if self.logins.get(login) != password:
                return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=auth_data)

    async def close(self) -> None:
        """Stop both servers, dropping open connections; save the messages with a state dir."""
        if self._server is not None:
            self._server.close()
            for protocol in list(self._connections):
                if protocol.transport is not None:
                    protocol.transport.close()
            self._connections.clear()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._saver is not None:
            await self._saver.close()
            self._saver = None

    def _loop_or_fail(self) -> asyncio.AbstractEventLoop:
        assert self._loop is not None, "start() first"
        return self._loop

    # Messages

    def keep(self, mail: CaughtMail) -> None:
        """Keep a caught message (on the sandbox's loop) and wake whoever waits for it."""
        self.messages.append(mail)
        log.info("Caught mail from %s to %s", mail.mail_from, ", ".join(mail.to))
        if self._saver is not None:
            self._saver.touch()
        # Wake every waiter; the next message sets a new event.
        arrived, self._arrived = self._arrived, asyncio.Event()
        arrived.set()

    def clear(self) -> None:
        """Forget every caught message (on the sandbox's loop)."""
        self.messages.clear()
        if self._saver is not None:
            self._saver.touch()

    async def wait_for_messages(
        self,
        count: int = 1,
        timeout: float = 10.0,  # noqa: ASYNC109 - the public interface takes a timeout
    ) -> list[CaughtMail]:
        """Return the caught messages once there are at least `count` (TimeoutError if not)."""
        loop = self._loop_or_fail()
        if loop is not asyncio.get_running_loop():
            # Started in a thread: wait on the sandbox's own loop.
            future = asyncio.run_coroutine_threadsafe(self.wait_for_messages(count, timeout), loop)
            return await asyncio.wrap_future(future)
        if not await self.wait_until(lambda: len(self.messages) >= count, timeout):
            raise TimeoutError(f"{len(self.messages)} of {count} messages after {timeout:g}s")
        return list(self.messages)

    async def wait_until(
        self,
        condition: Callable[[], bool],
        timeout: float,  # noqa: ASYNC109 - a deadline for the whole wait, not one call
    ) -> bool:
        """Wait on the sandbox's loop until `condition()` holds; say whether it did in time."""
        try:
            async with asyncio.timeout(max(timeout, 0.0)):
                while not condition():
                    await self._arrived.wait()
        except TimeoutError:
            return False
        return True

    # Keeping the messages

    def _saved(self) -> dict[str, Any] | None:
        return None if self.state_dir is None else read_json(self.state_dir / "mail.json")

    def _snapshot(self) -> dict[str, Any]:
        return {
            "smtp_port": self.smtp_port,
            "api_port": self.api_port,
            "messages": [mail.snapshot() for mail in self.messages],
        }


class _DropLoginDataWarning(logging.Filter):
    """Drop aiosmtpd's warning about its own use of Session.login_data after each login."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "login_data is deprecated" not in record.getMessage()


def _quiet_aiosmtpd() -> None:
    """Keep aiosmtpd from logging a deprecation of its own at every login (once)."""
    logger = logging.getLogger("mail.log")  # aiosmtpd's logger
    if not any(isinstance(f, _DropLoginDataWarning) for f in logger.filters):
        logger.addFilter(_DropLoginDataWarning())


# The read API


def routes(sandbox: MailSandbox) -> list[web.RouteDef]:
    """Return the read API's routes over one sandbox's messages."""

    async def list_messages(request: web.Request) -> web.Response:
        """List caught messages, oldest first: `?to=` one recipient's, `?count=N` waits."""
        try:
            count = int(request.query.get("count", "0"))
            timeout = min(float(request.query.get("timeout", "10")), MAX_WAIT)
        except ValueError:
            return web.json_response({"message": "count and timeout must be numbers"}, status=400)
        to = request.query.get("to", "").strip().lower()

        def selected() -> list[CaughtMail]:
            return [m for m in sandbox.messages if not to or to in (a.lower() for a in m.to)]

        if count > 0:
            await sandbox.wait_until(lambda: len(selected()) >= count, timeout)
        return web.json_response([mail.as_json() for mail in selected()])

    async def clear_messages(request: web.Request) -> web.Response:
        """Forget every caught message."""
        sandbox.clear()
        return web.Response(status=204)

    return [web.get(MESSAGES_PATH, list_messages), web.delete(MESSAGES_PATH, clear_messages)]


async def serve(
    host: str = "127.0.0.1",
    smtp_port: int = 1025,
    api_port: int = 8025,
    *,
    state_dir: Path | None = None,
) -> None:
    """Run the SMTP catcher until cancelled, printing where it listens."""
    async with MailSandbox(smtp_port, api_port, host=host, state_dir=state_dir) as sandbox:
        print(f"Mail sandbox: SMTP on {host}:{sandbox.smtp_port}, caught mail at {sandbox.url}")
        print(f"  curl -s {sandbox.url}{MESSAGES_PATH}", flush=True)
        await asyncio.Event().wait()
