"""Release planned work to technicians: a technician's scheduled day becomes dispatched.

Release is the dispatcher's "send it to the phone" step after publishing: every `scheduled`
work order of that technician starting on that local day moves to `dispatched` through the
status machine (so each move is validated and recorded). Releasing twice is harmless: the
second time there is nothing scheduled left.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

import scheduler
from fieldsvc.context import Actor
from fieldsvc.models import OptimizationRun, Technician, WorkOrder
from fieldsvc.models.enums import WorkOrderStatus
from fieldsvc.problems import Conflict
from fieldsvc.services import work_orders as wo_service


@dataclass
class ReleaseReport:
    released: list[int] = field(default_factory=list)  # work orders now dispatched
    technician_days: list[dict] = field(default_factory=list)  # [{technician_id, date, count}]


def local_day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day, as aware datetimes."""
    tz = ZoneInfo(timezone)
    start = datetime.combine(day, time(0), tzinfo=tz)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)


def release_technician_day(session: Session, technician: Technician, day: date,
                           timezone: str, actor: Actor,
                           report: ReleaseReport | None = None) -> ReleaseReport:
    """Dispatch `technician`'s scheduled work orders starting on local `day`, in start order."""
    report = report or ReleaseReport()
    if not technician.active:
        raise Conflict(f"Technician {technician.id} is not active; nothing can be released "
                       "to them.")
    start, end = local_day_bounds(day, timezone)
    orders = session.scalars(
        select(WorkOrder)
        .where(WorkOrder.technician_id == technician.id,
               WorkOrder.status == WorkOrderStatus.SCHEDULED,
               WorkOrder.scheduled_start_at >= start, WorkOrder.scheduled_start_at < end)
        .order_by(WorkOrder.scheduled_start_at, WorkOrder.id)
    ).all()
    for wo in orders:
        wo_service.transition(session, wo, WorkOrderStatus.DISPATCHED, actor,
                              reason=f"released for {day.isoformat()}")
        report.released.append(wo.id)
    report.technician_days.append({"technician_id": technician.id, "date": day,
                                   "count": len(orders)})
    return report


def release_run(session: Session, run: OptimizationRun, timezone: str,
                actor: Actor) -> ReleaseReport:
    """Release every technician-day of a published run's plan."""
    if run.published_at is None:
        raise Conflict(f"Run {run.id} is not published; publish it before releasing it.")
    plan = scheduler.Plan.from_dict(run.result["plan"])
    origin = datetime.fromisoformat(run.result["origin"])
    days = sorted({(int(r.technician_id), r.day) for r in plan.routes if r.job_ids()})
    ids = sorted({tech for tech, _ in days})
    techs = {t.id: t for t in session.scalars(select(Technician).where(Technician.id.in_(ids)))}
    report = ReleaseReport()
    for tech_id, index in days:
        tech = techs.get(tech_id)
        if tech is None or not tech.active:
            continue  # removed or deactivated since the run: its work stays scheduled
        release_technician_day(session, tech, (origin + timedelta(days=index)).date(),
                               timezone, actor, report)
    return report
