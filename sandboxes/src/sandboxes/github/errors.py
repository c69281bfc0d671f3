"""GitHub's error responses as exceptions the routes raise."""

from __future__ import annotations

from typing import Any

DOCS = "https://docs.github.com/rest"


class ApiError(Exception):
    """An error answered with GitHub's JSON body `{"message", "documentation_url"}`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        errors: list[Any] | None = None,
        headers: dict[str, str] | None = None,
        documentation_url: str = DOCS,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = headers or {}
        self.documentation_url = documentation_url

    def body(self) -> dict[str, Any]:
        """Return the JSON body GitHub sends for this error."""
        body: dict[str, Any] = {"message": self.message}
        if self.errors is not None:
            body["errors"] = self.errors
        body["documentation_url"] = self.documentation_url
        return body


def not_found() -> ApiError:
    """Return GitHub's plain 404."""
    return ApiError(404, "Not Found")


def invalid(resource: str, field: str, code: str = "invalid", **extra: Any) -> ApiError:
    """Return a 422 Validation Failed naming one bad field."""
    error = {"resource": resource, "field": field, "code": code, **extra}
    return ApiError(422, "Validation Failed", errors=[error])


def custom(resource: str, message: str) -> ApiError:
    """Return a 422 Validation Failed with a custom message, as GitHub words rule breaches."""
    return ApiError(
        422,
        "Validation Failed",
        errors=[{"resource": resource, "code": "custom", "message": message}],
    )
