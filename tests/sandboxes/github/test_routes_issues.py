"""Issues, comments and labels through the real PyGithub client."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from github import Github, GithubException, UnknownObjectException

from sandboxes.github import GitHubSandbox
from tests.sandboxes.github.conftest import Reply

REPO = "/repos/lessons/content"


def links(reply: Reply) -> dict[str, int]:
    """Return the page number of each rel in a Link header."""
    header = reply.headers.get("Link", "")
    return {
        rel: int(page)
        for page, rel in re.findall(r'<[^>]*[?&]page=(\d+)[^>]*>; rel="(\w+)"', header)
    }


def test_create_get_and_list_issues(gh: Callable[..., Github]) -> None:
    repo = gh("lessonbot").get_repo("lessons/content")
    issue = repo.create_issue("Lesson: Pipes", body="Discuss the pipes lesson.")
    assert issue.number == 1 and issue.state == "open"
    assert issue.user.login == "lessonbot"
    again = gh("someone").get_repo("lessons/content").get_issue(1)
    assert again.title == "Lesson: Pipes" and again.body == "Discuss the pipes lesson."
    assert again.html_url.endswith("/lessons/content/issues/1")
    with pytest.raises(UnknownObjectException):
        repo.get_issue(2)


def test_two_hundred_fifty_issues_page_with_link_headers(
    sandbox: GitHubSandbox, gh: Callable[..., Github], raw: Callable[..., Reply]
) -> None:
    for number in range(250):
        raw("POST", f"{REPO}/issues", {"title": f"Issue {number}"}, login="lessonbot")
    first = raw("GET", f"{REPO}/issues?per_page=100")
    assert len(first.json()) == 100
    assert links(first) == {"next": 2, "last": 3}
    middle = raw("GET", f"{REPO}/issues?per_page=100&page=2")
    assert links(middle) == {"prev": 1, "next": 3, "last": 3, "first": 1}
    assert (
        f'<{sandbox.base_url}{REPO}/issues?per_page=100&page=3>; rel="next"'
        in (middle.headers["Link"])
    )
    last = raw("GET", f"{REPO}/issues?per_page=100&page=3")
    assert len(last.json()) == 50 and links(last) == {"prev": 2, "first": 1}
    assert len(raw("GET", f"{REPO}/issues?per_page=500").json()) == 100  # capped

    issues = gh("lessonbot").get_repo("lessons/content").get_issues()
    numbers = [issue.number for issue in issues]
    assert numbers == list(range(250, 0, -1))  # newest first, every one once
    assert issues.totalCount == 250
    pages = [entry for entry in sandbox.requests if entry["path"] == f"{REPO}/issues"]
    assert len(pages) >= 9  # 30 per page by default: PyGithub followed rel="next"


def test_issue_filters_sort_and_direction(
    gh: Callable[..., Github], raw: Callable[..., Reply]
) -> None:
    repo = gh("lessonbot").get_repo("lessons/content")
    one = repo.create_issue("one", labels=["bug", "question"])
    two = gh("learner").get_repo("lessons/content").create_issue("two", labels=["bug"])
    assert two.labels == []  # dropped: only people with push access label a new issue
    repo.get_issue(two.number).add_to_labels("bug")
    three = repo.create_issue("three")
    three.edit(state="closed")
    assert [i.number for i in repo.get_issues(labels=["bug", "question"])] == [one.number]
    assert [i.number for i in repo.get_issues(labels=["bug"])] == [two.number, one.number]
    assert [i.number for i in repo.get_issues(creator="learner")] == [two.number]
    assert [i.number for i in repo.get_issues(state="closed")] == [three.number]
    assert [i.number for i in repo.get_issues(state="all", direction="asc")] == [1, 2, 3]
    assert raw("GET", f"{REPO}/issues?state=bogus").status == 422
    later = raw("GET", f"{REPO}/issues?since=2999-01-01T00:00:00Z").json()
    assert later == []


def test_edit_close_and_reopen(gh: Callable[..., Github]) -> None:
    repo = gh("lessonbot").get_repo("lessons/content")
    issue = repo.create_issue("Old title", body="Old body")
    issue.edit(title="New title", body="New body")
    assert (issue.title, issue.body) == ("New title", "New body")
    issue.edit(state="closed", state_reason="not_planned")
    assert issue.state == "closed" and issue.state_reason == "not_planned"
    assert issue.closed_at is not None and issue.closed_by.login == "lessonbot"
    issue.edit(state="open")
    assert issue.state == "open" and issue.closed_at is None
    assert issue.state_reason == "reopened"
    with pytest.raises(GithubException) as error:
        issue.edit(state="sideways")
    assert error.value.status == 422


def test_comments_create_list_edit_delete_and_paginate(
    gh: Callable[..., Github], raw: Callable[..., Reply]
) -> None:
    repo = gh("lessonbot").get_repo("lessons/content")
    issue = repo.create_issue("Questions")
    learner_issue = gh("learner").get_repo("lessons/content").get_issue(issue.number)
    asked = learner_issue.create_comment("What is a pipe?")
    answered = issue.create_comment("It joins two commands.")
    assert asked.user.login == "learner" and asked.id != answered.id
    assert [c.body for c in issue.get_comments()] == ["What is a pipe?", "It joins two commands."]
    assert repo.get_issue(issue.number).comments == 2
    asked.edit("What is a pipe, exactly?")
    assert repo.get_issue(issue.number).get_comment(asked.id).body == "What is a pipe, exactly?"
    answered.delete()
    assert [c.id for c in issue.get_comments()] == [asked.id]
    for n in range(35):
        raw("POST", f"{REPO}/issues/{issue.number}/comments", {"body": f"c{n}"})
    assert issue.get_comments().totalCount == 36
    assert len(list(issue.get_comments())) == 36
    assert raw("POST", f"{REPO}/issues/{issue.number}/comments", {"body": ""}).status == 422
    assert raw("GET", f"{REPO}/issues/comments/{answered.id}").status == 404
    assert len(raw("GET", f"{REPO}/issues/comments?per_page=100").json()) == 36


def test_a_comment_body_over_65536_characters_is_refused(
    gh: Callable[..., Github], raw: Callable[..., Reply]
) -> None:
    issue = gh("lessonbot").get_repo("lessons/content").create_issue("Long")
    full = issue.create_comment("é" * 65536)  # characters, not bytes
    assert len(full.body) == 65536
    with pytest.raises(GithubException) as caught:
        issue.create_comment("x" * 65537)
    assert caught.value.status == 422
    [error] = caught.value.data["errors"]
    assert error["field"] == "body" and "maximum is 65536 characters" in error["message"]
    edit = raw("PATCH", f"{REPO}/issues/comments/{full.id}", {"body": "y" * 65537})
    assert edit.status == 422 and issue.get_comment(full.id).body == "é" * 65536


def test_labels_add_remove_replace_and_repository_labels(
    gh: Callable[..., Github], raw: Callable[..., Reply]
) -> None:
    repo = gh("lessonbot").get_repo("lessons/content")
    created = repo.create_label("lesson:pipes", "0e8a16", "Lesson pipes")
    assert (created.name, created.color, created.description) == (
        "lesson:pipes",
        "0e8a16",
        "Lesson pipes",
    )
    with pytest.raises(GithubException) as duplicate:
        repo.create_label("Lesson:Pipes", "000000")
    assert duplicate.value.status == 422
    issue = repo.create_issue("Labelled")
    issue.add_to_labels("lesson:pipes", "bug")
    assert [label.name for label in issue.get_labels()] == ["lesson:pipes", "bug"]
    issue.add_to_labels("brand new")  # unknown labels are created, as on GitHub
    assert repo.get_label("brand new").color == "ededed"
    issue.remove_from_labels("bug")
    assert [label.name for label in repo.get_issue(issue.number).labels] == [
        "lesson:pipes",
        "brand new",
    ]
    with pytest.raises(GithubException) as missing:
        issue.remove_from_labels("bug")
    assert missing.value.status == 404
    issue.set_labels("question")
    assert [label.name for label in repo.get_issue(issue.number).labels] == ["question"]
    reply = raw("POST", f"{REPO}/issues/{issue.number}/labels", {"labels": ["wontfix"]})
    assert [label["name"] for label in reply.json()] == ["question", "wontfix"]
    assert "good first issue" in {label.name for label in repo.get_labels()}
    created.edit("lesson:pipes", "ff0000", "Renamed colour")
    assert repo.get_label("lesson:pipes").color == "ff0000"
    repo.get_label("question").delete()
    assert [label.name for label in repo.get_issue(issue.number).labels] == ["wontfix"]
    assert raw("POST", f"{REPO}/labels", {"name": "x", "color": "red"}).status == 422


def test_issue_and_pull_titles_over_256_and_bodies_over_65536_are_refused(
    gh: Callable[..., Github], raw: Callable[..., Reply]
) -> None:
    repo = gh("lessonbot").get_repo("lessons/content")
    issue = repo.create_issue("t" * 256, body="b" * 65536)
    assert (len(issue.title), len(issue.body)) == (256, 65536)
    for data, field in (
        ({"title": "t" * 257}, "title"),
        ({"title": "ok", "body": "b" * 65537}, "body"),
    ):
        created = raw("POST", f"{REPO}/issues", data)
        assert created.status == 422, field
        [error] = created.json()["errors"]
        assert error["field"] == field and "too long" in error["message"]
        edited = raw("PATCH", f"{REPO}/issues/{issue.number}", data)
        assert edited.status == 422, field
    unchanged = repo.get_issue(issue.number)
    assert (len(unchanged.title), len(unchanged.body)) == (256, 65536)
    pull = raw(
        "POST",
        f"{REPO}/pulls",
        {"title": "p" * 257, "head": "main", "base": "main"},
    )
    assert pull.status == 422 and pull.json()["errors"][0]["field"] == "title"


def test_writes_need_authentication_and_reads_do_not(raw: Callable[..., Reply]) -> None:
    assert raw("POST", f"{REPO}/issues", {"title": "x"}, login=None).status == 401
    assert raw("GET", f"{REPO}/issues", login=None).status == 200
    bad = raw("GET", f"{REPO}/issues", login=None, headers={"Authorization": "Weird x"})
    assert bad.status == 401 and bad.json()["message"] == "Bad credentials"
