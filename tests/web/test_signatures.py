"""Webhook signatures match GitHub's: HMAC-SHA256 of the raw body, hex, `sha256=` prefix."""

from __future__ import annotations

import pytest

from bot.web.signatures import sign, verify

# GitHub's documented example ("Validating webhook deliveries").
GITHUB_SECRET = "It's a Secret to Everybody"
GITHUB_PAYLOAD = b"Hello, World!"
GITHUB_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_github_test_vector_signs_as_documented() -> None:
    assert sign(GITHUB_SECRET, GITHUB_PAYLOAD) == GITHUB_SIGNATURE


def test_github_test_vector_verifies() -> None:
    assert verify(GITHUB_SECRET, GITHUB_PAYLOAD, GITHUB_SIGNATURE)


@pytest.mark.parametrize(
    ("secret", "body", "signature"),
    [
        ("another secret", GITHUB_PAYLOAD, GITHUB_SIGNATURE),
        (GITHUB_SECRET, b"Hello, World?", GITHUB_SIGNATURE),
        (GITHUB_SECRET, b"Hello, World! ", GITHUB_SIGNATURE),
        (GITHUB_SECRET, GITHUB_PAYLOAD, None),
        (GITHUB_SECRET, GITHUB_PAYLOAD, ""),
        (GITHUB_SECRET, GITHUB_PAYLOAD, GITHUB_SIGNATURE.removeprefix("sha256=")),
        (GITHUB_SECRET, GITHUB_PAYLOAD, "sha1=" + GITHUB_SIGNATURE.removeprefix("sha256=")),
        (GITHUB_SECRET, GITHUB_PAYLOAD, GITHUB_SIGNATURE[:-1]),
        (GITHUB_SECRET, GITHUB_PAYLOAD, GITHUB_SIGNATURE + "0"),
        (GITHUB_SECRET, GITHUB_PAYLOAD, GITHUB_SIGNATURE[:-1] + "é"),
    ],
    ids=[
        "other-secret",
        "other-body",
        "trailing-space",
        "missing",
        "empty",
        "no-prefix",
        "sha1-prefix",
        "truncated",
        "extended",
        "non-ascii",
    ],
)
def test_anything_but_the_exact_signature_fails(
    secret: str, body: bytes, signature: str | None
) -> None:
    assert not verify(secret, body, signature)


def test_a_unicode_secret_is_used_as_utf8() -> None:
    secret = "clé secrète ✓"
    assert verify(secret, b"{}", sign(secret, b"{}"))
    assert not verify("cle secrete ✓", b"{}", sign(secret, b"{}"))
