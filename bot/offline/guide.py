"""The guide `lessonbot sandbox` prints once it has started: what to try, and where."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import select

from bot.config import env_name
from bot.offline.environment import SandboxEnvironment
from bot.running_sandbox import DEFAULT_STATE_DIR, ENV_FILE, lessonbot_command
from bot.store.engine import masked_url
from bot.store.models import Lesson, LessonLink


def sandbox_guide(
    environment: SandboxEnvironment, state_dir: Path, *, thread_id: int | None = None
) -> str:
    """Return a short guide: act as a learner on Discord, as a maintainer on GitHub, run
    lessonbot commands against the sandbox and read the digest emails; `thread_id` is the
    first lesson's post, to ask a question in."""
    discord, github = environment.description["discord"], environment.description["github"]
    admin = f"{discord['url']}/_sandbox"
    guild_id, general = discord["guild_id"], discord["channels"]["general"]
    lesson = _first_lesson(environment)
    run = json.dumps(
        {
            "guild_id": str(guild_id),
            "channel_id": str(general),
            "user_id": "1001",
            "name": "lesson",
            "locale": "es-ES",
            "options": [{"name": "lesson", "type": 3, "value": lesson}],
        }
    )
    asked = json.dumps({"author_id": "1001", "content": QUESTION}, ensure_ascii=False)
    thread = str(thread_id) if thread_id is not None else "<thread_id>"
    lessonbot = lessonbot_command()
    return "\n".join(
        [
            "Act as a learner on Discord (ana, es-ES; also li 1002, maya 1003, sam 1004): "
            "run /lesson, then read the bot's answer:",
            f"  curl -s -X POST {admin}/interactions/commands -H 'Content-Type: "
            f"application/json' -d {shlex.quote(run)}",
            f"  curl -s '{admin}/interactions/<interaction_id>/responses?timeout=10'",
            f"Ask a question in {lesson}'s post as ana (the bot records it for the digest):",
            f"  curl -s -X POST {admin}/channels/{thread}/messages -H 'Content-Type: "
            f"application/json' -d {shlex.quote(asked)}",
            "Suggest an edit as a learner: on Discord run /suggest edit "
            f"lesson:{lesson} (or press a lesson post's Suggest an edit button), or open "
            "the web form:",
            f"  {suggest_form_url(environment.app.settings.web.public_url, lesson)}",
            "  The bot opens a pull request labelled suggested-edit and tells the learner "
            "as it is reviewed.",
            "Act as a maintainer on GitHub: list the lesson issues, or clone the lessons:",
            "  curl -s -H 'Authorization: token maintainer' "
            f"'{github['url']}/repos/{github['repository']}/issues?labels=lesson-discussion'",
            f"  git clone {github['clone_url']}",
            *_commands_guide(environment, state_dir, lessonbot),
            *_mail_guide(environment, lessonbot),
            f"A restart resumes this world; `{_sandbox_command(environment, state_dir)} "
            f"--fresh` starts a new one. Logs show warnings and errors; add -v for every step.",
        ]
    )


def _sandbox_command(environment: SandboxEnvironment, state_dir: Path) -> str:
    """Return the `lessonbot sandbox` command that runs this world again."""
    words = ["sandbox", "--content", str(environment.app.settings.content.dir)]
    if state_dir.absolute() != DEFAULT_STATE_DIR.absolute():
        words += ["--state-dir", str(state_dir)]
    return f"{lessonbot_command()} {shlex.join(words)}"


# What ana asks in the guide's example: a question in her language, as the bot tells them.
QUESTION = "¿Qué diferencia hay entre un dato y una información?"


def _commands_guide(environment: SandboxEnvironment, state_dir: Path, lessonbot: str) -> list[str]:
    """Return the guide's lines on running lessonbot commands against this sandbox."""
    source = f"set -a; . {shlex.quote(str((state_dir / ENV_FILE).absolute()))}; set +a"
    if state_dir.absolute() == DEFAULT_STATE_DIR.absolute():
        # Commands run here find the lock and sandbox.env themselves (bot/offline/running.py).
        anywhere = f"{source}; {lessonbot_command(relative=False)} jobs list"
        where = (
            f"lessonbot commands run in {Path.cwd()} use this sandbox; from anywhere: `{anywhere}`"
        )
    else:
        where = f"run `{source}` first"
    lines = [
        f"See what the bot recorded and the writes it has still to do ({where}):",
        f"  {lessonbot} questions list",
        f"  {lessonbot} suggestions list",
        f"  {lessonbot} jobs list",
    ]
    database = environment.app.settings.database.url
    if masked_url(database) != database:
        variable = env_name("database", "url")
        lines.append(
            f"  (set {variable} as for the sandbox too: sandbox.env leaves its password out)"
        )
    return lines


def _mail_guide(environment: SandboxEnvironment, lessonbot: str) -> list[str]:
    """Return the guide's lines on sending the digest and reading the emails it sends."""
    mail = environment.description.get("mail")
    if not mail:
        return []
    maintainers = environment.app.settings.mail.maintainers
    readers = ", ".join(
        f"{maintainer.address} ({maintainer.locale or environment.app.settings.locale})"
        for maintainer in maintainers
    )
    return [
        "Send the digest of open questions now: the bot posts it in #digests and emails "
        f"each maintainer ({readers or 'none configured'}); a suggestion sent with an email "
        "address is emailed each step of its review. The SMTP catcher keeps that mail (add "
        "?to=ADDRESS for one reader's; DELETE clears it):",
        f"  {lessonbot} digest --now",
        f"  curl -s '{mail['messages_url']}'",
    ]


def suggest_form_url(public_url: str, lesson: str) -> str:
    """Return the web form that suggests an edit of the lesson `program/slug`."""
    program, _, slug = lesson.partition("/")
    return (
        f"{public_url.rstrip('/')}/lessons/{quote(program, safe='')}/{quote(slug, safe='')}/suggest"
    )


def _first_lesson(environment: SandboxEnvironment) -> str:
    """Return a lesson identity to show in examples."""
    lessons = environment.app.catalogue.ordered_lessons() if environment.app.catalogue else []
    return lessons[0].identity if lessons else "program/slug"


async def first_thread(environment: SandboxEnvironment) -> int | None:
    """Return the Discord post of the lesson the guide shows, when it is linked."""
    program, _, slug = _first_lesson(environment).partition("/")
    async with environment.app.sessions() as session:
        return await session.scalar(
            select(LessonLink.discord_thread_id)
            .join(Lesson, Lesson.id == LessonLink.lesson_id)
            .where(Lesson.program == program, Lesson.slug == slug)
        )
