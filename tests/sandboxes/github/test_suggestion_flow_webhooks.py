"""The webhooks a suggested-edit pull request causes, from opening to merge, GitHub-shaped."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from github import Auth, Github, InputGitTreeElement

from sandboxes.github import GitHubSandbox
from tests.sandboxes.github.conftest import LESSON, LESSON_TEXT, Receiver
from tests.sandboxes.github.test_review_comments import common_schema_check

Validator = Callable[[str, str | None, dict[str, Any]], None]
CO_AUTHORED = (
    "Reword the pipes lesson\n\nAs suggested on Discord.\n\n"
    "Co-authored-by: Ada Learner <12345+ada@users.noreply.github.com>"
)
SUGGESTION = "Clearer:\n\n```suggestion\nA pipe joins two programs.\n```\n"


def client(sandbox: GitHubSandbox, login: str) -> Github:
    """Return an unthrottled PyGithub client acting as `login`."""
    return Github(
        base_url=sandbox.base_url,
        auth=Auth.Token(login),
        seconds_between_requests=0,
        seconds_between_writes=0,
        retry=None,
    )


def run_flow(sandbox: GitHubSandbox) -> dict[str, Any]:
    """Open a suggestion, revise it, force-reset it, review, close, reopen and merge it."""
    bot = client(sandbox, "lessonbot").get_repo("lessons/content")
    maintainer = client(sandbox, "maintainer").get_repo("lessons/content")
    main = bot.get_branch("main").commit.sha
    bot.create_git_ref("refs/heads/suggest-1", main)
    current = bot.get_contents(LESSON, ref="suggest-1")
    first = bot.update_file(
        LESSON,
        CO_AUTHORED,
        LESSON_TEXT.replace("two commands", "two programs"),
        current.sha,
        branch="suggest-1",
    )
    pull = bot.create_pull(base="main", head="suggest-1", title="Wording", body="From Ada.")
    # A revision: a contents PUT on the head branch.
    revised = bot.update_file(
        LESSON,
        "Revise",
        LESSON_TEXT.replace("two commands", "two small programs"),
        first["content"].sha,
        branch="suggest-1",
    )
    # A re-application on a newer main: main moves, the branch is force-reset onto it.
    moved = maintainer.create_file("NOTES.md", "Add notes", "notes\n", "main")
    base = bot.get_git_commit(moved["commit"].sha)
    blob = bot.create_git_blob(LESSON_TEXT.replace("two commands", "two tools"), "utf-8")
    tree = bot.create_git_tree(
        [InputGitTreeElement(LESSON, "100644", "blob", sha=blob.sha)], base.tree
    )
    reapplied = bot.create_git_commit(CO_AUTHORED, tree, [base])
    bot.get_git_ref("heads/suggest-1").edit(reapplied.sha, force=True)
    theirs = maintainer.get_pull(pull.number)
    theirs.create_review(event="COMMENT", body="Reading it.")
    theirs.create_review_comment(SUGGESTION, reapplied.sha, LESSON, line=8, side="RIGHT")
    theirs.create_review(event="REQUEST_CHANGES", body="One more thing.")
    theirs.create_review(event="APPROVE", body="Thanks!")
    theirs.edit(state="closed")
    theirs.edit(state="open")
    merged = theirs.merge(commit_message="Merge Ada's suggestion")
    readme = maintainer.create_file("CHANGES.md", "Note the change", "Pipes reworded.\n", "main")
    return {
        "main": main,
        "first": first["commit"].sha,
        "revised": revised["commit"].sha,
        "moved": moved["commit"].sha,
        "reapplied": reapplied.sha,
        "merge": merged.sha,
        "direct": readme["commit"].sha,
        "pull": pull.number,
    }


EXPECTED = [
    ("push", None),  # the branch is created
    ("push", None),  # the first commit on it
    ("pull_request", "opened"),
    ("push", None),
    ("pull_request", "synchronize"),  # the revision
    ("push", None),  # main moves
    ("push", None),  # the forced reset
    ("pull_request", "synchronize"),
    ("pull_request_review", "submitted"),
    ("pull_request_review_comment", "created"),
    ("pull_request_review", "submitted"),
    ("pull_request_review", "submitted"),
    ("pull_request_review", "submitted"),
    ("pull_request", "closed"),
    ("pull_request", "reopened"),
    ("push", None),  # the merge
    ("pull_request", "closed"),
    ("push", None),  # a contents PUT straight to main
]


async def test_a_suggestion_pull_request_sends_every_webhook_github_would(
    content_dir: Path,
    receiver: Receiver,
    webhook_validator: Validator,
    webhook_model_validator: Validator,
) -> None:
    sandbox = GitHubSandbox(content_dir, webhook_url=receiver.url, webhook_secret="s")
    async with sandbox:
        shas = await asyncio.to_thread(run_flow, sandbox)
        await sandbox.wait_for_webhooks()
        deliveries = sandbox.deliveries
    assert [(d["event"], d["action"]) for d in deliveries] == EXPECTED
    assert all(d["status"] == 200 for d in deliveries)
    for delivery in deliveries:
        event, action, payload = delivery["event"], delivery["action"], delivery["payload"]
        webhook_model_validator(event, action, payload)
        if event == "pull_request_review_comment":
            # The frozen JSON Schemas lack this event but describe its comment.
            common_schema_check("pull-request-review-comment", payload["comment"])
        else:
            webhook_validator(event, action, payload)
    payloads = [d["payload"] for d in deliveries]
    (
        created,
        first_push,
        opened,
        revision_push,
        revision_sync,
        main_push,
        forced_push,
        forced_sync,
        commented,
        comment,
        single,
        changes,
        approved,
        closed,
        reopened,
        merge_push,
        merged,
        direct_push,
    ) = payloads

    assert created["created"] and created["ref"] == "refs/heads/suggest-1"
    # The co-author trailer reaches the push payload verbatim.
    assert first_push["head_commit"]["message"] == CO_AUTHORED
    assert first_push["commits"][0]["author"]["username"] == "lessonbot"
    assert opened["pull_request"]["head"]["sha"] == shas["first"]
    assert opened["pull_request"]["body"] == "From Ada."
    assert revision_push["after"] == shas["revised"]
    assert (revision_sync["before"], revision_sync["after"]) == (shas["first"], shas["revised"])
    assert main_push["ref"] == "refs/heads/main" and main_push["after"] == shas["moved"]
    assert forced_push["forced"] is True and forced_push["after"] == shas["reapplied"]
    assert forced_push["before"] == shas["revised"]
    assert (forced_sync["before"], forced_sync["after"]) == (shas["revised"], shas["reapplied"])
    assert forced_sync["pull_request"]["head"]["sha"] == shas["reapplied"]

    reviews = [(p["review"]["state"], p["review"]["body"]) for p in (commented, changes, approved)]
    assert reviews == [
        ("commented", "Reading it."),
        ("changes_requested", "One more thing."),
        ("approved", "Thanks!"),
    ]
    assert all(p["review"]["user"]["login"] == "maintainer" for p in (commented, approved))
    assert comment["comment"]["body"] == SUGGESTION  # the suggestion block byte for byte
    assert (comment["comment"]["path"], comment["comment"]["line"]) == (LESSON, 8)
    assert comment["comment"]["commit_id"] == shas["reapplied"]
    # A single review comment comes with its own COMMENTED review, as on GitHub.
    assert single["review"]["state"] == "commented"
    assert single["review"]["id"] == comment["comment"]["pull_request_review_id"]

    assert closed["pull_request"]["merged"] is False and closed["pull_request"]["state"] == "closed"
    assert reopened["pull_request"]["state"] == "open"
    assert merge_push["ref"] == "refs/heads/main" and merge_push["after"] == shas["merge"]
    assert merged["pull_request"]["merged"] is True
    assert merged["pull_request"]["merge_commit_sha"] == shas["merge"]
    assert direct_push["ref"] == "refs/heads/main" and direct_push["after"] == shas["direct"]
    assert direct_push["head_commit"]["added"] == ["CHANGES.md"]


def test_a_co_author_trailer_is_stored_and_served_verbatim(sandbox: GitHubSandbox) -> None:
    bot = client(sandbox, "lessonbot").get_repo("lessons/content")
    bot.create_git_ref("refs/heads/suggest-1", bot.get_branch("main").commit.sha)
    current = bot.get_contents(LESSON, ref="suggest-1")
    sha = bot.update_file(LESSON, CO_AUTHORED, "new\n", current.sha, branch="suggest-1")[
        "commit"
    ].sha
    stored = subprocess.run(
        ["git", "-C", str(sandbox.git_dir), "cat-file", "commit", sha],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split("\n\n", 1)[1]
    assert stored == CO_AUTHORED
    assert bot.get_commit(sha).commit.message == CO_AUTHORED
    assert bot.get_git_commit(sha).message == CO_AUTHORED
    number = bot.create_pull(base="main", head="suggest-1", title="Wording").number
    assert [c.commit.message for c in bot.get_pull(number).get_commits()] == [CO_AUTHORED]
