"""Bot tokens shaped like Discord's: base64 of the bot's user id, a timestamp, an HMAC."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from sandboxes.discord.snowflakes import DISCORD_EPOCH_MS

# Not a secret: the sandbox only needs the same token for the same bot on every start.
SIGNING_KEY = b"lessonbot-discord-sandbox"


def _b64(data: bytes) -> str:
    """Return unpadded base64, as Discord writes each part of a token."""
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def make_token(user_id: int) -> str:
    """Return the bot token of a user id: the same every time for the same id."""
    first = _b64(str(user_id).encode("ascii"))
    seconds = ((user_id >> 22) + DISCORD_EPOCH_MS) // 1000
    second = _b64(seconds.to_bytes(4, "big"))
    mac = hmac.new(SIGNING_KEY, f"{first}.{second}".encode("ascii"), hashlib.sha256).digest()
    return f"{first}.{second}.{_b64(mac)[:38]}"


def token_user_id(token: str) -> int | None:
    """Return the user id a token's first part names, as clients read it, or None."""
    first = token.split(".", 1)[0]
    try:
        text = base64.urlsafe_b64decode(first + "=" * (-len(first) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return int(text) if text.isdigit() else None
