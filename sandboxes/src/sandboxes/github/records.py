"""What the sandbox keeps as plain JSON in `Repo.records`: reactions and lock reasons."""

from __future__ import annotations

from sandboxes.github.state import Issue, Repo

REACTIONS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")


def reaction_counts(repo: Repo, key: str) -> dict[str, int]:
    """Count the reactions on one subject (`/issues/3`, `/issues/comments/7`) per content."""
    counts = dict.fromkeys(REACTIONS, 0)
    for record in repo.records.get("reactions", {}).get(key, []):
        counts[record["content"]] += 1
    return counts


def lock_reason(repo: Repo, issue: Issue) -> str | None:
    """Return why a locked issue was locked (None when unlocked or no reason was given)."""
    if not issue.locked:
        return None
    return repo.records.get("lock_reasons", {}).get(str(issue.number))
