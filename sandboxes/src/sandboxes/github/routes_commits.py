"""Routes a review flow reads commits through: listing, compare, statuses, checks, diffs."""

from __future__ import annotations

from aiohttp import web

from sandboxes.github import media
from sandboxes.github.api import (
    Context,
    body_object,
    context,
    find_issue,
    find_repo,
    paginate,
    parse_time,
    require_user,
    respond,
    text_field,
)
from sandboxes.github.errors import ApiError, invalid, not_found
from sandboxes.github.gitrepo import is_sha
from sandboxes.github.operations import HEADS
from sandboxes.github.payloads import JSON, iso, node_id
from sandboxes.github.state import Repo, User, now

STATUS_STATES = ("error", "failure", "pending", "success")
COMPARE_LIMIT = 250  # GitHub lists at most 250 commits in a comparison


async def _commit_sha(repo: Repo, ref: str) -> str:
    """Return the commit a ref names, or answer 422 as GitHub does for an unknown one."""
    sha = await repo.git.resolve(ref)
    if sha is None:
        raise ApiError(422, f"No commit found for SHA: {ref}")
    return sha


# Listing commits


async def list_commits(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/commits?sha=&path=&since=&until=&author=, newest first."""
    repo = find_repo(request)
    ctx = context(request)
    query = request.query
    ref = query.get("sha") or repo.default_branch
    sha = await repo.git.resolve(ref)
    if sha is None:
        raise ApiError(404, f"No commit found for SHA: {ref}")
    args = [sha]
    for key, flag in (("since", "--since"), ("until", "--until")):
        if key in query:
            when = parse_time(query[key])
            if when is None:
                raise ApiError(
                    422, f"Invalid request.\n\n{query[key]!r} is not a valid {key} timestamp."
                )
            args.insert(0, f"{flag}={when.isoformat()}")
    if query.get("path"):
        args += ["--", query["path"].strip("/")]
    shas = await repo.git.rev_list(*args)
    commits = []
    for item in shas:
        commit = await repo.git.read_commit(item)
        if commit is None:
            continue
        rendered = ctx.payloads.commit(repo, commit)
        author = query.get("author")
        if author:
            account = rendered["author"] or {}
            login = str(account.get("login", "")).lower()
            if author.lower() not in (login, commit.author.email.lower()):
                continue
        commits.append(rendered)
    return paginate(request, commits, lambda item: item)


# Compare


def _split_basehead(basehead: str) -> tuple[str, str]:
    """Split `base...head` (or `base..head`); a `user:` prefix names this repository's owner."""
    for separator in ("...", ".."):
        base, found, head = basehead.partition(separator)
        if found and base and head:
            return base.rpartition(":")[2], head.rpartition(":")[2]
    raise not_found()


async def compare(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/compare/{base}...{head}: JSON, or a diff / patch."""
    repo = find_repo(request)
    ctx = context(request)
    base_ref, head_ref = _split_basehead(request.match_info["basehead"])
    base = await repo.git.resolve(base_ref)
    head = await repo.git.resolve(head_ref)
    if base is None or head is None:
        raise not_found()
    fork = await repo.git.merge_base(base, head)
    kind = media.param(request)
    if kind == "diff":
        return media.text(await media.diff(repo, fork, head), "diff")
    if kind == "patch":
        return media.text(await media.patch(repo, fork or None, head), "patch")
    if fork is None:
        raise ApiError(404, f"No common ancestor between {base_ref} and {head_ref}.")
    ahead = await repo.git.rev_list("--reverse", f"{fork}..{head}")
    behind = await repo.git.rev_list(f"{fork}..{base}")
    if ahead and behind:
        status = "diverged"
    elif ahead:
        status = "ahead"
    elif behind:
        status = "behind"
    else:
        status = "identical"
    commits = []
    for sha in ahead[:COMPARE_LIMIT]:
        commit = await repo.git.read_commit(sha)
        if commit is not None:
            commits.append(ctx.payloads.commit(repo, commit))
    base_commit = await repo.git.read_commit(base)
    fork_commit = await repo.git.read_commit(fork)
    assert base_commit is not None and fork_commit is not None
    api = ctx.payloads.repo_api(repo)
    html = ctx.payloads.repo_html(repo)
    spec = request.match_info["basehead"]
    owner = repo.owner.login
    return respond(
        {
            "url": f"{api}/compare/{spec}",
            "html_url": f"{html}/compare/{spec}",
            "permalink_url": f"{html}/compare/{owner}:{base}...{owner}:{head}",
            "diff_url": f"{html}/compare/{spec}.diff",
            "patch_url": f"{html}/compare/{spec}.patch",
            "base_commit": ctx.payloads.commit(repo, base_commit),
            "merge_base_commit": ctx.payloads.commit(repo, fork_commit),
            "status": status,
            "ahead_by": len(ahead),
            "behind_by": len(behind),
            "total_commits": len(ahead),
            "commits": commits,
            "files": await ctx.ops.changed_files(repo, fork, head),
        }
    )


# Commit statuses and checks


def _statuses(repo: Repo) -> dict[str, list[JSON]]:
    """Return the stored statuses per commit sha, newest last."""
    return repo.records.setdefault("statuses", {})


def _status_payload(ctx: Context, repo: Repo, record: JSON) -> JSON:
    """Render a stored status as GitHub's Status object."""
    creator = ctx.state.find_user(record["creator"])
    return {
        "url": f"{ctx.payloads.repo_api(repo)}/statuses/{record['sha']}",
        "avatar_url": ctx.payloads.user(creator)["avatar_url"] if creator else None,
        "id": record["id"],
        "node_id": node_id("StatusContext", record["id"]),
        "state": record["state"],
        "description": record["description"],
        "target_url": record["target_url"],
        "context": record["context"],
        "created_at": record["created_at"],
        "updated_at": record["updated_at"],
        "creator": ctx.payloads.user(creator) if creator else None,
    }


def _latest_per_context(records: list[JSON]) -> list[JSON]:
    """Return the newest status of each context, newest first."""
    seen: dict[str, JSON] = {}
    for record in reversed(records):
        seen.setdefault(record["context"], record)
    return list(seen.values())


def combined_state(records: list[JSON]) -> str:
    """Combine statuses as GitHub does: any error/failure fails, any pending or none pends."""
    states = {record["state"] for record in _latest_per_context(records)}
    if states & {"error", "failure"}:
        return "failure"
    if not states or "pending" in states:
        return "pending"
    return "success"


async def create_status(request: web.Request) -> web.Response:
    """POST /repos/{owner}/{repo}/statuses/{sha} {state, target_url, description, context}."""
    user = require_user(request)
    repo = find_repo(request)
    ctx = context(request)
    sha = request.match_info["sha"]
    data = await body_object(request)
    state = text_field(data, "state", "Status", required=True)
    if state not in STATUS_STATES:
        raise invalid("Status", "state")
    resolved = await repo.git.resolve(sha) if is_sha(sha) else None
    if resolved is None or resolved != sha:
        raise ApiError(422, f"No commit found for SHA: {sha}")
    description = text_field(data, "description", "Status")
    if description is not None and len(description) > 140:
        raise invalid("Status", "description", "custom", message="description is too long")
    stamp = iso(now())
    record = {
        "id": ctx.state.new_id("status"),
        "sha": resolved,
        "state": state,
        "description": description,
        "target_url": text_field(data, "target_url", "Status"),
        "context": text_field(data, "context", "Status") or "default",
        "creator": user.login,
        "created_at": stamp,
        "updated_at": stamp,
    }
    _statuses(repo).setdefault(resolved, []).append(record)
    await _status_webhook(ctx, repo, record, user)
    return respond(_status_payload(ctx, repo, record), status=201)


async def _status_webhook(ctx: Context, repo: Repo, record: JSON, sender: User) -> None:
    """Send the `status` event GitHub sends for a new commit status."""
    commit = await repo.git.read_commit(record["sha"])
    assert commit is not None
    api = ctx.payloads.repo_api(repo)
    branches = [
        {
            "name": name.removeprefix(HEADS),
            "commit": {"sha": sha, "url": f"{api}/commits/{sha}"},
            "protected": False,
        }
        for name, sha in sorted((await repo.git.refs(HEADS)).items())
        if sha == record["sha"]
    ]
    status = _status_payload(ctx, repo, record)
    body: JSON = {
        "id": record["id"],
        "sha": record["sha"],
        "name": repo.full_name,
        "avatar_url": status["avatar_url"],
        "target_url": record["target_url"],
        "context": record["context"],
        "description": record["description"],
        "state": record["state"],
        "commit": ctx.payloads.commit(repo, commit),
        "branches": branches,
        "created_at": record["created_at"],
        "updated_at": record["updated_at"],
    }
    # The envelope (repository, organization, sender) is every repository event's.
    ctx.webhooks.send("status", ctx.events._envelope(repo, sender, body))


async def combined_status(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/commits/{ref}/status: the combined state of a ref."""
    repo = find_repo(request)
    ctx = context(request)
    sha = await _commit_sha(repo, request.match_info["ref"])
    records = _statuses(repo).get(sha, [])
    latest = _latest_per_context(records)
    api = ctx.payloads.repo_api(repo)
    return respond(
        {
            "state": combined_state(records),
            "statuses": [_status_payload(ctx, repo, record) for record in latest],
            "sha": sha,
            "total_count": len(latest),
            "repository": ctx.payloads.repository(repo),
            "commit_url": f"{api}/commits/{sha}",
            "url": f"{api}/commits/{sha}/status",
        }
    )


async def list_statuses(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/commits/{ref}/statuses: every status, newest first."""
    repo = find_repo(request)
    ctx = context(request)
    sha = await _commit_sha(repo, request.match_info["ref"])
    records = list(reversed(_statuses(repo).get(sha, [])))
    return paginate(request, records, lambda record: _status_payload(ctx, repo, record))


async def list_check_runs(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/commits/{ref}/check-runs: the sandbox runs no checks."""
    repo = find_repo(request)
    await _commit_sha(repo, request.match_info["ref"])
    return respond({"total_count": 0, "check_runs": []})


async def list_check_suites(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/commits/{ref}/check-suites: none, as no app runs checks."""
    repo = find_repo(request)
    await _commit_sha(repo, request.match_info["ref"])
    return respond({"total_count": 0, "check_suites": []})


# github.com URLs the payloads point to (diff_url, patch_url)


async def pull_text(request: web.Request) -> web.Response:
    """GET /{owner}/{repo}/pull/{number}.diff|.patch, as github.com serves them."""
    repo = find_repo(request)
    issue = find_issue(request, repo)
    if issue.pull is None:
        raise not_found()
    pull = issue.pull
    if request.match_info["kind"] == "diff":
        return media.plain(await media.range_diff(repo, pull.base_sha, pull.head_sha))
    fork = await repo.git.merge_base(pull.base_sha, pull.head_sha)
    return media.plain(await media.patch(repo, fork, pull.head_sha))


async def commit_text(request: web.Request) -> web.Response:
    """GET /{owner}/{repo}/commit/{sha}.diff|.patch."""
    repo = find_repo(request)
    sha = await repo.git.resolve(request.match_info["sha"])
    commit = await repo.git.read_commit(sha) if sha else None
    if commit is None:
        raise not_found()
    if request.match_info["kind"] == "diff":
        parent = commit.parents[0] if commit.parents else None
        return media.plain(await media.diff(repo, parent, commit.sha))
    return media.plain(await media.commit_patch(repo, commit.sha))


async def compare_text(request: web.Request) -> web.Response:
    """GET /{owner}/{repo}/compare/{base}...{head}.diff|.patch."""
    repo = find_repo(request)
    base_ref, head_ref = _split_basehead(request.match_info["basehead"])
    base = await repo.git.resolve(base_ref)
    head = await repo.git.resolve(head_ref)
    if base is None or head is None:
        raise not_found()
    fork = await repo.git.merge_base(base, head)
    if request.match_info["kind"] == "diff":
        return media.plain(await media.diff(repo, fork, head))
    return media.plain(await media.patch(repo, fork, head))


async def commit_media(request: web.Request, repo: Repo, kind: str) -> web.Response | None:
    """Answer GET /commits/{ref} in the diff, patch or sha media type; None for JSON."""
    if kind not in ("diff", "patch", "sha"):
        return None
    sha = await _commit_sha(repo, request.match_info["ref"])
    commit = await repo.git.read_commit(sha)
    assert commit is not None
    if kind == "sha":
        return media.text(sha, "sha")
    if kind == "diff":
        parent = commit.parents[0] if commit.parents else None
        return media.text(await media.diff(repo, parent, sha), "diff")
    return media.text(await media.commit_patch(repo, sha), "patch")


async def pull_media(repo: Repo, base: str, head: str, kind: str) -> web.Response | None:
    """Answer GET /pulls/{n} in the diff or patch media type; None for JSON."""
    if kind == "diff":
        return media.text(await media.range_diff(repo, base, head), "diff")
    if kind == "patch":
        fork = await repo.git.merge_base(base, head)
        return media.text(await media.patch(repo, fork, head), "patch")
    return None


def routes() -> list[web.RouteDef]:
    """Return this module's routes; registered before `/commits/{ref:.+}` so none is shadowed."""
    repo = "/repos/{owner}/{repo}"
    ref = repo + "/commits/{ref:.+}"
    return [
        web.get(repo + "/commits", list_commits),
        web.get(ref + "/status", combined_status),
        web.get(ref + "/statuses", list_statuses),
        web.get(ref + "/check-runs", list_check_runs),
        web.get(ref + "/check-suites", list_check_suites),
        web.post(repo + "/statuses/{sha}", create_status),
        web.get(repo + "/statuses/{ref:.+}", list_statuses),
        web.get(repo + "/compare/{basehead:.+}", compare),
        web.get("/{owner}/{repo}/pull/{number:\\d+}.{kind:diff|patch}", pull_text),
        web.get("/{owner}/{repo}/commit/{sha:[0-9a-fA-F]+}.{kind:diff|patch}", commit_text),
        web.get("/{owner}/{repo}/compare/{basehead:.+}.{kind:diff|patch}", compare_text),
    ]
