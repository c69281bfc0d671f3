"""The SMTP catcher: it keeps what any client sends and shows it through its read API."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from pathlib import Path

import aiohttp
import pytest

from sandboxes.mail import MESSAGES_PATH, MailSandbox
from sandboxes.net import PortInUseError, bind_listener


def _message(to: str, subject: str, body: str = "Hello") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "sender@example.org"
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    return message


def _send(port: int, message: EmailMessage, *, login: tuple[str, str] | None = None) -> None:
    """Send with the standard library's client, as any program would (blocking)."""
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        if login is not None:
            smtp.login(*login)
        smtp.send_message(message)


async def _get(url: str) -> tuple[int, object]:
    async with aiohttp.ClientSession() as http, http.get(url) as reply:
        return reply.status, await reply.json()


async def test_the_read_api_lists_messages_with_decoded_subjects() -> None:
    async with MailSandbox() as sandbox:
        await asyncio.to_thread(
            _send, sandbox.smtp_port, _message("ana@example.org", "¿Qué tal? 你好")
        )
        await asyncio.to_thread(_send, sandbox.smtp_port, _message("li@example.org", "Second"))
        status, listed = await _get(f"{sandbox.url}{MESSAGES_PATH}")
        assert status == 200
        assert isinstance(listed, list)
        assert [set(item) for item in listed] == [{"from", "to", "subject", "raw"}] * 2
        first = listed[0]
        assert first["from"] == "sender@example.org"
        assert first["to"] == ["ana@example.org"]
        assert first["subject"] == "¿Qué tal? 你好"
        assert "=?utf-8?" in first["raw"]  # the raw message, as it travelled
        assert "Subject:" in first["raw"] and "Hello" in first["raw"]
        _, only_li = await _get(f"{sandbox.url}{MESSAGES_PATH}?to=LI@example.org")
        assert [item["subject"] for item in only_li] == ["Second"]  # type: ignore[index]


async def test_delete_clears_the_messages() -> None:
    async with MailSandbox() as sandbox:
        await asyncio.to_thread(_send, sandbox.smtp_port, _message("a@example.org", "One"))
        async with aiohttp.ClientSession() as http:
            async with http.delete(f"{sandbox.url}{MESSAGES_PATH}") as reply:
                assert reply.status == 204
            async with http.get(f"{sandbox.url}{MESSAGES_PATH}") as reply:
                assert await reply.json() == []
        assert sandbox.messages == []


async def test_a_get_with_count_waits_for_that_many_messages() -> None:
    async with MailSandbox() as sandbox:
        waiting = asyncio.create_task(_get(f"{sandbox.url}{MESSAGES_PATH}?count=2&timeout=30"))
        await asyncio.to_thread(_send, sandbox.smtp_port, _message("a@example.org", "One"))
        done, _ = await asyncio.wait({waiting}, timeout=0.3)
        assert not done  # one message is not two: the answer waits
        await asyncio.to_thread(_send, sandbox.smtp_port, _message("b@example.org", "Two"))
        _, listed = await waiting
        assert [item["subject"] for item in listed] == ["One", "Two"]  # type: ignore[index]
        assert [m.subject for m in await sandbox.wait_for_messages(2)] == ["One", "Two"]


async def test_bad_numbers_in_the_query_are_a_clear_400() -> None:
    async with MailSandbox() as sandbox:
        status, body = await _get(f"{sandbox.url}{MESSAGES_PATH}?count=many")
    assert status == 400
    assert body == {"message": "count and timeout must be numbers"}


async def test_a_catcher_with_logins_takes_only_a_right_one() -> None:
    async with MailSandbox(logins={"bot": "pw"}) as sandbox:
        await asyncio.to_thread(
            _send, sandbox.smtp_port, _message("a@x.org", "s"), login=("bot", "pw")
        )
        with pytest.raises(smtplib.SMTPAuthenticationError):
            await asyncio.to_thread(
                _send, sandbox.smtp_port, _message("a@x.org", "s"), login=("bot", "nope")
            )
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            await asyncio.to_thread(_send, sandbox.smtp_port, _message("a@x.org", "s"))
        assert refused.value.smtp_code == 530
        assert [m.login for m in sandbox.messages] == ["bot"]


async def test_without_logins_any_client_is_taken() -> None:
    async with MailSandbox() as sandbox:
        await asyncio.to_thread(_send, sandbox.smtp_port, _message("a@x.org", "s"))
        await asyncio.to_thread(
            _send, sandbox.smtp_port, _message("a@x.org", "s"), login=("anyone", "anything")
        )
        assert [m.login for m in sandbox.messages] == [None, "anyone"]


async def test_a_state_dir_keeps_messages_and_ports_across_restarts(tmp_path: Path) -> None:
    async with MailSandbox(state_dir=tmp_path) as first:
        await asyncio.to_thread(_send, first.smtp_port, _message("a@example.org", "Kept"))
        ports = (first.smtp_port, first.api_port)
    async with MailSandbox(state_dir=tmp_path) as second:
        assert second.restored
        assert (second.smtp_port, second.api_port) == ports
        _, listed = await _get(f"{second.url}{MESSAGES_PATH}")
        assert [item["subject"] for item in listed] == ["Kept"]  # type: ignore[index]


async def test_a_busy_port_asked_for_is_named() -> None:
    busy = bind_listener("127.0.0.1", 0)
    busy.listen()
    try:
        port = busy.getsockname()[1]
        with pytest.raises(PortInUseError) as raised:
            async with MailSandbox(smtp_port=port):
                pass
        assert raised.value.port == port
        with pytest.raises(PortInUseError):
            async with MailSandbox(api_port=port):
                pass
    finally:
        busy.close()


def test_started_in_a_thread_it_serves_blocking_callers() -> None:
    with MailSandbox() as sandbox:
        _send(sandbox.smtp_port, _message("a@example.org", "From a thread"))
        [caught] = asyncio.run(sandbox.wait_for_messages(1))
    assert caught.subject == "From a thread"
    assert caught.to == ["a@example.org"]


async def test_closing_hangs_up_on_open_connections() -> None:
    sandbox = MailSandbox()
    await sandbox.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", sandbox.smtp_port)
    try:
        assert (await reader.readline()).startswith(b"220 lessonbot-sandbox")
        await sandbox.close()
        assert await asyncio.wait_for(reader.read(), 10) == b""  # the server hung up
    finally:
        writer.close()
