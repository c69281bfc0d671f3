"""Git plumbing on a bare repository through the `git` command line."""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
ZERO_SHA = "0" * 40
SHA_RE = re.compile(r"^[0-9a-f]{40}$")
FILE_MODES = frozenset({"100644", "100755", "120000"})
TREE_MODE = "040000"
GITLINK_MODE = "160000"


class GitError(RuntimeError):
    """A git command failed."""

    def __init__(self, args: Iterable[str], returncode: int, stderr: bytes) -> None:
        self.returncode = returncode
        self.stderr = stderr.decode("utf-8", "replace").strip()
        super().__init__(f"git {' '.join(args)} exited {returncode}: {self.stderr}")


@dataclass(frozen=True)
class Signature:
    """An author or committer line of a commit."""

    name: str
    email: str
    when: datetime

    def git_date(self) -> str:
        """Return the date in git's raw `<epoch> <+hhmm>` format."""
        offset = self.when.utcoffset() or timedelta(0)
        minutes = int(offset.total_seconds()) // 60
        sign = "-" if minutes < 0 else "+"
        minutes = abs(minutes)
        return f"{int(self.when.timestamp())} {sign}{minutes // 60:02d}{minutes % 60:02d}"

    @classmethod
    def parse(cls, line: str) -> Signature:
        """Parse `Name <email> 1700000000 +0100` as git writes it."""
        ident, _, rest = line.rpartition("> ")
        name, _, email = ident.partition(" <")
        epoch, _, tz = rest.partition(" ")
        sign = -1 if tz.startswith("-") else 1
        tz = tz.lstrip("+-") or "0000"
        offset = timedelta(hours=int(tz[:2]), minutes=int(tz[2:4])) * sign
        when = datetime.fromtimestamp(int(epoch), timezone(offset))
        return cls(name=name, email=email, when=when)


@dataclass(frozen=True)
class CommitInfo:
    """A parsed commit object."""

    sha: str
    tree: str
    parents: tuple[str, ...]
    author: Signature
    committer: Signature
    message: str


@dataclass(frozen=True)
class TreeEntry:
    """One entry of a tree listing."""

    mode: str
    type: str
    sha: str
    path: str
    size: int | None = None


@dataclass(frozen=True)
class Change:
    """One changed path between two trees."""

    status: str  # A, M, D, T as git reports it
    path: str
    old_mode: str
    new_mode: str
    old_sha: str
    new_sha: str


@dataclass(frozen=True)
class NumStat:
    """Lines added and deleted in one path; None for binary files."""

    path: str
    additions: int | None
    deletions: int | None


def is_sha(value: object) -> bool:
    """Tell whether a value is a full lowercase hex object name."""
    return isinstance(value, str) and bool(SHA_RE.match(value))


class GitRepo:
    """A bare repository driven by the git CLI; every method runs one or a few git processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # Isolate from the machine's git configuration: no global hooks, signing or
        # pathspec magic can change what the sandbox writes.
        self._env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(path),
            "LC_ALL": "C",
            "GIT_DIR": str(path),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_LITERAL_PATHSPECS": "1",
            "GIT_TERMINAL_PROMPT": "0",
        }

    @classmethod
    async def init(cls, path: Path, branch: str = "main") -> GitRepo:
        """Create an empty bare repository whose HEAD names `branch`."""
        await asyncio.to_thread(path.mkdir, parents=True, exist_ok=True)
        repo = cls(path)
        await repo.run("init", "--quiet", "--bare", f"--initial-branch={branch}", str(path))
        return repo

    async def run(
        self,
        *args: str,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (0,),
    ) -> tuple[int, bytes]:
        """Run git with the given arguments and return (exit code, stdout)."""
        proc = await asyncio.create_subprocess_exec(
            "git",
            "-c",
            "core.quotePath=false",
            *args,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**self._env, **(env or {})},
            cwd=self.path,
        )
        out, err = await proc.communicate(stdin)
        code = proc.returncode if proc.returncode is not None else -1
        if code not in ok:
            raise GitError(args, code, err)
        return code, out

    async def output(self, *args: str, stdin: bytes | None = None) -> str:
        """Run git and return its stdout as stripped text."""
        _, out = await self.run(*args, stdin=stdin)
        return out.decode("utf-8", "surrogateescape").strip()

    # Objects

    async def resolve(self, rev: str, kind: str = "commit") -> str | None:
        """Return the sha `rev` names, peeled to `kind`, or None."""
        if not rev or rev.startswith("-") or "\n" in rev:
            return None
        code, out = await self.run(
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            f"{rev}^{{{kind}}}",
            ok=(0, 1, 128),
        )
        return out.decode().strip() if code == 0 else None

    async def read_object(self, sha: str) -> tuple[str, bytes] | None:
        """Return (type, raw content) of an object, or None when it does not exist."""
        if not is_sha(sha):
            return None
        _, out = await self.run("cat-file", "--batch", stdin=f"{sha}\n".encode())
        header, _, rest = out.partition(b"\n")
        parts = header.split()
        if len(parts) != 3:
            return None
        size = int(parts[2])
        return parts[1].decode(), rest[:size]

    async def read_commit(self, sha: str) -> CommitInfo | None:
        """Parse a commit object, or return None when `sha` is not a commit."""
        obj = await self.read_object(sha)
        if obj is None or obj[0] != "commit":
            return None
        return parse_commit(sha, obj[1])

    async def write_blob(self, data: bytes) -> str:
        """Store bytes as a blob and return its sha."""
        return await self.output("hash-object", "-w", "--no-filters", "--stdin", stdin=data)

    async def write_blobs(self, paths: list[Path]) -> list[str]:
        """Store files as blobs in one git process and return their shas in order."""
        if not paths:
            return []
        listing = "".join(f"{path}\n" for path in paths).encode("utf-8", "surrogateescape")
        out = await self.output("hash-object", "-w", "--no-filters", "--stdin-paths", stdin=listing)
        return out.split()

    async def ls_tree(
        self, treeish: str, path: str | None = None, *, recursive: bool = False, trees: bool = False
    ) -> list[TreeEntry]:
        """List a tree (or the entry at `path` in it) with sizes."""
        args = ["ls-tree", "-z", "-l", "--full-tree"]
        if recursive:
            args.append("-r")
        if trees:
            args.append("-t")
        args += ["--end-of-options", treeish]
        if path is not None:
            args += ["--", path]
        _, out = await self.run(*args)
        entries = []
        for record in out.split(b"\0"):
            if not record:
                continue
            meta, _, name = record.partition(b"\t")
            mode, kind, sha, size = meta.decode().split(maxsplit=3)
            entries.append(
                TreeEntry(
                    mode=mode,
                    type=kind,
                    sha=sha,
                    path=name.decode("utf-8", "surrogateescape"),
                    size=None if size.strip() == "-" else int(size),
                )
            )
        return entries

    async def entry_at(self, commit: str, path: str) -> TreeEntry | None:
        """Return the tree entry at `path` in a commit, or None."""
        path = path.strip("/")
        if not path:
            tree = await self.resolve(commit, "tree")
            return None if tree is None else TreeEntry(TREE_MODE, "tree", tree, "")
        for entry in await self.ls_tree(commit, path):
            if entry.path == path:
                return entry
        return None

    async def build_tree(
        self, base_tree: str | None, changes: Mapping[str, tuple[str, str] | None]
    ) -> str:
        """Write a tree: `base_tree` with each path set to (mode, sha), or removed when None."""
        files: dict[str, tuple[str, str]] = {}
        if base_tree is not None:
            for entry in await self.ls_tree(base_tree, recursive=True):
                files[entry.path] = (entry.mode, entry.sha)
        for raw_path, change in changes.items():
            path = raw_path.strip("/")
            if change is None:
                files.pop(path, None)
                _drop_under(files, path)
                continue
            mode, sha = change
            # A file replaces a directory of the same name and the other way round,
            # as git itself would refuse to hold both.
            _drop_under(files, path)
            _drop_parents(files, path)
            if mode == TREE_MODE:
                files.pop(path, None)
                for entry in await self.ls_tree(sha, recursive=True):
                    files[f"{path}/{entry.path}"] = (entry.mode, entry.sha)
            else:
                files[path] = (mode, sha)
        return await self._write_index(files)

    async def _write_index(self, files: Mapping[str, tuple[str, str]]) -> str:
        """Write the given flat listing through a throwaway index and return the tree sha."""
        index = self.path / f"sandbox-index-{uuid.uuid4().hex}"
        env = {"GIT_INDEX_FILE": str(index)}
        try:
            records = b"".join(
                f"{mode} {sha}\t{path}\0".encode("utf-8", "surrogateescape")
                for path, (mode, sha) in sorted(files.items())
            )
            await self.run("read-tree", "--empty", env=env)
            if records:
                await self.run("update-index", "-z", "--index-info", stdin=records, env=env)
            _, out = await self.run("write-tree", env=env)
            return out.decode().strip()
        finally:
            index.unlink(missing_ok=True)
            index.with_name(index.name + ".lock").unlink(missing_ok=True)

    async def commit_tree(
        self,
        tree: str,
        parents: Iterable[str],
        message: str,
        author: Signature,
        committer: Signature,
    ) -> str:
        """Write a commit object and return its sha."""
        args = ["commit-tree", "--no-gpg-sign"]
        for parent in parents:
            args += ["-p", parent]
        args.append(tree)
        env = {
            "GIT_AUTHOR_NAME": author.name,
            "GIT_AUTHOR_EMAIL": author.email,
            "GIT_AUTHOR_DATE": author.git_date(),
            "GIT_COMMITTER_NAME": committer.name,
            "GIT_COMMITTER_EMAIL": committer.email,
            "GIT_COMMITTER_DATE": committer.git_date(),
        }
        _, out = await self.run(*args, stdin=message.encode("utf-8"), env=env)
        return out.decode().strip()

    # Refs

    async def refs(self, prefix: str = "refs/") -> dict[str, str]:
        """Return every ref under `prefix` with the sha it points to."""
        out = await self.output("for-each-ref", "--format=%(objectname) %(refname)", prefix)
        result = {}
        for line in out.splitlines():
            sha, _, name = line.partition(" ")
            result[name] = sha
        return result

    async def ref(self, name: str) -> str | None:
        """Return the sha a full ref name points to, or None."""
        code, out = await self.run(
            "rev-parse", "--verify", "--quiet", "--end-of-options", name, ok=(0, 1, 128)
        )
        if code != 0 or not name.startswith("refs/"):
            return None
        return out.decode().strip()

    async def valid_ref_name(self, name: str) -> bool:
        """Tell whether git accepts `name` as a full ref name."""
        if name.startswith("-"):
            return False
        code, _ = await self.run("check-ref-format", name, ok=(0, 1))
        return code == 0

    async def update_ref(self, name: str, new: str, old: str | None) -> bool:
        """Point `name` at `new` only if it still points at `old` (None: must not exist)."""
        code, _ = await self.run(
            "update-ref", "--no-deref", name, new, old or ZERO_SHA, ok=(0, 1, 128)
        )
        return code == 0

    async def set_ref(self, name: str, new: str) -> None:
        """Point `name` at `new` whatever it pointed at before."""
        await self.run("update-ref", "--no-deref", name, new)

    async def delete_ref(self, name: str, old: str) -> bool:
        """Delete `name` only if it still points at `old`."""
        code, _ = await self.run("update-ref", "--no-deref", "-d", name, old, ok=(0, 1, 128))
        return code == 0

    # History

    async def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Tell whether `ancestor` is reachable from `descendant`."""
        code, _ = await self.run("merge-base", "--is-ancestor", ancestor, descendant, ok=(0, 1))
        return code == 0

    async def merge_base(self, a: str, b: str) -> str | None:
        """Return the best common ancestor of two commits, or None."""
        code, out = await self.run("merge-base", a, b, ok=(0, 1))
        return out.decode().strip() if code == 0 else None

    async def rev_list(self, *args: str) -> list[str]:
        """Return the shas `git rev-list` prints for the arguments."""
        out = await self.output("rev-list", *args)
        return out.split()

    async def merge_trees(self, ours: str, theirs: str) -> str | None:
        """Merge two commits in memory and return the merged tree, or None on conflict."""
        code, out = await self.run(
            "merge-tree", "--write-tree", "--no-messages", ours, theirs, ok=(0, 1, 128)
        )
        if code != 0:
            return None
        return out.decode().split()[0]

    async def diff(self, old: str | None, new: str) -> list[Change]:
        """Return the paths changed from `old` (None: nothing) to `new`."""
        _, out = await self.run("diff-tree", "-r", "-z", "--no-renames", old or EMPTY_TREE, new)
        fields = out.split(b"\0")
        changes = []
        for i in range(0, len(fields) - 1, 2):
            meta = fields[i].decode()
            if not meta.startswith(":"):
                continue
            old_mode, new_mode, old_sha, new_sha, status = meta[1:].split()
            changes.append(
                Change(
                    status=status[0],
                    path=fields[i + 1].decode("utf-8", "surrogateescape"),
                    old_mode=old_mode,
                    new_mode=new_mode,
                    old_sha=old_sha,
                    new_sha=new_sha,
                )
            )
        return changes

    async def numstat(self, old: str | None, new: str) -> list[NumStat]:
        """Return lines added and deleted per changed path."""
        _, out = await self.run(
            "diff-tree", "-r", "-z", "--no-renames", "--numstat", old or EMPTY_TREE, new
        )
        stats = []
        for record in out.split(b"\0"):
            if not record.strip():
                continue
            added, deleted, path = record.decode("utf-8", "surrogateescape").split("\t", 2)
            stats.append(
                NumStat(
                    path=path,
                    additions=None if added == "-" else int(added),
                    deletions=None if deleted == "-" else int(deleted),
                )
            )
        return stats

    async def patches(self, old: str | None, new: str) -> list[str | None]:
        """Return each changed path's hunks (None for binary files), in `diff` order."""
        _, out = await self.run(
            "diff-tree", "-r", "-p", "--no-renames", "--no-color", old or EMPTY_TREE, new
        )
        text = out.decode("utf-8", "replace")
        result: list[str | None] = []
        for chunk in re.split(r"^diff --git ", text, flags=re.MULTILINE)[1:]:
            start = chunk.find("\n@@")
            result.append(chunk[start + 1 :].rstrip("\n") if start >= 0 else None)
        return result


def parse_commit(sha: str, raw: bytes) -> CommitInfo:
    """Parse a raw commit object."""
    text = raw.decode("utf-8", "replace")
    header, _, message = text.partition("\n\n")
    tree = ""
    parents: list[str] = []
    author = committer = None
    for line in header.splitlines():
        key, _, value = line.partition(" ")
        if key == "tree":
            tree = value
        elif key == "parent":
            parents.append(value)
        elif key == "author":
            author = Signature.parse(value)
        elif key == "committer":
            committer = Signature.parse(value)
    epoch = Signature("", "", datetime.fromtimestamp(0, UTC))
    return CommitInfo(
        sha=sha,
        tree=tree,
        parents=tuple(parents),
        author=author or epoch,
        committer=committer or epoch,
        message=message,
    )


def _drop_under(files: dict[str, tuple[str, str]], path: str) -> None:
    """Remove every listed file inside directory `path`."""
    prefix = f"{path}/"
    for name in [name for name in files if name.startswith(prefix)]:
        del files[name]


def _drop_parents(files: dict[str, tuple[str, str]], path: str) -> None:
    """Remove files that sit where a parent directory of `path` must go."""
    parts = path.split("/")
    for i in range(1, len(parts)):
        files.pop("/".join(parts[:i]), None)
