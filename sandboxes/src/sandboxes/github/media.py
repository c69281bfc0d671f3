"""GitHub's custom media types: diffs, patches and raw file bytes instead of JSON."""

from __future__ import annotations

import re

from aiohttp import web

from sandboxes.github.gitrepo import EMPTY_TREE
from sandboxes.github.state import Repo

# application/vnd.github[.version][.param][+format], e.g. vnd.github.v3.diff, vnd.github.raw+json
_MEDIA = re.compile(
    r"application/vnd\.github(?:\.(v3|v4|[a-z-]+-preview))?(?:\.([a-z0-9-]+))?(?:\+([a-z]+))?"
)


def param(request: web.Request) -> str | None:
    """Return the media type parameter asked for (`diff`, `patch`, `raw`, `sha`...), if any."""
    for part in request.headers.get("Accept", "").split(","):
        match = _MEDIA.fullmatch(part.split(";")[0].strip().lower())
        if match is None:
            continue
        name, suffix = match.group(2), match.group(3)
        if name in ("v3", "v4"):
            name = None
        if name is None and suffix in ("diff", "patch", "sha"):
            name = suffix  # application/vnd.github+diff names the format as a suffix
        if name is not None:
            return name
    return None


def text(body: bytes | str, media: str, status: int = 200) -> web.Response:
    """Answer a non-JSON media type as the API does: its own content type and media header."""
    data = body.encode() if isinstance(body, str) else body
    response = web.Response(body=data, status=status)
    response.headers["Content-Type"] = f"application/vnd.github.{media}; charset=utf-8"
    response.headers["X-GitHub-Media-Type"] = f"github.v3; param={media}"
    return response


def plain(body: bytes) -> web.Response:
    """Answer a github.com `.diff` / `.patch` URL: plain text."""
    response = web.Response(body=body)
    response.headers["Content-Type"] = "text/plain; charset=utf-8"
    return response


async def diff(repo: Repo, old: str | None, new: str) -> bytes:
    """Return `git diff old new` as git prints it (old None: from the empty tree)."""
    _, out = await repo.git.run(
        "diff", "--no-color", "--no-ext-diff", "--no-renames", old or EMPTY_TREE, new
    )
    return out


async def range_diff(repo: Repo, base: str, head: str) -> bytes:
    """Return `git diff base...head`: what head changes since it forked from base."""
    fork = await repo.git.merge_base(base, head)
    return await diff(repo, fork or None, head)


async def patch(repo: Repo, base: str | None, head: str) -> bytes:
    """Return `git format-patch --stdout` for the commits in base..head (all of head's)."""
    spec = ["--root", head] if base is None else [f"{base}..{head}"]
    _, out = await repo.git.run(
        "format-patch", "--stdout", "--no-color", "--no-signature", "--no-renames", *spec
    )
    return out


async def commit_patch(repo: Repo, sha: str) -> bytes:
    """Return one commit as `git format-patch -1` prints it."""
    _, out = await repo.git.run(
        "format-patch", "--stdout", "--no-color", "--no-signature", "--no-renames", "-1", sha
    )
    return out
