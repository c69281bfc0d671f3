"""Who may act on a suggestion: its suggesters, by token or Discord id, and its reviewers."""

from __future__ import annotations

import logging

from bot.services.outbox import error_line
from bot.services.suggestions.dependencies import Dependencies
from bot.services.suggestions.errors import SuggestionError
from bot.services.suggestions.records import load_suggestion

log = logging.getLogger(__name__)

TOKEN_PURPOSE = "suggestion"  # noqa: S105 - a purpose label, not a secret


class Access:
    """Sign and check suggesters' tokens; tell who reviews and who may propose text."""

    def __init__(self, deps: Dependencies) -> None:
        self._deps = deps

    def token(self, suggestion_id: int, credit_id: int) -> str:
        """Return the token that lets one suggester revise or withdraw a suggestion."""
        return self._deps.signer.sign(TOKEN_PURPOSE, f"{suggestion_id}:{credit_id}")

    async def authorize(
        self,
        suggestion_id: int,
        *,
        token: str | None = None,
        discord_user_id: int | None = None,
    ) -> int:
        """Return the credit id of the suggester this token or Discord user is.

        No suggestion: 404; no credential: 401; a wrong one: 403.
        """
        async with self._deps.sessions() as session:
            row = await load_suggestion(session, suggestion_id)
            if row is None:
                raise SuggestionError("not_found", status=404, id=suggestion_id)
            if token is None and discord_user_id is None:
                raise SuggestionError("token_missing", field="token", status=401)
            for credit in row.credits:
                if credit.withdrawn:
                    continue
                if token is not None and self._deps.signer.verify(
                    TOKEN_PURPOSE, f"{row.id}:{credit.id}", token
                ):
                    return credit.id
                if discord_user_id is not None and credit.discord_user_id == discord_user_id:
                    return credit.id
        raise SuggestionError("token_invalid", field="token", status=403)

    def reviewers(self, program: str) -> list[str]:
        """Return the logins configured to review a program's suggestions."""
        chosen: list[str] = []
        for entry in self._deps.settings.suggestions.reviewers:
            wanted, _, login = entry.partition(":")
            if wanted.strip() in ("*", program) and login.strip() not in chosen:
                chosen.append(login.strip())
        return chosen

    async def may_propose(self, login: str, program: str) -> bool | None:
        """Tell whether `login` may propose text a suggester can commit (None: unknown)."""
        if not login:
            return False
        if login.lower() in (name.lower() for name in self.reviewers(program)):
            return True
        github = self._deps.github
        if github is None:
            return False
        try:
            permission = await github.permission(login)
        except Exception as error:  # GitHub did not answer: ask again when it matters
            log.warning("cannot read %s's permission: %s", login[:100], error_line(error))
            return None
        return permission in ("admin", "maintain", "write")
