"""Tables of the outbox: events, the deliveries fanned out from them, webhook subscriptions."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldsvc.models.base import Base, JSONType, TimestampMixin, str_enum, utcnow


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"  # every attempt failed; an admin may replay it


class OutboxEvent(Base):
    """One domain event, inserted in the transaction of the change that caused it.

    `sequence` numbers the events of one aggregate (1, 2, ...): deliveries of one aggregate
    to one target go out in that order. `fanned_out_at` is set once a delivery row exists
    for every channel that wants the event."""

    __tablename__ = "outbox_event"
    __table_args__ = (
        UniqueConstraint("aggregate_type", "aggregate_id", "sequence"),
        Index(
            "ix_outbox_event_pending",
            "id",
            postgresql_where=text("fanned_out_at IS NULL"),
            sqlite_where=text("fanned_out_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(60))
    aggregate_type: Mapped[str] = mapped_column(String(40))
    aggregate_id: Mapped[int]
    sequence: Mapped[int]
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    fanned_out_at: Mapped[datetime | None]


class EventDelivery(TimestampMixin, Base):
    """One event on its way to one target of one channel (a webhook subscription, ...)."""

    __tablename__ = "event_delivery"
    __table_args__ = (
        UniqueConstraint("event_id", "channel", "target_id"),
        CheckConstraint("attempts >= 0", name="attempts"),
        Index("ix_event_delivery_due", "status", "next_attempt_at"),
        # The order check: is an earlier event of this aggregate still pending for the target?
        Index(
            "ix_event_delivery_order",
            "channel",
            "target_id",
            "aggregate_type",
            "aggregate_id",
            "sequence",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("outbox_event.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(30))
    target_id: Mapped[int]
    # Copied from the event so the order check reads one table.
    aggregate_type: Mapped[str] = mapped_column(String(40))
    aggregate_id: Mapped[int]
    sequence: Mapped[int]
    status: Mapped[DeliveryStatus] = mapped_column(
        str_enum(DeliveryStatus, "delivery_status"), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=utcnow)
    last_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_latency_ms: Mapped[float | None] = mapped_column(Float)
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None]

    event: Mapped[OutboxEvent] = relationship(lazy="raise")


class WebhookSubscription(TimestampMixin, Base):
    """An HTTPS (or, when allowed, private) endpoint and the event types it receives."""

    __tablename__ = "webhook_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    # Event types ("work_order.completed") or ["*"] for every event.
    events: Mapped[list[str]] = mapped_column(JSONType)
    description: Mapped[str | None] = mapped_column(String(200))
    # "whsec_" + base64 of 32 random bytes (Standard Webhooks); shown once, at creation.
    secret: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(default=True)
