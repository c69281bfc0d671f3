"""Who is staff: a maintainer role on Discord, a listed login or write access on GitHub."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.services.questions.dependencies import Dependencies

log = logging.getLogger(__name__)

# Permissions on GitHub that make a commenter staff.
STAFF_PERMISSIONS = frozenset({"admin", "maintain", "write"})
# Without a GitHub port, the webhook's author_association is the next best sign.
STAFF_ASSOCIATIONS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})


class Staff:
    """Tell whether a Discord member or a GitHub login is staff, asking GitHub once a login."""

    def __init__(self, deps: Dependencies) -> None:
        self._deps = deps
        self._permissions: dict[str, bool] = {}

    def is_discord_staff(self, roles: Sequence[str | int]) -> bool:
        """Tell whether any of these Discord role ids is a maintainer role."""
        staff = set(self._deps.settings.questions.staff_role_ids)
        return any(str(role) in staff for role in roles)

    async def is_github_staff(self, login: str, association: str | None = None) -> bool:
        """Tell whether a GitHub login is staff: listed, or with write access."""
        settings = self._deps.settings.questions
        github = self._deps.github
        if login.casefold() in {name.casefold() for name in settings.staff_logins}:
            return True
        if github is None or not settings.check_github_permission:
            return (association or "").upper() in STAFF_ASSOCIATIONS
        if login not in self._permissions:
            try:
                permission = await github.permission(login)
            except Exception as error:
                # Unknown is not staff, but the webhook's association may still say so.
                log.warning("permission of %s unknown: %s", login, type(error).__name__)
                return (association or "").upper() in STAFF_ASSOCIATIONS
            self._permissions[login] = permission in STAFF_PERMISSIONS
        return self._permissions[login]
