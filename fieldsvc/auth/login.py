"""Password login with lockout: the shared rule behind the API token and the console form."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldsvc.context import Actor
from fieldsvc.models import AuditEntry, User
from fieldsvc.models.base import utcnow
from fieldsvc.problems import Problem
from fieldsvc.services.users import hash_password, verify_password

_DUMMY_HASH: str | None = None


class BadCredentials(Problem):
    status, title, slug = 401, "Unauthorized", "unauthorized"

    def __init__(self) -> None:
        # One message for unknown user, wrong password, disabled or locked account, so the
        # answer never tells whether a username exists.
        super().__init__("Invalid username or password, or the account is temporarily locked.",
                         headers={"WWW-Authenticate": 'Bearer realm="fieldsvc"'})


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password("not-a-real-password")
    return _DUMMY_HASH


def _record(session: Session, user: User | None, username: str, action: str, source: str):
    session.add(AuditEntry(
        actor_id=user.id if user else None,
        actor_name=(user.username if user else username)[:120],
        source=source, action=action, entity_type="user_account",
        entity_id=str(user.id) if user else None, changes=None,
    ))


def authenticate(session: Session, username: str, password: str, source: str) -> User:
    """Check a username and password; count failures and lock after too many.

    Failures are committed here (the request's own transaction is rolled back on the 401
    that follows), so the counter survives the refusal.
    """
    cfg = current_app.config
    now = utcnow()
    user = session.scalar(select(User).where(User.username == username)) if username else None
    if user is None:
        verify_password(_dummy_hash(), password or "")  # same cost as a real check
        _record(session, None, username or "", "login-failed", source)
        session.commit()
        raise BadCredentials()
    locked = user.locked_until is not None and user.locked_until > now
    good = verify_password(user.password_hash, password or "")
    if locked or not good or not user.active:
        if not locked and not good:
            user.failed_logins = (user.failed_logins or 0) + 1
            if user.failed_logins >= cfg["LOGIN_MAX_FAILURES"]:
                user.locked_until = now + timedelta(seconds=cfg["LOGIN_LOCK_SECONDS"])
                user.failed_logins = 0
                _record(session, user, username, "lockout", source)
        _record(session, user, username, "login-failed", source)
        session.commit()
        raise BadCredentials()
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    _record(session, user, username, "login", source)
    session.flush()
    return user


def actor_for(user: User, source: str) -> Actor:
    """The actor a user acts as (a User, or any row with its columns under their names)."""
    return Actor(id=user.id, name=user.username, source=source, role=user.role.value,
                 technician_id=user.technician_id, dealership_id=user.dealership_id)
