"""Recall campaigns, affected VINs, dealerships, their capacity and appointments."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldsvc.dates import configured_zone_name
from fieldsvc.models.base import Base, TimestampMixin, str_enum
from fieldsvc.models.enums import AppointmentStatus, CampaignStatus

if TYPE_CHECKING:
    from fieldsvc.models.product import Product


class RecallCampaign(TimestampMixin, Base):
    __tablename__ = "recall_campaign"
    __table_args__ = (CheckConstraint("remedy_minutes > 0", name="remedy"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[CampaignStatus] = mapped_column(
        str_enum(CampaignStatus, "campaign_status"), default=CampaignStatus.DRAFT
    )
    remedy_minutes: Mapped[int] = mapped_column(default=60)
    skill_id: Mapped[int | None] = mapped_column(ForeignKey("skill.id"), index=True)
    parts_available: Mapped[bool] = mapped_column(default=False)

    products: Mapped[list[Product]] = relationship(secondary="recall_campaign_product")
    phases: Mapped[list[CampaignPhase]] = relationship(
        back_populates="campaign", cascade="all, delete-orphan", order_by="CampaignPhase.sequence"
    )
    parts: Mapped[list[CampaignPart]] = relationship(
        back_populates="campaign", cascade="all, delete-orphan"
    )


class RecallCampaignProduct(Base):
    __tablename__ = "recall_campaign_product"
    __table_args__ = (UniqueConstraint("campaign_id", "product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("recall_campaign.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)


class CampaignPart(Base):
    __tablename__ = "campaign_part"
    __table_args__ = (
        UniqueConstraint("campaign_id", "part_id"),
        CheckConstraint("quantity > 0", name="quantity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("recall_campaign.id"), index=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("part.id"), index=True)
    quantity: Mapped[int] = mapped_column(default=1)

    campaign: Mapped[RecallCampaign] = relationship(back_populates="parts")


class CampaignPhase(Base):
    """Regions served in order: the capital first, then the provinces."""

    __tablename__ = "campaign_phase"
    __table_args__ = (UniqueConstraint("campaign_id", "region"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("recall_campaign.id"), index=True)
    sequence: Mapped[int]
    region: Mapped[str] = mapped_column(String(80))
    starts_on: Mapped[date]

    campaign: Mapped[RecallCampaign] = relationship(back_populates="phases")


class CampaignVin(Base):
    """One affected vehicle of a campaign (imported list)."""

    __tablename__ = "campaign_vin"
    __table_args__ = (UniqueConstraint("campaign_id", "vin"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("recall_campaign.id"), index=True)
    vin: Mapped[str] = mapped_column(String(17), index=True)
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("asset.id"), index=True)


class Dealership(TimestampMixin, Base):
    __tablename__ = "dealership"
    __table_args__ = (
        CheckConstraint("bays >= 0", name="bays"),
        CheckConstraint("closes_at > opens_at", name="hours"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(80), index=True)
    city: Mapped[str | None] = mapped_column(String(120))
    address: Mapped[str | None] = mapped_column(String(400))
    phone: Mapped[str | None] = mapped_column(String(40))
    latitude: Mapped[float]
    longitude: Mapped[float]
    timezone: Mapped[str] = mapped_column(String(64), default=configured_zone_name)
    # Bays usable for recall work, and the working hours during which they are.
    bays: Mapped[int] = mapped_column(default=1)
    opens_at: Mapped[time] = mapped_column(default=time(8, 0))
    closes_at: Mapped[time] = mapped_column(default=time(17, 0))
    # Working weekdays as digits, Monday=0. Iran's week: Saturday to Wednesday + Thursday.
    working_days: Mapped[str] = mapped_column(String(7), default="012356")

    holidays: Mapped[list[DealershipHoliday]] = relationship(
        back_populates="dealership", cascade="all, delete-orphan"
    )


class DealershipHoliday(Base):
    __tablename__ = "dealership_holiday"
    __table_args__ = (UniqueConstraint("dealership_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dealership_id: Mapped[int] = mapped_column(ForeignKey("dealership.id"), index=True)
    day: Mapped[date]
    name: Mapped[str | None] = mapped_column(String(120))

    dealership: Mapped[Dealership] = relationship(back_populates="holidays")


class DealershipDay(Base):
    """Capacity ledger: one row per pool of places of a dealership on a day.

    The row with no campaign is the day's **shared pool**, used by every campaign that has
    no reservation there; a row with a campaign is that campaign's **reservation**, used by
    it alone. The shared row's `capacity` is what is left of the day after the
    reservations (`reserved` records how many were carved out, so the day has
    `capacity + reserved` places). Its capacity follows bays × hours ÷ remedy duration
    unless overridden. Taking a place is one conditional UPDATE of one row, and the CHECK
    ``booked <= capacity`` backs it.
    """

    __tablename__ = "dealership_day"
    __table_args__ = (
        UniqueConstraint("dealership_id", "campaign_id", "day"),
        # NULLs are distinct in a unique constraint: one shared row per day needs its own.
        Index("uq_dealership_day_shared", "dealership_id", "day", unique=True,
              sqlite_where=text("campaign_id IS NULL"),
              postgresql_where=text("campaign_id IS NULL")),
        CheckConstraint("capacity >= 0", name="capacity"),
        CheckConstraint("booked >= 0 AND booked <= capacity", name="booked"),
        CheckConstraint("reserved >= 0 AND (campaign_id IS NULL OR reserved = 0)",
                        name="reserved"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dealership_id: Mapped[int] = mapped_column(ForeignKey("dealership.id"), index=True)
    # None: the shared pool; otherwise the campaign this reservation belongs to.
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("recall_campaign.id"),
                                                    index=True)
    day: Mapped[date]
    capacity: Mapped[int]
    booked: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)
    overridden: Mapped[bool] = mapped_column(default=False)


class RecallAppointment(TimestampMixin, Base):
    __tablename__ = "recall_appointment"
    __table_args__ = (UniqueConstraint("campaign_id", "vin"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("recall_campaign.id"), index=True)
    vin: Mapped[str] = mapped_column(String(17), index=True)
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("asset.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    dealership_id: Mapped[int | None] = mapped_column(ForeignKey("dealership.id"), index=True)
    day: Mapped[date | None] = mapped_column(index=True)
    slot: Mapped[time | None]
    status: Mapped[AppointmentStatus] = mapped_column(
        str_enum(AppointmentStatus, "appointment_status"),
        default=AppointmentStatus.INVITED,
        index=True,
    )
    invited_at: Mapped[datetime | None]
    booked_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_order.id"), index=True)
    # The ledger row whose place this appointment holds (kept after completion or no-show:
    # the bay was used that day); None when it holds none.
    pool_id: Mapped[int | None] = mapped_column(ForeignKey("dealership_day.id"), index=True)
    notes: Mapped[str | None] = mapped_column(Text)

    campaign: Mapped[RecallCampaign] = relationship()
    dealership: Mapped[Dealership | None] = relationship()
