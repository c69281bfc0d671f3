"""Suggested edits: from any door (Discord, web, API, CLI) to a reviewed pull request.

`submit` checks an edit against the lesson as it is now and stores it with the job that
opens its pull request, in one transaction; the job worker opens the PR through the write
path; webhooks move the suggestion through review, and every person who sent it is told
at each step (a job per person and step, so nobody is told twice or never).

`SuggestionService` is the facade; its parts are `intake` (taking a suggestion), `actions`
(the suggester's revise, accept, withdraw), `jobs` (the outbox jobs that write to GitHub),
`review` (the review webhooks), `notices` (telling people) and `queries` (reading).
"""

from bot.services.suggestions.access import TOKEN_PURPOSE
from bot.services.suggestions.errors import SuggestionError
from bot.services.suggestions.records import REVISABLE
from bot.services.suggestions.service import SuggestionService
from bot.services.suggestions.views import (
    Author,
    EventView,
    Preview,
    Submitted,
    SuggestionInput,
    SuggestionView,
)

__all__ = [
    "REVISABLE",
    "TOKEN_PURPOSE",
    "Author",
    "EventView",
    "Preview",
    "Submitted",
    "SuggestionError",
    "SuggestionInput",
    "SuggestionService",
    "SuggestionView",
]
