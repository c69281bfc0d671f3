"""The /suggest cog's parts: drafts kept for "Try again", button ids, modals, embeds."""

from __future__ import annotations

from datetime import UTC, datetime

import discord
import pytest
from discord import app_commands

from bot.config import SuggestionSettings
from bot.discord.cogs.lessons import LessonsCog, lesson_embed
from bot.discord.cogs.suggest import (
    Draft,
    Drafts,
    StepButton,
    SuggestButton,
    SuggestCog,
    SuggestModal,
    parse_suggest_id,
    refusal,
    status_embed,
)
from bot.i18n import load_catalog, t
from bot.services.ports import suggest_button, suggestion_button_id
from bot.services.suggestions import EventView, SuggestionError, SuggestionView
from tests.discord.support import make_services
from tests.i18n.test_catalogs import SERVED_LOCALES

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


class Clock:
    """A clock a test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def text_inputs(modal: SuggestModal) -> list[discord.ui.TextInput[SuggestModal]]:
    """Return a modal's text inputs, in order, out of their labels."""
    return [
        item.component
        for item in modal.children
        if isinstance(item, discord.ui.Label) and isinstance(item.component, discord.ui.TextInput)
    ]


def test_a_draft_is_kept_for_a_while_then_forgotten() -> None:
    clock = Clock()
    drafts = Drafts(seconds=60, clock=clock)
    draft = Draft(kind="edit", locale="es", identity="data-basics/what-is-data", find="x")
    drafts.keep(1, draft)
    clock.now += 59
    assert drafts.get(1) == draft
    clock.now += 2
    assert drafts.get(1) is None
    assert len(drafts) == 0


def test_drafts_keep_one_per_person_and_drop_the_oldest_when_full() -> None:
    clock = Clock()
    drafts = Drafts(seconds=60, limit=2, clock=clock)
    for user in (1, 2, 1, 3):
        drafts.keep(user, Draft(kind="revise", locale="", suggestion_id=user))
    assert drafts.get(2) is None  # the oldest went when 3 came
    assert [drafts.get(user) is not None for user in (1, 3)] == [True, True]
    drafts.forget(1)
    assert drafts.get(1) is None


def test_a_post_buttons_custom_id_parses_back_to_the_lesson_and_locale() -> None:
    button = suggest_button("data-basics/what-is-data", "es", "Sugerir un cambio")
    assert button is not None
    assert button.custom_id == "lessonbot:suggest:data-basics/what-is-data:es"
    assert parse_suggest_id(button.custom_id) == ("data-basics/what-is-data", "es")
    match = SuggestButton.__discord_ui_compiled_template__.fullmatch(button.custom_id)
    assert match is not None
    assert (match["identity"], match["locale"]) == ("data-basics/what-is-data", "es")
    for wrong in ("lessonbot:suggest:no-slug:es", "lessonbot:suggest-again", "other:a/b:en"):
        assert parse_suggest_id(wrong) is None


def test_a_lesson_whose_button_id_cannot_fit_gets_no_button() -> None:
    assert suggest_button("p/" + "s" * 77, "en", "Suggest") is not None  # exactly 100
    assert suggest_button("p/" + "s" * 78, "en", "Suggest") is None


def test_the_buttons_under_a_told_step_parse_back_and_fit_discord() -> None:
    template = StepButton.__discord_ui_compiled_template__
    for action, comment in (("use", 9 * 10**19), ("revise", None), ("withdraw", None)):
        custom_id = suggestion_button_id(action, 999_999_999_999, comment)
        assert len(custom_id) <= 100
        match = template.fullmatch(custom_id)
        assert match is not None
        assert (match["action"], int(match["id"])) == (action, 999_999_999_999)
        assert match["comment"] == (str(comment) if comment else None)
    for wrong in (
        "lessonbot:suggestion:use:4",  # which text?
        "lessonbot:suggestion:revise:0",
        "lessonbot:suggestion:merge:4",
        "lessonbot:suggest:data-basics/what-is-data:es",
    ):
        assert template.fullmatch(wrong) is None, wrong
    # The lesson posts' button takes none of these for its own.
    assert (
        SuggestButton.__discord_ui_compiled_template__.fullmatch(suggestion_button_id("revise", 4))
        is None
    )


def test_refusals_name_the_discord_account_not_a_token() -> None:
    assert refusal(SuggestionError("token_invalid", status=403), "es", 7) == t(
        "es", "discord_suggest.not_yours", id=7
    )
    error = SuggestionError("not_revisable", status=409, state="merged")
    assert refusal(error, "en", 7) == error.message("en")
    too_long = SuggestionError("field_too_long", field="find", limit=2000)
    assert refusal(too_long, "es-ES", 0) == t(
        "es",
        "suggest.error.field_too_long",
        field=t("es", "discord_suggest.find_label"),
        limit=2000,
    )


@pytest.mark.parametrize("locale", SERVED_LOCALES)
def test_modals_fit_discords_limits_in_every_locale(locale: str) -> None:
    cog = SuggestCog(
        None,  # type: ignore[arg-type]
        make_services().lessons,
        SuggestionSettings(max_find_chars=9000, max_reason_chars=300),
    )
    draft = Draft(kind="edit", locale="es", identity="p/s", title="A very long title " * 10)
    modal = SuggestModal(cog, draft, locale)
    assert 1 <= len(modal.title) <= 45
    labels = [item for item in modal.children if isinstance(item, discord.ui.Label)]
    assert all(1 <= len(label.text) <= 45 for label in labels)
    inputs = text_inputs(modal)
    assert [item.custom_id for item in inputs] == ["find", "replace", "reason"]
    assert [item.max_length for item in inputs] == [4000, 4000, 300]  # Discord's cap, then ours
    assert all(len(item.placeholder or "") <= 100 for item in inputs)
    revise = SuggestModal(cog, Draft(kind="revise", locale="", suggestion_id=12345678), locale)
    assert 1 <= len(revise.title) <= 45


def test_modals_are_prefilled_with_what_was_typed() -> None:
    cog = SuggestCog(None, make_services().lessons)  # type: ignore[arg-type]
    draft = Draft(kind="edit", locale="en", identity="p/s", find="a", replace="", reason="c")
    inputs = text_inputs(SuggestModal(cog, draft, "en"))
    assert [item.default for item in inputs] == ["a", None, "c"]


def test_command_descriptions_are_the_english_catalogs_and_fit() -> None:
    english = load_catalog("en").messages
    group = SuggestCog.suggest
    texts = [group._locale_description]
    for command in group.commands:
        assert isinstance(command, app_commands.Command)
        texts.append(command._locale_description)
        texts += [parameter.description for parameter in command._params.values()]
    assert len(texts) == 1 + 5 + 2 + 4  # the group, five commands, their options
    for text in texts:
        assert isinstance(text, app_commands.locale_str)
        key = text.extras["key"]
        assert text.message == english[key], key
        for locale in SERVED_LOCALES:
            assert len(t(locale, key)) <= 100, (locale, key)


def _view(**changes: object) -> SuggestionView:
    fields: dict[str, object] = {
        "id": 3,
        "lesson": "data-basics/what-is-data",
        "locale": "es",
        "path": "programs/data-basics/lessons/es/what-is-data.mdx",
        "status": "changes_requested",
        "pr_number": 9,
        "pr_url": "https://github.test/o/r/pull/9",
        "error": None,
        "find": "a",
        "replace": "b",
        "reason": "c",
        "credited": ("ana",),
        "created_at": AT,
        "events": (
            EventView("submitted", AT, {"source": "discord"}),
            EventView("pr_opened", AT, {"pr_number": 9}),
            EventView("changes_requested", AT, {"reviewer": "mia_b", "body": "Shorter"}),
            EventView(
                "reviewer_suggestion",
                AT,
                {"comment_id": 5, "line": 12, "reviewer": "mia_b", "suggestion": "@everyone hi"},
            ),
        ),
    }
    fields.update(changes)
    return SuggestionView(**fields)  # type: ignore[arg-type]


def test_the_status_embed_shows_status_pr_proposal_and_events_in_the_users_language() -> None:
    embed = status_embed(_view(), "es-ES", "https://bot.test/suggestions/3")
    assert embed.title == "Sugerencia 3 · data-basics/what-is-data"
    assert embed.url == "https://bot.test/suggestions/3"
    fields = {field.name: field.value for field in embed.fields}
    assert fields["Estado"] == "Cambios pedidos"
    assert fields["Solicitud de cambios (pull request)"] == "[#9](https://github.test/o/r/pull/9)"
    # Who proposed the text, and for which line, heads it.
    proposal = fields["Texto propuesto por mia_b para la línea 12"]
    assert "@\u200beveryone" in proposal  # a reviewer's text cannot ping anyone
    assert proposal.endswith("`/suggest accept id:3`.")
    events = fields["Últimos eventos"].splitlines()
    assert len(events) == 4
    assert events[0] == f"<t:{int(AT.timestamp())}:R> Enviada"
    assert events[2].endswith("mia\\_b pidió cambios")  # names are not Markdown


def test_the_status_embed_shows_the_passage_as_the_pull_request_has_it_now() -> None:
    view = _view(status="answered", passage="Texto *nuevo* @everyone", passage_line=12)
    embed = status_embed(view, "es-ES", "https://bot.test/suggestions/3")
    fields = {field.name: field.value for field in embed.fields}
    assert fields["Estado"] == t("es", "discord_suggest.status.answered")
    assert fields[t("es", "discord_suggest.passage_field")] == "> Texto \\*nuevo\\* @\u200beveryone"


def test_the_status_embed_without_a_pr_or_proposal_has_neither() -> None:
    view = _view(status="queued", pr_number=None, pr_url=None, events=())
    embed = status_embed(view, "en-US", "https://bot.test/suggestions/3")
    assert [field.name for field in embed.fields] == ["Status", "Language"]
    assert embed.fields[0].value == "Queued"


class FakeSuggestions:
    """What /lesson asks of the suggestion service: a lesson's open suggestions."""

    def __init__(self, count: int) -> None:
        self.count = count

    async def for_lesson(self, identity: str) -> list[SuggestionView]:
        views = [_view(id=n, pr_url=None if n % 2 else f"https://pr/{n}") for n in range(1, 8)]
        return list(reversed(views[: self.count]))  # newest first

    def status_url(self, suggestion_id: int) -> str:
        return f"https://bot.test/suggestions/{suggestion_id}"


async def test_lesson_lists_at_most_five_open_suggestions_newest_first() -> None:
    services = make_services()
    cog = LessonsCog(services.lessons, None, FakeSuggestions(7))  # type: ignore[arg-type]
    suggested = await cog._suggested("data-basics/what-is-data")
    assert [edit.id for edit in suggested] == [7, 6, 5, 4, 3]
    assert suggested[0].url == "https://bot.test/suggestions/7"  # no PR yet: its status page
    assert suggested[1].url == "https://pr/6"
    summary = services.lessons.describe("data-basics/what-is-data", "en")
    assert summary is not None
    embed = lesson_embed(summary, "en-US", None, suggested[:2])
    fields = {field.name: field.value for field in embed.fields}
    assert fields["Suggested edits"] == (
        "[#7](https://bot.test/suggestions/7) · Changes requested\n"
        "[#6](https://pr/6) · Changes requested"
    )
    assert "Suggested edits" not in {f.name for f in lesson_embed(summary, "en").fields}
