"""Suggested edits: find a pasted passage once, replace only it, refuse edits that break."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

import pytest

from bot.domain.edits import (
    AppliedEdit,
    EditError,
    Passage,
    apply_edit,
    apply_line_suggestion,
    changed_passage,
    closest_passage,
    fingerprint,
    front_matter_span,
    line_ending,
    lines_passage,
    passage_at,
    suggestion_blocks,
    unified_diff,
    validate_lesson,
)
from tests.conftest import SHARED

PATH = "programs/rust/lessons/en/ownership.mdx"
CORPUS = SHARED / "corpus" / "ai-courses"

LESSON = """---
title: "Ownership and Borrowing"
description: "Who frees the memory, and when"
order: 3
difficulty: intermediate
duration: 12
published: true
---

# Ownership and Borrowing

Every value in Rust has a single owner. When the owner goes out of scope, the value is
dropped and its memory is returned to the allocator.

<Callout>
Borrowing lets a function use a value without taking ownership of it: the caller's
"it's still mine" guarantee holds until the borrow ends.
</Callout>

A mutable borrow is exclusive - no other borrow may exist at the same time.

<Quiz question="What happens when the owner goes out of scope?"
  options="Nothing|The value is dropped|The program panics" answer="1" />

## Summary

Ownership keeps memory safe without a garbage collector.
"""


def lines_of(text: str) -> list[str]:
    """Return the lines of `text` with their endings, split at line breaks only."""
    return re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", text)


def assert_only_passage_changed(old: str, edit: AppliedEdit) -> None:
    """Check every byte outside the replaced span is kept."""
    assert edit.text == old[: edit.start] + edit.new_passage + old[edit.end :]
    assert old[edit.start : edit.end] == edit.old_passage


# apply_edit: matching


def test_plain_edit_replaces_exactly_the_passage() -> None:
    edit = apply_edit(LESSON, "single owner", "unique owner", path=PATH)
    assert edit.old_passage == "single owner"
    assert edit.new_passage == "unique owner"
    assert LESSON[edit.start : edit.end] == "single owner"
    assert "has a unique owner." in edit.text
    assert_only_passage_changed(LESSON, edit)


def test_paste_with_lf_matches_crlf_file_and_keeps_crlf() -> None:
    crlf = LESSON.replace("\n", "\r\n")
    find = "When the owner goes out of scope, the value is\ndropped and its memory"
    edit = apply_edit(crlf, find, "When the owner leaves scope,\nthe value is dropped", path=PATH)
    assert edit.old_passage == find.replace("\n", "\r\n")
    assert edit.new_passage == "When the owner leaves scope,\r\nthe value is dropped"
    assert_only_passage_changed(crlf, edit)
    # No bare LF sneaks in anywhere in the new file.
    assert "\n" not in edit.text.replace("\r\n", "")


def test_crlf_paste_matches_lf_file_and_writes_lf() -> None:
    find = "the value is\r\ndropped"
    edit = apply_edit(LESSON, find, "the value\r\nis dropped", path=PATH)
    assert edit.old_passage == "the value is\ndropped"
    assert edit.new_passage == "the value\nis dropped"
    assert "\r" not in edit.text


def test_cr_only_file_keeps_cr() -> None:
    text = "Intro line\rSecond line here\rLast line\r"
    edit = apply_edit(text, "Second line\nhere", "Second\nline", path=PATH)
    assert edit.text == "Intro line\rSecond\rline\rLast line\r"


def test_nfd_paste_matches_nfc_file() -> None:
    text = LESSON.replace("Summary", "Résumé café")
    assert unicodedata.is_normalized("NFC", text)
    find = unicodedata.normalize("NFD", "Résumé café")
    assert find != "Résumé café"
    edit = apply_edit(text, find, unicodedata.normalize("NFD", "Résumé du café"), path=PATH)
    assert edit.old_passage == "Résumé café"
    # The file is NFC, so the replacement is written NFC too.
    assert edit.new_passage == "Résumé du café"
    assert_only_passage_changed(text, edit)


def test_nfc_paste_matches_nfd_file_without_splitting_accents() -> None:
    text = unicodedata.normalize("NFD", "Le café est prêt.\nLa crème aussi.\n")
    edit = apply_edit(text, "café est prêt", "thé est prêt", path=PATH)
    assert edit.old_passage == unicodedata.normalize("NFD", "café est prêt")
    assert edit.text.endswith(unicodedata.normalize("NFD", "La crème aussi.\n"))


def test_unaccented_paste_does_not_match_accented_letter() -> None:
    text = "Le café est prêt.\n"
    with pytest.raises(EditError) as caught:
        apply_edit(text, "Le cafe", "Le thé", path=PATH)
    assert caught.value.code == "not_found"
    nfd = unicodedata.normalize("NFD", text)
    with pytest.raises(EditError) as caught:
        apply_edit(nfd, "Le cafe", "Le thé", path=PATH)
    assert caught.value.code == "not_found"


def test_smart_quotes_in_paste_match_straight_quotes_in_file() -> None:
    find = "the caller\u2019s\n\u201cit\u2019s still mine\u201d guarantee"
    edit = apply_edit(LESSON, find, 'the caller\'s "it is still mine" guarantee', path=PATH)
    assert edit.old_passage == "the caller's\n\"it's still mine\" guarantee"
    assert_only_passage_changed(LESSON, edit)


def test_straight_quotes_in_paste_match_smart_quotes_in_file() -> None:
    text = "Il a dit \u00abbonjour\u00bb et \u201cau revoir\u201d.\n"
    edit = apply_edit(text, 'dit "bonjour" et "au revoir"', "dit salut", path=PATH)
    assert edit.old_passage == "dit \u00abbonjour\u00bb et \u201cau revoir\u201d"
    assert edit.text == "Il a dit salut.\n"


def test_dashes_and_nbsp_match() -> None:
    find = "exclusive \u2014 no\u00a0other borrow"
    edit = apply_edit(LESSON, find, "exclusive: no other borrow", path=PATH)
    assert edit.old_passage == "exclusive - no other borrow"


def test_whitespace_runs_tabs_and_surrounding_blanks_are_ignored() -> None:
    find = "  \n Every   value\tin\n\nRust   has a single owner.  \n"
    edit = apply_edit(LESSON, find, "Each value has one owner.\n", path=PATH)
    assert edit.old_passage == "Every value in Rust has a single owner."
    # The form's final newline is not written: the line keeps its own ending.
    assert edit.new_passage == "Each value has one owner."
    assert_only_passage_changed(LESSON, edit)


def test_bom_and_missing_final_newline_are_preserved() -> None:
    text = "\ufeff" + LESSON.rstrip("\n")
    edit = apply_edit(text, "garbage collector.", "tracing garbage collector.", path=PATH)
    assert edit.text.startswith("\ufeff---\n")
    assert edit.text.endswith("tracing garbage collector.")
    assert_only_passage_changed(text, edit)


def test_rest_of_file_is_not_normalized() -> None:
    # Mixed endings, NFD and smart quotes elsewhere in the file stay as they are.
    text = "A \u201cquoted\u201d line\r\nplain line\nCafe\u0301 line\n"
    edit = apply_edit(text, "plain line", "edited line", path=PATH)
    assert edit.text == "A \u201cquoted\u201d line\r\nedited line\nCafe\u0301 line\n"


def test_multiline_replacement_uses_file_endings() -> None:
    crlf = LESSON.replace("\n", "\r\n")
    edit = apply_edit(crlf, "## Summary", "## Summary\n\nIn short:", path=PATH)
    assert edit.new_passage == "## Summary\r\n\r\nIn short:"
    assert_only_passage_changed(crlf, edit)


def test_empty_replacement_deletes_the_passage() -> None:
    edit = apply_edit(LESSON, " When the owner goes out of scope,", "", path=PATH)
    assert "single owner.  the value" not in edit.text
    assert "single owner. the value is" in edit.text
    assert edit.old_passage == "When the owner goes out of scope, "
    assert_only_passage_changed(LESSON, edit)
    at_line_end = apply_edit(LESSON, "the value is", "", path=PATH)
    assert "out of scope,\ndropped" in at_line_end.text


# apply_edit: refusals


@pytest.mark.parametrize("find", ["", "   ", "\n\t\r\n", "\u00a0"])
def test_empty_find_is_refused(find: str) -> None:
    with pytest.raises(EditError) as caught:
        apply_edit(LESSON, find, "anything", path=PATH)
    assert caught.value.code == "find_empty"


def test_ambiguous_find_reports_count_and_first_context() -> None:
    with pytest.raises(EditError) as caught:
        apply_edit(LESSON, "borrow", "loan", path=PATH)
    error = caught.value
    assert error.code == "ambiguous"
    assert error.count == LESSON.count("borrow")
    assert error.count >= 3
    assert error.closest is not None
    # Matching is case-sensitive: `Borrowing` is not one of them.
    assert "until the borrow ends" in error.closest
    assert len(error.closest) <= 200


def test_ambiguous_counts_variants_of_the_same_text() -> None:
    text = 'Say \u201chi\u201d here.\nSay "hi" there.\n'
    with pytest.raises(EditError) as caught:
        apply_edit(text, 'Say "hi"', "Say hello", path=PATH)
    assert (caught.value.code, caught.value.count) == ("ambiguous", 2)


def test_not_found_offers_the_closest_passage() -> None:
    find = "Every valeu in Rust has one single ownr."
    with pytest.raises(EditError) as caught:
        apply_edit(LESSON, find, "x", path=PATH)
    error = caught.value
    assert (error.code, error.count) == ("not_found", 0)
    assert error.closest is not None
    assert error.closest.startswith("Every value in Rust has a single owner.")
    assert len(error.closest) <= 200


def test_not_found_with_nothing_alike_has_no_closest() -> None:
    with pytest.raises(EditError) as caught:
        apply_edit(LESSON, "zzzz qqqq xxxx", "x", path=PATH)
    assert caught.value.code == "not_found"
    assert caught.value.closest is None


def test_closest_passage_finds_a_sentence_inside_a_long_line() -> None:
    long_line = " ".join(f"Filler sentence number {n} about nothing." for n in range(40))
    text = long_line + " The borrow checker rejects dangling references. " + long_line
    closest = closest_passage(text, "the borrow checker rejects dangling pointers")
    assert closest == "The borrow checker rejects dangling references."


def test_closest_passage_is_cut_to_200_characters() -> None:
    sentence = "This lesson talks about " + "very " * 60 + "long sentences"
    text = f"Intro.\n\n{sentence}\n\nOutro.\n"
    closest = closest_passage(text, sentence.replace("talks", "tallks"))
    assert closest is not None
    assert len(closest) == 200
    assert closest.startswith("This lesson talks about very very")
    assert closest.endswith("…")


def test_no_change_is_refused() -> None:
    with pytest.raises(EditError) as caught:
        apply_edit(LESSON, "single owner", "single owner", path=PATH)
    assert caught.value.code == "no_change"


def test_too_large_is_refused() -> None:
    with pytest.raises(EditError) as caught:
        apply_edit(LESSON, "single owner", "x" * 50_000, path=PATH)
    assert caught.value.code == "too_large"


def test_front_matter_edit_is_refused_unless_allowed() -> None:
    find = 'title: "Ownership and Borrowing"'
    with pytest.raises(EditError) as caught:
        apply_edit(LESSON, find, 'title: "Ownership"', path=PATH)
    assert caught.value.code == "front_matter"
    edit = apply_edit(LESSON, find, 'title: "Ownership"', path=PATH, allow_front_matter=True)
    assert edit.text.startswith('---\ntitle: "Ownership"\n')


def test_passage_straddling_the_closing_fence_is_refused() -> None:
    with pytest.raises(EditError) as caught:
        apply_edit(LESSON, "published: true\n---\n\n# Ownership", "# Ownership", path=PATH)
    assert caught.value.code == "front_matter"


def test_byte_order_mark_is_part_of_the_protected_front_matter() -> None:
    text = "\ufeff" + LESSON
    with pytest.raises(EditError) as caught:
        apply_edit(text, "\ufeff", "", path=PATH)
    assert caught.value.code == "front_matter"
    edit = apply_edit(text, "\ufeff", "", path=PATH, allow_front_matter=True)
    assert edit.text == LESSON


def test_front_matter_of_crlf_file_is_protected() -> None:
    crlf = LESSON.replace("\n", "\r\n")
    span = front_matter_span(crlf)
    assert span is not None
    assert crlf[span[0] : span[1]].endswith("---")
    with pytest.raises(EditError) as caught:
        apply_edit(crlf, "duration: 12", "duration: 15", path=PATH)
    assert caught.value.code == "front_matter"


def test_title_repeated_as_heading_edits_the_heading() -> None:
    edit = apply_edit(LESSON, "Ownership and Borrowing", "Ownership", path=PATH)
    assert edit.text.startswith('---\ntitle: "Ownership and Borrowing"\n')
    assert "\n# Ownership\n" in edit.text
    with pytest.raises(EditError) as caught:
        apply_edit(
            LESSON, "Ownership and Borrowing", "Ownership", path=PATH, allow_front_matter=True
        )
    assert (caught.value.code, caught.value.count) == ("ambiguous", 2)


def test_text_after_the_front_matter_is_editable() -> None:
    edit = apply_edit(LESSON, "# Ownership and Borrowing", "# Ownership", path=PATH)
    assert 'title: "Ownership and Borrowing"' in edit.text
    assert "\n# Ownership\n" in edit.text


def test_quiz_answer_out_of_range_is_refused() -> None:
    with pytest.raises(EditError) as caught:
        apply_edit(LESSON, 'answer="1"', 'answer="7"', path=PATH)
    assert caught.value.code == "breaks_lesson"
    assert caught.value.problems == ("quiz_answer_out_of_range",)


def test_removing_a_closing_tag_is_refused() -> None:
    find = "the borrow ends.\n</Callout>"
    with pytest.raises(EditError) as caught:
        apply_edit(LESSON, find, "the borrow ends.", path=PATH)
    assert caught.value.code == "breaks_lesson"
    assert "tag_never_closed" in caught.value.problems
    # Each added problem keeps its line, so a person can be told where.
    [never_closed] = [p for p in caught.value.found if p.code == "tag_never_closed"]
    assert LESSON.splitlines()[never_closed.line - 1].startswith("<Callout")


def test_breaking_the_quiz_tag_is_refused() -> None:
    with pytest.raises(EditError) as caught:
        apply_edit(LESSON, 'answer="1" />', 'answer="1"', path=PATH)
    assert caught.value.code == "breaks_lesson"
    assert caught.value.problems


def test_emptying_a_required_key_is_refused_even_when_allowed() -> None:
    with pytest.raises(EditError) as caught:
        apply_edit(
            LESSON,
            'description: "Who frees the memory, and when"',
            "",
            path=PATH,
            allow_front_matter=True,
        )
    assert caught.value.code == "breaks_lesson"
    assert caught.value.problems == ("key_missing",)


def test_pre_existing_problems_do_not_block() -> None:
    broken = LESSON.replace('answer="1"', 'answer="9"')
    assert "quiz_answer_out_of_range" in validate_lesson(PATH, broken)
    edit = apply_edit(broken, "single owner", "unique owner", path=PATH)
    assert "unique owner" in edit.text


def test_a_second_problem_of_an_existing_kind_blocks() -> None:
    broken = LESSON.replace("</Callout>\n", "")
    assert validate_lesson(PATH, broken).count("tag_never_closed") == 1
    with pytest.raises(EditError) as caught:
        apply_edit(broken, "## Summary", "<Aside>\n## Summary", path=PATH)
    assert caught.value.problems == ("tag_never_closed",)


def test_validate_lesson_of_a_clean_lesson_is_empty() -> None:
    assert validate_lesson(PATH, LESSON) == ()
    assert validate_lesson(PATH, LESSON.replace("---\n", "", 1)) == ("front_matter_missing",)


def test_edit_error_defaults() -> None:
    error = EditError("no_change")
    assert (error.code, error.count, error.closest, error.problems) == ("no_change", 0, None, ())
    assert str(error) == "no_change"


# unified_diff


def test_unified_diff_shows_the_change_with_git_headers() -> None:
    edit = apply_edit(LESSON, "single owner", "unique owner", path=PATH)
    diff = unified_diff(LESSON, edit.text, PATH, context=1)
    lines = diff.splitlines()
    assert lines[0] == f"--- a/{PATH}"
    assert lines[1] == f"+++ b/{PATH}"
    assert lines[2].startswith("@@ -")
    assert (
        "-Every value in Rust has a single owner. When the owner goes out of scope, the value is"
        in lines
    )
    assert (
        "+Every value in Rust has a unique owner. When the owner goes out of scope, the value is"
        in lines
    )
    # One line of context either side.
    assert len([line for line in lines[3:] if line.startswith(" ")]) == 2


def test_unified_diff_of_crlf_files_has_no_carriage_returns() -> None:
    crlf = LESSON.replace("\n", "\r\n")
    new = crlf.replace("single owner", "unique owner")
    diff = unified_diff(crlf, new, PATH)
    assert "\r" not in diff
    assert "+Every value in Rust has a unique owner." in diff


def test_unified_diff_marks_missing_final_newline() -> None:
    diff = unified_diff("a\nb", "a\nc", PATH)
    assert diff.endswith("-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n")


def test_unified_diff_of_identical_texts_is_empty() -> None:
    assert unified_diff(LESSON, LESSON, PATH) == ""


# suggestion_blocks


def test_suggestion_blocks_multiple_in_order() -> None:
    body = (
        "Two options:\n\n```suggestion\nFirst line\nSecond line\n```\n\nor\n\n"
        "```suggestion\nOther text\n```\n\n```python\nnot a suggestion\n```\n"
    )
    assert suggestion_blocks(body) == ["First line\nSecond line\n", "Other text\n"]


def test_suggestion_block_with_four_backticks_may_hold_a_code_fence() -> None:
    body = "````suggestion\n```rust\nlet x = 5;\n```\n````\n"
    assert suggestion_blocks(body) == ["```rust\nlet x = 5;\n```\n"]


def test_suggestion_blocks_from_crlf_comment() -> None:
    body = "Fix:\r\n```suggestion\r\nBetter wording\r\n```\r\nthanks"
    assert suggestion_blocks(body) == ["Better wording\n"]


def test_empty_suggestion_block_means_delete_and_blank_line_is_kept() -> None:
    assert suggestion_blocks("```suggestion\n```") == [""]
    assert suggestion_blocks("```suggestion\n\n```") == ["\n"]


def test_no_suggestion_blocks() -> None:
    assert suggestion_blocks("Looks good to me!\n```\ncode\n```") == []
    assert suggestion_blocks("") == []


# apply_line_suggestion


def test_line_suggestion_keeps_crlf() -> None:
    text = "one\r\ntwo\r\nthree\r\nfour\r\n"
    block = suggestion_blocks("```suggestion\nTWO\nand a half\n```")[0]
    assert apply_line_suggestion(text, 2, 3, block) == "one\r\nTWO\r\nand a half\r\nfour\r\n"


def test_line_suggestion_single_line_lf() -> None:
    text = "one\ntwo\nthree\n"
    assert apply_line_suggestion(text, 2, 2, "2") == "one\n2\nthree\n"
    assert apply_line_suggestion(text, 2, 2, "2\n") == "one\n2\nthree\n"


def test_line_suggestion_empty_deletes_and_blank_line_replaces() -> None:
    text = "one\ntwo\nthree\n"
    assert apply_line_suggestion(text, 2, 2, "") == "one\nthree\n"
    assert apply_line_suggestion(text, 1, 2, "\n") == "\nthree\n"


def test_line_suggestion_on_last_line_without_newline() -> None:
    text = "one\r\ntwo"
    assert apply_line_suggestion(text, 2, 2, "TWO\n") == "one\r\nTWO"
    assert apply_line_suggestion(text, 1, 2, "only\n") == "only"


def test_line_suggestion_only_splits_at_line_breaks() -> None:
    # A form feed or line separator inside a line is not a line break for git.
    text = "a\u2028b\nc\x0cd\ne\n"
    assert apply_line_suggestion(text, 2, 2, "C") == "a\u2028b\nC\ne\n"


@pytest.mark.parametrize(("start", "end"), [(0, 1), (2, 1), (1, 4), (4, 4)])
def test_line_suggestion_out_of_range_is_refused(start: int, end: int) -> None:
    with pytest.raises(EditError) as caught:
        apply_line_suggestion("one\ntwo\nthree\n", start, end, "x")
    assert caught.value.code == "not_found"


def test_line_ending_picks_dominant_style() -> None:
    assert line_ending("a\r\nb\r\nc\n") == "\r\n"
    assert line_ending("a\nb\nc\r\n") == "\n"
    assert line_ending("a\rb\r") == "\r"
    assert line_ending("no newline") == "\n"


# fingerprint


def test_fingerprint_ignores_whitespace_quotes_and_normalization() -> None:
    base = fingerprint("rust/ownership", "en", 'the caller\'s "guarantee"', "it's done")
    assert base == fingerprint(
        " rust/ownership ", "en", "  the  caller\u2019s\n\u201cguarantee\u201d ", "it\u2019s done\n"
    )
    assert fingerprint("l", "fr", "caf\u00e9", "th\u00e9") == fingerprint(
        "l", "fr", "cafe\u0301", "the\u0301"
    )
    assert re.fullmatch(r"[0-9a-f]{64}", base)
    assert len(hashlib.sha256().hexdigest()) == len(base)


def test_fingerprint_differs_when_the_edit_differs() -> None:
    base = fingerprint("rust/ownership", "en", "find", "replace")
    assert base != fingerprint("rust/ownership", "es", "find", "replace")
    assert base != fingerprint("rust/borrowing", "en", "find", "replace")
    assert base != fingerprint("rust/ownership", "en", "find", "replaced")
    # Fields do not run into each other.
    assert fingerprint("a", "b", "cd", "e") != fingerprint("a", "b", "c", "de")


# Real lessons


def _corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("programs/*/lessons/*/*.mdx"))


_PROSE = re.compile(r"[^\W\d_][^<>{}`|*_\[\]#$\\=\"]{30,}")


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"shared corpus not present at {CORPUS}")
def test_every_corpus_lesson_takes_an_edit_that_keeps_all_other_bytes() -> None:
    files = _corpus_files()
    assert files
    edited = 0
    for file in files:
        data = file.read_bytes()
        text = data.decode("utf-8")
        relative = file.relative_to(CORPUS).as_posix()
        header = front_matter_span(text)
        body_start = header[1] if header else 0
        for line in lines_of(text[body_start:]):
            sentence = line.strip()
            if not _PROSE.fullmatch(sentence):
                continue
            try:
                edit = apply_edit(text, sentence, sentence + " (edited)", path=relative)
            except EditError as error:
                assert error.code == "ambiguous", (relative, sentence, error.code)
                continue
            assert edit.old_passage == sentence, relative
            assert_only_passage_changed(text, edit)
            new_bytes = edit.text.encode("utf-8")
            prefix = text[: edit.start].encode("utf-8")
            suffix = text[edit.end :].encode("utf-8")
            assert new_bytes.startswith(prefix) and new_bytes.endswith(suffix), relative
            assert data == prefix + sentence.encode("utf-8") + suffix
            edited += 1
            break
    # Nearly every lesson has a plain sentence; a few may be all components or code.
    assert edited >= len(files) * 0.9


def test_a_changed_passage_is_the_new_lines_found_once_in_the_new_text() -> None:
    old = "# Title\n\nFirst line.\nSecond line.\nThird line.\n"
    new = old.replace("Second line.", "Second, better line.")
    assert changed_passage(old, new) == Passage("Second, better line.", 4)
    assert changed_passage(old, old) is None
    # Lines that read more than once, or none left (a deletion), take their neighbours.
    repeated = "A.\nSame.\nB.\nSame.\n"
    assert changed_passage(repeated, repeated.replace("B.", "Same.")) == Passage(
        "Same.\nSame.\nSame.", 2
    )
    assert changed_passage(old, old.replace("Second line.\n", "")) == Passage(
        "First line.\nThird line.", 3
    )
    # Line endings are the file's; the passage ends without one.
    crlf = "One.\r\nTwo.\r\n"
    assert changed_passage(crlf, crlf.replace("Two.", "Deux.")) == Passage("Deux.", 2)


def test_a_passage_is_found_by_lines_or_by_characters() -> None:
    text = "a\nhello world\nc\n"
    assert lines_passage(text, 2, 1) == Passage("hello world", 2)
    start = text.index("world")
    assert passage_at(text, start, start + 5) == Passage("hello world", 2)
