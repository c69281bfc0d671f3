"""What every part of the suggestion service works with, built once by the facade."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.domain.catalogue import Catalogue
from bot.services.outbox import Outbox
from bot.services.ports import ChatPort, GitHubPort, MailPort
from bot.services.signing import Signer


@dataclass(slots=True)
class Dependencies:
    """The store, the outbox, the ports and the settings the suggestion service shares."""

    sessions: async_sessionmaker[AsyncSession]
    outbox: Outbox
    settings: Settings
    catalogue: Callable[[], Catalogue]
    signer: Signer
    github: GitHubPort | None
    # None in commands run without the bot: suggesters then follow their status page.
    chat: ChatPort | None
    mail: MailPort | None
    wake: Callable[[], None]
    clock: Callable[[], datetime]
    # The branch pull requests target, as the last push to it named it.
    default_branch: str = "main"

    def github_or_fail(self) -> GitHubPort:
        """Return the GitHub port, or fail the job so it waits until GitHub is configured."""
        if self.github is None:
            raise RuntimeError("GitHub is not configured: suggestions wait for it")
        return self.github
