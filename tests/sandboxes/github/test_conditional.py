"""Conditional requests: weak ETags and Last-Modified, 304s that cost no rate limit."""

from __future__ import annotations

from collections.abc import Callable

from github import Github

from tests.sandboxes.github.conftest import LESSON, Reply
from tests.sandboxes.github.test_payloads import REPO, ok


def _remaining(reply: Reply) -> int:
    return int(reply.headers["X-RateLimit-Remaining"])


def test_if_none_match_gives_304_without_using_the_rate_limit(raw: Callable[..., Reply]) -> None:
    ok(raw("POST", f"{REPO}/issues", {"title": "Cache me"}), 201)
    first = ok(raw("GET", f"{REPO}/issues/1"))
    etag = first.headers["ETag"]
    assert etag.startswith('W/"') and etag.endswith('"')
    assert first.headers["Last-Modified"].endswith(" GMT")
    assert "max-age=60" in first.headers["Cache-Control"]
    again = raw("GET", f"{REPO}/issues/1", headers={"If-None-Match": etag})
    assert again.status == 304 and again.body == b""
    assert again.headers["ETag"] == etag
    assert _remaining(again) == _remaining(first)  # the 304 was free
    strong = raw("GET", f"{REPO}/issues/1", headers={"If-None-Match": etag.removeprefix("W/")})
    assert strong.status == 304
    ok(raw("PATCH", f"{REPO}/issues/1", {"title": "Changed"}))
    changed = ok(raw("GET", f"{REPO}/issues/1", headers={"If-None-Match": etag}))
    assert changed.headers["ETag"] != etag and changed.json()["title"] == "Changed"
    assert _remaining(changed) == _remaining(first) - 2  # the PATCH and this GET count


def test_if_modified_since_and_lists(raw: Callable[..., Reply]) -> None:
    ok(raw("POST", f"{REPO}/issues", {"title": "Dated"}), 201)
    first = ok(raw("GET", f"{REPO}/issues/1"))
    stamp = first.headers["Last-Modified"]
    assert raw("GET", f"{REPO}/issues/1", headers={"If-Modified-Since": stamp}).status == 304
    old = "Mon, 01 Jan 2001 00:00:00 GMT"
    assert raw("GET", f"{REPO}/issues/1", headers={"If-Modified-Since": old}).status == 200
    listing = ok(raw("GET", f"{REPO}/issues"))
    assert (
        raw("GET", f"{REPO}/issues", headers={"If-None-Match": listing.headers["ETag"]}).status
        == 304
    )
    raw_file = {"Accept": "application/vnd.github.raw"}
    contents = ok(raw("GET", f"{REPO}/contents/{LESSON}", headers=raw_file))
    again = raw(
        "GET",
        f"{REPO}/contents/{LESSON}",
        headers={**raw_file, "If-None-Match": contents.headers["ETag"]},
    )
    assert again.status == 304
    writes = raw("POST", f"{REPO}/issues", {"title": "x"}, headers={"If-None-Match": "*"})
    assert writes.status == 201 and "ETag" not in writes.headers


def test_pygithub_update_uses_the_etag(gh: Callable[..., Github]) -> None:
    repo = gh("maintainer").get_repo("lessons/content")
    issue = repo.create_issue("Watch me")
    issue = repo.get_issue(issue.number)
    assert issue.update() is False  # 304: nothing changed
    repo.get_issue(issue.number).edit(title="Watched")
    assert issue.update() is True and issue.title == "Watched"
