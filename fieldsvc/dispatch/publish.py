"""Publish a finished run: its assignments become work-order schedules in one transaction.

Publishing a large plan takes seconds (a transition and an audited update per work order),
so it is a job on the run queue, not a request: `request_publish` marks the run `queued`
for publishing (once: asking again while it is queued or running changes nothing) and the
queue's worker calls `execute_publish`, which writes every work order in one transaction
and reports progress on the run from a connection of its own (PostgreSQL; SQLite has one
writer at a time, so there the progress goes from 0 to 1 at the end).
"""

from __future__ import annotations

import logging
import time as clock
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.orm import Session

import scheduler
from fieldsvc.context import SYSTEM, Actor
from fieldsvc.events import work_orders as work_order_events
from fieldsvc.events.outbox import emit
from fieldsvc.models import OptimizationRun, User, WorkOrder
from fieldsvc.models.base import utcnow
from fieldsvc.models.enums import RunStatus, WorkOrderStatus
from fieldsvc.problems import Conflict
from fieldsvc.services import work_orders as wo_service

log = logging.getLogger(__name__)

# publish_status of a run: NULL (never asked), then one of these.
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
PROGRESS_EVERY = 200  # work orders between two progress reports
# A publication queued or started this long ago was lost with its worker (the queue's job
# timeout is half of it): it may be asked for again.
STALE_PUBLISH_SECONDS = 3600


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
    """Write the run's plan to its work orders at once; skip any changed since the run
    started (scripts and benchmarks; requests go through `request_publish`).

    Emits `optimization_run.published`, and `work_order.eta_changed` for each work order
    whose ETA moved by more than `eta_threshold_minutes` (FIELDSVC_EVENTS_ETA_MINUTES).

    The run is claimed first with one conditional UPDATE, so of two concurrent publishes of
    the same run exactly one proceeds and the other gets a 409.
    """
    _check_publishable(session, run)
    published_at = _claim(session, run, actor)
    if published_at is None:
        session.expire(run)
        _check_publishable(session, run)
        raise Conflict(f"Run {run.id} is being published by someone else.")
    report = _write_plan(session, run, actor, eta_threshold_minutes=eta_threshold_minutes)
    _record(session, run, actor, published_at, report)
    return report


def _claim(session: Session, run: OptimizationRun, actor: Actor) -> datetime | None:
    """Mark the run published unless someone did: the time set, or None."""
    published_at = utcnow()
    claimed = session.execute(
        update(OptimizationRun)
        .where(OptimizationRun.id == run.id, OptimizationRun.published_at.is_(None),
               OptimizationRun.status == RunStatus.FINISHED)
        .values(published_at=published_at, published_by_id=actor.id)
        .execution_options(synchronize_session=False))
    return published_at if claimed.rowcount == 1 else None


def _record(session: Session, run: OptimizationRun, actor: Actor,
            published_at: datetime, report: PublishReport) -> None:
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


def _write_plan(session: Session, run: OptimizationRun, actor: Actor,
                on_progress: Callable[[float, str], None] | None = None, *,
                eta_threshold_minutes: int = 15) -> PublishReport:
    """Schedule, move and unschedule the run's work orders (flushes, never commits).

    `on_progress(fraction, message)` is told how far it got every few hundred work orders.
    """
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

    total = len(versions)
    every = max(1, min(PROGRESS_EVERY, total // 10))
    for done, (key, version) in enumerate(versions.items()):
        if on_progress is not None and done and done % every == 0:
            on_progress(done / total, f"{done} of {total} work orders")
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
        eta = origin + timedelta(seconds=stop.eta)
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
    session.flush()
    return report


def request_publish(session: Session, run: OptimizationRun, actor: Actor) -> bool:
    """Mark a finished run to be published by the run queue; True if this call did.

    Idempotent: while its publication is queued or running, asking again changes nothing
    (False). A publication that failed may be asked for again, and so may one queued or
    started longer ago than any job may take (its worker or queue was lost). Refuses (409)
    what `publish_run` would refuse: a run not finished, already published, or older than a
    published one. One conditional UPDATE decides between concurrent requests. Flushes; the
    caller hands the run to the queue once committed (`enqueue_after_commit(app, run_id,
    PUBLISH)`).
    """
    now = utcnow()
    stale = now - timedelta(seconds=STALE_PUBLISH_SECONDS)
    if run.publish_status in (QUEUED, RUNNING) and not (
            run.publish_started_at is not None and run.publish_started_at < stale):
        return False
    _check_publishable(session, run)
    claimed = session.execute(
        update(OptimizationRun)
        .where(OptimizationRun.id == run.id, OptimizationRun.published_at.is_(None),
               OptimizationRun.status == RunStatus.FINISHED,
               or_(OptimizationRun.publish_status.is_(None),
                   OptimizationRun.publish_status == FAILED,
                   OptimizationRun.publish_started_at < stale))
        .values(publish_status=QUEUED, publish_progress=0.0, publish_message="queued",
                publish_report=None, publish_started_at=now, published_by_id=actor.id)
        .execution_options(synchronize_session=False))
    session.expire(run)
    if claimed.rowcount != 1:
        if run.publish_status in (QUEUED, RUNNING):
            return False  # asked for by someone else just now
        _check_publishable(session, run)
        raise Conflict(f"Run {run.id} cannot be published now; reload it.")
    return True


class _PublishProgress:
    """Write the publication's progress to the run, at most twice a second, through a
    connection of its own: the work orders' transaction is still open meanwhile."""

    def __init__(self, session: Session, run_id: int) -> None:
        bind = session.get_bind()
        self.bind = bind if isinstance(bind, Engine) else bind.engine
        self.run_id, self.last = run_id, 0.0

    def __call__(self, fraction: float, message: str) -> None:
        now = clock.monotonic()
        if now - self.last < 0.5 or self.bind.dialect.name != "postgresql":
            return
        self.last = now
        with self.bind.begin() as conn:
            conn.execute(update(OptimizationRun)
                         .where(OptimizationRun.id == self.run_id)
                         .values(publish_progress=round(fraction, 3),
                                 publish_message=message[:400]))


def _publisher(session: Session, run: OptimizationRun) -> Actor:
    user = session.get(User, run.published_by_id) if run.published_by_id else None
    if user is None:
        return SYSTEM
    return Actor(id=user.id, name=user.username, source="job", role=user.role.value)


def execute_publish(session: Session, run_id: int, *,
                    eta_threshold_minutes: int = 15) -> OptimizationRun | None:
    """Publish a run whose publication is queued; the outcome is recorded on the run.

    Claimed with one conditional UPDATE (queued -> running), so a publication handed out
    twice runs once. The work orders are written in one transaction: a failure leaves none
    of them changed and the publication `failed` with the reason.
    """
    claimed = session.execute(
        update(OptimizationRun)
        .where(OptimizationRun.id == run_id, OptimizationRun.publish_status == QUEUED)
        .values(publish_status=RUNNING, publish_started_at=utcnow(),
                publish_message="publishing")
        .execution_options(synchronize_session=False))
    session.commit()
    if claimed.rowcount != 1:
        return None
    run = session.get_one(OptimizationRun, run_id)
    started = clock.monotonic()
    try:
        actor = _publisher(session, run)
        _check_publishable(session, run)
        report = _write_plan(session, run, actor, _PublishProgress(session, run_id),
                             eta_threshold_minutes=eta_threshold_minutes)
        # Claimed last, so the run's row is locked only for the end of the transaction
        # (the progress writes go to that row from another connection meanwhile).
        published_at = _claim(session, run, actor)
        if published_at is None:
            raise Conflict(f"Run {run.id} was published by someone else meanwhile.")
        _record(session, run, actor, published_at, report)
        changed = len(report.scheduled) + len(report.rescheduled) + len(report.unscheduled)
        run.publish_status = DONE
        run.publish_progress = 1.0
        run.publish_message = (f"published in {clock.monotonic() - started:.1f} s: "
                               f"{changed} work orders changed")
        run.publish_report = asdict(report)
        session.commit()
    except Exception as exc:  # recorded on the run, like a failed optimization
        if not isinstance(exc, Conflict):
            log.exception("publishing run %s failed", run_id)
        session.rollback()
        run = session.get_one(OptimizationRun, run_id)
        run.publish_status = FAILED
        reason = exc.detail if isinstance(exc, Conflict) and exc.detail else "".join(
            traceback.format_exception_only(exc)).strip()
        run.publish_message = f"not published: {reason}"[:400]
        session.commit()
    log.info("optimization run %s: publication %s", run_id, run.publish_status)
    return run


def fail_unqueued_publish(session: Session, run_id: int, reason: str) -> None:
    """The queue refused a publication: mark it failed rather than leave it queued."""
    session.execute(
        update(OptimizationRun)
        .where(OptimizationRun.id == run_id, OptimizationRun.publish_status == QUEUED)
        .values(publish_status=FAILED, publish_message=reason[:400])
        .execution_options(synchronize_session=False))
