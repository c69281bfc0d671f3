"""In-memory state: accounts, ids, numbering, associations and rate windows."""

from __future__ import annotations

from pathlib import Path

from sandboxes.github.gitrepo import GitRepo
from sandboxes.github.state import ANONYMOUS_LIMIT, AUTHENTICATED_LIMIT, State


def make_repo(state: State):
    """Register a repository whose git side is never touched here."""
    owner = state.user("lessons", kind="Organization")
    return state.add_repo(owner, "content", GitRepo(Path("/nonexistent")), "main")


def test_users_are_created_once_with_numeric_ids_and_matched_without_case() -> None:
    state = State()
    first = state.user("Maintainer")
    assert state.user("maintainer") is first
    assert isinstance(first.id, int)
    assert state.user("someone").id != first.id
    assert state.user("renovate[bot]").type == "Bot"
    assert state.find_user("nobody") is None


def test_issue_numbers_are_one_sequence_and_ids_differ_by_kind() -> None:
    state = State()
    repo = make_repo(state)
    user = state.user("ada")
    first = state.new_issue(repo, user, "one", None)
    second = state.new_issue(repo, user, "two", None)
    comment = state.add_comment(repo, first, user, "hi")
    assert (first.number, second.number) == (1, 2)
    assert len({first.id, second.id, comment.id}) == 3
    assert repo.comments[comment.id] is comment
    state.remove_comment(repo, comment)
    assert first.comments == [] and comment.id not in repo.comments


def test_new_repositories_get_githubs_default_labels() -> None:
    state = State()
    repo = make_repo(state)
    assert repo.label("Good First Issue") is repo.labels["good first issue"]
    assert all(label.default for label in repo.labels.values())
    assert len(repo.labels) == 9


def test_association_follows_ownership_access_and_merged_work() -> None:
    state = State()
    repo = make_repo(state)
    outsider = state.user("outsider")
    repo.collaborators["maintainer"] = "admin"
    assert state.association(repo, repo.owner) == "OWNER"
    assert state.association(repo, state.user("maintainer")) == "COLLABORATOR"
    assert state.association(repo, outsider) == "NONE"
    assert state.permission(repo, outsider) == "read"
    assert state.permission(repo, state.user("maintainer")) == "admin"


def test_rate_windows_are_per_caller_and_smaller_for_anonymous_callers() -> None:
    state = State()
    window = state.rate("user:ada", authenticated=True)
    assert window.limit == window.remaining == AUTHENTICATED_LIMIT
    window.remaining -= 3
    assert state.rate("user:ada", authenticated=True).used == 3
    assert state.rate("user:bo", authenticated=True).used == 0
    assert state.rate("ip:127.0.0.1", authenticated=False).limit == ANONYMOUS_LIMIT
    window.reset = 0  # the hour is over: a fresh window starts
    assert state.rate("user:ada", authenticated=True).used == 0
