"""One transaction per request: views and services only flush; the boundary commits once."""

from __future__ import annotations

from flask import Flask, Response, g
from sqlalchemy.exc import IntegrityError

from fieldsvc.context import Actor, reset_actor, set_actor
from fieldsvc.errors import Conflict, problem_response
from fieldsvc.extensions import db


def register_request_transaction(app: Flask) -> None:
    @app.before_request
    def _bind_actor() -> None:
        # The auth gate (fieldsvc.auth.guard) runs first and leaves the signed-in user here.
        actor = g.get("auth_actor") or Actor(id=None, name="anonymous", source="api")
        g.actor_token = set_actor(actor)

    @app.after_request
    def _commit(response: Response) -> Response:
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
        return response

    @app.teardown_request
    def _reset_actor(exc: BaseException | None) -> None:
        token = g.pop("actor_token", None)
        if token is not None:
            reset_actor(token)
