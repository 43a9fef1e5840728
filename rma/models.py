"""RMA records and their status history."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldsvc.models.base import Base, TimestampMixin, str_enum, utcnow
from fieldsvc.models.enums import Entitlement, RmaStatus, RmaType


class InspectionResult(StrEnum):
    FAILURE_CONFIRMED = "failure_confirmed"
    NO_FAULT_FOUND = "no_fault_found"
    CUSTOMER_DAMAGE = "customer_damage"


class Disposition(StrEnum):
    """Where the returned unit goes after inspection."""

    RESTOCK = "restock"  # refurbished: transfer quarantine → a chosen warehouse
    TO_VENDOR = "to_vendor"  # transfer quarantine → the vendor's warehouse
    SCRAP = "scrap"  # written off out of quarantine
    RETURN_TO_CUSTOMER = "return_to_customer"  # repaired; issued back when the RMA closes


class Rma(TimestampMixin, Base):
    __tablename__ = "rma"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("replacement_reserved >= 0", name="replacement_reserved"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Readable on the phone: "RMA-2611-0042".
    number: Mapped[str] = mapped_column(String(20), unique=True)
    type: Mapped[RmaType] = mapped_column(str_enum(RmaType, "rma_type"))
    status: Mapped[RmaStatus] = mapped_column(
        str_enum(RmaStatus, "rma_status"), default=RmaStatus.REQUESTED, index=True
    )
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("asset.id"), index=True)
    part_id: Mapped[int | None] = mapped_column(ForeignKey("part.id"), index=True)
    quantity: Mapped[int] = mapped_column(default=1)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"), index=True)
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_order.id"), index=True)
    failure_description: Mapped[str | None] = mapped_column(Text)
    failure_code: Mapped[str | None] = mapped_column(String(40), index=True)
    entitlement: Mapped[Entitlement] = mapped_column(str_enum(Entitlement, "rma_entitlement"))
    entitlement_reason: Mapped[str] = mapped_column(String(400))
    replacement_warehouse_id: Mapped[int | None] = mapped_column(
        ForeignKey("warehouse.id"), index=True)
    replacement_serial: Mapped[str | None] = mapped_column(String(80))
    defective_serial: Mapped[str | None] = mapped_column(String(80))
    return_deadline: Mapped[date | None]
    inspection_result: Mapped[str | None] = mapped_column(String(40))
    inspection_notes: Mapped[str | None] = mapped_column(Text)
    overdue_flagged_at: Mapped[datetime | None]
    charge_customer: Mapped[bool] = mapped_column(default=False)
    # The returned item is the asset itself (its serial must match), not a part of it.
    whole_unit: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Replacement units held for this RMA in replacement_warehouse_id (no work order).
    replacement_reserved: Mapped[int] = mapped_column(default=0, server_default="0")
    quarantine_warehouse_id: Mapped[int | None] = mapped_column(
        ForeignKey("warehouse.id"), index=True)
    inspection_failure_code: Mapped[str | None] = mapped_column(String(40), index=True)
    disposition: Mapped[str | None] = mapped_column(String(24))
    disposition_warehouse_id: Mapped[int | None] = mapped_column(
        ForeignKey("warehouse.id"), index=True)
    goodwill_approved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id"), index=True)
    goodwill_approved_at: Mapped[datetime | None]

    transitions: Mapped[list[RmaTransition]] = relationship(
        back_populates="rma", order_by="RmaTransition.id"
    )


class RmaTransition(Base):
    __tablename__ = "rma_transition"

    id: Mapped[int] = mapped_column(primary_key=True)
    rma_id: Mapped[int] = mapped_column(ForeignKey("rma.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    actor_name: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)

    rma: Mapped[Rma] = relationship(back_populates="transitions")
