"""The work-order events: what each says about the work order, and when each is emitted.

The work-order service calls these right where the change happens (creation, a dispatcher's
change, the status machine, the SLA watch, a plan's publication), in its transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from fieldsvc.events.outbox import emit, emit_for_new
from fieldsvc.models import WorkOrder
from fieldsvc.models.enums import WorkOrderStatus

AGGREGATE = "work_order"
COLUMNS = (
    "id",
    "status",
    "priority",
    "type",
    "summary",
    "customer_id",
    "site_id",
    "asset_id",
    "technician_id",
    "scheduled_start_at",
    "scheduled_end_at",
    "eta_at",
    "response_due_at",
    "resolution_due_at",
)


def data_of(work_order: WorkOrder | Row) -> dict[str, Any]:
    """The fields every work-order event carries (from a work order or a row of them)."""
    return {
        "work_order_id": work_order.id,
        "status": work_order.status,
        "priority": work_order.priority,
        "type": work_order.type,
        "summary": work_order.summary,
        "customer_id": work_order.customer_id,
        "site_id": work_order.site_id,
        "asset_id": work_order.asset_id,
        "technician_id": work_order.technician_id,
        "scheduled_start_at": work_order.scheduled_start_at,
        "scheduled_end_at": work_order.scheduled_end_at,
        "eta_at": work_order.eta_at,
        "response_due_at": work_order.response_due_at,
        "resolution_due_at": work_order.resolution_due_at,
    }


def _emit(
    session: Session, event_type: str, work_order: WorkOrder, extra: dict[str, Any] | None = None
) -> None:
    emit(session, event_type, AGGREGATE, work_order.id, {**data_of(work_order), **(extra or {})})


def created(session: Session, work_order: WorkOrder) -> None:
    _emit(session, "work_order.created", work_order)
    if work_order.priority == 1:
        _emit(session, "work_order.p1_created", work_order)
    if work_order.technician_id is not None:
        assigned(session, work_order, None)


def created_in_bulk(session: Session, ids: list[int]) -> None:
    """`created` (and `p1_created`) of work orders a bulk writer inserted, in one statement."""
    if not ids:
        return
    columns = [getattr(WorkOrder, name) for name in COLUMNS]
    rows = session.execute(select(*columns).where(WorkOrder.id.in_(ids)).order_by(WorkOrder.id))
    events = []
    for row in rows:
        data = data_of(row)
        items = [("work_order.created", data)]
        if row.priority == 1:
            items.append(("work_order.p1_created", data))
        events.append((row.id, items))
    emit_for_new(session, AGGREGATE, events)


def assigned(session: Session, work_order: WorkOrder, previous_technician_id: int | None) -> None:
    """A technician given to the work order, or another one (None: none was before)."""
    if work_order.technician_id is None or work_order.technician_id == previous_technician_id:
        return
    _emit(
        session,
        "work_order.assigned",
        work_order,
        {"previous_technician_id": previous_technician_id},
    )


def status_changed(
    session: Session,
    work_order: WorkOrder,
    from_status: WorkOrderStatus,
    at: datetime,
    reason: str | None,
) -> None:
    extra = {"from_status": from_status, "at": at, "reason": reason}
    _emit(session, "work_order.status_changed", work_order, extra)
    if work_order.status == WorkOrderStatus.COMPLETED:
        _emit(
            session,
            "work_order.completed",
            work_order,
            {
                "at": at,
                "resolution_code": work_order.resolution_code,
                "first_time_fix": work_order.first_time_fix,
            },
        )


def eta_changed(
    session: Session, work_order: WorkOrder, previous_eta: datetime | None, threshold_minutes: int
) -> None:
    """Emitted when a published plan moves the ETA by more than `threshold_minutes` (or gives
    the first one)."""
    new = work_order.eta_at
    if new is None or (
        previous_eta is not None
        and abs((new - previous_eta).total_seconds()) <= threshold_minutes * 60
    ):
        return
    _emit(session, "work_order.eta_changed", work_order, {"previous_eta_at": previous_eta})


def sla_breached(session: Session, work_order: WorkOrder, kind: str, due_at: datetime) -> None:
    """`kind`: response or resolution."""
    _emit(session, "work_order.sla_breached", work_order, {"sla": kind, "due_at": due_at})
