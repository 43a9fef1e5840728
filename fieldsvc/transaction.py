"""One transaction per request: views and services only flush; the boundary commits once.

API reads (GET, HEAD, OPTIONS under /api/) write nothing and run without a transaction:
each statement in autocommit. Under READ COMMITTED, PostgreSQL's default and ours, every
statement takes its own snapshot inside a transaction too, so what a read sees does not
change; it saves the BEGIN and COMMIT round trips every read paid. A read that tries to
write anyway is refused (ReadOnlyRequest, a 500: a bug to fix, never a half-applied write).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask, Response, g, request
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from fieldsvc.context import Actor, reset_actor, set_actor
from fieldsvc.errors import problem_response
from fieldsvc.extensions import db
from fieldsvc.problems import Conflict

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
READ_ONLY = "fieldsvc_read_only"  # key in Session.info
T = TypeVar("T")


class ReadOnlyRequest(RuntimeError):
    """A read request (no transaction) tried to write."""


def is_read_request() -> bool:
    return request.method in READ_METHODS and request.path.startswith("/api/")


def begin(session: Session) -> None:
    """Open the request's work on the database: autocommit for API reads.

    Must run before the request's first statement (the auth gate calls it before the
    token lookup); other requests keep the session's usual transaction, and so does a
    read whose session is already in one (work done earlier in the same app context)."""
    if not is_read_request() or session.in_transaction():
        return
    session.info[READ_ONLY] = True
    session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def first_statement(session: Session, run: Callable[[], T]) -> T:
    """Run the request's first statement; once more on a new connection if the pooled one
    turned out dead (database restarted, connection dropped). Nothing ran before it, so
    trying again repeats nothing; SQLAlchemy has by then discarded the pool's older
    connections too."""
    try:
        return run()
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    session.rollback()
    begin(session)
    return run()


def _refuse_flush(session: Session, flush_context, instances) -> None:
    if session.info.get(READ_ONLY) and (session.new or session.dirty or session.deleted):
        raise ReadOnlyRequest(f"{request.method} {request.path} tried to write; reads run "
                              "without a transaction and may not write.")


def _refuse_bulk_write(state) -> None:
    if state.session.info.get(READ_ONLY) and (state.is_insert or state.is_update
                                               or state.is_delete):
        raise ReadOnlyRequest(f"{request.method} {request.path} tried to write; reads run "
                              "without a transaction and may not write.")


def register_request_transaction(app: Flask) -> None:
    if not event.contains(Session, "before_flush", _refuse_flush):
        event.listen(Session, "before_flush", _refuse_flush)
        event.listen(Session, "do_orm_execute", _refuse_bulk_write)

    @app.before_request
    def _bind_actor() -> None:
        # The auth gate (fieldsvc.auth.guard) runs first and leaves the signed-in user here.
        actor = g.get("auth_actor") or Actor(id=None, name="anonymous", source="api")
        g.actor_token = set_actor(actor)

    @app.after_request
    def _commit(response: Response) -> Response:
        if db.session.info.pop(READ_ONLY, False):
            # Nothing to commit: end the session's use of its autocommit connection (no
            # round trip) so a later request in the same app context starts afresh.
            db.session.rollback()
            return response
        if response.status_code >= 400:
            db.session.rollback()
            return response
        try:
            db.session.commit()
        except IntegrityError as exc:
            db.session.rollback()
            app.logger.info("integrity error at commit: %s", exc.orig)
            return problem_response(
                Conflict("The change conflicts with existing data (a duplicate or a reference).")
            )
        except DBAPIError as exc:
            from fieldsvc.ops.resilience import commit_lost, is_disconnect

            if not is_disconnect(exc):
                raise
            db.session.rollback()
            return commit_lost(app)
        return response

    @app.teardown_request
    def _reset_actor(exc: BaseException | None) -> None:
        db.session.info.pop(READ_ONLY, None)
        token = g.pop("actor_token", None)
        if token is not None:
            reset_actor(token)
