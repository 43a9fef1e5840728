"""The technician's day and jobs, read in a fixed number of queries (no N+1).

`build_jobs` takes the work orders to show and loads everything a first-visit fix needs
for all of them at once: one query per kind of thing (parts, windows, van stock, required
skills, asset history, open tickets, RMAs, recalls, notes, attachments, the plan's
pick-ups), whatever the number of jobs.

The day lists the route as `stops` in order: each job, and before a job whose parts are
not on the van the warehouse pick-up the published plan put there (`mobile_api.pickups`).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from functools import cache
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Date,
    Integer,
    String,
    bindparam,
    cast,
    func,
    literal,
    null,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from fieldsvc.models import (
    Asset,
    Customer,
    Part,
    PmPlan,
    Product,
    Site,
    Skill,
    StockLevel,
    Technician,
    Ticket,
    Warehouse,
    WorkOrder,
    WorkOrderPart,
    WorkOrderSkill,
    WorkOrderWindow,
)
from fieldsvc.models.base import UTCDateTime
from fieldsvc.models.enums import AppointmentStatus, RmaStatus, TicketStatus
from fieldsvc.models.enums import WorkOrderStatus as S
from fieldsvc.problems import Forbidden
from fieldsvc.recall.models import RecallAppointment, RecallCampaign
from fieldsvc.services.work_orders import TRANSITIONS
from mobile_api.models import Attachment, JobChange, JobReport
from mobile_api.pickups import Pickup, PlanCache, local_day, planned_pickups
from rma.models import Rma

HISTORY_LENGTH = 5
# What a technician may move a job to (the rest is the dispatcher's).
TECHNICIAN_TARGETS = frozenset({S.EN_ROUTE, S.ON_SITE, S.COMPLETED, S.ON_HOLD,
                                S.CANNOT_COMPLETE})
# On the day's route: everything planned for the technician except unplanned/cancelled.
ON_ROUTE = (S.SCHEDULED, S.DISPATCHED, S.EN_ROUTE, S.ON_SITE, S.ON_HOLD, S.COMPLETED,
            S.CANNOT_COMPLETE)
OPEN_TICKET = (TicketStatus.OPEN, TicketStatus.IN_PROGRESS)
CLOSED_RMA = (RmaStatus.CLOSED, RmaStatus.REJECTED, RmaStatus.CANCELLED)
OPEN_RECALL = (AppointmentStatus.INVITED, AppointmentStatus.BOOKED)


def _iso(value: datetime | date | time | None) -> str | None:
    return value.isoformat() if value is not None else None


def etag(work_order: WorkOrder | int) -> str:
    version = work_order if isinstance(work_order, int) else work_order.version
    return f'"{version}"'


def day_bounds(technician: Technician, day: date) -> tuple[datetime, datetime]:
    """The technician's local day as UTC instants [start, end)."""
    tz = ZoneInfo(technician.timezone)
    return (datetime.combine(day, time(0), tzinfo=tz),
            datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz))


def _minutes(a: datetime | None, b: datetime | None) -> int | None:
    if a is None or b is None:
        return None
    return max(0, round((b - a).total_seconds() / 60))


# The job query reads plain columns (no ORM instances: a day is built often) and hands
# each job's parts out as light records with the models' attribute names.
_ENTITIES = (
    ("wo", WorkOrder, ("id", "version", "status", "eta_at", "type", "priority", "summary",
                       "description", "scheduled_start_at", "scheduled_end_at",
                       "estimated_minutes", "response_due_at", "resolution_due_at",
                       "customer_id", "asset_id", "checklist", "started_at", "arrived_at",
                       "completed_at", "resolution", "resolution_code", "first_time_fix",
                       "hold_reason", "cannot_complete_reason")),
    ("customer", Customer, ("id", "name", "tier", "contact_name", "phone", "mobile",
                            "email")),
    ("site", Site, ("id", "name", "address", "city", "latitude", "longitude",
                    "access_hours", "notes")),
    ("asset", Asset, ("id", "serial_number", "vin", "install_date", "warranty_end",
                      "notes")),
    ("product", Product, ("id", "code", "name", "kind", "manufacturer")),
)


class _Record(SimpleNamespace):
    """One entity's columns of a job row, read like the model's attributes."""


def _split(row) -> tuple:
    """A job row as (work order, customer, site, asset | None, product | None, notes,
    labour minutes, tools of its preventive plan)."""
    out, i = [], 0
    for _, _, names in _ENTITIES:
        values = row[i:i + len(names)]
        i += len(names)
        # An outer-joined entity that is absent comes back as all NULL (ids are NOT NULL).
        out.append(_Record(**dict(zip(names, values, strict=True))) if values[0] is not None else None)
    return (*out, row[i], row[i + 1], row[i + 2])


@cache
def _job_select():
    columns = [getattr(model, name) for _, model, names in _ENTITIES for name in names]
    return (select(*columns, JobReport.notes, JobReport.labor_minutes, PmPlan.tools)
            .join(Customer, Customer.id == WorkOrder.customer_id)
            .join(Site, Site.id == WorkOrder.site_id)
            .outerjoin(Asset, Asset.id == WorkOrder.asset_id)
            .outerjoin(Product, Product.id == Asset.product_id)
            .outerjoin(JobReport, JobReport.work_order_id == WorkOrder.id)
            .outerjoin(PmPlan, PmPlan.id == WorkOrder.pm_plan_id))


@cache
def _day_stmt():
    return (_job_select().where(WorkOrder.technician_id == bindparam("technician_id"),
                                WorkOrder.scheduled_start_at >= bindparam("start"),
                                WorkOrder.scheduled_start_at < bindparam("end"),
                                WorkOrder.status.in_(ON_ROUTE))
            .order_by(WorkOrder.scheduled_start_at, WorkOrder.id))


@cache
def _jobs_stmt():
    return (_job_select().where(WorkOrder.id.in_(_IDS["wo_ids"]),
                                WorkOrder.technician_id == bindparam("technician_id"))
            .order_by(WorkOrder.scheduled_start_at, WorkOrder.id))


def day_rows(session: Session, technician: Technician, day: date) -> list:
    start, end = day_bounds(technician, day)
    return [_split(r) for r in session.execute(
        _day_stmt(), {"technician_id": technician.id, "start": start, "end": end})]


def job_rows(session: Session, technician_id: int, ids: list[int]) -> list:
    if not ids:
        return []
    return [_split(r) for r in session.execute(
        _jobs_stmt(), {"technician_id": technician_id, "wo_ids": list(ids)})]


def _grouped(rows, key) -> dict[Any, list]:
    out: dict[Any, list] = defaultdict(list)
    for row in rows:
        out[key(row)].append(row)
    return out


# The statements are built once; ids travel as expanding bind parameters.
_IDS = {name: bindparam(name, expanding=True) for name in ("wo_ids", "customer_ids",
                                                          "asset_ids")}


@cache
def _parts_stmt():
    on_van = (StockLevel.part_id == WorkOrderPart.part_id) & (
        StockLevel.warehouse_id == bindparam("van_id"))
    held_in = aliased(Warehouse)
    return (select(WorkOrderPart.work_order_id, WorkOrderPart.part_id, WorkOrderPart.quantity,
                   WorkOrderPart.reserved, WorkOrderPart.issued,
                   WorkOrderPart.reserved_warehouse_id, Part.sku, Part.name, Part.serialized,
                   func.coalesce(StockLevel.on_hand, 0).label("van_on_hand"),
                   func.coalesce(StockLevel.reserved, 0).label("van_reserved"),
                   held_in.code.label("reserved_code"), held_in.name.label("reserved_name"),
                   held_in.address.label("reserved_address"))
            .join(Part, Part.id == WorkOrderPart.part_id)
            .outerjoin(StockLevel, on_van)
            .outerjoin(held_in, held_in.id == WorkOrderPart.reserved_warehouse_id)
            .where(WorkOrderPart.work_order_id.in_(_IDS["wo_ids"]))
            .order_by(WorkOrderPart.work_order_id, WorkOrderPart.id))


@cache
def _skills_stmt():
    return (select(WorkOrderSkill.work_order_id, Skill.id, Skill.code, Skill.name,
                   WorkOrderSkill.min_level)
            .join(Skill, Skill.id == WorkOrderSkill.skill_id)
            .where(WorkOrderSkill.work_order_id.in_(_IDS["wo_ids"]))
            .order_by(WorkOrderSkill.work_order_id, Skill.code))


@cache
def _windows_and_attachments_stmt():
    return union_all(
        select(literal("w").label("src"), WorkOrderWindow.work_order_id,
               WorkOrderWindow.id, WorkOrderWindow.starts_at.label("t1"),
               WorkOrderWindow.ends_at.label("t2"), cast(null(), String).label("kind"),
               cast(null(), String).label("content_type"),
               cast(null(), Integer).label("size_bytes"),
               cast(null(), String).label("filename"))
        .where(WorkOrderWindow.work_order_id.in_(_IDS["wo_ids"])),
        select(literal("a"), Attachment.work_order_id, Attachment.id,
               Attachment.created_at, cast(null(), UTCDateTime()), Attachment.kind,
               Attachment.content_type, Attachment.size_bytes, Attachment.filename)
        .where(Attachment.work_order_id.in_(_IDS["wo_ids"])),
    ).subquery().select().order_by(text("src"), text("t1"), text("id"))


@cache
def _history_stmt():
    rank = func.row_number().over(partition_by=WorkOrder.asset_id,
                                  order_by=(WorkOrder.completed_at.desc(),
                                            WorkOrder.id.desc())).label("rank")
    sub = (select(WorkOrder.id, WorkOrder.asset_id, WorkOrder.type, WorkOrder.summary,
                  WorkOrder.completed_at, WorkOrder.resolution, WorkOrder.resolution_code,
                  WorkOrder.first_time_fix, WorkOrder.technician_id, rank)
           .where(WorkOrder.asset_id.in_(_IDS["asset_ids"]),
                  WorkOrder.status == S.COMPLETED)
           .subquery())
    return select(sub).where(sub.c.rank <= HISTORY_LENGTH).order_by(sub.c.asset_id,
                                                                     sub.c.rank)


@cache
def _customer_files_stmt():
    customers = _IDS["customer_ids"]
    return union_all(
        select(literal("t").label("src"), Ticket.customer_id, Ticket.id,
               Ticket.subject.label("label"), cast(Ticket.category, String).label("kind"),
               cast(Ticket.status, String).label("status"), Ticket.asset_id,
               Ticket.priority.label("number"), Ticket.created_at.label("at"),
               cast(null(), Date).label("day"))
        .where(Ticket.customer_id.in_(customers), Ticket.status.in_(OPEN_TICKET)),
        select(literal("r"), Rma.customer_id, Rma.id, Rma.number, cast(Rma.type, String),
               cast(Rma.status, String), Rma.asset_id, Rma.part_id,
               cast(null(), UTCDateTime()), Rma.return_deadline)
        .where(Rma.customer_id.in_(customers), Rma.status.not_in(CLOSED_RMA)),
        select(literal("c"), RecallAppointment.customer_id, RecallAppointment.id,
               RecallCampaign.code, RecallCampaign.title,
               cast(RecallAppointment.status, String), RecallAppointment.asset_id,
               RecallAppointment.dealership_id, cast(null(), UTCDateTime()),
               RecallAppointment.day)
        .join(RecallCampaign, RecallCampaign.id == RecallAppointment.campaign_id)
        .where(RecallAppointment.customer_id.in_(customers),
               RecallAppointment.status.in_(OPEN_RECALL)),
    ).subquery().select().order_by(text("src"), text("id"))


def build_jobs(session: Session, technician: Technician, rows: list,
               pickups: dict[int, Pickup] | None = None,
               plan_cache: PlanCache | None = None) -> list[dict[str, Any]]:
    """Full job documents for `day_rows`/`job_rows`; a fixed number of queries whatever
    their number. `pickups` receives the planned pick-ups found (job id -> pick-up);
    `plan_cache` keeps published plans between calls."""
    if not rows:
        return []
    wo_ids = [r[0].id for r in rows]
    customer_ids = sorted({r[0].customer_id for r in rows})
    asset_ids = sorted({r[0].asset_id for r in rows if r[0].asset_id is not None})
    van_id = technician.van_warehouse_id

    # Required parts with the van's stock of each (no van: no warehouse has id 0).
    parts_by_wo = _grouped(session.execute(
        _parts_stmt(), {"wo_ids": wo_ids, "van_id": van_id or 0}).all(),
        lambda r: r.work_order_id)
    skills = _grouped(session.execute(_skills_stmt(), {"wo_ids": wo_ids}).all(),
                      lambda r: r.work_order_id)

    # The plan's pick-ups: only jobs that list parts can have one.
    planned: dict[int, Pickup] = {}
    if parts_by_wo:
        by_day: dict[date, set[int]] = defaultdict(set)
        for r in rows:
            if r[0].id in parts_by_wo and r[0].scheduled_start_at is not None:
                by_day[local_day(technician, r[0].scheduled_start_at)].add(r[0].id)
        planned = planned_pickups(session, technician, by_day, van_id, plan_cache)
    if pickups is not None:
        pickups.update(planned)

    windows: dict[int, list] = defaultdict(list)
    attachments: dict[int, list] = defaultdict(list)
    for r in session.execute(_windows_and_attachments_stmt(), {"wo_ids": wo_ids}):
        (windows if r.src == "w" else attachments)[r.work_order_id].append(r)

    history: dict[int, list] = {}
    if asset_ids:
        history = _grouped(session.execute(_history_stmt(), {"asset_ids": asset_ids}).all(),
                           lambda r: r.asset_id)

    # The customer's open tickets, RMAs and recall appointments.
    tickets: dict[int, list] = defaultdict(list)
    rmas: dict[int, list] = defaultdict(list)
    recalls: dict[int, list] = defaultdict(list)
    for r in session.execute(_customer_files_stmt(), {"customer_ids": customer_ids}):
        {"t": tickets, "r": rmas, "c": recalls}[r.src][r.customer_id].append(r)
    for found in list(tickets.values()) + list(rmas.values()):
        found.reverse()  # newest first

    return [_job(row, parts_by_wo, van_id, windows, history, tickets, rmas, recalls,
                 attachments, skills, planned) for row in rows]


def _part(line, van_id: int | None, pickup: Pickup | None) -> dict[str, Any]:
    on_hand, reserved = line.van_on_hand, line.van_reserved
    held_here = line.reserved if van_id is not None and line.reserved_warehouse_id == van_id \
        else 0
    usable = on_hand - reserved + held_here
    still_needed = max(0, line.quantity - line.issued)
    on_van = van_id is not None and usable >= still_needed
    # Where the missing units come from: the plan's pick-up first, else the warehouse
    # holding them for this job.
    source = None
    if not on_van:
        planned = pickup is not None and any(p.part_id == line.part_id for p in pickup.parts)
        if planned:
            source = dict(pickup.warehouse)
        elif line.reserved and line.reserved_warehouse_id not in (None, van_id):
            source = {"id": line.reserved_warehouse_id, "code": line.reserved_code,
                      "name": line.reserved_name, "address": line.reserved_address}
    where = ("on the van" if on_van else f"pick up at {source['name']}" if source
             else "not on the van")
    return {
        "part_id": line.part_id, "sku": line.sku, "name": line.name,
        "serialized": line.serialized, "quantity": line.quantity, "issued": line.issued,
        "reserved": line.reserved, "still_needed": still_needed,
        "van_on_hand": on_hand, "van_available": on_hand - reserved,
        "on_van": on_van, "where": where, "pick_up_at": source,
    }


def _job(row, parts_by_wo, van_id, windows, history, tickets, rmas, recalls,
         attachments, skills, pickups) -> dict[str, Any]:
    wo, customer, site, asset, product, notes, labor_minutes, tools = row
    pickup = pickups.get(wo.id)
    asset_doc = None
    if asset is not None:
        asset_doc = {
            "id": asset.id, "serial_number": asset.serial_number, "vin": asset.vin,
            "install_date": _iso(asset.install_date), "warranty_end": _iso(asset.warranty_end),
            "notes": asset.notes,
            "product": {"id": product.id, "code": product.code, "name": product.name,
                        "kind": product.kind.value, "manufacturer": product.manufacturer}
            if product is not None else None,
            "history": [{"work_order_id": h.id, "type": h.type.value, "summary": h.summary,
                         "completed_at": _iso(h.completed_at), "resolution": h.resolution,
                         "resolution_code": h.resolution_code,
                         "first_time_fix": h.first_time_fix, "technician_id": h.technician_id}
                        for h in history.get(asset.id, []) if h.id != wo.id],
        }
    return {
        "id": wo.id,
        "version": wo.version,
        "status": wo.status.value,
        "eta": _iso(wo.eta_at or wo.scheduled_start_at),
        "type": wo.type.value,
        "priority": wo.priority,
        "summary": wo.summary,
        "problem": wo.description,
        "scheduled_start_at": _iso(wo.scheduled_start_at),
        "scheduled_end_at": _iso(wo.scheduled_end_at),
        "estimated_minutes": wo.estimated_minutes,
        "time_windows": [{"starts_at": _iso(w.t1), "ends_at": _iso(w.t2)}
                         for w in windows.get(wo.id, [])],
        "response_due_at": _iso(wo.response_due_at),
        "resolution_due_at": _iso(wo.resolution_due_at),
        "allowed_transitions": sorted(t.value for t in TRANSITIONS[wo.status]
                                      if t in TECHNICIAN_TARGETS),
        "customer": {"id": customer.id, "name": customer.name, "tier": customer.tier.value,
                     "contact_name": customer.contact_name, "phone": customer.phone,
                     "mobile": customer.mobile, "email": customer.email},
        "site": {"id": site.id, "name": site.name, "address": site.address,
                 "city": site.city, "latitude": site.latitude, "longitude": site.longitude,
                 "access_hours": site.access_hours, "notes": site.notes},
        "asset": asset_doc,
        "checklist": wo.checklist or [],
        "skills": [{"skill_id": k.id, "code": k.code, "name": k.name, "level": k.min_level}
                   for k in skills.get(wo.id, [])],
        "tools": list(tools or []),
        "parts": [_part(line, van_id, pickup) for line in parts_by_wo.get(wo.id, [])],
        "pickup": pickup.doc() if pickup is not None else None,
        "open_tickets": [{"id": t.id, "subject": t.label, "category": t.kind,
                          "status": t.status, "priority": t.number,
                          "asset_id": t.asset_id, "created_at": _iso(t.at)}
                         for t in tickets.get(wo.customer_id, [])],
        "rmas": [{"id": r.id, "number": r.label, "type": r.kind,
                  "status": r.status, "asset_id": r.asset_id, "part_id": r.number,
                  "return_deadline": _iso(r.day)}
                 for r in rmas.get(wo.customer_id, [])],
        "recalls": [{"id": a.id, "campaign_code": a.label, "campaign_title": a.kind,
                     "asset_id": a.asset_id, "status": a.status,
                     "day": _iso(a.day), "dealership_id": a.number}
                    for a in recalls.get(wo.customer_id, [])],
        "report": {"notes": notes, "labor_minutes": labor_minutes},
        "attachments": [{"id": a.id, "kind": a.kind, "content_type": a.content_type,
                         "size_bytes": a.size_bytes, "filename": a.filename,
                         "created_at": _iso(a.t1)}
                        for a in attachments.get(wo.id, [])],
        "times": {"started_at": _iso(wo.started_at), "arrived_at": _iso(wo.arrived_at),
                  "completed_at": _iso(wo.completed_at),
                  "travel_minutes": _minutes(wo.started_at, wo.arrived_at),
                  "on_site_minutes": _minutes(wo.arrived_at, wo.completed_at)},
        "resolution": wo.resolution,
        "resolution_code": wo.resolution_code,
        "first_time_fix": wo.first_time_fix,
        "hold_reason": wo.hold_reason,
        "cannot_complete_reason": wo.cannot_complete_reason,
    }


def technician_doc(technician: Technician) -> dict[str, Any]:
    return {"id": technician.id, "code": technician.code, "name": technician.name,
            "timezone": technician.timezone, "van_warehouse_id": technician.van_warehouse_id}


def latest_cursor(session: Session, technician_id: int) -> int:
    return session.scalar(select(func.coalesce(func.max(JobChange.id), 0))
                          .where(JobChange.technician_id == technician_id)) or 0


def technician_and_cursor(session: Session, technician_id: int) -> tuple[Technician, int]:
    """The technician and the current end of their change feed, in one query."""
    cursor = (select(func.coalesce(func.max(JobChange.id), 0))
              .where(JobChange.technician_id == technician_id).scalar_subquery())
    row = session.execute(select(Technician, cursor).where(Technician.id == technician_id)
                          ).first()
    if row is None or not row[0].active:
        raise Forbidden("Your technician record is inactive.")
    return row[0], row[1] or 0


def load_day(session: Session, technician_id: int, day: date,
             plan_cache: PlanCache | None = None) -> dict[str, Any]:
    """The technician's day: route with ETAs and everything each job needs."""
    technician, cursor = technician_and_cursor(session, technician_id)
    pickups: dict[int, Pickup] = {}
    jobs = build_jobs(session, technician, day_rows(session, technician, day), pickups,
                      plan_cache)
    return {"date": day.isoformat(), "technician": technician_doc(technician), "jobs": jobs,
            "stops": route_stops(jobs, pickups), "cursor": str(cursor)}


def route_stops(jobs: list[dict[str, Any]], pickups: dict[int, Pickup]) -> list[dict[str, Any]]:
    """The day's stops in order: each job, its pick-up (if planned) right before it."""
    stops = []
    for job in jobs:
        pickup = pickups.get(job["id"])
        if pickup is not None:
            stops.append(pickup.doc())
        stops.append({"kind": "job", "job_id": job["id"], "status": job["status"],
                      "eta": job["eta"], "start_at": job["scheduled_start_at"],
                      "end_at": job["scheduled_end_at"], "summary": job["summary"],
                      "address": job["site"]["address"]})
    return stops
