"""Slot offers: the best feasible visits for one new job on one day, one per technician.

Where the emergency insertion (``insertion.insert_emergency``) answers with the single
cheapest place, a customer on the phone wants a choice: for every technician-day that may
serve the job, the cheapest insertion into that technician's route of the plan in force
(an empty route for a technician the plan leaves free), ranked by the cost it adds. Nothing
is displaced: an offer to a caller moves other customers' times at most, never their visits.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from .insertion import _route_key, _warehouse_left, best_insertion, nearest_warehouse
from .insertion import to_route as _to_route
from .instance import Instance
from .model import STOP_JOB, EtaChange, Job, Plan, Problem, Route


@dataclass
class SlotOffer:
    """One feasible visit: who, when, what it costs and whose start it moves."""

    technician_id: str
    day: int
    start: int
    end: int
    arrival: int
    cost: float  # SLA lateness + added travel + a charge per moved start (weighted)
    added_travel: int  # seconds
    route: Route  # the technician's day with the job in it
    eta_changes: list[EtaChange] = field(default_factory=list)


def slot_offers(
    problem: Problem, plan: Plan, job: Job, limit: int = 5, time_limit: float = 0.8
) -> list[SlotOffer]:
    """Up to ``limit`` offers for ``job`` on the plan's day(s), cheapest first."""
    deadline = time.monotonic() + time_limit
    jobs = [j for j in problem.jobs if j.id != job.id] + [job]
    prob = replace(problem, jobs=jobs)
    inst = Instance(prob, lazy=True)
    ji = inst.job_index[job.id]
    routes = {
        _route_key(r): replace(r, stops=[s for s in r.stops if s.job_id != job.id])
        for r in plan.routes
    }
    wh = nearest_warehouse(inst, ji, _warehouse_left(inst, plan))
    offers: list[SlotOffer] = []
    for vi in inst.allowed_vehicles(job):
        if time.monotonic() > deadline:
            break
        found = best_insertion(inst, routes, ji, [vi], wh, deadline)
        if found is None:
            continue
        (_, cost), v, sch, _ = found
        old = routes.get((v.tech.id, v.shift.day))
        old_starts = {s.job_id: s.start for s in old.stops if s.kind == STOP_JOB} if old else {}
        old_sch_travel = (
            sum(s.travel_seconds for s in old.stops) + old.return_travel_seconds if old else 0
        )
        route = _to_route(inst, v, sch)
        mine = next(s for s in route.stops if s.kind == STOP_JOB and s.job_id == job.id)
        changes = [
            EtaChange(s.job_id, old_starts[s.job_id], s.start)
            for s in route.stops
            if s.kind == STOP_JOB
            and s.job_id is not None
            and s.job_id in old_starts
            and old_starts[s.job_id] != s.start
        ]
        new_travel = sum(s.travel_seconds for s in route.stops) + route.return_travel_seconds
        offers.append(
            SlotOffer(
                technician_id=v.tech.id,
                day=v.shift.day,
                start=mine.start,
                end=mine.end,
                arrival=mine.arrival,
                cost=float(cost),
                added_travel=new_travel - old_sch_travel,
                route=route,
                eta_changes=changes,
            )
        )
    offers.sort(key=lambda o: (o.cost, o.start, o.technician_id))
    return offers[:limit]


def with_route(plan: Plan, route: Route) -> Plan:
    """``plan`` with ``route`` in place of that technician-day's route."""
    key = _route_key(route)
    return replace(plan, routes=[r for r in plan.routes if _route_key(r) != key] + [route])


__all__ = ["SlotOffer", "slot_offers", "with_route"]
