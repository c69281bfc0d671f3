"""GitHub App installations: a signed JWT buys an installation token that acts as the bot."""

from __future__ import annotations

import secrets
from datetime import timedelta

import jwt
from aiohttp import web

from sandboxes.github.api import context
from sandboxes.github.errors import ApiError
from sandboxes.github.payloads import iso
from sandboxes.github.state import now

# GitHub's installation tokens live an hour; clients refresh them before that.
TOKEN_LIFETIME = timedelta(hours=1)
JWT_ERROR = "A JSON web token could not be decoded"


async def create_installation_token(request: web.Request) -> web.Response:
    """Exchange an App's JWT for an installation token (POST /app/installations/{id}/...)."""
    ctx = context(request)
    installation_id = int(request.match_info["installation_id"])
    app = ctx.apps.by_installation.get(installation_id)
    if app is None:
        raise ApiError(404, "Not Found")
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, JWT_ERROR)
    try:
        claims = jwt.decode(
            token.strip(),
            app.public_key_pem,
            algorithms=["RS256"],
            options={"require": ["exp", "iat", "iss"]},
        )
    except jwt.PyJWTError:
        raise ApiError(401, JWT_ERROR) from None
    if str(claims["iss"]) != str(app.app_id):
        raise ApiError(401, JWT_ERROR)
    installation_token = f"ghs_{secrets.token_urlsafe(27)}"
    expires_at = now() + TOKEN_LIFETIME
    ctx.apps.tokens[installation_token] = (app.bot_login, expires_at)
    ctx.state.user(app.bot_login)  # "[bot]" logins are Bot accounts
    body = {
        "token": installation_token,
        "expires_at": iso(expires_at),
        "permissions": {"contents": "write", "issues": "write", "pull_requests": "write"},
        "repository_selection": "all",
    }
    return web.json_response(body, status=201)


def routes() -> list[web.RouteDef]:
    """Return the App routes."""
    return [
        web.post(
            "/app/installations/{installation_id:\\d+}/access_tokens", create_installation_token
        )
    ]
