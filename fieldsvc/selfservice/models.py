"""What self-service keeps: the links handed out, the lockouts, the visits confirmed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from fieldsvc.models.base import Base, utcnow


class SelfServiceLink(Base):
    """One link handed to a customer: a random id signed into the URL, and its subject.

    The URL carries only `jti` (signed with the app's secret); the row says what it opens
    (a work order to track, or a VIN's recalls), until when, and whether it was revoked.
    `steps` counts the actions taken through it: each form carries the count it was drawn
    with, so a form sent twice (or a captured request replayed) is refused.
    """

    __tablename__ = "self_service_link"
    __table_args__ = (
        CheckConstraint("purpose IN ('track', 'recall')", name="purpose"),
        CheckConstraint(
            "(purpose = 'track' AND work_order_id IS NOT NULL) OR "
            "(purpose = 'recall' AND vin IS NOT NULL)",
            name="subject",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    jti: Mapped[str] = mapped_column(String(40), unique=True)
    purpose: Mapped[str] = mapped_column(String(10))
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_order.id"), index=True)
    vin: Mapped[str | None] = mapped_column(String(17), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("recall_campaign.id"), index=True)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    steps: Mapped[int] = mapped_column(default=0)


class SelfServiceLock(Base):
    """Wrong answers per VIN (hashed): after too many, the VIN is locked for a while."""

    __tablename__ = "self_service_lock"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    failures: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]


class VisitConfirmation(Base):
    """The customer said they will be home for the visit planned to start at that time."""

    __tablename__ = "visit_confirmation"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id"), unique=True)
    scheduled_start_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime] = mapped_column(default=utcnow)
