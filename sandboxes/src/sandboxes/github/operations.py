"""Changes that touch git, state and webhooks together: ref moves, file commits, pulls."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from typing import Any

from sandboxes.github import codeowners
from sandboxes.github.errors import ApiError, custom, invalid, not_found
from sandboxes.github.events import Events
from sandboxes.github.gitrepo import FILE_MODES, ZERO_SHA, Signature, TreeEntry
from sandboxes.github.payloads import JSON, Payloads, PullStats, diff_entry, push_commit
from sandboxes.github.state import ROLES, Issue, Pull, Repo, State, User, now

HEADS = "refs/heads/"
MAX_PUSH_COMMITS = 2048
GITHUB = ("GitHub", "noreply@github.com")


def branch_ref(branch: str) -> str:
    """Return the full ref name of a branch."""
    return f"{HEADS}{branch}"


def pull_head_ref(number: int) -> str:
    """Return the ref GitHub keeps at a pull request's head (`git fetch origin pull/N/head`)."""
    return f"refs/pull/{number}/head"


def valid_path(path: str) -> bool:
    """Tell whether a repository file path is one git can store."""
    parts = path.split("/")
    return bool(path) and all(part not in ("", ".", "..", ".git") for part in parts)


class Operations:
    """Apply changes to a repository and emit the webhooks GitHub would."""

    def __init__(
        self,
        state: State,
        payloads: Payloads,
        events: Events,
        lock: asyncio.Lock | None = None,
    ) -> None:
        self.state = state
        self.payloads = payloads
        self.events = events
        self._stats: dict[tuple[int, str, str, bool], PullStats] = {}
        # Mergeability per (repo, base, head), known only once computed, as on GitHub.
        self._mergeable: dict[tuple[int, str, str], bool] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # The background computation waits for the write lock, so it runs after the
        # request that asked for it has been answered (and its webhooks rendered).
        self._lock = lock or asyncio.Lock()

    @staticmethod
    def signature(user: User) -> Signature:
        """Return the commit identity GitHub uses for a user acting on the web."""
        return Signature(user.login, user.email, now())

    # Refs and pushes

    async def move_ref(
        self, repo: Repo, ref: str, new: str | None, old: str | None, sender: User
    ) -> bool:
        """Point `ref` at `new` (None deletes it) if it still points at `old` (None: absent)."""
        git = repo.git
        if new is None:
            if old is None:
                return False
            moved = await git.delete_ref(ref, old)
        else:
            moved = await git.update_ref(ref, new, old)
        if not moved:
            return False
        repo.pushed_at = now()
        await self._push_event(repo, ref, old, new, sender)
        await self._follow_branch(repo, ref, new, sender)
        if new is not None and ref == branch_ref(repo.default_branch):
            await self._close_from_commits(repo, old, new, sender)
        return True

    async def _close_from_commits(
        self, repo: Repo, old: str | None, new: str, sender: User
    ) -> None:
        """Close the issues that commits reaching the default branch name with a keyword."""
        shas = await repo.git.rev_list("--reverse", f"{old}..{new}" if old else new)
        for sha in shas[-MAX_PUSH_COMMITS:]:
            commit = await repo.git.read_commit(sha)
            if commit is not None:
                await self.close_referenced(repo, commit.message, sender, markdown=False)

    async def close_referenced(
        self, repo: Repo, text: str, sender: User, *, markdown: bool
    ) -> None:
        """Close each open issue `text` closes as GitHub does (`fixes #12`), with its event."""
        for number in closed_issue_numbers(repo, text, markdown=markdown):
            issue = repo.issues.get(number)
            if issue is None or issue.pull is not None or issue.state != "open":
                continue
            stamp = now()
            issue.state, issue.closed_at, issue.closed_by = "closed", stamp, sender
            issue.state_reason, issue.updated_at = "completed", stamp
            await self.notify("closed", repo, issue, sender)

    async def _push_event(
        self, repo: Repo, ref: str, old: str | None, new: str | None, sender: User
    ) -> None:
        """Emit `push` with the pushed commits and the paths each one changed."""
        git = repo.git
        commits: list[JSON] = []
        head_commit: JSON | None = None
        forced = False
        if new is not None:
            others = [sha for name, sha in (await git.refs(HEADS)).items() if name != ref]
            exclude = ["--not", *others] if others else []
            if old is None:
                shas = await git.rev_list("--reverse", new, *exclude)
                distinct = set(shas)
            else:
                forced = not await git.is_ancestor(old, new)
                shas = await git.rev_list("--reverse", f"{old}..{new}")
                distinct = set(await git.rev_list(new, "--not", old, *others))
            for sha in shas[:MAX_PUSH_COMMITS]:
                commits.append(await self._push_commit(repo, sha, sha in distinct))
            if commits and commits[-1]["id"] == new:
                head_commit = commits[-1]
            else:
                head_commit = await self._push_commit(repo, new, new in distinct)
        self.events.push(
            repo,
            sender,
            ref=ref,
            before=old or ZERO_SHA,
            after=new or ZERO_SHA,
            created=old is None,
            deleted=new is None,
            forced=forced,
            commits=commits,
            head_commit=head_commit,
        )

    async def _push_commit(self, repo: Repo, sha: str, distinct: bool) -> JSON:
        """Render one pushed commit, its changes taken against its first parent."""
        commit = await repo.git.read_commit(sha)
        assert commit is not None, f"{sha} is not a commit"
        changes = await repo.git.diff(commit.parents[0] if commit.parents else None, sha)
        return push_commit(self.payloads, repo, commit, changes, distinct)

    async def _follow_branch(self, repo: Repo, ref: str, new: str | None, sender: User) -> None:
        """Move open pull requests along with their branches; `synchronize` on head moves."""
        if not ref.startswith(HEADS) or new is None:
            return
        branch = ref.removeprefix(HEADS)
        for issue in list(repo.pulls()):
            pull = issue.pull
            assert pull is not None
            if issue.state != "open":
                continue
            if pull.base_ref == branch and pull.base_sha != new:
                pull.base_sha = new
                self.schedule_mergeability(repo, issue)
            if pull.head_ref == branch and pull.head_sha != new:
                before = pull.head_sha
                pull.head_sha = new
                await repo.git.set_ref(pull_head_ref(issue.number), new)
                issue.touch()
                stats = await self.pull_stats(repo, issue)
                self.events.pull_request(
                    "synchronize", repo, issue, stats, sender, before=before, after=new
                )
                self.schedule_mergeability(repo, issue)

    # Files

    async def changed_files(
        self, repo: Repo, old: str | None, new: str, *, patches: bool = True
    ) -> list[JSON]:
        """Return the files changed from `old` (None: nothing) to `new`, as GitHub lists them."""
        git = repo.git
        changes = await git.diff(old, new)
        stats = {stat.path: stat for stat in await git.numstat(old, new)}
        hunks: list[str | None] = await git.patches(old, new) if patches else []
        return [
            diff_entry(
                self.payloads,
                repo,
                change,
                stats.get(change.path),
                new,
                hunks[i] if i < len(hunks) else None,
            )
            for i, change in enumerate(changes)
        ]

    async def commit_file(
        self,
        repo: Repo,
        user: User,
        *,
        path: str,
        content: bytes | None,
        message: str,
        branch: str,
        sha: str | None,
        author: Signature | None = None,
        committer: Signature | None = None,
    ) -> tuple[bool, str, TreeEntry | None]:
        """Write (or delete, with None) one file on a branch as a new commit.

        Returns whether the file was created, the new commit sha and the file's new entry.
        """
        if not valid_path(path):
            raise ApiError(422, f"path {path!r} is not a valid file path")
        git = repo.git
        ref = branch_ref(branch)
        head = await git.ref(ref)
        if head is None:
            raise ApiError(404, f"Branch {branch} not found")
        entry = await git.entry_at(head, path)
        if entry is not None and entry.type != "blob":
            raise ApiError(422, f"{path} is a directory, not a file")
        if entry is None and content is None:
            raise not_found()
        if entry is not None and not sha:
            raise ApiError(422, 'Invalid request.\n\n"sha" wasn\'t supplied.')
        if sha and (entry is None or entry.sha != sha):
            raise ApiError(409, f"{path} does not match {sha}")
        change: tuple[str, str] | None = None
        if content is not None:
            blob = await git.write_blob(content)
            mode = entry.mode if entry is not None and entry.mode in FILE_MODES else "100644"
            change = (mode, blob)
        parent = await git.read_commit(head)
        assert parent is not None
        tree = await git.build_tree(parent.tree, {path: change})
        committer = committer or self.signature(user)
        commit = await git.commit_tree(tree, [head], message, author or committer, committer)
        if not await self.move_ref(repo, ref, commit, head, user):
            raise ApiError(409, f"Reference {ref} changed during the update; try again")
        new_entry = None if content is None else await git.entry_at(commit, path)
        return entry is None, commit, new_entry

    # Pull requests

    async def pull_stats(self, repo: Repo, issue: Issue) -> PullStats:
        """Return diff size and mergeability (None until computed) of a pull request."""
        pull = issue.pull
        assert pull is not None
        is_open = issue.state == "open" and not pull.merged
        key = (repo.id, pull.base_sha, pull.head_sha, is_open)
        stats = self._stats.get(key)
        if stats is None:
            git = repo.git
            fork_point = await git.merge_base(pull.base_sha, pull.head_sha) or pull.base_sha
            commits = await git.rev_list(f"{pull.base_sha}..{pull.head_sha}")
            numstat = await git.numstat(fork_point, pull.head_sha)
            stats = PullStats(
                mergeable=None,
                commits=len(commits),
                additions=sum(stat.additions or 0 for stat in numstat),
                deletions=sum(stat.deletions or 0 for stat in numstat),
                changed_files=len(numstat),
            )
            self._stats[key] = stats
        mergeable = self._mergeable.get((repo.id, pull.base_sha, pull.head_sha))
        if not is_open or mergeable is None:
            return stats
        return dataclasses.replace(stats, mergeable=mergeable)

    async def compute_mergeability(self, repo: Repo, issue: Issue) -> bool | None:
        """Work out whether an open pull request merges cleanly into its base, once per tip."""
        pull = issue.pull
        assert pull is not None
        if issue.state != "open" or pull.merged:
            return None
        key = (repo.id, pull.base_sha, pull.head_sha)
        known = self._mergeable.get(key)
        if known is None:
            known = await repo.git.merge_trees(pull.base_sha, pull.head_sha) is not None
            self._mergeable[key] = known
        return known

    def schedule_mergeability(self, repo: Repo, issue: Issue) -> None:
        """Compute mergeability in the background, after the current request, as GitHub does."""

        async def compute() -> None:
            async with self._lock:
                await self.compute_mergeability(repo, issue)

        try:
            task = asyncio.get_running_loop().create_task(compute())
        except RuntimeError:
            return  # no loop (a synchronous caller): the next read computes it
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Cancel background computations still waiting."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def open_pull(
        self,
        repo: Repo,
        user: User,
        *,
        title: str,
        head: str,
        base: str,
        body: str | None,
        draft: bool,
        maintainer_can_modify: bool,
    ) -> Issue:
        """Open a pull request from `head` into `base`, refusing what GitHub refuses."""
        owner, _, branch = head.rpartition(":")
        if owner and owner.lower() != repo.owner.login.lower():
            # Forks are out of the sandbox's scope: a head in another account is unknown.
            raise invalid("PullRequest", "head")
        head_sha = await repo.git.ref(branch_ref(branch))
        if head_sha is None:
            raise invalid("PullRequest", "head")
        base_sha = await repo.git.ref(branch_ref(base))
        if base_sha is None:
            raise invalid("PullRequest", "base")
        for other in repo.pulls():
            assert other.pull is not None
            if (
                other.state == "open"
                and other.pull.head_ref == branch
                and other.pull.base_ref == base
            ):
                raise custom(
                    "PullRequest",
                    f"A pull request already exists for {repo.owner.login}:{branch}.",
                )
        if await repo.git.is_ancestor(head_sha, base_sha):
            raise custom("PullRequest", f"No commits between {base} and {branch}")
        issue = self.state.new_issue(repo, user, title, body)
        issue.pull = Pull(
            id=self.state.new_id("pull"),
            head_ref=branch,
            head_sha=head_sha,
            base_ref=base,
            base_sha=base_sha,
            draft=draft,
            maintainer_can_modify=maintainer_can_modify,
        )
        await repo.git.set_ref(pull_head_ref(issue.number), head_sha)
        await self.notify("opened", repo, issue, user)
        await self._request_code_owners(repo, issue, user)
        self.schedule_mergeability(repo, issue)
        return issue

    async def _request_code_owners(self, repo: Repo, issue: Issue, author: User) -> None:
        """Ask the code owners of the changed paths to review, as GitHub does on opening."""
        pull = issue.pull
        assert pull is not None
        git = repo.git
        text = None
        for location in codeowners.LOCATIONS:
            entry = await git.entry_at(pull.base_sha, location)
            if entry is not None and entry.type == "blob":
                blob = await git.read_object(entry.sha)
                text = blob[1].decode("utf-8", "replace") if blob is not None else None
                break
        if not text:
            return
        fork_point = await git.merge_base(pull.base_sha, pull.head_sha) or pull.base_sha
        paths = [change.path for change in await git.diff(fork_point, pull.head_sha)]
        for login in codeowners.user_owners(codeowners.parse(text), paths):
            known = login.lower() in repo.collaborators
            owner = self.state.user(login) if known else self.state.find_user(login)
            # GitHub requests only owners who may write, and never the author.
            if owner is None or owner is author or owner in pull.requested_reviewers:
                continue
            if ROLES.index(self.state.permission(repo, owner)) < ROLES.index("write"):
                continue
            pull.requested_reviewers.append(owner)
            await self.notify("review_requested", repo, issue, author, requested_reviewer=owner)

    async def merge(
        self,
        repo: Repo,
        issue: Issue,
        user: User,
        *,
        method: str,
        title: str | None,
        message: str | None,
        sha: str | None,
    ) -> str:
        """Merge a pull request with a real commit on its base branch; return the new sha."""
        pull = issue.pull
        assert pull is not None
        if pull.merged or issue.state != "open":
            raise ApiError(405, "Pull Request is not mergeable")
        if pull.draft:
            raise ApiError(405, "Pull Request is still a draft")
        git = repo.git
        base_ref = branch_ref(pull.base_ref)
        base_sha = await git.ref(base_ref)
        if base_sha is None:
            raise ApiError(405, "Pull Request is not mergeable")
        if sha and sha != pull.head_sha:
            raise ApiError(409, "Head branch was modified. Review and try the merge again.")
        merger = self.signature(user)
        github = Signature(*GITHUB, merger.when)
        if method == "merge":
            tree = await git.merge_trees(base_sha, pull.head_sha)
            if tree is None:
                raise ApiError(405, "Pull Request is not mergeable")
            title = title or (
                f"Merge pull request #{issue.number} from {repo.owner.login}/{pull.head_ref}"
            )
            text = f"{title}\n\n{issue.title if message is None else message}".rstrip() + "\n"
            new = await git.commit_tree(tree, [base_sha, pull.head_sha], text, merger, github)
        elif method == "squash":
            tree = await git.merge_trees(base_sha, pull.head_sha)
            if tree is None:
                raise ApiError(405, "Pull Request is not mergeable")
            if message is None:
                subjects = []
                for commit_sha in await git.rev_list("--reverse", f"{base_sha}..{pull.head_sha}"):
                    commit = await git.read_commit(commit_sha)
                    if commit is not None:
                        subjects.append(f"* {commit.message.strip()}")
                message = "\n\n".join(subjects)
            title = title or f"{issue.title} (#{issue.number})"
            text = f"{title}\n\n{message}".rstrip() + "\n"
            new = await git.commit_tree(tree, [base_sha], text, merger, github)
        elif method == "rebase":
            # Replaying commits needs `git merge-tree --merge-base` (git 2.40); with 2.39 the
            # sandbox rebases only what fast-forwards.
            if not await git.is_ancestor(base_sha, pull.head_sha):
                raise ApiError(405, "This branch can't be rebased")
            new = pull.head_sha
        else:
            raise invalid("PullRequest", "merge_method")
        if not await self.move_ref(repo, base_ref, new, base_sha, user):
            raise ApiError(409, "Base branch was modified. Review and try the merge again.")
        stamp = now()
        pull.base_sha = base_sha
        pull.merged_at = stamp
        pull.merged_by = user
        pull.merge_commit_sha = new
        pull.requested_reviewers.clear()
        issue.state = "closed"
        issue.closed_at = stamp
        issue.closed_by = user
        issue.updated_at = stamp
        await self.notify("closed", repo, issue, user)
        if pull.base_ref == repo.default_branch:
            # A merged PR closes the issues its description names with a closing keyword.
            await self.close_referenced(repo, issue.body or "", user, markdown=True)
        return new

    async def refresh_pull(self, repo: Repo, issue: Issue) -> None:
        """Catch a reopened pull request up with where its branches are now."""
        pull = issue.pull
        if pull is None:
            return
        pull.head_sha = await repo.git.ref(branch_ref(pull.head_ref)) or pull.head_sha
        await repo.git.set_ref(pull_head_ref(issue.number), pull.head_sha)
        pull.base_sha = await repo.git.ref(branch_ref(pull.base_ref)) or pull.base_sha

    async def notify(
        self, action: str, repo: Repo, issue: Issue, sender: User, **extra: Any
    ) -> None:
        """Emit `issues` for an issue or `pull_request` for a pull request."""
        if issue.pull is None:
            self.events.issues(action, repo, issue, sender, **extra)
        else:
            stats = await self.pull_stats(repo, issue)
            self.events.pull_request(action, repo, issue, stats, sender, **extra)


# GitHub's closing keywords, an optional colon, then a reference to an issue of this
# repository: #12, owner/repo#12, or the issue's URL.
_CLOSING = re.compile(
    r"(?<![\w-])(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)[ \t]*:?[ \t]+"
    r"(?:(?P<slug>[\w.-]+/[\w.-]+)?#(?P<number>\d+)"
    r"|https?://\S+?/(?P<url_slug>[\w.-]+/[\w.-]+)/issues/(?P<url_number>\d+))",
    re.IGNORECASE,
)
# What GitHub's markdown leaves as code, where no reference is a link: fenced blocks and
# inline code spans.
_FENCED = re.compile(
    r"^(?P<fence>`{3,}|~{3,})[^\n]*\n.*?(?:^(?P=fence)[`~]*[ \t]*$|\Z)", re.S | re.M
)
_INLINE_CODE = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.S)


def closed_issue_numbers(repo: Repo, text: str, *, markdown: bool) -> list[int]:
    """Return the numbers of this repository's issues `text` closes, in order, once each."""
    if markdown:
        text = _INLINE_CODE.sub(" ", _FENCED.sub(" ", text))
    slug = f"{repo.owner.login}/{repo.name}".lower()
    numbers: list[int] = []
    for found in _CLOSING.finditer(text):
        named = (found["slug"] or found["url_slug"] or slug).lower()
        number = int(found["number"] or found["url_number"])
        if named == slug and number not in numbers:
            numbers.append(number)
    return numbers
