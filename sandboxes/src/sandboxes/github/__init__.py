"""A GitHub-compatible REST server backed by a real git repository, with signed webhooks.

    async with GitHubSandbox(Path("lessons"), webhook_url=url, webhook_secret=secret) as gh:
        client = Github(base_url=gh.base_url, auth=Auth.Token("maintainer"))
        ...  # any token is a user: the token is the login
        await gh.wait_for_webhooks()

Modules: gitrepo (git plumbing), state (accounts, issues, pulls in memory), payloads and
events (GitHub's JSON shapes), operations (changes touching git, state and webhooks),
routes_* (the REST routes), webhooks (signed delivery), faults (injected failures), admin
(/_sandbox control routes), server (the app, its middleware and GitHubSandbox).
"""

from sandboxes.github.server import GitHubSandbox, serve

__all__ = ["GitHubSandbox", "serve"]
