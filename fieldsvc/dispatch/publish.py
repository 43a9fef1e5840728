"""Publish a finished run: its assignments become work-order schedules in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

import scheduler
from fieldsvc.context import Actor
from fieldsvc.events import work_orders as work_order_events
from fieldsvc.events.outbox import emit
from fieldsvc.models import OptimizationRun, WorkOrder
from fieldsvc.models.base import utcnow
from fieldsvc.models.enums import RunStatus, WorkOrderStatus
from fieldsvc.problems import Conflict
from fieldsvc.services import work_orders as wo_service


@dataclass
class PublishReport:
    run_id: int
    scheduled: list[int] = field(default_factory=list)  # newly scheduled
    rescheduled: list[int] = field(default_factory=list)  # moved to another slot/technician
    unchanged: list[int] = field(default_factory=list)
    unscheduled: list[int] = field(default_factory=list)  # scheduled before, unassigned now
    changed_since_run: list[int] = field(default_factory=list)  # left alone: edited meanwhile
    fixed: list[int] = field(default_factory=list)  # pinned or started: never moved


def _check_publishable(session: Session, run: OptimizationRun) -> None:
    if run.status is not RunStatus.FINISHED:
        raise Conflict(f"Run {run.id} is {run.status.value}; only a finished run can be "
                       "published.")
    if run.published_at is not None:
        raise Conflict(f"Run {run.id} was already published at {run.published_at.isoformat()}.")
    newer = session.scalar(
        select(OptimizationRun.id).where(
            OptimizationRun.plan_date == run.plan_date,
            OptimizationRun.territory.is_(None) if run.territory is None
            else OptimizationRun.territory == run.territory,
            OptimizationRun.published_at.is_not(None),
            OptimizationRun.created_at > run.created_at,
        )
    )
    if newer is not None:
        raise Conflict(f"A newer run ({newer}) of this day was published already; "
                       "publishing this one would undo it.")


def publish_run(session: Session, run: OptimizationRun, actor: Actor, *,
                eta_threshold_minutes: int = 15) -> PublishReport:
    """Write the run's plan to its work orders; skip any changed since the run started.

    Emits `optimization_run.published`, and `work_order.eta_changed` for each work order
    whose ETA moved by more than `eta_threshold_minutes` (FIELDSVC_EVENTS_ETA_MINUTES).

    The run is claimed first with one conditional UPDATE, so of two concurrent publishes of
    the same run exactly one proceeds and the other gets a 409.
    """
    _check_publishable(session, run)
    published_at = utcnow()
    claimed = session.execute(
        update(OptimizationRun)
        .where(OptimizationRun.id == run.id, OptimizationRun.published_at.is_(None),
               OptimizationRun.status == RunStatus.FINISHED)
        .values(published_at=published_at, published_by_id=actor.id)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        session.expire(run)
        _check_publishable(session, run)
        raise Conflict(f"Run {run.id} is being published by someone else.")
    plan = scheduler.Plan.from_dict(run.result["plan"])
    origin = datetime.fromisoformat(run.result["origin"])
    versions: dict[str, int] = run.result.get("versions", {})
    report = PublishReport(run_id=run.id)

    stops = {
        stop.job_id: (route.technician_id, stop)
        for route in plan.routes
        for stop in route.stops
        if stop.kind == scheduler.model.STOP_JOB and stop.job_id is not None
    }
    ids = [int(k) for k in versions]
    orders = {str(w.id): w for w in session.scalars(
        select(WorkOrder).where(WorkOrder.id.in_(ids)).order_by(WorkOrder.id))} if ids else {}

    for key, version in versions.items():
        wo = orders.get(key)
        if wo is None or wo.version != version:
            report.changed_since_run.append(int(key))
            continue
        if wo.status not in (WorkOrderStatus.NEW, WorkOrderStatus.SCHEDULED):
            report.fixed.append(wo.id)
            continue
        if key not in stops:
            if wo.status is WorkOrderStatus.SCHEDULED and not wo.pinned:
                wo_service.transition(session, wo, WorkOrderStatus.NEW, actor,
                                      reason=f"not in published run {run.id}")
                report.unscheduled.append(wo.id)
            continue
        tech_id, stop = stops[key]
        start = origin + timedelta(seconds=stop.start)
        end = origin + timedelta(seconds=stop.end)
        eta = origin + timedelta(seconds=stop.arrival)
        technician_id = int(tech_id)
        if wo.status is WorkOrderStatus.NEW:
            wo_service.transition(session, wo, WorkOrderStatus.SCHEDULED, actor,
                                  technician_id=technician_id, scheduled_start_at=start)
            report.scheduled.append(wo.id)
        elif wo.technician_id == technician_id and wo.scheduled_start_at == start:
            report.unchanged.append(wo.id)
        elif wo.pinned:
            report.fixed.append(wo.id)
            continue
        else:
            report.rescheduled.append(wo.id)
        # Through the service, so its checks (technician active, end after start) apply.
        wo_service.update_work_order(session, wo, {
            "technician_id": technician_id, "scheduled_start_at": start,
            "scheduled_end_at": end}, actor)
        previous_eta = wo.eta_at
        wo.eta_at = eta
        work_order_events.eta_changed(session, wo, previous_eta, eta_threshold_minutes)
    # Set through the ORM as well, so the audit log records the publication.
    run.published_at = published_at
    run.published_by_id = actor.id
    session.flush()
    emit(session, "optimization_run.published", "optimization_run", run.id, {
        "run_id": run.id, "plan_date": run.plan_date, "territory": run.territory,
        "published_at": published_at, "published_by_id": actor.id,
        "scheduled": report.scheduled, "rescheduled": report.rescheduled,
        "unscheduled": report.unscheduled, "unchanged": report.unchanged,
        "changed_since_run": report.changed_since_run, "fixed": report.fixed})
    return report
