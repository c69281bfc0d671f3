"""MDX tag scanning: attributes of both quiz syntaxes, code skipped, lines kept."""

from __future__ import annotations

import pytest

from bot.domain.mdx import MdxSyntaxError, blank_code, iter_tags


def test_reads_string_and_expression_attributes() -> None:
    body = '<Quiz question="q?" options={["a", "b}"]} correct={1} flag />'
    [tag] = list(iter_tags(body))
    assert tag.self_closing and not tag.closing
    assert tag.attributes["question"].value == "q?"
    assert tag.attributes["options"].value == '["a", "b}"]'
    assert tag.attributes["options"].is_expression
    assert tag.attributes["correct"].value == "1"
    assert tag.attributes["flag"].value is None


def test_multi_line_tag_reports_its_first_line() -> None:
    body = 'intro\n\n<Quiz\n  question=\'x\'\n  options="a|b"\n  answer="0"\n/>\n<FunFact>\n'
    tags = list(iter_tags(body, first_line=10))
    assert [(tag.name, tag.line) for tag in tags] == [("Quiz", 12), ("FunFact", 17)]


def test_generic_types_are_not_tags() -> None:
    assert list(iter_tags("a List<String> and Map<K, V>, x<Y")) == []


def test_lowercase_html_is_not_a_component() -> None:
    assert list(iter_tags("<div>text</div> <br/>")) == []


def test_blank_code_keeps_lines() -> None:
    body = "a `<X>` b\n```\n<Y>\n```\nc"
    blanked = blank_code(body)
    assert blanked.count("\n") == body.count("\n")
    assert "<X>" not in blanked and "<Y>" not in blanked
    assert blanked.startswith("a ") and blanked.endswith("c")


def test_unclosed_fence_hides_the_rest() -> None:
    assert list(iter_tags("```\n<FunFact>\n")) == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("<Quiz question='x", "attribute_unclosed_quote"),
        ("<Quiz options={[1, 2]", "expression_unclosed"),
        ("<Quiz answer= />", "attribute_without_value"),
        ("<Quiz ? />", "tag_unexpected_character"),
        ("</FunFact x>", "tag_closing_with_attributes"),
        ("<Quiz question='x'", "tag_unterminated"),
    ],
)
def test_syntax_errors_have_codes(body: str, code: str) -> None:
    with pytest.raises(MdxSyntaxError) as raised:
        list(iter_tags(body))
    assert raised.value.code == code
    assert raised.value.params["name"] in ("Quiz", "FunFact")
