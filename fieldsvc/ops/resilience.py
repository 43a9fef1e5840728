"""A lost database connection: try the request again where that is safe, else 503.

Safe to try again on a new connection: an API read (it runs without a transaction and
writes nothing), and a write before any statement of it that could change data ran (the
server rolled back the transaction with the connection, and nothing of it happened).
Anything else, or a second loss, answers 503 with Retry-After: a client can retry on that,
where a 500 tells it the request itself is wrong.
"""

from __future__ import annotations

import logging

from flask import Flask, g, has_request_context
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from fieldsvc.errors import Problem, problem_response
from fieldsvc.extensions import db
from fieldsvc.ops import metrics

log = logging.getLogger(__name__)

RETRIES = 2  # a request is tried at most this many more times after a lost connection
_WROTE = "fieldsvc_db_wrote"
_READ_PREFIXES = ("SELECT", "SHOW", "PRAGMA")


def is_disconnect(exc: BaseException) -> bool:
    """A connection that died (server restarted, backend terminated, network lost)."""
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def unavailable(app: Flask, detail: str) -> Problem:
    retry = str(app.config.get("DB_RETRY_AFTER_SECONDS", 2))
    return Problem(detail, status=503, title="Service unavailable", slug="unavailable",
                   headers={"Retry-After": retry})


def _note_statement(conn, cursor, statement, parameters, context, executemany) -> None:
    if not has_request_context() or g.get(_WROTE):
        return
    if context is not None and (context.isinsert or context.isupdate or context.isdelete):
        g.setdefault(_WROTE, True)
        return
    if not statement.lstrip()[:6].upper().startswith(_READ_PREFIXES):
        g.setdefault(_WROTE, True)


def install(app: Flask) -> None:
    from fieldsvc.transaction import READ_ONLY, begin

    if not event.contains(Engine, "after_cursor_execute", _note_statement):
        event.listen(Engine, "after_cursor_execute", _note_statement)

    dispatch = app.dispatch_request

    def dispatch_with_retry():
        for attempt in range(RETRIES + 1):
            session = db.session()
            read_only = bool(session.info.get(READ_ONLY))
            try:
                return dispatch()
            except DBAPIError as exc:
                if not is_disconnect(exc) or attempt == RETRIES:
                    raise
                if not read_only and g.get(_WROTE):
                    raise
                log.warning("database connection lost; trying the request again (%s)",
                            str(exc.orig).strip().splitlines()[0] if exc.orig else exc)
                metrics.DB_DISCONNECTS.labels("retried").inc()
                session.rollback()
                g.pop(_WROTE, None)
                if read_only:
                    begin(session)
        raise AssertionError("unreachable")

    app.dispatch_request = dispatch_with_retry

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def _database_unavailable(exc: DBAPIError):
        db.session.rollback()
        metrics.DB_DISCONNECTS.labels("unavailable").inc()
        log.warning("database unavailable: %s", exc.orig if exc.orig is not None else exc)
        return problem_response(unavailable(
            app, "The database is not reachable at the moment; retry shortly."))


def commit_lost(app: Flask):
    """The response when the connection died during the final commit (outcome unknown)."""
    metrics.DB_DISCONNECTS.labels("unavailable").inc()
    return problem_response(unavailable(
        app, "The database connection was lost while saving; the change may not have been "
             "saved. Check, then retry."))
