"""The webhooks the question service follows: comments on lesson issues."""

from __future__ import annotations

from typing import Any

from bot.services.events import EventHandler, IssueCommentEvent
from bot.services.questions import QuestionService


def question_webhook_handlers(questions: QuestionService) -> list[EventHandler[Any]]:
    """Return the handler that records questions asked (and answered) on lesson issues."""
    return [EventHandler(IssueCommentEvent, "questions", questions.on_issue_comment)]
