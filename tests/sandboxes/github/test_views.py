"""The HTML pages at the sandbox's html_urls: repository files, issues, pull requests, commits."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

from github import Github

from sandboxes.github import GitHubSandbox
from tests.sandboxes.github.conftest import LESSON, Reply
from tests.sandboxes.github.test_review_comments import SUGGESTION, open_suggestion

SCRIPT = "<script>alert(1)</script>"


def page(raw: Callable[..., Reply], url: str, status: int = 200) -> str:
    """Open a page as a browser would (no token) and return its text."""
    path = re.sub(r"^https?://[^/]+", "", url)
    reply = raw("GET", path, login=None, headers={"Accept": "text/html"})
    assert reply.status == status, reply.body[:500]
    assert reply.headers["Content-Type"].startswith("text/html"), reply.headers
    assert "script-src" not in reply.headers["Content-Security-Policy"]
    text = reply.body.decode()
    assert "GitHub sandbox (offline)" in text
    return text


def visible(text: str) -> str:
    """Return a page's text without tags, entities decoded, as a reader sees it."""
    return html.unescape(re.sub(r"<[^>]+>", " ", text))


def test_an_issue_page_shows_its_comments_as_text(
    gh: Callable[..., Github], raw: Callable[..., Reply]
) -> None:
    repo = gh("lessonbot").get_repo("lessons/content")
    body = "Discuss **pipes** here.\n\n<!-- lessonbot:lesson=demo/pipes -->\n"
    issue = repo.create_issue("Pipes <b>lesson</b>", body=body)
    comment = (
        gh("ana")
        .get_repo("lessons/content")
        .get_issue(issue.number)
        .create_comment(f"Looks odd: {SCRIPT} and a [link](javascript:alert(2))")
    )
    assert comment.html_url.endswith(
        f"/lessons/content/issues/{issue.number}#issuecomment-{comment.id}"
    )
    text = page(raw, issue.html_url)
    assert SCRIPT not in text and "<b>lesson</b>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "javascript:" not in text
    assert f'id="issuecomment-{comment.id}"' in text
    assert "<strong>pipes</strong>" in text
    assert "lessonbot:lesson" not in text  # GitHub shows no HTML comment, nor does this
    shown = visible(text)
    assert "Pipes <b>lesson</b>" in shown and SCRIPT in shown and "ana" in shown
    # The comment's own html_url is the same page (the fragment stays in the browser).
    assert page(raw, comment.html_url) == text


def test_a_pull_request_shows_reviews_and_suggestions_as_diffs(
    gh: Callable[..., Github], raw: Callable[..., Reply]
) -> None:
    pull, head = open_suggestion(gh)
    review = pull.create_review(
        body="Almost.",
        event="REQUEST_CHANGES",
        comments=[{"path": LESSON, "line": 8, "side": "RIGHT", "body": SUGGESTION}],
    )
    comment = next(iter(pull.get_review_comments()))
    assert comment.html_url.endswith(f"/pull/{pull.number}#discussion_r{comment.id}")
    assert review.html_url.endswith(f"/pull/{pull.number}#pullrequestreview-{review.id}")
    text = page(raw, pull.html_url)
    assert f'id="discussion_r{comment.id}"' in text
    assert f'id="pullrequestreview-{review.id}"' in text
    assert "state-CHANGES_REQUESTED" in text and "requested changes" in text
    suggestion = text.split('class="suggestion"', 1)[1].split("</table>", 1)[0]
    # Line 8 as the head has it, against what the reviewer proposes.
    assert '<tr class="d-del"><td class="num">8</td>' in suggestion
    assert "-A pipe joins two programs." in suggestion
    assert '<tr class="d-add">' in suggestion and "+A pipe joins two programs." in suggestion
    assert "```suggestion" not in text
    assert "Almost." in text and "Clearer:" in text

    files = page(raw, f"{pull.html_url}/files")
    assert "-A pipe joins two commands." in files and "+A pipe joins two programs." in files
    assert LESSON in files and "aria-current=page>Files changed (1)" in files
    commits = page(raw, f"{pull.html_url}/commits")
    assert head[:7] in commits
    assert "Suggest: suggest-1" in page(raw, f"/lessons/content/commit/{head}")


def test_issue_and_pull_numbers_go_to_their_own_pages(
    gh: Callable[..., Github], raw: Callable[..., Reply]
) -> None:
    pull, _ = open_suggestion(gh)
    reply = raw("GET", f"/lessons/content/issues/{pull.number}", login=None)
    assert reply.status == 200 and "Wording" in reply.body.decode()  # followed the redirect
    issue = gh("lessonbot").get_repo("lessons/content").create_issue("Plain")
    assert "Plain" in page(raw, f"/lessons/content/pull/{issue.number}")


def test_repository_tree_blob_raw_and_commits(
    gh: Callable[..., Github], raw: Callable[..., Reply], sandbox: GitHubSandbox
) -> None:
    repo = gh("lessonbot").get_repo("lessons/content")
    home = page(raw, repo.html_url)
    assert 'href="/lessons/content/tree/main/programs"' in home
    assert "<h1>Lessons</h1>" in home  # the README, rendered
    content = repo.get_contents(LESSON)
    assert content.html_url.endswith(f"/lessons/content/blob/main/{LESSON}")
    blob = page(raw, content.html_url)
    assert 'id="L8"' in blob and "A pipe joins two commands." in blob
    tree = page(raw, "/lessons/content/tree/main/programs/demo/lessons")
    assert 'href="/lessons/content/tree/main/programs/demo/lessons/en"' in tree
    reply = raw("GET", f"/lessons/content/raw/main/{LESSON}", login=None)
    assert reply.status == 200 and reply.headers["Content-Type"].startswith("text/plain")
    assert b"A pipe joins two commands." in reply.body
    history = page(raw, "/lessons/content/commits/main")
    assert "Import lesson content" in history
    commit = repo.get_commits()[0]
    assert "Import lesson content" in page(raw, commit.html_url)
    # A branch with a slash in its name.
    repo.create_git_ref("refs/heads/suggest/one", commit.sha)
    assert "programs/" in page(raw, "/lessons/content/tree/suggest/one")
    assert "lessons/content" in page(raw, "/")
    assert "lessons/content" in page(raw, "/lessons")


def test_unknown_things_are_html_404s_and_api_paths_stay_json(
    gh: Callable[..., Github], raw: Callable[..., Reply]
) -> None:
    for path in (
        "/lessons/content/issues/99",
        "/lessons/content/pull/99",
        "/lessons/nothing",
        "/nobody",
        "/lessons/content/blob/main/missing.md",
        "/lessons/content/tree/no-such-branch",
        "/lessons/content/commit/abcdef1",
    ):
        text = page(raw, path, status=404)
        assert "Not found" in text
    script = raw("GET", "/lessons/content/blob/main/%3Cscript%3E", login=None)
    assert script.status == 404 and b"<script>" not in script.body
    for path in ("/repos/lessons", "/users/ana/nothing", "/repos/lessons/content/nothing"):
        reply = raw("GET", path, login=None)
        assert reply.status == 404
        assert reply.json()["message"] == "Not Found", path


def test_pages_use_no_rate_limit_and_log_no_request(
    raw: Callable[..., Reply], sandbox: GitHubSandbox
) -> None:
    before = len(sandbox.requests)
    for _ in range(70):  # more than an anonymous caller's 60 an hour
        page(raw, "/lessons/content")
    assert len(sandbox.requests) == before
    css = raw("GET", "/_sandbox/views.css", login=None)
    assert css.status == 200 and css.headers["Content-Type"].startswith("text/css")


def test_the_payloads_html_urls_open(
    gh: Callable[..., Github], raw: Callable[..., Reply], sandbox: GitHubSandbox
) -> None:
    pull, _ = open_suggestion(gh)
    urls: list[Any] = [
        pull.html_url,
        pull.base.repo.html_url,
        pull.user.html_url,
        *(f.blob_url for f in pull.get_files()),
        *(c.html_url for c in pull.get_commits()),
    ]
    for url in urls:
        assert url.startswith(sandbox.base_url), url
        page(raw, url)
