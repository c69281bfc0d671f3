"""Routes of the git data API: refs, commits, trees and blobs."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from aiohttp import web

from sandboxes.github.api import (
    body_object,
    context,
    find_repo,
    no_content,
    require_user,
    respond,
    signature_field,
)
from sandboxes.github.errors import ApiError, not_found
from sandboxes.github.gitrepo import FILE_MODES, GITLINK_MODE, TREE_MODE, Signature, is_sha
from sandboxes.github.state import Repo, now

TREE_TYPES = {"blob", "tree", "commit"}


async def get_ref(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/git/ref/{ref}: exactly one ref."""
    repo = find_repo(request)
    name = "refs/" + request.match_info["ref"].strip("/")
    sha = await repo.git.ref(name)
    if sha is None:
        raise not_found()
    return respond(await _render_ref(request, repo, name, sha))


async def _render_ref(request: web.Request, repo: Repo, name: str, sha: str) -> dict[str, Any]:
    """Render a ref with the type of the object it points at."""
    obj = await repo.git.read_object(sha)
    kind = obj[0] if obj is not None else "commit"
    return context(request).payloads.git_ref(repo, name, sha, kind)


async def list_refs(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/git/refs[/{prefix}]: one ref on an exact match, else a list."""
    repo = find_repo(request)
    prefix = request.match_info.get("ref", "").strip("/")
    name = f"refs/{prefix}" if prefix else "refs/"
    refs = await repo.git.refs()
    if prefix and name in refs:
        return respond(await _render_ref(request, repo, name, refs[name]))
    return await _matching(request, repo, refs, name if not prefix else name + "/", exact=False)


async def matching_refs(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/git/matching-refs/{prefix}: refs starting with the prefix."""
    repo = find_repo(request)
    prefix = "refs/" + request.match_info.get("ref", "")
    return await _matching(request, repo, await repo.git.refs(), prefix, exact=True)


async def _matching(
    request: web.Request, repo: Repo, refs: dict[str, str], prefix: str, *, exact: bool
) -> web.Response:
    """Answer the refs starting with `prefix`; 404 for an empty legacy prefix listing."""
    items = [
        await _render_ref(request, repo, name, sha)
        for name, sha in sorted(refs.items())
        if name.startswith(prefix)
    ]
    if not items and not exact:
        raise not_found()
    return respond(items)


async def create_ref(request: web.Request) -> web.Response:
    """POST /repos/{owner}/{repo}/git/refs {ref, sha}."""
    user = require_user(request)
    repo = find_repo(request)
    data = await body_object(request)
    name, sha = data.get("ref"), data.get("sha")
    if not isinstance(name, str) or not isinstance(sha, str):
        raise ApiError(422, 'Invalid request.\n\n"ref" and "sha" are required.')
    if not name.startswith("refs/") or name.count("/") < 2:
        raise ApiError(422, "Reference name must start with 'refs/' and have at least two slashes.")
    if not await repo.git.valid_ref_name(name):
        raise ApiError(422, f"{name} is not a valid ref name.")
    if await repo.git.read_object(sha) is None:
        raise ApiError(422, "Object does not exist")
    if await repo.git.ref(name) is not None:
        raise ApiError(422, "Reference already exists")
    if not await context(request).ops.move_ref(repo, name, sha, None, user):
        raise ApiError(422, "Reference already exists")
    return respond(await _render_ref(request, repo, name, sha), status=201)


async def update_ref(request: web.Request) -> web.Response:
    """PATCH /repos/{owner}/{repo}/git/refs/{ref} {sha, force}."""
    user = require_user(request)
    repo = find_repo(request)
    data = await body_object(request)
    name = "refs/" + request.match_info["ref"].strip("/")
    sha = data.get("sha")
    if not isinstance(sha, str):
        raise ApiError(422, 'Invalid request.\n\n"sha" wasn\'t supplied.')
    old = await repo.git.ref(name)
    if old is None:
        raise ApiError(422, "Reference does not exist")
    if await repo.git.read_object(sha) is None:
        raise ApiError(422, "Object does not exist")
    force = data.get("force") is True
    if not force and old != sha and not await repo.git.is_ancestor(old, sha):
        raise ApiError(422, "Update is not a fast forward")
    if old != sha and not await context(request).ops.move_ref(repo, name, sha, old, user):
        raise ApiError(409, "Reference update failed")
    return respond(await _render_ref(request, repo, name, sha))


async def delete_ref(request: web.Request) -> web.Response:
    """DELETE /repos/{owner}/{repo}/git/refs/{ref}."""
    user = require_user(request)
    repo = find_repo(request)
    name = "refs/" + request.match_info["ref"].strip("/")
    old = await repo.git.ref(name)
    if old is None:
        raise ApiError(422, "Reference does not exist")
    if not await context(request).ops.move_ref(repo, name, None, old, user):
        raise ApiError(409, "Reference update failed")
    return no_content()


# Commits


async def get_git_commit(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/git/commits/{sha}."""
    repo = find_repo(request)
    commit = await repo.git.read_commit(request.match_info["sha"])
    if commit is None:
        raise not_found()
    return respond(context(request).payloads.git_commit(repo, commit))


async def create_git_commit(request: web.Request) -> web.Response:
    """POST /repos/{owner}/{repo}/git/commits {message, tree, parents, author, committer}."""
    user = require_user(request)
    repo = find_repo(request)
    data = await body_object(request)
    message, tree, parents = data.get("message"), data.get("tree"), data.get("parents", [])
    if not isinstance(message, str) or not isinstance(tree, str):
        raise ApiError(422, 'Invalid request.\n\n"message" and "tree" are required.')
    if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
        raise ApiError(422, 'Invalid request.\n\n"parents" must be a list of shas.')
    obj = await repo.git.read_object(tree)
    if obj is None or obj[0] != "tree":
        raise ApiError(422, "Tree SHA does not exist")
    for parent in parents:
        if await repo.git.read_commit(parent) is None:
            raise ApiError(422, "Parent SHA does not exist or is not a commit object")
    default = Signature(user.login, user.email, now())
    committer = signature_field(data.get("committer"), "committer", default.when) or default
    author = signature_field(data.get("author"), "author", committer.when) or committer
    sha = await repo.git.commit_tree(tree, parents, message, author, committer)
    commit = await repo.git.read_commit(sha)
    assert commit is not None
    return respond(context(request).payloads.git_commit(repo, commit), status=201)


# Trees


async def get_tree(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/git/trees/{sha}?recursive=1."""
    repo = find_repo(request)
    tree = await repo.git.resolve(request.match_info["sha"], "tree")
    if tree is None:
        raise not_found()
    recursive = request.query.get("recursive") not in (None, "", "0", "false")
    entries = await repo.git.ls_tree(tree, recursive=recursive, trees=recursive)
    return respond(context(request).payloads.git_tree(repo, tree, entries))


async def create_tree(request: web.Request) -> web.Response:
    """POST /repos/{owner}/{repo}/git/trees {tree: [...], base_tree}."""
    require_user(request)
    repo = find_repo(request)
    git = repo.git
    data = await body_object(request)
    items, base_tree = data.get("tree"), data.get("base_tree")
    if not isinstance(items, list):
        raise ApiError(422, 'Invalid request.\n\n"tree" wasn\'t supplied.')
    base = None
    if base_tree is not None:
        base = await git.resolve(base_tree, "tree") if isinstance(base_tree, str) else None
        if base is None:
            raise ApiError(422, "base_tree is not a valid tree oid")
    changes: dict[str, tuple[str, str] | None] = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            raise ApiError(422, "Invalid tree info: every entry needs a path")
        path, mode = item["path"], item.get("mode", "100644")
        kind = item.get("type", "tree" if mode == TREE_MODE else "blob")
        if mode not in FILE_MODES | {TREE_MODE, GITLINK_MODE} or kind not in TREE_TYPES:
            raise ApiError(422, f"Invalid tree info: mode {mode} type {kind}")
        if "content" in item and item["content"] is not None:
            if not isinstance(item["content"], str):
                raise ApiError(422, "Invalid tree info: content must be a string")
            changes[path] = (mode, await git.write_blob(item["content"].encode()))
            continue
        sha = item.get("sha")
        if sha is None:
            changes[path] = None
            continue
        obj = await git.read_object(sha) if is_sha(sha) else None
        if mode != GITLINK_MODE and (obj is None or obj[0] != kind):
            raise ApiError(422, f"Invalid tree info: {sha} is not a {kind}")
        changes[path] = (mode, sha)
    tree = await git.build_tree(base, changes)
    entries = await git.ls_tree(tree)
    return respond(context(request).payloads.git_tree(repo, tree, entries), status=201)


# Blobs


async def get_blob(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/git/blobs/{sha}."""
    repo = find_repo(request)
    sha = request.match_info["sha"]
    obj = await repo.git.read_object(sha)
    if obj is None or obj[0] != "blob":
        raise not_found()
    return respond(context(request).payloads.blob(repo, sha, obj[1]))


async def create_blob(request: web.Request) -> web.Response:
    """POST /repos/{owner}/{repo}/git/blobs {content, encoding}."""
    require_user(request)
    repo = find_repo(request)
    data = await body_object(request)
    content, encoding = data.get("content"), data.get("encoding", "utf-8")
    if not isinstance(content, str):
        raise ApiError(422, 'Invalid request.\n\n"content" wasn\'t supplied.')
    if encoding == "base64":
        try:
            raw = base64.b64decode("".join(content.split()), validate=True)
        except (binascii.Error, ValueError) as error:
            raise ApiError(422, "content is not valid Base64") from error
    elif encoding in ("utf-8", "utf8"):
        raw = content.encode()
    else:
        raise ApiError(422, f"encoding must be utf-8 or base64, not {encoding}")
    sha = await repo.git.write_blob(raw)
    return respond(context(request).payloads.short_blob(repo, sha), status=201)


def routes() -> list[web.RouteDef]:
    """Return this module's API routes."""
    git = "/repos/{owner}/{repo}/git"
    return [
        web.get(git + "/ref/{ref:.+}", get_ref),
        web.get(git + "/refs", list_refs),
        web.get(git + "/refs/{ref:.+}", list_refs),
        web.get(git + "/matching-refs/{ref:.*}", matching_refs),
        web.post(git + "/refs", create_ref),
        web.patch(git + "/refs/{ref:.+}", update_ref),
        web.delete(git + "/refs/{ref:.+}", delete_ref),
        web.get(git + "/commits/{sha}", get_git_commit),
        web.post(git + "/commits", create_git_commit),
        web.get(git + "/trees/{sha:.+}", get_tree),
        web.post(git + "/trees", create_tree),
        web.get(git + "/blobs/{sha}", get_blob),
        web.post(git + "/blobs", create_blob),
    ]
