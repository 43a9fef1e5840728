"""Error handlers: every API error becomes one application/problem+json shape.

The problem types live in fieldsvc.problems (no Flask there); this module is the web side.
"""

from __future__ import annotations

from flask import Flask, Response, json, request
from marshmallow import ValidationError
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from fieldsvc.problems import PROBLEM_MIMETYPE, Conflict, InvalidInput, Problem, invalid_input


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
    allowed = getattr(exc, "valid_methods", None)  # MethodNotAllowed's
    if exc.code == 405 and allowed:
        response.headers["Allow"] = ", ".join(allowed)
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
        return problem_response(invalid_input(exc))

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
