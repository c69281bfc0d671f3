"""Shared test helpers: fixture paths and the optional real corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).parent
FIXTURES = TESTS / "fixtures"
PROJECT = TESTS.parent
CORPUS = PROJECT.parent / "shared" / "corpus" / "ai-courses"


@pytest.fixture
def corpus() -> Path:
    """Return the real lesson corpus, skipping where a fresh clone has none."""
    if not (CORPUS / "programs").is_dir():
        pytest.skip(f"real corpus not present at {CORPUS} (a fresh clone has no ../shared)")
    return CORPUS


def write_lesson(root: Path, relative: str, text: str | bytes) -> Path:
    """Write a lesson file under a content root, creating its folders."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path
