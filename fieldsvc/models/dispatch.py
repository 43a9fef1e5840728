"""Emergency insertion proposals: computed on request, accepted (or not) by a dispatcher."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from fieldsvc.models.base import Base, utcnow


class InsertionProposal(Base):
    """Where an emergency work order would go in the published plan, and what it moves.

    `proposal` holds the technician, start/end/ETA, ETA changes, displaced work orders, the
    versions of every affected work order (checked again on acceptance) and the new plan.
    """

    __tablename__ = "insertion_proposal"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id", ondelete="CASCADE"),
                                               index=True)
    # None for a slot offer on a day without a published plan (booking it assigns and pins).
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("optimization_run.id", ondelete="CASCADE"), index=True)
    plan_date: Mapped[date]
    technician_id: Mapped[int] = mapped_column(ForeignKey("technician.id"), index=True)
    proposal: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    accepted_at: Mapped[datetime | None] = mapped_column(index=True)
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
