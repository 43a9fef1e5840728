"""Hand assignment under the optimizer's rules.

Before a work order is put on a technician at a start by hand (the board's assign-and-pin,
a drag, the API's PATCH or transition to scheduled), the technician's day is described to
the scheduler as it would be afterwards and ``scheduler.placement`` names the rules it would
break. A dispatcher may still go ahead with an explicit reason; the override and the broken
rules are written to the audit log beside the change.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

import scheduler
from fieldsvc.context import Actor
from fieldsvc.dispatch.snapshot import _stock, _technician, job_of
from fieldsvc.models import Technician, TechnicianSkill, WorkOrder, WorkOrderPart, WorkOrderSkill
from fieldsvc.models.audit import AuditEntry
from fieldsvc.models.base import utcnow
from fieldsvc.models.enums import WorkOrderStatus
from fieldsvc.problems import Conflict
from scheduler.placement import check_placement

S = WorkOrderStatus
# The statuses whose work occupies a technician's day at its scheduled start.
OCCUPYING = (S.SCHEDULED, S.DISPATCHED, S.EN_ROUTE, S.ON_SITE)
OVERRIDE = "assignment_override"


TEXTS = {
    "time_window": "The start is outside the work order's time windows.",
    "skill": "The technician lacks the skills or levels the work order needs.",
    "shift_start": "The technician would have to leave before the shift starts.",
    "shift_end": "The technician would come back after the shift end and the allowed "
                 "overtime.",
    "max_work": "The day would be longer than the technician's maximum working time.",
    "no_shift": "The technician has no shift that day.",
    "absent": "The technician is absent that day.",
    "absence_during_service": "The visit overlaps the technician's absence.",
    "overlap": "The visit overlaps the technician's other jobs.",
    "arrival": "The visit overlaps the technician's other jobs.",
    "travel_time": "There is not enough time to drive between the visits.",
    "break_count": "The technician's break no longer fits in the day.",
    "break_window": "The technician's break no longer fits in its window.",
    "break_during_service": "The visit runs into the technician's break.",
    "no_schedule": "No order of visits and breaks keeps every start of the day.",
    "parts": "The technician's van does not carry the parts the job needs.",
    "capacity": "The van is full.",
}


def _detail(broken: scheduler.placement.Broken, job: scheduler.Job, origin: datetime) -> str:
    """The facts behind a broken rule: the windows, the skills, else the rule's own words."""
    if broken.code == "time_window" and broken.job_id == job.id:
        return ", ".join(
            f"{(origin + timedelta(seconds=w.start)).strftime('%Y-%m-%d %H:%M')}–"
            f"{(origin + timedelta(seconds=w.end)).strftime('%H:%M')}"
            for w in job.time_windows)
    if broken.code == "skill" and broken.job_id == job.id:
        return ", ".join(f"{k} ≥ {v}" for k, v in sorted(job.required_skills.items()))
    return broken.message


def hand_check(session: Session, wo: WorkOrder, technician_id: int, start: datetime,
               timezone: str) -> list[dict[str, Any]]:
    """The rules broken by doing `wo` on `technician_id` from `start` (empty: none).

    The technician's other work of that local day stays at its scheduled starts.
    """
    tz = ZoneInfo(timezone)
    day = start.astimezone(tz).date()
    origin = datetime.combine(day, time(0), tzinfo=tz)
    horizon_end = origin + timedelta(days=1)
    tech = session.scalar(
        select(Technician).where(Technician.id == technician_id)
        .options(selectinload(Technician.skills).selectinload(TechnicianSkill.skill),
                 selectinload(Technician.shifts), selectinload(Technician.absences)))
    if tech is None:
        return []  # the service refuses unknown technicians with its own message
    stock = _stock(session, [tech.van_warehouse_id] if tech.van_warehouse_id else [])
    others = session.scalars(
        select(WorkOrder)
        .where(WorkOrder.technician_id == technician_id, WorkOrder.id != wo.id,
               WorkOrder.status.in_(OCCUPYING), WorkOrder.scheduled_start_at >= origin,
               WorkOrder.scheduled_start_at < horizon_end)
        .options(selectinload(WorkOrder.site), selectinload(WorkOrder.time_windows),
                 selectinload(WorkOrder.skills).selectinload(WorkOrderSkill.skill),
                 selectinload(WorkOrder.parts).selectinload(WorkOrderPart.part))).all()
    horizon_s = int((horizon_end - origin).total_seconds())
    jobs: list[scheduler.Job] = []
    starts: dict[str, int] = {}
    for other in others:
        job = job_of(other, origin, horizon_s, None, clip=False)
        if isinstance(job, scheduler.Job) and other.scheduled_start_at is not None:
            jobs.append(job)
            starts[job.id] = int((other.scheduled_start_at - origin).total_seconds())
    mine = job_of(wo, origin, horizon_s, None, clip=False)
    if not isinstance(mine, scheduler.Job):
        raise Conflict(mine or f"Work order {wo.id} cannot be planned.")
    jobs.append(mine)
    # Parts are left out: a van without them picks them up at a warehouse on the way (the
    # optimizer plans that stop; a hand placement leaves it to the reservation of the parts).
    jobs = [replace(j, parts={}) for j in jobs]
    at = int((start - origin).total_seconds())
    problem = scheduler.Problem(
        origin=origin, jobs=jobs, days=1,
        technicians=[_technician(tech, origin, tz, [day],
                                 stock.get(tech.van_warehouse_id, {}) if tech.van_warehouse_id
                                 else {})])
    broken = check_placement(problem, str(tech.id), 0, mine.id, at, starts)
    return [{"rule": b.rule, "code": b.code,
             "work_order_id": int(b.job_id) if b.job_id else None,
             "message": TEXTS.get(b.code, b.message), "detail": _detail(b, mine, origin)}
            for b in broken]


def enforce(session: Session, wo: WorkOrder, technician_id: int, start: datetime,
            actor: Actor, *, timezone: str, override_reason: str | None = None) -> None:
    """Refuse the hand assignment (409 with the broken rules) unless a reason overrides them;
    an override is written to the audit log with the rules it broke."""
    broken = hand_check(session, wo, technician_id, start, timezone)
    if not broken:
        return
    reason = (override_reason or "").strip()
    if not reason:
        raise Conflict(
            f"Work order {wo.id} cannot go to technician {technician_id} at "
            f"{start.astimezone(ZoneInfo(timezone)).strftime('%Y-%m-%d %H:%M')}: "
            + " ".join(f"{b['message']} ({b['detail']})" for b in broken)
            + " Give an override reason to assign it anyway.",
            violations=broken)
    session.add(AuditEntry(
        at=utcnow(), actor_id=actor.id, actor_name=actor.name, source=actor.source,
        action=OVERRIDE, entity_type="work_order", entity_id=str(wo.id),
        changes={"reason": [None, reason],
                 "technician_id": [None, technician_id],
                 "scheduled_start_at": [None, start.isoformat()],
                 "broken_rules": [None, [b["message"] for b in broken]]}))
