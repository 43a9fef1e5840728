"""Catalog products, installed assets and their meter readings."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldsvc.models.base import Base, TimestampMixin, str_enum, utcnow
from fieldsvc.models.enums import ProductKind

if TYPE_CHECKING:
    from fieldsvc.models.customer import Customer, Site
    from fieldsvc.models.workforce import Skill


class Product(TimestampMixin, Base):
    __tablename__ = "product"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[ProductKind] = mapped_column(str_enum(ProductKind, "product_kind"))
    manufacturer: Mapped[str | None] = mapped_column(String(120))
    warranty_months: Mapped[int | None]
    meter_unit: Mapped[str | None] = mapped_column(String(20))

    # What a technician must know to service the product; a work order opened on one of
    # its units without a skill list of its own takes these.
    skills: Mapped[list[ProductSkill]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="ProductSkill.skill_id"
    )


class ProductSkill(Base):
    """A skill, with its minimum level, that servicing the product needs."""

    __tablename__ = "product_skill"
    __table_args__ = (
        UniqueConstraint("product_id", "skill_id"),
        CheckConstraint("min_level BETWEEN 1 AND 5", name="level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    skill_id: Mapped[int] = mapped_column(ForeignKey("skill.id"), index=True)
    min_level: Mapped[int] = mapped_column(default=1)

    product: Mapped[Product] = relationship(back_populates="skills")
    skill: Mapped[Skill] = relationship()


class Asset(TimestampMixin, Base):
    __tablename__ = "asset"
    __table_args__ = (
        CheckConstraint("serial_number IS NOT NULL OR vin IS NOT NULL", name="identified"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"), index=True)
    serial_number: Mapped[str | None] = mapped_column(String(80), unique=True)
    vin: Mapped[str | None] = mapped_column(String(17), unique=True)
    install_date: Mapped[date | None]
    warranty_end: Mapped[date | None]
    notes: Mapped[str | None] = mapped_column(Text)

    product: Mapped[Product] = relationship()
    customer: Mapped[Customer] = relationship(back_populates="assets")
    site: Mapped[Site | None] = relationship()
    # Read-only: the links are written as AssetContract rows by the contract service; lists
    # load them for every asset of a page in one query (selectinload).
    contract_links: Mapped[list[AssetContract]] = relationship(
        viewonly=True, order_by="AssetContract.contract_id")
    readings: Mapped[list[MeterReading]] = relationship(
        back_populates="asset", order_by="MeterReading.read_at"
    )


class MeterReading(Base):
    __tablename__ = "meter_reading"
    __table_args__ = (CheckConstraint("value >= 0", name="non_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id"), index=True)
    read_at: Mapped[datetime] = mapped_column(default=utcnow)
    value: Mapped[float]
    unit: Mapped[str] = mapped_column(String(20))
    source: Mapped[str | None] = mapped_column(String(40))

    asset: Mapped[Asset] = relationship(back_populates="readings")


class AssetContract(Base):
    """Which assets a service contract covers."""

    __tablename__ = "asset_contract"
    __table_args__ = (UniqueConstraint("asset_id", "contract_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id"), index=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("service_contract.id"), index=True)
