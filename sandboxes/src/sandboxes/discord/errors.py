"""Discord's error responses as exceptions the routes raise, and the 50035 error tree."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

INVALID_FORM_BODY = 50035


class ApiError(Exception):
    """An error answered with Discord's JSON body `{"message", "code"[, "errors"]}`."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        errors: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """Return the JSON body Discord sends for this error."""
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


def unauthorized() -> ApiError:
    """Return the 401 a missing or wrong bot token gets."""
    return ApiError(401, 0, "401: Unauthorized")


def not_found() -> ApiError:
    """Return the 404 of a route that does not exist."""
    return ApiError(404, 0, "404: Not Found")


def method_not_allowed() -> ApiError:
    """Return the 405 of a known path with the wrong method."""
    return ApiError(405, 0, "405: Method Not Allowed")


def invalid_json() -> ApiError:
    """Return the 400 of a body that is not JSON."""
    return ApiError(400, 50109, "The request body contains invalid JSON.")


def unknown(what: str, code: int) -> ApiError:
    """Return a 404 `Unknown <what>` with its JSON error code."""
    return ApiError(404, code, f"Unknown {what}")


def unknown_channel() -> ApiError:
    """Return 10003 Unknown Channel."""
    return unknown("Channel", 10003)


def unknown_overwrite() -> ApiError:
    """Return 10009 Unknown Overwrite."""
    return unknown("Overwrite", 10009)


def unknown_guild() -> ApiError:
    """Return 10004 Unknown Guild."""
    return unknown("Guild", 10004)


def unknown_message() -> ApiError:
    """Return 10008 Unknown Message."""
    return unknown("Message", 10008)


def unknown_user() -> ApiError:
    """Return 10013 Unknown User."""
    return unknown("User", 10013)


def unknown_emoji() -> ApiError:
    """Return 10014 Unknown Emoji (400, as Discord answers it)."""
    return ApiError(400, 10014, "Unknown Emoji")


def unknown_webhook() -> ApiError:
    """Return 10015 Unknown Webhook."""
    return unknown("Webhook", 10015)


def unknown_command() -> ApiError:
    """Return 10063 Unknown application command."""
    return ApiError(404, 10063, "Unknown application command")


def unknown_interaction() -> ApiError:
    """Return 10062 Unknown interaction (also what a late first response gets)."""
    return ApiError(404, 10062, "Unknown interaction")


def already_acknowledged() -> ApiError:
    """Return 40060 Interaction has already been acknowledged."""
    return ApiError(400, 40060, "Interaction has already been acknowledged.")


def empty_message() -> ApiError:
    """Return 50006 Cannot send an empty message."""
    return ApiError(400, 50006, "Cannot send an empty message")


def cannot_send_to_user() -> ApiError:
    """Return 50007 Cannot send messages to this user."""
    return ApiError(403, 50007, "Cannot send messages to this user")


def not_text_channel() -> ApiError:
    """Return 50008 Cannot send messages in a non-text channel."""
    return ApiError(400, 50008, "Cannot send messages in a non-text channel")


def not_author() -> ApiError:
    """Return 50005 Cannot edit a message authored by another user."""
    return ApiError(403, 50005, "Cannot edit a message authored by another user")


def wrong_channel_type() -> ApiError:
    """Return 50024 Cannot execute action on this channel type."""
    return ApiError(400, 50024, "Cannot execute action on this channel type")


def archived_thread() -> ApiError:
    """Return 50083 Thread is archived."""
    return ApiError(400, 50083, "Thread is archived")


def thread_already_created() -> ApiError:
    """Return 160004 A thread has already been created for this message."""
    return ApiError(400, 160004, "A thread has already been created for this message")


def too_large() -> ApiError:
    """Return 40005 Request entity too large."""
    return ApiError(413, 40005, "Request entity too large")


class FormErrors:
    """Collect field errors into Discord's nested `errors` tree for a 50035 answer."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}

    def add(self, path: Sequence[str | int], code: str, message: str) -> None:
        """Record one error at a field path such as ("embeds", 0, "title")."""
        node = self.tree
        for part in path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def __bool__(self) -> bool:
        return bool(self.tree)

    def error(self) -> ApiError:
        """Return the 400 Invalid Form Body carrying every recorded error."""
        return ApiError(400, INVALID_FORM_BODY, "Invalid Form Body", errors=self.tree)

    def raise_if_any(self) -> None:
        """Raise the 50035 error when anything was recorded."""
        if self.tree:
            raise self.error()
