"""Ruin-and-recreate improvement of a plan (SISR, compiled kernel in ``rr_kernel``).

Runs after OR-Tools inside the same time limit. It applies only to problems whose every
feature the kernel models exactly (``skip_reason`` says why not otherwise):

- modelled: one time window (or none) per job on the start of service, service durations,
  van capacity and demands, shift start/end (+ overtime allowance when overtime costs
  nothing), the technicians allowed per job (skills, levels, pins to a technician,
  technician-days of a multi-day horizon), unassigned penalties by priority, travel time
  and/or distance and a fixed cost per used technician-day in the objective;
- not modelled (the phase is skipped): breaks, absences, parts (van stock and warehouse
  pickups), pinned starts and started jobs, several windows per job, durations that depend
  on the technician's level, maximum working time, and the objective terms SLA lateness,
  overtime cost, workload balance, changes against a previous plan and continuity.

The result is never worse than the input in the objective and never has more unassigned
jobs; its times are the earliest feasible ones, as OR-Tools' finalizer gives.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from . import explain
from .instance import Instance, VehicleDay
from .model import STOP_JOB, Plan, Route, Stop

INF_TIME = 2**50
CHUNK_SECONDS = 0.02  # wall time per kernel call between clock checks
NEIGHBOURS = 40  # neighbour list length per customer (seeds of the string removals)
# Simulated-annealing temperature from T0 to Tf over the phase, as multiples of the mean
# arc cost of the starting plan.
T0_FACTOR = 1.0
TF_FACTOR = 0.01


def skip_reason(inst: Instance) -> str | None:
    """Why the phase cannot run on this problem exactly (None: it can)."""
    p, w = inst.problem, inst.problem.weights
    if not inst.vehicles:
        return "no technician-days"
    if any(v.breaks for v in inst.vehicles):
        return "breaks"
    if any(v.absences for v in inst.vehicles):
        return "absences"
    if any(v.max_span is not None for v in inst.vehicles):
        return "maximum working time"
    if w.overtime > 0 and any(
        v.latest_end > v.shift.end and v.tech.overtime_cost > 0 for v in inst.vehicles
    ):
        return "overtime cost"
    if w.balance > 0 and len(inst.vehicles) > 1:
        return "workload balance"
    if w.change > 0 and p.previous is not None and p.previous.routes:
        return "changes against a previous plan"
    for j in p.jobs:
        if j.parts:
            return "parts"
        if j.pinned_start is not None or j.started:
            return "pinned start or started job"
        if len(j.time_windows) > 1:
            return "several time windows"
        if j.duration_by_level:
            return "level-dependent duration"
        if j.sla_due is not None and w.sla_lateness > 0:
            return "SLA lateness"
        if j.last_technician is not None and w.continuity > 0:
            return "continuity"
    return None


class _Arrays:
    """The problem as the kernel's flat arrays (customers = jobs some vehicle may serve)."""

    def __init__(self, inst: Instance) -> None:
        p, w = inst.problem, inst.problem.weights
        self.jobs = [ji for ji, j in enumerate(p.jobs) if inst.allowed_vehicles(j)]
        self.cust_of = {ji: c for c, ji in enumerate(self.jobs)}
        vs = inst.vehicles
        pts = sorted(
            {inst.job_point[ji] for ji in self.jobs}
            | {v.start_point for v in vs}
            | {v.end_point for v in vs}
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
        jobs = [p.jobs[ji] for ji in self.jobs]
        n = len(jobs)
        self.cpt = np.asarray([local[inst.job_point[ji]] for ji in self.jobs], dtype=np.int64)
        self.svc = np.asarray([j.duration for j in jobs], dtype=np.int64)
        self.twa = np.asarray(
            [j.time_windows[0].start if j.time_windows else -INF_TIME for j in jobs], np.int64
        )
        self.twb = np.asarray(
            [j.time_windows[0].end if j.time_windows else INF_TIME for j in jobs], np.int64
        )
        self.dem = np.asarray([j.demand for j in jobs], dtype=np.int64)
        self.pen = np.asarray([_penalty(w, j) for j in jobs], dtype=np.float64)
        self.vsp = np.asarray([local[v.start_point] for v in vs], dtype=np.int64)
        self.vep = np.asarray([local[v.end_point] for v in vs], dtype=np.int64)
        self.vE = np.asarray([v.earliest_start for v in vs], dtype=np.int64)
        self.vL = np.asarray([v.latest_end for v in vs], dtype=np.int64)
        big = int(self.dem.sum()) + 1
        self.cap = np.asarray(
            [big if v.tech.capacity is None else v.tech.capacity for v in vs], dtype=np.int64
        )
        self.allowed = np.zeros((n, len(vs)), dtype=np.bool_)
        for c, ji in enumerate(self.jobs):
            self.allowed[c, inst.allowed_vehicles(p.jobs[ji])] = True
        starts = self.vsp
        self.depot_cost = (
            self.cc[starts[:, None], self.cpt[None, :]].min(axis=0)
            if n
            else np.zeros(0, np.float64)
        )
        k = min(NEIGHBOURS, max(0, n - 1))
        if n > 1:
            d = (
                self.cc[self.cpt[:, None], self.cpt[None, :]]
                + self.cc[self.cpt[None, :], self.cpt[:, None]]
            )
            np.fill_diagonal(d, np.inf)
            self.adj = np.argsort(d, axis=1, kind="stable")[:, :k].astype(np.int64)
        else:
            self.adj = np.zeros((n, 0), dtype=np.int64)


def _penalty(w, job) -> float:
    pen = w.unassigned.get(job.priority, w.unassigned[max(w.unassigned)])
    if job.sla_due is not None:
        pen += w.sla_risk
    return float(pen)


class _State:
    """Working, current and best route rows."""

    def __init__(self, a: _Arrays, inst: Instance, plan: Plan) -> None:
        nv, nc = len(inst.vehicles), len(a.jobs)
        self.rt = np.zeros((nv, nc + 1), dtype=np.int64)
        self.rl = np.zeros(nv, dtype=np.int64)
        self.ru = np.full(nc, -1, dtype=np.int64)
        for r in plan.routes:
            v = inst.vehicle_of[(r.technician_id, r.day)].index
            for jid in r.job_ids():
                c = a.cust_of[inst.job_index[jid]]
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
    from . import rr_kernel as k

    nv, nc = 1, 2
    f8, i8 = np.float64, np.int64
    tt = np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]], dtype=i8)
    cc = tt.astype(f8)
    rt = np.array([[1, 0, 0]], dtype=i8)
    rl = np.array([2], dtype=i8)
    ru = np.array([0, 0], dtype=i8)
    es, ls = np.zeros_like(rt), np.zeros_like(rt)
    ld, rc = np.zeros(nv, dtype=i8), np.zeros(nv, dtype=f8)
    cpt = np.array([1, 2], dtype=i8)
    zero = np.zeros(nc, dtype=i8)
    big = np.full(nc, 10**6, dtype=i8)
    pen = np.full(nc, 1e6)
    depot = np.ones(nc)
    adj = np.array([[1], [0]], dtype=i8)
    allowed = np.ones((nc, nv), dtype=np.bool_)
    vz = np.zeros(nv, dtype=i8)
    vL = np.full(nv, 10**6, dtype=i8)
    k.seed_rng(0)
    k.schedule(0, rt, rl, es, ls, ld, rc, cpt, zero, zero, big, zero, tt, cc, vz, vz, vz, vL)
    stats = np.array([k.total_cost(rl, rc, ru, pen, 0.0), 0.0, 0.0, 0, 0, 0], dtype=f8)
    stats[1] = stats[0]
    k.run(
        2, 1.0, 0.0, cpt, zero, zero, big, zero, pen, depot, adj, allowed,
        tt, cc, vz, vz, vz, vL, vL,
        rt, rl, es, ls, ld, rc, ru, rt.copy(), rl.copy(), rc.copy(), ru.copy(),
        rt.copy(), rl.copy(), ru.copy(), stats,
    )  # fmt: skip


def improve(inst: Instance, plan: Plan, deadline: float, seed: int = 0) -> tuple[Plan, dict]:
    """Improve ``plan`` by ruin and recreate until ``deadline`` (time.monotonic seconds).

    Returns the new plan (the input plan itself when nothing better was found) and the
    phase's figures (iterations, accepted moves, costs).
    """
    from . import rr_kernel as k

    a = _Arrays(inst)
    s = _State(a, inst, plan)
    info = {"iterations": 0, "accepted": 0, "improvements": 0}
    if not a.jobs:
        return plan, info
    for v in range(len(inst.vehicles)):
        if not k.schedule(v, s.rt, s.rl, s.es, s.ls, s.ld, s.rc, a.cpt, a.svc, a.twa, a.twb,
                          a.dem, a.tt, a.cc, a.vsp, a.vep, a.vE, a.vL):  # fmt: skip
            info["skipped"] = "input route infeasible in the kernel's model"
            return plan, info
    cost0 = k.total_cost(s.rl, s.rc, s.ru, a.pen, a.fixed)
    out0 = int((s.ru < 0).sum())
    stats = np.array([cost0, cost0, out0, 0, 0, 0], dtype=np.float64)
    cur = (s.rt.copy(), s.rl.copy(), s.rc.copy(), s.ru.copy())
    best = [s.rt.copy(), s.rl.copy(), s.ru.copy()]
    arcs = int(s.rl.sum()) + int((s.rl > 0).sum())
    mean_arc = float(sum(s.rc)) / arcs if arcs else 1.0
    t_hi, t_lo = T0_FACTOR * mean_arc, TF_FACTOR * mean_arc
    k.seed_rng(seed)
    t_start = time.monotonic()
    span = max(1e-3, deadline - t_start)
    chunk = 50
    while True:
        now = time.monotonic()
        if now >= deadline - 0.002:
            break
        frac = (now - t_start) / span
        temp = t_hi * (t_lo / t_hi) ** frac if t_hi > 0 else 0.0
        k.run(
            chunk, temp, a.fixed, a.cpt, a.svc, a.twa, a.twb, a.dem, a.pen, a.depot_cost,
            a.adj, a.allowed, a.tt, a.cc, a.vsp, a.vep, a.vE, a.vL, a.cap,
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
        cost_before=cost0,
        cost_after=float(stats[1]),
        seconds=round(time.monotonic() - t_start, 3),
    )
    if stats[1] >= cost0 - 1e-9:
        return plan, info
    return _to_plan(inst, a, plan, *best), info


def _to_plan(inst: Instance, a: _Arrays, old: Plan, rt, rl, ru) -> Plan:
    problem = inst.problem
    plan = Plan(status=old.status)
    for v in inst.vehicles:
        seq = [a.jobs[c] for c in rt[v.index, : rl[v.index]]]
        if seq:
            plan.routes.append(_route(inst, v, seq))
    served = {a.jobs[c] for c in range(len(a.jobs)) if ru[c] >= 0}
    for ji, job in enumerate(problem.jobs):
        if ji in served:
            continue
        was = old.unassigned.get(job.id)
        plan.unassigned[job.id] = was if was is not None else explain.reason(inst, job, plan=plan)
    return plan


def _route(inst: Instance, v: VehicleDay, seq: list[int]) -> Route:
    """A route visiting problem jobs ``seq`` in order, each as early as it can start."""
    jobs = inst.problem.jobs
    stops: list[Stop] = []
    prev_point, prev_end = v.start_point, v.earliest_start
    start = v.earliest_start
    for ji in seq:
        job = jobs[ji]
        pt = inst.job_point[ji]
        travel = int(inst.dur[prev_point, pt])
        arrival = prev_end + travel
        begin = max(arrival, job.time_windows[0].start) if job.time_windows else arrival
        if not stops:
            # Leave just in time rather than at the shift start.
            start = max(v.earliest_start, begin - travel)
            arrival = start + travel
        stops.append(
            Stop(
                kind=STOP_JOB,
                arrival=arrival,
                start=begin,
                end=begin + job.duration_for(v.tech),
                job_id=job.id,
                travel_seconds=travel,
                travel_metres=int(inst.dist[prev_point, pt]),
            )
        )
        prev_point, prev_end = pt, stops[-1].end
    back = int(inst.dur[prev_point, v.end_point])
    return Route(
        technician_id=v.tech.id,
        day=v.shift.day,
        start=start,
        end=prev_end + back,
        stops=stops,
        return_travel_seconds=back,
        return_travel_metres=int(inst.dist[prev_point, v.end_point]),
    )
