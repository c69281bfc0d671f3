"""GitHub App installations: a signed JWT buys an installation token that acts as the bot,
and reads the installation and the App's webhook (what `lessonbot doctor` checks)."""

from __future__ import annotations

import secrets
from datetime import timedelta

import jwt
from aiohttp import web

from sandboxes.github.api import context, find_repo, paginate, respond
from sandboxes.github.errors import ApiError
from sandboxes.github.payloads import iso
from sandboxes.github.routes_hooks import delivery_item
from sandboxes.github.state import App, now

# GitHub's installation tokens live an hour; clients refresh them before that.
TOKEN_LIFETIME = timedelta(hours=1)
JWT_ERROR = "A JSON web token could not be decoded"
JSON = dict[str, object]


def _app_of(request: web.Request) -> App:
    """Return the App whose signed JWT authorizes this request; 401 otherwise."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, JWT_ERROR)
    try:
        issuer = jwt.decode(token.strip(), options={"verify_signature": False}).get("iss")
    except jwt.PyJWTError:
        raise ApiError(401, JWT_ERROR) from None
    apps = [app for app in context(request).apps.by_installation.values()]
    app = next((app for app in apps if str(app.app_id) == str(issuer)), None)
    if app is None:
        raise ApiError(401, JWT_ERROR)
    try:
        jwt.decode(
            token.strip(),
            app.public_key_pem,
            algorithms=["RS256"],
            options={"require": ["exp", "iat", "iss"]},
        )
    except jwt.PyJWTError:
        raise ApiError(401, JWT_ERROR) from None
    return app


async def create_installation_token(request: web.Request) -> web.Response:
    """Exchange an App's JWT for an installation token (POST /app/installations/{id}/...)."""
    ctx = context(request)
    installation_id = int(request.match_info["installation_id"])
    app = _app_of(request)
    if app.installation_id != installation_id:
        raise ApiError(404, "Not Found")
    installation_token = f"ghs_{secrets.token_urlsafe(27)}"
    expires_at = now() + TOKEN_LIFETIME
    ctx.apps.tokens[installation_token] = (app.bot_login, expires_at)
    ctx.state.user(app.bot_login)  # "[bot]" logins are Bot accounts
    body = {
        "token": installation_token,
        "expires_at": iso(expires_at),
        "permissions": dict(app.permissions),
        "repository_selection": "all",
    }
    return web.json_response(body, status=201)


async def get_repo_installation(request: web.Request) -> web.Response:
    """GET /repos/{owner}/{repo}/installation: the App's installation on the repository."""
    app = _app_of(request)
    repo = find_repo(request)
    ctx = context(request)
    owner = repo.owner
    created = iso(ctx.webhooks.created_at)
    base = ctx.payloads.base
    slug = app.bot_login.removesuffix("[bot]")
    installation: JSON = {
        "id": app.installation_id,
        "account": ctx.payloads.user(owner),
        "repository_selection": "all",
        "access_tokens_url": f"{base}/app/installations/{app.installation_id}/access_tokens",
        "repositories_url": f"{base}/installation/repositories",
        "html_url": f"{base}/settings/installations/{app.installation_id}",
        "app_id": app.app_id,
        "target_id": owner.id,
        "target_type": "Organization" if owner.type == "Organization" else "User",
        "permissions": dict(app.permissions),
        "events": list(app.events),
        "created_at": created,
        "updated_at": created,
        "single_file_name": None,
        "app_slug": slug,
        "suspended_by": None,
        "suspended_at": None,
    }
    return respond(installation)


async def get_hook_config(request: web.Request) -> web.Response:
    """GET /app/hook/config: where the App's webhook posts (the sandbox's one webhook)."""
    _app_of(request)
    sender = context(request).webhooks
    config: JSON = {"content_type": "json", "insecure_ssl": "0", "url": sender.url or ""}
    if sender.secret:
        config["secret"] = "********"  # noqa: S105 - GitHub shows a set secret masked
    return respond(config)


async def list_hook_deliveries(request: web.Request) -> web.Response:
    """GET /app/hook/deliveries: the App's webhook deliveries, newest first."""
    app = _app_of(request)
    sender = context(request).webhooks
    attempted = [delivery for delivery in sender.deliveries if delivery.delivered_at is not None]
    newest_first = sorted(attempted, key=lambda delivery: delivery.id, reverse=True)
    return paginate(
        request,
        newest_first,
        lambda delivery: delivery_item(delivery, sender.repository_id, app.installation_id),
    )


def routes() -> list[web.RouteDef]:
    """Return the App routes."""
    return [
        web.post(
            "/app/installations/{installation_id:\\d+}/access_tokens", create_installation_token
        ),
        web.get("/app/hook/config", get_hook_config),
        web.get("/app/hook/deliveries", list_hook_deliveries),
        web.get("/repos/{owner}/{repo}/installation", get_repo_installation),
    ]
