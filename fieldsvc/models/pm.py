"""Preventive maintenance plans: calendar (RRULE) or meter-based."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldsvc.dates import configured_zone_name
from fieldsvc.models.base import Base, TimestampMixin

if TYPE_CHECKING:
    from fieldsvc.models.inventory import Part
    from fieldsvc.models.product import Asset
    from fieldsvc.models.workforce import Skill


class PmPlan(TimestampMixin, Base):
    __tablename__ = "pm_plan"
    __table_args__ = (
        CheckConstraint(
            "(rrule IS NOT NULL AND meter_interval IS NULL)"
            " OR (rrule IS NULL AND meter_interval IS NOT NULL)",
            name="one_trigger",
        ),
        CheckConstraint("meter_interval IS NULL OR meter_interval > 0", name="interval"),
        CheckConstraint("lead_days >= 0", name="lead"),
        CheckConstraint("estimated_minutes > 0", name="duration"),
        CheckConstraint("priority BETWEEN 1 AND 4", name="priority"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    # Calendar plans: an RFC 5545 RRULE evaluated from dtstart in the plan's time zone.
    rrule: Mapped[str | None] = mapped_column(String(500))
    dtstart: Mapped[datetime | None]
    timezone: Mapped[str] = mapped_column(String(64), default=configured_zone_name)
    # Meter plans: a work order each time the reading passes another interval.
    meter_interval: Mapped[float | None]
    meter_unit: Mapped[str | None] = mapped_column(String(20))
    lead_days: Mapped[int] = mapped_column(default=7)
    estimated_minutes: Mapped[int] = mapped_column(default=60)
    priority: Mapped[int] = mapped_column(default=4)
    checklist: Mapped[list | None]
    # Tools a technician brings to every visit of this plan (e.g. "torque wrench").
    tools: Mapped[list | None]
    active: Mapped[bool] = mapped_column(default=True, index=True)

    assets: Mapped[list[Asset]] = relationship(secondary="pm_plan_asset", order_by="Asset.id")
    skills: Mapped[list[PmPlanSkill]] = relationship(
        back_populates="plan", cascade="all, delete-orphan"
    )
    parts: Mapped[list[PmPlanPart]] = relationship(
        back_populates="plan", cascade="all, delete-orphan"
    )


class PmPlanAsset(Base):
    __tablename__ = "pm_plan_asset"
    __table_args__ = (UniqueConstraint("pm_plan_id", "asset_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pm_plan_id: Mapped[int] = mapped_column(ForeignKey("pm_plan.id"), index=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id"), index=True)


class PmPlanSkill(Base):
    __tablename__ = "pm_plan_skill"
    __table_args__ = (
        UniqueConstraint("pm_plan_id", "skill_id"),
        CheckConstraint("min_level BETWEEN 1 AND 5", name="level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pm_plan_id: Mapped[int] = mapped_column(ForeignKey("pm_plan.id"), index=True)
    skill_id: Mapped[int] = mapped_column(ForeignKey("skill.id"), index=True)
    min_level: Mapped[int] = mapped_column(default=1)

    plan: Mapped[PmPlan] = relationship(back_populates="skills")
    skill: Mapped[Skill] = relationship()


class PmPlanPart(Base):
    __tablename__ = "pm_plan_part"
    __table_args__ = (
        UniqueConstraint("pm_plan_id", "part_id"),
        CheckConstraint("quantity > 0", name="quantity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pm_plan_id: Mapped[int] = mapped_column(ForeignKey("pm_plan.id"), index=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("part.id"), index=True)
    quantity: Mapped[int]

    plan: Mapped[PmPlan] = relationship(back_populates="parts")
    part: Mapped[Part] = relationship()
