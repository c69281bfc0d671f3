"""`lessonbot sandbox mail`: the SMTP catcher alone, as a real process."""

from __future__ import annotations

import json
import os
import re
import signal
import smtplib
import subprocess
import sys
import urllib.request
from email.message import EmailMessage
from pathlib import Path

import pytest

from sandboxes.net import bind_listener

LESSONBOT = Path(sys.executable).with_name("lessonbot")
STOP_TIMEOUT = 60.0


def _start(*argv: str) -> subprocess.Popen[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LESSONBOT_")}
    return subprocess.Popen(
        [str(LESSONBOT), "sandbox", "mail", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )


def test_sandbox_mail_catches_mail_and_stops_on_sigterm() -> None:
    process = _start("--port", "0", "--api-port", "0")
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(
            r"SMTP on 127\.0\.0\.1:(\d+), caught mail at (http://127\.0\.0\.1:\d+)", line
        )
        assert match, line + (process.stderr.read() if process.stderr else "")
        smtp_port, url = int(match.group(1)), match.group(2)
        message = EmailMessage()
        message["From"] = "lessonbot@example.org"
        message["To"] = "maintainer@example.org"
        message["Subject"] = "[lessonbot] 3 open questions"
        message.set_content("Three.")
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as smtp:
            smtp.send_message(message)
        with urllib.request.urlopen(f"{url}/_sandbox/messages", timeout=10) as reply:  # noqa: S310
            [caught] = json.load(reply)
        assert caught["subject"] == "[lessonbot] 3 open questions"
        assert caught["to"] == ["maintainer@example.org"]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=STOP_TIMEOUT) == 0
        assert process.stderr is not None
        stderr = process.stderr.read()
        assert "Traceback" not in stderr
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize("option", ["--port", "--api-port"])
def test_a_busy_port_is_one_line(option: str) -> None:
    busy = bind_listener("127.0.0.1", 0)
    busy.listen()
    try:
        port = busy.getsockname()[1]
        other = "--api-port" if option == "--port" else "--port"
        process = _start(option, str(port), other, "0")
        _, stderr = process.communicate(timeout=STOP_TIMEOUT)
    finally:
        busy.close()
    assert process.returncode != 0
    [line] = stderr.strip().splitlines()
    assert f"Port {port} on 127.0.0.1 is in use" in line
