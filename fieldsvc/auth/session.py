"""Console sessions through Flask-Login, backed by a revocable row in auth_token.

The signed session cookie holds only a random session id; its hash is looked up on each
request, so logging out (or disabling the user) ends the session on the server side.
"""

from __future__ import annotations

from flask import current_app
from flask_login import LoginManager, UserMixin

from fieldsvc.auth import tokens
from fieldsvc.extensions import db
from fieldsvc.models import User

login_manager = LoginManager()
login_manager.login_view = "console.login"
login_manager.login_message = "Please sign in."
login_manager.session_protection = "basic"


class ConsoleUser(UserMixin):
    def __init__(self, session_id: str, user: User, token) -> None:
        self.session_id = session_id
        self.user = user
        self.token = token

    def get_id(self) -> str:
        return self.session_id


@login_manager.user_loader
def _load(session_id: str) -> ConsoleUser | None:
    found = tokens.resolve(db.session, session_id, tokens.CONSOLE)
    if found is None:
        return None
    token, user = found
    return ConsoleUser(session_id, user, token)


def start(user: User) -> ConsoleUser:
    ttl = current_app.config["CONSOLE_SESSION_TTL_SECONDS"]
    raw, token = tokens.issue(db.session, user, ttl, tokens.CONSOLE)
    return ConsoleUser(raw, user, token)
