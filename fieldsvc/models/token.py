"""Authentication tokens: API bearer tokens and console sessions, stored hashed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from fieldsvc.models.base import Base, utcnow


class AuthToken(Base):
    """One issued credential; the secret itself is never stored, only its SHA-256."""

    __tablename__ = "auth_token"
    __table_args__ = (CheckConstraint("kind IN ('api', 'console')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(10), default="api")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime | None]
