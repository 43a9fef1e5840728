"""An independent checker: every hard constraint of a plan, recomputed from scratch.

It deliberately shares no timing code with the optimizer: it rebuilds the travel matrix,
walks each route and lists every violation it finds.
"""

from __future__ import annotations

import numpy as np

from .matrix import GeodesicProvider, StaticMatrix
from .model import (
    STOP_ABSENCE,
    STOP_BREAK,
    STOP_JOB,
    STOP_WAREHOUSE,
    Location,
    Plan,
    Problem,
    Violation,
)


class _Travel:
    def __init__(self, problem: Problem) -> None:
        pts: list[Location | int] = []
        seen: dict[Location | int, int] = {}
        places = [t.start for t in problem.technicians]
        places += [t.end_location for t in problem.technicians]
        places += [j.location for j in problem.jobs] + [w.location for w in problem.warehouses]
        for p in places:
            if p not in seen:
                seen[p] = len(pts)
                pts.append(p)
        if problem.matrix is not None:
            m = StaticMatrix(problem.matrix.durations, problem.matrix.distances).matrix(pts)
        else:
            m = (problem.provider or GeodesicProvider()).matrix(pts)
        self.index = seen
        self.dur = np.asarray(m.durations)

    def __call__(self, a, b) -> int:
        return int(self.dur[self.index[a], self.index[b]])


def _overlap(a0: int, a1: int, b0: int, b1: int) -> int:
    return max(0, min(a1, b1) - max(a0, b0))


def validate(problem: Problem, plan: Plan) -> list[Violation]:
    """Return every hard-constraint violation of ``plan`` (empty when the plan is valid)."""
    out: list[Violation] = []

    def bad(code: str, msg: str, job=None, tech=None, day=None) -> None:
        out.append(Violation(code=code, message=msg, job_id=job, technician_id=tech, day=day))

    travel = _Travel(problem)
    jobs = {j.id: j for j in problem.jobs}
    techs = {t.id: t for t in problem.technicians}
    whs = {w.id: w for w in problem.warehouses}
    seen_jobs: dict[str, str] = {}
    seen_routes: set[tuple[str, int]] = set()
    picked: dict[tuple[str, str], int] = {}

    for r in plan.routes:
        tech = techs.get(r.technician_id)
        tid, day = r.technician_id, r.day
        if tech is None:
            bad("unknown_technician", f"route for unknown technician {tid}", tech=tid, day=day)
            continue
        if (tid, day) in seen_routes:
            bad("duplicate_route", f"two routes for {tid} on day {day}", tech=tid, day=day)
        seen_routes.add((tid, day))
        shifts = [s for s in tech.shifts if s.day == day]
        if not shifts or (problem.days is not None and not 0 <= day < problem.days):
            bad("no_shift", f"{tid} has no shift on day {day}", tech=tid, day=day)
            continue
        shift = shifts[0]
        places = [s for s in r.stops if s.kind in (STOP_JOB, STOP_WAREHOUSE)]
        job_stops = [s for s in r.stops if s.kind == STOP_JOB]
        if not job_stops:
            continue
        for a in tech.absences:
            if a.start <= shift.start and a.end >= shift.end:
                bad("absent", f"{tid} is absent all of day {day}", tech=tid, day=day)

        # Shift, overtime and working time.
        first_started = bool(
            job_stops and jobs.get(job_stops[0].job_id) and jobs[job_stops[0].job_id].started
        )
        if r.start < shift.start and not first_started:
            bad("shift_start", f"{tid} leaves before the shift starts", tech=tid, day=day)
        if r.end > shift.end + max(0, tech.overtime_allowance):
            bad(
                "shift_end",
                f"{tid} returns {r.end - shift.end}s after the shift end "
                f"(overtime allowance {tech.overtime_allowance}s)",
                tech=tid,
                day=day,
            )
        if tech.max_work is not None and r.end - r.start > tech.max_work:
            bad("max_work", f"{tid} works {r.end - r.start}s > {tech.max_work}s", tech=tid, day=day)
        if r.end < r.start:
            bad("route_times", f"{tid} returns before leaving", tech=tid, day=day)

        # Breaks: each break of the day exactly once, inside its window, full duration.
        brk_stops = sorted((s for s in r.stops if s.kind == STOP_BREAK), key=lambda s: s.start)
        rules = sorted(shift.breaks, key=lambda b: (b.window.start, b.window.end))
        if len(brk_stops) != len(rules):
            bad(
                "break_count",
                f"{tid} has {len(brk_stops)} breaks placed, {len(rules)} required",
                tech=tid,
                day=day,
            )
        for s, b in zip(brk_stops, rules, strict=False):
            if not b.window.start <= s.start <= b.window.end:
                bad("break_window", f"{tid} break starts outside its window", tech=tid, day=day)
            if s.end - s.start != b.duration:
                bad("break_duration", f"{tid} break lasts {s.end - s.start}s", tech=tid, day=day)
        busy = [(s.start, s.end, "break") for s in brk_stops]
        busy += [(a.start, a.end, "absence") for a in tech.absences]
        for i, (a0, a1, _) in enumerate(busy[: len(brk_stops)]):
            for b0, b1, _ in busy[i + 1 :]:
                if _overlap(a0, a1, b0, b1):
                    bad("break_overlap", f"{tid} break overlaps another pause", tech=tid, day=day)

        # Walk the route: travel, services, windows.
        load = 0
        stock = dict(tech.van_stock)
        prev_loc, prev_end = tech.start, r.start
        for s in places + [None]:
            if s is None:
                loc, nxt_start = tech.end_location, r.end
            elif s.kind == STOP_JOB:
                job = jobs.get(s.job_id)
                if job is None:
                    bad("unknown_job", f"unknown job {s.job_id}", job=s.job_id, tech=tid, day=day)
                    prev_end = max(prev_end, s.end)
                    continue
                loc, nxt_start = job.location, s.start
            else:
                wh = whs.get(s.warehouse_id)
                if wh is None:
                    bad("unknown_warehouse", f"unknown warehouse {s.warehouse_id}", tech=tid)
                    continue
                loc, nxt_start = wh.location, s.start
            need = travel(prev_loc, loc)
            paused = sum(_overlap(b0, b1, prev_end, nxt_start) for b0, b1, _ in busy)
            started_first = s is not None and s is places[0] and first_started
            if nxt_start - prev_end - paused < need and not started_first:
                what = "the return" if s is None else (s.job_id or s.warehouse_id)
                bad(
                    "travel_time",
                    f"{tid}: {nxt_start - prev_end - paused}s between stops for {need}s "
                    f"of travel to {what}",
                    job=None if s is None else s.job_id,
                    tech=tid,
                    day=day,
                )
            if s is None:
                break
            if s.travel_seconds != need:
                bad(
                    "travel_mismatch",
                    f"leg to {s.job_id or s.warehouse_id} reported {s.travel_seconds}s, is {need}s",
                    job=s.job_id,
                    tech=tid,
                    day=day,
                )
            if not (prev_end <= s.arrival <= s.start) and not started_first:
                bad(
                    "arrival",
                    f"arrival at {s.job_id or s.warehouse_id} inconsistent",
                    job=s.job_id,
                    tech=tid,
                    day=day,
                )
            for b0, b1, kind in busy:
                if _overlap(b0, b1, s.start, s.end):
                    bad(
                        f"{kind}_during_service",
                        f"{tid}'s {kind} overlaps the visit to {s.job_id or s.warehouse_id}",
                        job=s.job_id,
                        tech=tid,
                        day=day,
                    )
            if s.kind == STOP_WAREHOUSE:
                if wh.opening and not wh.opening.contains(s.start):
                    bad("warehouse_closed", f"{wh.id} closed at pickup", tech=tid, day=day)
                if s.end - s.start < wh.service_time:
                    bad("service_duration", f"pickup at {wh.id} too short", tech=tid, day=day)
                for p, q in s.parts.items():
                    stock[p] = stock.get(p, 0) + q
                    picked[(wh.id, p)] = picked.get((wh.id, p), 0) + q
                prev_loc, prev_end = loc, s.end
                continue
            # A job stop.
            jid = job.id
            if jid in seen_jobs:
                bad("duplicate_job", f"{jid} planned twice", job=jid, tech=tid, day=day)
            seen_jobs[jid] = tid
            if not job.qualified(tech):
                bad("skill", f"{tid} lacks the skills of {jid}", job=jid, tech=tid, day=day)
            if s.end - s.start != job.duration_for(tech):
                bad(
                    "service_duration",
                    f"{jid} lasts {s.end - s.start}s, needs {job.duration_for(tech)}s",
                    job=jid,
                    tech=tid,
                    day=day,
                )
            if job.pinned_technician is not None and job.pinned_technician != tid:
                bad(
                    "pinned_technician",
                    f"{jid} is pinned to {job.pinned_technician}",
                    job=jid,
                    tech=tid,
                    day=day,
                )
            if job.pinned_start is not None and s.start != job.pinned_start:
                bad(
                    "pinned_start",
                    f"{jid} must start at {job.pinned_start}, starts {s.start}",
                    job=jid,
                    tech=tid,
                    day=day,
                )
            if (
                job.time_windows
                and not job.started
                and not any(w.start <= s.start <= w.end for w in job.time_windows)
            ):
                bad(
                    "time_window",
                    f"{jid} starts at {s.start} outside its windows",
                    job=jid,
                    tech=tid,
                    day=day,
                )
            load += job.demand
            for p, q in job.parts.items():
                stock[p] = stock.get(p, 0) - q
                if stock[p] < 0:
                    bad("parts", f"{tid} has no {p} left for {jid}", job=jid, tech=tid, day=day)
            prev_loc, prev_end = loc, s.end
        if tech.capacity is not None and load > tech.capacity:
            bad("capacity", f"{tid} carries {load} > {tech.capacity}", tech=tid, day=day)
        times = sorted((s.start, s.end) for s in r.stops if s.kind != STOP_ABSENCE)
        for (_a0, a1), (b0, _) in zip(times, times[1:], strict=False):
            if b0 < a1:
                bad("overlap", f"{tid} has overlapping stops", tech=tid, day=day)
                break

    for (wid, p), q in picked.items():
        if q > whs[wid].stock.get(p, 0):
            bad("warehouse_stock", f"{q} x {p} picked at {wid}, stock {whs[wid].stock.get(p, 0)}")
    for jid, why in plan.unassigned.items():
        if jid not in jobs:
            bad("unknown_job", f"unassigned list names unknown job {jid}", job=jid)
        elif jid in seen_jobs:
            bad("planned_and_unassigned", f"{jid} is both planned and unassigned", job=jid)
        elif jobs[jid].started:
            bad("started_moved", f"{jid} already started but is not planned", job=jid)
        if not getattr(why, "reason", None):
            bad("no_reason", f"{jid} is unassigned without a reason", job=jid)
    for jid in jobs:
        if jid not in seen_jobs and jid not in plan.unassigned:
            bad("missing_job", f"{jid} is neither planned nor unassigned", job=jid)
    return out
