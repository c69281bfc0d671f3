"""Benchmark: question intake through the gateway path, three processes apart.

A server process runs the Discord and GitHub sandboxes; `lessonbot sync` links the
project's sample lessons (a forum post and an issue each); `lessonbot run --role gateway` is the
bot, alone in its process; a client process posts N question messages (default 6,000), as
many different learners, into the lesson posts through the Discord sandbox's admin API
(the sandbox acts as users there; its REST API takes the bot's token only), from several
connections at once, as fast as the sandbox takes them. The bot sees them as gateway
MESSAGE_CREATE events, as on Discord. This process polls the database until every question
is listed, then checks each posted question is recorded exactly once.

Figures: the posting rate (what Discord delivers), the time from the first post to the last
question listed, questions recorded per second, and the ratio of that time to the posting
time (1.0: the bot keeps up). An in-process client would share the event loop it
measures, hence the processes. On SQLite, then on a fresh PostgreSQL database when its
server answers (dropped after). Prints one JSON line; never asserts a time.

    .venv/bin/python tests/bench/bench_question_intake.py [--messages 6000] [--senders 16]
        [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT))  # run as a script: import the project

CONTENT = PROJECT / "lessons"
LESSONBOT = Path(sys.executable).with_name("lessonbot")
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
LEARNERS = 300
START_TIMEOUT = 120.0
# How long after the last post the bot may take to list every question before giving up.
CATCH_UP_TIMEOUT = 180.0
POLL_SECONDS = 0.02
AIM_PER_SECOND = 2_000
AIM_RATIO = 1.5
# Before batching: 183 questions/s while 6,000 messages were posted at ~1,750/s (the last
# listed 4.8x later than the last was posted); an earlier in-process bench: 214/s on
# SQLite, 201/s on PostgreSQL. Then this bench on that code (a busy machine): SQLite
# 224/s (posted at 1,430/s, ratio 6.38), PostgreSQL 77/s (846/s, ratio 11.01).
BASELINE = {
    "questions_per_s": 183,
    "posting_per_s": 1_750,
    "ratio": 4.8,
    "in_process_sqlite_per_s": 214,
    "in_process_postgresql_per_s": 201,
    "this_bench_sqlite": {"questions_per_s": 224, "posting_per_s": 1_430, "ratio": 6.38},
    "this_bench_postgresql": {"questions_per_s": 77, "posting_per_s": 846, "ratio": 11.01},
}
# Questions as learners write them, in the bot's eight locales.
QUESTIONS = (
    "How do I load the CSV file from step {n}?",
    "why does my chart stay empty after step {n}",
    "Can someone explain what step {n} does?",
    "¿Cómo limpio los datos antes del paso {n}?",
    "Comment est-ce que je sauvegarde le tableau de l'étape {n} ?",
    "Hoe open ik het bestand uit stap {n}?",
    "كيف أحفظ الملف في الخطوة {n}؟",
    "第{n}步的数据怎么导入\uff1f",
    "चरण {n} में फ़ाइल कैसे खोलें?",
    "దశ {n}లో ఫైల్ ఎలా తెరవాలి?",
)


def learner(n: int) -> int:
    """Return the user id of the n-th learner."""
    return 700_000 + n


def text_of(n: int) -> str:
    """Return the n-th message's text (the same in every process)."""
    return QUESTIONS[n % len(QUESTIONS)].format(n=n)


# --- the server process: both sandboxes -----------------------------------------------------


async def serve(description: Path) -> None:
    """Run both sandboxes until SIGTERM; write where they listen to `description`."""
    from bot.offline import GUILD_NAME, SANDBOX_BOT_TOKEN, guild_channels
    from sandboxes.discord import DiscordSandbox
    from sandboxes.github import GitHubSandbox

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with (
        DiscordSandbox(bot_token=SANDBOX_BOT_TOKEN) as discord,
        GitHubSandbox(CONTENT, "lessons/content") as github,
    ):
        members = [{"id": learner(n), "username": f"learner{n}"} for n in range(LEARNERS)]
        guild = discord.create_guild(
            GUILD_NAME, channels=guild_channels(CONTENT, "en"), members=members
        )
        world = {
            "admin": f"{discord.base_url}/_sandbox",
            "settings": {
                "DISCORD_API_BASE_URL": discord.api_base_url,
                "DISCORD_GATEWAY_URL": discord.gateway_url,
                "DISCORD_GUILD_ID": str(guild["id"]),
                "DISCORD_TOKEN": SANDBOX_BOT_TOKEN,
                "DISCORD_DIGEST_CHANNEL_ID": str(guild["channels"]["digests"]),
                "GITHUB_BASE_URL": github.base_url,
                "GITHUB_REPOSITORY": github.repository,
                "GITHUB_TOKEN": "lessonbot",
                "GITHUB_SECONDS_BETWEEN_REQUESTS": "0",
                "GITHUB_SECONDS_BETWEEN_WRITES": "0",
            },
        }
        temporary = description.with_suffix(".tmp")
        temporary.write_text(json.dumps(world))
        temporary.replace(description)
        await stop.wait()


# --- the client process: learners posting ---------------------------------------------------


async def post(admin: str, threads: list[int], count: int, senders: int) -> dict[str, Any]:
    """Post `count` messages into `threads` from `senders` connections; return the times
    and each message's id."""
    import aiohttp

    ids: list[str | None] = [None] * count
    numbers = iter(range(count))
    connector = aiohttp.TCPConnector(limit=senders)
    async with aiohttp.ClientSession(connector=connector) as client:

        async def sender() -> None:
            for n in numbers:
                url = f"{admin}/channels/{threads[n % len(threads)]}/messages"
                body = {"author_id": str(learner(n % LEARNERS)), "content": text_of(n)}
                async with client.post(url, json=body) as response:
                    response.raise_for_status()
                    ids[n] = str((await response.json())["id"])

        started = time.time()
        await asyncio.gather(*(sender() for _ in range(senders)))
        finished = time.time()
    return {"started": started, "finished": finished, "ids": ids}


# --- this process: the processes, the clock and the checks ----------------------------------


def clean_environment() -> dict[str, str]:
    """Return this environment without lessonbot settings, as a new shell has, importing
    this checkout's bot (the console script may belong to another)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LESSONBOT_")}
    path = environment.get("PYTHONPATH")
    environment["PYTHONPATH"] = f"{PROJECT}{os.pathsep}{path}" if path else str(PROJECT)
    return environment


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 - local sandbox
        return json.loads(answer.read())


@contextlib.contextmanager
def database(backend: str, folder: Path) -> Iterator[str]:
    """Yield the URL of a fresh database (a new PostgreSQL database, dropped after)."""
    if backend == "sqlite":
        yield f"sqlite:///{folder}/bench.db"
        return
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    name = f"bench_qintake_{secrets.token_hex(6)}"
    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def postgres_answers() -> bool:
    """Tell whether the bench's PostgreSQL server is there."""
    import psycopg

    try:
        with psycopg.connect(POSTGRES, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def until(condition: Any, what: str, *processes: subprocess.Popen[Any]) -> None:
    """Wait until `condition()` holds; stop when a watched process ends or time is up."""
    deadline = time.monotonic() + START_TIMEOUT
    while not condition():
        for process in processes:
            if process.poll() is not None:
                raise SystemExit(f"{process.args!r} exited {process.returncode} before {what}")
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.1)


def stop(process: subprocess.Popen[Any]) -> None:
    """Stop a process with SIGTERM (kill it if it will not go)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def measure(backend: str, folder: Path, count: int, senders: int) -> dict[str, Any]:
    """Run the three processes on one backend; return its figures."""
    from sqlalchemy import func, select

    from bot.domain.questions import classify
    from bot.store.engine import make_sync_engine
    from bot.store.models import LessonLink, Question

    folder.mkdir(parents=True)
    description = folder / "world.json"
    processes: list[subprocess.Popen[Any]] = []

    def start(name: str, argv: list[str], environment: dict[str, str]) -> subprocess.Popen[Any]:
        (folder / name).mkdir()
        with (folder / name / "stderr.txt").open("w") as log:
            process = subprocess.Popen(
                argv, cwd=folder / name, env=environment, stdout=subprocess.DEVNULL, stderr=log
            )
        processes.append(process)
        return process

    with database(backend, folder) as url:
        try:
            server = start(
                "server", [sys.executable, __file__, "serve", str(description)], clean_environment()
            )
            until(description.exists, "the sandboxes", server)
            world = json.loads(description.read_text())
            environment = clean_environment()
            settings = {
                **world["settings"],
                "DATABASE_URL": url,
                "CONTENT_DIR": str(CONTENT),
                "MAIL_SMTP_HOST": "",
                "WEB_PORT": str(free_port()),
            }
            environment.update({f"LESSONBOT_{k}": v for k, v in settings.items()})
            for name, argv in (("upgrade", ["db", "upgrade"]), ("sync", ["sync"])):
                step = start(name, [str(LESSONBOT), *argv], environment)
                if step.wait(timeout=START_TIMEOUT) != 0:
                    raise SystemExit(f"lessonbot {' '.join(argv)} failed: see {folder / name}")
            gateway = start("gateway", [str(LESSONBOT), "run", "--role", "gateway"], environment)
            gateway_log = folder / "gateway" / "stderr.txt"
            until(
                lambda: "connected to Discord as" in gateway_log.read_text(),
                "the gateway session",
                gateway,
                server,
            )
            engine = make_sync_engine(url)
            try:
                with engine.connect() as connection:
                    threads = sorted(
                        int(thread)
                        for (thread,) in connection.execute(
                            select(LessonLink.discord_thread_id).where(
                                LessonLink.discord_thread_id.is_not(None)
                            )
                        )
                    )
                expected_count = sum(classify(text_of(n)).is_question for n in range(count))
                out = folder / "posted.json"
                client = start(
                    "client",
                    [
                        sys.executable,
                        __file__,
                        "post",
                        world["admin"],
                        json.dumps(threads),
                        str(count),
                        str(senders),
                        str(out),
                    ],
                    clean_environment(),
                )
                listed = 0
                last_listed = None
                deadline = None
                counting = select(func.count()).select_from(Question)
                while listed < expected_count:
                    if client.poll() is not None:
                        if client.returncode != 0:
                            raise SystemExit(f"the client failed: see {folder / 'client'}")
                        deadline = deadline or time.monotonic() + CATCH_UP_TIMEOUT
                        if time.monotonic() > deadline:
                            break
                    time.sleep(POLL_SECONDS)
                    with engine.connect() as connection:
                        listed = int(connection.scalar(counting) or 0)
                    last_listed = time.time()
                client.wait(timeout=START_TIMEOUT)
                posted = json.loads(out.read_text())
                with engine.connect() as connection:
                    recorded = [
                        external_id
                        for (external_id,) in connection.execute(select(Question.external_id))
                    ]
            finally:
                engine.dispose()
        finally:
            for process in reversed(processes):
                stop(process)
    asked = {
        message_id for n, message_id in enumerate(posted["ids"]) if classify(text_of(n)).is_question
    }
    posting = posted["finished"] - posted["started"]
    assert last_listed is not None
    listing = last_listed - posted["started"]
    return {
        "threads": len(threads),
        "questions": len(asked),
        "recorded": len(recorded),
        "exactly_once": len(recorded) == len(set(recorded)) and set(recorded) == asked,
        "posting_seconds": round(posting, 2),
        "posting_per_s": round(count / posting),
        "last_listed_seconds": round(listing, 2),
        "questions_per_s": round(len(recorded) / listing),
        "ratio": round(listing / posting, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--messages", type=int, default=6_000)
    parser.add_argument("--senders", type=int, default=16)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--keep", metavar="DIR", help="keep each process's log here (default: a temporary folder)"
    )
    arguments = parser.parse_args()
    backends = ["sqlite"] if arguments.backend != "postgresql" else []
    if arguments.backend != "sqlite" and postgres_answers():
        backends.append("postgresql")
    figures: dict[str, Any] = {"bench": "question_intake", "messages": arguments.messages}
    with contextlib.ExitStack() as stack:
        folder = arguments.keep or stack.enter_context(tempfile.TemporaryDirectory())
        for backend in backends:
            figures[backend] = measure(
                backend, Path(folder) / backend, arguments.messages, arguments.senders
            )
    figures.update(aim_per_s=AIM_PER_SECOND, aim_ratio=AIM_RATIO, baseline=BASELINE)
    print(json.dumps(figures))


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        asyncio.run(serve(Path(sys.argv[2])))
    elif sys.argv[1:2] == ["post"]:
        admin, threads, count, senders, out = sys.argv[2:7]
        posted = asyncio.run(post(admin, json.loads(threads), int(count), int(senders)))
        Path(out).write_text(json.dumps(posted))
    else:
        main()
