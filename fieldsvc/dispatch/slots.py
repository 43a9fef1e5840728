"""The slot finder: the best feasible visits for a new work order over the next days.

For each day from the earliest asked for, the plan in force (the last published run's, or
the plan left by the last accepted insertion on top of it) is searched with
``scheduler.slots``: one offer per technician who could take the job, free technicians
included, ranked by the cost each adds (SLA lateness, travel, other customers' moved starts).
The best offers over all days are stored as insertion proposals, so booking one is accepting
that proposal (``insertion.accept_insertion``): the same checks that nothing it moves has
changed, the work order scheduled and pinned where it was offered, the ETA changes applied.

An offer keeps only the technician's new route; the plan in force at booking is completed
with it (a later accepted proposal makes the offer stale, as for an emergency proposal).
A day without a published plan is searched too: against the technicians' shifts (breaks,
absences, skills) with the work already assigned to them that day at its starts. Such an
offer has no run; booking it assigns and pins the work order (the next optimizer run keeps
a pinned work order where it is), and is refused when that technician's day has changed or a
plan has been published for the day since.
"""

from __future__ import annotations

import time as clock
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

import scheduler
from fieldsvc.context import Actor
from fieldsvc.dispatch.feasibility import OCCUPYING
from fieldsvc.dispatch.insertion import (
    _only_known_jobs,
    _published_run,
    accept_insertion,
    current_plan,
)
from fieldsvc.dispatch.snapshot import Fleet, build_snapshot, load_fleet
from fieldsvc.models import InsertionProposal, OptimizationRun, Site, WorkOrder
from fieldsvc.models.base import utcnow
from fieldsvc.models.enums import WorkOrderStatus
from fieldsvc.problems import Conflict, InvalidInput
from scheduler.placement import assigned_plan
from scheduler.slots import SlotOffer, slot_offers

MAX_DAYS = 14
MAX_OFFERS = 20
TIME_LIMIT = 0.6  # seconds of search over all days; snapshots and storage come on top
KIND = "slot_offer"


@dataclass
class SlotSearch:
    """The offers found (best first) and the days that could not be searched, with why."""

    work_order_id: int
    offers: list[InsertionProposal] = field(default_factory=list)
    days_skipped: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    search_seconds: float = 0.0  # of which in the search itself (the rest: snapshots, storage)


def find_slots(session: Session, work_order: WorkOrder, actor: Actor, *, days: int,
               earliest: date | None, timezone: str, limit: int = 5,
               now: datetime | None = None) -> SlotSearch:
    """Search `days` days from `earliest` (default today) and store the best offers."""
    t0 = clock.monotonic()
    now = now or utcnow()
    tz = ZoneInfo(timezone)
    today = now.astimezone(tz).date()
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput({"days": [f"Between 1 and {MAX_DAYS}."]})
    if not 1 <= limit <= MAX_OFFERS:
        raise InvalidInput({"limit": [f"Between 1 and {MAX_OFFERS}."]})
    earliest = earliest or today
    if earliest < today:
        raise InvalidInput({"earliest": ["Must not be in the past."]})
    if work_order.status is not WorkOrderStatus.NEW:
        raise Conflict(f"Work order {work_order.id} is {work_order.status.value}; only a new "
                       "(unscheduled) work order can be booked.",
                       current_status=work_order.status.value)
    site = session.get(Site, work_order.site_id)
    territory = site.territory if site else None
    key = str(work_order.id)
    search = SlotSearch(work_order_id=work_order.id)
    found: list[tuple[float, int, date, OptimizationRun | None, SlotOffer, datetime, dict,
                      dict]] = []
    runs: dict[int, tuple[date, OptimizationRun | None]] = {}
    for n in range(days):
        day = earliest + timedelta(days=n)
        runs[n] = (day, _published_run(session, day, territory))
    budget = TIME_LIMIT / max(1, len(runs))
    fleets: dict[str | None, Fleet] = {}
    for n, (day, run) in runs.items():
        day_territory = run.territory if run else territory
        if day_territory not in fleets:
            fleets[day_territory] = load_fleet(session, territory=day_territory)
        origin = datetime.combine(day, time(0), tzinfo=tz)
        # Only the work on the routes the job may join is read: the plan in force's, or on
        # a day without a plan the work already assigned to technicians that day.
        in_force: scheduler.Plan | None = None
        if run is not None:
            in_force = current_plan(session, run)
            wanted = {int(s.job_id) for r in in_force.routes for s in r.stops
                      if s.kind == scheduler.model.STOP_JOB and s.job_id is not None}
            day_orders: dict[str, list[int]] = {}
        else:
            assigned, day_orders = _assigned_work(session, origin, work_order.id)
            wanted = {wo_id for ids in day_orders.values() for wo_id in ids}
        snapshot = build_snapshot(session, day, territory=day_territory, timezone=timezone,
                                  with_previous=False, fleet=fleets[day_territory],
                                  work_order_ids=wanted | {work_order.id})
        if key in snapshot.skipped:
            raise Conflict(snapshot.skipped[key])
        job = next((j for j in snapshot.problem.jobs if j.id == key), None)
        if job is None:
            search.days_skipped.append({"date": day.isoformat(), "reason":
                                        "None of the work order's time windows falls on it."})
            continue
        earliest_s = max(0, int((now - snapshot.origin).total_seconds()))
        windows = [scheduler.TimeWindow(max(w.start, earliest_s), w.end)
                   for w in (job.time_windows or [scheduler.TimeWindow(0, scheduler.model.DAY)])
                   if w.end >= earliest_s]
        if not windows:
            search.days_skipped.append({"date": day.isoformat(),
                                        "reason": "Its time windows that day are past."})
            continue
        job = replace(job, time_windows=windows, pinned_technician=None, pinned_start=None)
        known = {j.id for j in snapshot.problem.jobs}
        if in_force is not None:
            plan = _only_known_jobs(in_force, known)
        else:
            # No plan for the day: the technicians' shifts with the work already assigned
            # to them that day at its starts; booking assigns and pins (no run to insert into).
            plan = assigned_plan(snapshot.problem, 0, assigned)
        t1 = clock.monotonic()
        offers = slot_offers(snapshot.problem, plan, job, limit=limit, time_limit=budget)
        search.search_seconds += clock.monotonic() - t1
        if not offers:
            search.days_skipped.append({"date": day.isoformat(),
                                        "reason": "No technician can fit it in that day."})
        for offer in offers:
            found.append((offer.cost, n, day, run, offer, snapshot.origin, snapshot.versions,
                          day_orders))
    search.days_skipped.sort(key=lambda d: d["date"])
    found.sort(key=lambda f: (f[0], f[1], f[4].start))
    for cost, _, day, run, offer, origin, versions, day_orders in found[:limit]:

        def at(seconds: int, origin: datetime = origin) -> str:
            return (origin + timedelta(seconds=seconds)).isoformat()

        stops = {s.job_id: s for s in offer.route.stops if s.kind == scheduler.model.STOP_JOB}
        changes = [{"work_order_id": int(c.job_id), "old_start": at(c.old_start),
                    "new_start": at(c.new_start), "new_end": at(stops[c.job_id].end),
                    "eta": at(stops[c.job_id].eta)} for c in offer.eta_changes]
        affected = [work_order.id] + [c["work_order_id"] for c in changes]
        without_plan = {}
        if run is None:
            without_plan = {
                "without_plan": True, "territory": territory,
                "day_from": origin.isoformat(), "day_to": at(scheduler.model.DAY),
                "day_work_orders": day_orders.get(offer.technician_id, []),
            }
        proposal = InsertionProposal(
            work_order_id=work_order.id, run_id=run.id if run else None, plan_date=day,
            technician_id=int(offer.technician_id), created_by_id=actor.id, created_at=now,
            proposal={
                "kind": KIND,
                "technician_id": int(offer.technician_id),
                "start": at(offer.start), "end": at(offer.end), "eta": at(stops[key].eta),
                "cost": round(cost, 1), "added_travel_seconds": offer.added_travel,
                "eta_changes": changes, "displaced": [],
                "versions": {str(i): versions.get(str(i)) for i in affected},
                "seconds": round(clock.monotonic() - t0, 4),
                "route": scheduler.Plan(routes=[offer.route]).to_dict()["routes"][0],
                **without_plan,
            })
        session.add(proposal)
        search.offers.append(proposal)
    session.flush()
    search.seconds = round(clock.monotonic() - t0, 4)
    search.search_seconds = round(search.search_seconds, 4)
    return search


def _assigned_work(session: Session, origin: datetime, exclude: int
                   ) -> tuple[dict[str, dict[str, int]], dict[str, list[int]]]:
    """The work on technicians' days from `origin` (one day): technician id -> work order id
    -> start in seconds from `origin`, and technician id -> those work order ids."""
    rows = session.execute(
        select(WorkOrder.technician_id, WorkOrder.id, WorkOrder.scheduled_start_at)
        .where(WorkOrder.status.in_(OCCUPYING), WorkOrder.technician_id.is_not(None),
               WorkOrder.id != exclude,
               WorkOrder.scheduled_start_at >= origin,
               WorkOrder.scheduled_start_at < origin + timedelta(days=1))
        .order_by(WorkOrder.id))
    assigned: dict[str, dict[str, int]] = {}
    orders: dict[str, list[int]] = {}
    for tech_id, wo_id, start in rows:
        if start is None:  # excluded by the query; the column itself may be empty
            continue
        assigned.setdefault(str(tech_id), {})[str(wo_id)] = int((start - origin).total_seconds())
        orders.setdefault(str(tech_id), []).append(wo_id)
    return assigned, orders


def book_slot(session: Session, work_order: WorkOrder, offer_id: int,
              actor: Actor) -> InsertionProposal:
    """Book one offer: accept its proposal (409 when it is stale or already taken)."""
    proposal = session.get(InsertionProposal, offer_id) if 0 < offer_id < 2**63 else None
    if proposal is None or proposal.work_order_id != work_order.id or \
            proposal.proposal.get("kind") != KIND:
        raise Conflict(f"Work order {work_order.id} has no slot offer {offer_id}; ask for "
                       "offers first (POST .../slot-offers).")
    return accept_insertion(session, work_order, actor, proposal.id)
