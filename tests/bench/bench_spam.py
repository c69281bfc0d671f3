"""Benchmark: how much spam the spam signals hold, and how many genuine edits, vs a baseline.

Run as a script (never inside the test suite): prints one JSON line of figures. The cases in
tests/bench/data/ were written for this project (no corpus text): genuine edits in eight
locales and spam of every kind the signals look for. The baseline holds anything that
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


def main() -> None:
    """Measure and print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--misses", action="store_true", help="list what was misjudged")
    args = parser.parse_args()
    lessons = json.loads((DATA / "spam_lessons.json").read_text(encoding="utf-8"))
    genuine = [_input(case, lessons) for case in _cases("spam_genuine.jsonl")]
    spammy = [_input(case, lessons) for case in _cases("spam_spam.jsonl")]
    verdicts = {id(edit): spam.assess(edit) for edit in (*genuine, *spammy)}
    if args.misses:
        for label, edits, wrong in (
            ("genuine held", genuine, True),
            ("spam let through", spammy, False),
        ):
            for edit in edits:
                verdict = verdicts[id(edit)]
                if verdict.suspicious == wrong:
                    print(label, verdict.score, verdict.codes, edit.replace[:70])
    figures = {
        "bench": "spam",
        "genuine": len(genuine),
        "spam": len(spammy),
        "spam_held": round(sum(verdicts[id(e)].suspicious for e in spammy) / len(spammy), 3),
        "genuine_held": round(sum(verdicts[id(e)].suspicious for e in genuine) / len(genuine), 3),
        "baseline_spam_held": round(sum(map(_baseline, spammy)) / len(spammy), 3),
        "baseline_genuine_held": round(sum(map(_baseline, genuine)) / len(genuine), 3),
        "baseline": "hold anything with a link",
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
