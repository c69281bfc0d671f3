"""The sandbox's own control routes under /_sandbox: faults, request log, deliveries."""

from __future__ import annotations

from aiohttp import web

from sandboxes.github.api import body_object, context, no_content, respond
from sandboxes.github.errors import ApiError
from sandboxes.github.state import ROLES

PERMISSIONS = ROLES  # read, triage, write, maintain, admin


async def add_fault(request: web.Request) -> web.Response:
    """POST /_sandbox/faults {match, mode, count}."""
    data = await body_object(request)
    try:
        fault = context(request).faults.add(
            match=data.get("match", ""), mode=data.get("mode", ""), count=data.get("count", 1)
        )
    except (TypeError, ValueError) as error:
        raise ApiError(422, str(error)) from error
    return respond(fault.to_json(), status=201)


async def list_faults(request: web.Request) -> web.Response:
    """GET /_sandbox/faults: the faults still pending."""
    return respond(context(request).faults.to_json())


async def clear_faults(request: web.Request) -> web.Response:
    """DELETE /_sandbox/faults."""
    context(request).faults.clear()
    return no_content()


async def list_requests(request: web.Request) -> web.Response:
    """GET /_sandbox/requests: every API request received, oldest first."""
    return respond(list(context(request).requests))


async def clear_requests(request: web.Request) -> web.Response:
    """DELETE /_sandbox/requests."""
    context(request).requests.clear()
    return no_content()


async def list_deliveries(request: web.Request) -> web.Response:
    """GET /_sandbox/deliveries: every webhook delivery and the receiver's status."""
    return respond([delivery.to_json() for delivery in context(request).webhooks.deliveries])


async def wait_deliveries(request: web.Request) -> web.Response:
    """POST /_sandbox/deliveries/wait: answer once every queued delivery was attempted."""
    await context(request).webhooks.join()
    return no_content()


async def add_collaborator(request: web.Request) -> web.Response:
    """POST /_sandbox/collaborators {repository, login, permission}: grant access."""
    ctx = context(request)
    data = await body_object(request)
    login, permission = data.get("login"), data.get("permission", "write")
    owner, _, name = str(data.get("repository", "")).partition("/")
    repo = ctx.state.repo(owner, name) if name else next(iter(ctx.state.repos.values()), None)
    if repo is None:
        raise ApiError(404, "Not Found")
    if not isinstance(login, str) or not login or permission not in PERMISSIONS:
        raise ApiError(422, f"login is required and permission must be one of {PERMISSIONS}")
    ctx.state.user(login)
    repo.collaborators[login.lower()] = permission
    return respond({"repository": repo.full_name, "login": login, "permission": permission}, 201)


def routes() -> list[web.RouteDef]:
    """Return the admin routes."""
    return [
        web.post("/_sandbox/faults", add_fault),
        web.get("/_sandbox/faults", list_faults),
        web.delete("/_sandbox/faults", clear_faults),
        web.get("/_sandbox/requests", list_requests),
        web.delete("/_sandbox/requests", clear_requests),
        web.get("/_sandbox/deliveries", list_deliveries),
        web.post("/_sandbox/deliveries/wait", wait_deliveries),
        web.post("/_sandbox/collaborators", add_collaborator),
    ]
