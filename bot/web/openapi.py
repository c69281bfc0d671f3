"""The OpenAPI 3.1 description of the suggestions API, served at /api/openapi.json."""

from __future__ import annotations

from typing import Any


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


_RATE_LIMITED = {
    **_error_response("Too many requests from this address or person"),
    "headers": {
        "Retry-After": {
            "description": "Seconds to wait before trying again",
            "schema": {"type": "integer"},
        }
    },
}
_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "The suggestion's id",
    "schema": {"type": "integer", "minimum": 1},
}
_AUTH_ERRORS = {
    "401": _error_response("No token was given"),
    "403": _error_response("The token does not belong to this suggestion"),
    "404": _error_response("No such suggestion"),
    "409": _error_response("The suggestion can no longer be changed"),
    "429": _RATE_LIMITED,
}

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "lessonbot suggestions API",
        "version": "1.0.0",
        "description": (
            "Suggest an edit to a lesson without a GitHub account; lessonbot opens a pull "
            "request and follows it through review. Errors are "
            '`{"error": {"code", "field", "message"}}`, the message in the '
            "Accept-Language of the request."
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
                            "Makes a retry safe: the same key with the same body answers the "
                            "same 202; with another body, 409"
                        ),
                        "schema": {"type": "string", "minLength": 1, "maxLength": 200},
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
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Submitted"}
                            }
                        },
                    },
                    "400": _error_response("Not JSON, or a field of the wrong type"),
                    "409": _error_response("The Idempotency-Key was used for another body"),
                    "413": _error_response("The body is larger than web.max_form_bytes"),
                    "422": _error_response(
                        "A field is empty or too long, the lesson or locale is unknown, the "
                        "passage is not found or found more than once, or the edit would "
                        "break the lesson"
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
                "responses": {"200": _view_response("The suggestion, withdrawn"), **_AUTH_ERRORS},
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
                        "application/json": {"schema": {"$ref": "#/components/schemas/Revision"}}
                    },
                },
                "responses": {
                    "200": _view_response("The suggestion, revised"),
                    "400": _error_response("Not JSON, or a field of the wrong type"),
                    "413": _error_response("The body is larger than web.max_form_bytes"),
                    "422": _error_response("The edit cannot be applied"),
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
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "comment_id": {
                                        "type": "integer",
                                        "description": (
                                            "The review comment whose text to take; the newest "
                                            "when left out"
                                        ),
                                    }
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": _view_response("The suggestion; the text is being committed"),
                    "400": _error_response("Not JSON, or comment_id is not an integer"),
                    "413": _error_response("The body is larger than web.max_form_bytes"),
                    **_AUTH_ERRORS,
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
                "properties": {
                    "name": {"type": "string", "maxLength": 100},
                    "email": {
                        "type": ["string", "null"],
                        "maxLength": 254,
                        "description": "Goes into the public commit as Co-authored-by credit",
                    },
                },
            },
            "SuggestionRequest": {
                "type": "object",
                "required": ["lesson", "locale", "find", "replace", "reason"],
                "properties": {
                    "lesson": {"type": "string", "description": "program/slug"},
                    "locale": {"type": "string", "examples": ["en"]},
                    "find": {
                        "type": "string",
                        "description": "The passage to change, exactly once in the lesson",
                    },
                    "replace": {"type": "string", "description": "What it should say"},
                    "reason": {"type": "string", "description": "Why"},
                    "author": {"$ref": "#/components/schemas/Author"},
                },
            },
            "Revision": {
                "type": "object",
                "required": ["find", "replace"],
                "properties": {
                    "find": {"type": "string"},
                    "replace": {"type": "string"},
                    "reason": {"type": "string"},
                },
            },
            "Submitted": {
                "type": "object",
                "required": ["id", "status_url", "token"],
                "properties": {
                    "id": {"type": "integer"},
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
                    "id": {"type": "integer"},
                    "lesson": {"type": "string"},
                    "locale": {"type": "string"},
                    "status": {
                        "type": "string",
                        "enum": [
                            "queued",
                            "open",
                            "changes_requested",
                            "answered",
                            "approved",
                            "merged",
                            "closed",
                            "conflict",
                            "withdrawn",
                            "failed",
                        ],
                    },
                    "pr_number": {"type": ["integer", "null"]},
                    "pr_url": {"type": ["string", "null"]},
                    "error": {"type": ["string", "null"]},
                    "passage": {
                        "type": "object",
                        "description": "The edited passage as the pull request's branch holds "
                        "it now (before the branch exists: the edit as sent), and the line "
                        "it starts on when known",
                        "required": ["text", "line"],
                        "properties": {
                            "text": {"type": "string"},
                            "line": {"type": ["integer", "null"]},
                        },
                    },
                    "events": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
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
                        },
                    }
                },
            },
        },
    },
}
