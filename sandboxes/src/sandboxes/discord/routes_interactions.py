"""REST routes the bot answers interactions with: the callback, follow-ups and the
original response. They carry no bot token: the interaction token is the credential."""

from __future__ import annotations

from aiohttp import web

from sandboxes.discord import errors as err
from sandboxes.discord.api import context, no_content, path_id, query_flag, read_payload, respond
from sandboxes.discord.state import Interaction

API = "/api/v10"
WEBHOOK = f"{API}/webhooks/{{application_id}}/{{token}}"


async def callback(request: web.Request) -> web.Response:
    """POST /interactions/{id}/{token}/callback[?with_response=true]."""
    ctx = context(request)
    interaction_id = path_id(request, "interaction_id", err.unknown_interaction)
    data, files = await read_payload(request)
    answer = ctx.responses.callback(
        interaction_id,
        request.match_info["token"],
        data,
        files,
        with_response=query_flag(request, "with_response"),
    )
    return no_content() if answer is None else respond(answer)


def _interaction(request: web.Request) -> Interaction:
    """Return the interaction a webhook URL names."""
    application_id = path_id(request, "application_id", err.unknown_webhook)
    return context(request).responses.by_webhook(application_id, request.match_info["token"])


async def followup(request: web.Request) -> web.Response:
    """POST /webhooks/{application_id}/{token}[?wait=true]: a follow-up message."""
    ctx = context(request)
    interaction = _interaction(request)
    data, files = await read_payload(request)
    message = ctx.responses.followup(interaction, data, files)
    if not query_flag(request, "wait"):
        return no_content()
    return respond(ctx.payloads.message(message))


async def get_response(request: web.Request) -> web.Response:
    """GET /webhooks/{application_id}/{token}/messages/{@original|message_id}."""
    ctx = context(request)
    message = ctx.responses.message_of(_interaction(request), request.match_info["message_id"])
    return respond(ctx.payloads.message(message))


async def edit_response(request: web.Request) -> web.Response:
    """PATCH /webhooks/{application_id}/{token}/messages/{@original|message_id}."""
    ctx = context(request)
    interaction = _interaction(request)
    data, files = await read_payload(request)
    message = ctx.responses.edit(interaction, request.match_info["message_id"], data, files)
    return respond(ctx.payloads.message(message))


async def delete_response(request: web.Request) -> web.Response:
    """DELETE /webhooks/{application_id}/{token}/messages/{@original|message_id}."""
    ctx = context(request)
    ctx.responses.delete(_interaction(request), request.match_info["message_id"])
    return no_content()


def routes() -> list[web.RouteDef]:
    """Return the routes of this module."""
    return [
        web.post(f"{API}/interactions/{{interaction_id}}/{{token}}/callback", callback),
        web.post(WEBHOOK, followup),
        web.get(f"{WEBHOOK}/messages/{{message_id}}", get_response),
        web.patch(f"{WEBHOOK}/messages/{{message_id}}", edit_response),
        web.delete(f"{WEBHOOK}/messages/{{message_id}}", delete_response),
    ]
