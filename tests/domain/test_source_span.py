"""Selections of a rendered lesson map back to the exact passage of its source."""

from __future__ import annotations

from bot.domain.edits import apply_edit
from bot.domain.source_span import MAX_SELECTION, locate, visible_text

SOURCE = """---
title: "Pipes"
---

# Pipes and *filters*

A pipe sends the **output of one** command to the next, as
the [shell manual](https://example.org/sh) explains.

- **Numbers**: `grep -c` counts lines
- Use snake_case names.

<Callout>
Pipes are “cheap”: the kernel buffers them.
</Callout>

<Quiz question="What is a pipe?" options="A|B" answer="0" />

Pipes are cheap.
"""
PATH = "programs/demo/lessons/en/pipes.mdx"


def test_a_sentence_with_bold_text_maps_to_its_markdown() -> None:
    span = locate(SOURCE, "A pipe sends the output of one command to the next, as")
    assert span is not None
    assert span.passage == "A pipe sends the **output of one** command to the next, as"
    assert span.matches == 1
    edited = apply_edit(SOURCE, span.passage, "A pipe sends output on.", path=PATH)
    assert edited.old_passage == span.passage


def test_selection_across_a_line_break_and_a_link_takes_the_whole_link() -> None:
    span = locate(SOURCE, "to the next, as the shell manual")
    assert span is not None
    assert span.passage == "to the next, as\nthe [shell manual](https://example.org/sh)"


def test_selection_starting_inside_bold_keeps_it_balanced() -> None:
    span = locate(SOURCE, "output of one command")
    assert span is not None
    assert span.passage == "**output of one** command"


def test_selection_ending_inside_bold_drops_the_lone_wrapper() -> None:
    span = locate(SOURCE, "sends the output")
    assert span is not None
    assert span.passage.count("**") % 2 == 0
    assert span.passage == "sends the **output of one**"


def test_inline_code_list_markers_and_snake_case() -> None:
    span = locate(SOURCE, "Numbers: grep -c counts lines")
    assert span is not None
    assert span.passage == "**Numbers**: `grep -c` counts lines"
    assert locate(SOURCE, "Use snake_case names.") is not None


def test_component_text_matches_with_typographic_quotes_folded() -> None:
    span = locate(SOURCE, 'Pipes are "cheap": the kernel buffers them.')
    assert span is not None
    assert span.passage == "Pipes are “cheap”: the kernel buffers them."


def test_a_passage_found_twice_says_so() -> None:
    span = locate(SOURCE, "Pipes")
    assert span is not None
    assert span.matches > 1


def test_text_not_in_the_lesson_and_oversized_selections_find_nothing() -> None:
    assert locate(SOURCE, "nowhere in this lesson") is None
    assert locate(SOURCE, "   ") is None
    assert locate(SOURCE, "a" * (MAX_SELECTION + 1)) is None


def test_visible_text_leaves_out_front_matter_tags_and_link_targets() -> None:
    text, where = visible_text(SOURCE)
    assert "title" not in text
    assert "example.org" not in text
    assert "<Callout>" not in text and "Quiz" not in text
    assert len(text) == len(where)
    assert SOURCE[where[text.index("kernel")]] == "k"


def test_every_sentence_of_the_sample_lessons_maps_to_an_accepted_passage() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "lessons"
    checked = 0
    for path in sorted(root.rglob("*.mdx")):
        source = path.read_text(encoding="utf-8")
        text, _ = visible_text(source)
        for sentence in text.split(". ")[1:4]:
            span = locate(source, sentence)
            assert span is not None, (path, sentence)
            if span.matches == 1:
                apply_edit(source, span.passage, span.passage + " x", path=str(path))
                checked += 1
    assert checked > 10
