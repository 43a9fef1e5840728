"""Problem details (RFC 9457) as plain exceptions: services raise them without Flask.

One exception type with `status`, `type`, `title`, `detail` and extension members; the
web layer (fieldsvc.errors) turns it into an application/problem+json response.
"""

from __future__ import annotations

from typing import Any

PROBLEM_MIMETYPE = "application/problem+json"
TYPE_BASE = "https://fieldsvc.dev/problems/"


class Problem(Exception):
    """A domain or HTTP error that becomes an application/problem+json response."""

    status = 400
    title = "Bad request"
    slug = "bad-request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        status: int | None = None,
        title: str | None = None,
        slug: str | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or title or self.title)
        if status is not None:
            self.status = status
        if title is not None:
            self.title = title
        if slug is not None:
            self.slug = slug
        self.detail = detail
        self.headers = headers or {}
        self.extensions = extensions

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": TYPE_BASE + self.slug,
            "title": self.title,
            "status": self.status,
        }
        if self.detail:
            body["detail"] = self.detail
        body.update(self.extensions)
        return body


class NotFound(Problem):
    status, title, slug = 404, "Not found", "not-found"


class Conflict(Problem):
    status, title, slug = 409, "Conflict", "conflict"


class InvalidInput(Problem):
    status, title, slug = 422, "Validation failed", "validation"

    def __init__(self, errors: dict[str, Any], detail: str | None = None, **kw: Any) -> None:
        super().__init__(detail or "The request contains invalid fields.", errors=errors, **kw)


def field_messages(exc: Any, schema_key: str = "_schema") -> dict[str, Any]:
    """A marshmallow ValidationError's messages by field; messages about no one field (a
    list) go under `schema_key`."""
    messages = exc.messages
    return dict(messages) if isinstance(messages, dict) else {schema_key: messages}


def invalid_input(exc: Any) -> InvalidInput:
    """The 422 problem of a marshmallow ValidationError."""
    return InvalidInput(field_messages(exc))


class Forbidden(Problem):
    status, title, slug = 403, "Forbidden", "forbidden"


class PreconditionFailed(Problem):
    status, title, slug = 412, "Precondition failed", "precondition-failed"
