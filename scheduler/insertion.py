"""Emergency insertion: put one new job into a published plan, disturbing it as little as
possible (started and pinned jobs stay exactly where they are)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from . import explain
from .constraints import (
    break_first,
    break_slot,
    load_fits,
    parts_cover,
    start_windows,
    window_start,
    within_max_work,
)
from .instance import Instance, VehicleDay, arrival_after
from .model import (
    CAPACITY_EXHAUSTED,
    STOP_ABSENCE,
    STOP_BREAK,
    STOP_JOB,
    STOP_WAREHOUSE,
    EtaChange,
    InsertionResult,
    Job,
    Plan,
    Problem,
    Route,
    Stop,
    Unassigned,
)
from .objective import objective_parts

ETA_SHIFT_COST = 900  # cost units per other job whose start moves (15 min of travel)


@dataclass
class Item:
    """A place to visit in a route: a job, or a warehouse pickup for the next job."""

    job: int
    warehouse: int | None = None  # set for a pickup stop
    floor: int = 0  # do not start before this (the published ETA)


@dataclass
class Timed:
    item: Item
    arrival: int
    start: int
    end: int
    travel: int
    point: int


@dataclass
class Schedule:
    start: int
    end: int
    visits: list[Timed]
    pauses: list[tuple[int, int, str]] = field(default_factory=list)
    return_travel: int = 0
    last_point: int = 0


def schedule(inst: Instance, v: VehicleDay, items: list[Item]) -> Schedule | None:
    """Earliest times for ``items`` in order on vehicle ``v`` (None when infeasible).

    Breaks are taken as late as possible, unless one fits into waiting time for free. The
    lazy rule is tried first, then the eager one: the optimizer's kernel times routes the
    same way, so every route it builds can be re-timed here.
    """
    return _timed(inst, v, items, True) or _timed(inst, v, items, False)


def _timed(inst: Instance, v: VehicleDay, items: list[Item], lazy: bool) -> Schedule | None:
    """``schedule`` with one break rule.

    Eager: a pending break is taken before a visit that would end after its window, or
    whenever taking it then does not delay the visit (it then sits at its window start, even
    if that lies after the visit). Lazy: a break taken without need must end before the
    visit starts (it fills waiting time), and the return home forces it too.
    """
    problem = inst.problem
    absences = [(lo, hi, STOP_ABSENCE) for lo, hi in v.absences]
    pending = sorted(v.breaks, key=lambda b: (b.window.end, b.window.start))
    placed: list[tuple[int, int, str]] = []
    t, point = v.earliest_start, v.start_point
    visits: list[Timed] = []
    load = 0
    stock = dict(v.tech.van_stock)

    def pauses_after(t0: int) -> list[tuple[int, int, str]]:
        return sorted(p for p in absences + placed if p[1] > t0)

    def place_service(t0: int, travel: int, floor: int, dur: int, windows) -> int | None:
        arrival = arrival_after(t0, travel, [p for p in pauses_after(t0)])
        s = window_start(max(arrival, floor), windows)
        for _ in range(20):
            if s is None:
                return None
            clash = [p for p in pauses_after(t0) if p[0] < s + dur and p[1] > s]
            if not clash:
                return s
            s = window_start(max(p[1] for p in clash), windows)
        return None

    targets = [*items, None]
    for item in targets:
        if item is None:
            nxt_point, dur, floor, windows = v.end_point, 0, 0, []
        elif item.warehouse is not None:
            wh = inst.warehouse(item.warehouse)
            nxt_point, dur, floor = inst.wh_point[item.warehouse], wh.service_time, item.floor
            windows = [wh.opening] if wh.opening else []
        else:
            job = problem.jobs[item.job]
            nxt_point, dur, floor = inst.job_point[item.job], job.duration_for(v.tech), item.floor
            windows = start_windows(job)
        travel = int(inst.dur[point, nxt_point])
        s = place_service(t, travel, floor, dur, windows)
        if s is None:
            return None
        # Take the pending breaks this visit would otherwise push out of their windows,
        # and any that fit into the waiting time without delaying the visit.
        keep = []
        for b in pending:
            at = break_slot(t, b, absences + placed)
            must = (lazy or item is not None) and break_first(b, s + dur)
            if at is None:
                if must:
                    return None
                keep.append(b)
                continue
            placed.append((at, at + b.duration, STOP_BREAK))
            s2 = place_service(t, travel, floor, dur, windows)
            if s2 is not None and (must or (s2 == s and (not lazy or at + b.duration <= s))):
                s = s2
            else:
                placed.pop()
                if must:
                    return None
                keep.append(b)
        pending = keep
        if item is None:
            end = arrival_after(t, travel, pauses_after(t))
            # Breaks not taken yet happen after the return.
            for b in pending:
                at = break_slot(max(end, t), b, absences + placed)
                if at is None:
                    return None
                placed.append((at, at + b.duration, STOP_BREAK))
            start = v.earliest_start
            if visits and not [p for p in placed + absences if start <= p[0] < visits[0].start]:
                start = max(start, visits[0].start - visits[0].travel)
                visits[0].arrival = max(visits[0].arrival, start + visits[0].travel)
            if end > v.latest_end or not within_max_work(v.max_span, start, end):
                return None
            if not load_fits(v.tech, load):
                return None
            return Schedule(start, end, visits, sorted(placed + absences), travel, point)
        arrival = arrival_after(t, travel, pauses_after(t))
        visits.append(Timed(item, min(arrival, s), s, s + dur, travel, nxt_point))
        if item.warehouse is not None:
            for p, q in problem.jobs[item.job].parts.items():
                stock[p] = stock.get(p, 0) + q
        else:
            job = problem.jobs[item.job]
            load += job.demand
            for p, q in job.parts.items():
                stock[p] = stock.get(p, 0) - q
                if stock[p] < 0:
                    return None
        t, point = s + dur, nxt_point
    return None  # pragma: no cover


def _items_of(inst: Instance, route: Route | None) -> list[Item]:
    if route is None:
        return []
    wh_index = {w.id: i for i, w in enumerate(inst.problem.warehouses)}
    out: list[Item] = []
    stops = [s for s in route.stops if s.kind in (STOP_JOB, STOP_WAREHOUSE)]
    for k, s in enumerate(stops):
        if s.kind == STOP_JOB:
            out.append(Item(inst.job_index[s.job_id], floor=s.start))
        else:
            nxt = next(x for x in stops[k + 1 :] if x.kind == STOP_JOB)
            out.append(Item(inst.job_index[nxt.job_id], wh_index[s.warehouse_id], floor=s.start))
    return out


def to_route(inst: Instance, v: VehicleDay, sch: Schedule) -> Route:
    problem = inst.problem
    stops = []
    prev = v.start_point
    for tv in sch.visits:
        common = dict(
            arrival=tv.arrival,
            start=tv.start,
            end=tv.end,
            travel_seconds=tv.travel,
            travel_metres=int(inst.dist[prev, tv.point]),
        )
        if tv.item.warehouse is not None:
            wh = inst.warehouse(tv.item.warehouse)
            parts = dict(problem.jobs[tv.item.job].parts)
            stops.append(Stop(kind=STOP_WAREHOUSE, warehouse_id=wh.id, parts=parts, **common))
        else:
            stops.append(Stop(kind=STOP_JOB, job_id=problem.jobs[tv.item.job].id, **common))
        prev = tv.point
    for lo, hi, kind in sch.pauses:
        stops.append(Stop(kind=kind, arrival=lo, start=lo, end=hi))
    stops.sort(key=lambda s: s.start)
    return Route(
        technician_id=v.tech.id,
        day=v.shift.day,
        start=sch.start,
        end=sch.end,
        stops=stops,
        return_travel_seconds=sch.return_travel,
        return_travel_metres=int(inst.dist[sch.last_point, v.end_point]),
    )


def _travel(sch: Schedule) -> int:
    return sum(tv.travel for tv in sch.visits) + sch.return_travel


def _warehouse_left(inst: Instance, plan: Plan) -> list[dict[str, int]]:
    left = [dict(w.stock) for w in inst.problem.warehouses]
    idx = {w.id: i for i, w in enumerate(inst.problem.warehouses)}
    for r in plan.routes:
        for s in r.stops:
            if s.kind == STOP_WAREHOUSE:
                for p, q in s.parts.items():
                    left[idx[s.warehouse_id]][p] = left[idx[s.warehouse_id]].get(p, 0) - q
    return left


def _route_key(r: Route) -> tuple[str, int]:
    return (r.technician_id, r.day)


def best_insertion(
    inst: Instance,
    routes: dict[tuple[str, int], Route],
    ji: int,
    vehicles: list[int],
    wh: int | None,
    deadline: float,
    displace: bool = False,
):
    """Cheapest way to add job ``ji`` to one route: (key, vehicle, schedule, displaced ids).

    The key orders candidates: fewer displaced jobs, then cost = SLA lateness of the new job
    + added travel + ETA_SHIFT_COST per other job whose start moves.
    """
    problem = inst.problem
    job = problem.jobs[ji]
    w = problem.weights

    def evaluate(v: VehicleDay, items: list[Item], old: dict[str, int], positions=None):
        best = None
        base_sch = schedule(inst, v, items)
        old_travel = _travel(base_sch) if base_sch else 0
        variants = [[Item(ji)]]
        if wh is not None:
            variants.append([Item(ji, wh), Item(ji)])
        for pos in positions if positions is not None else range(len(items) + 1):
            for ins in variants:
                sch = schedule(inst, v, items[:pos] + ins + items[pos:])
                if sch is None:
                    continue
                new_start = next(
                    tv.start for tv in sch.visits if tv.item.job == ji and tv.item.warehouse is None
                )
                moved = sum(
                    1
                    for tv in sch.visits
                    if tv.item.warehouse is None
                    and tv.item.job != ji
                    and old.get(problem.jobs[tv.item.job].id) != tv.start
                )
                late = max(0, new_start - job.sla_due) if job.sla_due is not None else 0
                cost = (
                    w.sla_lateness * late
                    + w.travel * (_travel(sch) - old_travel)
                    + ETA_SHIFT_COST * moved
                )
                if best is None or cost < best[0]:
                    best = (cost, sch)
        return best

    jp = inst.job_point[ji]

    def closeness(vi: int) -> int:
        v = inst.vehicles[vi]
        route = routes.get((v.tech.id, v.shift.day))
        pts = (
            [v.start_point] + [inst.job_point[inst.job_index[j]] for j in route.job_ids()]
            if route
            else [v.start_point]
        )
        return min(int(inst.dur[p, jp]) for p in pts)

    best = None
    for vi in sorted(vehicles, key=closeness):
        if time.monotonic() > deadline:
            break
        v = inst.vehicles[vi]
        route = routes.get((v.tech.id, v.shift.day))
        items = _items_of(inst, route)
        old = {s.job_id: s.start for s in route.stops if s.kind == STOP_JOB} if route else {}
        if not displace:
            found = evaluate(v, items, old)
            if found and (best is None or (0, found[0]) < best[0]):
                best = ((0, found[0]), v, found[1], [])
            continue
        # Make room by unassigning one lower-priority, movable job; the new job takes its
        # place (or a neighbouring one).
        for k, it in enumerate(items):
            other = problem.jobs[it.job]
            if it.warehouse is not None or other.priority <= job.priority:
                continue
            if other.pinned_technician or other.pinned_start is not None or other.started:
                continue
            rest = [x for x in items if x.job != it.job]
            at = k - sum(1 for x in items[:k] if x.job == it.job)
            near = [p for p in (at - 1, at, at + 1) if 0 <= p <= len(rest)]
            found = evaluate(v, rest, old, near)
            if found is None:
                continue
            key = (1, -other.priority, found[0])
            if best is None or key < best[0]:
                best = (key, v, found[1], [other.id])
            if time.monotonic() > deadline:
                break
    return best


def nearest_warehouse(inst: Instance, ji: int, left: list[dict[str, int]]) -> int | None:
    job = inst.problem.jobs[ji]
    if not job.parts:
        return None
    cands = [
        (int(inst.dur[inst.wh_point[k], inst.job_point[ji]]), k)
        for k in range(len(inst.problem.warehouses))
        if parts_cover(left[k], job.parts)
    ]
    return min(cands)[1] if cands else None


def repair(inst: Instance, plan: Plan, deadline: float) -> int:
    """Insert still-unassigned jobs where they fit (highest priority first); return how many."""
    problem = inst.problem
    routes = {_route_key(r): r for r in plan.routes}
    added = 0
    todo = sorted(
        (inst.job_index[j] for j, u in plan.unassigned.items() if u.code == CAPACITY_EXHAUSTED),
        key=lambda ji: (problem.jobs[ji].priority, ji),
    )
    for ji in todo:
        if time.monotonic() > deadline:
            break
        job = problem.jobs[ji]
        wh = nearest_warehouse(inst, ji, _warehouse_left(inst, plan))
        allowed = inst.allowed_vehicles(job)
        found = best_insertion(inst, routes, ji, allowed, wh, deadline)
        if found is None and job.priority < 4:
            # Swap out one lower-priority job (the unassigned penalties are lexicographic).
            found = best_insertion(inst, routes, ji, allowed, wh, deadline, displace=True)
        if found is None:
            continue
        _, v, sch, displaced = found
        route = to_route(inst, v, sch)
        routes[_route_key(route)] = route
        plan.routes = list(routes.values())
        del plan.unassigned[job.id]
        for d in displaced:
            plan.unassigned[d] = Unassigned(CAPACITY_EXHAUSTED, "displaced by a higher priority")
        added += 1
    return added


def insert_emergency(
    problem: Problem, plan: Plan, job: Job, time_limit: float = 1.0
) -> InsertionResult:
    """Insert ``job`` into ``plan`` with the least disturbance; other routes are untouched."""
    t0 = time.monotonic()
    deadline = t0 + time_limit * 0.9
    jobs = [j for j in problem.jobs if j.id != job.id] + [job]
    prob = replace(problem, jobs=jobs)
    inst = Instance(prob, lazy=True)
    ji = inst.job_index[job.id]
    # Unchanged routes are shared with the input plan; changed ones are new objects.
    base = Plan(
        routes=[
            replace(r, stops=[s for s in r.stops if s.job_id != job.id])
            if job.id in r.job_ids()
            else r
            for r in plan.routes
        ],
        unassigned={k: u for k, u in plan.unassigned.items() if k != job.id},
        objective=dict(plan.objective),
        solve_seconds=plan.solve_seconds,
        status=plan.status,
    )
    allowed = inst.allowed_vehicles(job)
    wh = nearest_warehouse(inst, ji, _warehouse_left(inst, base))
    routes = {_route_key(r): r for r in base.routes}
    best = best_insertion(inst, routes, ji, allowed, wh, deadline)
    if best is None:
        best = best_insertion(inst, routes, ji, allowed, wh, deadline, displace=True)
    result_plan = replace(base, routes=list(base.routes), unassigned=dict(base.unassigned))
    if best is None:
        result_plan.unassigned[job.id] = explain.reason(inst, job, plan=base)
        result_plan.objective = objective_parts(prob, result_plan, inst)
        return InsertionResult(
            plan=result_plan,
            technician_id=None,
            day=None,
            seconds=round(time.monotonic() - t0, 4),
            reason=result_plan.unassigned[job.id].reason,
        )
    _, v, sch, displaced = best
    new_route = to_route(inst, v, sch)
    old_route = routes.get((v.tech.id, v.shift.day))
    old_starts = (
        {s.job_id: s.start for s in old_route.stops if s.kind == STOP_JOB} if old_route else {}
    )
    changes = [
        EtaChange(s.job_id, old_starts[s.job_id], s.start)
        for s in new_route.stops
        if s.kind == STOP_JOB and s.job_id in old_starts and old_starts[s.job_id] != s.start
    ]
    result_plan.routes = [
        r for r in result_plan.routes if _route_key(r) != (v.tech.id, v.shift.day)
    ] + [new_route]
    for d in displaced:
        result_plan.unassigned[d] = Unassigned(
            "displaced_by_emergency", f"displaced to make room for emergency job {job.id}"
        )
    result_plan.objective = objective_parts(prob, result_plan, inst)
    return InsertionResult(
        plan=result_plan,
        technician_id=v.tech.id,
        day=v.shift.day,
        eta_changes=changes,
        displaced=displaced,
        seconds=round(time.monotonic() - t0, 4),
    )
