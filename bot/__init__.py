"""lessonbot: links lessons to discussions, turns suggested edits into PRs, digests questions."""

__version__ = "0.1.0"
