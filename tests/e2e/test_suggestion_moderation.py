"""Held suggestions never reach GitHub until a moderator approves them (issue 19, part 4).

The web form, the bot's job worker and the GitHub sandbox with real git: a suspicious edit
is held with no branch and no pull request; `lessonbot suggestions review --approve` (the
real CLI, on the same database) releases it and the worker opens its PR; a rejected or
blocked one stays off GitHub. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from github import Auth, Github
from sqlalchemy import func, select

from bot.cli import main
from bot.config import GitHubSettings, Secret
from bot.github.adapter import GitHubAdapter
from bot.i18n import t
from bot.services.suggestions.moderation import ModerationError
from bot.services.worker import JobWorker
from bot.store.models import OutboxJob, Suggestion, SuggestionModeration
from sandboxes.github import GitHubSandbox
from tests.conftest import FIXTURES
from tests.web.suggest_support import FORM_URL, Door, Sessions, copy_content, form, open_door

SPAM = "Fixtures are small on purpose. Best online casino bonus: https://bit.ly/3xYzAbc"


@dataclass
class Moderated:
    """The web door and worker on the GitHub sandbox."""

    door: Door
    sandbox: GitHubSandbox
    worker: JobWorker
    maintainer: Github

    async def settle(self) -> None:
        """Run every due job, as the running bot's worker would."""
        while await self.worker.run_once():
            pass

    async def on_github(self) -> tuple[list[str], list[int]]:
        """Return the sandbox repository's suggestion branches and pull request numbers."""

        def read() -> tuple[list[str], list[int]]:
            repo = self.maintainer.get_repo(self.sandbox.repository)
            branches = [b.name for b in repo.get_branches() if b.name.startswith("lessonbot/")]
            return branches, [pull.number for pull in repo.get_pulls(state="all")]

        return await asyncio.to_thread(read)

    async def send(self, replace: str, **fields: str) -> int:
        """Send the suggest form; return the suggestion id its redirect names."""
        csrf = await self.door.csrf()
        response = await self.door.client.post(
            FORM_URL, data=form(csrf, replace=replace, **fields), allow_redirects=False
        )
        assert response.status == 303
        return int(response.headers["Location"].split("/suggestions/")[1].split("?")[0])

    async def status(self, suggestion_id: int) -> str:
        async with self.door.sessions() as session:
            return str(
                await session.scalar(
                    select(Suggestion.status).where(Suggestion.id == suggestion_id)
                )
            )

    async def jobs(self) -> int:
        async with self.door.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(OutboxJob)) or 0)


@pytest.fixture
async def moderated(session_factory: Sessions, tmp_path: Path) -> AsyncIterator[Moderated]:
    async with GitHubSandbox(FIXTURES / "content", "lessons/content") as sandbox:
        github = GitHubAdapter.from_settings(
            GitHubSettings(
                base_url=sandbox.base_url,
                repository=sandbox.repository,
                token=Secret("lessonbot"),
                seconds_between_requests=0,
                seconds_between_writes=0,
            ),
            backoff=0.01,
        )
        door = await open_door(session_factory, copy_content(tmp_path), github=github)
        worker = JobWorker(door.outbox, {door.service.JOB_KIND: door.service.run_job})
        sandbox.add_collaborator("maintainer", "write")
        maintainer = Github(
            base_url=sandbox.base_url,
            auth=Auth.Token("maintainer"),
            retry=None,
            seconds_between_requests=0,
            seconds_between_writes=0,
        )
        try:
            yield Moderated(door, sandbox, worker, maintainer)
        finally:
            await door.client.close()
            github.close()


def run_cli(database_url: str, *arguments: str) -> tuple[int, str, str]:
    """Run `lessonbot` as a moderator would, on the test database; return code and output."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        for name in os.environ:
            if name.startswith("LESSONBOT_"):
                patch.delenv(name)
        patch.setenv("LESSONBOT_DATABASE_URL", database_url)
        patch.setenv("LESSONBOT_CONTENT_DIR", str(FIXTURES / "content"))
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(arguments))
    return code, out.getvalue(), err.getvalue()


async def test_a_held_suggestion_has_no_pr_until_the_cli_approves_it(
    moderated: Moderated, migrated_url: str
) -> None:
    suggestion_id = await moderated.send(SPAM)
    await moderated.settle()

    assert await moderated.status(suggestion_id) == "held"
    assert await moderated.jobs() == 0
    assert await moderated.on_github() == ([], [])
    # Its sender reads that it waits, and nothing of why.
    page = await (await moderated.door.client.get(f"/suggestions/{suggestion_id}")).text()
    assert "Waiting for a moderator" in page
    for word in ("spam", "casino", "shortener", "rejected", "signal"):
        assert word not in page.lower().replace("casino bonus", "")

    code, out, _ = await asyncio.to_thread(run_cli, migrated_url, "suggestions", "review", "--json")
    assert code == 0
    [listed] = json.loads(out)
    assert listed["id"] == suggestion_id
    assert {signal["code"] for signal in listed["signals"]} >= {"link_shortener", "promotion"}
    assert "+Fixtures are small on purpose. Best online casino" in listed["diff"]
    code, out, _ = await asyncio.to_thread(run_cli, migrated_url, "suggestions", "review")
    assert t("en", "moderation.signal.link_shortener", domains="bit.ly") in out

    code, out, _ = await asyncio.to_thread(
        run_cli, migrated_url, "suggestions", "review", "--approve", str(suggestion_id)
    )
    assert code == 0 and out.strip() == t("en", "moderation.cli_approved", id=suggestion_id)
    await moderated.settle()

    assert await moderated.status(suggestion_id) == "open"
    branches, pulls = await moderated.on_github()
    assert branches == [f"lessonbot/suggest/{suggestion_id}"] and len(pulls) == 1
    # Approving again finds nothing held: one job, one PR.
    code, _, err = await asyncio.to_thread(
        run_cli, migrated_url, "suggestions", "review", "--approve", str(suggestion_id)
    )
    assert code != 0 and t("en", "moderation.cli_not_held", id=suggestion_id) in err
    await moderated.settle()
    assert len((await moderated.on_github())[1]) == 1


async def test_a_genuine_edit_goes_straight_to_its_pr(moderated: Moderated) -> None:
    suggestion_id = await moderated.send("Fixtures are kept small on purpose.")
    await moderated.settle()
    assert await moderated.status(suggestion_id) == "open"
    assert len((await moderated.on_github())[1]) == 1


async def test_rejected_and_blocked_suggestions_never_reach_github(
    moderated: Moderated, migrated_url: str
) -> None:
    moderation = moderated.door.service.moderation
    first = await moderated.send(SPAM, email="spam@example.org")
    await moderation.reject(first, "tester", block=True)
    await moderated.settle()
    assert await moderated.status(first) == "rejected"

    # The blocked sender gets the same answer as anyone, with a harmless edit even.
    second = await moderated.send("Fixtures are kept small on purpose.", email="SPAM@example.org")
    await moderated.settle()
    assert await moderated.status(second) == "rejected"
    page = await (await moderated.door.client.get(f"/suggestions/{second}")).text()
    assert "Waiting for a moderator" in page
    async with moderated.door.sessions() as session:
        reason = await session.scalar(
            select(SuggestionModeration.reason).where(SuggestionModeration.suggestion_id == second)
        )
    assert reason == "blocked"
    api = await (await moderated.door.client.get(f"/api/suggestions/{second}")).json()
    assert api["status"] == "held"
    assert await moderated.jobs() == 0
    assert await moderated.on_github() == ([], [])

    code, out, _ = await asyncio.to_thread(run_cli, migrated_url, "suggestions", "block", "--json")
    blocks = {block["kind"]: block["value"] for block in json.loads(out)}
    assert sorted(blocks) == ["address", "email"]
    assert blocks["email"] == "spam@example.org"
    # The address is kept only as the web door's keyed hash of it.
    assert blocks["address"].startswith("handle:ip:") and "127.0.0.1" not in blocks["address"]
    code, out, _ = await asyncio.to_thread(
        run_cli, migrated_url, "suggestions", "unblock", "--email", "spam@example.org"
    )
    assert code == 0 and out.strip() == t(
        "en", "moderation.cli_block_removed", value="spam@example.org"
    )
    # Unblocked by email, but the address is still blocked: still turned down unseen.
    third = await moderated.send("Fixtures are kept small on purpose!", email="spam@example.org")
    assert await moderated.status(third) == "rejected"
    # The door's own signer (the CLI's is the running bot's stored key) hashes the address.
    assert await moderation.unblock("address", "127.0.0.1")
    fourth = await moderated.send("Fixtures are kept small on purpose.", email="spam@example.org")
    await moderated.settle()
    assert await moderated.status(fourth) == "open"


async def test_two_moderators_approving_at_once_release_it_once(moderated: Moderated) -> None:
    suggestion_id = await moderated.send(SPAM)
    moderation = moderated.door.service.moderation
    outcomes = await asyncio.gather(
        moderation.approve(suggestion_id, "one"),
        moderation.approve(suggestion_id, "two"),
        return_exceptions=True,
    )
    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["ModerationError", "NoneType"]
    assert isinstance(next(o for o in outcomes if o is not None), ModerationError)
    assert await moderated.jobs() == 1
    await moderated.settle()
    assert len((await moderated.on_github())[1]) == 1


async def test_unknown_mode_holds_a_stranger_but_not_a_discord_member(
    session_factory: Sessions, tmp_path: Path
) -> None:
    from bot.services.suggestions import Author, SuggestionInput
    from bot.store.models import SuggestionSource

    door = await open_door(session_factory, copy_content(tmp_path), moderation="unknown")
    try:
        stranger = await door.service.submit(
            SuggestionInput(
                lesson="demo/pipes",
                locale="en",
                find="Fixtures are small on purpose.",
                replace="Fixtures are kept small on purpose.",
                reason="Clearer",
                source=SuggestionSource.API,
                author=Author(name="Ann", email="ann@example.org", handle="ip:x"),
            )
        )
        member = await door.service.submit(
            SuggestionInput(
                lesson="demo/pipes",
                locale="en",
                find="Fixtures are small on purpose.",
                replace="Fixtures are small, on purpose.",
                reason="Comma",
                source=SuggestionSource.DISCORD,
                author=Author(name="Bo", discord_user_id=42),
            )
        )
        assert (stranger.status, member.status) == ("held", "queued")
        [held] = await door.service.moderation.held()
        assert held.id == stranger.id and held.held_because == "unknown"
        assert [signal.code for signal in held.signals] == ["unknown_sender"]
    finally:
        await door.client.close()
