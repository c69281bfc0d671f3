"""The /lesson cog turns the directory's answers into embeds, choices and messages."""

from __future__ import annotations

from typing import Any

import pytest

from bot.discord.cogs.lessons import LessonsCog, choice_for, language_name, lesson_embed
from bot.i18n import t
from bot.services.lessons import LessonChoice, LessonSummary
from tests.discord.fakes import FakeInteraction
from tests.discord.support import make_services

SUMMARY = LessonSummary(
    identity="data-basics/what-is-data",
    title="¿Qué son los datos?",
    description="Descubre qué significan los datos",
    program_title="Fundamentos de datos",
    locale="es",
    locales=("ar", "en", "es"),
    url="https://example.org/es/programs/data-basics/lessons/what-is-data",
)


@pytest.fixture
def cog() -> LessonsCog:
    return LessonsCog(make_services().lessons)


def test_embed_shows_the_lesson_in_the_users_language() -> None:
    embed = lesson_embed(SUMMARY, "es-ES")
    assert embed.title == "¿Qué son los datos?"
    assert embed.description == "Descubre qué significan los datos"
    assert embed.url == SUMMARY.url
    fields = {field.name: field.value for field in embed.fields}
    assert fields == {
        "Programa": "Fundamentos de datos",
        "Disponible en": "árabe, inglés, español",
    }
    assert embed.footer.text == "data-basics/what-is-data"


def test_embed_says_when_the_lesson_is_shown_in_another_language() -> None:
    english = LessonSummary(
        identity="demo/pipes",
        title="Pipes",
        description="",
        program_title="Demo",
        locale="en",
        locales=("en",),
    )
    embed = lesson_embed(english, "zh-CN")
    assert embed.description is None
    note = t("zh", "lesson.not_translated", language="英语")
    assert embed.footer.text == f"{note} · demo/pipes"
    assert {field.name for field in embed.fields} == {"学习项目", "可用语言"}


def test_language_names_fall_back_to_the_code() -> None:
    assert language_name("ar", "en") == "Arabic"
    assert language_name("xx-nonsense", "en") == "xx-nonsense"


def test_choice_names_fit_discords_100_characters() -> None:
    choice = choice_for(LessonChoice("p/s", "T" * 150, "Program"))
    assert len(choice.name) == 100 and choice.name.endswith("…")
    assert choice.value == "p/s"
    short = choice_for(LessonChoice("p/s", "Title", "Program"))
    assert short.name == "Title · Program"


async def test_lesson_replies_with_an_embed(cog: LessonsCog) -> None:
    interaction: Any = FakeInteraction("es-ES")
    await LessonsCog.lesson.callback(cog, interaction, "data-basics/what-is-data")
    ((kind, content, options),) = interaction.response.sent
    assert kind == "message" and content is None and not options["ephemeral"]
    assert options["embed"].title == "¿Qué son los datos?"


async def test_unknown_lesson_is_an_ephemeral_localized_message(cog: LessonsCog) -> None:
    interaction: Any = FakeInteraction("ar")
    await LessonsCog.lesson.callback(cog, interaction, "  *no*-such ")
    ((_, content, options),) = interaction.response.sent
    assert options == {"ephemeral": True}
    # What the person typed comes back trimmed, with markdown neutralized; nothing comes
    # close, so the form is shown with a real lesson.
    assert content == t(
        "ar", "lesson.not_found", lesson="\\*no\\*-such", example="`data-basics/what-is-data`"
    )


async def test_a_mistyped_lesson_offers_the_closest_in_the_users_language(
    cog: LessonsCog,
) -> None:
    interaction: Any = FakeInteraction("es-ES")
    await LessonsCog.lesson.callback(cog, interaction, "data-basics/what-is-dat")
    ((_, content, options),) = interaction.response.sent
    assert options == {"ephemeral": True}
    assert content == (
        "No hay ninguna lección «data-basics/what-is-dat». ¿Querías decir "
        "`data-basics/what-is-data` (¿Qué son los datos?)? Las lecciones se indican como "
        "program/slug."
    )


@pytest.mark.parametrize(
    "typed",
    [
        "what-is-data",
        "¿Qué son los datos?",
        "https://example.org/es/programs/data-basics/lessons/what-is-data",
    ],
)
async def test_a_unique_slug_title_or_page_address_shows_the_lesson(
    cog: LessonsCog, typed: str
) -> None:
    interaction: Any = FakeInteraction("es-ES")
    await LessonsCog.lesson.callback(cog, interaction, typed)
    ((kind, _, options),) = interaction.response.sent
    assert kind == "message" and options["embed"].footer.text == "data-basics/what-is-data"


async def test_autocomplete_offers_matching_lessons(cog: LessonsCog) -> None:
    interaction: Any = FakeInteraction("es-ES")
    choices = await cog.lesson_choices(interaction, "datos")
    assert [choice.value for choice in choices] == [
        "data-basics/what-is-data",
        "data-basics/cleaning-data",
    ]
    assert choices[0].name == "¿Qué son los datos? · Fundamentos de datos"


async def test_autocomplete_failure_answers_no_choices(
    cog: LessonsCog, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object) -> list[LessonChoice]:
        raise RuntimeError("index gone")

    monkeypatch.setattr(cog.directory, "search", broken)
    assert await cog.lesson_choices(FakeInteraction(), "x") == []  # type: ignore[arg-type]
    assert "autocomplete for /lesson failed" in caplog.text
