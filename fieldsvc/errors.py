"""Problem details (RFC 9457): one exception type, one JSON shape for every API error."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, json, request
from marshmallow import ValidationError
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

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


class Forbidden(Problem):
    status, title, slug = 403, "Forbidden", "forbidden"


class PreconditionFailed(Problem):
    status, title, slug = 412, "Precondition failed", "precondition-failed"


def problem_response(problem: Problem) -> Response:
    from fieldsvc.ops.request_id import current as current_request_id

    body = problem.to_dict()
    # The request id lets a client's report be matched with the server's log lines.
    rid = current_request_id()
    if rid is not None:
        body.setdefault("request_id", rid)
    response = Response(json.dumps(body), status=problem.status, mimetype=PROBLEM_MIMETYPE)
    for key, value in problem.headers.items():
        response.headers[key] = value
    return response


def _wants_problem() -> bool:
    path = request.path
    if path.startswith("/api/") or path == "/healthz":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _http_exception(exc: HTTPException) -> Response | HTTPException:
    if not _wants_problem():
        return exc
    # webargs (through flask-smorest) attaches field messages to a 422.
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages")
    if exc.code == 422 and messages is not None:
        # Arguments parsed from one location: {"json": {...}} → {...}
        if isinstance(messages, dict) and len(messages) == 1:
            (location, errors), = messages.items()
            if location in {"json", "query", "form", "files", "headers", "view_args"}:
                messages = errors
        return problem_response(InvalidInput(messages))
    slug = (exc.name or "error").lower().replace(" ", "-")
    problem = Problem(
        exc.description if exc.code != 404 else "No resource at this address.",
        status=exc.code or 500,
        title=exc.name,
        slug=slug,
    )
    response = problem_response(problem)
    if exc.code == 405 and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def register_error_handlers(app: Flask) -> None:
    """Turn every API error into problem+json; leave HTML pages alone."""
    from fieldsvc.extensions import db

    @app.errorhandler(Problem)
    def _problem(exc: Problem):
        db.session.rollback()
        return problem_response(exc)

    @app.errorhandler(ValidationError)
    def _validation(exc: ValidationError):
        db.session.rollback()
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        return problem_response(InvalidInput(messages))

    @app.errorhandler(StaleDataError)
    def _stale(exc: StaleDataError):
        db.session.rollback()
        return problem_response(
            Conflict("The record was changed by someone else meanwhile; reload and retry.")
        )

    @app.errorhandler(IntegrityError)
    def _integrity(exc: IntegrityError):
        db.session.rollback()
        app.logger.info("integrity error: %s", exc.orig)
        return problem_response(
            Conflict("The change conflicts with existing data (a duplicate, or a record that "
                     "others still refer to).")
        )

    @app.errorhandler(DataError)
    def _data(exc: DataError):
        db.session.rollback()
        return problem_response(
            Problem("A value does not fit its field.", status=422, title="Validation failed",
                    slug="validation")
        )

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        db.session.rollback()
        return _http_exception(exc)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        db.session.rollback()
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        if _wants_problem():
            return problem_response(
                Problem(
                    "An unexpected error occurred; it has been logged.",
                    status=500,
                    title="Internal server error",
                    slug="internal",
                )
            )
        return "Internal server error", 500
