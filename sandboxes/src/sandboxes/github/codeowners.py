"""CODEOWNERS as GitHub reads it: gitignore-style patterns, the last matching line wins."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# Where GitHub looks, in this order, on the pull request's base branch; the first one wins.
LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")


@dataclass(frozen=True, slots=True)
class Rule:
    """One CODEOWNERS line: a path pattern and the owners it names (maybe none)."""

    pattern: re.Pattern[str]
    owners: tuple[str, ...]


def _translate(pattern: str) -> re.Pattern[str]:
    """Turn a CODEOWNERS (gitignore-style) pattern into a regex over repository paths."""
    directory = pattern.endswith("/")
    core = pattern.strip("/")
    # A slash at the start or in the middle anchors the pattern at the repository root.
    anchored = pattern.startswith("/") or "/" in core
    out = []
    i = 0
    while i < len(core):
        if core.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif core.startswith("**", i):
            out.append(".*")
            i += 2
        elif core[i] == "*":
            out.append("[^/]*")
            i += 1
        elif core[i] == "?":
            out.append("[^/]")
            i += 1
        elif core[i] == "\\" and i + 1 < len(core):
            out.append(re.escape(core[i + 1]))
            i += 2
        else:
            out.append(re.escape(core[i]))
            i += 1
    prefix = "" if anchored else "(?:.*/)?"
    # A pattern names a file or a directory (everything under it); `dir/` only a directory.
    suffix = "/.*" if directory else "(?:/.*)?"
    return re.compile(prefix + "".join(out) + suffix + r"\Z")


def parse(text: str) -> list[Rule]:
    """Read a CODEOWNERS file; comments, blank and malformed lines are skipped."""
    rules = []
    for line in text.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        if not line:
            continue
        pattern, *owners = line.split()
        if pattern.startswith("!") or "[" in pattern:
            continue  # GitHub ignores negation and character ranges: the line does nothing
        rules.append(Rule(_translate(pattern), tuple(owners)))
    return rules


def owners_of(rules: list[Rule], path: str) -> tuple[str, ...]:
    """Return the owners of a path: those of the last rule that matches it."""
    for rule in reversed(rules):
        if rule.pattern.match(path):
            return rule.owners
    return ()


def user_owners(rules: list[Rule], paths: Iterable[str]) -> list[str]:
    """Return the user logins (not teams, not emails) owning any of `paths`, in order."""
    logins: dict[str, None] = {}
    for path in paths:
        for owner in owners_of(rules, path):
            if owner.startswith("@") and "/" not in owner and len(owner) > 1:
                logins.setdefault(owner[1:], None)
    return list(logins)
