"""The technician's day and jobs, read in a fixed number of queries (no N+1).

`build_jobs` takes the work orders to show and loads everything a first-visit fix needs
for all of them at once: one query per kind of thing (parts, windows, van stock, asset
history, open tickets, RMAs, recalls, notes, attachments), whatever the number of jobs.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fieldsvc.models import (
    Asset,
    Customer,
    Part,
    Product,
    RecallAppointment,
    RecallCampaign,
    Site,
    StockLevel,
    Technician,
    Ticket,
    WorkOrder,
    WorkOrderPart,
    WorkOrderWindow,
)
from fieldsvc.models.enums import AppointmentStatus, RmaStatus, TicketStatus
from fieldsvc.models.enums import WorkOrderStatus as S
from fieldsvc.models.mobile import Attachment, JobChange, JobReport
from fieldsvc.services.work_orders import TRANSITIONS
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


def _job_select():
    return (select(WorkOrder, Customer, Site, Asset, Product)
            .join(Customer, Customer.id == WorkOrder.customer_id)
            .join(Site, Site.id == WorkOrder.site_id)
            .outerjoin(Asset, Asset.id == WorkOrder.asset_id)
            .outerjoin(Product, Product.id == Asset.product_id))


def day_rows(session: Session, technician: Technician, day: date) -> list:
    start, end = day_bounds(technician, day)
    return session.execute(
        _job_select().where(WorkOrder.technician_id == technician.id,
                            WorkOrder.scheduled_start_at >= start,
                            WorkOrder.scheduled_start_at < end,
                            WorkOrder.status.in_(ON_ROUTE))
        .order_by(WorkOrder.scheduled_start_at, WorkOrder.id)).all()


def job_rows(session: Session, technician_id: int, ids: list[int]) -> list:
    if not ids:
        return []
    return session.execute(
        _job_select().where(WorkOrder.id.in_(ids), WorkOrder.technician_id == technician_id)
        .order_by(WorkOrder.scheduled_start_at, WorkOrder.id)).all()


def _grouped(rows, key) -> dict[Any, list]:
    out: dict[Any, list] = defaultdict(list)
    for row in rows:
        out[key(row)].append(row)
    return out


def build_jobs(session: Session, technician: Technician, rows: list) -> list[dict[str, Any]]:
    """Full job documents for `rows` of (WorkOrder, Customer, Site, Asset, Product)."""
    if not rows:
        return []
    wo_ids = [r[0].id for r in rows]
    customer_ids = sorted({r[0].customer_id for r in rows})
    asset_ids = sorted({r[0].asset_id for r in rows if r[0].asset_id is not None})

    part_rows = session.execute(
        select(WorkOrderPart.work_order_id, WorkOrderPart.part_id, WorkOrderPart.quantity,
               WorkOrderPart.reserved, WorkOrderPart.issued,
               WorkOrderPart.reserved_warehouse_id, Part.sku, Part.name, Part.serialized)
        .join(Part, Part.id == WorkOrderPart.part_id)
        .where(WorkOrderPart.work_order_id.in_(wo_ids))
        .order_by(WorkOrderPart.work_order_id, WorkOrderPart.id)).all()
    parts_by_wo = _grouped(part_rows, lambda r: r.work_order_id)

    van_id = technician.van_warehouse_id
    van: dict[int, tuple[int, int]] = {}
    part_ids = sorted({r.part_id for r in part_rows})
    if van_id is not None and part_ids:
        van = {r.part_id: (r.on_hand, r.reserved) for r in session.execute(
            select(StockLevel.part_id, StockLevel.on_hand, StockLevel.reserved)
            .where(StockLevel.warehouse_id == van_id, StockLevel.part_id.in_(part_ids)))}

    windows = _grouped(session.execute(
        select(WorkOrderWindow.work_order_id, WorkOrderWindow.starts_at, WorkOrderWindow.ends_at)
        .where(WorkOrderWindow.work_order_id.in_(wo_ids))
        .order_by(WorkOrderWindow.starts_at)).all(), lambda r: r.work_order_id)

    history: dict[int, list] = {}
    if asset_ids:
        rank = func.row_number().over(partition_by=WorkOrder.asset_id,
                                      order_by=(WorkOrder.completed_at.desc(),
                                                WorkOrder.id.desc())).label("rank")
        sub = (select(WorkOrder.id, WorkOrder.asset_id, WorkOrder.type, WorkOrder.summary,
                      WorkOrder.completed_at, WorkOrder.resolution, WorkOrder.resolution_code,
                      WorkOrder.first_time_fix, WorkOrder.technician_id, rank)
               .where(WorkOrder.asset_id.in_(asset_ids), WorkOrder.status == S.COMPLETED)
               .subquery())
        history = _grouped(session.execute(
            select(sub).where(sub.c.rank <= HISTORY_LENGTH)
            .order_by(sub.c.asset_id, sub.c.rank)).all(), lambda r: r.asset_id)

    tickets = _grouped(session.execute(
        select(Ticket.id, Ticket.customer_id, Ticket.subject, Ticket.category, Ticket.status,
               Ticket.priority, Ticket.asset_id, Ticket.created_at)
        .where(Ticket.customer_id.in_(customer_ids), Ticket.status.in_(OPEN_TICKET))
        .order_by(Ticket.created_at.desc())).all(), lambda r: r.customer_id)

    rmas = _grouped(session.execute(
        select(Rma.id, Rma.customer_id, Rma.number, Rma.type, Rma.status, Rma.asset_id,
               Rma.part_id, Rma.return_deadline)
        .where(Rma.customer_id.in_(customer_ids), Rma.status.not_in(CLOSED_RMA))
        .order_by(Rma.id.desc())).all(), lambda r: r.customer_id)

    recalls = _grouped(session.execute(
        select(RecallAppointment.id, RecallAppointment.customer_id, RecallAppointment.vin,
               RecallAppointment.asset_id, RecallAppointment.status, RecallAppointment.day,
               RecallAppointment.dealership_id, RecallCampaign.code, RecallCampaign.title)
        .join(RecallCampaign, RecallCampaign.id == RecallAppointment.campaign_id)
        .where(RecallAppointment.customer_id.in_(customer_ids),
               RecallAppointment.status.in_(OPEN_RECALL))
        .order_by(RecallAppointment.id)).all(), lambda r: r.customer_id)

    reports = {r.work_order_id: r for r in session.execute(
        select(JobReport.work_order_id, JobReport.notes, JobReport.labor_minutes,
               JobReport.updated_at).where(JobReport.work_order_id.in_(wo_ids)))}

    attachments = _grouped(session.execute(
        select(Attachment.id, Attachment.work_order_id, Attachment.kind,
               Attachment.content_type, Attachment.size_bytes, Attachment.filename,
               Attachment.created_at)
        .where(Attachment.work_order_id.in_(wo_ids)).order_by(Attachment.id)).all(),
        lambda r: r.work_order_id)

    return [_job(row, parts_by_wo, van_id, van, windows, history, tickets, rmas, recalls,
                 reports, attachments) for row in rows]


def _part(line, van_id: int | None, van: dict[int, tuple[int, int]]) -> dict[str, Any]:
    on_hand, reserved = van.get(line.part_id, (0, 0))
    held_here = line.reserved if van_id is not None and line.reserved_warehouse_id == van_id \
        else 0
    usable = on_hand - reserved + held_here
    still_needed = max(0, line.quantity - line.issued)
    return {
        "part_id": line.part_id, "sku": line.sku, "name": line.name,
        "serialized": line.serialized, "quantity": line.quantity, "issued": line.issued,
        "reserved": line.reserved, "still_needed": still_needed,
        "van_on_hand": on_hand, "van_available": on_hand - reserved,
        "on_van": van_id is not None and usable >= still_needed,
    }


def _job(row, parts_by_wo, van_id, van, windows, history, tickets, rmas, recalls, reports,
         attachments) -> dict[str, Any]:
    wo, customer, site, asset, product = row
    report = reports.get(wo.id)
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
        "time_windows": [{"starts_at": _iso(w.starts_at), "ends_at": _iso(w.ends_at)}
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
        "parts": [_part(line, van_id, van) for line in parts_by_wo.get(wo.id, [])],
        "open_tickets": [{"id": t.id, "subject": t.subject, "category": t.category.value,
                          "status": t.status.value, "priority": t.priority,
                          "asset_id": t.asset_id, "created_at": _iso(t.created_at)}
                         for t in tickets.get(wo.customer_id, [])],
        "rmas": [{"id": r.id, "number": r.number, "type": r.type.value,
                  "status": r.status.value, "asset_id": r.asset_id, "part_id": r.part_id,
                  "return_deadline": _iso(r.return_deadline)}
                 for r in rmas.get(wo.customer_id, [])],
        "recalls": [{"id": a.id, "campaign_code": a.code, "campaign_title": a.title,
                     "vin": a.vin, "asset_id": a.asset_id, "status": a.status.value,
                     "day": _iso(a.day), "dealership_id": a.dealership_id}
                    for a in recalls.get(wo.customer_id, [])],
        "report": {"notes": report.notes if report else None,
                   "labor_minutes": report.labor_minutes if report else None},
        "attachments": [{"id": a.id, "kind": a.kind, "content_type": a.content_type,
                         "size_bytes": a.size_bytes, "filename": a.filename,
                         "created_at": _iso(a.created_at)}
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


def load_day(session: Session, technician: Technician, day: date) -> dict[str, Any]:
    """The technician's day: route with ETAs and everything each job needs."""
    cursor = latest_cursor(session, technician.id)
    jobs = build_jobs(session, technician, day_rows(session, technician, day))
    return {"date": day.isoformat(), "technician": technician_doc(technician), "jobs": jobs,
            "cursor": str(cursor)}
