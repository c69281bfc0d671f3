"""Read-only HTML pages at the addresses the sandbox's payloads give as `html_url`.

The REST API lives under `/repos/...` (and `/user`, `/users/...`, `/app/...`); these pages
live where github.com has them: `/{owner}/{repo}`, `/{owner}/{repo}/issues/{n}`,
`/pull/{n}` (conversation, `/files`, `/commits`), `/commit/{sha}`, `/compare/{a}...{b}`,
`/tree/{ref}/{path}`, `/blob/{ref}/{path}` and `/raw/{ref}/{path}`. They are registered
after every API route, so none shadows one, and the middleware serves them without
authentication, rate limits or faults: they are for a person with a browser.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from urllib.parse import quote

from aiohttp import web

from sandboxes.github.api import Context, context
from sandboxes.github.gitrepo import CommitInfo, TreeEntry
from sandboxes.github.state import Issue, Pull, Repo, Review, ReviewComment, User
from sandboxes.pages import (
    PageNotFoundError,
    Site,
    diff_table,
    esc,
    line_diff,
    link,
    markdown_html,
    not_found,
    page,
    server_error,
    show_bidi,
    when,
)

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ROUTE_PREFIX = "github-view-"
SITE = Site("GitHub sandbox (offline)")
# First path segments that are API routes or GitHub's own: never an account. An unknown
# address under them keeps the API's JSON 404.
RESERVED = frozenset(
    {"repos", "user", "users", "orgs", "app", "installation", "rate_limit", "_sandbox"}
)
MAX_FILE_BYTES = 512 * 1024  # a larger file is offered raw, not as a page
_SUGGESTION = re.compile(
    r"^ {0,3}(?P<fence>`{3,}|~{3,})[ \t]*suggestion[ \t]*\n(?P<body>.*?)"
    r"^ {0,3}(?P=fence)(?:`*|~*)[ \t]*$\n?",
    re.MULTILINE | re.DOTALL,
)


# GitHub renders nothing of an HTML comment; the bot hides its markers in them.
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def _markdown(text: str | None) -> str:
    """Render GitHub Markdown safely, without the HTML comments GitHub hides."""
    return markdown_html(_HTML_COMMENT.sub("", text or ""))


def is_view_route(request: web.Request) -> bool:
    """Tell whether the route matched for `request` is one of these pages."""
    name = request.match_info.route.name
    return bool(name and name.startswith(ROUTE_PREFIX))


def is_reserved(request: web.Request) -> bool:
    """Tell whether the path starts where the API (not an account) lives."""
    return request.path.split("/", 2)[1] in RESERVED


async def serve(request: web.Request, handler: Handler, ctx: Context) -> web.StreamResponse:
    """Run a page under the write lock (a consistent world), answering 404s as pages."""
    try:
        async with ctx.lock:
            return await handler(request)
    except PageNotFoundError as missing:
        return not_found(SITE, missing.what)
    except web.HTTPException:
        raise  # a redirect
    except Exception:
        log.exception("GitHub sandbox page %s failed", request.path)
        return server_error(SITE)


def routes() -> list[web.RouteDef]:
    """Return the pages' routes, to register after every API route."""
    base = "/{owner}/{repo}"
    pages: list[tuple[str, Handler, str]] = [
        ("/", home, "home"),
        ("/{owner}", account_page, "account"),
        (base, repo_page, "repo"),
        (base + "/tree/{rest:.+}", tree_page, "tree"),
        (base + "/blob/{rest:.+}", blob_page, "blob"),
        (base + "/raw/{rest:.+}", raw_file, "raw"),
        (base + "/issues", issue_list, "issues"),
        (base + "/pulls", pull_list, "pulls"),
        (base + r"/issues/{number:\d+}", issue_page, "issue"),
        (base + r"/pull/{number:\d+}", pull_page, "pull"),
        (base + r"/pull/{number:\d+}/files", pull_files, "pull-files"),
        (base + r"/pull/{number:\d+}/commits", pull_commits, "pull-commits"),
        (base + "/commits", commits_page, "commits"),
        (base + "/commits/{rest:.+}", commits_page, "commits-at"),
        (base + "/commit/{sha:[0-9a-fA-F]{4,40}}", commit_page, "commit"),
        (base + "/compare/{basehead:.+}", compare_page, "compare"),
    ]
    return [web.get(path, handler, name=ROUTE_PREFIX + name) for path, handler, name in pages]


# Finding things


def _repo(request: web.Request) -> Repo:
    owner = request.match_info["owner"]
    name = request.match_info["repo"].removesuffix(".git")
    repo = context(request).state.repo(owner, name)
    if repo is None:
        raise PageNotFoundError(f"There is no repository {owner}/{name} in this sandbox.")
    return repo


def _issue(request: web.Request, repo: Repo) -> Issue:
    number = int(request.match_info["number"])
    issue = repo.issues.get(number)
    if issue is None:
        raise PageNotFoundError(f"{repo.full_name} has no issue or pull request #{number}.")
    return issue


def _pull(request: web.Request, repo: Repo) -> tuple[Issue, Pull]:
    issue = _issue(request, repo)
    if issue.pull is None:
        raise PageNotFoundError(f"#{issue.number} of {repo.full_name} is not a pull request.")
    return issue, issue.pull


async def _split_ref(repo: Repo, rest: str) -> tuple[str, str, str]:
    """Split `ref/path` (a branch may hold slashes) into (ref, commit sha, path)."""
    parts = rest.strip("/").split("/")
    refs = await repo.git.refs()
    names = {name.removeprefix("refs/heads/") for name in refs if name.startswith("refs/heads/")}
    names |= {name.removeprefix("refs/tags/") for name in refs if name.startswith("refs/tags/")}
    for cut in range(len(parts), 0, -1):
        ref = "/".join(parts[:cut])
        if ref in names or (cut == 1 and re.fullmatch(r"[0-9a-fA-F]{4,40}", ref)):
            sha = await repo.git.resolve(ref)
            if sha is not None:
                return ref, sha, "/".join(parts[cut:])
    raise PageNotFoundError(f"{repo.full_name} has no branch, tag or commit named in {rest!r}.")


def _repo_url(repo: Repo) -> str:
    return f"/{quote(repo.owner.login)}/{quote(repo.name)}"


def _path_url(repo: Repo, kind: str, ref: str, path: str) -> str:
    tail = f"/{quote(path)}" if path else ""
    return f"{_repo_url(repo)}/{kind}/{quote(ref)}{tail}"


def _crumbs(repo: Repo, *more: tuple[str | None, str]) -> list[tuple[str | None, str]]:
    return [
        ("/", "Repositories"),
        (f"/{quote(repo.owner.login)}", repo.owner.login),
        (_repo_url(repo), repo.name),
        *more,
    ]


def _person(user: User) -> str:
    return link(f"/{quote(user.login)}", user.login, class_="author")


def _state_badge(issue: Issue) -> str:
    if issue.pull is not None and issue.pull.merged:
        return '<span class="state state-merged">Merged</span>'
    if issue.state == "closed":
        return '<span class="state state-closed">Closed</span>'
    if issue.pull is not None and issue.pull.draft:
        return '<span class="state state-draft">Draft</span>'
    return '<span class="state">Open</span>'


def _labels(issue: Issue) -> str:
    if not issue.labels:
        return ""
    items = "".join(f'<span class="label">{esc(label.name)}</span>' for label in issue.labels)
    return f'<p class="labels">Labels: {items}</p>'


def _box(anchor: str, header: str, body: str, extra: str = "") -> str:
    anchor_id = f' id="{esc(anchor)}"' if anchor else ""
    return (
        f'<article class="box"{anchor_id}><header>{header}</header>'
        f'<div class="body" dir="auto">{body or "<p class=muted>No description.</p>"}</div>'
        f"{extra}</article>"
    )


# Accounts and repositories


async def home(request: web.Request) -> web.Response:
    """GET /: the repositories of this sandbox."""
    state = context(request).state
    items = "".join(
        f"<li>{link(_repo_url(repo), repo.full_name)} "
        f'<span class="muted">{esc(repo.description or "")}</span></li>'
        for repo in sorted(state.repos.values(), key=lambda repo: repo.full_name.lower())
    )
    body = f'<h1>Repositories</h1><ul class="plain">{items}</ul>'
    return page(SITE, "Repositories", body)


async def account_page(request: web.Request) -> web.Response:
    """GET /{login}: an account and its repositories."""
    login = request.match_info["owner"]
    state = context(request).state
    user = state.find_user(login)
    if user is None:
        raise PageNotFoundError(f"There is no account {login} in this sandbox.")
    repos = [repo for repo in state.repos.values() if repo.owner is user]
    items = "".join(f"<li>{link(_repo_url(repo), repo.full_name)}</li>" for repo in repos)
    body = (
        f"<h1>{esc(user.login)}</h1><p class=meta>{esc(user.type)} · id {user.id}</p>"
        f'<h2>Repositories</h2><ul class="plain">{items or "<li>None.</li>"}</ul>'
    )
    return page(SITE, user.login, body, crumbs=[("/", "Repositories"), (None, user.login)])


async def repo_page(request: web.Request) -> web.Response:
    """GET /{owner}/{repo}: the default branch's files, its README and where to go next."""
    repo = _repo(request)
    sha = await repo.git.resolve(repo.default_branch)
    issues = [issue for issue in repo.issues.values() if issue.state == "open"]
    open_pulls = sum(1 for issue in issues if issue.pull is not None)
    nav = (
        '<nav class="tabs" aria-label="Repository">'
        f'<a href="{_repo_url(repo)}" aria-current="page">Code</a>'
        f'<a href="{_repo_url(repo)}/issues">Issues ({len(issues) - open_pulls})</a>'
        f'<a href="{_repo_url(repo)}/pulls">Pull requests ({open_pulls})</a>'
        f'<a href="{_repo_url(repo)}/commits/{quote(repo.default_branch)}">Commits</a></nav>'
    )
    head = f"<h1>{esc(repo.full_name)}</h1>"
    if repo.description:
        head += f'<p dir="auto">{esc(repo.description)}</p>'
    if sha is None:
        body = head + nav + "<p>This repository is empty.</p>"
        return page(SITE, repo.full_name, body, crumbs=[*_crumbs(repo)[:-1], (None, repo.name)])
    branches = sorted(
        name.removeprefix("refs/heads/")
        for name in await repo.git.refs("refs/heads/")
        if name.startswith("refs/heads/")
    )
    branch_links = ", ".join(
        link(_path_url(repo, "tree", name, ""), name) for name in branches[:50]
    )
    entries = await repo.git.ls_tree(sha)
    listing = _listing(repo, repo.default_branch, "", entries)
    readme = ""
    for entry in entries:
        if entry.type == "blob" and entry.path.lower() in ("readme.md", "readme"):
            found = await repo.git.read_object(entry.sha)
            if found is not None and len(found[1]) <= MAX_FILE_BYTES:
                text = found[1].decode("utf-8", "replace")
                readme = f'<article class="box"><header>{esc(entry.path)}</header>'
                readme += f'<div class="body" dir="auto">{_markdown(text)}</div></article>'
            break
    body = (
        f"{head}{nav}<p class=meta>Default branch {esc(repo.default_branch)} · "
        f"branches: {branch_links}</p>{listing}{readme}"
        f"<p class=meta>Clone: <code>{esc(context(request).payloads.repo_html(repo))}.git</code>"
        "</p>"
    )
    return page(SITE, repo.full_name, body, crumbs=[*_crumbs(repo)[:-1], (None, repo.name)])


def _listing(repo: Repo, ref: str, path: str, entries: list[TreeEntry]) -> str:
    """Return a directory's entries, folders first, as a table of links."""
    rows = []
    if path:
        parent = path.rsplit("/", 1)[0] if "/" in path else ""
        up = link(_path_url(repo, "tree", ref, parent), "..")
        rows.append(f"<tr><td>{up}</td><td></td></tr>")
    ordered = sorted(entries, key=lambda entry: (entry.type != "tree", entry.path.lower()))
    for entry in ordered:
        name = entry.path.rsplit("/", 1)[-1]
        full = f"{path}/{name}" if path else name
        if entry.type == "tree":
            cell = link(_path_url(repo, "tree", ref, full), name + "/")
            size = ""
        elif entry.type == "commit":
            cell, size = esc(name) + " (submodule)", ""
        else:
            cell = link(_path_url(repo, "blob", ref, full), name)
            size = f"{entry.size or 0} bytes"
        rows.append(f"<tr><td>{cell}</td><td class=muted>{size}</td></tr>")
    return (
        f'<table class="list" aria-label="Files"><thead><tr><th>Name</th><th>Size</th></tr>'
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _path_crumbs(repo: Repo, ref: str, path: str) -> list[tuple[str | None, str]]:
    crumbs: list[tuple[str | None, str]] = [(_path_url(repo, "tree", ref, ""), ref)]
    parts = path.split("/") if path else []
    for index, part in enumerate(parts):
        href = _path_url(repo, "tree", ref, "/".join(parts[: index + 1]))
        crumbs.append((href if index < len(parts) - 1 else None, part))
    return _crumbs(repo, *crumbs)


async def tree_page(request: web.Request) -> web.Response:
    """GET /{owner}/{repo}/tree/{ref}/{path}: a folder at a branch, tag or commit."""
    repo = _repo(request)
    ref, sha, path = await _split_ref(repo, request.match_info["rest"])
    entry = await repo.git.entry_at(sha, path)
    if entry is None or entry.type != "tree":
        raise PageNotFoundError(f"{repo.full_name} has no folder {path!r} at {ref}.")
    entries = await repo.git.ls_tree(entry.sha)
    title = f"{path or repo.name} at {ref}"
    body = f"<h1>{esc(title)}</h1>{_listing(repo, ref, path, entries)}"
    return page(SITE, title, body, crumbs=_path_crumbs(repo, ref, path))


async def blob_page(request: web.Request) -> web.Response:
    """GET /{owner}/{repo}/blob/{ref}/{path}: a file with numbered lines (#L12 marks one)."""
    repo = _repo(request)
    ref, sha, path = await _split_ref(repo, request.match_info["rest"])
    entry = await repo.git.entry_at(sha, path) if path else None
    if entry is None or entry.type != "blob":
        raise PageNotFoundError(f"{repo.full_name} has no file {path!r} at {ref}.")
    found = await repo.git.read_object(entry.sha)
    data = found[1] if found else b""
    raw = _path_url(repo, "raw", ref, path)
    head = (
        f"<h1>{esc(path)}</h1><p class=meta>{len(data)} bytes at {esc(ref)} · "
        f"{link(raw, 'Raw')} · "
        f"{link(f'{_repo_url(repo)}/commits/{quote(ref)}', 'History of ' + ref)}</p>"
    )
    if b"\0" in data or len(data) > MAX_FILE_BYTES:
        body = head + "<p>This file is binary or too large to show here; open it raw.</p>"
    else:
        lines = data.decode("utf-8", "replace").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        rows = "".join(
            f'<tr id="L{number}"><td class="num"><a href="#L{number}">{number}</a></td>'
            f'<td class="text">{show_bidi(esc(text))}</td></tr>'
            for number, text in enumerate(lines, 1)
        )
        body = f'{head}<table class="code" dir="ltr" aria-label="{esc(path)}">{rows}</table>'
    return page(SITE, f"{path} at {ref}", body, crumbs=_path_crumbs(repo, ref, path))


async def raw_file(request: web.Request) -> web.Response:
    """GET /{owner}/{repo}/raw/{ref}/{path}: the file's bytes, as text when they are text."""
    repo = _repo(request)
    ref, sha, path = await _split_ref(repo, request.match_info["rest"])
    entry = await repo.git.entry_at(sha, path) if path else None
    found = await repo.git.read_object(entry.sha) if entry and entry.type == "blob" else None
    if found is None:
        raise PageNotFoundError(f"{repo.full_name} has no file {path!r} at {ref}.")
    data = found[1]
    kind = "application/octet-stream" if b"\0" in data else "text/plain"
    response = web.Response(body=data, content_type=kind)
    if kind == "text/plain":
        response.charset = "utf-8"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# Issues and pull requests


def _issue_url(repo: Repo, issue: Issue) -> str:
    kind = "pull" if issue.pull is not None else "issues"
    return f"{_repo_url(repo)}/{kind}/{issue.number}"


def _issue_table(repo: Repo, issues: list[Issue], label: str) -> str:
    if not issues:
        return f"<p>No {label.lower()} yet.</p>"
    ordered = sorted(issues, key=lambda issue: (issue.state != "open", -issue.number))
    rows = "".join(
        f"<tr><td>#{issue.number}</td>"
        f'<td dir="auto">{link(_issue_url(repo, issue), issue.title)}</td>'
        f"<td>{_state_badge(issue)}</td><td>{esc(issue.user.login)}</td>"
        f"<td>{when(issue.updated_at)}</td></tr>"
        for issue in ordered
    )
    return (
        f'<table class="list" aria-label="{esc(label)}"><thead><tr><th>#</th><th>Title</th>'
        f"<th>State</th><th>Author</th><th>Updated</th></tr></thead><tbody>{rows}</tbody></table>"
    )


async def issue_list(request: web.Request) -> web.Response:
    """GET /{owner}/{repo}/issues: every issue, open ones first."""
    repo = _repo(request)
    issues = [issue for issue in repo.issues.values() if issue.pull is None]
    body = f"<h1>Issues of {esc(repo.full_name)}</h1>{_issue_table(repo, issues, 'Issues')}"
    return page(SITE, "Issues", body, crumbs=_crumbs(repo, (None, "Issues")))


async def pull_list(request: web.Request) -> web.Response:
    """GET /{owner}/{repo}/pulls: every pull request, open ones first."""
    repo = _repo(request)
    pulls = list(repo.pulls())
    body = (
        f"<h1>Pull requests of {esc(repo.full_name)}</h1>"
        f"{_issue_table(repo, pulls, 'Pull requests')}"
    )
    return page(SITE, "Pull requests", body, crumbs=_crumbs(repo, (None, "Pull requests")))


def _events(repo: Repo, issue: Issue) -> list[tuple[datetime, str]]:
    """Return the issue's recorded timeline events (closed, labeled...) as short lines."""
    items = []
    for record in repo.records.get("timeline", {}).get(str(issue.number), []):
        try:
            moment = datetime.fromisoformat(str(record.get("created_at")).replace("Z", "+00:00"))
        except ValueError:
            continue
        event = str(record.get("event", ""))
        detail = ""
        if isinstance(record.get("label"), dict):
            detail = f" {record['label'].get('name', '')}"
        elif record.get("requested_reviewer"):
            detail = f" from {record['requested_reviewer']}"
        elif record.get("commit_id"):
            detail = f" commit {str(record['commit_id'])[:7]}"
        elif isinstance(record.get("rename"), dict):
            detail = f" from {record['rename'].get('from')!r} to {record['rename'].get('to')!r}"
        text = f"{record.get('actor', '?')} {event.replace('_', ' ')}{detail}"
        items.append((moment, f'<p class="meta event">{esc(text)} · {when(moment)}</p>'))
    return items


def _comment_items(repo: Repo, issue: Issue) -> list[tuple[datetime, str]]:
    return [
        (
            comment.created_at,
            _box(
                f"issuecomment-{comment.id}",
                f"{_person(comment.user)} commented {when(comment.created_at)} · "
                f'<a href="#issuecomment-{comment.id}">link</a>',
                _markdown(comment.body),
            ),
        )
        for comment in issue.comments
    ]


def _issue_head(repo: Repo, issue: Issue) -> str:
    return (
        f'<h1 dir="auto">{esc(issue.title)} <span class="muted">#{issue.number}</span></h1>'
        f"<p>{_state_badge(issue)} {_person(issue.user)} opened this "
        f"{when(issue.created_at)} · {len(issue.comments)} comments</p>{_labels(issue)}"
    )


async def issue_page(request: web.Request) -> web.StreamResponse:
    """GET /{owner}/{repo}/issues/{n}: an issue with its comments (a pull request's number
    goes to its conversation, as on GitHub)."""
    repo = _repo(request)
    issue = _issue(request, repo)
    if issue.pull is not None:
        raise web.HTTPFound(_issue_url(repo, issue))
    opening = _box(
        f"issue-{issue.number}",
        f"{_person(issue.user)} wrote {when(issue.created_at)}",
        _markdown(issue.body),
    )
    items = sorted(_comment_items(repo, issue) + _events(repo, issue), key=lambda item: item[0])
    body = _issue_head(repo, issue) + opening + "".join(shown for _, shown in items)
    crumbs = _crumbs(repo, (f"{_repo_url(repo)}/issues", "Issues"), (None, f"#{issue.number}"))
    return page(SITE, f"{issue.title} · Issue #{issue.number}", body, crumbs=crumbs)


def _pull_head(repo: Repo, issue: Issue, pull: Pull, current: str, counts: tuple[int, int]) -> str:
    url = _issue_url(repo, issue)
    tabs = [
        (url, "Conversation", "conversation"),
        (f"{url}/commits", f"Commits ({counts[0]})", "commits"),
        (f"{url}/files", f"Files changed ({counts[1]})", "files"),
    ]
    nav = "".join(
        f'<a href="{esc(href)}"{" aria-current=page" if key == current else ""}>{esc(text)}</a>'
        for href, text, key in tabs
    )
    branches = (
        f"wants to merge into {link(_path_url(repo, 'tree', pull.base_ref, ''), pull.base_ref)}"
        f" from {link(_path_url(repo, 'tree', pull.head_ref, ''), pull.head_ref)}"
    )
    if pull.merged and pull.merged_by is not None:
        branches = (
            f"merged into {esc(pull.base_ref)} from {esc(pull.head_ref)} by "
            f"{_person(pull.merged_by)} {when(pull.merged_at)}"
        )
    people = ""
    if pull.requested_reviewers:
        names = ", ".join(_person(user) for user in pull.requested_reviewers)
        people = f"<p class=meta>Review requested from {names}</p>"
    return (
        f'<h1 dir="auto">{esc(issue.title)} <span class="muted">#{issue.number}</span></h1>'
        f"<p>{_state_badge(issue)} {_person(issue.user)} {branches}</p>"
        f"{_labels(issue)}{people}"
        f'<nav class="tabs" aria-label="Pull request">{nav}</nav>'
    )


async def _counts(repo: Repo, pull: Pull) -> tuple[int, int]:
    """Return how many commits and changed files a pull request has."""
    fork = await repo.git.merge_base(pull.base_sha, pull.head_sha) or pull.base_sha
    commits = await repo.git.rev_list(f"{pull.base_sha}..{pull.head_sha}")
    return len(commits), len(await repo.git.diff(fork, pull.head_sha))


def _thread_root(pull: Pull, comment: ReviewComment) -> ReviewComment:
    """Return the first comment of the thread a review comment belongs to."""
    by_id = {item.id: item for item in pull.review_comments}
    seen = set()
    while comment.in_reply_to_id is not None and comment.in_reply_to_id in by_id:
        if comment.id in seen:
            break
        seen.add(comment.id)
        comment = by_id[comment.in_reply_to_id]
    return comment


async def _commented_lines(repo: Repo, comment: ReviewComment) -> list[tuple[int, str]]:
    """Return the numbered lines a line comment is on (the new file's), or none."""
    line = comment.line or comment.original_line
    if comment.subject_type != "line" or line is None or comment.side != "RIGHT":
        return []
    start = (comment.start_line if comment.line else comment.original_start_line) or line
    commit = comment.commit_id if comment.line else comment.original_commit_id
    entry = await repo.git.entry_at(commit, comment.path)
    found = await repo.git.read_object(entry.sha) if entry and entry.type == "blob" else None
    if found is None:
        return []
    lines = found[1].decode("utf-8", "replace").split("\n")
    last = min(line, len(lines))
    return [(number, lines[number - 1]) for number in range(start, last + 1)]


async def _review_comment_html(repo: Repo, issue: Issue, comment: ReviewComment) -> str:
    """Return a review comment's body: Markdown, with each suggestion as a diff."""
    parts: list[str] = []
    text = comment.body.replace("\r\n", "\n")
    position = 0
    old: list[tuple[int, str]] | None = None
    for found in _SUGGESTION.finditer(text):
        parts.append(_markdown(text[position : found.start()]))
        if old is None:
            old = await _commented_lines(repo, comment)
        proposed = found.group("body").removesuffix("\n")
        new = proposed.split("\n") if proposed or found.group("body") else []
        parts.append(
            '<div class="suggestion"><p>Suggested change</p>'
            f"{line_diff(old, new, f'Suggested change to {comment.path}')}</div>"
        )
        position = found.end()
    parts.append(_markdown(text[position:]))
    return "".join(parts)


def _place(comment: ReviewComment) -> str:
    line = comment.line or comment.original_line
    start = comment.start_line or comment.original_start_line
    if comment.subject_type == "file" or line is None:
        where = "the file"
    elif start and start != line:
        where = f"lines {start} to {line}"
    else:
        where = f"line {line}"
    outdated = " (outdated)" if comment.line is None and comment.subject_type == "line" else ""
    return f"{esc(comment.path)}, {where}{outdated}"


async def _thread_html(repo: Repo, issue: Issue, pull: Pull, root: ReviewComment) -> str:
    """Return a review thread: where it is, the diff hunk, the first comment and replies."""
    replies = [
        comment
        for comment in pull.published_comments()
        if comment is not root and _thread_root(pull, comment) is root
    ]
    hunk = ""
    if root.diff_hunk:
        # The hunk's last lines end at the commented line: show them as GitHub does.
        tail = "\n".join(root.diff_hunk.split("\n")[-6:])
        if not tail.startswith("@@"):
            head = root.diff_hunk.split("\n", 1)[0]
            tail = f"{head}\n{tail}" if head.startswith("@@") else tail
        hunk = diff_table(tail, f"Where the comment is in {root.path}")
    comments = ""
    for comment in [root, *replies]:
        comments += _box(
            f"discussion_r{comment.id}",
            f"{_person(comment.user)} {when(comment.created_at)} · "
            f'<a href="#discussion_r{comment.id}">link</a>',
            await _review_comment_html(repo, issue, comment),
        )
    return (
        f'<section class="thread" aria-label="Comments on {_place(root)}">'
        f"<p class=meta>On {_place(root)}</p>{hunk}{comments}</section>"
    )


async def _review_item(repo: Repo, issue: Issue, pull: Pull, review: Review) -> str | None:
    """Return a review: its state, body and the threads it started (None: nothing to show)."""
    roots = [
        comment
        for comment in pull.published_comments()
        if comment.review_id == review.id and comment.in_reply_to_id is None
    ]
    if not review.body and not roots and review.state == "COMMENTED":
        return None  # the wrapper of a lone reply, shown in its thread
    verb = {
        "APPROVED": "approved these changes",
        "CHANGES_REQUESTED": "requested changes",
        "DISMISSED": "reviewed (dismissed)",
    }.get(review.state, "reviewed")
    threads = "".join([await _thread_html(repo, issue, pull, root) for root in roots])
    state = review.state.replace("_", " ").capitalize()  # CHANGES_REQUESTED: Changes requested
    header = (
        f'<span class="state state-{esc(review.state)}">{esc(state)}</span> '
        f"{_person(review.user)} {verb} {when(review.submitted_at)} · "
        f'<a href="#pullrequestreview-{review.id}">link</a>'
    )
    body = _markdown(review.body) if review.body else ""
    return (
        f'<article class="box" id="pullrequestreview-{review.id}"><header>{header}</header>'
        f'<div class="body" dir="auto">{body}{threads}</div></article>'
    )


async def pull_page(request: web.Request) -> web.StreamResponse:
    """GET /{owner}/{repo}/pull/{n}: the conversation (description, comments, reviews and
    their line comments, suggestions as diffs); an issue's number goes to the issue."""
    repo = _repo(request)
    issue = _issue(request, repo)
    if issue.pull is None:
        raise web.HTTPFound(_issue_url(repo, issue))
    pull = issue.pull
    counts = await _counts(repo, pull)
    opening = _box(
        f"issue-{issue.number}",
        f"{_person(issue.user)} wrote {when(issue.created_at)}",
        _markdown(issue.body),
    )
    items = _comment_items(repo, issue) + _events(repo, issue)
    for review in pull.reviews:
        if review.state == "PENDING" or review.submitted_at is None:
            continue
        rendered = await _review_item(repo, issue, pull, review)
        if rendered is not None:
            items.append((review.submitted_at, rendered))
    items.sort(key=lambda item: item[0])
    body = (
        _pull_head(repo, issue, pull, "conversation", counts)
        + opening
        + "".join(shown for _, shown in items)
    )
    crumbs = _crumbs(
        repo, (f"{_repo_url(repo)}/pulls", "Pull requests"), (None, f"#{issue.number}")
    )
    return page(SITE, f"{issue.title} · Pull request #{issue.number}", body, crumbs=crumbs)


async def _files_html(repo: Repo, ctx: Context, old: str | None, new: str) -> str:
    """Return the changed files between two commits, each with its diff."""
    files = await ctx.ops.changed_files(repo, old, new)
    if not files:
        return "<p>No changes.</p>"
    parts = []
    for item in files:
        name = str(item["filename"])
        stats = f"+{item['additions']} -{item['deletions']} · {esc(item['status'])}"
        patch = item.get("patch")
        shown = diff_table(patch, f"Changes to {name}") if patch else "<p>Binary file.</p>"
        parts.append(
            f'<article class="box" id="diff-{esc(quote(name, safe=""))}"><header>'
            f"<strong>{esc(name)}</strong> <span class=muted>{stats}</span></header>"
            f"{shown}</article>"
        )
    return "".join(parts)


async def pull_files(request: web.Request) -> web.Response:
    """GET /{owner}/{repo}/pull/{n}/files: the pull request's unified diff, file by file,
    with the line comments on each file."""
    repo = _repo(request)
    ctx = context(request)
    issue, pull = _pull(request, repo)
    counts = await _counts(repo, pull)
    fork = await repo.git.merge_base(pull.base_sha, pull.head_sha) or pull.base_sha
    files = await _files_html(repo, ctx, fork, pull.head_sha)
    roots = [c for c in pull.published_comments() if c.in_reply_to_id is None]
    threads = "".join([await _thread_html(repo, issue, pull, root) for root in roots])
    if threads:
        threads = f"<h2>Line comments</h2>{threads}"
    body = (
        _pull_head(repo, issue, pull, "files", counts)
        + f"<p class=meta>{link(f'{_issue_url(repo, issue)}.diff', 'Download the diff')}</p>"
        + files
        + threads
    )
    crumbs = _crumbs(
        repo,
        (f"{_repo_url(repo)}/pulls", "Pull requests"),
        (_issue_url(repo, issue), f"#{issue.number}"),
        (None, "Files changed"),
    )
    return page(SITE, f"Files changed · #{issue.number}", body, crumbs=crumbs)


def _commit_rows(repo: Repo, commits: list[CommitInfo]) -> str:
    if not commits:
        return "<p>No commits.</p>"
    rows = "".join(
        f'<tr><td dir="auto">{link(f"{_repo_url(repo)}/commit/{commit.sha}", _subject(commit))}'
        f"</td><td>{esc(commit.author.name)}</td><td>{when(commit.author.when)}</td>"
        f"<td><code>{commit.sha[:7]}</code></td></tr>"
        for commit in commits
    )
    return (
        '<table class="list" aria-label="Commits"><thead><tr><th>Message</th><th>Author</th>'
        f"<th>Date</th><th>Commit</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _subject(commit: CommitInfo) -> str:
    return commit.message.strip().split("\n", 1)[0] or "(no message)"


async def _read_commits(repo: Repo, shas: list[str]) -> list[CommitInfo]:
    commits = []
    for sha in shas:
        commit = await repo.git.read_commit(sha)
        if commit is not None:
            commits.append(commit)
    return commits


async def pull_commits(request: web.Request) -> web.Response:
    """GET /{owner}/{repo}/pull/{n}/commits: the pull request's commits, oldest first."""
    repo = _repo(request)
    issue, pull = _pull(request, repo)
    counts = await _counts(repo, pull)
    shas = await repo.git.rev_list("--reverse", f"{pull.base_sha}..{pull.head_sha}")
    body = _pull_head(repo, issue, pull, "commits", counts) + _commit_rows(
        repo, await _read_commits(repo, shas)
    )
    crumbs = _crumbs(
        repo,
        (f"{_repo_url(repo)}/pulls", "Pull requests"),
        (_issue_url(repo, issue), f"#{issue.number}"),
        (None, "Commits"),
    )
    return page(SITE, f"Commits · #{issue.number}", body, crumbs=crumbs)


# Commits


async def commits_page(request: web.Request) -> web.Response:
    """GET /{owner}/{repo}/commits[/{ref}]: a branch's history, newest first."""
    repo = _repo(request)
    rest = request.match_info.get("rest") or repo.default_branch
    ref, sha, path = await _split_ref(repo, rest)
    args = ["--max-count=200", sha]
    if path:
        args += ["--", path]
    commits = await _read_commits(repo, await repo.git.rev_list(*args))
    title = f"Commits on {ref}" + (f" touching {path}" if path else "")
    body = f"<h1>{esc(title)}</h1>{_commit_rows(repo, commits)}"
    return page(SITE, title, body, crumbs=_crumbs(repo, (None, "Commits")))


async def commit_page(request: web.Request) -> web.Response:
    """GET /{owner}/{repo}/commit/{sha}: a commit's message, people and diff."""
    repo = _repo(request)
    ctx = context(request)
    wanted = request.match_info["sha"]
    sha = await repo.git.resolve(wanted)  # the route admits 4 to 40 hex digits only
    commit = await repo.git.read_commit(sha) if sha else None
    if commit is None:
        raise PageNotFoundError(f"{repo.full_name} has no commit {wanted}.")
    message = commit.message.strip()
    subject, _, rest = message.partition("\n")
    parents = ", ".join(
        link(f"{_repo_url(repo)}/commit/{parent}", parent[:7]) for parent in commit.parents
    )
    people = f"{esc(commit.author.name)} authored {when(commit.author.when)}"
    if commit.committer.name != commit.author.name:
        people += f" · {esc(commit.committer.name)} committed {when(commit.committer.when)}"
    body = (
        f'<h1 dir="auto">{esc(subject or "(no message)")}</h1>'
        + (f'<pre dir="auto">{esc(rest.strip())}</pre>' if rest.strip() else "")
        + f"<p class=meta>{people}</p><p class=meta>Commit <code>{commit.sha}</code>"
        + (f" · parents {parents}" if parents else "")
        + f" · {link(f'{_repo_url(repo)}/tree/{commit.sha}', 'Browse files')}</p>"
        + await _files_html(repo, ctx, commit.parents[0] if commit.parents else None, commit.sha)
    )
    crumbs = _crumbs(repo, (f"{_repo_url(repo)}/commits", "Commits"), (None, commit.sha[:7]))
    return page(SITE, f"{subject} · {commit.sha[:7]}", body, crumbs=crumbs)


async def compare_page(request: web.Request) -> web.Response:
    """GET /{owner}/{repo}/compare/{base}...{head}: what head changes since it left base."""
    repo = _repo(request)
    ctx = context(request)
    spec = request.match_info["basehead"]
    for separator in ("...", ".."):
        base_ref, found, head_ref = spec.partition(separator)
        if found and base_ref and head_ref:
            break
    else:
        raise PageNotFoundError(f"{spec!r} does not name two commits as base...head.")
    base = await repo.git.resolve(base_ref.rpartition(":")[2])
    head = await repo.git.resolve(head_ref.rpartition(":")[2])
    if base is None or head is None:
        raise PageNotFoundError(f"{repo.full_name} cannot compare {spec}.")
    fork = await repo.git.merge_base(base, head)
    commits = await _read_commits(repo, await repo.git.rev_list("--reverse", f"{base}..{head}"))
    body = (
        f"<h1>Comparing {esc(base_ref)}...{esc(head_ref)}</h1>{_commit_rows(repo, commits)}"
        f"<h2>Files changed</h2>{await _files_html(repo, ctx, fork, head)}"
    )
    return page(SITE, f"Comparing {spec}", body, crumbs=_crumbs(repo, (None, "Compare")))
