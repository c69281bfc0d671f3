"""Properties of the edit engine over generated lessons: only the passage changes, never a
lesson that fails its checks, and a refusal is always an EditError that says why."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from bot.domain.checks import check_lesson_text
from bot.domain.edits import EditError, _fold_query, apply_edit, line_ending

PATH = "programs/ai/lessons/en/generated.mdx"
# Every code apply_edit documents (see EditError and its raise sites).
REFUSALS = {
    "too_large",
    "find_empty",
    "not_found",
    "front_matter",
    "ambiguous",
    "no_change",
    "breaks_lesson",
}
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Scripts the site's eight locales are written in, plus what people paste: accents both
# composed and decomposed, curly quotes and dashes, no-break spaces, emoji.
_LETTERS = st.sampled_from(
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    + list("éèçñüÉ")
    + ["e\u0301", "n\u0303"]
    + list("مرحبا بالعالم")  # Arabic, right to left
    + list("שלום")  # Hebrew, right to left
    + list("你好世界学习。\uff0c")  # CJK with its own punctuation
    + list("नमस्ते")  # Devanagari
    + list("తెలుగు")  # Telugu
    + list("\u2018\u2019\u201c\u201d\u2013\u2014\u00a0\u200f")
    + ["🙂", "👩‍💻"]
)
_PUNCTUATION = st.sampled_from(list(" .,;:!?'\"-()*_"))
_WORD = st.lists(_LETTERS, min_size=1, max_size=8).map("".join)
_SENTENCE = st.lists(st.one_of(_WORD, _PUNCTUATION), min_size=1, max_size=12).map(
    lambda parts: " ".join(parts).strip() or "x"
)


def _heading(draw: st.DrawFn) -> str:
    return "#" * draw(st.integers(1, 4)) + " " + draw(_SENTENCE)


def _list(draw: st.DrawFn) -> str:
    marker = draw(st.sampled_from(["-", "*", "1."]))
    items = draw(st.lists(_SENTENCE, min_size=1, max_size=4))
    return "\n".join(f"{marker} {item}" for item in items)


def _code(draw: st.DrawFn) -> str:
    # Code may hold what would be a broken tag outside it: the checks must skip it.
    inside = draw(st.lists(st.one_of(_SENTENCE, st.just("<Quiz question=")), max_size=3))
    return "```python\n" + "\n".join(inside) + "\n```"


def _quiz(draw: st.DrawFn) -> str:
    options = draw(st.lists(_WORD.filter(lambda word: "|" not in word), min_size=2, max_size=4))
    answer = draw(st.integers(0, len(options) - 1))
    question = draw(_SENTENCE).replace('"', "")
    return (
        f'<Quiz question="{question or "Why?"}"\n'
        f'  options="{"|".join(options)}" answer="{answer}" />'
    )


def _callout(draw: st.DrawFn) -> str:
    return "<Callout>\n" + draw(_SENTENCE) + "\n</Callout>"


@st.composite
def lessons(draw: st.DrawFn) -> str:
    """Return a lesson file that passes its checks: front matter and a varied MDX body."""
    title = draw(_WORD.filter(str.strip))
    blocks = [f"# {title}"]
    for _ in range(draw(st.integers(1, 7))):
        kind = draw(st.sampled_from(["p", "p", "h", "list", "code", "quiz", "callout"]))
        builder = {"h": _heading, "list": _list, "code": _code, "quiz": _quiz}.get(kind)
        if kind == "callout":
            blocks.append(_callout(draw))
        elif builder is None:
            blocks.append(draw(_SENTENCE))
        else:
            blocks.append(builder(draw))
    text = (
        "---\n"
        f'title: "{title}"\n'
        'description: "A generated lesson"\n'
        f"order: {draw(st.integers(1, 99))}\n"
        "---\n\n" + "\n\n".join(blocks) + "\n"
    )
    text = text.replace("\n", draw(st.sampled_from(["\n", "\r\n"])))
    # Some editors save a byte order mark first.
    return ("\ufeff" if draw(st.integers(0, 9)) == 0 else "") + text


# What a replacement may hold, including what breaks lessons when it lands in the wrong place.
_REPLACEMENT = st.lists(
    st.one_of(
        _SENTENCE,
        st.sampled_from(
            [
                "\n",
                "\r\n",
                "\n\n",
                "---",
                "<Callout>",
                "</Callout>",
                "</Quiz>",
                "<Quiz />",
                '<Quiz question="Q" options="a|b" answer="7" />',
                "<Note",
                "{",
                "}",
                "`",
                "```",
                "|",
                '"',
                "  ",
            ]
        ),
    ),
    max_size=6,
).map("".join)


@st.composite
def edits(draw: st.DrawFn) -> tuple[str, str, str, bool]:
    """Return a lesson, a passage of it as someone might paste it, its replacement, and
    whether the front matter may change."""
    text = draw(lessons())
    allow_front_matter = draw(st.booleans())
    # Mostly from the body; from anywhere (the front matter too) the rest of the time.
    body_start = 0 if draw(st.integers(0, 3)) == 0 else text.index("---", 3) + 3
    start = draw(st.integers(body_start, len(text) - 1))
    end = draw(st.integers(start + 1, min(len(text), start + 80)))
    find = text[start:end]
    if draw(st.booleans()):
        # Pasted from a page: other line breaks and spacing.
        find = re.sub(r"\r?\n", draw(st.sampled_from([" ", "\n", "\r\n"])), find)
    return text, find, draw(_REPLACEMENT), allow_front_matter


def _expected_passage(replace: str, text: str) -> str:
    """Return the replacement as the file should hold it: its line endings, its form."""
    passage = line_ending(text).join(re.split(r"\r\n|\r|\n", replace.strip()))
    if unicodedata.is_normalized("NFC", text):
        passage = unicodedata.normalize("NFC", passage)
    return passage


@SETTINGS
@given(lessons())
def test_generated_lessons_pass_their_checks(text: str) -> None:
    assert check_lesson_text(PATH, text) == []


@SETTINGS
@given(edits())
@example(
    (
        '---\ntitle: "A"\ndescription: "B"\norder: 1\n---\n\n# A\n\nsome text here\n',
        "text",
        "</Callout>",
        False,
    )
)
def test_an_edit_changes_only_its_passage_and_never_breaks_the_lesson(
    case: tuple[str, str, str, bool],
) -> None:
    text, find, replace, allow_front_matter = case
    passed = not check_lesson_text(PATH, text)
    try:
        edit = apply_edit(text, find, replace, path=PATH, allow_front_matter=allow_front_matter)
    except EditError as error:
        event(error.code)
        assert error.code in REFUSALS
        if error.code == "breaks_lesson":
            assert error.found  # says which problems, so the person can fix them
        return
    event("applied")
    # Every byte before and after the passage is the original's.
    assert edit.text[: edit.start] == text[: edit.start]
    assert edit.text[len(edit.text) - (len(text) - edit.end) :] == text[edit.end :]
    assert edit.text == text[: edit.start] + edit.new_passage + text[edit.end :]
    assert text[edit.start : edit.end] == edit.old_passage
    # The passage replaced is the one asked for, and it now reads as the replacement says.
    assert _fold_query(edit.old_passage) == _fold_query(find)
    expected = _expected_passage(replace, text)
    assert edit.new_passage == expected
    if expected == "":
        # A deletion takes one space beside it at most, never text.
        assert edit.old_passage.strip(" \t") == edit.old_passage.strip()
    # The front matter is never touched unless allowed.
    header_end = text.index("---", 3) + 3
    assert allow_front_matter or edit.start >= header_end
    if passed:
        assert check_lesson_text(PATH, edit.text) == []


@SETTINGS
@given(lessons(), st.text(max_size=40), st.text(max_size=40))
def test_any_pasted_text_is_applied_or_refused_with_a_reason(
    text: str, find: str, replace: str
) -> None:
    try:
        edit = apply_edit(text, find, replace, path=PATH)
    except EditError as error:
        assert error.code in REFUSALS
        return
    assert edit.text == text[: edit.start] + edit.new_passage + text[edit.end :]
    assert check_lesson_text(PATH, edit.text) == []
