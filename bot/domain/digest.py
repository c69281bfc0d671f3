"""The digest of open questions: built once from plain records, rendered for every medium.

`build_digest` selects what one audience (everyone, or a maintainer's programs and
locales) should see, groups open questions by program and lesson (oldest first), puts
each in an age bucket, counts what happened since the last digest (or over the window
read, before the first), and lists every suggested edit awaiting review, telling which
wait longer than the threshold. `render_markdown`, `render_text` and `render_embeds` turn
the same `Digest` into the email's markdown, the plain-text email and Discord embeds, in
one locale: programs and lessons by the names people know them by in it (`Names`).

Text people wrote or named (questions, authors, titles) is escaped exactly once, and only
for a medium that renders markdown: the email's markdown and Discord's embeds, never the
plain text; and only the characters that would act there, so no stray backslash shows.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.domain.excerpt import excerpt
from bot.domain.reply_stats import ReplyStats, ReplyTarget, locale_name, reply_stats, share_text
from bot.i18n import language_name, t

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

# Characters inline markdown acts on anywhere in a line, in Python-Markdown and Discord
# alike: escapes, code, emphasis and link brackets (without `[` no `](` makes a link, so
# parentheses stay as typed).
_MARKDOWN = re.compile(r"([\\`*_\[\]])")
# Discord also knows strike-through, spoilers and <@mentions>, <#channels>, <t:times>.
_DISCORD = re.compile(r"([~|<])")
# A number and a dot or parenthesis starting a line make it an ordered list item.
_NUMBERED = re.compile(r"^(\d+)([.)])")
# What else makes a line a heading, quote or list item (or Discord's `-# ` small print).
_BLOCK_MARKS = ("#", ">", "+", "-")
# Mentions and everyone-pings stay readable but inert with a zero-width space.
_AT = re.compile(r"@(?=[\w<])")
_SPACE = re.compile(r"\s+")
_FENCED = re.compile(r"```.*?(```|$)", re.DOTALL)
_WORD_BREAK = re.compile(r"[-_\s]+")
# A value set in a message's words: `\0<index>\0` survives escaping untouched.
_SLOT = "\0{}\0"


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


def humanize(slug: str) -> str:
    """Return a slug as a name: `data-basics` -> `Data Basics` (for want of a title)."""
    words = [word for word in _WORD_BREAK.split(slug) if word]
    return " ".join(word[:1].upper() + word[1:] for word in words) or slug


@dataclass(frozen=True, slots=True)
class Names:
    """What programs and lessons are called in each locale (from program.json, the lesson
    files' titles), so a digest names them as people know them, not by slug."""

    default_locale: str = "en"
    # program -> locale -> title
    programs: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # (program, slug) -> locale -> title
    lessons: Mapping[tuple[str, str], Mapping[str, str]] = field(default_factory=dict)

    def program(self, program: str, locale: str) -> str:
        """Return a program's title in a locale, else the default locale's, else its slug
        as words."""
        return self._pick(self.programs.get(program), locale) or humanize(program)

    def lesson(self, program: str, slug: str, locale: str, fallback: str = "") -> str:
        """Return a lesson's title in a locale, else the default locale's, else
        `fallback`, else its slug as words."""
        return self._pick(self.lessons.get((program, slug)), locale) or fallback or humanize(slug)

    def _pick(self, titles: Mapping[str, str] | None, locale: str) -> str:
        if not titles:
            return ""
        for candidate in (locale, locale.replace("_", "-").split("-")[0], self.default_locale):
            title = titles.get(candidate)
            if title and title.strip():
                return title.strip()
        return ""


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
    title: str  # in the default locale, as stored; `Names` knows the others
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
    """A suggested edit awaiting review."""

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
    since: datetime | None  # the last digest; None before the first
    programs: tuple[ProgramGroup, ...]
    buckets: tuple[tuple[str, int], ...]
    activity: Activity
    waiting: tuple[WaitingSuggestion, ...]  # of `pending`, those older than `wait_days`
    wait_days: int
    top_lessons: tuple[tuple[LessonGroup, int], ...]
    open_count: int = field(default=0)
    # Every suggested edit awaiting review, oldest first.
    pending: tuple[WaitingSuggestion, ...] = ()
    # Without a last digest: where the activity was counted from (None: all time).
    counted_from: datetime | None = None
    names: Names = field(default_factory=Names)
    # The first-reply target's figures over the same period; None without a target.
    replies: ReplyStats | None = None

    @property
    def is_empty(self) -> bool:
        """Tell whether there is nothing to ask anyone to look at."""
        return self.open_count == 0 and not self.pending


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
    counted_from: datetime | None = None,
    wait_days: int = 3,
    audience: Audience = EVERYONE,
    top: int = TOP_LESSONS,
    names: Names | None = None,
    target: ReplyTarget | None = None,
) -> Digest:
    """Build the digest for one audience from questions (open ones and recent activity).

    `since` is the last digest's time; without one, activity counts from `counted_from`
    (the window the records were read over), or over all of them.
    """
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
    pending = pending_suggestions(suggestions, now=now, audience=audience)
    threshold = timedelta(days=wait_days)
    replies = (
        reply_stats(chosen, target=target, now=now, start=since or counted_from)
        if target is not None
        else None
    )
    return Digest(
        now=now,
        since=since,
        programs=programs,
        buckets=tuple((name, bucket_counts.get(name, 0)) for name, _ in BUCKETS),
        activity=activity_since(chosen, since or counted_from),
        waiting=tuple(item for item in pending if item.age > threshold),
        wait_days=wait_days,
        top_lessons=tuple((lesson, len(lesson.questions)) for lesson in ranked[:top]),
        open_count=len(open_questions),
        pending=pending,
        counted_from=None if since else counted_from,
        names=names or Names(),
        replies=replies,
    )


def activity_since(questions: Sequence[QuestionRecord], since: datetime | None) -> Activity:
    """Count questions asked, answered and resolved after `since`, and the median wait for a
    first reply among those answered (over all time when `since` is None)."""

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


def pending_suggestions(
    suggestions: Iterable[SuggestionRecord], *, now: datetime, audience: Audience = EVERYONE
) -> tuple[WaitingSuggestion, ...]:
    """Return every suggested edit awaiting review (open, changes asked, approved but not
    merged) that the audience follows, oldest first."""
    chosen = [
        s
        for s in suggestions
        if s.status in WAITING_STATUSES and audience.wants(s.program, s.locale)
    ]
    chosen.sort(key=lambda s: (s.created_at, s.id))
    return tuple(
        WaitingSuggestion(s.id, s.program, s.lesson, s.locale, s.status, now - s.created_at, s.url)
        for s in chosen
    )


def waiting_suggestions(
    suggestions: Iterable[SuggestionRecord],
    *,
    now: datetime,
    wait_days: int,
    audience: Audience = EVERYONE,
) -> tuple[WaitingSuggestion, ...]:
    """Return suggested edits awaiting review longer than `wait_days`, oldest first."""
    threshold = timedelta(days=wait_days)
    pending = pending_suggestions(suggestions, now=now, audience=audience)
    return tuple(item for item in pending if item.age > threshold)


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
    """Return text that markdown shows as typed (no links, emphasis, code, HTML, block
    markup or live mentions), escaping only the characters that would act, once."""
    text = _MARKDOWN.sub(r"\\\1", text)
    if discord:
        text = _DISCORD.sub(r"\\\1", text)
    else:  # Python-Markdown passes raw HTML and entities through: make them text
        text = text.replace("&", "&amp;").replace("<", "&lt;")
        if text.endswith("#"):
            # It drops a heading's closing #s: a title ending in one (`C#`) keeps it.
            text = text[:-1] + "\\#"
    numbered = _NUMBERED.match(text)
    if numbered:
        text = f"{numbered[1]}\\{numbered[2]}{text[numbered.end() :]}"
    elif text.startswith(_BLOCK_MARKS):
        text = "\\" + text
    return _AT.sub("@\u200b", text)


class _Words(str):
    """Text of the bot's own (a translated message): escaped for the medium, not isolated."""

    __slots__ = ()


class _Ready(str):
    """Text already in the medium's form: set as it is."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class _Medium:
    """How a rendering shows text: markdown (for Discord or Python-Markdown) or plain,
    and whether values people named are isolated from the sentence's direction."""

    markdown: bool
    discord: bool = False
    isolate: bool = False

    def value(self, text: str) -> str:
        """Return a value people wrote or named, escaped once and isolated if asked."""
        if isinstance(text, _Ready):
            return str(text)
        shown = escape_markdown(text, discord=self.discord) if self.markdown else text
        if self.isolate and not isinstance(text, _Words):
            # Latin names inside an Arabic sentence (and the reverse) keep their order.
            return f"<bdi>{shown}</bdi>"
        return shown

    def say(self, language: str, key: str, /, **values: object) -> str:
        """Return a message in the medium: its words escaped once, each value once."""
        texts = {name: value for name, value in values.items() if isinstance(value, str)}
        slots = {name: _SLOT.format(index) for index, name in enumerate(texts)}
        others = {name: value for name, value in values.items() if name not in texts}
        said = t(language, key, **slots, **others)
        shown = escape_markdown(said, discord=self.discord) if self.markdown else said
        for name, slot in slots.items():
            shown = shown.replace(slot, self.value(texts[name]))
        return shown


_PLAIN = _Medium(markdown=False)


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
        edits=t(locale, "digest.waiting_count", count=len(digest.pending)),
    )


def _summary_lines(digest: Digest, locale: str, medium: _Medium) -> list[str]:
    """Return the digest's opening lines: counts, buckets, activity and median."""
    activity = digest.activity
    edits = t(locale, "digest.waiting_count", count=len(digest.pending))
    if digest.pending:
        days = t(locale, "digest.days", count=digest.wait_days)
        over = t(locale, "digest.waiting_over", count=len(digest.waiting), days=days)
        edits = f"{edits} ({over})"
    lines = [t(locale, "digest.open_count", count=digest.open_count) + " · " + edits]
    shown = [
        f"{t(locale, 'digest.bucket.' + name)}: {count}"
        for name, count in digest.buckets
        if name != "recent"
    ]
    lines.append(t(locale, "digest.by_age", buckets=" · ".join(shown)))
    counts = {"new": activity.new, "answered": activity.answered, "resolved": activity.resolved}
    if digest.since is not None:
        date = digest.since.strftime("%Y-%m-%d")
        lines.append(t(locale, "digest.activity_since", date=date, **counts))
    elif digest.counted_from is not None:
        window = duration(locale, digest.now - digest.counted_from)
        lines.append(t(locale, "digest.activity_window", duration=window, **counts))
    else:
        lines.append(t(locale, "digest.activity_ever", **counts))
    if activity.median_first_reply is None:
        lines.append(t(locale, "digest.median_none"))
    else:
        lines.append(
            t(locale, "digest.median", duration=duration(locale, activity.median_first_reply))
        )
    return [medium.value(_Words(line)) for line in lines]


def _program_name(digest: Digest, program: str, locale: str) -> str:
    return digest.names.program(program, locale)


def _lesson_name(digest: Digest, program: str, slug: str, locale: str, fallback: str = "") -> str:
    if not slug:
        # A program's unlinked group: questions in posts learners opened, no lesson yet.
        return _Words(t(locale, "digest.unlinked"))
    return digest.names.lesson(program, slug, locale, fallback)


def _lesson_in_program(
    digest: Digest, program: str, slug: str, locale: str, medium: _Medium, fallback: str = ""
) -> str:
    """Return a lesson named with its program, for lists that mix programs."""
    return medium.say(
        locale,
        "digest.lesson_in",
        lesson=_lesson_name(digest, program, slug, locale, fallback),
        program=_program_name(digest, program, locale),
    )


def _question_line(question: DigestQuestion, locale: str, medium: _Medium) -> str:
    meta = medium.say(
        locale,
        "digest.question_meta",
        author=question.author,
        age=_Words(duration(locale, question.age)),
        bucket=_Words(t(locale, f"digest.bucket.{question.bucket}")),
    )
    url = _safe_url(question.url)
    if not medium.markdown:
        return f"{question.excerpt} — {meta}" + (f"\n    {url}" if url else "")
    text = medium.value(question.excerpt) if question.excerpt else "…"
    linked = f"[{text}]({url})" if url else text
    return f"{linked} — {meta}"


def _suggestion_line(digest: Digest, item: WaitingSuggestion, locale: str, medium: _Medium) -> str:
    line = medium.say(
        locale,
        "digest.suggestion_line",
        id=item.id,
        lesson=_Ready(_lesson_in_program(digest, item.program, item.lesson, locale, medium)),
        # The edited language by its name in the reader's language, never by its code.
        locale=language_name(item.locale, locale),
        status=_Words(t(locale, f"digest.status.{item.status}")),
        age=_Words(duration(locale, item.age)),
    )
    url = _safe_url(item.url)
    if not medium.markdown:
        return f"{line}\n    {url}" if url else line
    return f"{line} ([#{item.id}]({url}))" if url else line


def _safe_url(url: str | None) -> str | None:
    # Only web links; anything else (javascript:, data:) is dropped, never linked.
    if url and url.startswith(("https://", "http://")) and not re.search(r"[\s()<>]", url):
        return url
    return None


def _top_lines(digest: Digest, locale: str, medium: _Medium) -> list[tuple[str, int]]:
    return [
        (
            _lesson_in_program(digest, lesson.program, lesson.lesson, locale, medium, lesson.title),
            count,
        )
        for lesson, count in digest.top_lessons
    ]


def render_markdown(digest: Digest, locale: str, *, footer: str = "", isolate: bool = False) -> str:
    """Return the digest as markdown (the HTML email is made from it; with `isolate`, each
    name and question sits in a `<bdi>`, for HTML)."""
    medium = _Medium(markdown=True, isolate=isolate)
    out = [f"# {medium.value(_Words(t(locale, 'digest.title')))}", ""]
    out += [f"- {line}" for line in _summary_lines(digest, locale, medium)]
    if digest.open_count == 0:
        out += ["", medium.value(_Words(t(locale, "digest.empty")))]
    for program in digest.programs:
        name = medium.value(_program_name(digest, program.program, locale))
        out += ["", f"## {name} ({program.count})"]
        for lesson in program.lessons:
            title = _lesson_name(digest, lesson.program, lesson.lesson, locale, lesson.title)
            out += ["", f"### {medium.value(title)}", ""]
            out += [f"- {_question_line(q, locale, medium)}" for q in lesson.questions]
    if digest.top_lessons:
        out += ["", f"## {medium.value(_Words(t(locale, 'digest.top_heading')))}", ""]
        out += [f"1. {line}: {count}" for line, count in _top_lines(digest, locale, medium)]
    if digest.replies is not None:
        out += ["", f"## {_target_heading(digest.replies, locale, medium)}", ""]
        out += [f"- {line}" for line in _target_lines(digest, locale, medium)]
        worst = _worst_lines(digest, locale, medium)
        if worst:
            out += ["", f"### {medium.value(_Words(t(locale, 'reply_target.worst_heading')))}"]
            out += ["", *(f"1. {line}" for line in worst)]
    if digest.pending:
        out += ["", f"## {medium.value(_Words(t(locale, 'digest.pending_heading')))}", ""]
        out += [f"- {_suggestion_line(digest, item, locale, medium)}" for item in digest.pending]
    if footer:
        out += ["", "---", "", footer]
    return "\n".join(out) + "\n"


def render_text(digest: Digest, locale: str, *, footer: str = "") -> str:
    """Return the digest as plain text (the email's text part): nothing escaped."""
    medium = _PLAIN
    title = t(locale, "digest.title")
    out = [title, "=" * len(title), ""]
    out += [f"* {line}" for line in _summary_lines(digest, locale, medium)]
    if digest.open_count == 0:
        out += ["", t(locale, "digest.empty")]
    for program in digest.programs:
        heading = f"{_program_name(digest, program.program, locale)} ({program.count})"
        out += ["", heading, "-" * len(heading)]
        for lesson in program.lessons:
            out += ["", _lesson_name(digest, lesson.program, lesson.lesson, locale, lesson.title)]
            out += [f"  - {_question_line(q, locale, medium)}" for q in lesson.questions]
    if digest.top_lessons:
        out += ["", t(locale, "digest.top_heading")]
        out += [
            f"  {rank}. {line}: {count}"
            for rank, (line, count) in enumerate(_top_lines(digest, locale, medium), 1)
        ]
    if digest.replies is not None:
        out += ["", _target_heading(digest.replies, locale, medium)]
        out += [f"  - {line}" for line in _target_lines(digest, locale, medium)]
        worst = _worst_lines(digest, locale, medium)
        if worst:
            out += ["", t(locale, "reply_target.worst_heading")]
            out += [f"  {rank}. {line}" for rank, line in enumerate(worst, 1)]
    if digest.pending:
        out += ["", t(locale, "digest.pending_heading")]
        out += [f"  - {_suggestion_line(digest, item, locale, medium)}" for item in digest.pending]
    if footer:
        out += ["", "-- ", footer]
    return "\n".join(out) + "\n"


def render_embeds(digest: Digest, locale: str) -> list[EmbedData]:
    """Return Discord embeds, each within Discord's limits; long parts continue in more
    embeds (one per message), so nothing is ever cut. Discord renders markdown in every
    part used here (titles, descriptions, field names and values), so each is escaped."""
    medium = _Medium(markdown=True, discord=True)
    title = medium.value(_Words(t(locale, "digest.title")))
    summary = "\n".join(_summary_lines(digest, locale, medium))
    if digest.open_count == 0:
        summary += "\n\n" + medium.value(_Words(t(locale, "digest.empty")))
    if digest.top_lessons:
        summary += "\n\n**" + medium.value(_Words(t(locale, "digest.top_heading"))) + "**\n"
        summary += "\n".join(
            f"{rank}\\. {line}: {count}"
            for rank, (line, count) in enumerate(_top_lines(digest, locale, medium), 1)
        )
    embeds = [EmbedData(_clip_title(title), summary)]
    if digest.replies is not None:
        embeds = _with_target(embeds, digest, locale, medium)
    for program in digest.programs:
        sections = [
            (
                medium.value(
                    _lesson_name(digest, lesson.program, lesson.lesson, locale, lesson.title)
                ),
                [f"• {_question_line(q, locale, medium)}" for q in lesson.questions],
            )
            for lesson in program.lessons
        ]
        name = medium.value(_program_name(digest, program.program, locale))
        embeds += _pack(f"{name} ({program.count})", sections, locale, medium)
    if digest.pending:
        heading = medium.value(_Words(t(locale, "digest.pending_heading")))
        lines = [f"• {_suggestion_line(digest, item, locale, medium)}" for item in digest.pending]
        embeds += _pack(heading, [("\u200b", lines)], locale, medium)
    return embeds


def _pack(
    title: str, sections: Sequence[tuple[str, list[str]]], locale: str, medium: _Medium
) -> list[EmbedData]:
    """Put named sections of lines into embed fields, starting a new field or embed where
    one would overflow; a line too long for a field on its own is split, never dropped.
    Titles and names come escaped already."""
    embeds: list[EmbedData] = []
    fields: list[tuple[str, str]] = []
    heading = _clip_title(title)

    def continued(text: str) -> str:
        return medium.say(locale, "digest.continued", title=_Ready(text))

    def flush() -> None:
        nonlocal fields, heading
        if fields:
            embeds.append(EmbedData(heading, "", tuple(fields)))
            heading = _clip_title(continued(title))
            fields = []

    for name, lines in sections:
        shown = _clip(name, EMBED_FIELD_NAME)
        for chunk in _chunks(lines, EMBED_FIELD_VALUE):
            size = len(heading) + sum(len(n) + len(v) for n, v in fields)
            if len(fields) == EMBED_FIELDS or size + len(shown) + len(chunk) > EMBED_TOTAL:
                flush()
            fields.append((shown, chunk))
            shown = _clip(continued(name), EMBED_FIELD_NAME)
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
    clipped = excerpt(text, limit)
    if clipped != text:
        # A cut between a backslash and what it escapes would show the backslash.
        kept = clipped.removesuffix("…")
        if (len(kept) - len(kept.rstrip("\\"))) % 2:
            clipped = kept[:-1] + "…"
    return clipped


def _clip_title(text: str) -> str:
    return _clip(text, EMBED_TITLE)


# --- the first-reply target ------------------------------------------------------------------


def _target_heading(replies: ReplyStats, locale: str, medium: _Medium) -> str:
    return medium.say(
        locale,
        "reply_target.heading",
        share=_Words(share_text(locale, replies.target.share)),
        window=_Words(duration(locale, replies.target.window)),
    )


def _target_lines(digest: Digest, locale: str, medium: _Medium) -> list[str]:
    """Return the target's lines: the share met overall, then per program and language."""
    replies = digest.replies
    assert replies is not None
    overall = replies.overall
    if overall.decided == 0:
        lines = [medium.say(locale, "reply_target.overall_none", pending=overall.pending)]
    else:
        status = "met" if replies.met_target else "missed"
        lines = [
            medium.say(
                locale,
                "reply_target.overall",
                share=_Words(share_text(locale, overall.share)),
                met=overall.met,
                decided=overall.decided,
                status=_Words(t(locale, f"reply_target.status_{status}")),
                pending=overall.pending,
            )
        ]
    if overall.total == 0:
        return lines

    def items(pairs: Iterable[tuple[str, float | None]]) -> _Ready:
        return _Ready(
            " · ".join(
                medium.say(
                    locale, "reply_target.item", name=name, share=_Words(share_text(locale, share))
                )
                for name, share in pairs
            )
        )

    programs = [
        (_program_name(digest, program, locale), tally.share) for program, tally in replies.programs
    ]
    languages = [
        (_Words(locale_name(code, locale)), tally.share) for code, tally in replies.locales
    ]
    lines.append(medium.say(locale, "reply_target.by_program", items=items(programs)))
    lines.append(medium.say(locale, "reply_target.by_locale", items=items(languages)))
    return lines


def _worst_lines(digest: Digest, locale: str, medium: _Medium) -> list[str]:
    """Return the lessons that missed the target most, most misses first."""
    assert digest.replies is not None
    return [
        medium.say(
            locale,
            "reply_target.worst_line",
            lesson=_Ready(
                _lesson_in_program(digest, item.program, item.lesson, locale, medium, item.title)
            ),
            missed=item.tally.missed,
            decided=item.tally.decided,
        )
        for item in digest.replies.worst
    ]


def _with_target(
    embeds: list[EmbedData], digest: Digest, locale: str, medium: _Medium
) -> list[EmbedData]:
    """Add the target's figures to the summary embed as fields, or as embeds of their own
    after it where they would not fit (never cut)."""
    assert digest.replies is not None
    heading = _target_heading(digest.replies, locale, medium)
    sections = [(heading, _target_lines(digest, locale, medium))]
    worst = _worst_lines(digest, locale, medium)
    if worst:
        name = medium.value(_Words(t(locale, "reply_target.worst_heading")))
        sections.append((name, [f"{rank}\\. {line}" for rank, line in enumerate(worst, 1)]))
    packed = _pack(heading, sections, locale, medium)
    first = embeds[0]
    if len(packed) == 1:
        fields = (*first.fields, *packed[0].fields)
        merged = EmbedData(first.title, first.description, fields)
        if len(fields) <= EMBED_FIELDS and merged.size <= EMBED_TOTAL:
            return [merged, *embeds[1:]]
    return [first, *packed, *embeds[1:]]
