"""Tickets: what a customer reported through a channel."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldsvc.models.base import Base, TimestampMixin, str_enum
from fieldsvc.models.enums import TicketCategory, TicketChannel, TicketStatus

if TYPE_CHECKING:
    from fieldsvc.models.customer import Customer


class Ticket(TimestampMixin, Base):
    __tablename__ = "ticket"
    __table_args__ = (CheckConstraint("priority BETWEEN 1 AND 4", name="priority"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    channel: Mapped[TicketChannel] = mapped_column(str_enum(TicketChannel, "ticket_channel"))
    category: Mapped[TicketCategory] = mapped_column(
        str_enum(TicketCategory, "ticket_category"), index=True
    )
    topic: Mapped[str | None] = mapped_column(String(120), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"), index=True)
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("asset.id"), index=True)
    region: Mapped[str | None] = mapped_column(String(80), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[int] = mapped_column(default=3)
    status: Mapped[TicketStatus] = mapped_column(
        str_enum(TicketStatus, "ticket_status"), default=TicketStatus.OPEN, index=True
    )
    calling_number: Mapped[str | None] = mapped_column(String(40))
    assigned_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    closed_at: Mapped[datetime | None]

    customer: Mapped[Customer] = relationship()
