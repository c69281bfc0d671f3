"""`lessonbot sandbox` runs the SMTP catcher beside the others and points the bot's mail at it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import aiohttp

from bot.config import Settings
from bot.mail.smtp import SmtpMailer
from bot.offline import sandbox_environment, sandbox_guide
from bot.services.ports import OutgoingMail
from tests.conftest import PROJECT

LESSONS = PROJECT / "lessons"


def _settings_from_env_file(env_file: Path, cwd: Path) -> dict[str, object]:
    """Return the mail settings `lessonbot` reads after sourcing sandbox.env (a clean env)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LESSONBOT_")}
    clean["PYTHONPATH"] = str(PROJECT)
    code = (
        "import json; from bot.config import load_settings; m = load_settings().mail; "
        "print(json.dumps({'host': m.smtp_host, 'port': m.smtp_port, 'starttls': m.starttls, "
        "'username': m.smtp_username}))"
    )
    script = f'set -a; . "$1"; set +a; exec "{sys.executable}" -c "$2"'
    done = subprocess.run(
        ["sh", "-c", script, "sh", str(env_file), code],
        env=clean,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


async def test_the_bot_mails_the_catcher_and_sandbox_json_says_where(tmp_path: Path) -> None:
    state = tmp_path / "state"
    async with sandbox_environment(Settings(), content_dir=LESSONS, state_dir=state) as env:
        assert env.mail is not None
        described = json.loads(await asyncio.to_thread((state / "sandbox.json").read_text))
        mail = described["mail"]
        assert mail == {
            "smtp_host": "127.0.0.1",
            "smtp_port": env.mail.smtp_port,
            "url": env.mail.url,
            "messages_url": f"{env.mail.url}/_sandbox/messages",
        }
        # The bot's own settings send to the catcher, as `make run` beside it does.
        settings = env.app.settings.mail
        assert (settings.smtp_host, settings.smtp_port) == ("127.0.0.1", mail["smtp_port"])
        await SmtpMailer(settings).send(
            OutgoingMail(
                to=("maintainer@example.org",),
                subject="[lessonbot] 1 open question",
                text="One.",
                html="<p>One.</p>",
            )
        )
        async with aiohttp.ClientSession() as http, http.get(mail["messages_url"]) as reply:
            [caught] = await reply.json()
        assert caught["subject"] == "[lessonbot] 1 open question"
        assert caught["to"] == ["maintainer@example.org"]

        guide = sandbox_guide(env, state)
        assert f"curl -s '{mail['messages_url']}'" in guide

        elsewhere = tmp_path / "elsewhere"
        await asyncio.to_thread(elsewhere.mkdir)
        read = await asyncio.to_thread(_settings_from_env_file, state / "sandbox.env", elsewhere)
        assert read == {
            "host": "127.0.0.1",
            "port": mail["smtp_port"],
            "starttls": False,
            "username": "",
        }

    # A restart keeps the caught mail and, while free, the same ports.
    async with sandbox_environment(Settings(), content_dir=LESSONS, state_dir=state) as again:
        assert again.mail is not None
        assert again.description["mail"] == mail
        assert [m.subject for m in again.mail.messages] == ["[lessonbot] 1 open question"]
