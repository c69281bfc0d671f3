"""Explainable spam signals for a suggested edit: each one a code, a weight and its reason.

Pure: the lesson's text and the counts the store knows (the same text sent to other
lessons, recent suggestions from one person or address) come in, a verdict goes out. A
moderator reads why a suggestion was held; nothing here is shown to the suggester.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from bot.i18n import t

# A verdict at or above this score holds the suggestion for a moderator.
THRESHOLD = 1.0

# Counted over these windows by the store (see bot/services/suggestions/moderation.py).
SAME_TEXT_HOURS = 24
BURST_MINUTES = 10
# The same replacement in this many other lessons, or this many suggestions from one
# person or address in the burst window, is a signal.
SAME_TEXT_LESSONS = 2
BURST_COUNT = 5

_URL = re.compile(r"(?:https?://|www\.)[^\s<>()\[\]\"']+", re.IGNORECASE)
# A bare domain such as "cheap-pills.biz" with no scheme: spammers drop it to dodge filters.
_BARE_DOMAIN = re.compile(
    r"(?<![@\w.-])((?:[a-z0-9-]+\.)+(?:com|net|org|biz|info|io|ru|cn|xyz|top|shop|online|"
    r"site|club|co|me|ly|gl|gd|to|cc|tk|ml|ga|cf|gq|pw|in|vip|win|bet|casino|loan))\b"
    r"(?![.\w])",
    re.IGNORECASE,
)
SHORTENERS = frozenset(
    {
        "bit.ly",
        "tinyurl.com",
        "goo.gl",
        "t.co",
        "ow.ly",
        "is.gd",
        "buff.ly",
        "rebrand.ly",
        "cutt.ly",
        "shorturl.at",
        "t.ly",
        "tiny.cc",
        "rb.gy",
        "s.id",
        "v.gd",
        "bl.ink",
        "lnkd.in",
        "u.to",
        "clck.ru",
        "dwz.cn",
        "url.cn",
    }
)
# Promotion, in the site's languages; matched on word boundaries, lowercased. Only a term
# the edit brings in counts: a lesson about fraud detection may already say "casino".
PROMOTION = (
    "casino",
    "viagra",
    "cialis",
    "crypto",
    "bitcoin",
    "forex",
    "buy now",
    "loan",
    "loans",
    "payday",
    "betting",
    "jackpot",
    "free money",
    "click here",
    "promo code",
    "discount code",
    "porn",
    "escort",
    "weight loss",
    "replica watches",
    "seo services",
    "backlinks",
    "compra ahora",
    "préstamo",
    "préstamos",
    "apuestas",
    "achetez maintenant",
    "prêt rapide",
    "paris sportifs",
    "koop nu",
    "lening",
    "gokken",
    "博彩",
    "赌场",
    "贷款",
    "代开发票",
    "加微信",
    "网赚",
    "كازينو",
    "قروض",
    "اشتر الآن",
    "مراهنات",
    "कैसीनो",
    "लोन",
    "सट्टा",
    "अभी खरीदें",
    "క్యాసినో",
    "రుణాలు",
    "బెట్టింగ్",
)
# Chinese is written without spaces, so its terms match anywhere; others on word boundaries.
_PROMOTION = re.compile(
    "|".join(
        re.escape(term)
        if all(unicodedata.name(char, "").startswith("CJK") for char in term)
        else r"(?<!\w)" + re.escape(term) + r"(?!\w)"
        for term in PROMOTION
    ),
    re.IGNORECASE,
)

# The scripts each lesson locale is written in; Latin is everywhere (code, names, terms).
_LOCALE_SCRIPTS: Mapping[str, frozenset[str]] = {
    "zh": frozenset({"LATIN", "CJK"}),
    "ja": frozenset({"LATIN", "CJK", "HIRAGANA", "KATAKANA"}),
    "ar": frozenset({"LATIN", "ARABIC"}),
    "hi": frozenset({"LATIN", "DEVANAGARI"}),
    "te": frozenset({"LATIN", "TELUGU"}),
}
_SCRIPT_PREFIXES = (
    "LATIN",
    "CYRILLIC",
    "GREEK",
    "ARABIC",
    "HEBREW",
    "DEVANAGARI",
    "TELUGU",
    "TAMIL",
    "BENGALI",
    "THAI",
    "HANGUL",
    "HIRAGANA",
    "KATAKANA",
    "CJK",
)
# A new script must be this share of the letters the edit adds, and this many letters.
_OFF_SCRIPT_SHARE = 0.3
_OFF_SCRIPT_LETTERS = 4
# A script the lesson already uses this often is allowed (an English lesson on Chinese text).
_LESSON_SCRIPT_LETTERS = 5

_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm", "azertyuiop", "qsdfghjklm", "1234567890")
_VOWELS = frozenset("aeiouyàáâäèéêëìíîïòóôöùúûüœæ")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class SpamInput:
    """A suggested edit with what the store counted about it."""

    find: str
    replace: str
    reason: str
    lesson_text: str
    locale: str
    # Other lessons the same replacement text went to lately (SAME_TEXT_HOURS).
    same_text_lessons: int = 0
    # Suggestions from this person and from this address in the last BURST_MINUTES.
    recent_from_person: int = 0
    recent_from_address: int = 0


@dataclass(frozen=True, slots=True)
class Signal:
    """One reason a suggestion looks like spam: an internal code, a weight, its details."""

    code: str
    weight: float
    params: Mapping[str, str] = field(default_factory=dict)

    def explain(self, locale: str | None) -> str:
        """Return this signal as a moderator reads it, in their language."""
        return t(locale, f"moderation.signal.{self.code}", **self.params)

    def as_json(self) -> dict[str, object]:
        """Return the signal as stored with the suggestion and listed by the CLI."""
        return {"code": self.code, "weight": self.weight, "params": dict(self.params)}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Signal:
        """Return a signal stored by `as_json`."""
        params = data.get("params")
        return cls(
            code=str(data.get("code", "")),
            weight=float(data.get("weight", 0.0)),  # type: ignore[arg-type]
            params={str(k): str(v) for k, v in (params or {}).items()}  # type: ignore[union-attr]
            if isinstance(params, Mapping)
            else {},
        )


@dataclass(frozen=True, slots=True)
class Verdict:
    """Every signal found, their summed score, and whether that holds the suggestion."""

    signals: tuple[Signal, ...]
    score: float

    @property
    def suspicious(self) -> bool:
        """Tell whether a moderator should look before the edit reaches GitHub."""
        return self.score >= THRESHOLD

    @property
    def codes(self) -> tuple[str, ...]:
        """Return the signals' codes, in the order found."""
        return tuple(signal.code for signal in self.signals)


def text_hash(replace: str) -> str:
    """Return the key under which the same replacement text is counted across lessons."""
    normal = " ".join(unicodedata.normalize("NFKC", replace).casefold().split())
    return hashlib.sha256(normal.encode("utf-8", "surrogatepass")).hexdigest()


def assess(edit: SpamInput) -> Verdict:
    """Return the signals an edit shows and whether they add up to spam."""
    signals = [
        *_links(edit),
        *_same_text(edit),
        *_burst(edit),
        *_off_script(edit),
        *_unrelated(edit),
        *_gibberish(edit),
        *_promotion(edit),
    ]
    return Verdict(tuple(signals), round(sum(signal.weight for signal in signals), 3))


def domains(text: str) -> list[str]:
    """Return the domains linked in `text` (lowercased, without www.), in order."""
    found: list[str] = []
    for match in _URL.finditer(text):
        url = match.group(0)
        host = re.sub(r"^(?:https?://)?", "", url, flags=re.IGNORECASE).split("/")[0]
        host = host.split("@")[-1].split(":")[0].lower().rstrip(".,;")
        found.append(host.removeprefix("www."))
    stripped = _URL.sub(" ", text)
    found.extend(
        match.group(1).lower().removeprefix("www.") for match in _BARE_DOMAIN.finditer(stripped)
    )
    return [host for host in found if host]


def _links(edit: SpamInput) -> Iterable[Signal]:
    added = domains(edit.replace)
    if not added:
        return
    known = set(domains(edit.lesson_text)) | set(domains(edit.find))
    new = sorted({host for host in added if host not in known})
    shorteners = sorted({host for host in added if host in SHORTENERS})
    if shorteners:
        yield Signal("link_shortener", 1.0, {"domains": ", ".join(shorteners)})
    elif new:
        # One new link is often a genuine reference; several is how link farms look.
        yield Signal("new_link", 0.6 if len(new) == 1 else 1.0, {"domains": ", ".join(new[:5])})
    words = _URL.sub(" ", edit.replace)
    words = _BARE_DOMAIN.sub(" ", words)
    if len(_WORD.findall(words)) <= 2:
        yield Signal("link_only", 1.0)


def _same_text(edit: SpamInput) -> Iterable[Signal]:
    if edit.same_text_lessons >= SAME_TEXT_LESSONS:
        yield Signal(
            "same_text",
            1.0,
            {"count": str(edit.same_text_lessons), "hours": str(SAME_TEXT_HOURS)},
        )


def _burst(edit: SpamInput) -> Iterable[Signal]:
    count = max(edit.recent_from_person, edit.recent_from_address)
    if count >= BURST_COUNT:
        yield Signal("burst", 1.0, {"count": str(count), "minutes": str(BURST_MINUTES)})


def script_of(char: str) -> str | None:
    """Return the script a letter belongs to (LATIN, CJK, ...), or None for anything else."""
    if not char.isalpha():
        return None
    name = unicodedata.name(char, "")
    for prefix in _SCRIPT_PREFIXES:
        if name.startswith(prefix):
            return prefix
    return "OTHER"


def _script_counts(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for char in text:
        script = script_of(char)
        if script is not None:
            counts[script] = counts.get(script, 0) + 1
    return counts


def _off_script(edit: SpamInput) -> Iterable[Signal]:
    language = edit.locale.split("-")[0].split("_")[0].lower()
    allowed = set(_LOCALE_SCRIPTS.get(language, frozenset({"LATIN"})))
    allowed |= {
        script
        for script, count in _script_counts(edit.lesson_text).items()
        if count >= _LESSON_SCRIPT_LETTERS
    }
    counts = _script_counts(edit.replace)
    letters = sum(counts.values())
    foreign = {script: count for script, count in counts.items() if script not in allowed}
    total = sum(foreign.values())
    if total >= _OFF_SCRIPT_LETTERS and total / max(letters, 1) >= _OFF_SCRIPT_SHARE:
        # A sample of the text itself: script names would be English in every locale.
        sample = "".join(char for char in edit.replace if script_of(char) in foreign or char == " ")
        yield Signal("off_script", 1.0, {"sample": " ".join(sample.split())[:40]})


def _unrelated(edit: SpamInput) -> Iterable[Signal]:
    replace = edit.replace.strip()
    if len(replace) < 80:
        return
    similarity = SequenceMatcher(None, edit.find.casefold(), replace.casefold()).ratio()
    # A rewrite keeps words of the passage; a pasted advert shares almost none.
    shared = _shared_words(edit.find, replace)
    if similarity < 0.25 and shared < 0.2:
        yield Signal("unrelated", 0.6, {"similarity": f"{similarity:.2f}"})


def _shared_words(find: str, replace: str) -> float:
    old = {word.casefold() for word in _WORD.findall(find) if len(word) > 2}
    new = [word.casefold() for word in _WORD.findall(replace) if len(word) > 2]
    if not new:
        return 0.0
    return sum(1 for word in new if word in old) / len(new)


def _entropy(text: str) -> float:
    counts: dict[str, int] = {}
    for char in text:
        counts[char] = counts.get(char, 0) + 1
    total = len(text)
    return -sum(count / total * math.log2(count / total) for count in counts.values())


def _mashed(word: str) -> bool:
    """Tell whether a Latin word looks typed at random rather than written."""
    lower = word.casefold()
    if len(lower) < 5:
        return False
    vowels = sum(1 for char in lower if char in _VOWELS)
    if vowels / len(lower) < 0.15:
        return True
    if re.search(r"[^aeiouy\W\d]{6,}", lower):
        return True
    if re.search(r"(.)\1{3,}", lower):
        return True
    runs = sum(1 for row in _KEYBOARD_ROWS for i in range(len(row) - 3) if row[i : i + 4] in lower)
    if runs:
        return True
    # A long word that barely repeats a letter, or repeats two over and over.
    return len(lower) >= 8 and _entropy(lower) < 1.6


def _gibberish(edit: SpamInput) -> Iterable[Signal]:
    added = _added_words(edit.find, edit.replace)
    latin = [word for word in added if all(script_of(char) == "LATIN" for char in word)]
    if len(latin) < 2:
        if len(latin) == 1 and len(latin[0]) >= 12 and _mashed(latin[0]) and len(added) == 1:
            yield Signal("gibberish", 1.0, {"words": latin[0][:40]})
        return
    mashed = [word for word in latin if _mashed(word)]
    if len(mashed) >= 2 and len(mashed) / len(latin) >= 0.3:
        yield Signal("gibberish", 1.0, {"words": ", ".join(mashed[:3])[:80]})


def _added_words(find: str, replace: str) -> list[str]:
    old = {word.casefold() for word in _WORD.findall(_URL.sub(" ", find))}
    return [word for word in _WORD.findall(_URL.sub(" ", replace)) if word.casefold() not in old]


def _promotion(edit: SpamInput) -> Iterable[Signal]:
    known = {match.casefold() for match in _PROMOTION.findall(edit.lesson_text + "\n" + edit.find)}
    terms = sorted(
        {match.casefold() for match in _PROMOTION.findall(edit.replace + "\n" + edit.reason)}
        - known
    )
    if terms:
        yield Signal("promotion", 1.0, {"terms": ", ".join(terms[:5])})
