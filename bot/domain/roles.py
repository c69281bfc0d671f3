"""The roles a `lessonbot run` process takes: which of the bot's parts it runs.

Pure: the command line and the settings both read role lists here, so `--role web,worker`
and `[run] roles = ["web", "worker"]` mean the same thing and are refused the same way.
"""

from __future__ import annotations

from collections.abc import Iterable

# Connects to the Discord gateway: slash commands, buttons, messages that become questions.
GATEWAY = "gateway"
# Serves the web app: suggest form, status pages, JSON API, webhooks, health.
WEB = "web"
# Runs the outbox's jobs: pull requests, Discord posts and notices, emails, prunes.
WORKER = "worker"
# Fires the digest and prune schedules (records their runs; the worker does them).
SCHEDULER = "scheduler"
# Every role in one process, as `lessonbot run` always did.
ALL = "all"

ROLES: tuple[str, ...] = (GATEWAY, WEB, WORKER, SCHEDULER)
ROLE_NAMES: tuple[str, ...] = (ALL, *ROLES)
EVERY_ROLE: frozenset[str] = frozenset(ROLES)


class UnknownRoleError(ValueError):
    """A role name that is not one of ROLE_NAMES, or an empty list of roles."""

    def __init__(self, role: str) -> None:
        what = f"unknown role {role!r}" if role else "no role named"
        super().__init__(f"{what} (use {', '.join(ROLE_NAMES)})")
        self.role = role


def parse_roles(values: Iterable[str]) -> frozenset[str]:
    """Return the roles named in `values` (each a name or a comma-separated list).

    `all` stands for every role; names are case-insensitive and blanks are ignored.
    Raises UnknownRoleError on an unknown name, or on a list naming no role at all.
    """
    roles: set[str] = set()
    for value in values:
        for name in value.split(","):
            role = name.strip().lower()
            if not role:
                continue
            if role == ALL:
                roles |= EVERY_ROLE
            elif role in EVERY_ROLE:
                roles.add(role)
            else:
                raise UnknownRoleError(name.strip())
    if not roles:
        raise UnknownRoleError("")
    return frozenset(roles)


def describe(roles: Iterable[str]) -> str:
    """Return the roles in their fixed order, comma-separated (`all` when every one)."""
    chosen = set(roles)
    if chosen >= EVERY_ROLE:
        return ALL
    return ",".join(role for role in ROLES if role in chosen)
