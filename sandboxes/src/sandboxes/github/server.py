"""The GitHub sandbox server: an aiohttp app over a real bare git repository."""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import os
import secrets
import shutil
import socket
import tempfile
import threading
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from sandboxes.faults import hold_back
from sandboxes.github import (
    access,
    admin,
    apps,
    conditional,
    routes_collaborators,
    routes_commits,
    routes_conversation,
    routes_git,
    routes_hooks,
    routes_issues,
    routes_pulls,
    routes_repo,
    routes_review_comments,
    routes_smart_http,
    saved_state,
    views,
)
from sandboxes.github.api import CONTEXT, RATE, USER, Context, respond
from sandboxes.github.errors import ApiError
from sandboxes.github.events import Events
from sandboxes.github.faults import HANG_SECONDS, FaultList
from sandboxes.github.gitrepo import GitRepo, Signature
from sandboxes.github.operations import Operations, branch_ref
from sandboxes.github.payloads import Payloads
from sandboxes.github.state import App, Apps, Repo, State, User, now
from sandboxes.github.webhooks import Delivery, WebhookSender
from sandboxes.pages import STYLESHEET_PATH, stylesheet
from sandboxes.persist import Saver, bind_preferred, read_json, touch_middleware
from sandboxes.threaded import ThreadedServer

log = logging.getLogger(__name__)

T = TypeVar("T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ADMIN_PREFIX = "/_sandbox/"
APP_PREFIX = "/app/"
# The one App route under a repository: GET /repos/{owner}/{repo}/installation.
APP_ROUTE = "/installation"
GIT_TOKEN_USER = "x-access-token"  # noqa: S105 - a user name, not a secret
IMPORT_AUTHOR = ("lessonbot-sandbox", "lessonbot-sandbox@users.noreply.github.com")
RATE_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID {request_id}."
)


def _request_id() -> str:
    """Return an id shaped like GitHub's X-GitHub-Request-Id."""
    return ":".join(secrets.token_hex(n).upper() for n in (2, 3, 4, 4, 4))


def _authenticate(request: web.Request, state: State, apps: Apps) -> User | None:
    """Return the user a token or basic credential names; the token is the login."""
    header = request.headers.get("Authorization", "").strip()
    if not header or request.path.startswith(APP_PREFIX) or request.path.endswith(APP_ROUTE):
        return None  # App routes take a JWT, which their handler verifies
    scheme, _, credential = header.partition(" ")
    credential = credential.strip()
    if scheme.lower() in ("token", "bearer") and credential:
        try:
            # An installation token acts as its App's bot; any other token is a login.
            login = apps.login_for(credential) or credential
        except PermissionError:
            raise ApiError(401, "Bad credentials") from None
        return state.user(login)
    if scheme.lower() == "basic" and credential:
        try:
            login, _, password = base64.b64decode(credential).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            login = password = ""
        if login == GIT_TOKEN_USER and password:
            # How git clients (actions/checkout among them) send a token: as the password.
            try:
                return state.user(apps.login_for(password) or password)
            except PermissionError:
                raise ApiError(401, "Bad credentials") from None
        if login:
            return state.user(login)
    raise ApiError(401, "Bad credentials")


def _scan(content_dir: Path) -> tuple[list[tuple[str, Path, str]], list[tuple[str, str]]]:
    """List the files (path, mode) and symlinks (target) under a directory, minus `.git`."""
    files: list[tuple[str, Path, str]] = []
    links: list[tuple[str, str]] = []
    for root, dirs, names in os.walk(content_dir):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        base = Path(root)
        # os.walk does not descend into symlinked directories; they are stored as links.
        for name in sorted(names) + [d for d in dirs if (base / d).is_symlink()]:
            path = base / name
            relative = path.relative_to(content_dir).as_posix()
            if path.is_symlink():
                links.append((relative, os.readlink(path)))
            elif path.is_file():
                files.append((relative, path, "100755" if os.access(path, os.X_OK) else "100644"))
    return files, links


async def import_directory(git: GitRepo, content_dir: Path, branch: str) -> str:
    """Commit every file under `content_dir` as the first commit of `branch`."""
    files, links = await asyncio.to_thread(_scan, content_dir)
    shas = await git.write_blobs([path for _, path, _ in files])
    changes: dict[str, tuple[str, str] | None] = {
        relative: (mode, sha) for (relative, _, mode), sha in zip(files, shas, strict=True)
    }
    for relative, target in links:
        changes[relative] = ("120000", await git.write_blob(target.encode()))
    tree = await git.build_tree(None, changes)
    author = Signature(*IMPORT_AUTHOR, now())
    commit = await git.commit_tree(tree, [], "Import lesson content\n", author, author)
    if not await git.update_ref(branch_ref(branch), commit, None):
        raise RuntimeError(f"could not create {branch} in {git.path}")
    return commit


def _content_dir(path: Path) -> Path:
    """Return a content directory as an absolute path, or raise when it is missing."""
    path = Path(path).absolute()
    if not path.is_dir():
        raise FileNotFoundError(f"content directory not found: {path}")
    return path


class GitHubSandbox(ThreadedServer):
    """A GitHub-compatible REST server over real git repositories, with signed webhooks.

    The repository given is built from `content_dir`; `add_repository` adds more.
    With `state_dir`, the bare repositories live in `state_dir/repos` and the rest of the
    world (issues, pulls, comments, labels, people, ids) in `state_dir/world.json`; a
    start restores them, on the last run's port when free, instead of importing again.
    """

    thread_name = "GitHub sandbox"

    def __init__(
        self,
        content_dir: Path,
        repository: str = "lessons/content",
        *,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_login: str = "lessonbot",
        state_dir: Path | None = None,
    ) -> None:
        owner, _, name = repository.partition("/")
        if not owner or not name or "/" in name:
            raise ValueError(f"repository must be 'owner/name', not {repository!r}")
        self.content_dir = Path(content_dir).absolute()
        self.repository = repository
        self.host = host
        self.port = port
        self.bot_login = bot_login
        self._webhook_url = webhook_url
        self._webhook_secret = webhook_secret
        self._ctx: Context | None = None
        self._runner: web.AppRunner | None = None
        self._tmp: Path | None = None
        self._git_dir: Path | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""
        self.state_dir = Path(state_dir).absolute() if state_dir is not None else None
        self._saver: Saver | None = None
        self.world_id = uuid.uuid4().hex
        self.restored = False
        self.previous_base_url: str | None = None

    # Lifecycle

    async def start(self) -> None:
        """Build the repository and start serving on host:port."""
        _content_dir(self.content_dir)
        self._loop = asyncio.get_running_loop()
        if self.state_dir is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="lessonbot-github-sandbox-"))
        try:
            await self._start()
        except BaseException:
            await self.close()
            raise

    async def _start(self) -> None:
        """Set up state, git, the listening socket, the app and the webhook sender."""
        saved = await asyncio.to_thread(self._saved)
        if saved is not None:
            state, registered = saved_state.restore(saved, self._repos_dir)
            self.world_id, self.restored = saved["world_id"], True
        else:
            state, registered = State(), Apps()
            if self.state_dir is not None:
                # Repositories a killed run left without a saved world belong to no world.
                await asyncio.to_thread(shutil.rmtree, self._repos_dir, True)
        state.user(self.bot_login)
        owner, _, name = self.repository.partition("/")
        repo = state.repo(owner, name) or await self._create_repo(
            state, self.repository, self.content_dir
        )
        self._git_dir = repo.git.path

        # Bind first so the port (and every URL the payloads carry) is known before the
        # application is frozen. PortInUseError names a busy port asked for; the last
        # run's port is only preferred.
        sock = bind_preferred(self.host, self.port, saved.get("port") if saved else None)
        family = sock.family
        port = sock.getsockname()[1]
        host = f"[{self.host}]" if family == socket.AF_INET6 else self.host
        self.base_url = f"http://{host}:{port}"
        if saved is not None:
            self.previous_base_url = f"http://{host}:{saved['port']}"

        payloads = Payloads(state, self.base_url)
        webhooks = WebhookSender(self._webhook_url, self._webhook_secret, repo.id)
        events = Events(payloads, webhooks)
        events.observers.append(routes_conversation.timeline_observer(state))
        lock = asyncio.Lock()  # writes, and mergeability computed after them
        self._ctx = Context(
            state=state,
            payloads=payloads,
            events=events,
            ops=Operations(state, payloads, events, lock),
            faults=FaultList(),
            webhooks=webhooks,
            requests=[],
            lock=lock,
            apps=registered,
        )
        if self.state_dir is not None:
            self._saver = Saver(self.state_dir / "world.json", self._snapshot)
            await self._saver.save()  # the world exists on disk from its first moment
            self._saver.start()
        app = web.Application(middlewares=[touch_middleware(lambda: self._saver), _middleware])
        app[CONTEXT] = self._ctx
        app.router.add_routes(admin.routes())
        app.router.add_routes(routes_repo.admin_routes())
        app.router.add_routes(routes_conversation.routes())
        app.router.add_routes(routes_collaborators.routes())
        # routes_commits first: `/commits/{ref}/status` must not fall to `/commits/{ref:.+}`.
        for module in (
            routes_commits,
            routes_repo,
            routes_git,
            routes_issues,
            routes_pulls,
            routes_review_comments,
            routes_hooks,
            apps,
        ):
            app.router.add_routes(module.routes())
        # Last: `/{owner}/{repo}/info/refs` must not shadow a REST route.
        app.router.add_routes(routes_smart_http.routes())
        # After everything: the pages at the payloads' html_urls are `/{owner}/{repo}/...`.
        app.router.add_get(STYLESHEET_PATH, stylesheet)
        app.router.add_routes(views.routes())
        await webhooks.start()
        self._runner = web.AppRunner(app, access_log=None)
        try:
            await self._runner.setup()
            await web.SockSite(self._runner, sock).start()
        except BaseException:
            sock.close()
            raise

    async def _create_repo(self, state: State, repository: str, content_dir: Path) -> Repo:
        """Create a repository whose first commit on main holds `content_dir`."""
        owner_login, _, name = repository.partition("/")
        if not owner_login or not name or "/" in name:
            raise ValueError(f"repository must be 'owner/name', not {repository!r}")
        if state.repo(owner_login, name) is not None:
            raise ValueError(f"repository {repository} already exists")
        owner = state.find_user(owner_login) or state.user(owner_login, kind="Organization")
        git = await GitRepo.init(self._repos_dir / owner_login.lower() / f"{name.lower()}.git")
        await import_directory(git, content_dir, "main")
        repo = state.add_repo(owner, name, git, "main")
        # The bot writes through a token with push access; "maintainer" is the conventional
        # reviewer login tests and demos act as. Others are outsiders until granted access.
        repo.collaborators[self.bot_login.lower()] = "write"
        repo.collaborators["maintainer"] = "admin"
        return repo

    async def add_repository(self, repository: str, content_dir: Path) -> Path:
        """Add another repository built from `content_dir`; return its bare git directory."""
        content_dir = await asyncio.to_thread(_content_dir, content_dir)
        repo = await self._on_loop(self._create_repo(self.state, repository, content_dir))
        self._changed()
        return repo.git.path

    async def _on_loop(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the sandbox's loop, from it or from another thread's loop."""
        loop = self._loop
        if loop is None or loop is asyncio.get_running_loop():
            return await coroutine
        # Started in a thread: wait on the sandbox's own loop without blocking this one.
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, loop))

    async def close(self) -> None:
        """Stop serving; delete the repositories, or save the world with `state_dir`."""
        if self._ctx is not None:
            await self._ctx.ops.close()
            await self._ctx.webhooks.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._saver is not None:
            await self._saver.close()
            self._saver = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    # Keeping the world

    @property
    def _repos_dir(self) -> Path:
        """Return where the bare repositories live: in `state_dir`, or a temporary one."""
        if self.state_dir is not None:
            return self.state_dir / "repos"
        assert self._tmp is not None
        return self._tmp

    def _saved(self) -> dict[str, Any] | None:
        """Return the world `state_dir` holds, or None."""
        return None if self.state_dir is None else read_json(self.state_dir / "world.json")

    def _snapshot(self) -> dict[str, Any]:
        """Return the world as saved to `state_dir/world.json`."""
        port = int(self.base_url.rsplit(":", 1)[1])
        ctx = self.context
        return saved_state.snapshot(ctx.state, ctx.apps, self._repos_dir, self.world_id, port)

    def _changed(self) -> None:
        """Note a change made through the Python API, to be saved shortly."""
        saver, loop = self._saver, self._loop
        if saver is None or loop is None:
            return
        if loop.is_running():
            loop.call_soon_threadsafe(saver.touch)  # safe from the loop's thread and others
        else:
            saver.touch()

    # What tests and demos look at

    @property
    def context(self) -> Context:
        """Return the running sandbox's context (state, payloads, operations)."""
        if self._ctx is None:
            raise RuntimeError("the GitHub sandbox is not started")
        return self._ctx

    @property
    def state(self) -> State:
        """Return the in-memory state: users, repositories, issues, pull requests."""
        return self.context.state

    @property
    def git_dir(self) -> Path:
        """Return the path of the repository's bare git directory."""
        if self._git_dir is None:
            raise RuntimeError("the GitHub sandbox is not started")
        return self._git_dir

    @property
    def webhook_url(self) -> str | None:
        """Return where webhooks are delivered."""
        return self._webhook_url

    @webhook_url.setter
    def webhook_url(self, url: str | None) -> None:
        self._webhook_url = url
        if self._ctx is not None:
            self._ctx.webhooks.url = url

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Return the API requests received so far: method, path and status."""
        return list(self.context.requests)

    @property
    def deliveries(self) -> list[dict[str, Any]]:
        """Return the webhook deliveries so far, with the receiver's status."""
        return [delivery.to_json() for delivery in self.context.webhooks.deliveries]

    def add_fault(self, match: str, mode: str = "before", count: int = 1) -> dict[str, Any]:
        """Fail the next `count` requests matching `METHOD /path-glob` in the given mode."""
        return self.context.faults.add(match=match, mode=mode, count=count).to_json()

    def clear_faults(self) -> None:
        """Drop every pending fault."""
        self.context.faults.clear()

    def register_app(
        self,
        app_id: int,
        public_key_pem: str,
        installation_id: int,
        slug: str = "lessonbot",
        *,
        permissions: dict[str, str] | None = None,
        events: list[str] | None = None,
    ) -> str:
        """Install a GitHub App on the repository, granted `permissions` and subscribed to
        `events` (by default what the bot's manifest asks for); return the login its tokens
        act as."""
        bot_login = f"{slug}[bot]"
        app = App(app_id, public_key_pem, installation_id, bot_login)
        if permissions is not None:
            app.permissions = dict(permissions)
        if events is not None:
            app.events = list(events)
        self.context.apps.by_installation[installation_id] = app
        self.add_collaborator(bot_login, "write")
        self._changed()
        return bot_login

    def replace_text(self, old: str, new: str) -> int:
        """Replace `old` by `new` in every body of an issue, pull request, comment or review
        (e.g. a moved server's address); return how many changed. Call it from the
        sandbox's own loop, or before anything else writes."""
        changed = saved_state.replace_text(self.state, old, new)
        if changed:
            self._changed()
        return changed

    def add_collaborator(self, login: str, permission: str = "write") -> None:
        """Give `login` a role on the repository: read, triage, write, maintain or admin."""
        if permission not in access.ROLES:
            raise ValueError(f"permission must be one of {access.ROLES}")
        self.state.user(login)
        owner, _, name = self.repository.partition("/")
        repo = self.state.repo(owner, name)
        assert repo is not None
        repo.collaborators[login.lower()] = permission
        self._changed()

    async def wait_for_webhooks(self) -> None:
        """Wait until every queued webhook delivery was attempted (each times out in 10 s)."""
        if self._ctx is not None:
            await self._on_loop(self._ctx.webhooks.join())

    def wait_for_webhooks_blocking(self, timeout: float = 30.0) -> None:
        """Block until every queued delivery was attempted (for start_in_thread callers)."""
        if self._loop is None:
            return
        future = asyncio.run_coroutine_threadsafe(self.context.webhooks.join(), self._loop)
        future.result(timeout)


# The middleware: auth, rate limits, faults, serialization, logging and headers


@web.middleware
async def _middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Wrap every route the way GitHub's front end does."""
    ctx = request.app[CONTEXT]
    request_id = _request_id()
    if request.path.startswith(ADMIN_PREFIX):
        response = await _call(request, handler)
        response.headers["X-GitHub-Request-Id"] = request_id
        return response
    if views.is_view_route(request):
        # Pages for a browser: no token, rate limit or fault applies, none is logged. An
        # API path no route knows (`/repos/o`) stays the API's JSON 404.
        if views.is_reserved(request):
            response = _error(ApiError(404, "Not Found"))
        else:
            response = await views.serve(request, handler, ctx)
        response.headers["X-GitHub-Request-Id"] = request_id
        return response
    if routes_smart_http.is_git_route(request):
        response = await _git(request, handler, ctx, request_id)
        ctx.requests.append(
            {"method": request.method, "path": request.path, "status": response.status}
        )
        return response
    held: list[Delivery] = []
    response = await _api(request, handler, ctx, request_id, held)
    response = conditional.apply(request, response, request.get(RATE))
    ctx.requests.append({"method": request.method, "path": request.path, "status": response.status})
    window = request.get(RATE)
    if window is not None:
        response.headers.setdefault("X-RateLimit-Limit", str(window.limit))
        response.headers.setdefault("X-RateLimit-Remaining", str(window.remaining))
        response.headers.setdefault("X-RateLimit-Reset", str(window.reset))
        response.headers.setdefault("X-RateLimit-Used", str(window.used))
        response.headers.setdefault("X-RateLimit-Resource", "core")
    response.headers["X-GitHub-Request-Id"] = request_id
    response.headers.setdefault("X-GitHub-Media-Type", "github.v3; format=json")
    response.headers["X-GitHub-Api-Version-Selected"] = "2022-11-28"
    if not held:
        return response
    try:
        # Finish the response here (aiohttp skips what is already done) so that the
        # webhooks it caused go out after it, as GitHub delivers them.
        await response.prepare(request)
        await response.write_eof()
    finally:
        WebhookSender.release(held)
    return response


async def _api(
    request: web.Request,
    handler: Handler,
    ctx: Context,
    request_id: str,
    held: list[Delivery],
) -> web.StreamResponse:
    """Authenticate, count, inject faults and run the route under the write lock."""
    try:
        user = _authenticate(request, ctx.state, ctx.apps)
    except ApiError as error:
        return _error(error)
    if user is not None:
        request[USER] = user
    key = f"user:{user.login.lower()}" if user else f"ip:{request.remote}"
    window = ctx.state.rate(key, authenticated=user is not None)
    request[RATE] = window
    if request.path != "/rate_limit":  # checking the limit does not use it up, as on GitHub
        if window.remaining <= 0:
            return _primary_limit(user, request, request_id, window.reset)
        window.remaining -= 1
    if (
        user is None
        and request.method not in ("GET", "HEAD")
        and not request.path.startswith(APP_PREFIX)
    ):
        return _error(ApiError(401, "Requires authentication"))
    mode = ctx.faults.take(request.method, request.path)
    if mode == "before":
        return _bad_gateway()
    if mode == "secondary":
        message = SECONDARY_MESSAGE.format(request_id=request_id)
        return _error(
            ApiError(
                403,
                message,
                headers={"Retry-After": "1"},
                documentation_url=f"{RATE_DOCS}#about-secondary-rate-limits",
            )
        )
    if mode == "primary":
        return _primary_limit(user, request, request_id, int(now().timestamp()) + 2)
    async with ctx.lock:
        collected = ctx.webhooks.hold()
        try:
            response = await _call(request, access.enforced(handler))
        finally:
            ctx.webhooks.unhold()
            held.extend(collected)
    if mode == "after":
        # The change is applied; only the answer is lost, as when a proxy times out.
        return _bad_gateway()
    if mode == "hang":
        await hold_back(request, HANG_SECONDS)
    return response


async def _git(
    request: web.Request, handler: Handler, ctx: Context, request_id: str
) -> web.StreamResponse:
    """Serve git's smart HTTP: the same credentials as REST, no REST rate limit or lock."""
    headers = {"X-GitHub-Request-Id": request_id}
    try:
        user = _authenticate(request, ctx.state, ctx.apps)
    except ApiError:
        # Git asks its credential helpers on a challenge; the sandbox gives the usual one.
        headers["WWW-Authenticate"] = 'Basic realm="GitHub"'
        return routes_smart_http.plain(401, "Invalid username or token.", headers)
    if user is not None:
        request[USER] = user
    if ctx.faults.take(request.method, request.path) is not None:
        # Every fault mode fails a read alike: git sees the 502 a broken proxy gives.
        return routes_smart_http.plain(502, "Server Error", headers)
    try:
        response = await handler(request)
    except Exception:
        log.exception("GitHub sandbox git route %s %s failed", request.method, request.path)
        return routes_smart_http.plain(500, "Server Error", headers)
    if not response.prepared:
        response.headers.update(headers)
    return response


def _primary_limit(
    user: User | None, request: web.Request, request_id: str, reset: int
) -> web.Response:
    """Answer 403 as GitHub does when the hourly allowance is used up."""
    who = f"user ID {user.id}" if user else str(request.remote)
    window = request[RATE]
    return _error(
        ApiError(
            403,
            f"API rate limit exceeded for {who}. If you reach out to GitHub Support for help, "
            f"please include the request ID {request_id}.",
            headers={
                "X-RateLimit-Limit": str(window.limit),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(reset),
                "X-RateLimit-Used": str(window.limit),
            },
            documentation_url=f"{RATE_DOCS}#about-rate-limits",
        )
    )


def _bad_gateway() -> web.Response:
    """Answer the 502 a lost or failed upstream response gives."""
    return respond({"message": "Server Error"}, status=502)


def _error(error: ApiError) -> web.Response:
    """Render an ApiError."""
    return respond(error.body(), status=error.status, headers=error.headers)


async def _call(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Run a route, turning every failure into GitHub's JSON error shape."""
    try:
        return await handler(request)
    except ApiError as error:
        return _error(error)
    except web.HTTPException as error:
        if error.status in (404, 405):
            return _error(ApiError(404, "Not Found"))
        return _error(ApiError(error.status, error.reason))
    except Exception:
        log.exception("GitHub sandbox route %s %s failed", request.method, request.path)
        return _error(ApiError(500, "Server Error"))


async def serve(
    content_dir: Path,
    repository: str = "lessons/content",
    host: str = "127.0.0.1",
    port: int = 0,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    collaborators: Sequence[tuple[str, str]] = (),
) -> None:
    """Run a GitHub sandbox until cancelled, printing where it listens."""
    sandbox = GitHubSandbox(
        content_dir,
        repository,
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
        host=host,
        port=port,
    )
    async with sandbox:
        for login, role in collaborators:
            sandbox.add_collaborator(login, role)
        print(f"GitHub sandbox for {sandbox.repository} listening on {sandbox.base_url}")
        print(f"  git repository: {sandbox.git_dir}")
        print(f"  in a browser: {sandbox.base_url}/{sandbox.repository}")
        print(f"  webhooks: {webhook_url or 'off'}", flush=True)
        await asyncio.Event().wait()
