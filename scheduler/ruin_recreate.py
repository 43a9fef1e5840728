"""Ruin-and-recreate improvement of a plan (SISR, compiled kernel in ``rr_kernel``).

Runs after OR-Tools inside the same time limit, and once more over the whole day after the
territory solves and the repair pass. The kernel times every route with the rule of
``scheduler.insertion.schedule`` (see ``rr_kernel``), so it models a real day exactly:

- hard rules: one or several time windows per job (a pinned start is a one-second window),
  service durations by the technician's level, lunch breaks (window + duration) and absences
  with drives split around them, shift start and latest return (overtime allowance), maximum
  working time, van capacity, van stock with a warehouse pick-up stop right before a job
  whose parts the van no longer holds, the technicians allowed per job (skills, levels, pins,
  technician-days), started jobs (never moved: a fixed part of their route);
- objective: travel time and/or distance, a fixed cost per used technician-day, unassigned
  penalties by priority (+ SLA risk), overtime cost, SLA lateness, changes against the
  previous plan, continuity, and workload above each technician's fair share. Moves are
  accepted on this whole objective, so two P4 jobs can make room for one P3.

Warehouse stock is shared by all routes; the kernel does not count it, and a result that
would overdraw a warehouse is dropped (the input plan is kept). An input route the rule
cannot time (OR-Tools placed its breaks differently and the greedy rule finds no room) is
kept as it is and left out of the search.

The result is never worse than the input on the whole objective (``plan_cost``); its times
are the earliest feasible ones under the break rule.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import numpy as np

from . import explain
from .instance import Instance, VehicleDay, arrival_after, parts_cover
from .model import (
    STOP_ABSENCE,
    STOP_BREAK,
    STOP_JOB,
    STOP_WAREHOUSE,
    Plan,
    Route,
    Stop,
)
from .objective import objective_parts

INF_TIME = 2**50
CHUNK_SECONDS = 0.02  # wall time per kernel call between clock checks
NEIGHBOURS = 40  # neighbour list length per customer (seeds of the string removals)
# Simulated-annealing temperature from T0 to Tf over the phase, as multiples of the mean
# arc cost of the starting plan.
T0_FACTOR = 1.0
TF_FACTOR = 0.01


def skip_reason(inst: Instance) -> str | None:
    """Why the phase cannot run on this problem (None: it can)."""
    if not inst.vehicles:
        return "no technician-days"
    return None


def balance_targets(inst: Instance) -> list[int]:
    """Each technician-day's fair share of the work (seconds), as the OR-Tools model sets it."""
    p = inst.problem
    total = sum(j.duration for j in p.jobs if inst.allowed_vehicles(j))
    capacity = sum(max(1, v.shift.end - v.shift.start) for v in inst.vehicles)
    share = min(1.0, total / capacity) if capacity else 0.0
    return [int(share * (v.shift.end - v.shift.start)) for v in inst.vehicles]


def plan_cost(inst: Instance, plan: Plan) -> float:
    """The whole objective of a plan: ``objective_parts`` total plus the balance term."""
    w = inst.problem.weights
    total = objective_parts(inst.problem, plan, inst)["total"]
    if w.balance > 0 and len(inst.vehicles) > 1:
        target = balance_targets(inst)
        dur = {j.id: j.duration for j in inst.problem.jobs}
        for r in plan.routes:
            v = inst.vehicle_of[(r.technician_id, r.day)]
            work = sum(dur[j] for j in r.job_ids())
            total += w.balance * max(0, work - target[v.index])
    return float(total)


def _penalty(w, job) -> float:
    pen = w.unassigned.get(job.priority, w.unassigned[max(w.unassigned)])
    if job.sla_due is not None:
        pen += w.sla_risk
    return float(pen)


class _Arrays:
    """The problem as the kernel's flat arrays (customers = jobs some vehicle may serve)."""

    def __init__(self, inst: Instance) -> None:
        p, w = inst.problem, inst.problem.weights
        vs = inst.vehicles
        nv = len(vs)
        self.jobs = [ji for ji, j in enumerate(p.jobs) if inst.allowed_vehicles(j)]
        self.cust_of = {ji: c for c, ji in enumerate(self.jobs)}
        jobs = [p.jobs[ji] for ji in self.jobs]
        n = len(jobs)
        self.wh = [inst.warehouse_for(j) for j in jobs]
        pts = sorted(
            {inst.job_point[ji] for ji in self.jobs}
            | {v.start_point for v in vs}
            | {v.end_point for v in vs}
            | {inst.wh_point[k] for k in self.wh if k is not None}
        )
        local = {pt: k for k, pt in enumerate(pts)}
        idx = np.asarray(pts, dtype=np.int64)
        sub = np.ix_(idx, idx)
        dur = np.asarray(inst.dur[sub], dtype=np.int64)
        self.tt = dur
        self.cc = w.travel * dur.astype(np.float64) + w.distance * np.asarray(
            inst.dist[sub], dtype=np.float64
        )
        self.fixed = float(w.vehicle)
        i8, f8 = np.int64, np.float64
        self.cpt = np.asarray([local[inst.job_point[ji]] for ji in self.jobs], dtype=i8)
        self.svc = np.asarray([[j.duration_for(v.tech) for j in jobs] for v in vs], dtype=i8)
        self.svc = self.svc.reshape(nv, n)
        wins = [
            [(j.pinned_start, j.pinned_start)]
            if j.pinned_start is not None
            else sorted((t.start, t.end) for t in j.time_windows)
            for j in jobs
        ]
        nw_max = max([len(x) for x in wins] + [1])
        self.nw = np.asarray([len(x) for x in wins], dtype=i8)
        self.twa = np.zeros((n, nw_max), dtype=i8)
        self.twb = np.zeros((n, nw_max), dtype=i8)
        for c, x in enumerate(wins):
            for k, (a, b) in enumerate(x):
                self.twa[c, k], self.twb[c, k] = a, b
        self.dem = np.asarray([j.demand for j in jobs], dtype=i8)
        self.pen = np.asarray([_penalty(w, j) for j in jobs], dtype=f8)
        self.fixc = np.asarray([j.started for j in jobs], dtype=np.bool_)
        self.sla = np.asarray(
            [
                j.sla_due if j.sla_due is not None and not j.started and w.sla_lateness > 0
                else INF_TIME
                for j in jobs
            ],
            dtype=i8,
        )  # fmt: skip
        self.slaw = float(w.sla_lateness)
        prev = p.previous.assignment() if p.previous is not None else {}
        self.pref = np.zeros((nv, n), dtype=f8)
        for c, j in enumerate(jobs):
            was = prev.get(j.id)
            for v in vs:
                cost = 0.0
                if was is not None and was != (v.tech.id, v.shift.day):
                    cost += w.change
                if j.last_technician is not None and j.last_technician != v.tech.id:
                    cost += w.continuity
                self.pref[v.index, c] = cost
        self.nomdur = np.asarray([j.duration for j in jobs], dtype=i8)
        self.balw = float(w.balance) if w.balance > 0 and nv > 1 else 0.0
        self.target = np.asarray(balance_targets(inst), dtype=i8)
        parts = sorted({q for j in jobs for q in j.parts})
        self.parts = parts
        self.hasparts = np.asarray([bool(j.parts) for j in jobs], dtype=np.bool_)
        self.need = np.zeros((n, max(1, len(parts))), dtype=i8)
        for c, j in enumerate(jobs):
            for q, k in j.parts.items():
                self.need[c, parts.index(q)] = k
        self.vstock = np.zeros((nv, max(1, len(parts))), dtype=i8)
        for v in vs:
            for k, q in enumerate(parts):
                self.vstock[v.index, k] = v.tech.van_stock.get(q, 0)
        self.whp = np.full(n, -1, dtype=i8)
        self.whsvc = np.zeros(n, dtype=i8)
        self.wha = np.zeros((n, 1), dtype=i8)
        self.whb = np.zeros((n, 1), dtype=i8)
        self.whn = np.zeros(n, dtype=i8)
        for c, k in enumerate(self.wh):
            if k is None or jobs[c].started:
                continue
            wh = inst.warehouse(k)
            self.whp[c] = local[inst.wh_point[k]]
            self.whsvc[c] = wh.service_time
            if wh.opening is not None:
                self.wha[c, 0], self.whb[c, 0], self.whn[c] = wh.opening.start, wh.opening.end, 1
        self.vsp = np.asarray([local[v.start_point] for v in vs], dtype=i8)
        self.vep = np.asarray([local[v.end_point] for v in vs], dtype=i8)
        self.vE = np.asarray([v.earliest_start for v in vs], dtype=i8)
        self.vL = np.asarray([v.latest_end for v in vs], dtype=i8)
        self.vS = np.asarray([v.shift.end for v in vs], dtype=i8)
        self.otc = np.asarray(
            [w.overtime * v.tech.overtime_cost if v.latest_end > v.shift.end else 0.0
             for v in vs], dtype=f8,
        )  # fmt: skip
        self.vmax = np.asarray([INF_TIME if v.max_span is None else v.max_span for v in vs], i8)
        big = int(self.dem.sum()) + 1
        self.cap = np.asarray(
            [big if v.tech.capacity is None else v.tech.capacity for v in vs], dtype=i8
        )
        nb_max = max([len(v.breaks) for v in vs] + [1])
        na_max = max([len(v.absences) for v in vs] + [1])
        self.nb = np.asarray([len(v.breaks) for v in vs], dtype=i8)
        self.bws = np.zeros((nv, nb_max), dtype=i8)
        self.bwe = np.zeros((nv, nb_max), dtype=i8)
        self.bdur = np.zeros((nv, nb_max), dtype=i8)
        for v in vs:
            # insertion.schedule considers pending breaks by window end, then start.
            order = sorted(v.breaks, key=lambda b: (b.window.end, b.window.start))
            for k, b in enumerate(order):
                self.bws[v.index, k] = b.window.start
                self.bwe[v.index, k] = b.window.end
                self.bdur[v.index, k] = b.duration
        self.na = np.asarray([len(v.absences) for v in vs], dtype=i8)
        self.aS = np.zeros((nv, na_max), dtype=i8)
        self.aE = np.zeros((nv, na_max), dtype=i8)
        for v in vs:
            for k, (lo, hi) in enumerate(v.absences):
                self.aS[v.index, k], self.aE[v.index, k] = lo, hi
        self.allowed = np.zeros((n, nv), dtype=np.bool_)
        for c, ji in enumerate(self.jobs):
            j = p.jobs[ji]
            for vi in inst.allowed_vehicles(j):
                if self.whp[c] >= 0 or parts_cover(vs[vi].tech.van_stock, j.parts):
                    self.allowed[c, vi] = True
        plain = not self.hasparts.any() and (self.slaw == 0 or bool((self.sla >= INF_TIME).all()))
        self.simple = np.asarray(
            [plain and self.nb[v] == 0 and self.na[v] == 0 and self.vmax[v] >= INF_TIME
             and self.otc[v] == 0 for v in range(nv)], dtype=np.bool_,
        )  # fmt: skip
        starts = self.vsp
        self.depot_cost = (
            self.cc[starts[:, None], self.cpt[None, :]].min(axis=0) if n else np.zeros(0, f8)
        )
        k = min(NEIGHBOURS, max(0, n - 1))
        if n > 1:
            d = (
                self.cc[self.cpt[:, None], self.cpt[None, :]]
                + self.cc[self.cpt[None, :], self.cpt[:, None]]
            )
            np.fill_diagonal(d, np.inf)
            self.adj = np.argsort(d, axis=1, kind="stable")[:, :k].astype(i8)
        else:
            self.adj = np.zeros((n, 0), dtype=i8)

    def kernel(self) -> tuple:
        """The static arrays in the order ``rr_kernel`` unpacks them."""
        return (
            self.cpt, self.svc, self.twa, self.twb, self.nw, self.dem, self.sla, self.slaw,
            self.pref, self.nomdur, self.hasparts, self.need, self.whp, self.whsvc, self.wha,
            self.whb, self.whn, self.vsp, self.vep, self.vE, self.vL, self.vS, self.otc,
            self.vmax, self.cap, self.vstock, self.nb, self.bws, self.bwe, self.bdur, self.na,
            self.aS, self.aE, self.target, self.balw, self.tt, self.cc,
        )  # fmt: skip

    def scratch(self) -> tuple:
        """Work buffers of ``rr_kernel.schedule``."""
        npause = int(self.nb.max(initial=0) + self.na.max(initial=0)) + 2
        width = len(self.jobs) + 1
        return (
            np.empty(npause, np.int64),
            np.empty(npause, np.int64),
            np.empty(max(1, int(self.nb.max(initial=0))), np.bool_),
            np.empty(self.need.shape[1], np.int64),
            np.empty(width, np.bool_),
            np.empty(width, np.int64),
            np.empty(4, np.int64),
        )


class _State:
    """Working, current and best route rows."""

    def __init__(self, a: _Arrays, inst: Instance, plan: Plan) -> None:
        nv, nc = len(inst.vehicles), len(a.jobs)
        self.rt = np.zeros((nv, nc + 1), dtype=np.int64)
        self.rl = np.zeros(nv, dtype=np.int64)
        self.ru = np.full(nc, -1, dtype=np.int64)
        self.nfix = np.zeros(nv, dtype=np.int64)
        self.frozen: set[int] = set()
        for r in plan.routes:
            v = inst.vehicle_of[(r.technician_id, r.day)].index
            for jid in r.job_ids():
                ji = inst.job_index[jid]
                c = a.cust_of.get(ji)
                if c is None:
                    # A job no technician may do now (the input came from elsewhere).
                    self.frozen.add(v)
                    continue
                self.rt[v, self.rl[v]] = c
                self.rl[v] += 1
                self.ru[c] = v
        self.es = np.zeros_like(self.rt)
        self.ls = np.zeros_like(self.rt)
        self.ld = np.zeros(nv, dtype=np.int64)
        self.rc = np.zeros(nv, dtype=np.float64)


_warm_lock = threading.Lock()
_warm = False


def warm_up() -> float:
    """Load (or compile) the kernel once per process; return the seconds this call took.

    The first call runs the kernel on a two-customer problem, which loads it from numba's
    cache or compiles it (about 8 s on a 2-core box without a cache); later calls return at
    once. Processes that execute optimization runs call it when they start, so that no run
    pays the compilation inside its own time limit.
    """
    global _warm
    t0 = time.monotonic()
    with _warm_lock:
        if not _warm:
            _exercise_kernel()
            _warm = True
    return time.monotonic() - t0


def _exercise_kernel() -> None:
    """Run every kernel entry point once on a two-job day with a break."""
    from .model import Break, Job, Problem, Shift, Technician, TimeWindow, TravelMatrix

    dur = np.array([[0, 60, 60], [60, 0, 60], [60, 60, 0]], dtype=np.int64)
    shift = Shift(0, 0, 36_000, (Break(TimeWindow(3_600, 7_200), 600),))
    problem = Problem(
        origin=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        technicians=[Technician("T", 0, shifts=[shift])],
        jobs=[Job("A", 1, 600), Job("B", 2, 600, time_windows=[TimeWindow(0, 20_000)])],
        matrix=TravelMatrix(dur, dur),
    )
    inst = Instance(problem)
    improve(inst, Plan(), time.monotonic() + 0.001, iterations=2)


def improve(
    inst: Instance, plan: Plan, deadline: float, seed: int = 0, iterations: int | None = None
) -> tuple[Plan, dict]:
    """Improve ``plan`` by ruin and recreate until ``deadline`` (time.monotonic seconds).

    Returns the new plan (the input plan itself when nothing better was found) and the
    phase's figures: iterations, accepted moves, exact re-timings, the whole objective
    before and after, seconds, and ``kept_input`` with the reason when the input stays.
    """
    from . import rr_kernel as k

    t_start = time.monotonic()
    info: dict = {"iterations": 0, "accepted": 0, "improvements": 0}
    reason = skip_reason(inst)
    if reason is not None:
        info["skipped"] = reason
        return plan, info
    a = _Arrays(inst)
    if not a.jobs:
        info["skipped"] = "no job any technician may do"
        return plan, info
    s = _State(a, inst, plan)
    d = a.kernel()
    scr = a.scratch()
    for v in range(len(inst.vehicles)):
        if v in s.frozen or not k.schedule(v, s.rt, s.rl, s.es, s.ls, s.ld, s.rc, d, *scr):
            # The rule cannot time this route as it is: keep it out of the search.
            s.frozen.add(v)
    for v in s.frozen:
        a.allowed[:, v] = False
        a.fixc[s.rt[v, : s.rl[v]]] = True
        s.rc[v] = 0.0
    s.nfix[:] = [int(a.fixc[s.rt[v, : s.rl[v]]].sum()) for v in range(len(inst.vehicles))]
    cost0 = k.total_cost(s.rl, s.rc, s.ru, a.pen, a.fixed)
    stats = np.array([cost0, cost0, 0, 0, 0, 0, 0], dtype=np.float64)
    cur = (s.rt.copy(), s.rl.copy(), s.rc.copy(), s.ru.copy())
    best = [s.rt.copy(), s.rl.copy(), s.ru.copy()]
    arcs = int(s.rl.sum()) + int((s.rl > 0).sum())
    mean_arc = float(sum(s.rc)) / arcs if arcs else 1.0
    mean_arc = max(mean_arc, 1.0)
    t_hi, t_lo = T0_FACTOR * mean_arc, TF_FACTOR * mean_arc
    k.seed_rng(seed)
    span = max(1e-3, deadline - t_start)
    chunk = 20
    while True:
        now = time.monotonic()
        if iterations is not None:
            if stats[3] >= iterations:
                break
            chunk = iterations
        elif now >= deadline - 0.002 and (stats[3] > 0 or plan.routes):
            # With no plan to start from (OR-Tools found none in time) one chunk still runs;
            # it builds a plan greedily.
            break
        frac = min(1.0, (now - t_start) / span)
        temp = t_hi * (t_lo / t_hi) ** frac if t_hi > 0 else 0.0
        k.run(
            chunk, temp, a.fixed, a.pen, a.depot_cost, a.adj, a.allowed, a.fixc, s.nfix, a.simple,
            d,
            s.rt, s.rl, s.es, s.ls, s.ld, s.rc, s.ru, *cur, *best, stats,
        )  # fmt: skip
        took = time.monotonic() - now
        left = deadline - time.monotonic()
        per = took / chunk if took > 0 else 1e-6
        chunk = int(max(1, min(CHUNK_SECONDS, left) / per))
    info.update(
        iterations=int(stats[3]),
        accepted=int(stats[4]),
        improvements=int(stats[5]),
        exact_timings=int(stats[2]),
        local_search_gains=int(stats[6]),
        frozen_routes=len(s.frozen),
    )
    before = plan_cost(inst, plan) if plan.routes or plan.unassigned else float("inf")
    info["cost_before"] = before
    info["cost_after"] = before
    out = plan
    if stats[1] < cost0 - 1e-9:
        new, why = _to_plan(inst, a, plan, s.frozen, *best)
        if new is None:
            info["kept_input"] = why
        else:
            after = plan_cost(inst, new)
            if after < before - 1e-6:
                out = new
                info["cost_after"] = after
            else:
                info["kept_input"] = "no gain on the whole objective after exact re-timing"
    info["gain"] = round(info["cost_before"] - info["cost_after"], 1) if out is not plan else 0.0
    info["seconds"] = round(time.monotonic() - t_start, 3)
    return out, info


def _route(inst: Instance, a: _Arrays, v: VehicleDay, seq: list[int]) -> Route | None:
    """Route ``seq`` (customers) of vehicle ``v`` timed by the kernel's rule (None: it cannot)."""
    from . import rr_kernel as k

    n = len(seq)
    row = np.asarray(seq + [0], dtype=np.int64)
    out = np.zeros(n + 1, dtype=np.int64)
    scr = a.scratch()
    lo, hi, pick, wout, meta = scr[0], scr[1], scr[4], scr[5], scr[6]
    if k.timed(v.index, row, n, out, wout, meta, a.kernel(), *scr[:5]) < 0:
        return None
    start, end, npa = int(meta[0]), int(meta[1]), int(meta[2])
    pauses = [(int(lo[i]), int(hi[i])) for i in range(npa)]
    absent = set(v.absences)
    problem = inst.problem
    stops: list[Stop] = []
    prev, prev_end = v.start_point, start

    def leg(point: int, begin: int) -> dict:
        travel = int(inst.dur[prev, point])
        arr = arrival_after(prev_end, travel, [(*p, "") for p in pauses if p[1] > prev_end])
        return dict(
            arrival=min(arr, begin),
            start=begin,
            travel_seconds=travel,
            travel_metres=int(inst.dist[prev, point]),
        )

    for pos, c in enumerate(seq):
        ji = a.jobs[c]
        job = problem.jobs[ji]
        if pick[pos]:
            wh = inst.warehouse(a.wh[c])
            pt = inst.wh_point[a.wh[c]]
            b = int(wout[pos])
            stops.append(
                Stop(kind=STOP_WAREHOUSE, end=b + wh.service_time, warehouse_id=wh.id,
                     parts=dict(job.parts), **leg(pt, b))
            )  # fmt: skip
            prev, prev_end = pt, b + wh.service_time
        pt = inst.job_point[ji]
        b = int(out[pos])
        stops.append(
            Stop(kind=STOP_JOB, end=b + job.duration_for(v.tech), job_id=job.id, **leg(pt, b))
        )
        prev, prev_end = pt, stops[-1].end
    for p0, p1 in pauses:
        kind = STOP_ABSENCE if (p0, p1) in absent else STOP_BREAK
        stops.append(Stop(kind=kind, arrival=p0, start=p0, end=p1))
    stops.sort(key=lambda st: st.start)
    return Route(
        technician_id=v.tech.id,
        day=v.shift.day,
        start=start,
        end=end,
        stops=stops,
        return_travel_seconds=int(inst.dur[prev, v.end_point]),
        return_travel_metres=int(inst.dist[prev, v.end_point]),
    )


def _to_plan(inst: Instance, a: _Arrays, old: Plan, frozen: set[int], rt, rl, ru):
    """The kernel's best routes as a Plan (None and why when they cannot be used)."""
    problem = inst.problem
    plan = Plan(status=old.status)
    olds = {(r.technician_id, r.day): r for r in old.routes}
    for v in inst.vehicles:
        if v.index in frozen:
            r = olds.get((v.tech.id, v.shift.day))
            if r is not None:
                plan.routes.append(r)
            continue
        seq = [int(c) for c in rt[v.index, : rl[v.index]]]
        if not seq:
            continue
        route = _route(inst, a, v, seq)
        if route is None:
            return None, f"route of {v.tech.id} day {v.shift.day} not timed by the exact rule"
        plan.routes.append(route)
    # Warehouse stock is shared by all routes.
    left = {w.id: dict(w.stock) for w in problem.warehouses}
    for r in plan.routes:
        for st in r.stops:
            if st.kind == STOP_WAREHOUSE:
                for q, n in st.parts.items():
                    left[st.warehouse_id][q] = left[st.warehouse_id].get(q, 0) - n
    if any(n < 0 for stock in left.values() for n in stock.values()):
        return None, "the routes would overdraw a warehouse"
    served = {inst.job_index[s.job_id] for r in plan.routes for s in r.stops if s.kind == STOP_JOB}
    for ji, job in enumerate(problem.jobs):
        if ji in served:
            continue
        was = old.unassigned.get(job.id)
        plan.unassigned[job.id] = was if was is not None else explain.reason(inst, job, plan=plan)
    return plan, None
