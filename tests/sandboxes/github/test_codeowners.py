"""CODEOWNERS: the owners of a pull request's changed paths are asked to review it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from github import Auth, Github

from sandboxes.github import GitHubSandbox
from sandboxes.github.codeowners import owners_of, parse, user_owners
from tests.sandboxes.github.conftest import LESSON, Receiver
from tests.sandboxes.github.test_routes_pulls import suggest

Validator = Callable[[str, str | None, dict[str, Any]], None]

RULES = """\
# Everything falls to the leads, unless a later line says otherwise.
*                       @lead @org/docs-team
*.mdx                   @writer  # lessons
/programs/demo/         @demo-owner
docs/                   @docs
programs/**/es/         @translator-es lead@example.com
/programs/demo/program.json
"""


@pytest.mark.parametrize(
    ("path", "owners"),
    [
        ("README.md", ("@lead", "@org/docs-team")),
        ("other/intro.mdx", ("@writer",)),
        (LESSON, ("@demo-owner",)),  # the last matching line wins over *.mdx
        ("programs/demo/lessons/es/pipes.mdx", ("@translator-es", "lead@example.com")),
        ("programs/demo/program.json", ()),  # a line with no owners takes ownership away
        ("guide/docs/page.md", ("@docs",)),  # unanchored: a docs/ directory at any depth
        ("docs", ("@lead", "@org/docs-team")),  # `docs/` names a directory, not a file
    ],
)
def test_the_last_matching_pattern_names_the_owners(path: str, owners: tuple[str, ...]) -> None:
    assert owners_of(parse(RULES), path) == owners


def test_anchoring_and_wildcards_follow_gitignore() -> None:
    rules = parse("/build/*.txt @a\nlogs @b\napps/**/test @c\n")
    assert owners_of(rules, "build/out.txt") == ("@a",)
    assert owners_of(rules, "build/deep/out.txt") == ()  # * stops at a slash
    assert owners_of(rules, "src/build/out.txt") == ()  # anchored at the root
    assert owners_of(rules, "src/logs/today.log") == ("@b",)
    assert owners_of(rules, "apps/test/x.py") == ("@c",)
    assert owners_of(rules, "apps/a/b/test/x.py") == ("@c",)


def test_only_users_are_requested_never_teams_or_emails() -> None:
    rules = parse(RULES)
    paths = ["README.md", LESSON, "programs/demo/lessons/es/pipes.mdx"]
    assert user_owners(rules, paths) == ["lead", "demo-owner", "translator-es"]


def as_user(sandbox: GitHubSandbox, login: str) -> Github:
    """Return an unthrottled PyGithub client acting as `login`."""
    return Github(
        base_url=sandbox.base_url,
        auth=Auth.Token(login),
        retry=None,
        seconds_between_requests=0,
        seconds_between_writes=0,
    )


def add_codeowners(repo: Any, text: str, path: str = ".github/CODEOWNERS") -> None:
    """Commit a CODEOWNERS file to main."""
    repo.create_file(path, "Add code owners", text, "main")


def test_opening_a_pull_request_requests_its_code_owners(
    sandbox: GitHubSandbox, gh: Callable[..., Github]
) -> None:
    for login in ("writer", "demo-owner", "lead"):
        sandbox.add_collaborator(login, "write")
    sandbox.add_collaborator("reader", "read")
    maintainer = gh("maintainer").get_repo("lessons/content")
    add_codeowners(
        maintainer,
        "* @lead\n*.mdx @writer\n/programs/demo/lessons/en/ @demo-owner @reader @lessonbot "
        "@nobody @org/team\n",
    )
    bot = gh("lessonbot").get_repo("lessons/content")
    suggest(bot, "suggest-1", b"two commands", b"two programs")
    pull = bot.create_pull(base="main", head="suggest-1", title="Wording")
    users, teams = bot.get_pull(pull.number).get_review_requests()
    # The last matching line only; no readers, no strangers, never the author.
    assert [user.login for user in users] == ["demo-owner"]
    assert list(teams) == []


@pytest.mark.parametrize("path", ["CODEOWNERS", "docs/CODEOWNERS"])
def test_the_other_codeowners_locations_count_too(
    sandbox: GitHubSandbox, gh: Callable[..., Github], path: str
) -> None:
    sandbox.add_collaborator("writer", "write")
    add_codeowners(gh("maintainer").get_repo("lessons/content"), "*.mdx @writer\n", path)
    bot = gh("lessonbot").get_repo("lessons/content")
    suggest(bot, "suggest-1", b"two commands", b"two programs")
    number = bot.create_pull(base="main", head="suggest-1", title="Wording").number
    users, _ = bot.get_pull(number).get_review_requests()
    assert [user.login for user in users] == ["writer"]


def test_without_codeowners_nobody_is_requested(gh: Callable[..., Github]) -> None:
    bot = gh("lessonbot").get_repo("lessons/content")
    suggest(bot, "suggest-1", b"two commands", b"two programs")
    number = bot.create_pull(base="main", head="suggest-1", title="Wording").number
    users, _ = bot.get_pull(number).get_review_requests()
    assert list(users) == []


async def test_code_owner_requests_are_sent_as_webhooks_after_opened(
    content_dir: Path,
    receiver: Receiver,
    webhook_validator: Validator,
    webhook_model_validator: Validator,
) -> None:
    sandbox = GitHubSandbox(content_dir, webhook_url=receiver.url, webhook_secret="s")
    async with sandbox:
        sandbox.add_collaborator("writer", "write")
        sandbox.add_collaborator("lead", "maintain")

        def flow() -> None:
            maintainer = as_user(sandbox, "maintainer")
            add_codeowners(maintainer.get_repo("lessons/content"), "*.mdx @writer @lead\n")
            bot = as_user(sandbox, "lessonbot")
            repo = bot.get_repo("lessons/content")
            suggest(repo, "suggest-1", b"two commands", b"two programs")
            repo.create_pull(base="main", head="suggest-1", title="Wording")

        await asyncio.to_thread(flow)
        await sandbox.wait_for_webhooks()
        deliveries = [d for d in sandbox.deliveries if d["event"] == "pull_request"]
    assert [d["action"] for d in deliveries] == ["opened", "review_requested", "review_requested"]
    for delivery in deliveries:
        webhook_validator("pull_request", delivery["action"], delivery["payload"])
        webhook_model_validator("pull_request", delivery["action"], delivery["payload"])
    requested = [d["payload"]["requested_reviewer"]["login"] for d in deliveries[1:]]
    assert requested == ["writer", "lead"]
    assert all(d["payload"]["sender"]["login"] == "lessonbot" for d in deliveries)
    last = deliveries[-1]["payload"]["pull_request"]["requested_reviewers"]
    assert [user["login"] for user in last] == ["writer", "lead"]
