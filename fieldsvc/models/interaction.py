"""Interactions: every contact with a customer, the basis of the single customer view."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fieldsvc.models.base import Base, str_enum, utcnow
from fieldsvc.models.enums import Direction, InteractionChannel


class Interaction(Base):
    __tablename__ = "interaction"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Null when the caller could not be identified.
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    channel: Mapped[InteractionChannel] = mapped_column(
        str_enum(InteractionChannel, "interaction_channel")
    )
    direction: Mapped[Direction] = mapped_column(
        str_enum(Direction, "interaction_direction"), default=Direction.INBOUND
    )
    calling_number: Mapped[str | None] = mapped_column(String(40))
    subject: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"), index=True)
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_order.id"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    outside_hours: Mapped[bool] = mapped_column(default=False)
    callback_due_at: Mapped[datetime | None]
    callback_done_at: Mapped[datetime | None]
