"""Customers and their sites."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldsvc.models.base import Base, TimestampMixin, str_enum
from fieldsvc.models.enums import CustomerTier

if TYPE_CHECKING:
    from fieldsvc.models.product import Asset


class Customer(TimestampMixin, Base):
    __tablename__ = "customer"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    tier: Mapped[CustomerTier] = mapped_column(
        str_enum(CustomerTier, "customer_tier"), default=CustomerTier.STANDARD
    )
    contact_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    # Digits only, national significant number: what caller ID lookups match on.
    phone_key: Mapped[str | None] = mapped_column(String(20), index=True)
    mobile: Mapped[str | None] = mapped_column(String(40))
    mobile_key: Mapped[str | None] = mapped_column(String(20), index=True)
    region: Mapped[str | None] = mapped_column(String(80), index=True)
    consent_marketing: Mapped[bool] = mapped_column(default=False)
    consent_at: Mapped[datetime | None]
    notes: Mapped[str | None] = mapped_column(Text)
    erased_at: Mapped[datetime | None]
    # Language of messages sent to the customer (fa, en); empty: NOTIFY_DEFAULT_LANGUAGE.
    language: Mapped[str | None] = mapped_column(String(8))
    # Set when the customer asked for no service messages (e-mail, SMS) at all.
    notifications_opt_out: Mapped[bool] = mapped_column(default=False, server_default=false())

    sites: Mapped[list[Site]] = relationship(back_populates="customer", order_by="Site.id")
    assets: Mapped[list[Asset]] = relationship(back_populates="customer", order_by="Asset.id")


class Site(TimestampMixin, Base):
    __tablename__ = "site"
    __table_args__ = (
        CheckConstraint("latitude IS NULL OR (latitude BETWEEN -90 AND 90)", name="latitude"),
        CheckConstraint(
            "longitude IS NULL OR (longitude BETWEEN -180 AND 180)", name="longitude"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(400))
    city: Mapped[str | None] = mapped_column(String(120))
    region: Mapped[str | None] = mapped_column(String(80), index=True)
    territory: Mapped[str | None] = mapped_column(String(80), index=True)
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    # {"mon": ["08:00", "17:00"], ...}; a missing day means closed.
    access_hours: Mapped[dict[str, Any] | None]
    notes: Mapped[str | None] = mapped_column(Text)
    # IANA zone of the site's local day (deadlines the customer keeps); None: the
    # deployment's zone (FIELDSVC_TIMEZONE).
    timezone: Mapped[str | None] = mapped_column(String(64))

    customer: Mapped[Customer] = relationship(back_populates="sites")
