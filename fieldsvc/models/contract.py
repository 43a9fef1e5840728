"""Service contracts and their SLA targets per priority."""

from __future__ import annotations

from datetime import date, time
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldsvc.dates import configured_zone_name
from fieldsvc.models.base import Base, TimestampMixin

if TYPE_CHECKING:
    from fieldsvc.models.customer import Customer
    from fieldsvc.models.product import Asset, AssetContract


class ServiceContract(TimestampMixin, Base):
    __tablename__ = "service_contract"
    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    # Coverage: weekdays as digits Monday=0 ("01234" = Mon–Fri) between two local times;
    # coverage_24x7 overrides both.
    coverage_24x7: Mapped[bool] = mapped_column(default=False)
    coverage_days: Mapped[str] = mapped_column(String(7), default="012345")
    coverage_start: Mapped[time] = mapped_column(default=time(8, 0))
    coverage_end: Mapped[time] = mapped_column(default=time(17, 0))
    timezone: Mapped[str] = mapped_column(String(64), default=configured_zone_name)
    pm_included: Mapped[bool] = mapped_column(default=False)

    customer: Mapped[Customer] = relationship()
    targets: Mapped[list[SlaTarget]] = relationship(
        back_populates="contract", cascade="all, delete-orphan", order_by="SlaTarget.priority"
    )
    assets: Mapped[list[Asset]] = relationship(secondary="asset_contract", viewonly=True)
    # Read-only, as above; lists load the links of a whole page in one query.
    asset_links: Mapped[list[AssetContract]] = relationship(
        viewonly=True, order_by="AssetContract.asset_id")


class SlaTarget(Base):
    __tablename__ = "sla_target"
    __table_args__ = (
        UniqueConstraint("contract_id", "priority"),
        CheckConstraint("priority BETWEEN 1 AND 4", name="priority"),
        CheckConstraint("response_minutes > 0 AND resolution_minutes > 0", name="positive"),
        CheckConstraint("resolution_minutes >= response_minutes", name="order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("service_contract.id"), index=True)
    priority: Mapped[int]
    response_minutes: Mapped[int]
    resolution_minutes: Mapped[int]

    contract: Mapped[ServiceContract] = relationship(back_populates="targets")
