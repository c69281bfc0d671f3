"""Explainable spam signals for a suggested edit: each one a code, a weight and its reason.

Pure: the lesson's text and the counts the store knows (the same text sent to other
lessons, recent suggestions from one person or address) come in, a verdict goes out. A
moderator reads why a suggestion was held; nothing here is shown to the suggester.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
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
    r"site|club|co|me|ly|gl|gd|to|cc|tk|ml|ga|cf|gq|pw|in|vip|win|bet|casino|loan|app|ai|tv|"
    r"store|live|pro|link|space|website|fun|buzz|icu|click|today|world|life|best|ws|su|vn|"
    r"uk|us|de|fr|es|nl|ae|sa|eg|pk|bd|ng|br|mx|ar))\b"
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

# Messaging apps a spammer asks to be reached on; an app's name with a handle, a number or
# a "write to me" is contact, its name alone may be a lesson about chat bots.
MESSAGING_APPS = (
    "whatsapp",
    "whats app",
    "telegram",
    "wechat",
    "weixin",
    "line id",
    "viber",
    "skype",
    "kik",
    "snapchat",
    "instagram",
    "signal app",
    "微信",
    "电报",
    "qq",
    "واتساب",
    "واتس اب",
    "واتس",
    "تيليجرام",
    "تلغرام",
    "تليجرام",
    "व्हाट्सएप",
    "व्हाट्सऐप",
    "वॉट्सऐप",
    "टेलीग्राम",
    "వాట్సాప్",
    "వాట్సప్",
    "టెలిగ్రామ్",
)
# "Write to me" in the site's languages: an edit to a lesson never asks to be contacted.
CONTACT_PHRASES = (
    "dm me",
    "pm me",
    "inbox me",
    "message me",
    "text me",
    "call me",
    "contact me",
    "contact us",
    "call us",
    "reach me",
    "add me",
    "ping me",
    "follow me",
    "sígueme",
    "síguenos",
    "suivez-moi",
    "suivez-nous",
    "volg me",
    "volg ons",
    "تابعني",
    "تابعونا",
    "मुझे फॉलो करें",
    "నన్ను ఫాలో చేయండి",
    "call now",
    "call today",
    "escríbeme",
    "escribeme",
    "contáctame",
    "contactanos",
    "contáctanos",
    "llámanos",
    "llámame",
    "mándame",
    "contactez-moi",
    "contactez-nous",
    "écrivez-moi",
    "appelez-nous",
    "appelez-moi",
    "stuur me",
    "bel me",
    "bel ons",
    "neem contact op",
    "app me",
    "联系我",
    "加我",
    "私信",
    "私聊",
    "联系电话",
    "تواصل معي",
    "تواصل معنا",
    "راسلني",
    "اتصل بنا",
    "اتصل بي",
    "مجھ سے رابطہ",
    "मुझे मैसेज",
    "संपर्क करें",
    "कॉल करें",
    "संपर्क",
    "సంప్రదించండి",
    "కాల్ చేయండి",
    "మెసేజ్ చేయండి",
)
# Sales talk: weaker than PROMOTION (a lesson may say "the best model"), so it weighs half
# and counts only when the edit brings it; two different terms weigh as much as one ad.
SALES_TERMS = (
    "#1",
    "no. 1",
    "no.1",
    "number one",
    "best price",
    "best tool",
    "best app",
    "best service",
    "cheapest",
    "discount",
    "special offer",
    "limited offer",
    "limited time",
    "free trial",
    "order now",
    "sign up now",
    "register now",
    "official site",
    "official store",
    "money back",
    "guaranteed",
    "100% free",
    "try it free",
    "download now",
    "top-rated",
    "™",
    "®",
    "check out my",
    "visit my",
    "visit our",
    "my blog",
    "my website",
    "my channel",
    "subscribe to my",
    "visita mi",
    "mi blog",
    "mi canal",
    "visitez mon",
    "mon blog",
    "ma chaîne",
    "bezoek mijn",
    "mijn blog",
    "mijn website",
    "我的博客",
    "关注我",
    "我的网站",
    "مدونتي",
    "قناتي",
    "موقعي",
    "मेरा ब्लॉग",
    "मेरे चैनल",
    "मेरी वेबसाइट",
    "నా బ్లాగ్",
    "నా ఛానల్",
    "నా వెబ్‌సైట్",
    "mejor precio",
    "descuento",
    "oferta",
    "gratis",
    "garantizado",
    "meilleur prix",
    "réduction",
    "promo",
    "offre spéciale",
    "gratuit",
    "garanti",
    "beste prijs",
    "korting",
    "aanbieding",
    "gegarandeerd",
    "最便宜",
    "优惠",
    "折扣",
    "免费",
    "特价",
    "官网",
    "第一品牌",
    "限时",
    "خصم",
    "عرض خاص",
    "مجانا",
    "مجانًا",
    "أفضل سعر",
    "مضمون",
    "छूट",
    "ऑफर",
    "मुफ्त",
    "मुफ़्त",
    "गारंटी",
    "సబ్సిడీ",
    "తగ్గింపు",
    "ఆఫర్",
    "ఉచితం",
    "ఉచిత",
    "గ్యారంటీ",
)
# Praise of the page instead of an edit to it, the opening of most comment spam.
PRAISE = (
    "nice post",
    "great post",
    "nice article",
    "great article",
    "awesome post",
    "nice blog",
    "great blog",
    "thanks for sharing",
    "thank you for sharing",
    "very informative",
    "very helpful post",
    "keep up the good work",
    "keep it up",
    "good job",
    "well written",
    "love this post",
    "great content",
    "awesome article",
    "amazing post",
    "amazing article",
    "very useful",
    "thanks for this",
    "thanks for the info",
    "great info",
    "useful post",
    "nice work",
    "great work",
    "love your blog",
    "gran artículo",
    "buen post",
    "excelente post",
    "muy útil",
    "article génial",
    "très bon article",
    "excellent article",
    "merci pour l'article",
    "très utile",
    "leuk artikel",
    "heel nuttig",
    "bedankt voor de info",
    "好文",
    "写得真好",
    "很有用",
    "支持楼主",
    "شكرا لك",
    "مقال مفيد",
    "معلومات مفيدة",
    "رائع جدا",
    "बहुत बढ़िया",
    "अच्छी जानकारी",
    "बहुत उपयोगी",
    "చాలా ఉపయోగకరం",
    "మంచి సమాచారం",
    "buen artículo",
    "excelente artículo",
    "gracias por compartir",
    "muy buen post",
    "bon article",
    "super article",
    "merci pour le partage",
    "merci pour cet article",
    "mooi artikel",
    "goed artikel",
    "bedankt voor het delen",
    "好文章",
    "写得好",
    "写得很好",
    "感谢分享",
    "谢谢分享",
    "مقال رائع",
    "شكرا على المشاركة",
    "شكرًا على المشاركة",
    "موضوع رائع",
    "बढ़िया लेख",
    "बहुत अच्छा लेख",
    "शेयर करने के लिए धन्यवाद",
    "మంచి వ్యాసం",
    "చాలా బాగుంది",
    "షేర్ చేసినందుకు ధన్యవాదాలు",
)
# Low-content words: a test, a laugh, a greeting. A replacement made of nothing else is
# noise, whichever language the word comes from.
FILLER = frozenset(
    {
        "test",
        "tests",
        "testing",
        "lol",
        "lmao",
        "rofl",
        "haha",
        "hahaha",
        "hehe",
        "xd",
        "omg",
        "wow",
        "ok",
        "okay",
        "hi",
        "hello",
        "hey",
        "yo",
        "bla",
        "blah",
        "abc",
        "xyz",
        "asdf",
        "foo",
        "bar",
        "qwerty",
        "jaja",
        "jajaja",
        "jeje",
        "prueba",
        "hola",
        "mdr",
        "ptdr",
        "salut",
        "essai",
        "bonjour",
        "hallo",
        "toets",
        "doei",
        "测试",
        "哈哈",
        "哈哈哈",
        "呵呵",
        "嘿嘿",
        "你好",
        "啊",
        "اختبار",
        "تجربة",
        "مرحبا",
        "टेस्ट",
        "परीक्षण",
        "हाहा",
        "नमस्ते",
        "టెస్ట్",
        "పరీక్ష",
        "హాహా",
        "నమస్తే",
    }
)
# Syllables of a laugh, repeated: "hahaha", "jajaja", "哈哈哈".
_LAUGH_UNITS = (
    "ha",
    "he",
    "hi",
    "ho",
    "ja",
    "je",
    "ji",
    "lol",
    "\u0647",
    "हा",
    "హా",
    "哈",
    "呵",
    "嘿",
    "啊",
    "嗯",
)
# Sites a reference link usually goes to: one of them is how a careful editor cites.
REFERENCE_DOMAINS = (
    "wikipedia.org",
    "wikimedia.org",
    "wiktionary.org",
    "wikidata.org",
    "britannica.com",
    "python.org",
    "developer.mozilla.org",
    "w3.org",
    "unicode.org",
    "ietf.org",
    "rfc-editor.org",
    "arxiv.org",
    "doi.org",
    "acm.org",
    "ieee.org",
    "nature.com",
    "scikit-learn.org",
    "pandas.pydata.org",
    "numpy.org",
    "scipy.org",
    "pytorch.org",
    "tensorflow.org",
    "huggingface.co",
    "readthedocs.io",
    "khanacademy.org",
    "stanford.edu",
    "mit.edu",
    "baike.baidu.com",
)
# Latin letters every site language may borrow (French, Spanish, Dutch, German names);
# others (Vietnamese hooks, Polish ogoneks, Turkish dotless i) mark another language.
_COMMON_LATIN = frozenset("àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿœßÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝŸŒ")
_FOREIGN_LATIN_LETTERS = 3
# A replacement needs this many content words (or Chinese characters) to be judged on
# topic, and this share of them seen in the lesson or the passage to be on it.
_TOPIC_WORDS = 3
_TOPIC_CJK_CHARS = 4
_TOPIC_SHARE = 0.25
# A fixed typo still shares most character trigrams with the passage it replaces.
_TOPIC_TRIGRAMS = 0.3
# Words added after a kept passage, none of them the lesson's, before that is a hint.
_TOPIC_ADDED = 4
_PHONE = re.compile(r"(?<![\w.,/])\+?\(?\d[\d\s().\-]{5,}\d(?![\w%])")
_HANDLE = re.compile(r"(?<![\w.])@[A-Za-z0-9_.]{3,}|\b(?:id|ID|Id)\s*[:\uff1a]\s*\w{3,}")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_CODE = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)
_CODE_LINE = re.compile(
    r"^\s*(?:>>>|\$|import\s|from\s+\w|def\s|class\s|print\(|#include|\w+(?:\.\w+)*\s*=[^=]|"
    r"\w+(?:\.\w+)+\()"
)


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
        *_contact(edit),
        *_sales(edit),
        *_praise(edit),
        *_nonsense(edit),
        *_foreign_letters(edit),
    ]
    # Mash and noise share no words with anything; saying so twice explains nothing more.
    if not {"gibberish", "nonsense"} & {signal.code for signal in signals}:
        signals.extend(_off_topic(edit))
    return Verdict(tuple(signals), round(sum(signal.weight for signal in signals), 3))


def with_counts(verdict: Verdict, same_text_lessons: int, recent_from_person: int) -> Verdict:
    """Return a verdict on the text alone with the signals of the store's counts added.

    The same as `assess` with the counts given, so the text can be judged before the
    counts are read (outside a transaction that holds a lock).
    """
    counts = SpamInput(
        find="",
        replace="",
        reason="",
        lesson_text="",
        locale="",
        same_text_lessons=same_text_lessons,
        recent_from_person=recent_from_person,
    )
    signals = (*verdict.signals, *_same_text(counts), *_burst(counts))
    return Verdict(signals, round(sum(signal.weight for signal in signals), 3))


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


@dataclass(frozen=True, slots=True)
class _LessonFacts:
    """What the signals compare an edit with, read once per lesson text (not per edit)."""

    folded: str
    chars: frozenset[str]
    domains: frozenset[str]
    scripts: Mapping[str, int]
    tokens: tuple[str, ...]
    known_words: frozenset[str]
    stems: frozenset[str]
    bigrams: frozenset[str]
    terms: Mapping[str, frozenset[str]]


# A site's busy lessons stay read; a few hundred lessons' facts are a few megabytes.
@functools.lru_cache(maxsize=256)
def _lesson(text: str) -> _LessonFacts:
    """Return the facts of a lesson's text; a lesson's many suggestions share them."""
    tokens = tuple(_tokens(_prose(text)))
    bigrams = _content(list(tokens))[1]
    return _LessonFacts(
        folded=text.casefold(),
        chars=frozenset(text),
        domains=frozenset(domains(text)),
        scripts=_script_counts(text),
        tokens=tokens,
        known_words=frozenset(tokens),
        stems=frozenset(word[:5] for word in tokens if len(word) >= 5),
        bigrams=frozenset(bigrams),
        terms={
            name: frozenset(match.casefold() for match in pattern.findall(text))
            for name, pattern in (("promotion", _PROMOTION), ("sales", _SALES), ("praise", _PRAISE))
        },
    )


def _known_domains(edit: SpamInput) -> set[str]:
    return set(_lesson(edit.lesson_text).domains) | set(domains(edit.find))


def _known_terms(name: str, pattern: re.Pattern[str], edit: SpamInput) -> set[str]:
    found = {match.casefold() for match in pattern.findall(edit.find)}
    return found | _lesson(edit.lesson_text).terms[name]


def _in_lesson(text: str, edit: SpamInput, *, folded: bool = False) -> bool:
    """Tell whether `text` appears in the lesson or in the passage."""
    if folded:
        return text in _lesson(edit.lesson_text).folded or text in edit.find.casefold()
    return text in edit.lesson_text or text in edit.find


def _links(edit: SpamInput) -> Iterable[Signal]:
    added = domains(edit.replace)
    if not added:
        return
    known = _known_domains(edit)
    new = sorted({host for host in added if host not in known})
    shorteners = sorted({host for host in added if host in SHORTENERS})
    others = [host for host in new if not is_reference(host)]
    # A link wrapped around the passage's own words cites it; an advert brings its own.
    anchored = _anchored(edit)
    if shorteners:
        yield Signal("link_shortener", 1.0, {"domains": ", ".join(shorteners)})
    elif others:
        # One new link is often a genuine reference; several is how link farms look.
        weight = 0.6 if len(others) == 1 else 1.0
        yield Signal(
            "new_link", 0.4 if weight < 1 and anchored else weight, {"domains": ", ".join(new[:5])}
        )
    elif new:
        # An encyclopedia or a manual is how careful editors cite.
        yield Signal("new_link", 0.2, {"domains": ", ".join(new[:5])})
    words = _URL.sub(" ", edit.replace)
    words = _BARE_DOMAIN.sub(" ", words)
    if len(_tokens(words)) <= 2 and not (not others and not shorteners and _keeps_passage(edit)):
        yield Signal("link_only", 1.0)


def _anchored(edit: SpamInput) -> bool:
    """Tell whether every Markdown link's text is words of the passage it replaces."""
    anchors = re.findall(r"\[([^\]]+)\]\(", edit.replace)
    find = set(_tokens(edit.find))
    return bool(anchors) and all(set(_tokens(text)) <= find for text in anchors)


def _keeps_passage(edit: SpamInput) -> bool:
    """Tell whether the replacement, links aside, still has every word of the passage."""
    kept = set(_tokens(_BARE_DOMAIN.sub(" ", _URL.sub(" ", edit.replace))))
    find = set(_tokens(_URL.sub(" ", edit.find)))
    return bool(find) and find <= kept


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
        for script, count in _lesson(edit.lesson_text).scripts.items()
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
    # Judged on the words: a long reference link makes no rewrite unlike its passage.
    replace = _BARE_DOMAIN.sub(" ", _URL.sub(" ", edit.replace)).strip()
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
    known = _known_terms("promotion", _PROMOTION, edit)
    terms = sorted(
        {match.casefold() for match in _PROMOTION.findall(edit.replace + "\n" + edit.reason)}
        - known
    )
    if terms:
        yield Signal("promotion", 1.0, {"terms": ", ".join(terms[:5])})


def _terms(phrases: Iterable[str]) -> re.Pattern[str]:
    """Return a pattern matching any phrase; Chinese anywhere, others on word boundaries."""
    parts = []
    for term in sorted(phrases, key=len, reverse=True):
        # Chinese has no spaces and a sign such as "™" sticks to its word: match anywhere.
        if all(
            unicodedata.name(char, "").startswith("CJK") or not char.isalnum() for char in term
        ) and not term.startswith("#"):
            parts.append(re.escape(term))
        else:
            parts.append(r"(?<!\w)" + re.escape(term) + r"(?![^\W_])")
    return re.compile("|".join(parts), re.IGNORECASE)


_APPS = _terms(MESSAGING_APPS)
_APP_ID = re.compile(
    r"(?:" + _APPS.pattern + r")\s*[:\uff1a]?\s*([A-Za-z0-9_.@-]{4,})", re.IGNORECASE
)
_CONTACT = _terms(CONTACT_PHRASES)
_SALES = _terms(SALES_TERMS)
_PRAISE = _terms(PRAISE)
# Short words every text has; they say nothing about its topic.
_STOPWORDS = frozenset(
    " ".join(
        (
            "the and for you are was but not with this that have has from they your our its",
            "los las del por con una que como para más les des est une pour dans sur pas qui",
            "het een van zijn niet met dat die voor ook maar",
            "على إلى من في عن هذا هذه التي الذي كان مع",
        )
    ).split()
)


def _is_cjk(char: str) -> bool:
    return unicodedata.name(char, "").startswith(("CJK", "HIRAGANA", "KATAKANA"))


def _tokens(text: str) -> list[str]:
    """Return the casefolded words of `text`; each Chinese or Japanese character is one."""
    tokens: list[str] = []
    word: list[str] = []
    for char in unicodedata.normalize("NFC", text).casefold():
        category = unicodedata.category(char)
        # Devanagari and Telugu vowel signs are marks, not letters: they stay in the word.
        if category[0] == "L" and not _is_cjk(char):
            word.append(char)
            continue
        if word and (category[0] == "M" or char in "\u200c\u200d"):
            word.append(char)
            continue
        if word:
            tokens.append("".join(word))
            word = []
        if _is_cjk(char):
            tokens.append(char)
    if word:
        tokens.append("".join(word))
    return tokens


def _prose(text: str) -> str:
    """Return `text` without links and code, which carry no words of its topic."""
    text = _CODE.sub(" ", text)
    text = "\n".join(line for line in text.splitlines() if not _CODE_LINE.match(line))
    return _BARE_DOMAIN.sub(" ", _URL.sub(" ", text))


def _grams(text: str, size: int = 3) -> set[str]:
    """Return the character n-grams inside the words of `text`."""
    grams: set[str] = set()
    for token in _tokens(text):
        padded = f" {token} "
        grams.update(padded[i : i + size] for i in range(len(padded) - size + 1))
    return grams


def _content(tokens: list[str]) -> tuple[list[str], list[str]]:
    """Return the content words (no CJK) and the CJK bigrams of a token list."""
    # Vowel signs are marks: "लिए" is two letters, a function word like "the".
    words = [
        token
        for token in tokens
        if not _is_cjk(token[0])
        and sum(unicodedata.category(char)[0] == "L" for char in token) >= 3
        and token not in _STOPWORDS
    ]
    bigrams = [a + b for a, b in itertools.pairwise(tokens) if _is_cjk(a[0]) and _is_cjk(b[0])]
    return words, bigrams


def _off_topic(edit: SpamInput) -> Iterable[Signal]:
    tokens = _tokens(_prose(edit.replace))
    find = _tokens(_prose(edit.find))
    # An edit that keeps the passage and adds to it is judged on what it adds, and only
    # hints: an explanation brings words the lesson never used.
    keeps = bool(find) and set(find) <= set(tokens)
    if keeps:
        for token in find:
            if token in tokens:
                tokens.remove(token)
    words, bigrams = _content(tokens)
    cjk = sum(1 for token in tokens if _is_cjk(token[0]))
    if len(words) < 2 and cjk < _TOPIC_CJK_CHARS:
        return
    lesson = _lesson(edit.lesson_text)
    known_words = lesson.known_words | set(find)
    # A word of the lesson with another ending ("duplicate", "duplicates") is still on it.
    stems = lesson.stems | {word[:5] for word in find if len(word) >= 5}
    known_bigrams = lesson.bigrams | set(_content(find)[1])
    seen = sum(1 for word in words if word in known_words or word[:5] in stems)
    seen += sum(1 for bigram in bigrams if bigram in known_bigrams)
    total = len(words) + len(bigrams)
    share = seen / max(total, 1)
    if keeps:
        if seen == 0 and total >= _TOPIC_ADDED:
            yield Signal("off_topic", 0.4, {"share": f"{share:.0%}"})
        return
    # A fixed typo or a reworded passage shares character n-grams with what it replaces.
    new_grams = _grams(edit.replace)
    kept = len(new_grams & _grams(edit.find)) / max(len(new_grams), 1)
    enough = len(words) >= _TOPIC_WORDS or cjk >= _TOPIC_CJK_CHARS
    # Two new words for a whole sentence: a swap, unless they are the lesson's own.
    swap = len(words) == 2 and len(_content(find)[0]) >= 3 and seen == 0
    if share < _TOPIC_SHARE and kept < _TOPIC_TRIGRAMS and (enough or swap):
        yield Signal("off_topic", 1.0, {"share": f"{share:.0%}"})


def _nonsense(edit: SpamInput) -> Iterable[Signal]:
    text = _prose(edit.replace).casefold()
    runs = [
        match.group(0)
        for match in re.finditer(r"([^\W\d_])\1{3,}|([^\W\d_]{1,3}?)\2{2,}", text)
        if not _in_lesson(match.group(0), edit, folded=True)
    ]
    # Chinese repeats a character for emphasis ("看看"), but three in a row is a shout.
    runs = [run for run in runs if len(run) >= 4 or _is_cjk(run[0])]
    tokens = _tokens(text)
    find = set(_tokens(edit.find))
    filler = bool(tokens) and all(_filler(token) for token in _runs(tokens))
    filler = filler and not (set(tokens) & find)
    repeated = (
        len(tokens) >= 4 and len(set(tokens)) / len(tokens) <= 0.34 and not set(tokens) <= find
    )
    # Only signs or emoji where the passage had words: a reaction, not an edit.
    signs = bool(edit.replace.strip()) and not any(char.isalnum() for char in edit.replace)
    signs = signs and any(char.isalpha() for char in edit.find)
    if signs:
        runs = [" ".join(edit.replace.split())]
    if runs or filler or repeated or signs:
        sample = ", ".join(runs[:3]) if runs else " ".join(_runs(tokens)[:6])
        yield Signal("nonsense", 1.0, {"words": sample[:60]})


def _runs(tokens: list[str]) -> list[str]:
    """Return the tokens with each run of Chinese characters joined back into one."""
    joined: list[str] = []
    for token in tokens:
        if joined and _is_cjk(token[0]) and _is_cjk(joined[-1][-1]):
            joined[-1] += token
        else:
            joined.append(token)
    return joined


def _filler(token: str) -> bool:
    """Tell whether a word is a test, a laugh or a greeting, however often repeated."""
    if token in FILLER:
        return True
    units = (*FILLER, *_LAUGH_UNITS)
    return any(
        len(token) % len(unit) == 0 and unit * (len(token) // len(unit)) == token for unit in units
    )


def _foreign_letters(edit: SpamInput) -> Iterable[Signal]:
    language = edit.locale.split("-")[0].split("_")[0].lower()
    latin_locale = language not in _LOCALE_SCRIPTS
    lesson = _lesson(edit.lesson_text).chars | set(edit.find)
    odd = [
        char
        for char in unicodedata.normalize("NFC", edit.replace)
        if script_of(char) == "LATIN"
        and not char.isascii()
        and char not in lesson
        and not (latin_locale and char in _COMMON_LATIN)
    ]
    if len(odd) >= _FOREIGN_LATIN_LETTERS:
        words = [word for word in edit.replace.split() if any(char in odd for char in word)]
        yield Signal("foreign_letters", 1.0, {"sample": " ".join(words)[:40]})


def _contact(edit: SpamInput) -> Iterable[Signal]:
    text = edit.replace + "\n" + edit.reason
    found: list[str] = []
    for match in _PHONE.finditer(text):
        digits = sum(char.isdigit() for char in match.group(0))
        # A decimal or an arXiv number ("2303.08774") is not a phone number.
        if re.fullmatch(r"\d+\.\d+", match.group(0).strip()):
            continue
        phone = digits >= 9 or (digits >= 7 and "+" in match.group(0))
        if phone and not _in_lesson(match.group(0), edit):
            found.append(match.group(0).strip())
    found += [m for m in _EMAIL.findall(text) if not _in_lesson(m, edit)]
    found += [m for m in _CONTACT.findall(text) if not _in_lesson(m.casefold(), edit, folded=True)]
    apps = [m for m in _APPS.findall(text) if not _in_lesson(m.casefold(), edit, folded=True)]
    handles = [m for m in _HANDLE.findall(text) if not _in_lesson(m, edit)]
    numbers = re.findall(r"\d{5,}", text)
    # "WeChat abc888", "Telegram: @deals": the app's name with the account right after it.
    handles += [
        m for m in _APP_ID.findall(text) if not _in_lesson(m, edit) and re.search(r"[\d@_]", m)
    ]
    if found or (apps and (handles or numbers)):
        yield Signal("contact_handle", 1.0, {"contact": ", ".join([*found, *apps, *handles][:3])})
    elif apps:
        yield Signal("contact_handle", 0.5, {"contact": ", ".join(apps[:3])})


def _new_terms(name: str, pattern: re.Pattern[str], edit: SpamInput) -> list[str]:
    known = _known_terms(name, pattern, edit)
    return sorted({match.casefold() for match in pattern.findall(edit.replace)} - known)


def _sales(edit: SpamInput) -> Iterable[Signal]:
    terms = _new_terms("sales", _SALES, edit)
    if terms:
        yield Signal("sales_pitch", min(1.0, 0.5 * len(terms)), {"terms": ", ".join(terms[:5])})


def _praise(edit: SpamInput) -> Iterable[Signal]:
    terms = _new_terms("praise", _PRAISE, edit)
    if not terms:
        return
    known = _known_domains(edit)
    linked = [host for host in domains(edit.replace) if host not in known]
    if linked:
        yield Signal("praise_with_link", 1.0, {"terms": terms[0], "domains": linked[0]})
    else:
        yield Signal("praise", 0.6, {"terms": ", ".join(terms[:3])})


def is_reference(host: str) -> bool:
    """Tell whether a domain is a well-known reference site (an encyclopedia, a manual)."""
    return any(host == site or host.endswith("." + site) for site in REFERENCE_DOMAINS)
