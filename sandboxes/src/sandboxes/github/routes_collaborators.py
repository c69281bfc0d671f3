"""Collaborators: who has which role on a repository, and granting or removing it."""

from __future__ import annotations

from aiohttp import web

from sandboxes.github.access import LEGACY, REQUESTED, flags, rank
from sandboxes.github.api import (
    Context,
    body_object,
    context,
    find_repo,
    no_content,
    paginate,
    require_user,
    respond,
)
from sandboxes.github.errors import ApiError, invalid, not_found
from sandboxes.github.payloads import JSON
from sandboxes.github.state import Repo, User

# GET /collaborators?permission= takes the older names.
FILTERS = {"pull": "read", "triage": "triage", "push": "write", "maintain": "maintain"}
FILTERS["admin"] = "admin"


def collaborators(ctx: Context, repo: Repo) -> list[tuple[User, str]]:
    """Return the people with access to `repo` and their roles: a personal owner first."""
    people: list[tuple[User, str]] = []
    if repo.owner.type == "User":
        people.append((repo.owner, "admin"))
    for login, role in repo.collaborators.items():
        user = ctx.state.find_user(login) or ctx.state.user(login)
        if user is not repo.owner:
            people.append((user, role))
    return people


def collaborator(ctx: Context, user: User, role: str) -> JSON:
    """Render a person with their role, as the collaborators API does."""
    return {**ctx.payloads.user(user), "permissions": flags(role), "role_name": role}


async def list_collaborators(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/collaborators?permission=&affiliation=."""
    repo = find_repo(request)
    ctx = context(request)
    people = collaborators(ctx, repo)
    wanted = request.query.get("permission")
    if wanted is not None:
        if wanted not in FILTERS:
            raise invalid("Repository", "permission")
        people = [(user, role) for user, role in people if rank(role) >= rank(FILTERS[wanted])]
    return paginate(request, people, lambda item: collaborator(ctx, *item))


async def get_collaborator(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/collaborators/{login}: 204 for collaborators, else 404."""
    repo = find_repo(request)
    user = context(request).state.find_user(request.match_info["login"])
    if user is None or not (user is repo.owner or user.login.lower() in repo.collaborators):
        raise not_found()
    return no_content()


async def get_collaborator_permission(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/collaborators/{login}/permission."""
    repo = find_repo(request)
    ctx = context(request)
    # Any login is an account in the sandbox, as any token is (a stranger reads a public repo).
    user = ctx.state.user(request.match_info["login"])
    role = ctx.state.permission(repo, user)
    return respond(
        {"permission": LEGACY[role], "role_name": role, "user": collaborator(ctx, user, role)}
    )


async def put_collaborator(request: web.Request) -> web.Response:
    """PUT /repos/{owner}/{repo}/collaborators/{login} {permission}: grant a role at once.

    GitHub invites a new collaborator and answers 201 with the invitation; the sandbox has
    no one to accept it, so the role applies at once and it answers 204, as GitHub does
    for someone who already is a collaborator.
    """
    require_user(request)
    repo = find_repo(request)
    ctx = context(request)
    data = await body_object(request)
    requested = data.get("permission", "push")
    role = REQUESTED.get(requested) if isinstance(requested, str) else None
    if role is None:
        raise invalid("Repository", "permission")
    login = request.match_info["login"]
    user = ctx.state.user(login)
    if user is repo.owner:
        raise ApiError(422, "Repository owner cannot be a collaborator")
    repo.collaborators[user.login.lower()] = role
    return no_content()


async def delete_collaborator(request: web.Request) -> web.Response:
    """DELETE /repos/{owner}/{repo}/collaborators/{login}: 204, even for non-collaborators."""
    require_user(request)
    repo = find_repo(request)
    repo.collaborators.pop(request.match_info["login"].lower(), None)
    return no_content()


def routes() -> list[web.RouteDef]:
    """Return this module's API routes."""
    base = "/repos/{owner}/{repo}/collaborators"
    return [
        web.get(base, list_collaborators),
        web.get(base + "/{login}", get_collaborator),
        web.put(base + "/{login}", put_collaborator),
        web.delete(base + "/{login}", delete_collaborator),
        web.get(base + "/{login}/permission", get_collaborator_permission),
    ]
