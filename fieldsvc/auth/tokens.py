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

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

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
    if token.revoked_at is not None or token.expires_at <= now or not user.active:
        return None
    return token, user


def revoke(session: Session, token: AuthToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()


def revoke_all(session: Session, user_id: int) -> int:
    """Revoke every live token of a user (password change, account disabled)."""
    result = session.execute(
        update(AuthToken)
        .where(AuthToken.user_id == user_id, AuthToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return result.rowcount or 0
