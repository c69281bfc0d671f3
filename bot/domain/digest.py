"""The digest of open questions: built once from plain records, rendered for every medium.

`build_digest` selects what one audience (everyone, or a maintainer's programs and
locales) should see, groups open questions by program and lesson (oldest first), puts
each in an age bucket, counts what happened since the last digest, and lists suggested
edits waiting for review. `render_markdown`, `render_text` and `render_embeds` turn the
same `Digest` into the email's markdown, the plain-text email and Discord embeds.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.domain.excerpt import excerpt
from bot.i18n import t

# Oldest first: the bucket a question is in is the first whose age it exceeds.
BUCKETS: tuple[tuple[str, timedelta], ...] = (
    ("over_7d", timedelta(days=7)),
    ("over_3d", timedelta(days=3)),
    ("over_24h", timedelta(hours=24)),
    ("recent", timedelta(0)),
)
EXCERPT_CHARS = 140
TOP_LESSONS = 5
# Suggestion statuses that wait for a reviewer.
WAITING_STATUSES = ("open", "changes_requested", "answered", "approved")

# Discord's limits on one embed (https://discord.com/developers/docs/resources/message).
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELDS = 25
EMBED_FIELD_NAME = 256
EMBED_FIELD_VALUE = 1024
EMBED_TOTAL = 6000

# Characters inline markdown acts on that both Python-Markdown and Discord unescape.
_MARKDOWN = re.compile(r"([\\`*_>#\[\]()!])")
# Discord also knows strike-through, spoilers and <@mentions>.
_DISCORD = re.compile(r"([~|<])")
# Mentions and everyone-pings stay readable but inert with a zero-width space.
_AT = re.compile(r"@(?=[\w<])")
_SPACE = re.compile(r"\s+")
_FENCED = re.compile(r"```.*?(```|$)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class QuestionRecord:
    """A tracked question as the store gives it."""

    id: int
    program: str
    lesson: str | None  # the lesson's slug; None for a help post's question not linked yet
    title: str
    author: str
    text: str
    asked_at: datetime
    url: str | None = None
    locale: str | None = None
    answered_at: datetime | None = None
    resolved_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        """Tell whether nobody has answered or resolved it yet."""
        return self.answered_at is None and self.resolved_at is None


@dataclass(frozen=True, slots=True)
class SuggestionRecord:
    """A suggested edit as the store gives it."""

    id: int
    program: str
    lesson: str
    locale: str
    status: str
    created_at: datetime
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Audience:
    """Who a digest is for: programs and locales to include (empty: all of them)."""

    programs: frozenset[str] = frozenset()
    locales: frozenset[str] = frozenset()

    def wants(self, program: str, locale: str | None) -> bool:
        """Tell whether something of this program and locale belongs in the digest."""
        if self.programs and program not in self.programs:
            return False
        # A question whose locale nobody could tell goes to everyone of its program.
        return not self.locales or locale is None or locale in self.locales


EVERYONE = Audience()


@dataclass(frozen=True, slots=True)
class DigestQuestion:
    """One open question as the digest shows it."""

    id: int
    excerpt: str  # whitespace folded and cut; not yet escaped for any medium
    author: str
    age: timedelta
    bucket: str
    url: str | None
    locale: str | None


@dataclass(frozen=True, slots=True)
class LessonGroup:
    """A lesson's open questions, oldest first; or, `unlinked`, a program's questions from
    posts learners opened that name no lesson yet."""

    program: str
    lesson: str
    title: str
    questions: tuple[DigestQuestion, ...]
    unlinked: bool = False


@dataclass(frozen=True, slots=True)
class ProgramGroup:
    """A program's lessons with open questions, the lesson with the oldest question first."""

    program: str
    lessons: tuple[LessonGroup, ...]

    @property
    def count(self) -> int:
        """Return how many open questions the program has."""
        return sum(len(lesson.questions) for lesson in self.lessons)


@dataclass(frozen=True, slots=True)
class Activity:
    """What happened since the last digest."""

    new: int = 0
    answered: int = 0
    resolved: int = 0
    median_first_reply: timedelta | None = None


@dataclass(frozen=True, slots=True)
class WaitingSuggestion:
    """A suggested edit waiting for review longer than the digest's threshold."""

    id: int
    program: str
    lesson: str
    locale: str
    status: str
    age: timedelta
    url: str | None


@dataclass(frozen=True, slots=True)
class Digest:
    """Everything one digest says, in no medium's format yet."""

    now: datetime
    since: datetime | None
    programs: tuple[ProgramGroup, ...]
    buckets: tuple[tuple[str, int], ...]
    activity: Activity
    waiting: tuple[WaitingSuggestion, ...]
    wait_days: int
    top_lessons: tuple[tuple[LessonGroup, int], ...]
    open_count: int = field(default=0)

    @property
    def is_empty(self) -> bool:
        """Tell whether there is nothing to ask anyone to look at."""
        return self.open_count == 0 and not self.waiting


@dataclass(frozen=True, slots=True)
class EmbedData:
    """One Discord embed's parts, already within Discord's limits."""

    title: str
    description: str = ""
    fields: tuple[tuple[str, str], ...] = ()

    @property
    def size(self) -> int:
        """Return the characters Discord counts against an embed's total."""
        return (
            len(self.title)
            + len(self.description)
            + sum(len(name) + len(value) for name, value in self.fields)
        )


# --- building --------------------------------------------------------------------------------


def bucket_of(age: timedelta) -> str:
    """Return the age bucket of a question this old."""
    for name, threshold in BUCKETS:
        if age > threshold:
            return name
    return BUCKETS[-1][0]


def build_digest(
    questions: Iterable[QuestionRecord],
    suggestions: Iterable[SuggestionRecord] = (),
    *,
    now: datetime,
    since: datetime | None = None,
    wait_days: int = 3,
    audience: Audience = EVERYONE,
    top: int = TOP_LESSONS,
) -> Digest:
    """Build the digest for one audience from questions (open ones and recent activity)."""
    chosen = [q for q in questions if audience.wants(q.program, q.locale)]
    open_questions = sorted((q for q in chosen if q.is_open), key=lambda q: (q.asked_at, q.id))
    lessons: dict[tuple[str, str | None], list[QuestionRecord]] = {}
    for question in open_questions:
        lessons.setdefault((question.program, question.lesson), []).append(question)
    groups: dict[str, list[LessonGroup]] = {}
    unlinked: dict[str, LessonGroup] = {}
    for (program, slug), items in lessons.items():  # insertion order: oldest question first
        shown = tuple(_shown(question, now) for question in items)
        if slug is None:
            groups.setdefault(program, [])
            unlinked[program] = LessonGroup(program, "", "", shown, unlinked=True)
        else:
            group = LessonGroup(program, slug, items[0].title, shown)
            groups.setdefault(program, []).append(group)
    # The unlinked group closes its program: they wait for a lesson as well as an answer.
    programs = tuple(
        ProgramGroup(
            program, (*lesson_groups, *([unlinked[program]] if program in unlinked else []))
        )
        for program, lesson_groups in sorted(groups.items())
    )
    bucket_counts = Counter(bucket_of(now - q.asked_at) for q in open_questions)
    every_lesson = [
        lesson for program in programs for lesson in program.lessons if not lesson.unlinked
    ]
    ranked = sorted(every_lesson, key=lambda lesson: (-len(lesson.questions), lesson.lesson))
    return Digest(
        now=now,
        since=since,
        programs=programs,
        buckets=tuple((name, bucket_counts.get(name, 0)) for name, _ in BUCKETS),
        activity=activity_since(chosen, since),
        waiting=waiting_suggestions(suggestions, now=now, wait_days=wait_days, audience=audience),
        wait_days=wait_days,
        top_lessons=tuple((lesson, len(lesson.questions)) for lesson in ranked[:top]),
        open_count=len(open_questions),
    )


def activity_since(questions: Sequence[QuestionRecord], since: datetime | None) -> Activity:
    """Count questions asked, answered and resolved after `since`, and the median wait for a
    first reply among those answered (over all time when there was no earlier digest)."""

    def after(moment: datetime | None) -> bool:
        return moment is not None and (since is None or moment > since)

    replied = [q for q in questions if after(q.answered_at)]
    waits = sorted(q.answered_at - q.asked_at for q in replied if q.answered_at is not None)
    return Activity(
        new=sum(after(q.asked_at) for q in questions),
        answered=len(replied),
        resolved=sum(after(q.resolved_at) for q in questions),
        median_first_reply=statistics.median_low(waits) if waits else None,
    )


def waiting_suggestions(
    suggestions: Iterable[SuggestionRecord],
    *,
    now: datetime,
    wait_days: int,
    audience: Audience = EVERYONE,
) -> tuple[WaitingSuggestion, ...]:
    """Return suggested edits waiting for review longer than `wait_days`, oldest first."""
    threshold = timedelta(days=wait_days)
    waiting = [
        s
        for s in suggestions
        if s.status in WAITING_STATUSES
        and now - s.created_at > threshold
        and audience.wants(s.program, s.locale)
    ]
    waiting.sort(key=lambda s: (s.created_at, s.id))
    return tuple(
        WaitingSuggestion(s.id, s.program, s.lesson, s.locale, s.status, now - s.created_at, s.url)
        for s in waiting
    )


def _shown(question: QuestionRecord, now: datetime) -> DigestQuestion:
    age = now - question.asked_at
    return DigestQuestion(
        id=question.id,
        excerpt=fold(question.text),
        author=fold(question.author, 80),
        age=age,
        bucket=bucket_of(age),
        url=question.url,
        locale=question.locale,
    )


def fold(text: str, limit: int = EXCERPT_CHARS) -> str:
    """Return text on one line, code blocks shown as an ellipsis, cut to `limit`."""
    text = _FENCED.sub(" … ", text)
    return excerpt(_SPACE.sub(" ", text).strip(), limit)


# --- rendering -------------------------------------------------------------------------------


def escape_markdown(text: str, *, discord: bool = False) -> str:
    """Return text that markdown shows as typed: no links, emphasis, HTML or live mentions."""
    text = _MARKDOWN.sub(r"\\\1", text)
    if discord:
        text = _DISCORD.sub(r"\\\1", text)
    else:  # Python-Markdown passes raw HTML and entities through: make them text
        text = text.replace("&", "&amp;").replace("<", "&lt;")
    return _AT.sub("@\u200b", text)


def duration(locale: str, span: timedelta) -> str:
    """Return a duration in whole days, hours or minutes, in the locale's words."""
    seconds = max(int(span.total_seconds()), 0)
    if seconds >= 86400:
        return t(locale, "digest.days", count=seconds // 86400)
    if seconds >= 3600:
        return t(locale, "digest.hours", count=seconds // 3600)
    return t(locale, "digest.minutes", count=max(seconds // 60, 1))


def subject(digest: Digest, locale: str) -> str:
    """Return the email subject: `[lessonbot] 12 open questions, 3 edits awaiting review`."""
    return t(
        locale,
        "digest.subject",
        questions=t(locale, "digest.open_count", count=digest.open_count),
        edits=t(locale, "digest.waiting_count", count=len(digest.waiting)),
    )


def _summary_lines(
    digest: Digest, locale: str, *, escape: bool, discord: bool = False
) -> list[str]:
    """Return the digest's opening lines: counts, buckets, activity and median."""
    activity = digest.activity
    lines = [
        t(locale, "digest.open_count", count=digest.open_count)
        + " · "
        + t(locale, "digest.waiting_count", count=len(digest.waiting))
    ]
    shown = [
        f"{t(locale, 'digest.bucket.' + name)}: {count}"
        for name, count in digest.buckets
        if name != "recent"
    ]
    lines.append(t(locale, "digest.by_age", buckets=" · ".join(shown)))
    key = "digest.activity_since" if digest.since else "digest.activity_ever"
    lines.append(
        t(
            locale,
            key,
            date=digest.since.strftime("%Y-%m-%d") if digest.since else "",
            new=activity.new,
            answered=activity.answered,
            resolved=activity.resolved,
        )
    )
    if activity.median_first_reply is None:
        lines.append(t(locale, "digest.median_none"))
    else:
        lines.append(
            t(locale, "digest.median", duration=duration(locale, activity.median_first_reply))
        )
    return [escape_markdown(line, discord=discord) if escape else line for line in lines]


def _question_markdown(question: DigestQuestion, locale: str, discord: bool = False) -> str:
    text = escape_markdown(question.excerpt, discord=discord) or "…"
    linked = f"[{text}]({_safe_url(question.url)})" if _safe_url(question.url) else text
    meta = t(
        locale,
        "digest.question_meta",
        author=escape_markdown(question.author, discord=discord),
        age=duration(locale, question.age),
        bucket=t(locale, f"digest.bucket.{question.bucket}"),
    )
    return f"{linked} — {meta}"


def _question_text(question: DigestQuestion, locale: str) -> str:
    meta = t(
        locale,
        "digest.question_meta",
        author=question.author,
        age=duration(locale, question.age),
        bucket=t(locale, f"digest.bucket.{question.bucket}"),
    )
    url = f"\n    {question.url}" if _safe_url(question.url) else ""
    return f"{question.excerpt} — {meta}{url}"


def _suggestion_line(
    item: WaitingSuggestion, locale: str, *, markdown: bool, discord: bool = False
) -> str:
    line = t(
        locale,
        "digest.suggestion_line",
        id=item.id,
        lesson=f"{item.program}/{item.lesson}",
        locale=item.locale,
        status=t(locale, f"digest.status.{item.status}"),
        age=duration(locale, item.age),
    )
    url = _safe_url(item.url)
    if not markdown:
        return f"{line}\n    {url}" if url else line
    line = escape_markdown(line, discord=discord)
    return f"{line} ([#{item.id}]({url}))" if url else line


def _safe_url(url: str | None) -> str | None:
    # Only web links; anything else (javascript:, data:) is dropped, never linked.
    if url and url.startswith(("https://", "http://")) and not re.search(r"[\s()<>]", url):
        return url
    return None


def _lesson_heading(lesson: LessonGroup, locale: str) -> str:
    if lesson.unlinked:
        return t(locale, "digest.unlinked")
    return f"{lesson.title} ({lesson.program}/{lesson.lesson})" if lesson.title else lesson.lesson


def render_markdown(digest: Digest, locale: str, *, footer: str = "") -> str:
    """Return the digest as markdown (the HTML email is made from it)."""
    out = [f"# {escape_markdown(t(locale, 'digest.title'))}", ""]
    out += [f"- {line}" for line in _summary_lines(digest, locale, escape=True)]
    if digest.open_count == 0:
        out += ["", escape_markdown(t(locale, "digest.empty"))]
    for program in digest.programs:
        out += ["", f"## {escape_markdown(program.program)} ({program.count})"]
        for lesson in program.lessons:
            out += ["", f"### {escape_markdown(_lesson_heading(lesson, locale))}", ""]
            out += [f"- {_question_markdown(q, locale)}" for q in lesson.questions]
    if digest.top_lessons:
        out += ["", f"## {escape_markdown(t(locale, 'digest.top_heading'))}", ""]
        out += [
            f"1. {escape_markdown(_lesson_heading(lesson, locale))}: {count}"
            for lesson, count in digest.top_lessons
        ]
    if digest.waiting:
        heading = t(locale, "digest.waiting_heading", count=digest.wait_days)
        out += ["", f"## {escape_markdown(heading)}", ""]
        out += [f"- {_suggestion_line(item, locale, markdown=True)}" for item in digest.waiting]
    if footer:
        out += ["", "---", "", footer]
    return "\n".join(out) + "\n"


def render_text(digest: Digest, locale: str, *, footer: str = "") -> str:
    """Return the digest as plain text (the email's text part)."""
    title = t(locale, "digest.title")
    out = [title, "=" * len(title), ""]
    out += [f"* {line}" for line in _summary_lines(digest, locale, escape=False)]
    if digest.open_count == 0:
        out += ["", t(locale, "digest.empty")]
    for program in digest.programs:
        heading = f"{program.program} ({program.count})"
        out += ["", heading, "-" * len(heading)]
        for lesson in program.lessons:
            out += ["", _lesson_heading(lesson, locale)]
            out += [f"  - {_question_text(q, locale)}" for q in lesson.questions]
    if digest.top_lessons:
        out += ["", t(locale, "digest.top_heading")]
        out += [
            f"  {rank}. {_lesson_heading(lesson, locale)}: {count}"
            for rank, (lesson, count) in enumerate(digest.top_lessons, 1)
        ]
    if digest.waiting:
        out += ["", t(locale, "digest.waiting_heading", count=digest.wait_days)]
        out += [f"  - {_suggestion_line(item, locale, markdown=False)}" for item in digest.waiting]
    if footer:
        out += ["", "-- ", footer]
    return "\n".join(out) + "\n"


def render_embeds(digest: Digest, locale: str) -> list[EmbedData]:
    """Return Discord embeds, each within Discord's limits; long parts continue in more
    embeds (one per message), so nothing is ever cut."""
    title = t(locale, "digest.title")
    summary = "\n".join(_summary_lines(digest, locale, escape=True, discord=True))
    if digest.open_count == 0:
        summary += "\n\n" + escape_markdown(t(locale, "digest.empty"), discord=True)
    if digest.top_lessons:
        summary += (
            "\n\n**" + escape_markdown(t(locale, "digest.top_heading"), discord=True) + "**\n"
        )
        summary += "\n".join(
            f"{rank}\\. {escape_markdown(_lesson_heading(lesson, locale), discord=True)}: {count}"
            for rank, (lesson, count) in enumerate(digest.top_lessons, 1)
        )
    embeds = [EmbedData(_clip_title(title), summary)]
    for program in digest.programs:
        sections = [
            (
                escape_markdown(_lesson_heading(lesson, locale), discord=True),
                [f"• {_question_markdown(q, locale, discord=True)}" for q in lesson.questions],
            )
            for lesson in program.lessons
        ]
        embeds += _pack(f"{program.program} ({program.count})", sections, locale)
    if digest.waiting:
        heading = t(locale, "digest.waiting_heading", count=digest.wait_days)
        lines = [
            f"• {_suggestion_line(item, locale, markdown=True, discord=True)}"
            for item in digest.waiting
        ]
        embeds += _pack(heading, [("\u200b", lines)], locale)
    return embeds


def _pack(title: str, sections: Sequence[tuple[str, list[str]]], locale: str) -> list[EmbedData]:
    """Put named sections of lines into embed fields, starting a new field or embed where
    one would overflow; a line too long for a field on its own is split, never dropped."""
    embeds: list[EmbedData] = []
    fields: list[tuple[str, str]] = []
    heading = _clip_title(title)

    def flush() -> None:
        nonlocal fields, heading
        if fields:
            embeds.append(EmbedData(heading, "", tuple(fields)))
            heading = _clip_title(t(locale, "digest.continued", title=title))
            fields = []

    for name, lines in sections:
        name = _clip(name, EMBED_FIELD_NAME)
        for chunk in _chunks(lines, EMBED_FIELD_VALUE):
            size = len(heading) + sum(len(n) + len(v) for n, v in fields)
            if len(fields) == EMBED_FIELDS or size + len(name) + len(chunk) > EMBED_TOTAL:
                flush()
            fields.append((name, chunk))
            name = _clip(t(locale, "digest.continued", title=name), EMBED_FIELD_NAME)
    flush()
    return embeds


def _chunks(lines: Sequence[str], limit: int) -> list[str]:
    """Join lines into chunks of at most `limit` characters, splitting an over-long line."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        while len(line) > limit:
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:limit])
            line = line[limit:]
        joined = f"{current}\n{line}" if current else line
        if len(joined) > limit:
            chunks.append(current)
            joined = line
        current = joined
    if current:
        chunks.append(current)
    return chunks


def _clip(text: str, limit: int) -> str:
    # Only names and titles are ever shortened; every question stays in a field value.
    return excerpt(text, limit)


def _clip_title(text: str) -> str:
    return _clip(text, EMBED_TITLE)
