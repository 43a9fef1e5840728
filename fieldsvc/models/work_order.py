"""Work orders, their requirements, time windows and status history."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldsvc.models.base import Base, TimestampMixin, str_enum, utcnow
from fieldsvc.models.enums import WorkOrderStatus, WorkOrderType

if TYPE_CHECKING:
    from fieldsvc.models.customer import Customer, Site
    from fieldsvc.models.inventory import Part
    from fieldsvc.models.product import Asset
    from fieldsvc.models.workforce import Skill, Technician


class WorkOrder(TimestampMixin, Base):
    __tablename__ = "work_order"
    __table_args__ = (
        CheckConstraint("priority BETWEEN 1 AND 4", name="priority"),
        CheckConstraint("estimated_minutes > 0", name="duration"),
        CheckConstraint(
            "scheduled_end_at IS NULL OR scheduled_end_at >= scheduled_start_at",
            name="schedule",
        ),
        # A preventive maintenance occurrence becomes exactly one work order.
        UniqueConstraint("pm_plan_id", "pm_due_on", "asset_id", name="uq_work_order_pm"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[WorkOrderType] = mapped_column(
        str_enum(WorkOrderType, "work_order_type"), index=True
    )
    status: Mapped[WorkOrderStatus] = mapped_column(
        str_enum(WorkOrderStatus, "work_order_status"), default=WorkOrderStatus.NEW, index=True
    )
    priority: Mapped[int] = mapped_column(default=3)
    summary: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("asset.id"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"), index=True)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("service_contract.id"), index=True)
    estimated_minutes: Mapped[int] = mapped_column(default=60)
    response_due_at: Mapped[datetime | None] = mapped_column(index=True)
    resolution_due_at: Mapped[datetime | None] = mapped_column(index=True)
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("technician.id"), index=True)
    scheduled_start_at: Mapped[datetime | None] = mapped_column(index=True)
    scheduled_end_at: Mapped[datetime | None]
    eta_at: Mapped[datetime | None]
    pinned: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[datetime | None]
    arrived_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(Text)
    resolution_code: Mapped[str | None] = mapped_column(String(60))
    first_time_fix: Mapped[bool | None]
    hold_reason: Mapped[str | None] = mapped_column(Text)
    cannot_complete_reason: Mapped[str | None] = mapped_column(Text)
    follow_up_of_id: Mapped[int | None] = mapped_column(ForeignKey("work_order.id"), index=True)
    checklist: Mapped[list | None]
    pm_plan_id: Mapped[int | None] = mapped_column(ForeignKey("pm_plan.id"), index=True)
    pm_due_on: Mapped[date | None]
    sla_flags: Mapped[dict[str, Any] | None]
    version: Mapped[int] = mapped_column(default=1)

    # Optimistic locking: every UPDATE checks and bumps the version (the ETag).
    __mapper_args__ = {"version_id_col": version}

    customer: Mapped[Customer] = relationship()
    site: Mapped[Site] = relationship()
    asset: Mapped[Asset | None] = relationship()
    technician: Mapped[Technician | None] = relationship()
    skills: Mapped[list[WorkOrderSkill]] = relationship(
        back_populates="work_order", cascade="all, delete-orphan"
    )
    parts: Mapped[list[WorkOrderPart]] = relationship(
        back_populates="work_order", cascade="all, delete-orphan"
    )
    time_windows: Mapped[list[WorkOrderWindow]] = relationship(
        back_populates="work_order", cascade="all, delete-orphan",
        order_by="WorkOrderWindow.starts_at",
    )
    transitions: Mapped[list[WorkOrderTransition]] = relationship(
        back_populates="work_order", order_by="WorkOrderTransition.id"
    )
    follow_up_of: Mapped[WorkOrder | None] = relationship(remote_side=[id])


class WorkOrderSkill(Base):
    __tablename__ = "work_order_skill"
    __table_args__ = (
        UniqueConstraint("work_order_id", "skill_id"),
        CheckConstraint("min_level BETWEEN 1 AND 5", name="level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id"), index=True)
    skill_id: Mapped[int] = mapped_column(ForeignKey("skill.id"), index=True)
    min_level: Mapped[int] = mapped_column(default=1)

    work_order: Mapped[WorkOrder] = relationship(back_populates="skills")
    skill: Mapped[Skill] = relationship()


class WorkOrderPart(Base):
    __tablename__ = "work_order_part"
    __table_args__ = (
        UniqueConstraint("work_order_id", "part_id"),
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("reserved >= 0 AND issued >= 0", name="progress"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id"), index=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("part.id"), index=True)
    quantity: Mapped[int]
    reserved: Mapped[int] = mapped_column(default=0)
    issued: Mapped[int] = mapped_column(default=0)
    reserved_warehouse_id: Mapped[int | None] = mapped_column(
        ForeignKey("warehouse.id"), index=True)

    work_order: Mapped[WorkOrder] = relationship(back_populates="parts")
    part: Mapped[Part] = relationship()


class WorkOrderWindow(Base):
    """A customer time window in which the visit may start."""

    __tablename__ = "work_order_window"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="order"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]

    work_order: Mapped[WorkOrder] = relationship(back_populates="time_windows")


class WorkOrderTransition(Base):
    """One status change: from, to, who, when and why. Never updated."""

    __tablename__ = "work_order_transition"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    actor_name: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]

    work_order: Mapped[WorkOrder] = relationship(back_populates="transitions")
