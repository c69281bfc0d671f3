"""Front matter: the fast path agrees with PyYAML, and errors carry file lines."""

from __future__ import annotations

import pytest
import yaml

from bot.domain.frontmatter import (
    FrontMatterError,
    key_lines,
    parse_front_matter_block,
    split_front_matter,
)

AGREEING_BLOCKS = [
    'title: "What is AI?"\norder: 1\npublished: true\n',
    'title: "ما هو الذكاء الاصطناعي؟"\nicon: "🤖"\n',
    "difficulty: beginner\nduration: 0\n",
    # Each of these leaves the fast path for PyYAML, and must still mean what YAML says.
    "title: 'single: quoted'\n",
    'title: "escaped \\" quote"\n',
    "published: yes\n",
    "order: 010\n",
    "duration: 1.5\n",
    "date: 2024-01-01\n",
    "title: null\n",
    "tags: [a, b]\n",
    "title: plain # with a comment\n",
    "description: >-\n  folded\n  text\n",
    "title:\n",
    "key:value\n",
    "title: a: b\n",
    "order: +1\n",
    'title: "a"\ntitle: "b"\n',
    "order: ٣\n",
    "",
]


@pytest.mark.parametrize("raw", AGREEING_BLOCKS)
def test_fast_path_and_yaml_agree(raw: str) -> None:
    try:
        expected = yaml.safe_load(raw)
    except yaml.YAMLError:
        expected = "error"
    if expected is None:
        expected = {}
    if not isinstance(expected, dict):
        with pytest.raises(FrontMatterError):
            parse_front_matter_block(raw)
    else:
        assert parse_front_matter_block(raw) == expected


def test_split_finds_body_line_and_handles_bom_and_crlf() -> None:
    text = '\ufeff---\r\ntitle: "x"\r\norder: 2\r\n---\r\n\r\n# Body\r\n'
    raw, body_line = split_front_matter(text)
    assert parse_front_matter_block(raw) == {"title": "x", "order": 2}
    assert body_line == 5


def test_split_returns_none_without_opening_fence() -> None:
    assert split_front_matter("# Just a body\n") is None


def test_unclosed_front_matter_is_reported_on_line_one() -> None:
    with pytest.raises(FrontMatterError) as raised:
        split_front_matter('---\ntitle: "x"\n')
    assert (raised.value.code, raised.value.line) == ("front_matter_unclosed", 1)


def test_yaml_error_line_is_a_file_line() -> None:
    text = '---\ntitle: "ok"\ndescription: "ok"\ntags: [a, b\n---\n'
    raw, _ = split_front_matter(text)
    with pytest.raises(FrontMatterError) as raised:
        parse_front_matter_block(raw)
    assert raised.value.code == "front_matter_invalid"
    # The unclosed list opens on file line 4, though PyYAML notices it only at the end.
    assert raised.value.line == 4
    assert raised.value.params["reason"]


def test_a_list_is_not_front_matter() -> None:
    with pytest.raises(FrontMatterError) as raised:
        parse_front_matter_block("- a\n- b\n")
    assert raised.value.code == "front_matter_not_mapping"


def test_key_lines_point_at_file_lines() -> None:
    raw = 'title: "x"\n\ndescription: >-\n  folded\norder: 3\n'
    assert key_lines(raw) == {"title": 2, "description": 4, "order": 6}
