"""Emergency insertion: propose where an urgent work order fits in the published plan, and
apply the proposal in one transaction if nothing it touches changed meanwhile.

The plan inserted into is the one in force for the day: the last published run's plan, or
the plan left by the last insertion accepted on top of it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

import scheduler
from fieldsvc.context import Actor
from fieldsvc.dispatch.snapshot import build_snapshot
from fieldsvc.models import InsertionProposal, OptimizationRun, Site, WorkOrder
from fieldsvc.models.base import utcnow
from fieldsvc.models.enums import RunStatus, WorkOrderStatus
from fieldsvc.problems import Conflict
from fieldsvc.services import work_orders as wo_service
from scheduler.slots import with_route

TIME_LIMIT = 0.8  # seconds for the search itself; snapshot and storage come on top


def _published_run(session: Session, plan_date: date, territory: str | None
                   ) -> OptimizationRun | None:
    """The last published run of the day for the site's territory (or for all territories)."""
    territories = [OptimizationRun.territory.is_(None)]
    if territory is not None:
        territories.append(OptimizationRun.territory == territory)
    return session.scalar(
        select(OptimizationRun)
        .where(OptimizationRun.plan_date == plan_date,
               OptimizationRun.status == RunStatus.FINISHED,
               OptimizationRun.published_at.is_not(None),
               or_(*territories))
        .order_by(OptimizationRun.published_at.desc(), OptimizationRun.id.desc())
        .limit(1)
    )


def current_plan(session: Session, run: OptimizationRun) -> scheduler.Plan:
    """The plan in force: the run's, or the one left by the last accepted insertion."""
    accepted = session.scalar(
        select(InsertionProposal.proposal)
        .where(InsertionProposal.run_id == run.id, InsertionProposal.accepted_at.is_not(None))
        .order_by(InsertionProposal.accepted_at.desc(), InsertionProposal.id.desc())
        .limit(1)
    )
    return scheduler.Plan.from_dict((accepted or run.result)["plan"])


def _only_known_jobs(plan: scheduler.Plan, known: set[str]) -> scheduler.Plan:
    """Drop stops of jobs no longer plannable (completed, cancelled, deleted)."""
    routes = []
    for route in plan.routes:
        stops = [s for s in route.stops
                 if s.kind != scheduler.model.STOP_JOB or s.job_id in known]
        routes.append(route if len(stops) == len(route.stops) else replace(route, stops=stops))
    return replace(plan, routes=routes,
                   unassigned={k: u for k, u in plan.unassigned.items() if k in known})


def propose_insertion(session: Session, work_order: WorkOrder, actor: Actor, *,
                      plan_date: date | None, timezone: str,
                      now: datetime | None = None) -> InsertionProposal:
    """Compute (and store) where `work_order` fits into the day's published plan."""
    now = now or utcnow()
    if work_order.status is not WorkOrderStatus.NEW:
        raise Conflict(f"Work order {work_order.id} is {work_order.status.value}; only a new "
                       "(unscheduled) work order can be inserted.",
                       current_status=work_order.status.value)
    plan_date = plan_date or now.astimezone(ZoneInfo(timezone)).date()
    site = session.get(Site, work_order.site_id)
    run = _published_run(session, plan_date, site.territory if site else None)
    if run is None:
        raise Conflict(f"No plan is published for {plan_date.isoformat()}; run and publish "
                       "the optimizer for that day first.", date=plan_date.isoformat())
    snapshot = build_snapshot(session, plan_date, territory=run.territory, timezone=timezone)
    key = str(work_order.id)
    if key in snapshot.skipped:
        raise Conflict(snapshot.skipped[key])
    job = next((j for j in snapshot.problem.jobs if j.id == key), None)
    if job is None:
        raise Conflict(f"Work order {work_order.id} cannot be done on "
                       f"{plan_date.isoformat()}: none of its time windows falls on that day.")
    # Not in the past: an emergency starts from now at the earliest.
    earliest = max(0, int((now - snapshot.origin).total_seconds()))
    end = scheduler.model.DAY
    if earliest >= end:
        raise Conflict(f"{plan_date.isoformat()} is over; nothing can be inserted into it.")
    windows = [scheduler.TimeWindow(max(w.start, earliest), w.end)
               for w in (job.time_windows or [scheduler.TimeWindow(0, end)])
               if w.end >= earliest]
    if not windows:
        raise Conflict(f"Every time window of work order {work_order.id} is already past.")
    job = replace(job, time_windows=windows, pinned_technician=None, pinned_start=None)
    known = {j.id for j in snapshot.problem.jobs}
    plan = _only_known_jobs(current_plan(session, run), known)
    result = scheduler.insert_emergency(snapshot.problem, plan, job, time_limit=TIME_LIMIT)
    if result.technician_id is None:
        raise Conflict(f"Work order {work_order.id} fits nowhere in the published plan: "
                       f"{result.reason}", reason=result.reason)
    origin = snapshot.origin

    def at(seconds: int) -> str:
        return (origin + timedelta(seconds=seconds)).isoformat()

    route = next(r for r in result.plan.routes
                 if r.technician_id == result.technician_id and r.day == result.day)
    stops = {s.job_id: s for s in route.stops if s.kind == scheduler.model.STOP_JOB}
    mine = stops[key]
    changes = [{"work_order_id": int(c.job_id), "old_start": at(c.old_start),
                "new_start": at(c.new_start), "new_end": at(stops[c.job_id].end),
                "eta": at(stops[c.job_id].eta)}
               for c in result.eta_changes]
    displaced = [int(d) for d in result.displaced]
    affected = [work_order.id] + [c["work_order_id"] for c in changes] + displaced
    proposal = InsertionProposal(
        work_order_id=work_order.id, run_id=run.id, plan_date=plan_date,
        technician_id=int(result.technician_id), created_by_id=actor.id, created_at=now,
        proposal={
            "technician_id": int(result.technician_id),
            "start": at(mine.start), "end": at(mine.end), "eta": at(mine.eta),
            "eta_changes": changes,
            "displaced": displaced,
            "versions": {str(i): snapshot.versions.get(str(i)) for i in affected},
            "seconds": result.seconds,
            "plan": result.plan.to_dict(),
        },
    )
    session.add(proposal)
    session.flush()
    return proposal


def latest_proposal(session: Session, work_order: WorkOrder) -> InsertionProposal | None:
    return session.scalar(
        select(InsertionProposal).where(InsertionProposal.work_order_id == work_order.id)
        .order_by(InsertionProposal.id.desc()).limit(1))


def _check_day_unchanged(session: Session, proposal: InsertionProposal) -> None:
    """An offer made on a day without a published plan still holds: no plan has been
    published for the day since, and the technician's work of the day is what it was."""
    data = proposal.proposal
    run = _published_run(session, proposal.plan_date, data.get("territory"))
    if run is not None:
        raise Conflict(f"Run {run.id} was published for {proposal.plan_date.isoformat()} "
                       "after this offer was made; ask for new offers.")
    parse = datetime.fromisoformat
    now = sorted(session.scalars(
        select(WorkOrder.id).where(
            WorkOrder.technician_id == proposal.technician_id,
            WorkOrder.id != proposal.work_order_id,
            WorkOrder.status.in_((WorkOrderStatus.SCHEDULED, WorkOrderStatus.DISPATCHED,
                                  WorkOrderStatus.EN_ROUTE, WorkOrderStatus.ON_SITE)),
            WorkOrder.scheduled_start_at >= parse(data["day_from"]),
            WorkOrder.scheduled_start_at < parse(data["day_to"]))))
    if now != sorted(data["day_work_orders"]):
        raise Conflict("The technician's day changed since the offer was made; ask for new "
                       "offers.", changed=sorted(set(now) ^ set(data["day_work_orders"])))


def accept_insertion(session: Session, work_order: WorkOrder, actor: Actor,
                     proposal_id: int | None = None) -> InsertionProposal:
    """Apply the latest (or the given) proposal and pin the emergency where it was put;
    409 if anything it touches has changed."""
    proposal = (session.get(InsertionProposal, proposal_id) if proposal_id is not None
                else latest_proposal(session, work_order))
    if proposal is None or proposal.work_order_id != work_order.id:
        raise Conflict(f"Work order {work_order.id} has no such insertion proposal; ask for "
                       "one first (POST .../insertion).")
    if proposal.accepted_at is not None:
        raise Conflict(f"Proposal {proposal.id} was accepted already.")
    data: dict[str, Any] = proposal.proposal
    if proposal.run_id is None:
        _check_day_unchanged(session, proposal)
    else:
        run = session.get(OptimizationRun, proposal.run_id)
        newer = _published_run(session, proposal.plan_date, run.territory)
        if newer is not None and newer.id != run.id:
            raise Conflict(f"Run {newer.id} was published after this proposal; ask for a new "
                           "one.")
        later = session.scalar(
            select(InsertionProposal.id).where(
                InsertionProposal.run_id == run.id,
                InsertionProposal.accepted_at > proposal.created_at))
        if later is not None:
            raise Conflict(f"Proposal {later} was accepted after this one was made; ask for a "
                           "new one.")
    if proposal.run_id is not None and "plan" not in data:
        # A slot offer keeps only the technician's new route: the plan it leaves in force is
        # the current one (unchanged since the offer, as checked above) with that route.
        route = scheduler.Plan.from_dict({"routes": [data["route"]]}).routes[0]
        data = {**data, "plan": with_route(current_plan(session, run), route).to_dict()}
        proposal.proposal = data
    versions = {int(k): v for k, v in data["versions"].items()}
    orders = {w.id: w for w in session.scalars(
        select(WorkOrder).where(WorkOrder.id.in_(versions)))}
    changed = sorted(i for i, v in versions.items()
                     if i not in orders or orders[i].version != v)
    if changed:
        raise Conflict("Work orders changed since the proposal was made; ask for a new one.",
                       changed=changed)
    # Claim the proposal: two concurrent acceptances apply it once.
    accepted_at = utcnow()
    claimed = session.execute(
        update(InsertionProposal)
        .where(InsertionProposal.id == proposal.id, InsertionProposal.accepted_at.is_(None))
        .values(accepted_at=accepted_at, accepted_by_id=actor.id)
        .execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        raise Conflict(f"Proposal {proposal.id} was accepted already.")
    parse = datetime.fromisoformat
    try:
        for wid in data["displaced"]:
            wo = orders[wid]
            reason = f"displaced by emergency work order {work_order.id}"
            if wo.status is WorkOrderStatus.DISPATCHED:
                wo_service.transition(session, wo, WorkOrderStatus.SCHEDULED, actor,
                                      reason=reason)
            if wo.status is WorkOrderStatus.SCHEDULED:
                wo_service.transition(session, wo, WorkOrderStatus.NEW, actor, reason=reason)
        for change in data["eta_changes"]:
            wo = orders[change["work_order_id"]]
            wo_service.update_work_order(session, wo, {
                "scheduled_start_at": parse(change["new_start"]),
                "scheduled_end_at": parse(change["new_end"])}, actor)
            wo.eta_at = parse(change["eta"])
        wo_service.transition(session, work_order, WorkOrderStatus.SCHEDULED, actor,
                              technician_id=data["technician_id"],
                              scheduled_start_at=parse(data["start"]),
                              reason=f"emergency insertion {proposal.id}")
        # Pinned: the arrival promised with the insertion holds through later runs until
        # a dispatcher unpins it (PATCH pinned false).
        wo_service.update_work_order(session, work_order,
                                     {"scheduled_end_at": parse(data["end"]), "pinned": True},
                                     actor)
        work_order.eta_at = parse(data["eta"])
        proposal.accepted_at = accepted_at  # through the ORM too, for the audit log
        proposal.accepted_by_id = actor.id
        session.flush()
    except StaleDataError:
        raise Conflict("Work orders changed while the proposal was being applied; ask for a "
                       "new one.") from None
    return proposal
