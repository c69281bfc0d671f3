"""Every Discord reply, DM and embed in every served locale: no keys, codes or English.

The texts are made by the functions the bot posts them with: the suggest cog's status embed,
event and status labels and refusals, the suggestion notices and their buttons (from the
suggestion service), and the digest's embeds (from the digest service, posting through the
chat port's one fake). Besides, every message key the Discord adapter and the services
behind it name in their source (tests read it, never import it) is rendered with realistic
values, so a reply added later is audited without a line here.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from bot.config import DigestSettings, DiscordSettings, Settings, WebSettings
from bot.discord.cogs.suggest._embeds import (
    EVENT_KINDS,
    event_label,
    refusal,
    status_embed,
    status_label,
    withdrawn_text,
)
from bot.domain.catalogue import load_catalogue
from bot.domain.edits import added_problems
from bot.domain.review_flow import STATUSES
from bot.i18n import DEFAULT_LOCALE, load_catalog, placeholders, t
from bot.services.outbox import Outbox
from bot.services.suggestions import (
    Author,
    SuggestionError,
    SuggestionInput,
    SuggestionService,
    SuggestionView,
)
from bot.store.models import Suggestion, SuggestionEvent, SuggestionSource, SuggestionStatus
from tests.conftest import TESTS
from tests.i18n.audit import (
    SAME_AS_ENGLISH,
    SERVED_LOCALES,
    Output,
    check_clean,
    check_translated,
    text_segments,
)
from tests.i18n.test_emails_all_locales import DIGEST_DATA
from tests.services.test_digests import CHANNEL, drain, make, seed
from tests.web.suggest_support import PASSAGE, REPLACEMENT, SIGNER, Sessions, copy_content

BOT = TESTS.parent / "bot"
# Where the texts a Discord user reads are made: the adapter, and what it posts for others.
DISCORD_SOURCES = (
    "discord",
    "services/questions",
    "services/suggestions/notices.py",
    "services/bridge.py",
    "services/linking",
    "domain/link_texts.py",
    "domain/question_texts.py",
)
BROKEN_PATH = "programs/demo/lessons/en/pipes.mdx"
UNKNOWN = "mystery_kind"  # a kind or status a newer bot may store before it has words
REVIEWER = "octo-cat 2"
NAME = "Ada Lovelace"
LESSON = "demo/pipes"
LESSON_TITLE = "Quizzes With Pipes"
URL = "https://bot.example/suggestions/1"
REVIEW = "Please keep it."
SPANISH_PASSAGE = "Cuestionarios"  # the edited passage, as Discord quotes it
DATA = (REVIEWER, NAME, LESSON, LESSON_TITLE, PASSAGE, REPLACEMENT, URL, "Clearer", REVIEW)
DATA += (SPANISH_PASSAGE,)
# Realistic values by placeholder name: numbers where the message counts or numbers.
NUMBERS = re.compile(
    r"count|^id$|line|number|limit|minutes|seconds|hours|days|total|max|size|index|chars"
)


def value_for(name: str) -> Any:
    """Return a realistic value for a placeholder: a number, an address, or a name."""
    if NUMBERS.search(name):
        return 3
    if "url" in name:
        return URL
    return NAME


def audit_text(
    name: str, locale: str, text: str, english: str, data: tuple[str, ...] = DATA
) -> list[str]:
    """Return the problems of one Discord text, against its English rendering."""
    output = Output(name, locale, text_segments(text), data)
    check_clean(output)
    check_translated(output, Output(name, "en", text_segments(english)))
    return output.problems


def embed_text(embed: Any) -> str:
    """Return everything a Discord user reads in an embed, one part a line."""
    parts = [embed.title or "", embed.description or ""]
    for field in embed.fields:
        # discord.py's fields have names; the chat port's are (name, value) pairs.
        name, value = (field.name, field.value) if hasattr(field, "name") else field
        parts += [name or "", value or ""]
    footer = embed.footer if isinstance(embed.footer, str) else embed.footer.text
    return "\n".join([*parts, footer or ""])


# --- every key the Discord side names in its source ------------------------------------------

_LITERAL = re.compile(r"""["']([a-z_]+(?:\.[a-z_]+)*\.(?:[a-z_]+|\{))""")


def discord_keys() -> list[str]:
    """Return every catalog key the Discord side names, literally or by its prefix."""
    english = load_catalog(DEFAULT_LOCALE).messages
    named: set[str] = set()
    for source in _sources():
        for found in _LITERAL.findall(source.read_text(encoding="utf-8")):
            prefix = found.removesuffix("{")
            if found.endswith("{"):
                named |= {key for key in english if key.startswith(prefix)}
            elif found in english:
                named.add(found)
    return sorted(named)


def _sources() -> Iterator[Path]:
    for name in DISCORD_SOURCES:
        path = BOT / name
        yield from sorted(path.rglob("*.py")) if path.is_dir() else [path]


def test_the_source_scan_finds_the_discord_tables() -> None:
    keys = discord_keys()
    for expected in ("discord_suggest.status.open", "suggest.notice.merged", "lesson.links"):
        assert expected in keys
    assert len(keys) > 100


@pytest.mark.parametrize("locale", SERVED_LOCALES)
def test_every_discord_message_reads_right(locale: str) -> None:
    problems: list[str] = []
    english = load_catalog(DEFAULT_LOCALE).messages
    for key in discord_keys():
        message = english[key]
        forms = message.values() if isinstance(message, dict) else [message]
        params = {name: value_for(name) for form in forms for name in placeholders(form)}
        if (locale, key) in SAME_AS_ENGLISH:
            continue
        for count in (1, 3, 11):
            filled = {**params, "count": count}
            problems += audit_text(key, locale, t(locale, key, **filled), t("en", key, **filled))
    assert problems == []


# --- the suggest cog's embeds, labels and refusals -------------------------------------------


@pytest.fixture
async def service(session_factory: Sessions, tmp_path: Path) -> SuggestionService:
    """Return the suggestion service over the fixture lessons."""
    catalogue = load_catalogue(copy_content(tmp_path), "en")
    settings = Settings(web=WebSettings(public_url="https://bot.example"))
    return SuggestionService(
        session_factory,
        Outbox(session_factory),
        settings,
        catalogue=lambda: catalogue,
        signer=SIGNER,
    )


async def reviewed_view(service: SuggestionService, sessions: Sessions) -> SuggestionView:
    """Return a suggestion under review, with a pull request and one event of each kind."""
    author = Author(name=NAME, discord_user_id=7)
    sent = await service.submit(
        SuggestionInput(
            LESSON,
            "es",
            "# Cuestionarios con barras",
            "# Cuestionarios",
            "Clearer",
            SuggestionSource.DISCORD,
            author,
        )
    )
    async with sessions() as session, session.begin():
        await session.execute(
            update(Suggestion)
            .where(Suggestion.id == sent.id)
            .values(
                status=SuggestionStatus.CHANGES_REQUESTED,
                pr_number=7,
                pr_url="https://github.example/lessons/content/pull/7",
            )
        )
        for kind in [*sorted(EVENT_KINDS), UNKNOWN]:
            detail = {"reviewer": REVIEWER, "line": 16, "body": REVIEW}
            if kind == "reviewer_suggestion":
                detail |= {"comment_id": 55, "suggestion": REPLACEMENT}
            session.add(SuggestionEvent(suggestion_id=sent.id, kind=kind, detail=detail))
    view = await service.view(sent.id)
    assert view is not None
    return view


@pytest.mark.parametrize("locale", SERVED_LOCALES)
async def test_the_status_embed_reads_right(
    service: SuggestionService, session_factory: Sessions, locale: str
) -> None:
    view = await reviewed_view(service, session_factory)
    problems: list[str] = []
    for status in [*STATUSES, UNKNOWN]:
        shown = dataclasses.replace(view, status=status)
        problems += audit_text(
            f"status_embed.{status}",
            locale,
            embed_text(status_embed(shown, locale, URL)),
            embed_text(status_embed(shown, "en", URL)),
        )
        problems += audit_text(
            f"status_label.{status}",
            locale,
            status_label(status, locale),
            status_label(status, "en"),
        )
        problems += audit_text(
            f"withdrawn.{status}",
            locale,
            withdrawn_text(status, locale, view.id),
            withdrawn_text(status, "en", view.id),
        )
    for event in view.events:
        detail = dict(event.detail)
        problems += audit_text(
            f"event.{event.kind}",
            locale,
            event_label(event.kind, detail, locale),
            event_label(event.kind, detail, "en"),
        )
    assert problems == []


def refusals() -> Iterator[SuggestionError]:
    """Yield one refusal of every code the catalog has words for, on each modal field."""
    prefix = "suggest.error."
    english = load_catalog(DEFAULT_LOCALE).messages
    for key, message in english.items():
        if not key.startswith(prefix):
            continue
        code = key.removeprefix(prefix)
        forms = message.values() if isinstance(message, dict) else [message]
        params = {
            name: value_for(name)
            for form in forms
            for name in placeholders(form)
            if name not in ("field", "problems")
        }
        if "problems" in placeholders(str(message)):
            # The lesson-check problems the edit would add, as the edit checker finds them.
            params["found"] = added_problems(
                BROKEN_PATH, "# T\n\nText.\n", "# T\n\n<FunFact>\nText.\n"
            )
        for field in ("find", "replace", "reason", None):
            yield SuggestionError(code, field=field, **params)


@pytest.mark.parametrize("locale", SERVED_LOCALES)
def test_every_refusal_reads_right(locale: str) -> None:
    problems: list[str] = []
    for error in refusals():
        problems += audit_text(
            f"refusal.{error.code}.{error.field}",
            locale,
            refusal(error, locale, 3),
            refusal(error, "en", 3),
        )
    assert problems == []


# --- notices (DMs) and their buttons ------------------------------------------------------------


def notice_kinds() -> list[str]:
    """Return every notice the catalog has words for."""
    prefix = "suggest.notice."
    kinds = [
        key.removeprefix(prefix) for key in load_catalog("en").messages if key.startswith(prefix)
    ]
    return [kind for kind in kinds if kind != "proposed_text"]


@pytest.mark.parametrize("locale", SERVED_LOCALES)
async def test_every_notice_and_its_buttons_read_right(
    service: SuggestionService, session_factory: Sessions, locale: str
) -> None:
    view = await reviewed_view(service, session_factory)
    proposals = [dict(event.detail) for event in view.reviewer_suggestions]
    detail = {"reviewer": REVIEWER, "body": REVIEW, "line": 16}
    problems: list[str] = []
    for kind in notice_kinds():
        said = {
            language: service.notice(
                view, kind, detail, language, proposals=proposals, lesson_title=LESSON_TITLE
            )
            for language in (locale, "en")
        }
        problems += audit_text(f"notice.{kind}", locale, said[locale], said["en"])
    buttons = {
        language: "\n".join(
            button.label for button in service.notice_buttons(view, 1, language, proposals)
        )
        for language in (locale, "en")
    }
    problems += audit_text("notice_buttons", locale, buttons[locale], buttons["en"])
    assert problems == []


# --- the digest's embeds ----------------------------------------------------------------------


@pytest.mark.parametrize("locale", SERVED_LOCALES)
async def test_the_digest_embeds_read_right(session_factory: Sessions, locale: str) -> None:
    await seed(session_factory)
    posted: dict[str, str] = {}
    for number, language in enumerate(dict.fromkeys((locale, "en"))):
        settings = Settings(
            locale=language,
            discord=DiscordSettings(digest_channel_id=CHANNEL),
            web=WebSettings(public_url="https://bot.example"),
            digest=DigestSettings(),
        )
        service, worker, chat, _ = make(session_factory, settings)
        await service.run(f"manual:{number}")
        await drain(worker)
        posted[language] = "\n".join(
            content + "\n" + (embed_text(embed) if embed else "")
            for _, content, embed in chat.posts
        )
    assert posted[locale].strip()
    problems = audit_text("digest_embeds", locale, posted[locale], posted["en"], DIGEST_DATA)
    assert problems == []
