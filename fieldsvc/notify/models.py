"""One row per message and channel: what to send, to whom, when, and what became of it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fieldsvc.models.base import Base, utcnow

PENDING, SENT, FAILED = "pending", "sent", "failed"


class Notification(Base):
    __tablename__ = "notification"
    __table_args__ = (
        # Queueing the same message twice (a retried job, an event delivered twice) is a no-op.
        UniqueConstraint("dedupe_key", "channel", name="uq_notification_dedupe"),
        Index("ix_notification_due", "status", "send_after"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_order.id"), index=True)
    # en_route, appointment_booked, appointment_moved, appointment_cancelled,
    # recall_invitation, return_reminder (fieldsvc.notify.messages.KINDS)
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10))  # email | sms
    language: Mapped[str] = mapped_column(String(8))
    recipient: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(Text)
    # An iCalendar file sent with the e-mail (appointments), as text.
    ics: Mapped[str | None] = mapped_column(Text)
    dedupe_key: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    send_after: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(400))
    sent_at: Mapped[datetime | None]
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interaction.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
