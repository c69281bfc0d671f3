"""The lessons' source of truth: a local clone of the content repository, or a directory."""

from __future__ import annotations

import asyncio
import base64
import fcntl
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.domain.catalogue import Catalogue, load_catalogue

log = logging.getLogger(__name__)

TokenProvider = Callable[[], Awaitable[str | None]]
# The user name git clients send a token under (GitHub ignores it; the token is the password).
TOKEN_USER = "x-access-token"  # noqa: S105 - a user name, not a secret
# Inherited variables that would point git at another repository or configuration.
_GIT_OVERRIDES = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_CONFIG",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
    "GIT_NAMESPACE",
    "GIT_CEILING_DIRECTORIES",
)


class ContentSyncError(Exception):
    """The clone could not be made or brought up to date; the message is one line."""


class ContentRepository:
    """A local clone of the content repository, reset to the remote's default branch.

    The clone is the bot's copy, not a work tree for people: each refresh throws away local
    changes. The token travels in git's environment (GIT_CONFIG_*), never in its arguments,
    the remote URL, logs or errors.
    """

    def __init__(
        self,
        url: str,
        directory: Path,
        *,
        token: TokenProvider | None = None,
        timeout: float = 300.0,
    ) -> None:
        self.url = url
        self.directory = Path(directory).absolute()
        self._token = token
        self._timeout = timeout
        # One refresh at a time in this process; the lock file covers other processes.
        self._lock = asyncio.Lock()

    @property
    def lock_path(self) -> Path:
        """Return the lock file beside the clone that serializes refreshes across processes."""
        return self.directory.with_name(f".{self.directory.name}.lock")

    async def refresh(self, branch: str | None = None) -> Path:
        """Clone or fetch, reset the work tree to `origin/<branch>` and return its path.

        Without `branch` the remote's default branch (its HEAD) is used.
        """
        token = await self._token() if self._token is not None else None
        async with self._lock:
            return await asyncio.to_thread(self._refresh, branch, token)

    def _refresh(self, branch: str | None, token: str | None) -> Path:
        """Refresh under the cross-process lock (blocking; runs in a worker thread)."""
        try:
            self.directory.parent.mkdir(parents=True, exist_ok=True)
            handle = open(self.lock_path, "a+b")  # noqa: SIM115 - held for the whole refresh
        except OSError as error:
            raise ContentSyncError(
                f"cannot prepare {self.directory.parent}: {error.strerror}"
            ) from None
        with handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            env = self._env(token)
            self._drop_stale_locks()
            if self._is_our_clone(env):
                self._fetch(env, token)
            else:
                self._clone(env, token)
            self._reset(env, branch, token)
        return self.directory

    def _drop_stale_locks(self) -> None:
        """Remove git's lock files a killed refresh left; holding the lock, none is live."""
        git_dir = self.directory / ".git"
        if git_dir.is_dir():
            for stale in git_dir.rglob("*.lock"):
                log.warning("removing %s, left by an interrupted refresh", stale)
                stale.unlink(missing_ok=True)

    def _env(self, token: str | None) -> dict[str, str]:
        """Return git's environment: no prompts, no user config, the token as a header."""
        env = {key: value for key, value in os.environ.items() if key not in _GIT_OVERRIDES}
        env.update(
            {
                "GIT_TERMINAL_PROMPT": "0",
                "GIT_CONFIG_NOSYSTEM": "1",
                # A person's credential helpers and URL rewrites must not change what
                # the bot fetches, nor see its token.
                "GIT_CONFIG_GLOBAL": os.devnull,
                "LC_ALL": "C",
            }
        )
        if token:
            basic = base64.b64encode(f"{TOKEN_USER}:{token}".encode()).decode()
            env.update(
                {
                    "GIT_CONFIG_COUNT": "1",
                    "GIT_CONFIG_KEY_0": "http.extraHeader",
                    "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
                }
            )
        return env

    def _git(
        self,
        what: str,
        args: list[str],
        env: dict[str, str],
        token: str | None,
        *,
        cwd: Path | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """Run git; on failure raise ContentSyncError with git's own reason, token removed."""
        try:
            result = subprocess.run(
                ["git", *args],
                cwd=cwd or self.directory,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=self._timeout,
            )
        except subprocess.TimeoutExpired:
            raise ContentSyncError(
                f"git {what} of {self.url} timed out after {self._timeout:.0f}s"
            ) from None
        except OSError as error:
            raise ContentSyncError(f"git {what} could not run: {error.strerror}") from None
        if check and result.returncode != 0:
            reason = _reason(result.stderr, token)
            raise ContentSyncError(
                f"git {what} of {self.url} into {self.directory} failed: {reason}"
            )
        return result

    def _is_our_clone(self, env: dict[str, str]) -> bool:
        """Tell whether the directory is a clone whose origin is our URL."""
        if not (self.directory / ".git").exists():
            return False
        found = self._git(
            "config", ["config", "--get", "remote.origin.url"], env, None, check=False
        )
        return found.returncode == 0 and found.stdout.strip() == self.url

    def _clone(self, env: dict[str, str], token: str | None) -> None:
        """Clone into a fresh directory beside the target, then move it into place."""
        git_dir = self.directory / ".git"
        if self.directory.exists() and not git_dir.exists() and any(self.directory.iterdir()):
            # Not ours to delete: someone's files, not a clone the bot made.
            raise ContentSyncError(
                f"{self.directory} holds files but is not a clone; move them away or set "
                "content.clone_dir to another directory"
            )
        for leftover in self.directory.parent.glob(f".{self.directory.name}-*"):
            # A clone a killed process left half-made.
            shutil.rmtree(leftover, ignore_errors=True)
        staging = Path(
            tempfile.mkdtemp(prefix=f".{self.directory.name}-", dir=self.directory.parent)
        )
        try:
            log.info("cloning %s into %s", self.url, self.directory)
            self._git(
                "clone",
                ["clone", "--quiet", "--no-tags", "--", self.url, str(staging)],
                env,
                token,
                cwd=self.directory.parent,
            )
            # A clone of another remote (or an empty directory) gives way to the new one;
            # the swap happens only after the new clone is complete.
            if self.directory.exists():
                shutil.rmtree(self.directory)
            staging.rename(self.directory)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _fetch(self, env: dict[str, str], token: str | None) -> None:
        """Fetch the remote's branches, dropping those it deleted."""
        self._git("fetch", ["fetch", "--quiet", "--prune", "--no-tags", "origin"], env, token)

    def _reset(self, env: dict[str, str], branch: str | None, token: str | None) -> None:
        """Make the work tree exactly `origin/<branch>`: no local edits, no stray files."""
        target = f"refs/remotes/origin/{branch}" if branch else "refs/remotes/origin/HEAD"
        if not branch and not self._resolves(env, target):
            # The default branch was renamed or deleted since the clone: ask the remote.
            self._git("set-head", ["remote", "set-head", "origin", "--auto"], env, token)
        if not self._resolves(env, target):
            raise ContentSyncError(f"{self.url} has no branch {branch or 'HEAD'}")
        self._git("reset", ["reset", "--quiet", "--hard", target], env, token)
        self._git("clean", ["clean", "-ffdqx"], env, token)

    def _resolves(self, env: dict[str, str], ref: str) -> bool:
        """Tell whether a ref names a commit in the clone."""
        found = self._git(
            "rev-parse",
            ["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
            env,
            None,
            check=False,
        )
        return found.returncode == 0


def _reason(stderr: str, token: str | None) -> str:
    """Return git's most telling line (its `fatal:` one), with any trace of the token gone."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    fatal = [line for line in lines if line.startswith(("fatal:", "error:"))]
    reason = (fatal or lines or ["no message"])[-1]
    if token:
        basic = base64.b64encode(f"{TOKEN_USER}:{token}".encode()).decode()
        reason = reason.replace(basic, "***").replace(token, "***")
    return reason


class ContentSource:
    """The current lesson catalogue, and where it is (re)loaded from.

    One object every part of the bot reads `catalogue` from, so a refresh after a push
    is seen by all of them.
    """

    def __init__(
        self,
        default_locale: str,
        *,
        directory: Path | None = None,
        repository: ContentRepository | None = None,
    ) -> None:
        if (directory is None) == (repository is None):
            raise ValueError("a content source is either a directory or a repository")
        self.default_locale = default_locale
        self.directory = directory
        self.repository = repository
        self._catalogue: Catalogue | None = None
        # Refresh and load as one step, so an older load never replaces a newer one.
        self._lock = asyncio.Lock()

    @property
    def from_github(self) -> bool:
        """Tell whether the lessons come from the GitHub repository."""
        return self.repository is not None

    @property
    def catalogue(self) -> Catalogue:
        """Return the catalogue as last loaded."""
        if self._catalogue is None:
            raise RuntimeError("the content source was never loaded")
        return self._catalogue

    async def refresh(self, branch: str | None = None) -> Catalogue:
        """Bring the clone up to date (if any), load the catalogue and make it current."""
        async with self._lock:
            if self.repository is not None:
                root = await self.repository.refresh(branch)
            else:
                assert self.directory is not None
                root = self.directory
            catalogue = await asyncio.to_thread(load_catalogue, root, self.default_locale)
            self._catalogue = catalogue
            return catalogue
