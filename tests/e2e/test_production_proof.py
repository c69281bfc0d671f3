"""The production proof (issue 18): every role in its own process on PostgreSQL, through
kills, faults and a database restart, loses nothing and does nothing twice.

Two web, two worker, one gateway and one scheduler `lessonbot run --role` process share a
private PostgreSQL cluster (started for the test, so the machine's shared server is never
restarted). The sandboxes (Discord, GitHub, SMTP) run on threads of the test, so they
outlive every kill. While 200 suggestions arrive over both web ports (from suggesters who
gave an email, and from Discord users through `/suggest`), a worker and the gateway are
killed with SIGKILL and restarted, GitHub loses the answers of writes that landed
(`after`) and rate-limits them (`secondary`), Discord answers 429s, and PostgreSQL is
restarted once. Then: every 202 has exactly one PR, every suggester is told of it once,
every question is recorded once (those asked while the gateway was down too, read back
after its restart), and each digest period is recorded and posted once. The run's
figures go to tests/artifacts/.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_string, policy
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot.offline import GUILD_NAME, MEMBERS, SANDBOX_BOT_TOKEN, guild_channels
from bot.services.digests import DigestService
from bot.store.engine import make_sync_engine
from bot.store.models import (
    DigestDelivery,
    DigestRun,
    JobStatus,
    LessonLink,
    OutboxJob,
    Question,
    Suggestion,
)
from sandboxes.discord import DiscordSandbox
from sandboxes.discord.ratelimits import RateLimitSettings
from sandboxes.github import GitHubSandbox
from sandboxes.mail import MailSandbox
from tests.conftest import TESTS
from tests.e2e.discord.support import STRING
from tests.e2e.discord.test_suggest_live import run_suggest, submit
from tests.e2e.support import sandbox_settings_env
from tests.e2e.test_roles import Process, free_port, get_json

PG_BIN = Path("/usr/lib/postgresql/15/bin")
ARTIFACTS = TESTS / "artifacts"
PROGRAM = "proof"
LESSON = f"{PROGRAM}/many-lines"
PATH = f"programs/{PROGRAM}/lessons/en/many-lines.mdx"
API_COUNT = 200
DISCORD_COUNT = 10
EMAILS = ("ada@example.org", "grace@example.org", "alan@example.org", "edsger@example.org")
# Learners who suggest through Discord (their notices are DMs) and ask questions.
LEARNERS = (MEMBERS[0]["id"], MEMBERS[3]["id"])
ASKER = MEMBERS[2]["id"]
WEBHOOK_SECRET = "proof-webhook-secret"
PR_WRITES = (
    "POST /repos/*/git/refs",
    "PUT /repos/*/contents/*",
    "POST /repos/*/pulls",
    "POST /repos/*/issues/*/labels",
)
# Generous bounds on waiting; what is asserted is the outcome, never the time it took.
# In CI it shares two cores with the rest of the suite: 240 s once ran out while the last
# notices were still going out, nothing stuck, only slow.
TIMEOUT = 600.0


def line(index: int) -> str:
    """Return the lesson's sentence number `index`, unlike every other."""
    return f"Sentence {index:03d} says plainly what step {index} of the proof does."


def edited(index: int) -> str:
    """Return what the suggestion for sentence `index` makes of it."""
    return f"Sentence {index:03d} says clearly what step {index} of the proof does."


def write_content(root: Path) -> Path:
    """Write one program with one lesson of API_COUNT + DISCORD_COUNT sentences."""
    lesson = root / PATH
    lesson.parent.mkdir(parents=True)
    front = (
        "---\n"
        'title: "Many Lines"\n'
        'description: "A sentence for every suggestion of the proof"\n'
        "order: 1\n"
        "published: true\n"
        "---\n\n"
        "# Many Lines\n\n"
    )
    body = "\n\n".join(line(index) for index in range(API_COUNT + DISCORD_COUNT))
    lesson.write_text(front + body + "\n", encoding="utf-8")
    (root / "programs" / PROGRAM / "program.json").write_text(
        json.dumps({"slug": PROGRAM, "title": "Proof"}), encoding="utf-8"
    )
    return root


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own, so restarting it disturbs nobody else."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self.restarts = 0

    def _run(self, *argv: str) -> None:
        command = [str(PG_BIN / argv[0]), *argv[1:]]
        if os.geteuid() == 0:
            # initdb and the server refuse to run as root.
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stdout + done.stderr

    def _pg_ctl(self, action: str) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl", action, "-D", str(self.data), "-w", "-m", "fast", "-l",
            str(self.folder / "server.log"), "-o", options,
        )  # fmt: skip

    def start(self) -> None:
        """Create the cluster (trust on loopback) and start it."""
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust")
        self._pg_ctl("start")

    def restart(self) -> None:
        """Restart the server, dropping every connection, as an upgrade or failover does."""
        self._pg_ctl("restart")
        self.restarts += 1

    def stop(self) -> None:
        """Stop the server."""
        if (self.data / "postmaster.pid").exists():
            self._pg_ctl("stop")


def postgres_unavailable() -> str | None:
    """Return why a private cluster cannot be started here, or None when it can."""
    if not (PG_BIN / "initdb").is_file():
        return f"no PostgreSQL server binaries at {PG_BIN}"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root, and there is no postgres user to run initdb as"
        if shutil.which("runuser") is None:
            return "running as root, and there is no runuser to run initdb as postgres"
    return None


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    """Yield a private PostgreSQL cluster; skip where none can be started."""
    reason = postgres_unavailable()
    if reason is not None:
        pytest.skip(reason)
    # Not under pytest's tmp_path: the postgres user must reach it, and its socket path
    # must stay short.
    folder = Path(tempfile.mkdtemp(prefix="lb-pg-"))
    cluster = PrivatePostgres(folder)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Figures:
    """What the run did, written out for the lead to quote."""

    started: float = field(default_factory=time.monotonic)
    sent: int = 0
    accepted: int = 0
    retried_requests: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    kills: list[str] = field(default_factory=list)
    github_faults: int = 0
    discord_faults: int = 0
    postgres_restarts: int = 0
    questions: int = 0
    asked_while_down: int = 0
    discord_suggestions: int = 0


@dataclass
class Proof:
    """The sandboxes, the database, the processes and what the test sent."""

    tmp_path: Path
    discord: DiscordSandbox
    github: GitHubSandbox
    mail: MailSandbox
    postgres: PrivatePostgres
    content: Path
    guild: dict[str, Any]
    environment: dict[str, str]
    web_ports: tuple[int, int]
    processes: dict[str, Process] = field(default_factory=dict)
    figures: Figures = field(default_factory=Figures)
    # Suggestion id -> (who, the sentence it edits).
    accepted: dict[int, tuple[str, int]] = field(default_factory=dict)
    questions: list[int] = field(default_factory=list)
    # How many API suggestions may be sent so far: each disruption happens mid-flow.
    allowed: int = 0

    def start(self, name: str, *argv: str, **settings: str) -> Process:
        """Start `lessonbot ARGV` with the shared settings (a restart gets a new folder)."""
        environment = {k: v for k, v in os.environ.items() if not k.startswith("LESSONBOT_")}
        environment.update(self.environment)
        environment.update({f"LESSONBOT_{k}": v for k, v in settings.items()})
        folder = self.tmp_path / f"{name}-{sum(key.startswith(name) for key in self.processes)}"
        process = Process(folder, list(argv), environment)
        self.processes[folder.name] = process
        return process

    def role(self, name: str, role: str, port: int | None = None) -> Process:
        """Start a `lessonbot run --role ROLE` process."""
        return self.start(name, "run", "--role", role, WEB_PORT=str(port or free_port()))

    def live(self) -> list[Process]:
        """Return the processes still running."""
        return [p for p in self.processes.values() if p.process.poll() is None]

    def query(self, statement: Any) -> list[Any]:
        """Run one query on the database (from the test, not through the bot)."""
        engine = make_sync_engine(self.postgres.url)
        try:
            with engine.connect() as connection:
                return list(connection.execute(statement).all())
        finally:
            engine.dispose()


async def wait_for(
    condition: Callable[[], Any], what: str, proof: Proof, seconds: float = TIMEOUT
) -> None:
    """Wait until `condition()` holds (it may block: it runs on a thread)."""
    deadline = time.monotonic() + seconds
    while not await asyncio.to_thread(condition):
        if time.monotonic() > deadline:
            logs = "\n".join(
                f"--- {name}\n{p.log()[-3000:]}" for name, p in proof.processes.items()
            )
            pytest.fail(f"timed out waiting for {what}: {progress(proof)}\n{logs}")
        await asyncio.sleep(0.5)


def progress(proof: Proof) -> str:
    """Return where the run is: what was sent, and the suggestions and jobs by status."""
    try:
        suggestions = Counter(str(s) for (s,) in proof.query(select(Suggestion.status)))
        jobs = Counter(
            f"{kind}:{status}"
            for kind, status in proof.query(select(OutboxJob.kind, OutboxJob.status))
        )
    except Exception as error:  # the database may be what is stuck
        return f"{proof.figures}; database: {error}"
    return f"{proof.figures}; suggestions {dict(suggestions)}; jobs {dict(jobs)}"


@pytest.fixture
async def proof(tmp_path: Path, postgres: PrivatePostgres) -> AsyncIterator[Proof]:
    """Start the sandboxes, migrate and link, then every role's process."""
    content = write_content(tmp_path / "content")
    web_ports = (free_port(), free_port())
    # Discord's per-channel limit on new messages (5 in 5 s) would spread the lesson post's
    # 210 "suggested an edit" notes over minutes: the run injects its own 429s instead.
    limits = RateLimitSettings()
    limits.rules["message_create"] = (50, 1.0)
    with (
        DiscordSandbox(bot_token=SANDBOX_BOT_TOKEN, rate_limits=limits) as discord,
        GitHubSandbox(
            content,
            "lessons/content",
            webhook_url=f"http://127.0.0.1:{web_ports[0]}/webhooks/github",
            webhook_secret=WEBHOOK_SECRET,
        ) as github,
        MailSandbox() as mail,
    ):
        guild = discord.create_guild(
            GUILD_NAME, channels=guild_channels(content, "en"), members=list(MEMBERS)
        )
        settings = {
            **sandbox_settings_env(discord, github, guild, postgres.url),
            "CONTENT_DIR": str(content),
            "DISCORD_DIGEST_CHANNEL_ID": str(guild["channels"]["digests"]),
            "GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "GITHUB_WRITES_PER_MINUTE": "100000",
            "GITHUB_WRITES_PER_HOUR": "1000000",
            "MAIL_SMTP_HOST": "127.0.0.1",
            "MAIL_SMTP_PORT": str(mail.smtp_port),
            "MAIL_SENDER": "lessonbot@example.org",
            "WEB_PUBLIC_URL": f"http://127.0.0.1:{web_ports[0]}",
            "WEB_PER_IP_PER_HOUR": "0",
            "SUGGESTIONS_PER_PERSON_PER_HOUR": "0",
            # 200 suggestions from a few senders in a minute are a burst the spam signals
            # hold for a moderator: this run proves the write path, and
            # tests/e2e/test_suggestion_moderation.py proves moderation.
            "SUGGESTIONS_MODERATION": "none",
            # A digest every minute, sent even when empty: several periods in one run.
            "DIGEST_SCHEDULE": "* * * * *",
            "DIGEST_SEND_EMPTY": "true",
            "DIGEST_MISFIRE_GRACE_SECONDS": "30",
            "JOBS_POLL_SECONDS": "0.2",
            # A killed worker's job is taken over after its lease: short, to stay bounded.
            "JOBS_LEASE_SECONDS": "10",
            "JOBS_BACKOFF_SECONDS": "0.5",
            "JOBS_MAX_BACKOFF_SECONDS": "5",
        }
        proof = Proof(
            tmp_path,
            discord,
            github,
            mail,
            postgres,
            content,
            guild,
            {f"LESSONBOT_{k}": v for k, v in settings.items()},
            web_ports,
        )
        try:
            for name, argv in (("upgrade", ["db", "upgrade"]), ("sync", ["sync"])):
                step = proof.start(name, *argv)
                code = await asyncio.to_thread(step.process.wait, TIMEOUT)
                assert code == 0, step.log()
            for index, port in enumerate(web_ports, start=1):
                proof.role(f"web{index}", "web", port)
            proof.role("worker1", "worker")
            proof.role("worker2", "worker")
            proof.role("gateway", "gateway")
            proof.role("scheduler", "scheduler")
            for index, port in enumerate(web_ports, start=1):
                web = proof.processes[f"web{index}-0"]
                await wait_for(
                    lambda web=web, port=port: f"127.0.0.1:{port}" in web.log(),
                    f"web{index} to listen",
                    proof,
                )
            await gateway_ready(proof, commands_before=0)
            yield proof
        finally:
            for process in proof.processes.values():
                if process.process.poll() is None:
                    process.process.kill()
                    process.process.wait()


def command_syncs(proof: Proof) -> int:
    """Return how many times a gateway registered its commands (once per start)."""
    return sum(
        1
        for entry in proof.discord.requests
        if entry["method"] == "PUT" and entry["path"].endswith("/commands")
    )


async def gateway_ready(proof: Proof, commands_before: int) -> None:
    """Wait until a gateway session is connected and its bot registered its commands."""

    def ready() -> bool:
        connected = any(session["connected"] for session in proof.discord.sessions)
        return connected and command_syncs(proof) > commands_before

    await wait_for(ready, "the gateway to be ready", proof)


def lesson_thread(proof: Proof) -> int:
    """Return the lesson's forum post, as the sync linked it."""
    [(thread,)] = proof.query(select(LessonLink.discord_thread_id))
    return int(thread)


def recorded_questions(proof: Proof) -> Counter[str]:
    """Return how many times each message was recorded as a question."""
    return Counter(external for (external,) in proof.query(select(Question.external_id)))


async def ask(proof: Proof, thread: int, count: int, *, wait: bool = True) -> None:
    """Ask `count` questions in the lesson's post; wait until each is recorded."""
    start = len(proof.questions)
    for number in range(start, start + count):
        message = await proof.discord.post_message(
            thread, ASKER, f"Why does step {number} of the proof need its own sentence?"
        )
        proof.questions.append(int(message["id"]))
    proof.figures.questions = len(proof.questions)
    if not wait:
        return
    wanted = {str(message_id) for message_id in proof.questions}
    await wait_for(
        lambda: wanted <= set(recorded_questions(proof)), f"{count} questions recorded", proof
    )


async def suggest_on_discord(proof: Proof) -> None:
    """Send DISCORD_COUNT suggestions through `/suggest edit`, from two learners."""
    for index in range(API_COUNT, API_COUNT + DISCORD_COUNT):
        learner = LEARNERS[index % len(LEARNERS)]
        options = [
            {"name": "lesson", "type": STRING, "value": LESSON},
            {"name": "locale", "type": STRING, "value": "en"},
        ]
        await run_suggest(proof.discord, proof.guild, learner, "edit", options, "en-US")
        _, answer = await submit(
            proof.discord,
            proof.guild,
            learner,
            "en-US",
            find=line(index),
            replace=edited(index),
            reason="Clearer",
        )
        found = re.search(r"/suggestions/(\d+)", json.dumps(answer))
        assert found is not None, answer
        proof.accepted[int(found.group(1))] = (f"discord:{learner}", index)
        proof.figures.discord_suggestions += 1


async def send(session: aiohttp.ClientSession, proof: Proof, index: int) -> None:
    """Send one API suggestion until it is answered 202 or refused, with one key."""
    email = EMAILS[index % len(EMAILS)]
    body = {
        "lesson": LESSON,
        "locale": "en",
        "find": line(index),
        "replace": edited(index),
        "reason": "Clearer",
        "author": {"name": email.split("@")[0].title(), "email": email},
    }
    headers = {"Idempotency-Key": f"proof-{index}"}
    while proof.figures.sent >= proof.allowed:  # noqa: ASYNC110 - a limit chaos() raises
        await asyncio.sleep(0.05)
    proof.figures.sent += 1
    for attempt in range(60):
        # Both web ports in turn; a retry goes to the other one, as a balancer would.
        port = proof.web_ports[(index + attempt) % 2]
        url = f"http://127.0.0.1:{port}/api/suggestions"
        try:
            async with session.post(url, json=body, headers=headers) as answer:
                status, data = answer.status, await answer.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError):
            status, data = 0, None
        if status == 202:
            proof.accepted[int(data["id"])] = (email, index)
            proof.figures.accepted += 1
            return
        if status and status < 500 and status != 429:
            proof.figures.refused[f"{status}:{(data or {}).get('code')}"] += 1
            return
        proof.figures.retried_requests += 1
        await asyncio.sleep(0.5)
    proof.figures.refused["gave up"] += 1


async def load(proof: Proof) -> None:
    """Send the API suggestions, eight at a time, over both web ports."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(API_COUNT):
        queue.put_nowait(index)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def sender() -> None:
            while not queue.empty():
                await send(session, proof, queue.get_nowait())

        await asyncio.gather(*(sender() for _ in range(8)))


async def kill_and_restart(proof: Proof, name: str, role: str) -> Process:
    """Kill a role's newest process with SIGKILL and start it again."""
    await kill(proof, name)
    return proof.role(name, role)


async def kill(proof: Proof, name: str) -> None:
    """Kill a role's newest process with SIGKILL."""
    [process] = [
        p for key, p in proof.processes.items() if key.startswith(name) and p in proof.live()
    ]
    process.process.send_signal(signal.SIGKILL)
    await asyncio.to_thread(process.process.wait, TIMEOUT)
    assert process.process.returncode == -signal.SIGKILL
    proof.figures.kills.append(name)


async def chaos(proof: Proof, lesson_thread_id: int) -> None:
    """While the load runs: faults, kills and the database restart, each once the load
    has reached its point."""

    async def reached(count: int) -> None:
        await wait_for(lambda: proof.figures.accepted >= count, f"{count} accepted", proof)

    # GitHub: every write of the pull request path loses its answer or is rate limited.
    for match in PR_WRITES:
        for _ in range(15):
            proof.github.add_fault(match, "after", 1)
            proof.github.add_fault(match, "secondary", 1)
            proof.figures.github_faults += 2
    # Discord: 429s on messages (the DMs and the digests) and on opening DM channels.
    proof.discord.add_fault("POST /api/v10/channels/*/messages", "rate_limit", 20, 0.2)
    proof.discord.add_fault("POST /api/v10/users/@me/channels", "rate_limit", 3, 0.2)
    proof.figures.discord_faults += 23
    proof.allowed = 60
    await reached(40)
    await kill_and_restart(proof, "worker1", "worker")
    proof.allowed = 100
    await reached(80)
    # The database restarts while suggestions arrive and a learner asks questions.
    restart = asyncio.create_task(asyncio.to_thread(proof.postgres.restart))
    await ask(proof, lesson_thread_id, 3, wait=False)
    await restart
    proof.figures.postgres_restarts = proof.postgres.restarts
    proof.allowed = 140
    await reached(120)
    commands = command_syncs(proof)
    await kill(proof, "gateway")
    # Asked while no gateway session is up: Discord never delivers these to the next
    # session; the restarted gateway reads the post back.
    await ask(proof, lesson_thread_id, 3, wait=False)
    proof.figures.asked_while_down = 3
    proof.role("gateway", "gateway")
    await gateway_ready(proof, commands)
    proof.allowed = API_COUNT
    # More lost answers after the restarts, for the PRs still to open.
    for match in PR_WRITES:
        proof.github.add_fault(match, "after", 3)
        proof.figures.github_faults += 3


def settled(proof: Proof) -> bool:
    """Tell whether every accepted suggestion is open and no job waits or runs."""
    statuses = {str(status) for (status,) in proof.query(select(Suggestion.status))}
    jobs = {
        str(status)
        for (status,) in proof.query(
            select(OutboxJob.status).where(
                OutboxJob.status.in_([JobStatus.PENDING, JobStatus.RUNNING])
            )
        )
    }
    return statuses == {"open"} and not jobs


def pulls(proof: Proof) -> list[dict[str, Any]]:
    """Return every pull request, through the REST API (all pages)."""
    found: list[dict[str, Any]] = []
    page = 1
    while True:
        batch = get_json(
            f"{proof.github.base_url}/repos/{proof.github.repository}/pulls"
            f"?state=all&per_page=100&page={page}",
            Authorization="token maintainer",
        )
        found += batch
        if len(batch) < 100:
            return found
        page += 1


def write_figures(proof: Proof, extra: dict[str, Any]) -> dict[str, Any]:
    """Write the run's figures to tests/artifacts/ and print them."""
    figures = proof.figures
    data = {
        "suggestions_sent": figures.sent,
        "suggestions_accepted_202": figures.accepted,
        "discord_suggestions": figures.discord_suggestions,
        "retried_requests": figures.retried_requests,
        "refused": dict(figures.refused),
        "kills": figures.kills,
        "github_faults": figures.github_faults,
        "discord_faults": figures.discord_faults,
        "postgres_restarts": figures.postgres_restarts,
        "questions": figures.questions,
        "asked_while_down": figures.asked_while_down,
        "wall_seconds": round(time.monotonic() - figures.started, 1),
        **extra,
    }
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "production_proof.json").write_text(json.dumps(data, indent=2) + "\n")
    print(json.dumps(data))
    return data


async def test_every_role_through_kills_faults_and_a_database_restart(proof: Proof) -> None:
    thread = lesson_thread(proof)
    # With the gateway up: questions and the Discord suggestions.
    await ask(proof, thread, 5)
    await suggest_on_discord(proof)
    await asyncio.gather(load(proof), chaos(proof, thread))
    # After the gateway's restart and the database's: more questions.
    await ask(proof, thread, 5)
    await wait_for(lambda: settled(proof), "every suggestion's PR and notice", proof)
    # At least two digest periods have passed since the processes started.
    await wait_for(lambda: len(proof.query(select(DigestRun.id))) >= 2, "two digest periods", proof)
    await wait_for(lambda: settled(proof), "the digests' deliveries", proof)

    # Every 202 has exactly one PR, on its suggestion's branch, and no PR is extra.
    assert proof.figures.accepted == API_COUNT, proof.figures
    found = await asyncio.to_thread(pulls, proof)
    heads = Counter(pull["head"]["ref"] for pull in found)
    assert heads == Counter(f"lessonbot/suggest/{sid}" for sid in proof.accepted)
    numbers = dict(proof.query(select(Suggestion.id, Suggestion.pr_number)))
    assert set(numbers) == set(proof.accepted)
    assert {pull["number"] for pull in found} == set(numbers.values())

    # Each suggester is told of each PR once: by email, or by DM for the Discord ones.
    mails = [
        message_from_string(m.raw.decode(), policy=policy.default) for m in proof.mail.messages
    ]
    texts: list[tuple[str, str]] = [
        (str(mail["To"]), mail.get_body(("plain",)).get_content())
        for mail in mails
        if "digest" not in str(mail["Subject"]).lower()
    ]
    texts += [
        (f"discord:{learner}", message["content"])
        for learner in LEARNERS
        for message in proof.discord.dms(learner)
    ]
    told: Counter[tuple[str, int]] = Counter()
    by_pull = {f"/pull/{numbers[sid]}": sid for sid in proof.accepted}
    for to, text in texts:
        for sid in {by_pull[link] for link in re.findall(r"/pull/\d+\b", text) if link in by_pull}:
            if proof.accepted[sid][0] in to:
                told[(proof.accepted[sid][0], sid)] += 1
    expected = Counter({(who, sid): 1 for sid, (who, _) in proof.accepted.items()})
    missing, extra = expected - told, told - expected
    assert not missing and not extra, (len(texts), list(missing)[:5], list(extra)[:5], texts[:2])

    # Nothing ended failed, and every injected fault met a request.
    assert not proof.query(select(OutboxJob.dedupe_key).where(OutboxJob.status == JobStatus.FAILED))
    assert proof.github.context.faults.to_json() == []
    assert proof.discord.context.faults.to_json() == []

    # Every question is recorded once, those asked while the gateway was down too.
    recorded = recorded_questions(proof)
    assert {str(m): recorded[str(m)] for m in proof.questions} == {
        str(m): 1 for m in proof.questions
    }

    # One digest per period: each run recorded once, delivered once, posted once.
    runs = proof.query(select(DigestRun.id, DigestRun.period_key))
    assert len({key for _, key in runs}) == len(runs)
    deliveries = proof.query(select(DigestDelivery.run_id, DigestDelivery.status))
    assert Counter(run for run, _ in deliveries) == Counter({run: 1 for run, _ in runs})
    assert {str(status) for _, status in deliveries} == {"sent"}
    channel = int(proof.guild["channels"]["digests"])
    posted = Counter(
        embed["title"]
        for message in proof.discord.channel_messages(channel)
        for embed in message["embeds"]
    )
    # Each run's parts, posted once each (a digest is split within Discord's limits).
    parts = Counter(
        embed["title"]
        for (payload,) in proof.query(
            select(OutboxJob.payload).where(OutboxJob.kind == DigestService.JOB_KIND)
        )
        for embed in payload.get("embeds", ())
    )
    write_figures(
        proof,
        {
            "pull_requests": len(found),
            "emails": len(mails),
            "dms": sum(len(proof.discord.dms(learner)) for learner in LEARNERS),
            "digest_periods": len(runs),
            "digest_parts_posted": sum(posted.values()),
        },
    )
    assert posted == parts
