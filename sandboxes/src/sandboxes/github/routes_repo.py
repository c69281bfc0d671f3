"""Routes for accounts, repositories, branches, commits and file contents."""

from __future__ import annotations

import base64
import binascii
import dataclasses

from aiohttp import web

from sandboxes.github import media, routes_commits
from sandboxes.github.api import (
    RATE,
    acting_user,
    body_object,
    context,
    find_repo,
    paginate,
    require_user,
    respond,
    signature_field,
    text_field,
)
from sandboxes.github.errors import ApiError, not_found
from sandboxes.github.operations import HEADS, branch_ref
from sandboxes.github.state import now


async def get_repo(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}."""
    repo = find_repo(request)
    return respond(context(request).payloads.full_repository(repo, acting_user(request)))


async def get_authenticated_user(request: web.Request) -> web.Response:
    """GET /user."""
    return respond(context(request).payloads.private_user(require_user(request)))


async def get_user(request: web.Request) -> web.Response:
    """GET /users/{login}."""
    user = context(request).state.find_user(request.match_info["login"])
    if user is None:
        raise not_found()
    return respond(context(request).payloads.public_user(user))


async def get_rate_limit(request: web.Request) -> web.Response:
    """GET /rate_limit."""
    window = request[RATE]
    core = {
        "limit": window.limit,
        "remaining": window.remaining,
        "reset": window.reset,
        "used": window.used,
        "resource": "core",
    }
    search = {"limit": 30, "remaining": 30, "reset": window.reset, "used": 0}
    return respond(
        {
            "resources": {
                "core": core,
                "search": {**search, "resource": "search"},
                "graphql": {**search, "limit": 5000, "remaining": 5000, "resource": "graphql"},
            },
            "rate": core,
        }
    )


# Branches and commits


async def list_branches(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/branches."""
    repo = find_repo(request)
    payloads = context(request).payloads
    refs = await repo.git.refs(HEADS)
    items = sorted((name.removeprefix(HEADS), sha) for name, sha in refs.items())
    return paginate(request, items, lambda item: payloads.short_branch(repo, *item))


async def get_branch(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/branches/{branch}."""
    repo = find_repo(request)
    name = request.match_info["branch"]
    sha = await repo.git.ref(branch_ref(name))
    if sha is None:
        raise ApiError(404, "Branch not found")
    commit = await repo.git.read_commit(sha)
    assert commit is not None
    return respond(context(request).payloads.branch(repo, name, commit))


async def get_commit(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/commits/{ref}: one commit with its changed files."""
    repo = find_repo(request)
    ctx = context(request)
    ref = request.match_info["ref"]
    answer = await routes_commits.commit_media(request, repo, media.param(request) or "json")
    if answer is not None:
        return answer
    sha = await repo.git.resolve(ref)
    commit = await repo.git.read_commit(sha) if sha else None
    if commit is None:
        raise ApiError(422, f"No commit found for SHA: {ref}")
    data = ctx.payloads.commit(repo, commit)
    files = await ctx.ops.changed_files(
        repo, commit.parents[0] if commit.parents else None, commit.sha
    )
    additions = sum(item["additions"] for item in files)
    deletions = sum(item["deletions"] for item in files)
    data["stats"] = {"total": additions + deletions, "additions": additions, "deletions": deletions}
    data["files"] = files
    return respond(data)


# Contents


async def get_contents(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/contents/{path}?ref=: a file, or a directory listing."""
    repo = find_repo(request)
    payloads = context(request).payloads
    path = request.match_info.get("path", "").strip("/")
    ref = request.query.get("ref") or repo.default_branch
    commit = await repo.git.resolve(ref)
    if commit is None:
        raise ApiError(404, f"No commit found for the ref {ref}")
    entry = await repo.git.entry_at(commit, path)
    if entry is None:
        raise not_found()
    if entry.type == "tree":
        prefix = f"{path}/" if path else ""
        listing = await repo.git.ls_tree(entry.sha)
        return respond(
            [
                payloads.content_item(
                    repo, ref, dataclasses.replace(item, path=prefix + item.path), commit
                )
                for item in listing
            ]
        )
    if entry.type != "blob":
        return respond(payloads.content_item(repo, ref, entry, commit))
    obj = await repo.git.read_object(entry.sha)
    assert obj is not None
    if media.param(request) == "raw":
        return media.text(obj[1], "raw")  # the file's bytes, as vnd.github.raw(+json) asks
    return respond(payloads.content_file(repo, ref, entry, commit, obj[1]))


async def put_contents(request: web.Request) -> web.Response:
    """PUT /repos/{owner}/{repo}/contents/{path}: create or update a file as a commit."""
    return await _write_contents(request, delete=False)


async def delete_contents(request: web.Request) -> web.Response:
    """DELETE /repos/{owner}/{repo}/contents/{path}: delete a file as a commit."""
    return await _write_contents(request, delete=True)


async def _write_contents(request: web.Request, *, delete: bool) -> web.Response:
    """Commit one file change on a branch and answer GitHub's {content, commit}."""
    user = require_user(request)
    repo = find_repo(request)
    ctx = context(request)
    data = await body_object(request)
    path = request.match_info.get("path", "").strip("/")
    message = text_field(data, "message", "Commit", required=True) or ""
    branch = text_field(data, "branch", "Commit") or repo.default_branch
    sha = text_field(data, "sha", "Commit")
    content: bytes | None = None
    if not delete:
        encoded = text_field(data, "content", "Commit", required=True) or ""
        try:
            # GitHub accepts base64 wrapped in lines, as its own responses are.
            content = base64.b64decode("".join(encoded.split()), validate=True)
        except (binascii.Error, ValueError) as error:
            raise ApiError(422, "content is not valid Base64") from error
    committer = signature_field(data.get("committer"), "committer", now())
    author = signature_field(data.get("author"), "author", now()) or committer
    created, commit_sha, entry = await ctx.ops.commit_file(
        repo,
        user,
        path=path,
        content=content,
        message=message,
        branch=branch,
        sha=sha,
        author=author,
        committer=committer,
    )
    commit = await repo.git.read_commit(commit_sha)
    assert commit is not None
    file_data = None
    if entry is not None:
        file_data = ctx.payloads.content_item(repo, branch, entry, commit_sha)
    return respond(
        {"content": file_data, "commit": ctx.payloads.git_commit(repo, commit)},
        status=201 if created else 200,
    )


async def get_raw(request: web.Request) -> web.Response:
    """GET /_sandbox/raw/{owner}/{repo}/{commit}/{path}: the bytes `download_url` points at."""
    repo = find_repo(request)
    entry = await repo.git.entry_at(request.match_info["commit"], request.match_info["path"])
    if entry is None or entry.type != "blob":
        raise not_found()
    obj = await repo.git.read_object(entry.sha)
    assert obj is not None
    return web.Response(body=obj[1], content_type="application/octet-stream")


def routes() -> list[web.RouteDef]:
    """Return this module's API routes."""
    repo = "/repos/{owner}/{repo}"
    return [
        web.get("/user", get_authenticated_user),
        web.get("/users/{login}", get_user),
        web.get("/rate_limit", get_rate_limit),
        web.get(repo, get_repo),
        web.get(repo + "/branches", list_branches),
        web.get(repo + "/branches/{branch:.+}", get_branch),
        web.get(repo + "/commits/{ref:.+}", get_commit),
        web.get(repo + "/contents", get_contents),
        web.get(repo + "/contents/{path:.*}", get_contents),
        web.put(repo + "/contents/{path:.+}", put_contents),
        web.delete(repo + "/contents/{path:.+}", delete_contents),
    ]


def admin_routes() -> list[web.RouteDef]:
    """Return the helper routes this module serves under /_sandbox (no auth, not logged)."""
    return [web.get("/_sandbox/raw/{owner}/{repo}/{commit}/{path:.+}", get_raw)]
