"""Benchmark: how much spam the spam signals hold, and how many genuine edits, vs a baseline.

Run as a script (never inside the test suite): prints one JSON line of figures. The cases in
tests/bench/data/ were written for this project (no corpus text): genuine edits in eight
locales and spam of every kind the signals look for. The signals were tuned on
spam_genuine.jsonl and spam_spam.jsonl, so those figures are optimistic; the held-out pair
(spam_heldout_*.jsonl, issue 19) was written blind, without reading the signals or the tuned
cases, and its `heldout_*` figures are the honest ones. The baseline holds anything that
carries a link.

    .venv/bin/python tests/bench/bench_spam.py [--misses]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bot.domain import spam

DATA = Path(__file__).resolve().parent / "data"


def _cases(name: str) -> list[dict[str, Any]]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _input(case: dict[str, Any], lessons: dict[str, Any]) -> spam.SpamInput:
    lesson = lessons[case["lesson"]]
    return spam.SpamInput(
        find=case["find"],
        replace=case["replace"],
        reason=case.get("reason", ""),
        lesson_text=lesson["text"],
        locale=lesson["locale"],
        same_text_lessons=case.get("same", 0),
        recent_from_person=case.get("burst", 0),
    )


def _baseline(edit: spam.SpamInput) -> bool:
    """Hold anything whose replacement carries a link."""
    return bool(spam.domains(edit.replace))


def _rate(flags: list[bool]) -> float:
    """Return the share of true flags, rounded for the JSON line."""
    return round(sum(flags) / len(flags), 3)


def _measure(
    genuine_file: str, spam_file: str, lessons: dict[str, Any], misses: str | None
) -> dict[str, Any]:
    """Judge one pair of case files; print the misjudged cases when asked."""
    genuine = [_input(case, lessons) for case in _cases(genuine_file)]
    spammy = [_input(case, lessons) for case in _cases(spam_file)]
    verdicts = {id(edit): spam.assess(edit) for edit in (*genuine, *spammy)}
    if misses is not None:
        for label, edits, wrong in (
            ("genuine held", genuine, True),
            ("spam let through", spammy, False),
        ):
            for edit in edits:
                verdict = verdicts[id(edit)]
                if verdict.suspicious == wrong:
                    print(misses, label, verdict.score, verdict.codes, edit.replace[:70])
    return {
        "genuine": len(genuine),
        "spam": len(spammy),
        "spam_held": _rate([verdicts[id(e)].suspicious for e in spammy]),
        "genuine_held": _rate([verdicts[id(e)].suspicious for e in genuine]),
        "baseline_spam_held": _rate([_baseline(e) for e in spammy]),
        "baseline_genuine_held": _rate([_baseline(e) for e in genuine]),
    }


def main() -> None:
    """Measure the tuned and the held-out sets and print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--misses", action="store_true", help="list what was misjudged")
    args = parser.parse_args()
    lessons = json.loads((DATA / "spam_lessons.json").read_text(encoding="utf-8"))
    tuned = _measure(
        "spam_genuine.jsonl", "spam_spam.jsonl", lessons, "tuned" if args.misses else None
    )
    heldout = _measure(
        "spam_heldout_genuine.jsonl",
        "spam_heldout_spam.jsonl",
        lessons,
        "heldout" if args.misses else None,
    )
    figures = {
        "bench": "spam",
        **tuned,
        **{f"heldout_{key}": value for key, value in heldout.items()},
        "baseline": "hold anything with a link",
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
