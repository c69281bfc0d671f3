"""The sync planner: what to link, what to remove, what to hold back, and the removal guard."""

from __future__ import annotations

from bot.domain.linking import StoredLesson, WantedLesson, plan_sync


def _wanted(*identities: str) -> dict[str, WantedLesson]:
    lessons = {}
    for identity in identities:
        program, slug = identity.split("/")
        lessons[identity] = WantedLesson(
            identity=identity,
            program=program,
            slug=slug,
            title=slug.title(),
            path=f"programs/{program}/lessons/en/{slug}.mdx",
            page_url=f"https://learn.example/{program}/{slug}",
            difficulty=None,
            locales=("en",),
            files={"en": (slug.title(), f"programs/{program}/lessons/en/{slug}.mdx")},
            program_title=program,
        )
    return lessons


def _stored(*identities: str, removed: bool = False) -> dict[str, StoredLesson]:
    return {
        identity: StoredLesson(identity, linked=True, removed=removed) for identity in identities
    }


def _always(_lesson: WantedLesson) -> bool:
    return True


def _never(_lesson: WantedLesson) -> bool:
    return False


def test_new_and_changed_lessons_are_linked_and_unchanged_ones_left() -> None:
    wanted = _wanted("p/a", "p/b", "p/c")
    plan = plan_sync(
        wanted,
        _stored("p/a", "p/b"),
        up_to_date=lambda lesson: lesson.identity == "p/a",
        present=wanted,
    )
    assert [lesson.identity for lesson in plan.link] == ["p/b", "p/c"]
    assert plan.unchanged == ["p/a"]
    assert plan.remove == [] and plan.refused_removals == []


def test_a_removed_lesson_that_came_back_is_linked_again() -> None:
    wanted = _wanted("p/a")
    plan = plan_sync(wanted, _stored("p/a", removed=True), up_to_date=_always, present=wanted)
    assert [lesson.identity for lesson in plan.link] == ["p/a"]


def test_lessons_gone_from_the_catalogue_are_removed_within_the_limit() -> None:
    wanted = _wanted("p/a")
    stored = _stored("p/a", "p/b", "p/c")
    plan = plan_sync(wanted, stored, up_to_date=_always, present=wanted, max_removals=2)
    assert plan.remove == ["p/b", "p/c"] and plan.refused_removals == []


def test_more_removals_than_the_limit_are_refused_unless_allowed() -> None:
    wanted = _wanted("p/a")
    stored = _stored("p/a", "p/b", "p/c", "p/d")
    refused = plan_sync(wanted, stored, up_to_date=_always, present=wanted, max_removals=2)
    assert refused.remove == [] and refused.refused_removals == ["p/b", "p/c", "p/d"]
    allowed = plan_sync(
        wanted, stored, up_to_date=_always, present=wanted, max_removals=2, allow_removals=True
    )
    assert allowed.remove == ["p/b", "p/c", "p/d"]


def test_an_empty_catalogue_removes_nothing_even_one_lesson() -> None:
    plan = plan_sync({}, _stored("p/a"), up_to_date=_always, present=(), max_removals=5)
    assert plan.remove == [] and plan.refused_removals == ["p/a"]
    allowed = plan_sync({}, _stored("p/a"), up_to_date=_always, present=(), allow_removals=True)
    assert allowed.remove == ["p/a"]


def test_broken_lessons_are_held_back_neither_linked_nor_removed() -> None:
    wanted = _wanted("p/a", "p/new")
    broken = {"p/a": "front matter", "p/new": "front matter", "p/gone": "no title"}
    plan = plan_sync(
        wanted,
        _stored("p/a", "p/gone"),
        up_to_date=_never,
        broken=broken,
        present=["p/a", "p/new", "p/gone"],
    )
    assert plan.link == [] and plan.remove == [] and plan.refused_removals == []
    assert plan.held_back == broken


def test_lazy_mode_links_nothing_new_but_keeps_linked_lessons_right() -> None:
    wanted = _wanted("p/a", "p/b")
    plan = plan_sync(wanted, _stored("p/a"), up_to_date=_never, present=wanted, create=False)
    assert [lesson.identity for lesson in plan.link] == ["p/a"]


def test_only_limits_links_and_removals_to_the_named_lessons() -> None:
    wanted = _wanted("p/a", "p/b")
    stored = _stored("p/a", "p/b", "p/x", "p/y")
    plan = plan_sync(wanted, stored, up_to_date=_never, present=wanted, only={"p/b", "p/x"})
    assert [lesson.identity for lesson in plan.link] == ["p/b"]
    assert plan.remove == ["p/x"]


def test_a_wanted_lesson_survives_a_round_trip_through_a_job_payload() -> None:
    lesson = _wanted("p/a")["p/a"]
    assert WantedLesson.from_payload(lesson.as_payload()) == lesson
