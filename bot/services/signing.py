"""Sign and check the bot's tokens (suggestion tokens, form tokens, unsubscribe links)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Secret
from bot.store.models import AppSecret
from bot.store.upsert import insert_new

SECRET_NAME = "signing-key"  # noqa: S105 - the row name, not the key


class Signer:
    """HMAC-SHA256 tokens bound to a purpose, so a token for one thing opens nothing else."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("a signing key needs at least 16 bytes")
        self._key = key

    def __repr__(self) -> str:
        return "Signer(**********)"

    def sign(self, purpose: str, value: str) -> str:
        """Return the token for `value` in `purpose` (URL-safe, 43 characters)."""
        # surrogatepass: a value from a cookie may hold undecodable bytes as lone surrogates;
        # it is signed as it came (valid text encodes as plain UTF-8) instead of raising.
        message = f"{purpose}\x00{value}".encode("utf-8", "surrogatepass")
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def verify(self, purpose: str, value: str, token: str) -> bool:
        """Tell whether `token` was made by `sign(purpose, value)`, in constant time."""
        if not token.isascii():
            # No token we make has anything else; and a header's odd bytes must not raise.
            return False
        return hmac.compare_digest(self.sign(purpose, value).encode(), token.encode())


async def load_signer(
    sessions: async_sessionmaker[AsyncSession], configured: Secret | None
) -> Signer:
    """Return a signer over web.secret, or over a random key kept in the database.

    Every process on one database gets the same stored key: the first to ask makes it and
    the others read it back (insert-or-ignore, then select).
    """
    if configured:
        return Signer(hashlib.sha256(configured.reveal().encode()).digest())
    async with sessions() as session, session.begin():
        await session.execute(
            insert_new(session, AppSecret, ["name"]).values(
                name=SECRET_NAME, value=secrets.token_urlsafe(32)
            )
        )
        value = (
            await session.execute(select(AppSecret.value).where(AppSecret.name == SECRET_NAME))
        ).scalar_one()
    return Signer(value.encode())


CLIENT_PURPOSE = "client"


def client_handle(signer: Signer, remote: str | None) -> str:
    """Return who a client is, for per-person limits: a keyed hash, never the address."""
    # Kept here, not in the web adapter: the block list hashes an address the same way.
    return "ip:" + signer.sign(CLIENT_PURPOSE, remote or "unknown")[:22]
