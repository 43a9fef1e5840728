"""Report settings: the weights of the service index a manager sets."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from fieldsvc.models.base import Base, TimestampMixin


class ServiceIndexWeight(TimestampMixin, Base):
    """The weight (0–100) of one KPI in the service index; the rows sum to 100."""

    __tablename__ = "service_index_weight"
    __table_args__ = (CheckConstraint("weight BETWEEN 0 AND 100", name="weight"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    weight: Mapped[int]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
