"""Parts, warehouses (vans included), stock levels and the stock movement ledger."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldsvc.models.base import Base, TimestampMixin, str_enum, utcnow
from fieldsvc.models.enums import MovementKind, WarehouseKind


class Part(TimestampMixin, Base):
    __tablename__ = "part"
    __table_args__ = (CheckConstraint("unit_cost IS NULL OR unit_cost >= 0", name="cost"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit_cost: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    serialized: Mapped[bool] = mapped_column(default=False)


class Warehouse(TimestampMixin, Base):
    __tablename__ = "warehouse"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[WarehouseKind] = mapped_column(str_enum(WarehouseKind, "warehouse_kind"))
    region: Mapped[str | None] = mapped_column(String(80))
    address: Mapped[str | None] = mapped_column(String(400))
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]


class StockLevel(Base):
    """On hand and reserved quantity of one part in one warehouse.

    Changed only by `fieldsvc.services.stock`, which writes a movement for every change.
    """

    __tablename__ = "stock_level"
    __table_args__ = (
        UniqueConstraint("warehouse_id", "part_id"),
        CheckConstraint("on_hand >= 0", name="on_hand"),
        CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="reserved"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouse.id"), index=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("part.id"), index=True)
    on_hand: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)

    warehouse: Mapped[Warehouse] = relationship()
    part: Mapped[Part] = relationship()

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class StockMovement(Base):
    """One line of the stock ledger; never updated or deleted."""

    __tablename__ = "stock_movement"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint(
            "from_warehouse_id IS NOT NULL OR to_warehouse_id IS NOT NULL", name="place"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[MovementKind] = mapped_column(str_enum(MovementKind, "movement_kind"))
    part_id: Mapped[int] = mapped_column(ForeignKey("part.id"), index=True)
    quantity: Mapped[int]
    from_warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse.id"), index=True)
    to_warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse.id"), index=True)
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_order.id"), index=True)
    rma_id: Mapped[int | None] = mapped_column(ForeignKey("rma.id"), index=True)
    serial_number: Mapped[str | None] = mapped_column(String(80))
    note: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    part: Mapped[Part] = relationship()
