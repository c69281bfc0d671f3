"""Excerpts: cut at a boundary, within the limit, the cut marked."""

from __future__ import annotations

import pytest

from bot.domain.excerpt import excerpt


def test_text_that_fits_is_kept_as_it_is() -> None:
    assert excerpt("Short and sweet.", 16) == "Short and sweet."
    assert excerpt("", 5) == ""


def test_a_cut_falls_at_a_word_boundary_with_an_ellipsis() -> None:
    assert excerpt("The quick brown fox jumps", 18) == "The quick brown…"


def test_a_cut_prefers_a_line_end() -> None:
    text = "First paragraph is here.\nSecond line goes on and on"
    assert excerpt(text, 40) == "First paragraph is here.…"


def test_a_line_end_too_far_back_gives_way_to_a_space() -> None:
    text = "A\nvery long second line of many words that goes on"
    assert excerpt(text, 30) == "A\nvery long second line of…"


def test_one_endless_word_is_cut_inside() -> None:
    assert excerpt("x" * 100, 10) == "x" * 9 + "…"


def test_an_open_code_block_is_closed_after_the_ellipsis() -> None:
    text = "Try this:\n```python\n" + "print('hello world')\n" * 20 + "```\nDone."
    cut = excerpt(text, 120)
    assert len(cut) <= 120
    assert cut.endswith("…\n```") and cut.count("```") == 2


@pytest.mark.parametrize("limit", [1, 2, 7, 50, 1999, 2000])
def test_an_excerpt_never_exceeds_its_limit(limit: int) -> None:
    text = ("word " * 300 + "\n```\ncode\n") * 3
    cut = excerpt(text, limit)
    assert len(cut) <= limit and cut.endswith(("…", "```"))
