"""Git's smart HTTP protocol (clone, fetch, ls-remote), served by `git http-backend` as CGI.

Read-only, as the sandbox needs: pushes are refused with 403. Both `/{owner}/{name}.git/...`
and `/{owner}/{name}/...` are served, as on GitHub.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal

from aiohttp import web

from sandboxes.github.api import acting_user, context
from sandboxes.github.state import Repo

log = logging.getLogger(__name__)

# Route names mark git's routes, so the middleware serves them as git, not as REST.
ROUTE_PREFIX = "git-smart-http-"
UPLOAD_PACK = "git-upload-pack"
RECEIVE_PACK = "git-receive-pack"
_CHUNK = 64 * 1024
# The CGI headers of http-backend are a few short lines; more means something is wrong.
_MAX_HEADER_BYTES = 64 * 1024


def is_git_route(request: web.Request) -> bool:
    """Tell whether the route matched for `request` is one of git's."""
    name = request.match_info.route.name
    return bool(name and name.startswith(ROUTE_PREFIX))


def plain(status: int, text: str, headers: dict[str, str] | None = None) -> web.Response:
    """Answer in plain text, which git shows the person after `remote:`."""
    return web.Response(status=status, text=text.rstrip("\n") + "\n", headers=headers)


def _find_repo(request: web.Request) -> Repo | None:
    """Return the repository named in the path, with or without `.git`."""
    name = request.match_info["repo"].removesuffix(".git")
    return context(request).state.repo(request.match_info["owner"], name) if name else None


def _push_refused(request: web.Request, repo: Repo) -> web.Response:
    """Answer a push as GitHub answers one without write access."""
    user = acting_user(request)
    who = user.login if user is not None else "anonymous"
    return plain(403, f"Permission to {repo.full_name}.git denied to {who}.")


async def info_refs(request: web.Request) -> web.StreamResponse:
    """GET /{owner}/{repo}[.git]/info/refs?service=git-upload-pack: the ref advertisement."""
    repo = _find_repo(request)
    if repo is None:
        return plain(404, "Repository not found.")
    service = request.query.get("service")
    if service == RECEIVE_PACK:
        return _push_refused(request, repo)
    if service != UPLOAD_PACK:
        # GitHub serves no "dumb" HTTP either: a client that old is told to upgrade.
        return plain(403, "Please upgrade your git client. The dumb HTTP protocol is not served.")
    return await run_backend(request, repo, "info/refs")


async def upload_pack(request: web.Request) -> web.StreamResponse:
    """POST /{owner}/{repo}[.git]/git-upload-pack: send the objects a fetch asked for."""
    repo = _find_repo(request)
    if repo is None:
        return plain(404, "Repository not found.")
    return await run_backend(request, repo, UPLOAD_PACK)


async def receive_pack(request: web.Request) -> web.StreamResponse:
    """POST /{owner}/{repo}[.git]/git-receive-pack: refused, the sandbox is read-only."""
    repo = _find_repo(request)
    if repo is None:
        return plain(404, "Repository not found.")
    return _push_refused(request, repo)


def _backend_env(request: web.Request, repo: Repo, path: str) -> dict[str, str]:
    """Return the CGI environment `git http-backend` reads the request from."""
    root = repo.git.path.parent
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(root),
        "LC_ALL": "C",
        # Isolated from the machine's git configuration, as the sandbox's own git is.
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_PROJECT_ROOT": str(root),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": f"/{repo.git.path.name}/{path}",
        "REQUEST_METHOD": request.method,
        "QUERY_STRING": request.query_string,
        "CONTENT_TYPE": request.headers.get("Content-Type", ""),
        "REMOTE_ADDR": request.remote or "",
        "SERVER_PROTOCOL": f"HTTP/{request.version.major}.{request.version.minor}",
    }
    # No CONTENT_LENGTH: aiohttp has already undone any gzip the client applied, so the
    # declared length is wrong; without one, http-backend reads the body to its end.
    user = acting_user(request)
    if user is not None:
        env["REMOTE_USER"] = user.login
    protocol = request.headers.get("Git-Protocol")
    if protocol:
        env["GIT_PROTOCOL"] = protocol  # protocol v2, which git asks for by default
    return env


async def run_backend(request: web.Request, repo: Repo, path: str) -> web.StreamResponse:
    """Run `git http-backend` for one request, streaming the body in and the answer out."""
    proc = await asyncio.create_subprocess_exec(
        "git",
        "http-backend",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_backend_env(request, repo, path),
        cwd=repo.git.path,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    feeder = asyncio.create_task(_feed(request, proc.stdin))
    errors = asyncio.create_task(proc.stderr.read())
    finished = False
    try:
        status, headers = await _read_cgi_headers(proc.stdout)
        response = web.StreamResponse(status=status, headers=headers)
        await response.prepare(request)
        try:
            while chunk := await proc.stdout.read(_CHUNK):
                await response.write(chunk)
            await response.write_eof()
            finished = True
        except ConnectionResetError:
            log.info("git client went away during %s %s", request.method, request.path)
        return response
    except ValueError as error:
        log.error("git http-backend for %s answered badly: %s", repo.full_name, error)
        return plain(500, "Server Error")
    finally:
        feeder.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await feeder
        if not finished and proc.returncode is None:
            # Left early (the client went away): the backend may be blocked writing to us.
            # os.kill, not proc.kill(): Popen's own poll() would reap the child before
            # asyncio's watcher does, which then logs "Unknown child process".
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
        await proc.wait()
        stderr = (await errors).decode("utf-8", "replace").strip()
        if stderr:
            log.info("git http-backend %s %s: %s", request.method, request.path, stderr)


async def _feed(request: web.Request, stdin: asyncio.StreamWriter) -> None:
    """Copy the request body to the backend's stdin, then close it."""
    try:
        async for chunk in request.content.iter_chunked(_CHUNK):
            stdin.write(chunk)
            await stdin.drain()
    except (BrokenPipeError, ConnectionResetError):
        return  # the backend stopped reading: its answer says why
    finally:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            stdin.close()


async def _read_cgi_headers(stdout: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    """Read the CGI header block: `Status:` and the HTTP headers, up to a blank line."""
    status = 200
    headers: dict[str, str] = {}
    size = 0
    while True:
        line = await stdout.readline()
        size += len(line)
        if not line or size > _MAX_HEADER_BYTES:
            raise ValueError("no complete CGI header block")
        text = line.decode("latin-1").rstrip("\r\n")
        if not text:
            return status, headers
        name, _, value = text.partition(":")
        value = value.strip()
        if name.lower() == "status":
            status = int(value.split()[0])
        else:
            headers[name] = value


def routes() -> list[web.RouteDef]:
    """Return git's smart HTTP routes, for a repository path with or without `.git`."""
    base = "/{owner}/{repo}"
    return [
        web.get(base + "/info/refs", info_refs, name=ROUTE_PREFIX + "info-refs"),
        web.post(base + "/" + UPLOAD_PACK, upload_pack, name=ROUTE_PREFIX + UPLOAD_PACK),
        web.post(base + "/" + RECEIVE_PACK, receive_pack, name=ROUTE_PREFIX + RECEIVE_PACK),
    ]
