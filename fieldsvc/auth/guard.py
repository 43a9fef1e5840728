"""The one gate every request passes: who is calling, and may they do this.

Runs before any view. Under /api/ a valid bearer token is required (except the public
paths below) and the policy matrix is applied to the matched URL rule, so endpoints added
later are protected without touching them. Elsewhere (console pages) the Flask-Login
session identifies the user and forms are CSRF-checked.
"""

from __future__ import annotations

from flask import g, request
from flask_login import current_user

from fieldsvc.auth import policy, tokens
from fieldsvc.auth.limits import bearer_from_header
from fieldsvc.auth.login import actor_for
from fieldsvc.extensions import db
from fieldsvc.problems import Problem
from fieldsvc.transaction import begin, first_statement

PUBLIC_API_PATHS = frozenset({"/api/v1/auth/token", "/api/openapi.json", "/api/docs"})
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Unauthorized(Problem):
    status, title, slug = 401, "Unauthorized", "unauthorized"

    def __init__(self, detail: str, error: str | None = None) -> None:
        challenge = 'Bearer realm="fieldsvc"'
        if error:
            challenge += f', error="{error}"'
        super().__init__(detail, headers={"WWW-Authenticate": challenge})


def _load(model, ident):
    return db.session.get(model, ident)


def _api_request() -> None:
    path = request.path
    if path in PUBLIC_API_PATHS or request.method == "OPTIONS":
        return
    raw = bearer_from_header()
    if raw is None:
        raise Unauthorized("Send 'Authorization: Bearer <token>'; get a token from "
                           "POST /api/v1/auth/token.")
    # The token lookup is the request's first statement: reads start without a
    # transaction, and a dead pooled connection is replaced here (see transaction.py).
    session = db.session()  # this request's Session itself, not the scoped proxy
    begin(session)
    bearer = first_statement(session, lambda: tokens.resolve_bearer(session, raw))
    if bearer is None:
        raise Unauthorized("The token is invalid, expired or revoked.", error="invalid_token")
    g.auth_token_id = bearer.token_id
    g.auth_user_id = bearer.user_id
    g.auth_actor = bearer.actor
    if request.url_rule is None:  # unknown path or method: routing answers 404/405
        return
    body = request.get_json(silent=True) if request.is_json else None
    g.auth_target = policy.authorize(g.auth_actor, request.url_rule.rule, request.method,
                                     request.view_args, body, _load)


def _console_request(csrf) -> None:
    if request.method in UNSAFE_METHODS:
        csrf.protect()
    if current_user.is_authenticated:
        g.auth_user = current_user.user
        g.auth_actor = actor_for(current_user.user, "console", current_user.token.id)


def install(app, csrf) -> None:
    @app.before_request
    def _authenticate_and_authorize() -> None:
        if request.path.startswith("/api/"):
            _api_request()
        elif request.endpoint != "static":
            _console_request(csrf)
