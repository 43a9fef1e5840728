"""User accounts of every role."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from fieldsvc.models.base import Base, TimestampMixin, str_enum
from fieldsvc.models.enums import Role


class User(TimestampMixin, Base):
    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint(
            "role <> 'technician' OR technician_id IS NOT NULL", name="technician_link"
        ),
        CheckConstraint(
            "role <> 'dealership' OR dealership_id IS NOT NULL", name="dealership_link"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(str_enum(Role, "user_role"))
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("technician.id"), unique=True)
    dealership_id: Mapped[int | None] = mapped_column(ForeignKey("dealership.id"), index=True)
    # Comma-separated skill codes an agent handles (ticket routing by skill).
    agent_skills: Mapped[str | None] = mapped_column(String(400))
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
