"""Role lists of `lessonbot run`: names, comma lists, `all`, and what is refused."""

from __future__ import annotations

import pytest

from bot.domain.roles import EVERY_ROLE, UnknownRoleError, describe, parse_roles


@pytest.mark.parametrize(
    ("values", "roles"),
    [
        (["all"], EVERY_ROLE),
        (["web"], {"web"}),
        (["web,worker"], {"web", "worker"}),
        (["web", "worker"], {"web", "worker"}),
        ([" Gateway , ,scheduler "], {"gateway", "scheduler"}),
        (["web", "all"], EVERY_ROLE),
        (["worker", "worker"], {"worker"}),
    ],
)
def test_roles_are_names_or_comma_lists(values: list[str], roles: set[str]) -> None:
    assert parse_roles(values) == roles


@pytest.mark.parametrize(("values", "role"), [(["web,wroker"], "wroker"), (["*"], "*")])
def test_an_unknown_role_is_named(values: list[str], role: str) -> None:
    with pytest.raises(UnknownRoleError) as raised:
        parse_roles(values)
    assert raised.value.role == role
    assert f"unknown role {role!r}" in str(raised.value) and "gateway" in str(raised.value)


@pytest.mark.parametrize("values", [[], [""], [" , "]])
def test_a_list_naming_no_role_is_refused(values: list[str]) -> None:
    with pytest.raises(UnknownRoleError, match="no role named"):
        parse_roles(values)


def test_roles_are_described_in_a_fixed_order() -> None:
    assert describe({"worker", "web"}) == "web,worker"
    assert describe(EVERY_ROLE) == "all"
