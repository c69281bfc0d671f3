"""Benchmark: requests one suggestion-shaped change costs through the adapter.

Branch + one-file commit + PR + labels, against the GitHub sandbox over HTTP, counted by
the sandbox itself. Baselines: a plain PyGithub script doing the same (non-lazy, what a user
would write) and the floor the REST API allows (6 with the contents route: get ref, get
contents, create ref, put contents, create PR, add labels). Prints one JSON line.

    .venv/bin/python tests/bench/bench_github_calls.py [--repeat N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path

from github import Auth, Github

from bot.config import GitHubSettings, Secret
from bot.github.adapter import GitHubAdapter
from bot.services.ports import ProposedChange
from sandboxes.github import GitHubSandbox

PROJECT = Path(__file__).resolve().parents[2]
LESSON = "programs/data-basics/lessons/en/what-is-data.mdx"
FLOOR = 6


def adapter_change(sandbox: GitHubSandbox, branch: str) -> int:
    """Open the PR through the adapter; return the requests it made."""
    settings = GitHubSettings(
        base_url=sandbox.base_url,
        repository=sandbox.repository,
        token=Secret("lessonbot"),
        seconds_between_requests=0,
        seconds_between_writes=0,
    )
    adapter = GitHubAdapter.from_settings(settings)
    change = ProposedChange(
        branch=branch,
        path=LESSON,
        content="An edited lesson.\n",
        commit_message="Edit the lesson",
        title="Edit the lesson",
        body="Suggested edit.",
        labels=("suggestion",),
    )
    asyncio.run(adapter.open_pull_request(change))
    adapter.close()
    return adapter.total_requests


def naive_change(sandbox: GitHubSandbox, branch: str) -> None:
    """Do the same the way a PyGithub user would write it."""
    client = Github(
        base_url=sandbox.base_url,
        auth=Auth.Token("lessonbot"),
        seconds_between_requests=0,
        seconds_between_writes=0,
    )
    repo = client.get_repo(sandbox.repository)
    main_branch = repo.get_branch("main")
    contents = repo.get_contents(LESSON, ref="main")
    repo.create_git_ref(f"refs/heads/{branch}", main_branch.commit.sha)
    repo.update_file(LESSON, "Edit the lesson", "An edited lesson.\n", contents.sha, branch=branch)
    pull = repo.create_pull(
        base="main", head=branch, title="Edit the lesson", body="Suggested edit."
    )
    pull.add_to_labels("suggestion")
    client.close()


def main() -> None:
    """Measure and print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    arguments = parser.parse_args()
    sandbox = GitHubSandbox(PROJECT / "lessons", "lessons/content").start_in_thread()
    try:
        adapter_requests, naive_requests, adapter_ms, naive_ms = [], [], [], []
        for run in range(arguments.repeat):
            before = len(sandbox.requests)
            start = time.perf_counter()
            counted = adapter_change(sandbox, f"adapter-{run}")
            adapter_ms.append((time.perf_counter() - start) * 1000)
            adapter_requests.append(len(sandbox.requests) - before)
            assert counted == adapter_requests[-1], "the adapter's own count is off"
            before = len(sandbox.requests)
            start = time.perf_counter()
            naive_change(sandbox, f"naive-{run}")
            naive_ms.append((time.perf_counter() - start) * 1000)
            naive_requests.append(len(sandbox.requests) - before)
    finally:
        sandbox.stop()
    print(
        json.dumps(
            {
                "bench": "github_calls",
                "change": "branch + one-file commit + PR + labels",
                "repeat": arguments.repeat,
                "adapter_requests": max(adapter_requests),
                "naive_pygithub_requests": max(naive_requests),
                "floor_requests": FLOOR,
                "adapter_ms": round(statistics.median(adapter_ms), 1),
                "naive_pygithub_ms": round(statistics.median(naive_ms), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
