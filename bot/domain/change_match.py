"""Whether a question points at a change to its lesson: pure text matching, no models.

A question points at a change when it quotes the changed passage, names the heading the
change sits under, or shares enough distinctive words with the changed lines. Words are
weighted like idf over the lesson's paragraphs, so words every paragraph uses count for
little, and the changed paragraph must be the one the question is closest to: a question
about another part of the lesson does not match.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.domain.excerpt import excerpt

# A question this close (share of its weight in the changed lines) to the change matches.
MIN_SHARE = 0.34
# And at least this much distinctive weight in common (about two rare words).
MIN_WEIGHT = 3.0
# A quoted or shared run of this many characters is a quote (CJK script: fewer).
MIN_QUOTE = 24
MIN_QUOTE_CJK = 8
EXCERPT_LIMIT = 140
# Words kept either side of what differs in a summary.
_CONTEXT = 4

_WORD = re.compile(r"\w+", re.UNICODE)
_QUOTED = re.compile(r"[\"“”«»「」『』„`']([^\"“”«»「」『』„`']{6,400})[\"“”«»「」『』„`']")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")
_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)

# Words that say nothing about which passage is meant: function words and what any
# question says ("what does this mean"), per served locale. CJK needs few: its bigrams
# are weighted by idf like the rest.
_STOPWORD_TEXT = """
    a an the and or but if of to in on at by for with from as is are was were be been being
    it its this that these those there here i you he she we they me my your our their them
    do does did done doing have has had not no yes so than then too very can could would
    should will shall may might must what why how when where which who whom whose about
    into over under again more most some any all each other such only own same just also
    lesson part section paragraph sentence question mean means meaning explain explanation
    understand understood confused confusing clear unclear thank thanks great nice please
    help hello anyone someone something else really think know get got say said says
    es el la los las un una unos unas y o pero si de del al en con por para como que qué
    por porque cuando donde cual cuál quien quién esto esta este estos estas eso esa ese
    lo le les se su sus mi mis tu tus no sí muy más menos ya también entonces hay ser estar
    significa entiendo lección gracias hola alguien
    le la les un une des et ou mais si de du au aux en dans sur avec par pour comme que qui
    quoi pourquoi comment quand où ce cet cette ces je tu il elle nous vous ils elles ne pas
    est sont être avoir plus moins aussi donc merci bonjour leçon signifie comprends veut dire
    de het een en of maar als van in op aan met door voor zoals dat die dit deze wat waarom
    hoe wanneer waar wie ik jij je hij zij wij we jullie niet geen is zijn was waren ook dan
    bedankt dank les betekent snap begrijp
    في من إلى على عن مع هذا هذه ذلك تلك التي الذي ما ماذا لماذا كيف متى أين هل لا نعم أن إن
    كان كانت هو هي هم أنا نحن أنت و أو ثم قد لقد كل بعض شكرا الدرس يعني معنى أفهم
    का के की को में से पर और या लेकिन यह वह ये वो क्या क्यों कैसे कब कहाँ कौन है हैं था थे
    हो नहीं भी तो एक इस उस मैं हम आप धन्यवाद पाठ मतलब समझ
    మరియు లేదా కానీ ఈ ఆ ఏమి ఎందుకు ఎలా ఎప్పుడు ఎక్కడ ఎవరు ఉంది ఉన్నాయి కాదు కూడా ఒక నేను
    మేము మీరు ధన్యవాదాలు పాఠం అర్థం
    什么 为什 为何 怎么 怎样 如何 这个 那个 这里 那里 是不 不是 我们 你们 他们 可以 没有 一个
    这一 一下 请问 谢谢 感谢 课程 这节 意思 理解 明白 的是 了吗 是什 么意
"""
_STOPWORDS: frozenset[str] = frozenset(_STOPWORD_TEXT.split())
_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ied", "ers", "er", "es", "ed", "ly", "s")


@dataclass(frozen=True, slots=True)
class Change:
    """One changed passage of a lesson: the lines removed and added, under a heading."""

    removed: str
    added: str
    heading: str  # the heading it sits under ("" above the first one)
    # Its paragraph's index among `Lesson.paragraphs` of the text after the change.
    paragraph: int

    def summary(self, limit: int = EXCERPT_LIMIT) -> tuple[str, str]:
        """Return a short before and after of the change, one line each, around the words
        that differ."""
        old = _one_line(self.removed, 10_000).split()
        new = _one_line(self.added, 10_000).split()
        same = 0
        while same < min(len(old), len(new)) and old[same] == new[same]:
            same += 1
        tail = 0
        while tail < min(len(old), len(new)) - same and old[-1 - tail] == new[-1 - tail]:
            tail += 1
        # A few words either side keep the change readable.
        start = max(0, same - _CONTEXT)
        return _around(old, start, tail, limit), _around(new, start, tail, limit)


@dataclass(frozen=True, slots=True)
class ChangeMatch:
    """Why a question points at a change: its score and the evidence, for people to check."""

    change: Change
    score: float
    words: tuple[str, ...] = ()
    heading: str = ""
    quote: str = ""

    def reasons(self) -> dict[str, object]:
        """Return the evidence as JSON-ready values."""
        return {
            "score": round(self.score, 3),
            "words": list(self.words),
            "heading": self.heading,
            "quote": self.quote,
        }


def lesson_body(text: str) -> str:
    """Return a lesson file's text without its front matter, newlines normalised."""
    text = text.replace("\r\n", "\n")
    return _FRONT_MATTER.sub("", text, count=1)


def paragraphs(body: str) -> list[str]:
    """Split a lesson's body into its paragraphs (blank-line separated blocks)."""
    return [block.strip() for block in re.split(r"\n\s*\n", body) if block.strip()]


def changes_between(before: str, after: str) -> list[Change]:
    """Return the passages that differ between two versions of a lesson file."""
    old = lesson_body(before).split("\n")
    new = lesson_body(after).split("\n")
    blocks = paragraphs("\n".join(new))
    found: list[Change] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        removed = "\n".join(line for line in old[i1:i2] if line.strip())
        added = "\n".join(line for line in new[j1:j2] if line.strip())
        if not removed and not added:
            continue
        heading = _heading_above(new, j2 if j2 > j1 else j1)
        found.append(Change(removed, added, heading, _paragraph_of(blocks, new, j1)))
    return found


def tokens(text: str) -> list[str]:
    """Return a text's words as matching sees them: normalised, stemmed, no stopwords;
    CJK text as character bigrams."""
    text = unicodedata.normalize("NFKC", text).casefold()
    out: list[str] = []
    for word in _WORD.findall(text):
        if word.isdigit():
            continue
        if any(_is_cjk(char) for char in word):
            out.extend(_cjk_bigrams(word))
            continue
        if word in _STOPWORDS or (len(word) < 3 and not _is_indic(word)):
            continue
        stem = _stem(word)
        if stem not in _STOPWORDS:
            out.append(stem)
    return out


def weights(blocks: Sequence[str]) -> dict[str, float]:
    """Return each word's weight: rarer across the lesson's paragraphs weighs more."""
    count = len(blocks)
    seen: Counter[str] = Counter()
    for block in blocks:
        seen.update(set(tokens(block)))
    return {word: math.log((count + 1) / (df + 0.5)) + 0.2 for word, df in seen.items()}


def match_question(
    question: str, changes: Sequence[Change], after: str, *, idf: dict[str, float] | None = None
) -> ChangeMatch | None:
    """Return how the question points at the first change it points at, or None."""
    blocks = paragraphs(lesson_body(after))
    idf = weights(blocks) if idf is None else idf
    default = math.log(len(blocks) + 2) + 0.2
    asked = set(tokens(question))
    for change in changes:
        found = _match_one(question, asked, change, blocks, idf, default)
        if found is not None:
            return found
    return None


def _match_one(
    question: str,
    asked: set[str],
    change: Change,
    blocks: Sequence[str],
    idf: dict[str, float],
    default: float,
) -> ChangeMatch | None:
    quote = _quote(question, change)
    heading = _named_heading(question, asked, change.heading)
    changed = set(tokens(f"{change.removed}\n{change.added}"))
    shared = asked & changed
    weight = math.fsum(idf.get(word, default) for word in shared)
    total = math.fsum(idf.get(word, default) for word in asked) or 1.0
    share = weight / total
    # fsum: exact, so a tie with another paragraph does not depend on set order.
    by_words = weight >= MIN_WEIGHT and share >= MIN_SHARE and len(shared) >= 2
    if by_words and not quote and not heading:
        # Another paragraph the question is closer to is the one it asks about.
        closest = max(
            (
                math.fsum(idf.get(word, default) for word in asked & set(tokens(block)))
                for index, block in enumerate(blocks)
                if index != change.paragraph
            ),
            default=0.0,
        )
        by_words = weight >= closest
    if not (quote or heading or by_words):
        return None
    score = min(1.0, share + (0.5 if quote else 0.0) + (0.3 if heading else 0.0))
    words = tuple(sorted(shared, key=lambda word: (-idf.get(word, default), word))[:8])
    return ChangeMatch(change, score, words if by_words or shared else (), heading, quote)


def _quote(question: str, change: Change) -> str:
    """Return the part of the changed lines the question quotes, or ""."""
    said = _plain(question)
    for passage in (change.removed, change.added):
        text = _plain(passage)
        if not text:
            continue
        for quoted in _QUOTED.findall(question):
            piece = _plain(quoted)
            if len(piece) >= _least(piece) and piece in text:
                return _one_line(quoted, 80)
        matcher = difflib.SequenceMatcher(None, said, text, autojunk=False)
        run = matcher.find_longest_match(0, len(said), 0, len(text))
        piece = said[run.a : run.a + run.size].strip()
        if run.size >= _least(piece) and len(set(tokens(piece))) >= 2:
            return _one_line(piece, 80)
    return ""


def _named_heading(question: str, asked: set[str], heading: str) -> str:
    """Return the heading when the question names it, or ""."""
    title = heading.strip()
    if not title:
        return ""
    words = set(tokens(title))
    if not words:
        return ""
    plain = _plain(title)
    if len(plain) >= 6 and plain in _plain(question) and len(words) >= 1:
        return title
    if len(words) >= 2 and words <= asked:
        return title
    return ""


def _least(piece: str) -> int:
    return MIN_QUOTE_CJK if any(_is_cjk(char) for char in piece) else MIN_QUOTE


def _plain(text: str) -> str:
    """Return text folded for substring search: case, width, punctuation and spaces."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_WORD.findall(text))


def _one_line(text: str, limit: int) -> str:
    text = " ".join(line.strip().lstrip("#>*-+ ").strip() for line in text.split("\n"))
    return excerpt(" ".join(text.split()), limit)


def _around(words: Sequence[str], start: int, tail: int, limit: int) -> str:
    end = len(words) - max(0, tail - _CONTEXT)
    shown = " ".join(words[start:end])
    if not shown:
        return ""
    head = "… " if start else ""
    return excerpt(head + shown + (" …" if end < len(words) else ""), limit)


def _heading_above(lines: Sequence[str], end: int) -> str:
    for line in reversed(lines[:end]):
        found = _HEADING.match(line)
        if found:
            return found.group(2).strip()
    return ""


def _paragraph_of(blocks: Sequence[str], lines: Sequence[str], at: int) -> int:
    """Return the index of the paragraph holding line `at` (counting blank-line blocks)."""
    index = -1
    previous_blank = True
    for number, line in enumerate(lines):
        blank = not line.strip()
        if not blank and previous_blank:
            index += 1
        if number >= at and not blank:
            return max(index, 0)
        previous_blank = blank
    return max(min(index, len(blocks) - 1), 0)


def _stem(word: str) -> str:
    if not word.isascii() and not word.isalpha():
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x3040 <= code <= 0x30FF
        or 0xAC00 <= code <= 0xD7AF
    )


def _is_indic(word: str) -> bool:
    return any(0x0900 <= ord(char) <= 0x0C7F for char in word)


def _cjk_bigrams(word: str) -> Iterable[str]:
    run = "".join(char for char in word if _is_cjk(char))
    rest = "".join(" " if _is_cjk(char) else char for char in word).split()
    grams = [run[i : i + 2] for i in range(len(run) - 1)] if len(run) > 1 else []
    grams = [gram for gram in grams if gram not in _STOPWORDS]
    return grams + [_stem(part) for part in rest if len(part) >= 3 and part not in _STOPWORDS]
