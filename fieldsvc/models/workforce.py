"""Skills, technicians, their shift patterns, absences and certifications."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldsvc.dates import configured_zone_name
from fieldsvc.models.base import Base, TimestampMixin

if TYPE_CHECKING:
    from fieldsvc.models.inventory import Warehouse


class Skill(TimestampMixin, Base):
    __tablename__ = "skill"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Technician(TimestampMixin, Base):
    __tablename__ = "technician"
    __table_args__ = (
        CheckConstraint("home_latitude BETWEEN -90 AND 90", name="latitude"),
        CheckConstraint("home_longitude BETWEEN -180 AND 180", name="longitude"),
        CheckConstraint("max_work_minutes > 0", name="max_work"),
        CheckConstraint("overtime_limit_minutes >= 0", name="overtime"),
        CheckConstraint("break_minutes >= 0", name="break"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    territory: Mapped[str | None] = mapped_column(String(80), index=True)
    home_address: Mapped[str | None] = mapped_column(String(400))
    home_latitude: Mapped[float]
    home_longitude: Mapped[float]
    timezone: Mapped[str] = mapped_column(String(64), default=configured_zone_name)
    # One unpaid break a day of break_minutes, taken between the two local times.
    break_minutes: Mapped[int] = mapped_column(default=30)
    break_window_start: Mapped[time | None] = mapped_column(default=time(12, 0))
    break_window_end: Mapped[time | None] = mapped_column(default=time(14, 0))
    max_work_minutes: Mapped[int] = mapped_column(default=480)
    overtime_limit_minutes: Mapped[int] = mapped_column(default=60)
    van_warehouse_id: Mapped[int | None] = mapped_column(
        ForeignKey("warehouse.id"), unique=True
    )
    active: Mapped[bool] = mapped_column(default=True)

    skills: Mapped[list[TechnicianSkill]] = relationship(
        back_populates="technician", cascade="all, delete-orphan"
    )
    shifts: Mapped[list[Shift]] = relationship(
        back_populates="technician", cascade="all, delete-orphan", order_by="Shift.weekday"
    )
    absences: Mapped[list[Absence]] = relationship(
        back_populates="technician", cascade="all, delete-orphan", order_by="Absence.starts_at"
    )
    certifications: Mapped[list[Certification]] = relationship(
        back_populates="technician", cascade="all, delete-orphan"
    )
    van: Mapped[Warehouse | None] = relationship(foreign_keys=[van_warehouse_id])


class TechnicianSkill(Base):
    __tablename__ = "technician_skill"
    __table_args__ = (
        UniqueConstraint("technician_id", "skill_id"),
        CheckConstraint("level BETWEEN 1 AND 5", name="level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("technician.id"), index=True)
    skill_id: Mapped[int] = mapped_column(ForeignKey("skill.id"), index=True)
    level: Mapped[int]

    technician: Mapped[Technician] = relationship(back_populates="skills")
    skill: Mapped[Skill] = relationship()


class Shift(Base):
    """Weekly shift pattern: one working window per weekday (Monday=0), local time."""

    __tablename__ = "shift"
    __table_args__ = (
        UniqueConstraint("technician_id", "weekday"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint("end_time > start_time", name="order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("technician.id"), index=True)
    weekday: Mapped[int]
    start_time: Mapped[time]
    end_time: Mapped[time]

    technician: Mapped[Technician] = relationship(back_populates="shifts")


class Absence(Base):
    __tablename__ = "absence"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="order"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("technician.id"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    reason: Mapped[str | None] = mapped_column(String(200))

    technician: Mapped[Technician] = relationship(back_populates="absences")


class Certification(Base):
    __tablename__ = "certification"
    __table_args__ = (
        CheckConstraint("expires_on IS NULL OR expires_on >= issued_on", name="order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("technician.id"), index=True)
    skill_id: Mapped[int | None] = mapped_column(ForeignKey("skill.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    issued_on: Mapped[date]
    expires_on: Mapped[date | None]

    technician: Mapped[Technician] = relationship(back_populates="certifications")
