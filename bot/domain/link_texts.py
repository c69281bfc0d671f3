"""Say what a lesson's links say: post and issue titles and bodies, tags, and addresses.

Pure: the linking service writes these texts and compares their digests with what it
wrote last, so a change of wording here is what makes the next sync rewrite a link.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from bot.domain.catalogue import Catalogue
from bot.domain.catalogue import Lesson as CatalogueLesson
from bot.domain.linking import WantedLesson
from bot.domain.markers import marker
from bot.domain.neutral import neutralize
from bot.i18n import t

LESSON_LABEL = "lesson-discussion"
MARKER_KIND = "lesson"
DIFFICULTIES = ("beginner", "intermediate", "advanced")
# Discord lets a post carry 5 tags: one for the difficulty, four for translations.
POST_TAGS_LIMIT = 5
# GitHub refuses longer issue titles.
ISSUE_TITLE_LIMIT = 256
# Discord's limit on a thread's name: longer lesson titles are cut to it.
THREAD_NAME_LIMIT = 100
# A message link: guild, channel (here the post's thread) and message, on Discord or on
# whatever `discord.web_url` named when the issue was written (the sandbox's viewer).
POST_LINK = re.compile(r"https?://[^\s()<>\[\]]+?/channels/(\d+)/(\d+)(?:/(\d+))?")
# The lesson key a starter message's text carried before it moved into the button's
# custom_id: posts made then are still recognised by it.
OLD_POST_KEY = re.compile(re.escape("lessonbot:lesson=") + r"([^\s`]+)")


def forum_name(title: str, fallback: str) -> str:
    """Return a forum channel name as Discord shows one: lower case, words joined by '-'."""
    name = "-".join(re.findall(r"\w+", title.casefold()))
    return name[:100] or fallback


def message_url(web_url: str, guild_id: int, channel_id: int, message_id: int) -> str:
    """Return the web link to a message: `{web_url}/channels/{guild}/{channel}/{message}`."""
    return f"{web_url.rstrip('/')}/channels/{guild_id}/{channel_id}/{message_id}"


def lesson_page_url(template: str, program: str, slug: str, locale: str) -> str:
    """Return a lesson's page on the site; slugs may hold characters a URL path cannot."""
    return template.format(
        program=quote(program, safe=""), slug=quote(slug, safe=""), locale=quote(locale, safe="")
    )


def thread_name(title: str) -> str:
    """Return the name a post titled so has on Discord, which cuts names at 100."""
    if len(title) <= THREAD_NAME_LIMIT:
        return title
    return title[: THREAD_NAME_LIMIT - 1].rstrip() + "…"


@dataclass(frozen=True, slots=True)
class LinkTexts:
    """Word a deployment's lesson posts and issues: its locales, site and language."""

    default_locale: str
    # Tags mark translations: every lesson exists in the default locale.
    translation_tags: tuple[str, ...]
    lesson_url_template: str
    locale: str = "en"

    @classmethod
    def for_locales(
        cls, default_locale: str, locales: Sequence[str], lesson_url_template: str, locale: str
    ) -> LinkTexts:
        """Return the texts of a site serving `locales`, `default_locale` first among them."""
        tags = tuple(loc for loc in locales if loc != default_locale)
        return cls(default_locale, tags, lesson_url_template, locale)

    def wanted(self, lesson: CatalogueLesson, catalogue: Catalogue | None = None) -> WantedLesson:
        """Return what a catalogue lesson's post and issue should say."""
        shown = lesson.file(self.default_locale, self.default_locale)
        difficulty = shown.meta.get("difficulty")
        program = catalogue.programs.get(lesson.program) if catalogue is not None else None
        return WantedLesson(
            identity=lesson.identity,
            program=lesson.program,
            slug=lesson.slug,
            title=shown.title,
            path=shown.path,
            page_url=lesson_page_url(
                self.lesson_url_template, lesson.program, lesson.slug, shown.locale
            ),
            difficulty=difficulty if difficulty in DIFFICULTIES else None,
            locales=tuple(lesson.locales),
            files={loc: (f.title, f.path) for loc, f in lesson.files.items()},
            program_title=program.title(self.default_locale) if program else lesson.program,
        )

    def forum_tags(self) -> list[str]:
        """Return the tags every program forum offers: difficulties, then translations.

        3 difficulties + one tag per served locale but the default stays well within
        Discord's 20 tags per forum (11 for the 8 locales served today).
        """
        return [*DIFFICULTIES, *self.translation_tags]

    def post_tags(self, wanted: WantedLesson) -> list[str]:
        """Return a post's tags: its difficulty, then its translations, at most five."""
        tags = [wanted.difficulty] if wanted.difficulty else []
        tags += [loc for loc in self.translation_tags if loc in wanted.locales]
        return tags[:POST_TAGS_LIMIT]

    def issue_title(self, wanted: WantedLesson) -> str:
        """Return the lesson issue's title, cut to GitHub's 256 characters."""
        title = t(self.locale, "linking.issue_title", title=wanted.title)
        return title if len(title) <= ISSUE_TITLE_LIMIT else title[: ISSUE_TITLE_LIMIT - 1] + "…"

    def issue_body(self, wanted: WantedLesson, post: str | None) -> str:
        """Return the lesson issue's body, ending with its hidden marker."""
        text = t(
            self.locale,
            "linking.issue_body",
            title=neutralize(wanted.title),
            identity=wanted.identity,
            page_url=wanted.page_url,
            path=wanted.path,
            locales=", ".join(wanted.locales),
        )
        if post:
            text += "\n" + t(self.locale, "linking.issue_post", post_url=post)
        return f"{text}\n\n{issue_marker(wanted.identity)}\n"

    def starter(self, wanted: WantedLesson, issue_url: str | None) -> str:
        """Return the post's starter message: the page and the issue once it exists (the
        key that finds the post again is in its button, where people do not read it)."""
        text = t(
            self.locale,
            "linking.post_body",
            title=wanted.title,
            page_url=wanted.page_url,
            path=wanted.path,
        )
        if issue_url:
            text += "\n" + t(self.locale, "linking.post_issue", issue_url=issue_url)
        return text

    def suggest_label(self) -> str:
        """Return the label of the starter message's "Suggest an edit" button."""
        return t(self.locale, "discord_suggest.button")

    def removed_comment(self, identity: str, revision: int) -> tuple[str, str]:
        """Return the comment that closes a removed lesson's issue, and its marker.

        The same removal (one job's revision) always carries the same marker, so a retried
        removal finds its comment instead of writing a second one.
        """
        note = marker("lesson_removed", f"{identity}@{revision}")
        return f"{t(self.locale, 'linking.removed_comment')}\n\n{note}", note


def issue_marker(identity: str) -> str:
    """Return the hidden marker a lesson's issue is found again by."""
    return marker(MARKER_KIND, identity)
