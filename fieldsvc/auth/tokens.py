"""Opaque bearer tokens and console sessions: random secrets, stored as SHA-256 hashes.

Why opaque rather than signed: every request already reaches the database, a lookup by a
unique hash is one indexed read, and revocation (logout, refresh, a disabled user) takes
effect at once without a second revocation list. A leaked table gives no usable token.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from functools import cache
from typing import NamedTuple

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from fieldsvc.auth.login import actor_for
from fieldsvc.context import Actor
from fieldsvc.models import AuthToken, User
from fieldsvc.models.base import utcnow

API = "api"
CONSOLE = "console"


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def issue(session: Session, user: User, ttl_seconds: int, kind: str = API) -> tuple[str, AuthToken]:
    """Create a token for `user`; return the raw secret (shown once) and its row."""
    raw = secrets.token_urlsafe(32)
    row = AuthToken(user_id=user.id, token_hash=digest(raw), kind=kind,
                    expires_at=utcnow() + timedelta(seconds=ttl_seconds))
    session.add(row)
    session.flush()
    return raw, row


@cache
def _resolve_stmt():
    # Built once: every API request runs it, and building it cost more than running it.
    return (select(AuthToken, User)
            .join(User, User.id == AuthToken.user_id)
            .where(AuthToken.token_hash == bindparam("token_hash"),
                   AuthToken.kind == bindparam("kind")))


def resolve(session: Session, raw: str | None, kind: str = API,
            now: datetime | None = None) -> tuple[AuthToken, User] | None:
    """The live token and its active user, or None if unknown, expired, revoked or disabled."""
    if not raw or len(raw) > 200:
        return None
    now = now or utcnow()
    found = session.execute(_resolve_stmt(), {"token_hash": digest(raw), "kind": kind}).first()
    if found is None:
        return None
    token, user = found
    if not _live(token.revoked_at, token.expires_at, user.active, now):
        return None
    return token, user


def _live(revoked_at: datetime | None, expires_at: datetime, active: bool,
          now: datetime) -> bool:
    """A token counts while it is not revoked, not expired, and its user is active."""
    return revoked_at is None and expires_at > now and active


class Bearer(NamedTuple):
    """Who a live API token speaks for: what every API request needs, without ORM objects."""

    token_id: int
    user_id: int
    actor: Actor


@cache
def _bearer_stmt():
    # Plain Core on the tables, only the columns the gate needs: every API request runs it.
    t, u = AuthToken.__table__.c, User.__table__.c
    return (select(t.id.label("token_id"), t.expires_at, t.revoked_at, u.id, u.username,
                   u.role, u.technician_id, u.dealership_id, u.active)
            .select_from(AuthToken.__table__.join(User.__table__, u.id == t.user_id))
            .where(t.token_hash == bindparam("token_hash"), t.kind == API))


def resolve_bearer(session: Session, raw: str | None,
                   now: datetime | None = None) -> Bearer | None:
    """The live API token's holder (same rules as `resolve`), or None."""
    if not raw or len(raw) > 200:
        return None
    row = session.connection().execute(_bearer_stmt(), {"token_hash": digest(raw)}).first()
    if row is None:
        return None
    if not _live(row.revoked_at, row.expires_at, row.active, now or utcnow()):
        return None
    # The row carries the user's columns under their own names, as actor_for reads them.
    return Bearer(row.token_id, row.id, actor_for(row, "api", row.token_id))


def revoke(session: Session, token: AuthToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()


def revoke_all(session: Session, user_id: int, keep_token_id: int | None = None) -> int:
    """Revoke every live API token and console session of a user (password change), but
    `keep_token_id`, the one making the change when it asks to stay signed in."""
    stmt = (update(AuthToken)
            .where(AuthToken.user_id == user_id, AuthToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
            .execution_options(synchronize_session=False))
    if keep_token_id is not None:
        stmt = stmt.where(AuthToken.id != keep_token_id)
    return session.execute(stmt).rowcount or 0
