"""Contract: githubkit, a GitHub client the bot does not use, runs a suggestion's whole path."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
from githubkit import AppAuthStrategy, GitHub, Response
from githubkit.exception import RequestFailed
from githubkit_schemas.latest.models import BasicError
from pydantic import TypeAdapter

from sandboxes.github import GitHubSandbox
from tests.conftest import rsa_key_pair
from tests.sandboxes.github.conftest import LESSON, LESSON_TEXT, Receiver

OWNER, NAME = "lessons", "content"
Validator = Callable[[str, str | None, dict[str, Any]], None]
OLD_LINE = "A pipe joins two commands."
NEW_LINE = "A pipe joins two programs."


def client(sandbox: GitHubSandbox, login: str) -> GitHub[Any]:
    """Return a githubkit client acting as `login`, with nothing between it and the sandbox."""
    return GitHub(
        login,
        base_url=sandbox.base_url,
        http_cache=False,
        auto_retry=False,
        trust_env=False,
        timeout=10,
    )


def typed(response: Response[Any, Any], status: int = 200) -> Any:
    """Return githubkit's parsed model of a response, after checking it strictly too."""
    assert response.status_code == status, response.content[:500]
    parsed = response.parsed_data  # what a githubkit user reads: pydantic models
    # The same model again without coercion, so a number sent as a string also fails.
    TypeAdapter(response._data_model).validate_json(response.content, strict=True)
    return parsed


async def git(*args: str) -> str:
    """Run git off the event loop (the sandbox answers it on the loop) and return its output."""
    process = await asyncio.create_subprocess_exec(
        "git", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode().strip()


def encode(text: str) -> str:
    """Encode file text as the contents API takes it."""
    return base64.b64encode(text.encode()).decode()


async def test_githubkit_runs_issue_branch_pull_review_and_merge(
    content_dir: Path,
    tmp_path: Path,
    receiver: Receiver,
    webhook_model_validator: Validator,
) -> None:
    sandbox = GitHubSandbox(content_dir, webhook_url=receiver.url, webhook_secret="s3cret")
    async with sandbox:
        bot, maintainer = client(sandbox, "lessonbot"), client(sandbox, "maintainer")
        issues, pulls = bot.rest.issues, bot.rest.pulls

        # An issue about the lesson, labelled and commented on.
        issue = typed(
            await issues.async_create(
                OWNER, NAME, title="Pipes: wording", body="Discuss the lesson.", labels=["bug"]
            ),
            201,
        )
        label = typed(
            await maintainer.rest.issues.async_create_label(
                OWNER, NAME, name="lesson", color="00ff00", description="About a lesson"
            ),
            201,
        )
        labels = typed(
            await maintainer.rest.issues.async_add_labels(
                OWNER, NAME, issue.number, labels=[label.name]
            )
        )
        assert {item.name for item in labels} == {"bug", "lesson"}
        comment = typed(
            await issues.async_create_comment(OWNER, NAME, issue.number, body="Which line?"),
            201,
        )
        assert comment.user is not None and comment.user.login == "lessonbot"
        vote = typed(
            await maintainer.rest.reactions.async_create_for_issue_comment(
                OWNER, NAME, comment.id, content="+1"
            ),
            201,
        )
        assert vote.content == "+1"
        votes = typed(
            await bot.rest.reactions.async_list_for_issue_comment(OWNER, NAME, comment.id)
        )
        assert [(v.user.login, v.content) for v in votes if v.user] == [("maintainer", "+1")]
        assigned = typed(
            await maintainer.rest.issues.async_add_assignees(
                OWNER, NAME, issue.number, assignees=["maintainer"]
            ),
            201,
        )
        assert [user.login for user in assigned.assignees or []] == ["maintainer"]
        locked = await maintainer.rest.issues.async_lock(
            OWNER, NAME, issue.number, lock_reason="resolved"
        )
        assert locked.status_code == 204
        unlocked = await maintainer.rest.issues.async_unlock(OWNER, NAME, issue.number)
        assert unlocked.status_code == 204
        again = typed(await issues.async_get(OWNER, NAME, issue.number))
        assert again.comments == 1 and again.locked is False
        assert again.reactions is None or again.reactions.total_count == 0
        timeline = typed(await issues.async_list_events_for_timeline(OWNER, NAME, issue.number))
        kinds = {getattr(item, "event", None) for item in timeline}
        assert kinds >= {"labeled", "commented", "assigned", "locked", "unlocked"}

        # A branch with one commit through the contents API.
        main = typed(await bot.rest.git.async_get_ref(OWNER, NAME, "heads/main")).object_.sha
        typed(
            await bot.rest.git.async_create_ref(OWNER, NAME, ref="refs/heads/suggest-1", sha=main),
            201,
        )
        current = typed(
            await bot.rest.repos.async_get_content(OWNER, NAME, LESSON, ref="suggest-1")
        )
        assert base64.b64decode(current.content).decode() == LESSON_TEXT
        edited = LESSON_TEXT.replace(OLD_LINE, "A pipe joins two command.")
        first = typed(
            await bot.rest.repos.async_create_or_update_file_contents(
                OWNER,
                NAME,
                LESSON,
                message="Suggest a wording",
                content=encode(edited),
                sha=current.sha,
                branch="suggest-1",
            )
        )

        # The pull request, its files and a review asking for changes.
        pull = typed(
            await pulls.async_create(
                OWNER, NAME, title="Pipes: wording", head="suggest-1", base="main", body="Hi"
            ),
            201,
        )
        files = typed(await pulls.async_list_files(OWNER, NAME, pull.number))
        assert [(f.filename, f.additions, f.deletions) for f in files] == [(LESSON, 1, 1)]
        diff = await bot.arequest(
            "GET",
            f"/repos/{OWNER}/{NAME}/pulls/{pull.number}",
            headers={"Accept": "application/vnd.github.diff"},
        )
        assert diff.text.startswith(f"diff --git a/{LESSON} b/{LESSON}\n")
        compared = typed(
            await bot.rest.repos.async_compare_commits(OWNER, NAME, "main...suggest-1")
        )
        assert (compared.status, compared.ahead_by, compared.behind_by) == ("ahead", 1, 0)
        typed(
            await bot.rest.repos.async_create_commit_status(
                OWNER,
                NAME,
                first.commit.sha,
                state="success",
                context="lessonbot/front-matter",
                description="Front matter is valid",
            ),
            201,
        )
        combined = typed(
            await bot.rest.repos.async_get_combined_status_for_ref(OWNER, NAME, "suggest-1")
        )
        assert (combined.state, combined.total_count) == ("success", 1)
        typed(await bot.rest.checks.async_list_for_ref(OWNER, NAME, "suggest-1"))
        history = typed(await bot.rest.repos.async_list_commits(OWNER, NAME, sha="suggest-1"))
        assert [c.sha for c in history[:2]] == [first.commit.sha, main]
        suggestion = f"Plural:\n```suggestion\n{NEW_LINE}\n```"
        line = LESSON_TEXT.splitlines().index(OLD_LINE) + 1
        reviews = maintainer.rest.pulls
        changes = typed(
            await reviews.async_create_review(
                OWNER,
                NAME,
                pull.number,
                commit_id=first.commit.sha,
                event="REQUEST_CHANGES",
                body="One change, please.",
                comments=[{"path": LESSON, "line": line, "side": "RIGHT", "body": suggestion}],
            )
        )
        assert changes.state == "CHANGES_REQUESTED"
        review_comments = typed(await pulls.async_list_review_comments(OWNER, NAME, pull.number))
        assert [(c.path, c.line, c.side, c.body) for c in review_comments] == [
            (LESSON, line, "RIGHT", suggestion)
        ]
        single = typed(
            await reviews.async_create_review_comment(
                OWNER,
                NAME,
                pull.number,
                commit_id=first.commit.sha,
                path=LESSON,
                line=line,
                side="RIGHT",
                body=suggestion,
            ),
            201,
        )
        reply = typed(
            await pulls.async_create_reply_for_review_comment(
                OWNER, NAME, pull.number, single.id, body="Applying it."
            ),
            201,
        )
        assert reply.in_reply_to_id == single.id
        in_review = typed(
            await pulls.async_list_comments_for_review(OWNER, NAME, pull.number, changes.id)
        )
        assert [c.body for c in in_review] == [suggestion]
        everywhere = typed(await pulls.async_list_review_comments_for_repo(OWNER, NAME))
        assert len(everywhere) == 3
        edited_reply = typed(
            await pulls.async_update_review_comment(OWNER, NAME, reply.id, body="Applied.")
        )
        assert edited_reply.body == "Applied."
        gone = await reviews.async_delete_review_comment(OWNER, NAME, single.id)
        assert gone.status_code == 204
        dismissed = typed(
            await reviews.async_dismiss_review(
                OWNER, NAME, pull.number, changes.id, message="Applied as suggested."
            )
        )
        assert dismissed.state == "DISMISSED"

        # The suggestion applied as a second commit, approved and merged.
        head = typed(await bot.rest.repos.async_get_content(OWNER, NAME, LESSON, ref="suggest-1"))
        second = typed(
            await bot.rest.repos.async_create_or_update_file_contents(
                OWNER,
                NAME,
                LESSON,
                message="Apply suggestions from code review",
                content=encode(LESSON_TEXT.replace(OLD_LINE, NEW_LINE)),
                sha=head.sha,
                branch="suggest-1",
            )
        )
        approved = typed(
            await reviews.async_create_review(
                OWNER, NAME, pull.number, event="APPROVE", body="Thanks!"
            )
        )
        assert approved.state == "APPROVED"
        listed = typed(await pulls.async_list_reviews(OWNER, NAME, pull.number))
        # A lone line comment and a reply each come as a review of their own, as on GitHub.
        assert [r.state for r in listed] == [
            "DISMISSED",
            "COMMENTED",
            "COMMENTED",
            "APPROVED",
        ]
        # The suggester has no write access: GitHub's roles, read through githubkit.
        team = typed(await maintainer.rest.repos.async_list_collaborators(OWNER, NAME))
        assert {(c.login, c.role_name) for c in team} >= {
            ("lessonbot", "write"),
            ("maintainer", "admin"),
        }
        level = typed(
            await bot.rest.repos.async_get_collaborator_permission_level(OWNER, NAME, "learner")
        )
        assert level.permission == "read"
        learner = client(sandbox, "learner")
        with pytest.raises(RequestFailed) as refused:
            await learner.rest.pulls.async_merge(OWNER, NAME, pull.number)
        assert refused.value.response.status_code == 403
        error = BasicError.model_validate_json(refused.value.response.content, strict=True)
        assert error.message == "Must have push access to repository"
        merged = typed(
            await reviews.async_merge(
                OWNER, NAME, pull.number, merge_method="merge", commit_title="Pipes: wording"
            )
        )
        assert merged.merged is True
        final = typed(await pulls.async_get(OWNER, NAME, pull.number))
        assert final.merged is True and final.state == "closed"
        assert final.merged_by is not None and final.merged_by.login == "maintainer"
        closed = typed(await issues.async_get(OWNER, NAME, pull.number))
        assert closed.pull_request is not None and closed.pull_request.merged_at is not None

        # The bare repository really holds a merge commit of main and the branch.
        clone = tmp_path / "clone"
        await git("clone", "--quiet", f"{sandbox.base_url}/{OWNER}/{NAME}.git", str(clone))
        assert await git("-C", str(clone), "rev-parse", "origin/main") == merged.sha
        parents = await git("-C", str(clone), "rev-list", "--parents", "-n", "1", merged.sha)
        assert parents.split() == [merged.sha, main, second.commit.sha]
        assert (clone / LESSON).read_text() == LESSON_TEXT.replace(OLD_LINE, NEW_LINE)

        await sandbox.wait_for_webhooks()
        deliveries = sandbox.deliveries

    # Every webhook the run caused parses into githubkit's current webhook models.
    assert deliveries and all(d["status"] == 200 for d in deliveries)
    for delivery in deliveries:
        webhook_model_validator(delivery["event"], delivery["action"], delivery["payload"])
    events = {d["event"] for d in deliveries}
    assert events >= {"issues", "issue_comment", "push", "pull_request", "pull_request_review"}
    pairs = {(d["event"], d["action"]) for d in deliveries}
    assert {
        ("pull_request_review_comment", "created"),
        ("pull_request_review_comment", "edited"),
        ("pull_request_review_comment", "deleted"),
        ("pull_request_review", "dismissed"),
    } <= pairs


async def test_githubkit_reads_an_apps_installation_and_webhook_with_a_jwt(
    content_dir: Path, receiver: Receiver
) -> None:
    """What `lessonbot doctor` reads as an App, in the shapes GitHub's models give."""
    private, public = rsa_key_pair()
    sandbox = GitHubSandbox(content_dir, webhook_url=receiver.url, webhook_secret="s3cret")
    async with sandbox:
        sandbox.register_app(4242, public, 77, events=["push"])
        maintainer = client(sandbox, "maintainer")
        await maintainer.rest.issues.async_create(OWNER, NAME, title="Hi")
        await sandbox.wait_for_webhooks()
        app = GitHub(
            AppAuthStrategy(4242, private),
            base_url=sandbox.base_url,
            http_cache=False,
            auto_retry=False,
            trust_env=False,
            timeout=10,
        )

        installation = typed(await app.rest.apps.async_get_repo_installation(OWNER, NAME))
        config = typed(await app.rest.apps.async_get_webhook_config_for_app())
        deliveries = typed(await app.rest.apps.async_list_webhook_deliveries())

        assert (installation.id, installation.app_id) == (77, 4242)
        assert installation.permissions.issues == "write"
        assert installation.events == ["push"]
        assert config.url == receiver.url
        assert [d.event for d in deliveries] == ["issues"]
        assert deliveries[0].installation_id == 77
        # A JWT signed by another key reads nothing (made by hand: githubkit would reuse
        # the JWT it cached for this App id).
        forged = jwt.encode(
            {"iss": "4242", "iat": int(time.time()) - 60, "exp": int(time.time()) + 300},
            rsa_key_pair()[0],
            algorithm="RS256",
        )
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"{sandbox.base_url}/repos/{OWNER}/{NAME}/installation",
                headers={"Authorization": f"Bearer {forged}"},
            ) as refused,
        ):
            assert refused.status == 401
