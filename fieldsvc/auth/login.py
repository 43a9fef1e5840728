"""Password login with lockout: the shared rule behind the API token and the console form.

Every attempt is counted before its password is checked, by one atomic UPDATE ... RETURNING
that the database orders: concurrent attempts each get their own number, so however many
arrive at once, only the first LOGIN_MAX_FAILURES of them are checked and the next one
locks the account. The count is committed at once (the row lock of the UPDATE is held for
one statement, not for the slow hash check), so it survives the refusal that follows.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from fieldsvc.context import Actor
from fieldsvc.models import AuditEntry, User
from fieldsvc.models.base import utcnow
from fieldsvc.problems import Problem
from fieldsvc.services.users import hash_password, verify_password

_DUMMY_HASH: str | None = None
_USERS = User.__table__.c


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


def _record(session: Session, user_id: int | None, username: str, action: str, source: str):
    session.add(AuditEntry(
        actor_id=user_id, actor_name=username[:120], source=source, action=action,
        entity_type="user_account", entity_id=str(user_id) if user_id else None, changes=None,
    ))


def _unlocked(now: datetime):
    return or_(_USERS.locked_until.is_(None), _USERS.locked_until <= now)


def _count_attempt(session: Session, username: str, now: datetime):
    """Number this attempt: (id, attempt number, hash, active), or None if locked or unknown."""
    return session.execute(
        update(User.__table__)
        .where(_USERS.username == username, _unlocked(now))
        .values(failed_logins=_USERS.failed_logins + 1)
        .returning(_USERS.id, _USERS.failed_logins, _USERS.password_hash, _USERS.active)
    ).first()


def _lock(session: Session, user_id: int, now: datetime) -> bool:
    """Lock the account unless it is locked already; True if this call locked it."""
    seconds = current_app.config["LOGIN_LOCK_SECONDS"]
    return session.execute(
        update(User.__table__)
        .where(_USERS.id == user_id, _unlocked(now))
        .values(locked_until=now + timedelta(seconds=seconds), failed_logins=0)
        .returning(_USERS.id)
    ).first() is not None


def _admit(session: Session, user_id: int, now: datetime, sign_in: bool) -> bool:
    """Reset the count after a good password, unless a concurrent attempt locked the account
    meanwhile; True if the password stands."""
    values = {"failed_logins": 0, "locked_until": None}
    if sign_in:
        values["last_login_at"] = now
    return session.execute(
        update(User.__table__)
        .where(_USERS.id == user_id, _unlocked(now))
        .values(**values)
        .returning(_USERS.id)
    ).first() is not None


def check_password(session: Session, username: str, password: str, source: str,
                   action: str = "login") -> User:
    """Check a username and password under the lockout rule; the user, or BadCredentials.

    `action` names a success in the audit log: "login" (a sign-in) or what the password
    was asked for.

    Refusals are committed here (the request's own transaction is rolled back on the 401
    that follows), so the count and the audit entries survive them.
    """
    now = utcnow()
    password = password or ""
    attempt = _count_attempt(session, username, now) if username else None
    session.commit()  # counted before the slow check, and no lock held during it
    if attempt is None:
        # Unknown user or locked account: the same cost and answer as a wrong password.
        verify_password(_dummy_hash(), password)
        user_id = session.scalar(select(_USERS.id).where(_USERS.username == username)) \
            if username else None
        _record(session, user_id, username or "", "login-failed", source)
        session.commit()
        raise BadCredentials()
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    if attempt.failed_logins > limit:
        # More attempts in flight than the allowance: this one is not checked at all.
        verify_password(_dummy_hash(), password)
        good = False
    else:
        good = verify_password(attempt.password_hash, password)
    if good and attempt.active and _admit(session, attempt.id, now, action == "login"):
        user = session.get(User, attempt.id)
        _record(session, user.id, user.username, action, source)
        session.flush()
        return user
    if not good and attempt.failed_logins >= limit and _lock(session, attempt.id, now):
        _record(session, attempt.id, username, "lockout", source)
    _record(session, attempt.id, username, "login-failed", source)
    session.commit()
    raise BadCredentials()


def authenticate(session: Session, username: str, password: str, source: str) -> User:
    """Sign a user in with a username and password (API token or console session)."""
    return check_password(session, username, password, source)


def actor_for(user: User, source: str, token_id: int | None = None) -> Actor:
    """The actor a user acts as (a User, or any row with its columns under their names)."""
    return Actor(id=user.id, name=user.username, source=source, role=user.role.value,
                 technician_id=user.technician_id, dealership_id=user.dealership_id,
                 token_id=token_id)
