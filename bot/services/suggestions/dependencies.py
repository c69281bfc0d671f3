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
    # Set after construction when the chat client is built later (the bot needs us first).
    chat: ChatPort | None
    mail: MailPort | None
    wake: Callable[[], None]
    clock: Callable[[], datetime]
    # The branch pull requests target; the app sets it once GitHub has said which it is.
    default_branch: str = "main"

    def github_or_fail(self) -> GitHubPort:
        """Return the GitHub port, or fail the job so it waits until GitHub is configured."""
        if self.github is None:
            raise RuntimeError("GitHub is not configured: suggestions wait for it")
        return self.github
