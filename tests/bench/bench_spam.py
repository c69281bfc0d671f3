"""Benchmark: how much spam the spam signals hold, and how many genuine edits, vs a baseline.

Run as a script (never inside the test suite): prints one JSON line of figures. The cases in
tests/bench/data/ were written for this project (no corpus text): genuine edits in eight
locales and spam of every kind the signals look for. The signals were tuned on
spam_genuine.jsonl and spam_spam.jsonl, so those figures are optimistic; the held-out pair
(spam_heldout_*.jsonl, issue 19) was written blind, without reading the signals or the tuned
cases, and its `heldout_*` figures are the honest ones. The baseline holds anything that
carries a link. With the real corpus beside the project (../shared/corpus/ai-courses), the
`corpus_*` figures count how many ordinary edits of real lesson sentences (a word dropped,
a comma, a clause from the same lesson, a reference link) would be held: false holds on real
text in every corpus language, which the hand-written cases cannot show.

    .venv/bin/python tests/bench/bench_spam.py [--misses] [--lessons N]
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

from bot.domain import spam

DATA = Path(__file__).resolve().parent / "data"
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "ai-courses"
_SENTENCE = re.compile(r"(?<=[.!?।])\s+")
_PROSE = re.compile(r"^[^#|`<>\-*!\[{:0-9]")
_LOCALE = re.compile(r"/lessons/([^/]+)/[^/]+\.mdx?$")


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


def _sentences(body: str) -> list[str]:
    """Return the lesson's plain prose sentences (no headings, lists, tables or markup)."""
    found = []
    for block in body.split("\n\n"):
        block = block.strip()
        if "\n" in block or not _PROSE.match(block) or any(c in block for c in "<>{}`*_[]"):
            continue
        found.extend(part for part in _SENTENCE.split(block) if len(part.split()) >= 6)
    return found


def _ordinary_edit(sentence: str, others: list[str], rng: random.Random) -> tuple[str, str]:
    """Return (kind, replacement): an edit a learner or translator would send."""
    words = sentence.split()
    kind = rng.choice(("drop_word", "comma", "clause", "reference"))
    if kind == "drop_word":
        del words[rng.randrange(1, len(words) - 1)]
        return kind, " ".join(words)
    if kind == "comma":
        index = rng.randrange(2, len(words) - 1)
        words[index] = words[index].rstrip(",") + ","
        return kind, " ".join(words)
    if kind == "clause":
        other = rng.choice(others).split()
        start = rng.randrange(max(1, len(other) - 5))
        clause = " ".join(other[start : start + rng.randint(3, 6)]).strip(".,;:!?।")
        return kind, f"{sentence.rstrip('.!?।')} ({clause}){sentence[-1]}"
    term = max((w.strip(".,;:()\"'") for w in words), key=len)
    return kind, f"{sentence} https://en.wikipedia.org/wiki/{term}"


def _corpus(count: int, seed: int) -> dict[str, Any] | None:
    """Judge ordinary edits of real lesson sentences; None without the corpus."""
    files = sorted(CORPUS.glob("programs/*/lessons/*/*.md*")) if CORPUS.is_dir() else []
    if not files:
        return None
    rng = random.Random(seed)
    held: Counter[str] = Counter()
    judged: Counter[str] = Counter()
    for path in rng.sample(files, min(count, len(files))):
        text = path.read_text(encoding="utf-8")
        body = text.split("---", 2)[-1] if text.startswith("---") else text
        sentences = [s for s in _sentences(body) if body.count(s) == 1]
        if len(sentences) < 2:
            continue
        locale_found = _LOCALE.search(path.as_posix())
        locale = locale_found.group(1) if locale_found else "en"
        sentence = rng.choice(sentences)
        kind, replacement = _ordinary_edit(sentence, sentences, rng)
        verdict = spam.assess(
            spam.SpamInput(
                find=sentence, replace=replacement, reason="", lesson_text=text, locale=locale
            )
        )
        for key in (kind, f"locale:{locale}", "all"):
            judged[key] += 1
            held[key] += verdict.suspicious
    return {
        "corpus_edits": judged["all"],
        "corpus_genuine_held": round(held["all"] / judged["all"], 3),
        "corpus_held_by": {k: f"{held[k]}/{judged[k]}" for k in sorted(judged) if k != "all"},
    }


def main() -> None:
    """Measure the tuned and the held-out sets and print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--misses", action="store_true", help="list what was misjudged")
    parser.add_argument("--lessons", type=int, default=400, help="corpus lessons to edit")
    parser.add_argument("--seed", type=int, default=19)
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
        **(_corpus(args.lessons, args.seed) or {"corpus_edits": None}),
        "baseline": "hold anything with a link",
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
