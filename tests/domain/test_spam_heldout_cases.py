"""The held-out spam bench cases are well formed and really held out (issue 19)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).resolve().parents[1] / "bench" / "data"
HELDOUT = ("spam_heldout_genuine.jsonl", "spam_heldout_spam.jsonl")
TUNED = ("spam_genuine.jsonl", "spam_spam.jsonl")


def _cases(name: str) -> list[dict[str, Any]]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.mark.parametrize("name", HELDOUT)
def test_each_case_edits_one_exact_passage_of_its_lesson(name: str) -> None:
    lessons = json.loads((DATA / "spam_lessons.json").read_text(encoding="utf-8"))
    cases = _cases(name)
    # About sixty a side: fewer would make each miss swing the rate by several points.
    assert len(cases) >= 55
    for case in cases:
        assert set(case) <= {"lesson", "find", "replace", "reason", "same", "burst"}, case
        text = lessons[case["lesson"]]["text"]
        # The bench feeds `find` as a passage of the lesson; it must name exactly one.
        assert text.count(case["find"]) == 1, case
        assert case["replace"] != case["find"], case
        assert isinstance(case.get("same", 0), int) and case.get("same", 0) >= 0, case
        assert isinstance(case.get("burst", 0), int) and case.get("burst", 0) >= 0, case


def test_heldout_cases_share_no_edit_with_the_tuned_ones() -> None:
    def edits(names: tuple[str, ...]) -> set[tuple[str, str, str]]:
        return {(c["lesson"], c["find"], c["replace"]) for n in names for c in _cases(n)}

    assert not edits(HELDOUT) & edits(TUNED)


def test_heldout_cases_cover_every_lesson_locale() -> None:
    lessons = json.loads((DATA / "spam_lessons.json").read_text(encoding="utf-8"))
    for name in HELDOUT:
        assert {case["lesson"] for case in _cases(name)} == set(lessons)
