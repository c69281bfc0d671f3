"""The locale audit's checks: what a person must never meet in any of the served languages.

Each surface's test module (pages, emails, Discord) renders its outputs in every locale and
hands the text here. The checks are data-driven: the catalog's own keys and tables say what
a leaked key looks like, so strings added later are covered without touching this module.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser

from bot.i18n import DEFAULT_LOCALE, load_catalog

SERVED_LOCALES = ("en", "es", "ar", "zh", "fr", "hi", "nl", "te")
RTL = frozenset({"ar"})
FSI, PDI = "\u2068", "\u2069"

# Words that stay the same in every language: names of products and services, the
# abbreviations people read as such, and unit symbols. Kept small on purpose: anything
# else equal to its English rendering is an untranslated string.
PROPER_NOUNS = frozenset(
    {"lessonbot", "GitHub", "Discord", "SMTP", "UTC", "PR", "ID", "URL", "JSON", "API", "MDX"}
)
# Messages a language spells exactly as English does, because the word is its own (or an
# international loanword), not because nobody translated it. (locale, key) -> why.
SAME_AS_ENGLISH: dict[tuple[str, str], str] = {
    ("nl", "web_suggest.status_label"): "Dutch 'Status'",
    ("nl", "discord_suggest.status_field"): "Dutch 'Status'",
    ("nl", "cli_suggest.col_status"): "Dutch 'Status'",
    ("nl", "discord_suggest.status.open"): "Dutch 'Open'",
    ("nl", "discord_suggest.status.conflict"): "Dutch 'Conflict'",
    ("nl", "cli_suggest.show_find"): "Dutch 'Passage:'",
    ("nl", "doctor.what.database"): "Dutch 'database'",
    ("fr", "web_suggest.component.quiz"): "French 'Quiz'",
    ("nl", "web_suggest.component.quiz"): "Dutch 'Quiz'",
    ("fr", "web_suggest.component.illustration"): "French 'Illustration'",
    ("fr", "discord_suggest.status_title"): "French 'Suggestion {id} · {lesson}'",
    ("fr", "embed.heading"): "French 'Discussion'",
    # "min" and "h" are the SI unit symbols in these languages too.
    ("es", "jobs.duration_minutes"): "SI symbol",
    ("fr", "jobs.duration_minutes"): "SI symbol",
    ("nl", "jobs.duration_minutes"): "SI symbol",
    ("es", "jobs.duration_hours"): "SI symbols",
    ("fr", "jobs.duration_hours"): "SI symbols",
}
# Words a language spells as English does: a rendered segment equal to English is fine when
# these (and values, names of products, numbers) are all the words it has.
ALLOWED_WORDS: dict[str, frozenset[str]] = {
    "fr": frozenset({"Suggestion", "Quiz", "Illustration", "Discussion"}),
    # Babel's Dutch names of these languages are spelled as in English.
    "nl": frozenset({"Status", "Open", "Conflict", "Quiz", "Hindi", "Telugu"}),
}

# `attr={N}` is MDX a lesson author types (the lesson checks quote it), not a placeholder.
_PLACEHOLDER = re.compile(r"(?<!=)\{[A-Za-z_][A-Za-z0-9_]*\}")
_CODE = re.compile(r"(?<![\w/.@-])[a-z]+(?:_[a-z0-9]+)+(?![\w/@-])")
_REPR = re.compile(r"\b(?:None|True|False)\b|<[\w.]+ object at 0x|\[\]|\{\}|\(\)")
_ESCAPED = re.compile(r"\\u[0-9a-fA-F]{4}|\\x[0-9a-fA-F]{2}|\\n")
_DOUBLE_ESCAPED = re.compile(r"&amp;(?:[a-z]+|#[0-9]+|#x[0-9a-fA-F]+);")
_URL = re.compile(r"https?://\S+|\S+@\S+\.\w+")


@functools.cache
def catalog_keys() -> frozenset[str]:
    """Return every message key, and every table's dotted prefix, English has."""
    keys = set(load_catalog(DEFAULT_LOCALE).messages)
    tables = {key.rsplit(".", 1)[0] for key in keys}
    return frozenset(keys | tables)


@functools.cache
def _key_pattern() -> re.Pattern[str]:
    # A leaked key is a dotted path of the catalog's own (`web_suggest.status.open`), so
    # a domain name or a file name in a message is never mistaken for one.
    alternatives = sorted((key for key in catalog_keys() if "." in key), key=len, reverse=True)
    return re.compile(r"(?<![\w.])(?:" + "|".join(map(re.escape, alternatives)) + r")(?![\w])")


@dataclass
class Output:
    """One person-facing output: its name, its language, and its text segments."""

    name: str
    locale: str
    segments: list[str]
    data: Sequence[str] = ()
    problems: list[str] = field(default_factory=list)

    def flag(self, what: str, segment: str) -> None:
        """Record one problem."""
        self.problems.append(f"{self.name} [{self.locale}] {what}: {segment!r}")


def _without_data(segment: str, data: Iterable[str]) -> str:
    """Return a segment with the values people gave (names, titles, passages) blanked."""
    for value in sorted(data, key=len, reverse=True):
        if value:
            segment = segment.replace(value, " ")
    return _URL.sub(" ", segment)


def check_clean(output: Output) -> None:
    """Flag keys, leftover placeholders, internal codes, reprs and broken escapes."""
    keys = _key_pattern()
    for segment in output.segments:
        bare = _without_data(segment, output.data)
        if keys.search(bare):
            output.flag("a message key", segment)
        if _PLACEHOLDER.search(bare):
            output.flag("an unfilled placeholder", segment)
        if _CODE.search(bare):
            output.flag("an internal code", segment)
        if _REPR.search(bare):
            output.flag("a Python value", segment)
        if _ESCAPED.search(segment):
            output.flag("an escape sequence", segment)
        if _DOUBLE_ESCAPED.search(segment) or "&lt;" in segment or "&amp;" in segment:
            output.flag("an HTML entity shown as text", segment)
        if "lessonbot:" in segment or "<!--" in segment:
            output.flag("a bookkeeping marker", segment)


def _has_own_words(
    segment: str, data: Iterable[str], allowed: frozenset[str] = frozenset()
) -> bool:
    """Tell whether a segment holds words beyond values, names of products, numbers and
    the `allowed` words."""
    bare = _without_data(segment, data)
    words = re.findall(r"[^\W\d_]+", bare)
    return any(word not in PROPER_NOUNS and word not in allowed for word in words)


def check_translated(output: Output, english: Output) -> None:
    """Flag each segment that is the English rendering of the same output, word for word."""
    if output.locale == DEFAULT_LOCALE:
        return
    same = set(english.segments)
    allowed = ALLOWED_WORDS.get(output.locale, frozenset())
    for segment in output.segments:
        if segment in same and _has_own_words(segment, output.data, allowed):
            output.flag("English where a translation exists", segment)


def normalized(text: str) -> str:
    """Return text with its whitespace collapsed, as a reader sees it."""
    return " ".join(text.split())


def text_segments(text: str) -> list[str]:
    """Return a plain text's lines, each whitespace-collapsed, the empty ones dropped."""
    return [line for line in (normalized(raw) for raw in text.splitlines()) if line]


# --- HTML ------------------------------------------------------------------------------------

# What a person reads in attributes: labels for screen readers, tooltips, the copy notice.
_READ_ATTRIBUTES = ("aria-label", "title", "alt", "placeholder", "data-message")
_VOID = frozenset({"br", "hr", "img", "input", "link", "meta", "source", "wbr", "area", "col"})
# Text in these is data (the lesson, the passage a person typed), not the page's words.
_DATA_TAGS = frozenset({"article", "pre", "textarea", "script", "style"})


@dataclass
class Text:
    """One run of text in a page, with what encloses it."""

    text: str
    isolated: bool  # inside a <bdi>, an element with its own dir, or FSI...PDI
    data: bool  # inside an element holding data (the lesson, a passage)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool, bool]] = []
        self.texts: list[Text] = []
        self.root_dir = ""
        self.root_lang = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html":
            self.root_dir, self.root_lang = values.get("dir") or "", values.get("lang") or ""
            return
        isolated = tag == "bdi" or (tag != "body" and "dir" in values)
        # Words in another language than the page's (a language's own name, a lesson title)
        # are that language's, not the page's.
        lang = (values.get("lang") or "").split("-")[0]
        data = tag in _DATA_TAGS or bool(lang and lang != self.root_lang.split("-")[0])
        inside_iso = isolated or any(entry[1] for entry in self.stack)
        inside_data = data or any(entry[2] for entry in self.stack)
        for name in _READ_ATTRIBUTES:
            if values.get(name):
                self.texts.append(Text(values[name] or "", inside_iso, inside_data))
        if tag not in _VOID:
            self.stack.append((tag, isolated, data))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        if not data.strip():
            return
        isolated = any(entry[1] for entry in self.stack)
        inside_data = any(entry[2] for entry in self.stack)
        self.texts.append(Text(data, isolated, inside_data))


@dataclass
class Page:
    """A rendered HTML page, read as a person's browser shows it."""

    direction: str
    lang: str
    texts: list[Text]

    def segments(self) -> list[str]:
        """Return the page's own words (not the data it shows), whitespace-collapsed."""
        return [normalized(text.text) for text in self.texts if not text.data]

    def all_segments(self) -> list[str]:
        """Return every text run, data included."""
        return [normalized(text.text) for text in self.texts]


def read_page(document: str) -> Page:
    """Parse a page into its text runs."""
    reader = _Reader()
    reader.feed(document)
    reader.close()
    return Page(reader.root_dir, reader.root_lang, reader.texts)


def check_page_direction(output: Output, page: Page, values: Iterable[str]) -> None:
    """Flag a page in a right-to-left language without `dir="rtl"`, or with a value of
    another direction (a name, a title, an address) mixed into its sentences unisolated."""
    if output.locale not in RTL:
        if page.direction == "rtl":
            output.flag("a left-to-right page marked rtl", page.lang)
        return
    if page.direction != "rtl":
        output.flag('no dir="rtl" on the page', page.direction or "(none)")
    latin = [value for value in values if value and re.search(r"[A-Za-z0-9]", value)]
    for text in page.texts:
        if text.isolated or text.data:
            continue
        for value in latin:
            if value in text.text and not _between_isolates(text.text, value):
                if normalized(text.text) == normalized(value):
                    # Alone in its element, it takes no part in a sentence's order.
                    continue
                output.flag(f"{value!r} not isolated", normalized(text.text))


def _between_isolates(text: str, value: str) -> bool:
    start = text.find(value)
    while start != -1:
        before, after = text[:start], text[start + len(value) :]
        if not (before.endswith(FSI) and after.startswith(PDI)):
            return False
        start = text.find(value, start + 1)
    return True
