"""Benchmark: does a question point at a lesson's change? The matcher vs any shared word.

Run as a script (never inside the test suite): prints one JSON line of figures.

    .venv/bin/python tests/bench/bench_change_notices.py [--content DIR] [--lessons N]

From the real corpus (../shared/corpus/ai-courses; nothing of it is copied here) it builds
hidden cases: per lesson, one sentence of a prose paragraph is edited (a few words
swapped or dropped), then questions are written from that sentence's words or its
heading (should match), from another paragraph's sentence (should not) and chatter
(should not).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

from bot.domain.change_match import (
    changes_between,
    lesson_body,
    match_question,
    paragraphs,
    tokens,
    weights,
)

PROJECT = Path(__file__).resolve().parents[2]
CORPUS = PROJECT.parent / "shared" / "corpus" / "ai-courses"
AIMS = {"recall": 0.7, "false_positive_rate": 0.1}

# Question templates per language: {quote} a short run of the sentence, {words} a few of
# its words, {heading} the heading it sits under.
TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "quote": ('What does "{quote}" mean here?', 'I am lost at "{quote}", can you explain?'),
        "words": ("Why {words}? I don't get it.", "How do {words} fit together?"),
        "heading": ("Can someone explain the {heading} section?",),
    },
    "fr": {
        "quote": ("Que veut dire « {quote} » ici ?",),
        "words": ("Pourquoi {words} ? Je ne comprends pas.",),
        "heading": ("Quelqu'un peut expliquer la partie {heading} ?",),
    },
    "nl": {
        "quote": ('Wat betekent "{quote}" hier?',),
        "words": ("Waarom {words}? Ik snap het niet.",),
        "heading": ("Kan iemand het stuk {heading} uitleggen?",),
    },
    "hi": {
        "quote": ('"{quote}" का क्या मतलब है?',),
        "words": ("{words} क्यों? मुझे समझ नहीं आया।",),
        "heading": ("क्या कोई {heading} भाग समझा सकता है?",),
    },
    "te": {
        "quote": ('"{quote}" అంటే ఏమిటి?',),
        "words": ("{words} ఎందుకు? నాకు అర్థం కాలేదు.",),
        "heading": ("{heading} భాగాన్ని ఎవరైనా వివరించగలరా?",),
    },
}
CHATTER = (
    "thanks!",
    "great lesson",
    "Thank you so much, this was really helpful!",
    "merci beaucoup !",
    "bedankt!",
    "धन्यवाद!",
    "ధన్యవాదాలు!",
    "nice one, loved it",
)
_SENTENCE = re.compile(r"(?<=[.!?।])\s+")
_PROSE = re.compile(r"^[^#|`<>\-*!\[{:]")


def _prose(block: str) -> bool:
    return bool(_PROSE.match(block)) and len(block.split()) >= 25 and "\n" not in block.strip()


def _edit(sentence: str, rng: random.Random, pool: list[str]) -> str:
    """Return the sentence with a few of its words swapped for others of the lesson."""
    words = sentence.split()
    for _ in range(rng.randint(1, 3)):
        index = rng.randrange(len(words))
        words[index] = rng.choice(pool)
    return " ".join(words)


def _question(kind: str, sentence: str, heading: str, locale: str, rng: random.Random) -> str:
    templates = TEMPLATES.get(locale, TEMPLATES["en"])
    words = sentence.split()
    if kind == "quote":
        start = rng.randrange(max(1, len(words) - 6))
        quote = " ".join(words[start : start + rng.randint(5, 7)]).strip(".,;:")
        return rng.choice(templates["quote"]).format(quote=quote)
    if kind == "heading":
        return rng.choice(templates["heading"]).format(heading=heading)
    rare = sorted({w.strip(".,;:()\"'") for w in words if len(w) > 5}, key=lambda w: (-len(w), w))
    picked = rng.sample(rare[:8], min(3, len(rare[:8])))
    return rng.choice(templates["words"]).format(words=", ".join(picked))


def _naive(question: str, removed: str, added: str) -> bool:
    """Any word of three letters or more in common."""
    asked = {w for w in re.findall(r"\w+", question.lower()) if len(w) >= 3}
    changed = {w for w in re.findall(r"\w+", f"{removed} {added}".lower()) if len(w) >= 3}
    return bool(asked & changed)


def main() -> int:
    """Build the cases, run both matchers, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--content", type=Path, default=CORPUS)
    parser.add_argument("--lessons", type=int, default=200)
    parser.add_argument("--seed", type=int, default=19)
    arguments = parser.parse_args()
    if not arguments.content.is_dir():
        print(f"skipped: no corpus at {arguments.content}", file=sys.stderr)
        return 0
    rng = random.Random(arguments.seed)
    files = sorted(arguments.content.glob("programs/*/lessons/*/*.mdx"))
    rng.shuffle(files)
    counts = {"lessons": 0, "should_match": 0, "should_not": 0, "chatter": 0}
    hits = {"ours": [0, 0], "naive": [0, 0]}  # [true positives, false positives]
    by_kind: dict[str, list[int]] = {}
    for path in files:
        if counts["lessons"] >= arguments.lessons:
            break
        locale = path.parent.name
        before = path.read_text(encoding="utf-8")
        blocks = paragraphs(lesson_body(before))
        prose = [i for i, block in enumerate(blocks) if _prose(block)]
        if len(prose) < 3:
            continue
        target = rng.choice(prose)
        sentences = [s for s in _SENTENCE.split(blocks[target]) if len(s.split()) >= 8]
        if not sentences:
            continue
        sentence = rng.choice(sentences)
        pool = [w for w in lesson_body(before).split() if w.isalpha() and len(w) > 3]
        edited = _edit(sentence, rng, pool)
        after = before.replace(sentence, edited, 1)
        changes = changes_between(before, after)
        if not changes:
            continue
        counts["lessons"] += 1
        heading = changes[0].heading
        idf = weights(paragraphs(lesson_body(after)))
        others = [i for i in prose if i != target]
        other_block = blocks[rng.choice(others)]
        other_sentences = [s for s in _SENTENCE.split(other_block) if len(s.split()) >= 8]
        other = rng.choice(other_sentences or [other_block])
        cases: list[tuple[str, str, bool]] = []
        for kind in ("quote", "words"):
            cases.append((kind, _question(kind, sentence, heading, locale, rng), True))
            cases.append((f"other_{kind}", _question(kind, other, "", locale, rng), False))
        if heading:
            cases.append(("heading", _question("heading", sentence, heading, locale, rng), True))
        cases.append(("chatter", rng.choice(CHATTER), False))
        removed = " ".join(c.removed for c in changes)
        added = " ".join(c.added for c in changes)
        for kind, question, expected in cases:
            if not tokens(question) and kind != "chatter":
                continue
            key = "should_match" if expected else "chatter" if kind == "chatter" else "should_not"
            counts[key] += 1
            ours = match_question(question, changes, after, idf=idf) is not None
            naive = _naive(question, removed, added)
            tally = by_kind.setdefault(kind, [0, 0])
            tally[0] += 1
            tally[1] += ours
            for name, said in (("ours", ours), ("naive", naive)):
                if said and expected:
                    hits[name][0] += 1
                elif said:
                    hits[name][1] += 1
    negatives = counts["should_not"] + counts["chatter"]

    def figures(name: str) -> dict[str, float]:
        true, false = hits[name]
        return {
            "recall": round(true / max(1, counts["should_match"]), 3),
            "false_positive_rate": round(false / max(1, negatives), 3),
        }

    print(
        json.dumps(
            {
                "bench": "change_notices",
                "counts": counts,
                "matcher": figures("ours"),
                "baseline_any_shared_word": figures("naive"),
                "matched_share_by_kind": {k: round(v[1] / v[0], 3) for k, v in by_kind.items()},
                "aims": AIMS,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
