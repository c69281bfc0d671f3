"""What the linking service writes: titles cut to GitHub's limit, encoded URLs, post keys."""

from __future__ import annotations

from pathlib import Path

from bot.domain.catalogue import load_catalogue
from bot.domain.link_texts import ISSUE_TITLE_LIMIT, POST_LINK, message_url, thread_name
from bot.domain.linking import LinkState
from bot.services.linking import LinkingService, parse_post_key, post_url
from bot.services.ports import ChatMessage
from tests.conftest import write_lesson

TEMPLATE = "https://learn.example/{locale}/programs/{program}/lessons/{slug}"


def _service() -> LinkingService:
    # Rendering reads no port: none is given.
    return LinkingService(
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        default_locale="en",
        locales=["en", "es"],
        lesson_url_template=TEMPLATE,
    )


def _lesson(tmp_path: Path, slug: str, title: str) -> LinkingService:
    write_lesson(
        tmp_path,
        f"programs/ml/lessons/en/{slug}.mdx",
        f'---\ntitle: "{title}"\ndescription: "d"\n---\nBody\n',
    )
    return _service()


def test_a_long_title_is_cut_to_what_github_takes(tmp_path: Path) -> None:
    service = _lesson(tmp_path, "long", "Word " * 80)
    catalogue = load_catalogue(tmp_path, "en")
    wanted = service.wanted(catalogue.lessons["ml/long"], catalogue)
    title = service.issue_title(wanted)
    assert len(title) == ISSUE_TITLE_LIMIT and title.endswith("…")


def test_page_urls_percent_encode_the_slug(tmp_path: Path) -> None:
    service = _lesson(tmp_path, "what-is-50%-off?", "Percent")
    catalogue = load_catalogue(tmp_path, "en")
    wanted = service.wanted(catalogue.lessons["ml/what-is-50%-off?"], catalogue)
    assert wanted.page_url == "https://learn.example/en/programs/ml/lessons/what-is-50%25-off%3F"


def test_the_post_key_is_in_the_button_not_in_the_text_people_read(tmp_path: Path) -> None:
    _lesson(tmp_path, "intro", "Intro")
    catalogue = load_catalogue(tmp_path, "en")
    service = _with_button()
    wanted = service.wanted(catalogue.lessons["ml/intro"], catalogue)
    starter = service.starter(wanted, "https://github.com/o/r/issues/1")
    button = service.button(wanted)
    assert button is not None
    assert "lessonbot" not in starter and "-#" not in starter
    assert starter.splitlines()[-1] == "GitHub issue: https://github.com/o/r/issues/1"
    posted = ChatMessage(1, 2, starter, custom_ids=(button.custom_id,))
    assert parse_post_key(posted) == "ml/intro"
    assert parse_post_key(ChatMessage(1, 2, starter)) is None
    assert parse_post_key(ChatMessage(1, 2, "x", custom_ids=("lessonbot:other",))) is None
    # A post made while the key was still a line of its text is recognised too.
    older = ChatMessage(1, 2, "Talk here.\n-# `lessonbot:lesson=ml/intro`")
    assert parse_post_key(older) == "ml/intro"


def test_a_post_without_a_button_is_known_by_the_name_discord_gives_it() -> None:
    assert thread_name("Intro") == "Intro"
    long = "Word " * 30
    assert len(thread_name(long)) == 100 and thread_name(long).endswith("…")


def _with_button() -> LinkingService:
    return LinkingService(
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        default_locale="en",
        locales=["en", "es"],
        lesson_url_template=TEMPLATE,
        suggest_button=True,
    )


def test_with_suggestions_on_the_starter_carries_a_suggest_button_in_its_digest(
    tmp_path: Path,
) -> None:
    _lesson(tmp_path, "intro", "Intro")
    catalogue = load_catalogue(tmp_path, "en")
    plain = _service()
    with_button = _with_button()
    wanted = with_button.wanted(catalogue.lessons["ml/intro"], catalogue)

    button = with_button.button(wanted)

    assert plain.button(wanted) is None
    assert button is not None and button.custom_id == "lessonbot:suggest:ml/intro:en"
    assert button.label == "Suggest an edit"
    # Turning suggestions on changes the starter's digest, so the next sync adds the button.
    state = LinkState(1, False, 2, 2, 3, None, None, None)
    starter_part = 1
    assert (
        plain.planner.parts(wanted, state, None, [])[starter_part]
        != with_button.planner.parts(wanted, state, None, [])[starter_part]
    )


def test_post_links_lead_where_discord_web_url_says(tmp_path: Path) -> None:
    _lesson(tmp_path, "intro", "Intro")
    catalogue = load_catalogue(tmp_path, "en")
    discord = _service()
    viewer = LinkingService(
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        default_locale="en",
        locales=["en", "es"],
        lesson_url_template=TEMPLATE,
        discord_web_url="http://127.0.0.1:5005/",
    )
    wanted = viewer.wanted(catalogue.lessons["ml/intro"], catalogue)
    state = LinkState(1, False, 2, 3, 4, None, None, None)

    assert discord.planner.post_url(state, None) == "https://discord.com/channels/0/2/3"
    assert viewer.planner.post_url(state, None) == "http://127.0.0.1:5005/channels/0/2/3"
    assert "http://127.0.0.1:5005/channels/0/2/3" in viewer.issue_body(
        wanted, viewer.planner.post_url(state, None)
    )
    # A new address changes the issue's digest: the next sync rewrites the issue's link.
    issue_part = 2
    assert (
        discord.planner.parts(wanted, state, None, [])[issue_part]
        != viewer.planner.parts(wanted, state, None, [])[issue_part]
    )
    assert post_url(1, 2, 3) == "https://discord.com/channels/1/2/3"
    assert message_url("http://h:1", 1, 2, 3) == "http://h:1/channels/1/2/3"
    # An issue written with either address names its post.
    for body in (
        "- Discord post: https://discord.com/channels/1/22/333\n",
        "[post](http://127.0.0.1:5005/channels/1/22/333)",
    ):
        found = POST_LINK.search(body)
        assert found is not None and found.groups() == ("1", "22", "333")
