"""What rma contributes to fieldsvc's pages through fieldsvc.hooks: the customer screen's
RMA section and the RMA failure codes of the recurring faults report."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fieldsvc.models import Asset
from rma.models import Rma


def customer_rmas(session: Session, customer_id: int, limit: int) -> list[Rma]:
    """The customer's RMAs, newest first."""
    return list(session.scalars(select(Rma).where(Rma.customer_id == customer_id)
                                .order_by(Rma.id.desc()).limit(limit)))


def rma_faults(session: Session, start_at: datetime, end_at: datetime
               ) -> Iterable[tuple[int, str, int]]:
    """(product_id, code, count) of RMAs opened in [start_at, end_at) on an asset: the code
    confirmed at inspection, else the one reported; RMAs with neither are left out."""
    code = func.coalesce(Rma.inspection_failure_code, Rma.failure_code)
    stmt = (select(Asset.product_id, code, func.count())
            .select_from(Rma)
            .join(Asset, Asset.id == Rma.asset_id)
            .where(code.is_not(None), Rma.created_at >= start_at, Rma.created_at < end_at)
            .group_by(Asset.product_id, code))
    return [(product_id, fault, n) for product_id, fault, n in session.execute(stmt)]
