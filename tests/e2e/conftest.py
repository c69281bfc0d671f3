"""What the end-to-end browser tests share: Debian's Chromium, launched headless."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from tests.conftest import TESTS

CHROMIUM = Path(os.environ.get("LESSONBOT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = TESTS / "artifacts"
# Generous: a slow CI machine still finishes; a broken page fails long before the suite does.
TIMEOUT_MS = 30_000


@pytest.fixture
def chromium() -> Path:
    """Return Debian's Chromium; fail (never skip) when it is not installed."""
    if not CHROMIUM.is_file():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: run `make install-browser` "
            "(apt-get install chromium chromium-driver) or set LESSONBOT_CHROMIUM"
        )
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    """Launch Chromium headless."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()
