"""GitHub webhook signatures: `X-Hub-Signature-256`, an HMAC-SHA256 of the raw body."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="


def sign(secret: str, body: bytes) -> str:
    """Return the `X-Hub-Signature-256` value GitHub sends for this body and secret."""
    return _PREFIX + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str | None) -> bool:
    """Return whether the signature header matches the body, compared in constant time."""
    # compare_digest refuses non-ASCII str with a TypeError; such a header is simply wrong.
    if not signature or not signature.isascii():
        return False
    return hmac.compare_digest(sign(secret, body), signature)
