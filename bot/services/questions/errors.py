"""The error /ask raises when a question cannot be asked."""

from __future__ import annotations


class QuestionError(Exception):
    """A question could not be asked; `key` is the i18n key of the reason."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key
