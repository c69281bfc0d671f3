"""The JSON shapes GitHub sends, built from sandbox state."""

from __future__ import annotations

import base64
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from sandboxes.github.gitrepo import Change, CommitInfo, NumStat, Signature, TreeEntry
from sandboxes.github.records import REACTIONS, lock_reason, reaction_counts
from sandboxes.github.state import (
    Comment,
    Issue,
    Label,
    Repo,
    Review,
    State,
    User,
    role_flags,
)

JSON = dict[str, Any]
REVIEW_HOOK_STATES = {
    "APPROVED": "approved",
    "CHANGES_REQUESTED": "changes_requested",
    "COMMENTED": "commented",
    "DISMISSED": "dismissed",
}


@dataclass(frozen=True)
class PullStats:
    """What git says about a pull request: mergeability and the size of its diff."""

    mergeable: bool | None
    commits: int
    additions: int
    deletions: int
    changed_files: int


def iso(value: datetime | None) -> str | None:
    """Format a time as GitHub does: ISO 8601 in UTC with a `Z`."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def git_date(value: datetime) -> str:
    """Format a commit time with its own offset, as the git data API does."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def node_id(kind: str, number: int) -> str:
    """Return an opaque global node id in GitHub's legacy encoding."""
    return base64.b64encode(f"{len(kind):02d}:{kind}{number}".encode()).decode()


def encode_content(data: bytes) -> str:
    """Encode file bytes as GitHub does in contents and blobs: base64 in 60-column lines."""
    text = base64.b64encode(data).decode()
    return "".join(f"{text[i : i + 60]}\n" for i in range(0, len(text), 60))


class Payloads:
    """Render sandbox objects as GitHub REST and webhook JSON."""

    def __init__(self, state: State, base_url: str) -> None:
        self.state = state
        self.base = base_url.rstrip("/")

    # URLs

    def repo_api(self, repo: Repo) -> str:
        """Return the API URL of a repository."""
        return f"{self.base}/repos/{repo.full_name}"

    def repo_html(self, repo: Repo) -> str:
        """Return the web URL of a repository."""
        return f"{self.base}/{repo.full_name}"

    def issue_html(self, repo: Repo, issue: Issue) -> str:
        """Return the web URL of an issue or pull request."""
        kind = "pull" if issue.pull is not None else "issues"
        return f"{self.repo_html(repo)}/{kind}/{issue.number}"

    # Accounts and repositories

    def user(self, user: User) -> JSON:
        """Render a simple user."""
        api = f"{self.base}/users/{quote(user.login)}"
        return {
            "login": user.login,
            "id": user.id,
            "node_id": node_id("Organization" if user.type == "Organization" else "User", user.id),
            "avatar_url": f"{self.base}/_sandbox/avatars/{user.id}",
            "gravatar_id": "",
            "url": api,
            "html_url": f"{self.base}/{quote(user.login)}",
            "followers_url": f"{api}/followers",
            "following_url": f"{api}/following{{/other_user}}",
            "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/subscriptions",
            "organizations_url": f"{api}/orgs",
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events",
            "type": user.type,
            "site_admin": False,
        }

    def organization(self, org: User) -> JSON:
        """Render an organization as REST lists it and webhooks carry it (`organization`)."""
        api = f"{self.base}/orgs/{quote(org.login)}"
        return {
            "login": org.login,
            "id": org.id,
            "node_id": node_id("Organization", org.id),
            "url": api,
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events",
            "hooks_url": f"{api}/hooks",
            "issues_url": f"{api}/issues",
            "members_url": f"{api}/members{{/member}}",
            "public_members_url": f"{api}/public_members{{/member}}",
            "avatar_url": f"{self.base}/_sandbox/avatars/{org.id}",
            "description": None,
        }

    def public_user(self, user: User) -> JSON:
        """Render a user profile, as GET /users/{login} returns it."""
        return {
            **self.user(user),
            "name": user.login,
            "company": None,
            "blog": "",
            "location": None,
            "email": None,
            "hireable": None,
            "bio": None,
            "twitter_username": None,
            "public_repos": 0,
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "created_at": iso(user.created_at),
            "updated_at": iso(user.created_at),
        }

    def private_user(self, user: User) -> JSON:
        """Render the authenticated user, as GET /user returns it."""
        return {
            **self.public_user(user),
            "user_view_type": "private",
            "notification_email": None,
            "private_gists": 0,
            "total_private_repos": 0,
            "owned_private_repos": 0,
            "disk_usage": 0,
            "collaborators": 0,
            "two_factor_authentication": True,
            "plan": {
                "name": "free",
                "space": 976562499,
                "private_repos": 10000,
                "collaborators": 0,
            },
        }

    def repository(self, repo: Repo, *, hook: bool = False, push: bool = False) -> JSON:
        """Render a repository; `hook` for webhook payloads, `push` for push events."""
        api = self.repo_api(repo)
        html = self.repo_html(repo)
        host = self.base.split("://", 1)[-1]
        open_issues = repo.open_issue_count()
        data: JSON = {
            "id": repo.id,
            "node_id": node_id("Repository", repo.id),
            "name": repo.name,
            "full_name": repo.full_name,
            "private": False,
            "owner": self.user(repo.owner),
            "html_url": html,
            "description": repo.description,
            "fork": False,
            "url": api,
            "forks_url": f"{api}/forks",
            "keys_url": f"{api}/keys{{/key_id}}",
            "collaborators_url": f"{api}/collaborators{{/collaborator}}",
            "teams_url": f"{api}/teams",
            "hooks_url": f"{api}/hooks",
            "issue_events_url": f"{api}/issues/events{{/number}}",
            "events_url": f"{api}/events",
            "assignees_url": f"{api}/assignees{{/user}}",
            "branches_url": f"{api}/branches{{/branch}}",
            "tags_url": f"{api}/tags",
            "blobs_url": f"{api}/git/blobs{{/sha}}",
            "git_tags_url": f"{api}/git/tags{{/sha}}",
            "git_refs_url": f"{api}/git/refs{{/sha}}",
            "trees_url": f"{api}/git/trees{{/sha}}",
            "statuses_url": f"{api}/statuses/{{sha}}",
            "languages_url": f"{api}/languages",
            "stargazers_url": f"{api}/stargazers",
            "contributors_url": f"{api}/contributors",
            "subscribers_url": f"{api}/subscribers",
            "subscription_url": f"{api}/subscription",
            "commits_url": f"{api}/commits{{/sha}}",
            "git_commits_url": f"{api}/git/commits{{/sha}}",
            "comments_url": f"{api}/comments{{/number}}",
            "issue_comment_url": f"{api}/issues/comments{{/number}}",
            "contents_url": f"{api}/contents/{{+path}}",
            "compare_url": f"{api}/compare/{{base}}...{{head}}",
            "merges_url": f"{api}/merges",
            "archive_url": f"{api}/{{archive_format}}{{/ref}}",
            "downloads_url": f"{api}/downloads",
            "issues_url": f"{api}/issues{{/number}}",
            "pulls_url": f"{api}/pulls{{/number}}",
            "milestones_url": f"{api}/milestones{{/number}}",
            "notifications_url": f"{api}/notifications{{?since,all,participating}}",
            "labels_url": f"{api}/labels{{/name}}",
            "releases_url": f"{api}/releases{{/id}}",
            "deployments_url": f"{api}/deployments",
            "created_at": iso(repo.created_at),
            "updated_at": iso(repo.updated_at),
            "pushed_at": iso(repo.pushed_at),
            "git_url": f"git://{host}/{repo.full_name}.git",
            "ssh_url": f"git@{host.split(':')[0]}:{repo.full_name}.git",
            "clone_url": f"{html}.git",
            "svn_url": html,
            "homepage": None,
            "size": 0,
            "stargazers_count": 0,
            "watchers_count": 0,
            "language": None,
            "has_issues": True,
            "has_projects": True,
            "has_downloads": True,
            "has_wiki": True,
            "has_pages": False,
            "has_discussions": False,
            "forks_count": 0,
            "mirror_url": None,
            "archived": False,
            "disabled": False,
            "open_issues_count": open_issues,
            "license": None,
            "allow_forking": True,
            "is_template": False,
            "web_commit_signoff_required": False,
            "topics": [],
            "visibility": "public",
            "forks": 0,
            "open_issues": open_issues,
            "watchers": 0,
            "default_branch": repo.default_branch,
        }
        if hook:
            data["custom_properties"] = {}
            if push:
                # Push events carry the older shape: epoch seconds and `master_branch`.
                data["created_at"] = int(repo.created_at.timestamp())
                data["pushed_at"] = int(repo.pushed_at.timestamp())
                data["stargazers"] = 0
                data["master_branch"] = repo.default_branch
        return data

    def full_repository(self, repo: Repo, viewer: User | None) -> JSON:
        """Render a repository as GET /repos/{owner}/{repo} returns it."""
        data = self.repository(repo)
        permission = self.state.permission(repo, viewer) if viewer is not None else "read"
        data.update(
            {
                "permissions": role_flags(permission),
                "allow_squash_merge": True,
                "allow_merge_commit": True,
                "allow_rebase_merge": True,
                "allow_auto_merge": False,
                "delete_branch_on_merge": False,
                "allow_update_branch": False,
                "use_squash_pr_title_as_default": False,
                "squash_merge_commit_title": "COMMIT_OR_PR_TITLE",
                "squash_merge_commit_message": "COMMIT_MESSAGES",
                "merge_commit_title": "MERGE_MESSAGE",
                "merge_commit_message": "PR_TITLE",
                "custom_properties": {},
                "network_count": 0,
                "subscribers_count": 0,
            }
        )
        return data

    # Issues and their parts

    def label(self, repo: Repo, label: Label) -> JSON:
        """Render a label, the same in REST answers and in webhooks, as GitHub sends it."""
        return {
            "id": label.id,
            "node_id": node_id("Label", label.id),
            "url": f"{self.repo_api(repo)}/labels/{quote(label.name, safe='')}",
            "name": label.name,
            "color": label.color,
            "default": label.default,
            "description": label.description,
            # GitHub's current models require both in webhooks too; labels are never archived.
            "archived_at": None,
            "archived_by": None,
        }

    def reactions(self, url: str) -> JSON:
        """Render the reaction rollup of the issue or comment at `url`."""
        # The URL names the subject: {base}/repos/{owner}/{name}/issues/... .
        parts = url.removeprefix(self.base).split("/", 4)
        repo = self.state.repo(parts[2], parts[3]) if len(parts) == 5 else None
        if repo is None:
            counts = dict.fromkeys(REACTIONS, 0)
        else:
            counts = reaction_counts(repo, "/" + parts[4])
        return {"url": f"{url}/reactions", "total_count": sum(counts.values()), **counts}

    def issue(self, repo: Repo, issue: Issue, *, hook: bool = False) -> JSON:
        """Render an issue, or the issue side of a pull request."""
        api = f"{self.repo_api(repo)}/issues/{issue.number}"
        data: JSON = {
            "url": api,
            "repository_url": self.repo_api(repo),
            "labels_url": f"{api}/labels{{/name}}",
            "comments_url": f"{api}/comments",
            "events_url": f"{api}/events",
            "html_url": self.issue_html(repo, issue),
            "id": issue.id,
            "node_id": node_id("Issue", issue.id),
            "number": issue.number,
            "title": issue.title,
            "user": self.user(issue.user),
            "labels": [self.label(repo, label) for label in issue.labels],
            "state": issue.state,
            "locked": issue.locked,
            "assignee": self.user(issue.assignees[0]) if issue.assignees else None,
            "assignees": [self.user(user) for user in issue.assignees],
            "milestone": None,
            "comments": len(issue.comments),
            "created_at": iso(issue.created_at),
            "updated_at": iso(issue.updated_at),
            "closed_at": iso(issue.closed_at),
            "author_association": self.state.association(repo, issue.user),
            "active_lock_reason": lock_reason(repo, issue),
            "body": issue.body,
            "reactions": self.reactions(api),
            "timeline_url": f"{api}/timeline",
            "performed_via_github_app": None,
            "state_reason": issue.state_reason,
        }
        if issue.pull is not None:
            html = self.issue_html(repo, issue)
            data["draft"] = issue.pull.draft
            data["pull_request"] = {
                "url": f"{self.repo_api(repo)}/pulls/{issue.number}",
                "html_url": html,
                "diff_url": f"{html}.diff",
                "patch_url": f"{html}.patch",
                "merged_at": iso(issue.pull.merged_at),
            }
        if not hook:
            data["closed_by"] = self.user(issue.closed_by) if issue.closed_by else None
        return data

    def comment(self, repo: Repo, comment: Comment) -> JSON:
        """Render an issue comment."""
        issue = repo.issues[comment.issue_number]
        url = f"{self.repo_api(repo)}/issues/comments/{comment.id}"
        return {
            "url": url,
            "html_url": f"{self.issue_html(repo, issue)}#issuecomment-{comment.id}",
            "issue_url": f"{self.repo_api(repo)}/issues/{issue.number}",
            "id": comment.id,
            "node_id": node_id("IssueComment", comment.id),
            "user": self.user(comment.user),
            "created_at": iso(comment.created_at),
            "updated_at": iso(comment.updated_at),
            "author_association": self.state.association(repo, comment.user),
            "body": comment.body,
            "reactions": self.reactions(url),
            "performed_via_github_app": None,
        }

    # Pull requests

    def pull(
        self,
        repo: Repo,
        issue: Issue,
        stats: PullStats | None = None,
        *,
        hook: bool = False,
    ) -> JSON:
        """Render a pull request: the list shape without `stats`, the full one with them."""
        pull = issue.pull
        assert pull is not None, "only pull requests render as pulls"
        api = f"{self.repo_api(repo)}/pulls/{issue.number}"
        issue_api = f"{self.repo_api(repo)}/issues/{issue.number}"
        html = self.issue_html(repo, issue)
        statuses = f"{self.repo_api(repo)}/statuses/{pull.head_sha}"
        owner = self.user(repo.owner)
        repository = self.repository(repo, hook=hook)
        data: JSON = {
            "url": api,
            "id": pull.id,
            "node_id": node_id("PullRequest", pull.id),
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": issue_api,
            "number": issue.number,
            "state": issue.state,
            "locked": issue.locked,
            "title": issue.title,
            "user": self.user(issue.user),
            "body": issue.body,
            "created_at": iso(issue.created_at),
            "updated_at": iso(issue.updated_at),
            "closed_at": iso(issue.closed_at),
            "merged_at": iso(pull.merged_at),
            "merge_commit_sha": pull.merge_commit_sha,
            "assignee": self.user(issue.assignees[0]) if issue.assignees else None,
            "assignees": [self.user(user) for user in issue.assignees],
            "requested_reviewers": [self.user(user) for user in pull.requested_reviewers],
            "requested_teams": [],
            "labels": [self.label(repo, label) for label in issue.labels],
            "milestone": None,
            "draft": pull.draft,
            "commits_url": f"{api}/commits",
            "review_comments_url": f"{api}/comments",
            "review_comment_url": f"{self.repo_api(repo)}/pulls/comments{{/number}}",
            "comments_url": f"{issue_api}/comments",
            "statuses_url": statuses,
            "head": {
                "label": f"{repo.owner.login}:{pull.head_ref}",
                "ref": pull.head_ref,
                "sha": pull.head_sha,
                "user": owner,
                "repo": repository,
            },
            "base": {
                "label": f"{repo.owner.login}:{pull.base_ref}",
                "ref": pull.base_ref,
                "sha": pull.base_sha,
                "user": owner,
                "repo": repository,
            },
            "_links": {
                "self": {"href": api},
                "html": {"href": html},
                "issue": {"href": issue_api},
                "comments": {"href": f"{issue_api}/comments"},
                "review_comments": {"href": f"{api}/comments"},
                "review_comment": {"href": f"{self.repo_api(repo)}/pulls/comments{{/number}}"},
                "commits": {"href": f"{api}/commits"},
                "statuses": {"href": statuses},
            },
            "author_association": self.state.association(repo, issue.user),
            "auto_merge": None,
            "active_lock_reason": lock_reason(repo, issue),
        }
        if stats is not None:
            if pull.merged or issue.state == "closed" or stats.mergeable is None:
                mergeable_state = "unknown"
            elif not stats.mergeable:
                mergeable_state = "dirty"
            else:
                # A draft cannot be merged until it is marked ready, whatever git says.
                mergeable_state = "draft" if pull.draft else "clean"
            data.update(
                {
                    "merged": pull.merged,
                    "mergeable": stats.mergeable,
                    "rebaseable": stats.mergeable,
                    "mergeable_state": mergeable_state,
                    "merged_by": self.user(pull.merged_by) if pull.merged_by else None,
                    "comments": len(issue.comments),
                    "review_comments": len(pull.published_comments()),
                    "maintainer_can_modify": pull.maintainer_can_modify,
                    "commits": stats.commits,
                    "additions": stats.additions,
                    "deletions": stats.deletions,
                    "changed_files": stats.changed_files,
                }
            )
        return data

    def review(self, repo: Repo, issue: Issue, review: Review, *, hook: bool = False) -> JSON:
        """Render a pull request review; webhooks spell the state in lower case."""
        pull_url = f"{self.repo_api(repo)}/pulls/{issue.number}"
        html = f"{self.issue_html(repo, issue)}#pullrequestreview-{review.id}"
        data: JSON = {
            "id": review.id,
            "node_id": node_id("PullRequestReview", review.id),
            "user": self.user(review.user),
            "body": review.body,
            "state": REVIEW_HOOK_STATES.get(review.state, review.state) if hook else review.state,
            "html_url": html,
            "pull_request_url": pull_url,
            "author_association": self.state.association(repo, review.user),
            "_links": {"html": {"href": html}, "pull_request": {"href": pull_url}},
            "commit_id": review.commit_id,
        }
        if review.submitted_at is not None or hook:
            data["submitted_at"] = iso(review.submitted_at)
        return data

    # Git data

    def git_ref(self, repo: Repo, name: str, sha: str, kind: str = "commit") -> JSON:
        """Render a git reference."""
        plural = {"commit": "commits", "tree": "trees", "blob": "blobs", "tag": "tags"}[kind]
        return {
            "ref": name,
            "node_id": node_id("Ref", zlib.crc32(f"{repo.id}:{name}".encode())),
            "url": f"{self.repo_api(repo)}/git/{quote(name)}",
            "object": {
                "type": kind,
                "sha": sha,
                "url": f"{self.repo_api(repo)}/git/{plural}/{sha}",
            },
        }

    def signature(self, signature: Signature) -> JSON:
        """Render a commit author or committer."""
        return {"name": signature.name, "email": signature.email, "date": git_date(signature.when)}

    def git_commit(self, repo: Repo, commit: CommitInfo) -> JSON:
        """Render a commit as the git data API does."""
        api = self.repo_api(repo)
        return {
            "sha": commit.sha,
            "node_id": node_id("Commit", int(commit.sha[:8], 16)),
            "url": f"{api}/git/commits/{commit.sha}",
            "html_url": f"{self.repo_html(repo)}/commit/{commit.sha}",
            "author": self.signature(commit.author),
            "committer": self.signature(commit.committer),
            "tree": {"sha": commit.tree, "url": f"{api}/git/trees/{commit.tree}"},
            "message": commit.message.removesuffix("\n"),
            "parents": [
                {
                    "sha": parent,
                    "url": f"{api}/git/commits/{parent}",
                    "html_url": f"{self.repo_html(repo)}/commit/{parent}",
                }
                for parent in commit.parents
            ],
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
                "verified_at": None,
            },
        }

    def commit(self, repo: Repo, commit: CommitInfo) -> JSON:
        """Render a commit as the commits API does (with GitHub accounts where known)."""
        api = self.repo_api(repo)
        git = self.git_commit(repo, commit)
        return {
            "url": f"{api}/commits/{commit.sha}",
            "sha": commit.sha,
            "node_id": git["node_id"],
            "html_url": git["html_url"],
            "comments_url": f"{api}/commits/{commit.sha}/comments",
            "commit": {
                "url": git["url"],
                "author": git["author"],
                "committer": git["committer"],
                "message": git["message"],
                "tree": git["tree"],
                "comment_count": 0,
                "verification": git["verification"],
            },
            "author": self.account(commit.author),
            "committer": self.account(commit.committer),
            "parents": [
                {
                    "sha": parent,
                    "url": f"{api}/commits/{parent}",
                    "html_url": f"{self.repo_html(repo)}/commit/{parent}",
                }
                for parent in commit.parents
            ],
        }

    def account(self, signature: Signature) -> JSON | None:
        """Return the account a commit signature's noreply address belongs to, if any."""
        local, _, domain = signature.email.partition("@")
        if domain != "users.noreply.github.com" or "+" not in local:
            return None
        user = self.state.find_user(local.split("+", 1)[1])
        return self.user(user) if user is not None else None

    def git_tree(self, repo: Repo, sha: str, entries: list[TreeEntry]) -> JSON:
        """Render a tree."""
        api = self.repo_api(repo)
        items = []
        for entry in entries:
            item: JSON = {
                "path": entry.path,
                "mode": entry.mode,
                "type": entry.type,
                "sha": entry.sha,
            }
            if entry.type == "blob":
                item["size"] = entry.size or 0
                item["url"] = f"{api}/git/blobs/{entry.sha}"
            elif entry.type == "tree":
                item["url"] = f"{api}/git/trees/{entry.sha}"
            items.append(item)
        return {"sha": sha, "url": f"{api}/git/trees/{sha}", "tree": items, "truncated": False}

    def blob(self, repo: Repo, sha: str, data: bytes) -> JSON:
        """Render a blob with its content."""
        return {
            "sha": sha,
            "node_id": node_id("Blob", int(sha[:8], 16)),
            "size": len(data),
            "url": f"{self.repo_api(repo)}/git/blobs/{sha}",
            "content": encode_content(data),
            "encoding": "base64",
        }

    def short_blob(self, repo: Repo, sha: str) -> JSON:
        """Render a newly created blob."""
        return {"url": f"{self.repo_api(repo)}/git/blobs/{sha}", "sha": sha}

    # Contents and branches

    def content_item(self, repo: Repo, ref: str, entry: TreeEntry, commit: str) -> JSON:
        """Render a file or directory entry as the contents API lists it (no content)."""
        api = self.repo_api(repo)
        path = quote(entry.path)
        kind = {"blob": "file", "tree": "dir", "commit": "submodule"}.get(entry.type, "file")
        if entry.mode == "120000":
            kind = "symlink"
        self_url = f"{api}/contents/{path}?ref={quote(ref, safe='')}"
        plural = "trees" if entry.type == "tree" else "blobs"
        git_url = f"{api}/git/{plural}/{entry.sha}"
        html_url = f"{self.repo_html(repo)}/{'tree' if kind == 'dir' else 'blob'}/{ref}/{path}"
        download = (
            f"{self.base}/_sandbox/raw/{repo.full_name}/{commit}/{path}"
            if kind in ("file", "symlink")
            else None
        )
        return {
            "type": kind,
            "size": entry.size or 0,
            "name": entry.path.rsplit("/", 1)[-1],
            "path": entry.path,
            "sha": entry.sha,
            "url": self_url,
            "git_url": git_url,
            "html_url": html_url,
            "download_url": download,
            "_links": {"self": self_url, "git": git_url, "html": html_url},
        }

    def content_file(
        self, repo: Repo, ref: str, entry: TreeEntry, commit: str, data: bytes
    ) -> JSON:
        """Render a file with its base64 content."""
        return {
            **self.content_item(repo, ref, entry, commit),
            "size": len(data),
            "content": encode_content(data),
            "encoding": "base64",
        }

    def short_branch(self, repo: Repo, name: str, sha: str) -> JSON:
        """Render a branch as the branch list shows it."""
        return {
            "name": name,
            "commit": {"sha": sha, "url": f"{self.repo_api(repo)}/commits/{sha}"},
            "protected": False,
        }

    def branch(self, repo: Repo, name: str, commit: CommitInfo) -> JSON:
        """Render a branch with its head commit, as GET branches/{branch} does."""
        api = f"{self.repo_api(repo)}/branches/{quote(name)}"
        return {
            "name": name,
            "commit": self.commit(repo, commit),
            "_links": {"self": api, "html": f"{self.repo_html(repo)}/tree/{name}"},
            "protected": False,
            "protection": {
                "enabled": False,
                "required_status_checks": {
                    "enforcement_level": "off",
                    "contexts": [],
                    "checks": [],
                },
            },
            "protection_url": f"{api}/protection",
        }


def push_commit(
    payloads: Payloads, repo: Repo, commit: CommitInfo, changes: list[Change], distinct: bool
) -> JSON:
    """Render one commit of a push event, with the paths it added, removed and modified."""

    def person(signature: Signature) -> JSON:
        data: JSON = {
            "name": signature.name,
            "email": signature.email,
            "date": git_date(signature.when),
        }
        account = payloads.account(signature)
        if account is not None:
            data["username"] = account["login"]
        return data

    return {
        "id": commit.sha,
        "tree_id": commit.tree,
        "distinct": distinct,
        "message": commit.message.removesuffix("\n"),
        "timestamp": git_date(commit.author.when),
        "url": f"{payloads.repo_html(repo)}/commit/{commit.sha}",
        "author": person(commit.author),
        "committer": person(commit.committer),
        "added": [change.path for change in changes if change.status == "A"],
        "removed": [change.path for change in changes if change.status == "D"],
        "modified": [change.path for change in changes if change.status not in ("A", "D")],
    }


DIFF_STATUS = {"A": "added", "D": "removed", "M": "modified", "T": "changed"}


def diff_entry(
    payloads: Payloads,
    repo: Repo,
    change: Change,
    stat: NumStat | None,
    ref: str,
    patch: str | None,
) -> JSON:
    """Render one changed file as the commits and pulls APIs list it."""
    additions = (stat.additions or 0) if stat else 0
    deletions = (stat.deletions or 0) if stat else 0
    path = quote(change.path)
    html = payloads.repo_html(repo)
    entry: JSON = {
        "sha": change.old_sha if change.status == "D" else change.new_sha,
        "filename": change.path,
        "status": DIFF_STATUS.get(change.status, "modified"),
        "additions": additions,
        "deletions": deletions,
        "changes": additions + deletions,
        "blob_url": f"{html}/blob/{ref}/{path}",
        "raw_url": f"{html}/raw/{ref}/{path}",
        "contents_url": f"{payloads.repo_api(repo)}/contents/{path}?ref={ref}",
    }
    if patch is not None:
        entry["patch"] = patch
    return entry
