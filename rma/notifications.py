"""Reminding an advance-exchange customer to send the faulty unit back before its deadline."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldsvc.dates import today_in, zone_of
from fieldsvc.models import Customer
from fieldsvc.models.enums import RmaStatus
from fieldsvc.notify.service import queue
from rma.models import Rma
from rma.services import _zone_column


def queue_return_reminders(
    session: Session, *, now: datetime, days: int, default_zone: str | None = None
) -> list[int]:
    """Queue one reminder per RMA whose replacement is out and whose deadline (a day of the
    customer's site) is at most `days` local days away; ids of the RMAs reminded."""
    reminded = []
    rows = session.execute(
        select(Rma, _zone_column()).where(
            Rma.status == RmaStatus.REPLACEMENT_SHIPPED,
            Rma.overdue_flagged_at.is_(None),
            Rma.return_deadline.is_not(None),
        )
    ).all()
    for rma, zone_name in rows:
        zone = zone_of(zone_name, default=default_zone)
        today = today_in(zone, now)
        if not today <= rma.return_deadline <= today + timedelta(days=days):
            continue
        values = {
            "number": rma.number,
            "serial": rma.defective_serial or rma.number,
            "deadline": rma.return_deadline.isoformat(),
        }
        queued = queue(
            session,
            session.get(Customer, rma.customer_id),
            "return_reminder",
            values,
            zone=zone,
            now=now,
            dedupe_key=f"rma:{rma.id}:return_reminder:{rma.return_deadline}",
            work_order_id=rma.work_order_id,
        )
        if queued:
            reminded.append(rma.id)
    return reminded
