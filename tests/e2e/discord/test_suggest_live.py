"""`/suggest` and the lesson posts' button, through discord.py, against the Discord sandbox.

The bot runs with a real SuggestionService over the test database and the project's
sample lessons, without GitHub: suggestions are stored with their job, which stays queued.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bot.config import SuggestionSettings
from bot.discord.client import BotServices, LessonBot, create_bot
from bot.domain.catalogue import load_catalogue
from bot.i18n import t
from bot.services.events import PullRequestEvent, ReviewCommentEvent, ReviewEvent
from bot.services.lessons import LessonDirectory
from bot.services.outbox import Outbox
from bot.services.ports import ChatButton, ChatError, ChatForbiddenError, suggest_button
from bot.services.signing import Signer
from bot.services.suggestions import SuggestionService
from bot.store.models import (
    LessonLink,
    OutboxJob,
    Suggestion,
    SuggestionEvent,
    SuggestionSource,
    SuggestionStatus,
)
from tests.discord.support import LESSONS, make_settings
from tests.e2e.discord.support import (
    ANA,
    ANSWER_TIMEOUT,
    BEN,
    CLOSED,
    EPHEMERAL,
    STRING,
    log_in,
    stop_bot,
)
from tests.events import handled

SUBCOMMAND, INTEGER = 1, 4
MODAL = 9
PRIMARY, SECONDARY, DANGER, LINK = 1, 2, 4, 5

LESSON = "data-basics/what-is-data"
# A passage of the Spanish lesson, and one of the English lesson.
ES_PASSAGE = "Todo sistema de IA empieza con datos."
EN_TITLE_ES = "¿Qué son los datos?"

Sessions = async_sessionmaker[AsyncSession]


class ChatRelay:
    """The chat port of whichever bot runs now: a test restarts the bot, the service stays."""

    def __init__(self) -> None:
        self.chat: Any = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.chat, name)


@pytest.fixture
def service(session_factory: Sessions) -> SuggestionService:
    """Return a suggestion service over the sample lessons, without GitHub."""
    catalogue = load_catalogue(LESSONS, "en")
    # Mia maintains the lessons: her ```suggestion blocks are texts a suggester can take.
    settings = dataclasses.replace(
        make_settings(), suggestions=SuggestionSettings(reviewers=("*:mia",))
    )
    return SuggestionService(
        session_factory,
        Outbox(session_factory),
        settings,
        catalogue=lambda: catalogue,
        signer=Signer(b"k" * 32),
        chat=ChatRelay(),  # type: ignore[arg-type]
    )


def relay(service: SuggestionService) -> ChatRelay:
    """Return the relay a test's service talks to people through."""
    chat = service.chat
    assert isinstance(chat, ChatRelay)
    return chat


Starter = Callable[[], Awaitable[LessonBot]]


async def start_bot(
    sandbox: Any, guild: dict[str, Any], service: SuggestionService
) -> tuple[LessonBot, asyncio.Task[None]]:
    """Start the real bot, with suggested edits, logged in to the sandbox; wait until ready."""
    settings = make_settings(sandbox.api_base_url, sandbox.gateway_url, guild["id"])
    directory = LessonDirectory(load_catalogue(LESSONS), "en")
    bot = create_bot(settings, guild_ready_timeout=0.1)
    await bot.add_service_cogs(BotServices(lessons=directory, suggestions=service))
    task = await log_in(bot)
    relay(service).chat = bot.chat
    return bot, task


@pytest.fixture
async def bot(
    sandbox: Any, guild: dict[str, Any], service: SuggestionService
) -> AsyncIterator[LessonBot]:
    """Yield the real bot, with suggested edits, logged in to the sandbox."""
    bot, task = await start_bot(sandbox, guild, service)
    yield bot
    await stop_bot(bot, task)


async def run_suggest(
    sandbox: Any,
    guild: dict[str, Any],
    user: int,
    subcommand: str,
    options: list[dict[str, Any]],
    locale: str,
) -> dict[str, Any]:
    """Run `/suggest <subcommand>` as a user and return the bot's one answer."""
    interaction_id = await sandbox.run_command(
        guild["id"],
        guild["channels"]["general"],
        user,
        "suggest",
        options=[{"name": subcommand, "type": SUBCOMMAND, "options": options}],
        locale=locale,
    )
    (answer,) = await sandbox.wait_for_interaction_response(interaction_id, timeout=ANSWER_TIMEOUT)
    return answer


async def open_edit(
    sandbox: Any, guild: dict[str, Any], user: int, locale: str, lesson_locale: str | None
) -> dict[str, Any]:
    """Run `/suggest edit` for the sample lesson and return the modal shown."""
    options = [{"name": "lesson", "type": STRING, "value": LESSON}]
    if lesson_locale is not None:
        options.append({"name": "locale", "type": STRING, "value": lesson_locale})
    return await run_suggest(sandbox, guild, user, "edit", options, locale)


async def submit(
    sandbox: Any, guild: dict[str, Any], user: int, locale: str, **fields: str
) -> tuple[int, dict[str, Any]]:
    """Submit the modal the bot last showed a user; return the interaction and the answer."""
    interaction_id = await sandbox.submit_modal(
        guild["id"], guild["channels"]["general"], user, components=fields, locale=locale
    )
    (answer,) = await sandbox.wait_for_interaction_response(interaction_id, timeout=ANSWER_TIMEOUT)
    return interaction_id, answer


def modal_fields(modal: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return a modal's text inputs by custom_id, whatever layout holds them."""
    found: dict[str, dict[str, Any]] = {}
    for row in modal["data"]["components"]:
        for item in [*(row.get("components") or []), row.get("component") or {}]:
            if item.get("type") == 4:
                found[item["custom_id"]] = {**item, "label": item.get("label") or row.get("label")}
    return found


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the buttons of a message."""
    return [item for row in message.get("components") or [] for item in row.get("components") or []]


def assert_no_bookkeeping(content: str) -> None:
    """Fail if a message shows people what only the bot needs (keys, custom_ids)."""
    assert "-# suggestion" not in content and "lessonbot:" not in content, content


async def open_pull_request(sessions: Sessions, suggestion_id: int, number: int = 7) -> None:
    """Record what opening the suggestion's PR would have: its number, open for review."""
    async with sessions() as session, session.begin():
        row = await session.get(Suggestion, suggestion_id)
        assert row is not None
        row.status = SuggestionStatus.OPEN
        row.pr_number, row.pr_url = number, f"https://github.test/o/r/pull/{number}"


def review_comment(comment_id: int, line: int, text: str, review_id: int = 70) -> dict[str, Any]:
    """Return the webhook of Mia's line comment holding a ```suggestion block, on PR 7."""
    return {
        "action": "created",
        "pull_request": {"number": 7},
        "comment": {
            "id": comment_id,
            "pull_request_review_id": review_id,
            "user": {"login": "mia"},
            "path": "programs/data-basics/lessons/es/what-is-data.mdx",
            "line": line,
            "body": f"```suggestion\n{text}\n```",
            "html_url": f"https://github.test/o/r/pull/7#discussion_r{comment_id}",
        },
    }


def review(state: str, body: str, review_id: int = 70) -> dict[str, Any]:
    """Return the webhook of Mia's submitted review of PR 7."""
    return {
        "action": "submitted",
        "pull_request": {"number": 7},
        "review": {"id": review_id, "state": state, "user": {"login": "mia"}, "body": body},
    }


async def tell(service: SuggestionService, sessions: Sessions) -> list[str]:
    """Run the notices due now; return what each did."""
    claims = await Outbox(sessions).claim_due(20, [SuggestionService.NOTIFY_KIND])
    return [await service.run_job(claim) for claim in claims]


async def click(
    sandbox: Any, message: dict[str, Any], user: int, custom_id: str, locale: str
) -> dict[str, Any]:
    """Click a button under a message as a user; return the bot's one answer."""
    clicked = await sandbox.click(
        int(message["channel_id"]), int(message["id"]), user, custom_id, locale=locale
    )
    (answer,) = await sandbox.wait_for_interaction_response(clicked, timeout=ANSWER_TIMEOUT)
    return answer


async def stored(sessions: Sessions) -> list[Suggestion]:
    """Return every stored suggestion with its credits and events."""
    async with sessions() as session:
        query = (
            select(Suggestion)
            .options(selectinload(Suggestion.credits), selectinload(Suggestion.events))
            .order_by(Suggestion.id)
        )
        return list((await session.execute(query)).scalars())


async def send_spanish_suggestion(sandbox: Any, guild: dict[str, Any], user: int) -> int:
    """Suggest an edit of the Spanish lesson as `user`; return the suggestion id."""
    await open_edit(sandbox, guild, user, "es-ES", "es")
    _, answer = await submit(
        sandbox,
        guild,
        user,
        "es-ES",
        find=ES_PASSAGE,
        replace="Todo sistema de IA empieza por los datos.",
        reason="Suena más natural.",
    )
    assert answer["ephemeral"] is True, answer
    return int(answer["data"]["content"].split("sugerencia ")[1].split(";")[0])


# Registering the command group


async def test_suggest_is_one_group_of_five_localized_subcommands(
    sandbox: Any, guild: dict[str, Any], bot: LessonBot
) -> None:
    commands = {command["name"]: command for command in sandbox.commands(guild["id"])}
    assert set(commands) == {"lesson", "suggest"}
    group = commands["suggest"]
    assert group["description"] == t("en", "discord_suggest.group_description")
    assert group["description_localizations"]["es-ES"] == t(
        "es", "discord_suggest.group_description"
    )
    subcommands = {option["name"]: option for option in group["options"]}
    assert set(subcommands) == {"edit", "revise", "accept", "withdraw", "status"}
    assert all(option["type"] == SUBCOMMAND for option in subcommands.values())
    edit = {option["name"]: option for option in subcommands["edit"]["options"]}
    assert edit["lesson"]["required"] and edit["lesson"]["autocomplete"]
    assert not edit["locale"].get("required") and edit["locale"]["autocomplete"]
    assert edit["locale"]["description_localizations"]["fr"] == t(
        "fr", "discord_suggest.locale_option"
    )
    (number,) = subcommands["revise"]["options"]
    assert (number["name"], number["type"], number["required"]) == ("id", INTEGER, True)


async def test_the_locale_option_offers_the_chosen_lessons_languages(
    sandbox: Any, guild: dict[str, Any], bot: LessonBot
) -> None:
    choices = await sandbox.autocomplete(
        guild["id"],
        guild["channels"]["general"],
        ANA,
        "suggest",
        options=[
            {
                "name": "edit",
                "type": SUBCOMMAND,
                "options": [
                    {"name": "lesson", "type": STRING, "value": LESSON},
                    {"name": "locale", "type": STRING, "value": "", "focused": True},
                ],
            }
        ],
        locale="es-ES",
    )
    assert {choice["value"]: choice["name"] for choice in choices} == {
        "ar": "árabe (ar)",
        "en": "inglés (en)",
        "es": "español (es)",
    }


# /suggest edit → modal → submit


async def test_suggest_edit_opens_a_modal_and_stores_the_suggestion_answering_in_spanish(
    sandbox: Any,
    guild: dict[str, Any],
    bot: LessonBot,
    service: SuggestionService,
    session_factory: Sessions,
) -> None:
    modal = await open_edit(sandbox, guild, ANA, "es-ES", None)  # Ana's own language
    assert modal["type"] == MODAL
    title = modal["data"]["title"]
    assert len(title) <= 45
    assert title.startswith(t("es", "discord_suggest.modal_title", lesson="")[:20])
    fields = modal_fields(modal)
    assert list(fields) == ["find", "replace", "reason"]
    assert fields["find"]["style"] == 2  # paragraph
    assert fields["find"]["max_length"] == SuggestionSettings().max_find_chars
    assert fields["find"]["label"] == t("es", "discord_suggest.find_label")
    assert fields["replace"]["required"] is False  # an empty replacement deletes

    interaction_id, answer = await submit(
        sandbox,
        guild,
        ANA,
        "es-ES",
        find=ES_PASSAGE,
        replace="Todo sistema de IA empieza por los datos.",
        reason="Suena más natural.",
    )

    (row,) = await stored(session_factory)
    assert answer["ephemeral"] is True and answer["data"]["flags"] & EPHEMERAL
    assert answer["data"]["content"] == t(
        "es", "discord_suggest.submitted", id=row.id, status_url=service.status_url(row.id)
    )
    assert (row.locale, row.source, row.status) == (
        "es",
        SuggestionSource.DISCORD,
        SuggestionStatus.QUEUED,
    )
    assert row.edit["find"] == ES_PASSAGE
    assert row.reason == "Suena más natural."
    (credit,) = row.credits
    assert (credit.discord_user_id, credit.locale, credit.name) == (ANA, "es", "ana")
    assert credit.idempotency_key == f"discord:{interaction_id}"
    async with session_factory() as session:
        jobs = (await session.execute(select(OutboxJob.dedupe_key, OutboxJob.status))).all()
    assert [(key, str(status)) for key, status in jobs] == [
        (f"suggestion:{row.id}:open", "pending")
    ]
    assert sandbox.channel_messages(guild["channels"]["general"]) == []  # nobody else saw it


async def test_the_same_edit_from_a_second_person_joins_and_says_so(
    sandbox: Any, guild: dict[str, Any], bot: LessonBot, session_factory: Sessions
) -> None:
    first = await send_spanish_suggestion(sandbox, guild, ANA)
    await open_edit(sandbox, guild, BEN, "en-US", "es")
    _, answer = await submit(
        sandbox,
        guild,
        BEN,
        "en-US",
        find=ES_PASSAGE,
        replace="Todo sistema de IA empieza por los datos.",
        reason="Reads better.",
    )
    content = answer["data"]["content"]
    assert content.startswith(t("en", "discord_suggest.submitted", id=first, status_url=""))
    assert content.endswith(t("en", "discord_suggest.joined"))
    (row,) = await stored(session_factory)
    assert sorted(credit.discord_user_id for credit in row.credits) == [ANA, BEN]


async def test_a_passage_not_in_the_lesson_is_refused_and_try_again_keeps_what_was_typed(
    sandbox: Any, guild: dict[str, Any], bot: LessonBot, session_factory: Sessions
) -> None:
    await open_edit(sandbox, guild, ANA, "es-ES", "es")
    typed = {
        "find": "Los datos son observaciones guardadas",
        "replace": "Todo sistema de IA empieza por los datos.",
        "reason": "Suena más natural.",
    }
    _, answer = await submit(sandbox, guild, ANA, "es-ES", **typed)

    assert await stored(session_factory) == []
    assert answer["ephemeral"] is True
    content = answer["data"]["content"]
    # Whatever quotes the translation uses, the message leads up to the closest passage.
    lead = t("es", "suggest.error.find_not_found", closest="\x00").split("\x00")[0]
    assert content.startswith(lead)
    assert "Los datos son observaciones registradas" in content  # the closest passage
    (again,) = buttons(answer["data"])
    assert again["label"] == t("es", "discord_suggest.try_again")

    message_id = int(answer["message"]["id"])
    clicked = await sandbox.click(
        guild["channels"]["general"], message_id, ANA, again["custom_id"], locale="es-ES"
    )
    (reopened,) = await sandbox.wait_for_interaction_response(clicked, timeout=ANSWER_TIMEOUT)
    assert reopened["type"] == MODAL
    assert {key: field.get("value") for key, field in modal_fields(reopened).items()} == typed

    # Fixed, the same modal goes through.
    _, answer = await submit(
        sandbox, guild, ANA, "es-ES", find="Los datos son observaciones registradas"
    )
    (row,) = await stored(session_factory)
    assert row.reason == "Suena más natural."
    assert row.edit["find"] == "Los datos son observaciones registradas"
    assert buttons(answer["data"]) == []


async def test_try_again_after_the_draft_expired_says_so(
    sandbox: Any, guild: dict[str, Any], bot: LessonBot
) -> None:
    await open_edit(sandbox, guild, BEN, "en-US", "en")
    _, answer = await submit(
        sandbox, guild, BEN, "en-US", find="not in the lesson at all", replace="x", reason="y"
    )
    bot.get_cog("SuggestCog").drafts.forget(BEN)  # type: ignore[union-attr]
    (again,) = buttons(answer["data"])
    clicked = await sandbox.click(
        guild["channels"]["general"], int(answer["message"]["id"]), BEN, again["custom_id"]
    )
    (reply,) = await sandbox.wait_for_interaction_response(clicked, timeout=ANSWER_TIMEOUT)
    assert reply["ephemeral"] is True
    assert reply["data"]["content"] == t("en", "discord_suggest.draft_expired")


async def test_an_empty_reason_is_refused_with_the_field_named(
    sandbox: Any, guild: dict[str, Any], bot: LessonBot, session_factory: Sessions
) -> None:
    await open_edit(sandbox, guild, BEN, "en-US", "en")
    _, answer = await submit(
        sandbox, guild, BEN, "en-US", find="Every AI system", replace="Each AI system", reason=" "
    )
    assert answer["data"]["content"] == t("en", "suggest.error.field_empty", field="Why")
    assert await stored(session_factory) == []


async def test_a_lone_surrogate_is_refused_naming_the_field_in_the_users_language(
    sandbox: Any, guild: dict[str, Any], bot: LessonBot, session_factory: Sessions
) -> None:
    await open_edit(sandbox, guild, ANA, "es-ES", "es")
    _, answer = await submit(
        sandbox,
        guild,
        ANA,
        "es-ES",
        find=ES_PASSAGE,
        replace="Todo sistema de IA empieza por los datos.",
        reason="Suena \ud800 mejor.",  # sent as the JSON escape "\ud800": no character
    )
    label = t("es", "discord_suggest.reason_label")
    assert answer["data"]["content"] == t("es", "suggest.error.field_invalid", field=label)
    assert await stored(session_factory) == []


async def test_an_unknown_lesson_or_locale_is_answered_without_a_modal(
    sandbox: Any, guild: dict[str, Any], bot: LessonBot
) -> None:
    answer = await run_suggest(
        sandbox,
        guild,
        ANA,
        "edit",
        [{"name": "lesson", "type": STRING, "value": "data-basics/nope"}],
        "es-ES",
    )
    assert answer["ephemeral"] is True
    assert answer["data"]["content"] == t(
        "es", "lesson.not_found", lesson="data-basics/nope", example="`data-basics/what-is-data`"
    )
    answer = await open_edit(sandbox, guild, ANA, "es-ES", "fr")
    assert answer["type"] != MODAL and answer["ephemeral"] is True
    assert answer["data"]["content"] == t(
        "es", "suggest.error.locale_unknown", locale="fr", locales="ar, en, es"
    )


async def test_a_mistyped_lesson_is_answered_with_the_closest_and_the_form(
    sandbox: Any, guild: dict[str, Any], bot: LessonBot
) -> None:
    lesson = [{"name": "lesson", "type": STRING, "value": "data-basic/cleaning-dta"}]
    answer = await run_suggest(sandbox, guild, ANA, "edit", lesson, "es-ES")

    assert answer["type"] != MODAL and answer["ephemeral"] is True
    assert answer["data"]["content"] == (
        "No hay ninguna lección «data-basic/cleaning-dta». ¿Querías decir "
        "`data-basics/cleaning-data` (Limpieza de datos)? Las lecciones se indican como "
        "program/slug."
    )


async def test_a_typed_slug_or_title_opens_the_modal_for_that_lesson(
    sandbox: Any, guild: dict[str, Any], bot: LessonBot
) -> None:
    for typed in ("what-is-data", "¿Qué son los datos?"):
        lesson = [{"name": "lesson", "type": STRING, "value": typed}]
        modal = await run_suggest(sandbox, guild, ANA, "edit", lesson, "es-ES")
        assert modal["type"] == MODAL
        assert modal["data"]["title"] == t("es", "discord_suggest.modal_title", lesson=EN_TITLE_ES)


# The lesson post's button


def text_displays(modal: dict[str, Any]) -> list[str]:
    """Return the lines of text a modal shows above its fields."""
    return [row["content"] for row in modal["data"]["components"] if row.get("type") == 10]


async def test_a_lesson_posts_button_opens_the_lesson_in_the_clickers_language(
    sandbox: Any, guild: dict[str, Any], bot: LessonBot, session_factory: Sessions
) -> None:
    # As `lessonbot sync` makes it: the post's (default) locale in its id.
    button = suggest_button(LESSON, "en", t("en", "discord_suggest.button"))
    assert button is not None and button.custom_id == f"lessonbot:suggest:{LESSON}:en"
    post = await bot.chat.create_forum_post(
        guild["channels"]["data-basics"], "What Is Data?", "Talk here.", button=button
    )
    (starter,) = sandbox.channel_messages(post.thread_id)
    (shown,) = buttons(starter)
    assert (shown["label"], shown["custom_id"]) == ("Suggest an edit", button.custom_id)

    # Ana's Discord is in Spanish, and the lesson has a Spanish version: that one, in Spanish.
    clicked = await sandbox.click(post.thread_id, post.message_ids[0], ANA, button.custom_id)
    (modal,) = await sandbox.wait_for_interaction_response(clicked, timeout=ANSWER_TIMEOUT)
    assert modal["type"] == MODAL
    assert modal["data"]["title"] == t("es", "discord_suggest.modal_title", lesson=EN_TITLE_ES)
    assert modal_fields(modal)["find"]["label"] == t("es", "discord_suggest.find_label")
    assert text_displays(modal) == []
    await submit(
        sandbox,
        guild,
        ANA,
        "es-ES",
        find=ES_PASSAGE,
        replace="Todo sistema de IA empieza por los datos.",
        reason="Suena más natural.",
    )
    (row,) = await stored(session_factory)
    assert row.locale == "es" and row.path == "programs/data-basics/lessons/es/what-is-data.mdx"

    # Ben's is in French, which the lesson lacks: the English one, and one line says so.
    clicked = await sandbox.click(
        post.thread_id, post.message_ids[0], BEN, button.custom_id, locale="fr"
    )
    (modal,) = await sandbox.wait_for_interaction_response(clicked, timeout=ANSWER_TIMEOUT)
    assert modal["data"]["title"] == t("fr", "discord_suggest.modal_title", lesson="What Is Data?")
    assert modal_fields(modal)["reason"]["label"] == t("fr", "discord_suggest.reason_label")
    assert text_displays(modal) == [t("fr", "discord_suggest.other_language", language="anglais")]
    await submit(
        sandbox,
        guild,
        BEN,
        "fr",
        find="Every AI system starts with data.",
        replace="Every AI system begins with data.",
        reason="Plus clair.",
    )
    rows = await stored(session_factory)
    assert [(each.locale, each.path) for each in rows][1:] == [
        ("en", "programs/data-basics/lessons/en/what-is-data.mdx")
    ]


async def test_the_button_can_be_added_to_an_existing_starter_message(
    sandbox: Any, guild: dict[str, Any], bot: LessonBot
) -> None:
    post = await bot.chat.create_forum_post(
        guild["channels"]["data-basics"], "What Is Data?", "Talk here."
    )
    (starter,) = sandbox.channel_messages(post.thread_id)
    assert buttons(starter) == []
    button = ChatButton("Sugerir un cambio", f"lessonbot:suggest:{LESSON}:es")
    await bot.chat.edit_message(post.thread_id, post.message_ids[0], button=button)
    (starter,) = sandbox.channel_messages(post.thread_id)
    assert [(b["label"], b["custom_id"]) for b in buttons(starter)] == [
        ("Sugerir un cambio", button.custom_id)
    ]
    assert starter["content"] == "Talk here."  # the content is left as it was
    # A custom_id Discord cannot take leaves the message without a button, not failing.
    too_long = ChatButton("x", "lessonbot:suggest:" + "p" * 80 + "/s:en")
    other = await bot.chat.create_forum_post(
        guild["channels"]["data-basics"], "Long", "Talk here.", button=too_long
    )
    assert buttons(sandbox.channel_messages(other.thread_id)[0]) == []


# Acting on a suggestion


async def test_the_suggester_revises_and_another_user_is_refused_in_their_language(
    sandbox: Any, guild: dict[str, Any], bot: LessonBot, session_factory: Sessions
) -> None:
    suggestion_id = await send_spanish_suggestion(sandbox, guild, ANA)
    id_option = [{"name": "id", "type": INTEGER, "value": suggestion_id}]

    refused = await run_suggest(sandbox, guild, BEN, "revise", id_option, "en-US")
    assert refused["ephemeral"] is True and refused["type"] != MODAL
    assert refused["data"]["content"] == t("en", "discord_suggest.not_yours", id=suggestion_id)

    modal = await run_suggest(sandbox, guild, ANA, "revise", id_option, "es-ES")
    assert modal["type"] == MODAL
    assert modal["data"]["title"] == t("es", "discord_suggest.revise_title", id=suggestion_id)
    # A further edit must apply on the lesson as already edited: "con datos" is gone.
    _, refused = await submit(
        sandbox, guild, ANA, "es-ES", find="empieza con datos", replace="x", reason="Más preciso."
    )
    assert refused["data"]["content"].startswith(
        t("es", "suggest.error.find_not_found", closest="\x00").split("\x00")[0]
    )
    (again,) = buttons(refused["data"])
    clicked = await sandbox.click(
        guild["channels"]["general"], int(refused["message"]["id"]), ANA, again["custom_id"]
    )
    (reopened,) = await sandbox.wait_for_interaction_response(clicked, timeout=ANSWER_TIMEOUT)
    assert reopened["data"]["title"] == modal["data"]["title"]
    assert modal_fields(reopened)["find"]["value"] == "empieza con datos"
    _, answer = await submit(
        sandbox,
        guild,
        ANA,
        "es-ES",
        find="por los datos",
        replace="por sus datos",
        reason="Más preciso.",
    )
    assert answer["data"]["content"].startswith(
        t("es", "discord_suggest.revised", id=suggestion_id, status_url="")
    )
    (row,) = await stored(session_factory)
    assert row.edit["revisions"] == [
        {"find": "por los datos", "replace": "por sus datos", "reason": "Más preciso."}
    ]


async def test_the_suggester_withdraws_and_another_user_cannot(
    sandbox: Any, guild: dict[str, Any], bot: LessonBot, session_factory: Sessions
) -> None:
    suggestion_id = await send_spanish_suggestion(sandbox, guild, ANA)
    id_option = [{"name": "id", "type": INTEGER, "value": suggestion_id}]

    refused = await run_suggest(sandbox, guild, BEN, "withdraw", id_option, "en-US")
    assert refused["data"]["content"] == t("en", "discord_suggest.not_yours", id=suggestion_id)
    assert (await stored(session_factory))[0].status == SuggestionStatus.QUEUED

    answer = await run_suggest(sandbox, guild, ANA, "withdraw", id_option, "es-ES")
    assert answer["ephemeral"] is True
    assert answer["data"]["content"] == t("es", "discord_suggest.withdrawn", id=suggestion_id)
    assert (await stored(session_factory))[0].status == SuggestionStatus.WITHDRAWN

    again = await run_suggest(sandbox, guild, ANA, "withdraw", id_option, "es-ES")
    assert again["data"]["content"] == t("es", "discord_suggest.not_yours", id=suggestion_id)


async def test_the_suggester_accepts_a_reviewers_text_and_another_user_cannot(
    sandbox: Any, guild: dict[str, Any], bot: LessonBot, session_factory: Sessions
) -> None:
    suggestion_id = await send_spanish_suggestion(sandbox, guild, ANA)
    id_option = [{"name": "id", "type": INTEGER, "value": suggestion_id}]
    nothing = await run_suggest(sandbox, guild, ANA, "accept", id_option, "es-ES")
    assert nothing["ephemeral"] is True
    assert nothing["data"]["content"] == t("es", "suggest.error.not_revisable", state="queued")

    # What the review webhooks would have stored: an open PR and a reviewer's proposal.
    async with session_factory() as session, session.begin():
        row = await session.get(Suggestion, suggestion_id)
        assert row is not None
        row.status = SuggestionStatus.CHANGES_REQUESTED
        row.pr_number, row.pr_url = 7, "https://github.test/o/r/pull/7"
        session.add(
            SuggestionEvent(
                suggestion_id=suggestion_id,
                kind="reviewer_suggestion",
                detail={"comment_id": 55, "line": 12, "reviewer": "mia", "suggestion": "Texto."},
                created_at=row.created_at,
            )
        )

    refused = await run_suggest(sandbox, guild, BEN, "accept", id_option, "en-US")
    assert refused["data"]["content"] == t("en", "discord_suggest.not_yours", id=suggestion_id)
    answer = await run_suggest(sandbox, guild, ANA, "accept", id_option, "es-ES")
    assert answer["ephemeral"] is True
    assert answer["data"]["content"].startswith(
        t("es", "discord_suggest.accepted", id=suggestion_id, status_url="")
    )
    (row,) = await stored(session_factory)
    assert [e.detail for e in row.events if e.kind == "accepted"] == [{"comment_id": 55}]
    async with session_factory() as session:
        keys = set((await session.execute(select(OutboxJob.dedupe_key))).scalars())
    assert f"suggestion:{suggestion_id}:accept:55" in keys


async def test_status_shows_the_suggestion_ephemerally_to_anyone(
    sandbox: Any,
    guild: dict[str, Any],
    bot: LessonBot,
    service: SuggestionService,
    session_factory: Sessions,
) -> None:
    suggestion_id = await send_spanish_suggestion(sandbox, guild, ANA)
    async with session_factory() as session, session.begin():
        row = await session.get(Suggestion, suggestion_id)
        assert row is not None
        row.status = SuggestionStatus.OPEN
        row.pr_number, row.pr_url = 7, "https://github.test/o/r/pull/7"
    id_option = [{"name": "id", "type": INTEGER, "value": suggestion_id}]

    answer = await run_suggest(sandbox, guild, BEN, "status", id_option, "en-US")

    assert answer["ephemeral"] is True
    (embed,) = answer["data"]["embeds"]
    assert embed["title"] == f"Suggestion {suggestion_id} · {LESSON}"
    assert embed["url"] == service.status_url(suggestion_id)
    fields = {field["name"]: field["value"] for field in embed["fields"]}
    assert fields["Status"] == "Open"
    assert fields["Pull request"] == "[#7](https://github.test/o/r/pull/7)"
    assert fields["Latest events"].endswith("Sent")

    spanish = await run_suggest(sandbox, guild, ANA, "status", id_option, "es-ES")
    fields = {f["name"]: f["value"] for f in spanish["data"]["embeds"][0]["fields"]}
    assert fields["Estado"] == "Abierta"

    missing = [{"name": "id", "type": INTEGER, "value": 999}]
    answer = await run_suggest(sandbox, guild, ANA, "status", missing, "es-ES")
    assert answer["ephemeral"] is True
    assert answer["data"]["content"] == t("es", "suggest.error.not_found", id=999)


# /lesson


async def test_lesson_lists_the_lessons_open_suggestions(
    sandbox: Any, guild: dict[str, Any], bot: LessonBot, service: SuggestionService
) -> None:
    suggestion_id = await send_spanish_suggestion(sandbox, guild, ANA)
    interaction_id = await sandbox.run_command(
        guild["id"],
        guild["channels"]["general"],
        ANA,
        "lesson",
        options=[{"name": "lesson", "type": STRING, "value": LESSON}],
        locale="es-ES",
    )
    answers = await sandbox.wait_for_interaction_response(interaction_id, timeout=ANSWER_TIMEOUT)
    (embed,) = answers[-1]["message"]["embeds"]
    fields = {field["name"]: field["value"] for field in embed["fields"]}
    assert fields["Cambios sugeridos"] == (
        f"[#{suggestion_id}]({service.status_url(suggestion_id)}) · En cola"
    )


# Telling suggesters: DMs, and DMs closed


async def test_a_closed_dm_is_refused_with_50007_and_the_port_says_forbidden(
    sandbox: Any, guild: dict[str, Any], bot: LessonBot
) -> None:
    channel_id = await bot.chat.dm_channel_id(ANA)
    assert channel_id == sandbox.dm_channel(ANA)
    await bot.chat.send_dm(ANA, "Hola")
    sandbox.update_user(ANA, accepts_dms=False)
    sandbox.clear_requests()
    with pytest.raises(ChatForbiddenError) as refused:
        await bot.chat.send_dm(ANA, "Adiós")
    assert refused.value.status == 403
    (request,) = [r for r in sandbox.requests if r["method"] == "POST"]
    assert request["status"] == 403
    assert [m["content"] for m in sandbox.dms(ANA)] == ["Hola"]
    sandbox.update_user(ANA, accepts_dms=True)
    await bot.chat.send_dm(ANA, "Otra vez")
    assert [m["content"] for m in sandbox.dms(ANA)] == ["Hola", "Otra vez"]


async def test_a_suggester_with_closed_dms_is_told_in_the_lesson_post(
    sandbox: Any,
    guild: dict[str, Any],
    bot: LessonBot,
    service: SuggestionService,
    session_factory: Sessions,
) -> None:
    suggestion_id = await send_spanish_suggestion(sandbox, guild, ANA)
    sandbox.update_user(ANA, accepts_dms=False)
    post = await bot.chat.create_forum_post(
        guild["channels"]["data-basics"], "¿Qué son los datos?", "Habla aquí."
    )
    async with session_factory() as session, session.begin():
        row = await session.get(Suggestion, suggestion_id)
        assert row is not None
        # The PR the bot opened and recorded: only its number matches webhook events.
        row.pr_number = 7
        session.add(
            LessonLink(
                lesson_id=row.lesson_id,
                discord_thread_id=post.thread_id,
                discord_starter_message_id=post.message_ids[0],
            )
        )
    # The PR is closed unmerged: each suggester is told.
    closed = {
        "action": "closed",
        "pull_request": {
            "number": 7,
            "merged": False,
            "html_url": "https://github.test/o/r/pull/7",
            "head": {"ref": f"lessonbot/suggest/{suggestion_id}"},
        },
        "sender": {"login": "mia"},
    }
    assert await handled(PullRequestEvent, service.on_pull_request, closed) == "closed"
    claims = await Outbox(session_factory).claim_due(10, [SuggestionService.NOTIFY_KIND])
    assert len(claims) == 1
    assert await service.run_job(claims[0]) == "replied in the lesson's post"
    assert sandbox.dms(ANA) == []
    told = sandbox.channel_messages(post.thread_id)[-1]
    assert told["content"].startswith(f"<@{ANA}> ")
    assert_no_bookkeeping(told["content"])
    # Closed: nothing left to do but look, on the status page at this step, in Spanish.
    (closed_id,) = [
        event.id for event in (await stored(session_factory))[0].events if event.kind == "closed"
    ]
    assert [(b["style"], b["label"], b.get("url")) for b in buttons(told)] == [
        (LINK, t("es", "suggest.button.status"), service.step_url(suggestion_id, closed_id, "es"))
    ]


# A review told with its proposed texts, and the buttons under each told step


async def test_a_review_is_told_with_its_proposals_and_buttons_that_work_after_a_restart(
    sandbox: Any, guild: dict[str, Any], service: SuggestionService, session_factory: Sessions
) -> None:
    bot, task = await start_bot(sandbox, guild, service)
    try:
        suggestion_id = await send_spanish_suggestion(sandbox, guild, ANA)
    finally:
        await stop_bot(bot, task)
    await open_pull_request(session_factory, suggestion_id)
    # GitHub sends a review's comments and the review itself in no fixed order: here one
    # proposed text comes before the review, and one after the review was told.
    first = "Todo sistema de IA parte de los datos."
    later = "Los datos son el punto de partida."
    assert (
        await handled(ReviewCommentEvent, service.on_review_comment, review_comment(55, 12, first))
        == "reviewer suggestion"
    )
    assert await handled(
        ReviewEvent, service.on_review, review("changes_requested", "Casi: una palabra.")
    ) == ("changes requested")
    bot, task = await start_bot(sandbox, guild, service)
    try:
        assert await tell(service, session_factory) == ["sent a DM"]
        assert await handled(
            ReviewCommentEvent, service.on_review_comment, review_comment(56, 14, later)
        ) == ("reviewer suggestion")
        assert await tell(service, session_factory) == ["sent a DM"]
        assert await tell(service, session_factory) == []  # each told once
    finally:
        await stop_bot(bot, task)

    asked, proposed = sandbox.dms(ANA)
    events = {event.kind: event.id for event in (await stored(session_factory))[0].events}
    # The review's step: the reviewer's words and the text proposed with it, who proposed
    # it and for which line, each in a block of its own; in Ana's Spanish.
    assert asked["content"] == (
        t(
            "es",
            "suggest.notice.changes_requested",
            reviewer="mia",
            lesson=EN_TITLE_ES,
            summary="\n```\nCasi: una palabra.\n```",
        ).replace(": \n", ":\n")
        + "\n"
        + t(
            "es", "suggest.notice.proposed_text", reviewer="mia", line=12, text=f"```\n{first}\n```"
        )
    )
    assert_no_bookkeeping(asked["content"])
    step_url = service.step_url(suggestion_id, events["changes_requested"], "es")
    assert [
        (b["style"], b["label"], b.get("custom_id") or b.get("url")) for b in buttons(asked)
    ] == [
        (
            PRIMARY,
            t("es", "suggest.button.use", line=12),
            f"lessonbot:suggestion:use:{suggestion_id}:55",
        ),
        (
            SECONDARY,
            t("es", "suggest.button.revise"),
            f"lessonbot:suggestion:revise:{suggestion_id}",
        ),
        (
            DANGER,
            t("es", "suggest.button.withdraw"),
            f"lessonbot:suggestion:withdraw:{suggestion_id}",
        ),
        (LINK, t("es", "suggest.button.status"), step_url),
    ]
    # The text proposed after the review was told comes on its own, with its own button.
    assert proposed["content"].startswith(t("es", "suggest.notice.proposal", lesson=EN_TITLE_ES))
    assert f"```\n{later}\n```" in proposed["content"] and first not in proposed["content"]
    assert_no_bookkeeping(proposed["content"])
    assert buttons(proposed)[0]["custom_id"] == f"lessonbot:suggestion:use:{suggestion_id}:56"

    # A new process: the buttons of messages sent before it still answer.
    bot, task = await start_bot(sandbox, guild, service)
    try:
        used = await click(sandbox, asked, ANA, buttons(asked)[0]["custom_id"], "es-ES")
        assert used["ephemeral"] is True
        assert used["data"]["content"] == t(
            "es",
            "discord_suggest.accepted",
            id=suggestion_id,
            status_url=service.status_url(suggestion_id),
        )
        again = await click(sandbox, asked, ANA, buttons(asked)[0]["custom_id"], "es-ES")
        assert again["data"]["content"] == t("es", "suggest.error.proposal_accepted")

        # Revise opens the modal filled with the passage as it reads now, for Ana to edit.
        modal = await click(sandbox, asked, ANA, buttons(asked)[1]["custom_id"], "es-ES")
        assert modal["type"] == MODAL
        assert modal["data"]["title"] == t("es", "discord_suggest.revise_title", id=suggestion_id)
        values = {key: field.get("value") for key, field in modal_fields(modal).items()}
        assert values == {
            "find": "Todo sistema de IA empieza por los datos.",
            "replace": "Todo sistema de IA empieza por los datos.",
            "reason": None,
        }

        # Withdraw asks first; its confirmation withdraws.
        ask = await click(sandbox, asked, ANA, buttons(asked)[2]["custom_id"], "es-ES")
        assert ask["ephemeral"] is True
        assert ask["data"]["content"] == t(
            "es", "discord_suggest.withdraw_confirm", id=suggestion_id
        )
        assert (await stored(session_factory))[0].status == SuggestionStatus.CHANGES_REQUESTED
        (yes,) = buttons(ask["data"])
        assert (yes["style"], yes["label"]) == (DANGER, t("es", "discord_suggest.withdraw_yes"))
        done = await click(sandbox, ask["message"], ANA, yes["custom_id"], "es-ES")
        assert done["ephemeral"] is True
        assert done["data"]["content"] == t("es", "discord_suggest.withdrawn", id=suggestion_id)
    finally:
        await stop_bot(bot, task)
    (row,) = await stored(session_factory)
    assert row.status == SuggestionStatus.WITHDRAWN
    assert [e.detail for e in row.events if e.kind == "accepted"] == [{"comment_id": 55}]
    async with session_factory() as session:
        keys = set((await session.execute(select(OutboxJob.dedupe_key))).scalars())
    assert f"suggestion:{suggestion_id}:accept:55" in keys


async def test_only_a_suggester_may_use_the_buttons_of_a_reply_in_the_lesson_post(
    sandbox: Any,
    guild: dict[str, Any],
    bot: LessonBot,
    service: SuggestionService,
    session_factory: Sessions,
) -> None:
    suggestion_id = await send_spanish_suggestion(sandbox, guild, ANA)
    sandbox.update_user(ANA, accepts_dms=False)
    post = await bot.chat.create_forum_post(
        guild["channels"]["data-basics"], "¿Qué son los datos?", "Habla aquí."
    )
    await open_pull_request(session_factory, suggestion_id)
    async with session_factory() as session, session.begin():
        row = await session.get(Suggestion, suggestion_id)
        assert row is not None
        session.add(
            LessonLink(
                lesson_id=row.lesson_id,
                discord_thread_id=post.thread_id,
                discord_starter_message_id=post.message_ids[0],
            )
        )
    await handled(
        ReviewCommentEvent,
        service.on_review_comment,
        review_comment(55, 12, "Todo parte de los datos."),
    )
    await handled(ReviewEvent, service.on_review, review("changes_requested", ""))
    assert await tell(service, session_factory) == ["replied in the lesson's post"]
    told = sandbox.channel_messages(post.thread_id)[-1]
    assert told["content"].startswith(f"<@{ANA}> ")
    assert_no_bookkeeping(told["content"])
    use, revise, withdraw, _ = buttons(told)

    for custom_id in (use["custom_id"], revise["custom_id"], withdraw["custom_id"]):
        refused = await click(sandbox, told, BEN, custom_id, "en-US")
        assert refused["ephemeral"] is True and refused["type"] != MODAL
        assert refused["data"]["content"] == t("en", "discord_suggest.not_yours", id=suggestion_id)
    (row,) = await stored(session_factory)
    assert row.status == SuggestionStatus.CHANGES_REQUESTED
    assert [e.kind for e in row.events if e.kind in ("accepted", "withdrawn")] == []


class LosesAnswers:
    """The bot's chat port, but a message's answer is lost after it went out (a crash)."""

    def __init__(self, chat: Any) -> None:
        self.chat = chat

    def __getattr__(self, name: str) -> Any:
        return getattr(self.chat, name)

    async def post_message(self, channel_id: int, content: str, **options: Any) -> list[int]:
        await self.chat.post_message(channel_id, content, **options)
        raise ChatError("post message", 0, "connection lost")


async def test_a_retried_notice_finds_its_own_reply_in_the_post_and_only_its_own(
    sandbox: Any,
    guild: dict[str, Any],
    bot: LessonBot,
    service: SuggestionService,
    session_factory: Sessions,
) -> None:
    # Ben and Cleo sent the same edit; neither takes DMs, so both are told in the post.
    suggestion_id = await send_spanish_suggestion(sandbox, guild, BEN)
    assert await send_spanish_suggestion(sandbox, guild, CLOSED) == suggestion_id
    sandbox.update_user(BEN, accepts_dms=False)
    post = await bot.chat.create_forum_post(
        guild["channels"]["data-basics"], "¿Qué son los datos?", "Habla aquí."
    )
    await open_pull_request(session_factory, suggestion_id)
    async with session_factory() as session, session.begin():
        row = await session.get(Suggestion, suggestion_id)
        assert row is not None
        session.add(
            LessonLink(
                lesson_id=row.lesson_id,
                discord_thread_id=post.thread_id,
                discord_starter_message_id=post.message_ids[0],
            )
        )
    await handled(ReviewEvent, service.on_review, review("approved", ""))
    outbox = Outbox(session_factory)
    claims = await outbox.claim_due(10, [SuggestionService.NOTIFY_KIND])
    credits = {c.id: c.discord_user_id for c in (await stored(session_factory))[0].credits}
    ben, cleo = sorted(claims, key=lambda claim: credits[claim.payload["credit_id"]] != BEN)

    # Ben's reply goes out, but its answer is lost: the job will be tried again.
    relay(service).chat = LosesAnswers(bot.chat)
    assert (await service.run_job(ben)).startswith("queued: ")
    relay(service).chat = bot.chat
    # Cleo's attempt after a crash finds Ben's reply, to the same step: not hers, so she
    # is told.
    assert await service.run_job(dataclasses.replace(cleo, uncertain=True)) == (
        "replied in the lesson's post"
    )
    # Ben's next attempt finds his own and sends nothing twice.
    again = await outbox.claim(ben.job_id)
    assert again is not None and again.uncertain
    assert await service.run_job(again) == "replied in the lesson's post (found after a crash)"

    replies = [m["content"] for m in sandbox.channel_messages(post.thread_id)[1:]]
    assert sorted(reply.split(" ", 1)[0] for reply in replies) == sorted(
        [f"<@{BEN}>", f"<@{CLOSED}>"]
    )
    for reply in replies:
        assert_no_bookkeeping(reply)
