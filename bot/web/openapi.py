"""The OpenAPI 3.1 description of the suggestions API, served at /api/openapi.json.

It is built from the suggestion settings the server runs with, so its limits are the
server's: a request that matches it is taken (or refused only for what a schema cannot
know, such as an unknown lesson or a passage not in it), and one that does not is refused
with a 4xx.
"""

from __future__ import annotations

from typing import Any

from bot.config import SuggestionSettings
from bot.domain.lookup import CLOSEST_LIMIT
from bot.domain.review_flow import STATUSES
from bot.web.shared import MAX_EMAIL, MAX_ID, MAX_IDEMPOTENCY_KEY

# The limits SuggestionService._check_fields applies to the lesson and locale it is sent.
MAX_LESSON = 300
MAX_LOCALE = 16
# The whitespace Python's str.strip() and re's \s take (str.isspace), spelled out: a JSON
# Schema pattern is ECMA-262, whose \s is another set (it has U+FEFF, lacks U+001C-U+001F).
_SPACE = r"\t-\r\x1c- \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# No NUL anywhere (no text column can hold it); the service refuses it as invalid text.
_NO_NUL = r"^[^\x00]*$"
# Also not empty nor only whitespace (the service trims before it looks for text).
_NOT_BLANK = rf"^[^\x00]*[^{_SPACE}\x00][^\x00]*$"
_EMPTY_OR_NOT_BLANK = rf"^(?:[^\x00]*[^{_SPACE}\x00][^\x00]*)?$"
# The service's email check, with the whitespace around it that the door trims off; empty
# means no address.
_LOCAL = rf'[^@{_SPACE}<>,;"\x00]{{1,64}}'
_DOMAIN = rf'[^@{_SPACE}<>,;"\x00]{{1,190}}\.[^@{_SPACE}<>,;".\x00]{{2,63}}'
_EMAIL = rf"^[{_SPACE}]*(?:{_LOCAL}@{_DOMAIN})?[{_SPACE}]*$"
# Visible ASCII, spaces only inside: HTTP trims a header value's ends before the server
# sees it.
_IDEMPOTENCY_KEY = r"^[!-~](?:[ -~]*[!-~])?$"
_FIELD_TEXT = (
    " No NUL characters, nor lone surrogates (a \\ud800 escape without its pair): such "
    "text is refused as invalid."
)


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _view_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Suggestion"}}},
    }


def _text(limit: int, pattern: str, description: str, *, nullable: bool = False) -> dict[str, Any]:
    """Return the schema of a text field: its limit in characters and what it must hold."""
    schema: dict[str, Any] = {
        "type": ["string", "null"] if nullable else "string",
        "maxLength": limit,
        "pattern": pattern,
        "description": description + _FIELD_TEXT,
    }
    if pattern == _NOT_BLANK:
        schema["minLength"] = 1
    return schema


_RATE_LIMITED = {
    **_error_response("Too many requests from this address or person"),
    "headers": {
        "Retry-After": {
            "description": "Seconds to wait before trying again",
            "required": True,
            "schema": {"type": "integer", "minimum": 1},
        }
    },
}
_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "The suggestion's id",
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
}
_AUTH_ERRORS = {
    "401": _error_response("No token was given"),
    "403": _error_response("The token does not belong to this suggestion"),
    "404": _error_response("No such suggestion"),
    "409": _error_response("The suggestion can no longer be changed"),
    "429": _RATE_LIMITED,
}
_STATUSES = list(STATUSES)


def openapi_document(
    limits: SuggestionSettings | None = None, max_body_bytes: int = 64 * 1024
) -> dict[str, Any]:
    """Return the OpenAPI description for a server with these limits."""
    limits = limits or SuggestionSettings()
    too_large = _error_response(f"The body is larger than {max_body_bytes} bytes")
    not_json = _error_response(
        "Not JSON, nested too deeply, not an object, a field of the wrong type, or a required "
        "field left out"
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "lessonbot suggestions API",
            "version": "1.0.0",
            "description": (
                "Suggest an edit to a lesson without a GitHub account; lessonbot opens a pull "
                "request and follows it through review. Errors are "
                '`{"error": {"code", "field", "message"}}`, the message in the '
                "Accept-Language of the request; an unknown lesson (code `lesson_unknown`) "
                "also lists the closest lessons in `did_you_mean`. Request bodies may carry "
                "fields not described here; they are ignored."
            ),
        },
        "paths": {
            "/api/suggestions": {
                "post": {
                    "operationId": "createSuggestion",
                    "summary": "Suggest an edit to a lesson",
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "description": (
                                "Makes a retry safe: the same key with the same body answers "
                                "the same 202; with another body, 409. Visible ASCII "
                                "characters (spaces only inside)."
                            ),
                            "schema": {
                                "type": "string",
                                "minLength": 1,
                                "maxLength": MAX_IDEMPOTENCY_KEY,
                                "pattern": _IDEMPOTENCY_KEY,
                            },
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/SuggestionRequest"}
                            }
                        },
                    },
                    "responses": {
                        "202": {
                            "description": "Stored with the job that opens its pull request",
                            "headers": {
                                "Location": {
                                    "description": "The suggestion in this API",
                                    "required": True,
                                    "schema": {"type": "string"},
                                }
                            },
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Submitted"}
                                }
                            },
                        },
                        "400": _error_response(
                            f"{not_json['description']}, or an invalid Idempotency-Key"
                        ),
                        "409": _error_response("The Idempotency-Key was used for another body"),
                        "413": too_large,
                        "422": _error_response(
                            "A field is empty, too long or holds characters that cannot be "
                            "stored, the email address is not one, the lesson or locale is "
                            "unknown, the passage is not found or found more than once, or "
                            "the edit would break the lesson"
                        ),
                        "429": _RATE_LIMITED,
                    },
                }
            },
            "/api/suggestions/{id}": {
                "get": {
                    "operationId": "getSuggestion",
                    "summary": "Follow a suggestion: its status, pull request and events",
                    "parameters": [_ID],
                    "responses": {
                        "200": _view_response("The suggestion"),
                        "404": _error_response("No such suggestion"),
                    },
                },
                "delete": {
                    "operationId": "withdrawSuggestion",
                    "summary": "Withdraw a suggestion (its pull request is closed with a note)",
                    "parameters": [_ID],
                    "security": [{"suggestionToken": []}],
                    "responses": {
                        "200": _view_response("The suggestion, withdrawn"),
                        **_AUTH_ERRORS,
                    },
                },
            },
            "/api/suggestions/{id}/revise": {
                "post": {
                    "operationId": "reviseSuggestion",
                    "summary": "Apply a further edit (to the pull request branch's current text)",
                    "parameters": [_ID],
                    "security": [{"suggestionToken": []}],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Revision"}
                            }
                        },
                    },
                    "responses": {
                        "200": _view_response("The suggestion, revised"),
                        "400": not_json,
                        "413": too_large,
                        "422": _error_response(
                            "A field is empty, too long or holds characters that cannot be "
                            "stored, or the edit cannot be applied"
                        ),
                        **_AUTH_ERRORS,
                    },
                }
            },
            "/api/suggestions/{id}/accept": {
                "post": {
                    "operationId": "acceptReviewerText",
                    "summary": "Commit a reviewer's proposed text to the pull request",
                    "parameters": [_ID],
                    "security": [{"suggestionToken": []}],
                    "requestBody": {
                        "required": False,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Acceptance"}
                            }
                        },
                    },
                    "responses": {
                        "200": _view_response("The suggestion; the text is being committed"),
                        "400": _error_response(
                            "Not JSON, nested too deeply, not an object, or comment_id is not "
                            "a whole number of at least 0"
                        ),
                        "413": too_large,
                        **_AUTH_ERRORS,
                        "409": _error_response(
                            "The suggestion can no longer be changed, has no pull request "
                            "yet, or no reviewer proposed a text (with that comment_id)"
                        ),
                    },
                }
            },
            "/api/openapi.json": {
                "get": {
                    "operationId": "getOpenApi",
                    "summary": "This description",
                    "responses": {
                        "200": {
                            "description": "The OpenAPI 3.1 description",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {
                "suggestionToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The token answered when the suggestion was sent",
                }
            },
            "schemas": {
                "Author": {
                    "type": "object",
                    "additionalProperties": True,
                    "properties": {
                        "name": _text(
                            limits.max_name_chars,
                            _NO_NUL,
                            "How to credit you; spaces around it are trimmed.",
                            nullable=True,
                        ),
                        "email": _text(
                            MAX_EMAIL,
                            _EMAIL,
                            "Goes into the public commit as Co-authored-by credit; empty or "
                            "null for none.",
                            nullable=True,
                        ),
                    },
                },
                "SuggestionRequest": {
                    "type": "object",
                    "additionalProperties": True,
                    "required": ["lesson", "locale", "find", "replace", "reason"],
                    "properties": {
                        "lesson": _text(
                            MAX_LESSON,
                            _NOT_BLANK,
                            "program/slug. A slug only one program has, a title only one "
                            "lesson has (in any language) or the lesson page's address is "
                            "taken too.",
                        ),
                        "locale": {
                            **_text(MAX_LOCALE, _NOT_BLANK, "The lesson file's language."),
                            "examples": ["en"],
                        },
                        "find": _text(
                            limits.max_find_chars,
                            _NOT_BLANK,
                            "The passage to change, exactly once in the lesson.",
                        ),
                        "replace": _text(
                            limits.max_replace_chars,
                            _NO_NUL,
                            "What it should say (empty removes the passage).",
                        ),
                        "reason": _text(limits.max_reason_chars, _NOT_BLANK, "Why."),
                        "author": {
                            "anyOf": [{"$ref": "#/components/schemas/Author"}, {"type": "null"}]
                        },
                    },
                },
                "Revision": {
                    "type": "object",
                    "additionalProperties": True,
                    "required": ["find", "replace"],
                    "properties": {
                        "find": _text(
                            limits.max_find_chars,
                            _NOT_BLANK,
                            "The passage to change, as it reads with the edit so far.",
                        ),
                        "replace": _text(limits.max_replace_chars, _NO_NUL, "What it should say."),
                        "reason": _text(
                            limits.max_reason_chars,
                            _EMPTY_OR_NOT_BLANK,
                            "Why (may be left out).",
                            nullable=True,
                        ),
                    },
                },
                "Acceptance": {
                    "type": "object",
                    "additionalProperties": True,
                    "properties": {
                        "comment_id": {
                            "type": ["integer", "null"],
                            "minimum": 0,
                            "description": (
                                "The review comment whose text to take; the newest when left "
                                "out or null"
                            ),
                        }
                    },
                },
                "Submitted": {
                    "type": "object",
                    "required": ["id", "status_url", "token"],
                    "properties": {
                        "id": {"type": "integer", "minimum": 1},
                        "status_url": {"type": "string", "format": "uri"},
                        "token": {
                            "type": "string",
                            "description": "Bearer token to revise, accept or withdraw; keep it",
                        },
                    },
                },
                "Event": {
                    "type": "object",
                    "required": ["kind", "at", "detail"],
                    "properties": {
                        "id": {"type": "integer"},
                        "kind": {"type": "string"},
                        "at": {"type": "string", "format": "date-time"},
                        "detail": {"type": "object"},
                    },
                },
                "Suggestion": {
                    "type": "object",
                    "required": [
                        "id",
                        "lesson",
                        "locale",
                        "status",
                        "pr_number",
                        "pr_url",
                        "error",
                        "passage",
                        "events",
                    ],
                    "properties": {
                        "id": {"type": "integer", "minimum": 1},
                        "lesson": {"type": "string"},
                        "locale": {"type": "string"},
                        "status": {"type": "string", "enum": _STATUSES},
                        "pr_number": {"type": ["integer", "null"]},
                        "pr_url": {"type": ["string", "null"]},
                        "error": {"type": ["string", "null"]},
                        "passage": {
                            "type": "object",
                            "description": "The edited passage as the pull request's branch "
                            "holds it now (before the branch exists: the edit as sent), and the "
                            "line it starts on when known",
                            "required": ["text", "line"],
                            "properties": {
                                "text": {"type": "string"},
                                "line": {"type": ["integer", "null"]},
                            },
                        },
                        "events": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Event"},
                        },
                        "waiting": {
                            "description": (
                                "Set while a queued suggestion waits out GitHub's rate limit: "
                                "its pull request is opened by itself at `until`."
                            ),
                            "type": ["object", "null"],
                            "required": ["until", "reason", "text"],
                            "properties": {
                                "until": {"type": "string", "format": "date-time"},
                                "reason": {"type": "string"},
                                "text": {"type": "string"},
                            },
                        },
                    },
                },
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "field", "message"],
                            "properties": {
                                "code": {"type": "string"},
                                "field": {"type": ["string", "null"]},
                                "message": {"type": "string"},
                                "did_you_mean": {
                                    "description": (
                                        "With code `lesson_unknown` only: the lessons "
                                        "(program/slug) closest to the one sent, best first; "
                                        "empty when none comes close."
                                    ),
                                    "type": "array",
                                    "items": {"type": "string"},
                                    "maxItems": CLOSEST_LIMIT,
                                },
                            },
                        }
                    },
                },
            },
        },
    }


# The description of a server with the default settings.
OPENAPI: dict[str, Any] = openapi_document()
