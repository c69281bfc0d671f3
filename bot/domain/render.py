"""Lesson MDX as safe HTML: Markdown rendered, components shown as labelled blocks."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import markdown
import nh3

from bot.domain import mdx

# Markdown's own HTML is trusted; raw HTML written in a lesson is not, so the whole output
# is sanitized. Images and image maps are dropped: a form must not load remote pixels.
ALLOWED_TAGS = frozenset((set(nh3.ALLOWED_TAGS) | {"section"}) - {"img", "map", "area"})
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "*": {"class", "lang", "dir", "title"},
    "a": {"href", "title"},
    "ol": {"start"},
    "section": {"aria-label", "class"},
    "td": {"align"},
    "th": {"align"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
MARKDOWN_EXTENSIONS = ("fenced_code", "tables", "sane_lists")

_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n.*?^---[ \t]*(?:\r?\n|\Z)", re.S | re.M)
_MODULE_LINE = re.compile(r"^(?:import|export)\s.*$", re.M)
_HEADING = re.compile(r"<(/?)h([1-5])\b")
_WORDS = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


@dataclass(slots=True)
class _Block:
    """A component being rendered: its tag and the HTML of what it holds so far."""

    tag: mdx.Tag | None
    parts: list[str] = field(default_factory=list)


def strip_front_matter(text: str) -> str:
    """Return the lesson's body: the text after its front matter, if it has one."""
    match = _FRONT_MATTER.match(text)
    return text[match.end() :] if match else text


def humanize(name: str) -> str:
    """Return a component name as words: `ThinkAboutIt` → `Think about it`."""
    words = _WORDS.sub(" ", name.rsplit(".", 1)[-1]).split()
    return " ".join([words[0], *(word.lower() for word in words[1:])]) if words else name


def render_lesson(text: str, labels: Mapping[str, str] | None = None) -> str:
    """Return a lesson file's body as sanitized HTML.

    `labels` names the blocks in the reader's language: component names (`Quiz`,
    `Callout`, ...) and `answer` / `explanation`; a missing one is the name in words.
    """
    labels = labels or {}
    body = strip_front_matter(text.replace("\r\n", "\n"))
    try:
        pieces = list(_pieces(body))
    except mdx.MdxSyntaxError:
        # A tag that cannot be read is shown as text rather than refusing the whole lesson.
        pieces = [("text", body)]
    return sanitize(_render(pieces, labels))


def sanitize(fragment: str) -> str:
    """Return HTML with everything but harmless tags, attributes and links removed."""
    return nh3.clean(
        fragment,
        tags=set(ALLOWED_TAGS),
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
    )


def _pieces(body: str) -> Iterator[tuple[str, object]]:
    """Yield ("text", str) and ("tag", Tag) in order; tags are found outside code only."""
    blanked = mdx.blank_code(body)
    position = 0
    for match in mdx._TAG_START.finditer(blanked):
        if match.start() < position:
            continue  # inside the attributes of the previous tag
        line = blanked.count("\n", 0, match.start()) + 1
        closing, name = match.group(1) == "/", match.group(2)
        # Attribute values come from the original text: blanking hid inline code in them.
        attributes, self_closing, end = mdx._read_attributes(body, match.end(), name, line)
        if match.start() > position:
            yield "text", body[position : match.start()]
        yield "tag", mdx.Tag(name, line, closing, self_closing, attributes)
        position = end
    if position < len(body):
        yield "text", body[position:]


def _render(pieces: list[tuple[str, object]], labels: Mapping[str, str]) -> str:
    stack = [_Block(None)]
    for kind, value in pieces:
        if kind == "text":
            assert isinstance(value, str)
            stack[-1].parts.append(_markdown(value))
            continue
        assert isinstance(value, mdx.Tag)
        if value.self_closing:
            stack[-1].parts.append(_component(value, "", labels))
        elif not value.closing:
            stack.append(_Block(value))
        elif any(block.tag and block.tag.name == value.name for block in stack[1:]):
            # Close up to the matching opening tag; a stray closing tag is dropped.
            while True:
                block = stack.pop()
                assert block.tag is not None
                stack[-1].parts.append(_component(block.tag, "".join(block.parts), labels))
                if block.tag.name == value.name:
                    break
    while len(stack) > 1:
        block = stack.pop()
        assert block.tag is not None
        stack[-1].parts.append(_component(block.tag, "".join(block.parts), labels))
    return "".join(stack[0].parts)


def _markdown(text: str) -> str:
    text = _MODULE_LINE.sub("", text) if "import" in text or "export" in text else text
    if not text.strip():
        return ""
    rendered = markdown.markdown(text, extensions=list(MARKDOWN_EXTENSIONS))
    # The page has its own title: the lesson's headings go one level down.
    return _HEADING.sub(lambda m: f"<{m.group(1)}h{int(m.group(2)) + 1}", rendered)


def _attribute(tag: mdx.Tag, name: str) -> str | None:
    attribute = tag.attributes.get(name)
    return None if attribute is None or attribute.value is None else attribute.value


def _component(tag: mdx.Tag, inner: str, labels: Mapping[str, str]) -> str:
    """Return a component as a labelled block that shows what a reader would read."""
    label = labels.get(tag.name) or humanize(tag.name)
    css = re.sub(r"[^a-z0-9-]", "", humanize(tag.name).lower().replace(" ", "-"))
    title = _attribute(tag, "title") or _attribute(tag, "type")
    heading = f"{label}: {title}" if title else label
    parts = [
        f'<section class="mdx mdx-{css}" aria-label="{html.escape(label)}">',
        f'<p class="mdx-label">{html.escape(heading)}</p>',
    ]
    shown = {"title", "type"}
    if tag.name == "Quiz":
        parts.append(_quiz(tag, labels))
        shown |= {"question", "options", "answer", "explanation"}
    rest = [
        (name, attribute.value)
        for name, attribute in tag.attributes.items()
        if name not in shown and attribute.value
    ]
    if rest:
        parts.append('<dl class="mdx-attributes">')
        for name, value in rest:
            parts.append(f"<dt>{html.escape(name)}</dt><dd>{html.escape(value or '')}</dd>")
        parts.append("</dl>")
    parts.append(inner)
    parts.append("</section>")
    return "".join(parts)


def _quiz(tag: mdx.Tag, labels: Mapping[str, str]) -> str:
    parts: list[str] = []
    question = _attribute(tag, "question")
    if question:
        parts.append(f'<p class="mdx-question">{html.escape(question)}</p>')
    options_attribute = tag.attributes.get("options")
    answer = _attribute(tag, "answer")
    if options_attribute is not None and options_attribute.value:
        if options_attribute.is_expression:
            parts.append(f"<pre><code>{html.escape(options_attribute.value)}</code></pre>")
        else:
            parts.append("<ol>")
            for index, option in enumerate(options_attribute.value.split("|")):
                if answer is not None and answer.strip() == str(index):
                    mark = html.escape(labels.get("answer") or "answer")
                    shown_option = f"{html.escape(option)} <strong>({mark})</strong>"
                    parts.append(f'<li class="mdx-answer">{shown_option}</li>')
                else:
                    parts.append(f"<li>{html.escape(option)}</li>")
            parts.append("</ol>")
    explanation = _attribute(tag, "explanation")
    if explanation:
        word = html.escape(labels.get("explanation") or "Explanation")
        parts.append(
            f'<p class="mdx-explanation"><strong>{word}:</strong> {html.escape(explanation)}</p>'
        )
    return "".join(parts)
