"""Reasons, in a dispatcher's words, why a job is not in the plan."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .instance import Instance, parts_cover
from .model import (
    CAPACITY_EXHAUSTED,
    DEMAND_TOO_LARGE,
    NO_SKILL,
    NO_SKILLED_ON_DAY,
    PARTS_UNAVAILABLE,
    PINNED_UNAVAILABLE,
    TOO_LONG,
    WINDOW_UNREACHABLE,
    Job,
    Unassigned,
)

if TYPE_CHECKING:
    from .model import Plan


def _skills_text(job: Job) -> str:
    return " and ".join(
        f"skill {s} level ≥ {lvl}" for s, lvl in sorted(job.required_skills.items())
    )


def _hhmm(t: int) -> str:
    day, rest = divmod(t, 86_400)
    h, m = divmod(rest // 60, 60)
    return f"day {day} {h:02d}:{m:02d}" if day else f"{h:02d}:{m:02d}"


def reason(inst: Instance, job: Job, plan: Plan | None = None) -> Unassigned:
    """Explain why ``job`` is unassigned (from the most to the least fundamental cause)."""
    techs = inst.problem.technicians
    if job.pinned_technician is not None:
        pinned = [t for t in techs if t.id == job.pinned_technician]
        if not pinned:
            return Unassigned(
                PINNED_UNAVAILABLE, f"pinned technician {job.pinned_technician} is unknown"
            )
        if not any(v.tech.id == job.pinned_technician for v in inst.vehicles):
            return Unassigned(
                PINNED_UNAVAILABLE,
                f"pinned technician {job.pinned_technician} does not work in the horizon",
            )
    qualified = [t for t in techs if job.qualified(t)]
    if job.pinned_technician is not None:
        qualified = [t for t in qualified if t.id == job.pinned_technician]
    if not qualified:
        missing = [
            f"skill {s} level ≥ {lvl}"
            for s, lvl in sorted(job.required_skills.items())
            if not any(t.skills.get(s, 0) >= lvl for t in techs)
        ]
        what = " and ".join(missing) if missing else _skills_text(job)
        who = "no technician" if job.pinned_technician is None else "the pinned technician"
        return Unassigned(NO_SKILL, f"{who} has {what}")
    q_ids = {t.id for t in qualified}
    on_duty = [v for v in inst.vehicles if v.tech.id in q_ids]
    if not on_duty:
        return Unassigned(
            NO_SKILLED_ON_DAY,
            f"no technician with {_skills_text(job) or 'the required skills'} works that day",
        )
    windows = job.time_windows
    if windows:
        overlapping = [
            v
            for v in on_duty
            if any(w.start <= v.latest_end and w.end >= v.earliest_start for w in windows)
        ]
        if not overlapping:
            return Unassigned(
                NO_SKILLED_ON_DAY,
                f"no technician with {_skills_text(job) or 'the required skills'} works during "
                "the job's time windows",
            )
        on_duty = overlapping
    fits_cap = [v for v in on_duty if v.tech.capacity is None or job.demand <= v.tech.capacity]
    if not fits_cap:
        return Unassigned(
            DEMAND_TOO_LARGE, f"the load ({job.demand}) exceeds every qualified van's capacity"
        )
    jp = inst.point(job.location)
    reachable = [v for v in fits_cap if inst.window_fits(job, v, job.duration_for(v.tech))]
    if not reachable:
        earliest = min(v.earliest_start + int(inst.dur[v.start_point, jp]) for v in fits_cap)
        if windows and earliest > max(w.end for w in windows):
            return Unassigned(
                WINDOW_UNREACHABLE,
                "time window closes before any skilled technician can arrive "
                f"(earliest arrival {_hhmm(earliest)}, window closes "
                f"{_hhmm(max(w.end for w in windows))})",
            )
        return Unassigned(
            TOO_LONG,
            "the job cannot be done and the technician back before any qualified shift ends",
        )
    allowed = inst.allowed_vehicles(job)
    if not allowed:
        return Unassigned(
            TOO_LONG, "the job does not fit in any qualified technician's maximum working time"
        )
    van = any(parts_cover(inst.vehicles[v].tech.van_stock, job.parts) for v in allowed)
    if job.parts and not van and inst.warehouse_for(job) is None:
        return parts_reason(inst, job)
    n = len({inst.vehicles[v].tech.id for v in allowed})
    return Unassigned(
        CAPACITY_EXHAUSTED,
        f"capacity exhausted: the {n} qualified technician(s) who could do it are fully booked "
        "with other or higher-priority work",
    )


def parts_reason(inst: Instance, job: Job) -> Unassigned:
    parts = ", ".join(f"{p} x{q}" for p, q in sorted(job.parts.items()))
    return Unassigned(
        PARTS_UNAVAILABLE,
        f"parts unavailable: no qualified van and no warehouse holds {parts}",
    )
