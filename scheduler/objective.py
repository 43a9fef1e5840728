"""Objective parts of a plan, recomputed from the plan itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .model import STOP_JOB, STOP_WAREHOUSE, Plan, Problem

if TYPE_CHECKING:
    from .instance import Instance


def objective_parts(problem: Problem, plan: Plan, inst: Instance) -> dict[str, float]:
    """Measure each objective term (raw amounts and the weighted total)."""
    w = problem.weights
    jobs = {j.id: j for j in problem.jobs}
    prev = problem.previous.assignment() if problem.previous else {}
    travel_s = travel_m = late = overtime = changes = continuity = 0
    overtime_cost = 0.0
    served_weight = 0
    work: dict[tuple[str, int], int] = {(v.tech.id, v.shift.day): 0 for v in inst.vehicles}
    for r in plan.routes:
        v = inst.vehicle_of[(r.technician_id, r.day)]
        travel_s += r.return_travel_seconds
        travel_m += r.return_travel_metres
        ot = max(0, r.end - v.shift.end)
        overtime += ot
        overtime_cost += ot * v.tech.overtime_cost
        for s in r.stops:
            if s.kind not in (STOP_JOB, STOP_WAREHOUSE):
                continue
            travel_s += s.travel_seconds
            travel_m += s.travel_metres
            if s.kind != STOP_JOB:
                continue
            job = jobs[s.job_id]
            work[(r.technician_id, r.day)] += s.end - s.start
            served_weight += (5 - job.priority) * job.duration
            if job.sla_due is not None and not job.started:
                late += max(0, s.start - job.sla_due)
            was = prev.get(job.id)
            if was is not None and was != (r.technician_id, r.day):
                changes += 1
            if job.last_technician is not None and job.last_technician != r.technician_id:
                continuity += 1
    by_priority = {f"unassigned_p{p}": 0 for p in range(1, 5)}
    penalty = 0
    for jid in plan.unassigned:
        job = jobs.get(jid)
        if job is None:
            continue
        by_priority[f"unassigned_p{min(max(job.priority, 1), 4)}"] += 1
        penalty += w.unassigned.get(job.priority, 0) + (w.sla_risk if job.sla_due else 0)
    loads = list(work.values())
    mean = sum(loads) / len(loads) if loads else 0.0
    spread = (sum((x - mean) ** 2 for x in loads) / len(loads)) ** 0.5 if loads else 0.0
    total = (
        penalty
        + w.sla_lateness * late
        + w.travel * travel_s
        + w.distance * travel_m
        + w.overtime * overtime_cost
        + w.change * changes
        + w.continuity * continuity
        + w.vehicle * len(plan.routes)
    )
    n_jobs = len(problem.jobs)
    assigned = n_jobs - len(plan.unassigned)
    return {
        "assigned": assigned,
        "unassigned": len(plan.unassigned),
        "assigned_share": round(assigned / n_jobs, 4) if n_jobs else 1.0,
        **by_priority,
        "unassigned_penalty": penalty,
        "priority_weighted_work_served": served_weight,
        "sla_lateness_seconds": late,
        "travel_seconds": travel_s,
        "travel_metres": travel_m,
        "overtime_seconds": overtime,
        "changes": changes,
        "continuity_misses": continuity,
        "workload_stddev_seconds": round(spread, 1),
        "routes": len(plan.routes),
        "total": round(total, 1),
    }
