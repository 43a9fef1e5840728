"""The hard rules of a plan: one small function per rule, and which engine encodes each.

A rule reads one route as a :class:`Timeline` (a technician's day: the visits in order with
their times, the drive before each and the pauses) and yields a :class:`Violation` for each
way the route breaks it; a few rules also look at the whole plan (a job planned twice, a
warehouse emptied by several routes). :data:`RULES` lists them all. Who reads them:

- ``validate.validate`` runs every rule over every route of a plan;
- ``explain.reason`` asks the rules in order which technician-days could take a job at all
  (``admits``) and names the first rule that leaves none (``why``);
- ``Instance.allowed_vehicles`` is the same question, parts aside (a van or a pick-up);
- ``insertion.schedule``, the exact schedule, picks starts and breaks with this module's
  helpers (``start_windows``, ``window_start``, ``break_slot``, ``break_first``) and checks the
  return, the working time, the load and the van stock with the same predicates.

The OR-Tools model (``optimizer.Model``) and the compiled ruin-and-recreate kernel keep their
own encodings; :data:`ENCODED_IN` says, one line per rule, how each encodes it or that it does
not (a test fails when a rule has no line, or when the kernel phase would run on a day with a
rule the kernel does not encode).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .model import (
    CAPACITY_EXHAUSTED,
    DEMAND_TOO_LARGE,
    NO_SKILL,
    NO_SKILLED_ON_DAY,
    PARTS_UNAVAILABLE,
    PINNED_UNAVAILABLE,
    STOP_ABSENCE,
    STOP_BREAK,
    STOP_JOB,
    STOP_WAREHOUSE,
    TOO_LONG,
    WINDOW_UNREACHABLE,
    Break,
    Job,
    Plan,
    Problem,
    Route,
    Shift,
    Stop,
    Technician,
    TimeWindow,
    Unassigned,
    Violation,
    Warehouse,
)

if TYPE_CHECKING:
    from .instance import Instance, VehicleDay

Travel = Callable[[object, object], int]  # seconds from one location to another


# -- the route as the rules read it -----------------------------------------------------------


@dataclass
class Leg:
    """The drive to one place and the visit there (``stop`` None: the drive home)."""

    stop: Stop | None
    job: Job | None  # the job visited (None at a pick-up and on the drive home)
    warehouse: Warehouse | None  # the warehouse of a pick-up
    ready: int  # when the previous visit ended (or the departure)
    due: int  # when this visit starts (or the return)
    need: int  # seconds of driving the leg takes
    paused: int  # seconds of breaks and absences inside the gap
    exempt: bool  # the started job a route opens with: the technician is already there


@dataclass
class Timeline:
    """One technician-day of a plan: the route, its shift, its legs and its pauses."""

    problem: Problem
    tech: Technician
    shift: Shift
    route: Route
    legs: list[Leg]  # in order; the last one is the drive home
    breaks: list[Stop]  # the break stops, by start
    pauses: list[tuple[int, int, str]]  # breaks then absences: (start, end, kind)
    first_started: bool  # the route opens with a job already started

    @property
    def visits(self) -> list[Leg]:
        return [leg for leg in self.legs if leg.stop is not None]

    def bad(self, code: str, message: str, job: str | None = None) -> Violation:
        return Violation(code, message, job, self.tech.id, self.route.day)


def overlap(a0: int, a1: int, b0: int, b1: int) -> int:
    return max(0, min(a1, b1) - max(a0, b0))


def timelines(
    problem: Problem, plan: Plan, travel: Travel
) -> tuple[list[Timeline], list[Violation]]:
    """The plan's routes as timelines, and the routes that cannot be read as one."""
    jobs = {j.id: j for j in problem.jobs}
    techs = {t.id: t for t in problem.technicians}
    whs = {w.id: w for w in problem.warehouses}
    out: list[Timeline] = []
    bad: list[Violation] = []
    seen: set[tuple[str, int]] = set()
    for r in plan.routes:
        tid, day = r.technician_id, r.day
        tech = techs.get(tid)
        if tech is None:
            bad.append(
                Violation(
                    "unknown_technician", f"route for unknown technician {tid}", None, tid, day
                )
            )
            continue
        if (tid, day) in seen:
            bad.append(
                Violation("duplicate_route", f"two routes for {tid} on day {day}", None, tid, day)
            )
        seen.add((tid, day))
        shifts = [s for s in tech.shifts if s.day == day]
        if not shifts or (problem.days is not None and not 0 <= day < problem.days):
            bad.append(Violation("no_shift", f"{tid} has no shift on day {day}", None, tid, day))
            continue
        if any(s.kind == STOP_JOB for s in r.stops):
            out.append(_timeline(problem, tech, shifts[0], r, travel, jobs, whs, bad))
    return out, bad


def _timeline(problem, tech, shift, r: Route, travel: Travel, jobs, whs, bad) -> Timeline:
    places = [s for s in r.stops if s.kind in (STOP_JOB, STOP_WAREHOUSE)]
    first = jobs.get(next(s.job_id for s in r.stops if s.kind == STOP_JOB))
    first_started = bool(first and first.started)
    breaks = sorted((s for s in r.stops if s.kind == STOP_BREAK), key=lambda s: s.start)
    pauses = [(s.start, s.end, "break") for s in breaks]
    pauses += [(a.start, a.end, "absence") for a in tech.absences]
    legs: list[Leg] = []
    prev_loc, prev_end = tech.start, r.start
    for s in [*places, None]:
        job = wh = None
        if s is None:
            loc, due = tech.end_location, r.end
        elif s.kind == STOP_JOB:
            job = jobs.get(s.job_id)
            if job is None:
                bad.append(
                    Violation("unknown_job", f"unknown job {s.job_id}", s.job_id, tech.id, r.day)
                )
                prev_end = max(prev_end, s.end)
                continue
            loc, due = job.location, s.start
        else:
            wh = whs.get(s.warehouse_id)
            if wh is None:
                bad.append(
                    Violation(
                        "unknown_warehouse", f"unknown warehouse {s.warehouse_id}", None, tech.id
                    )
                )
                continue
            loc, due = wh.location, s.start
        paused = sum(overlap(b0, b1, prev_end, due) for b0, b1, _ in pauses)
        exempt = s is not None and s is places[0] and first_started
        legs.append(Leg(s, job, wh, prev_end, due, travel(prev_loc, loc), paused, exempt))
        if s is not None:
            prev_loc, prev_end = loc, s.end
    return Timeline(problem, tech, shift, r, legs, breaks, pauses, first_started)


# -- shared predicates (the validator checks them, the exact schedule builds with them) --------


def latest_return(tech: Technician, shift: Shift) -> int:
    """The shift end plus the overtime the technician may work."""
    return shift.end + max(0, tech.overtime_allowance)


def within_max_work(max_work: int | None, start: int, end: int) -> bool:
    return max_work is None or end - start <= max_work


def load_fits(tech: Technician, load: int) -> bool:
    return tech.capacity is None or load <= tech.capacity


def parts_cover(stock: dict[str, int], parts: dict[str, int]) -> bool:
    return all(stock.get(p, 0) >= q for p, q in parts.items())


def start_windows(job: Job) -> list[TimeWindow]:
    """When the job may start: at its pinned start if it has one, else in its windows."""
    if job.pinned_start is not None:
        return [TimeWindow(job.pinned_start, job.pinned_start)]
    return list(job.time_windows)


def in_window(t: int, windows: Iterable[TimeWindow]) -> bool:
    return any(w.start <= t <= w.end for w in windows)


def window_start(t: int, windows: list[TimeWindow]) -> int | None:
    """The earliest start at or after ``t`` inside one of the windows (None: all closed)."""
    if not windows:
        return t
    for w in sorted(windows, key=lambda w: w.start):
        if t <= w.end:
            return max(t, w.start)
    return None


def break_slot(t: int, brk: Break, pauses: list[tuple[int, int, str]]) -> int | None:
    """The earliest start at or after ``t`` for ``brk`` inside its window, clear of pauses."""
    s = max(t, brk.window.start)
    for _ in range(20):
        clash = [p for p in pauses if p[0] < s + brk.duration and p[1] > s]
        if not clash:
            return s if s <= brk.window.end else None
        s = max(p[1] for p in clash)
    return None


def break_first(brk: Break, visit_end: int) -> bool:
    """Must the break come before a visit ending then? (Its window closes before.)"""
    return visit_end > brk.window.end


# -- the rules --------------------------------------------------------------------------------


def pinned_technician(tl: Timeline) -> Iterator[Violation]:
    """A job pinned to a technician is planned only on that technician's route."""
    for leg in tl.visits:
        job = leg.job
        if job is not None and job.pinned_technician not in (None, tl.tech.id):
            yield tl.bad(
                "pinned_technician", f"{job.id} is pinned to {job.pinned_technician}", job.id
            )


def pinned_start(tl: Timeline) -> Iterator[Violation]:
    """A job with a pinned start starts exactly then."""
    for leg in tl.visits:
        job, s = leg.job, leg.stop
        if job is not None and job.pinned_start is not None and s.start != job.pinned_start:
            yield tl.bad(
                "pinned_start",
                f"{job.id} must start at {job.pinned_start}, starts {s.start}",
                job.id,
            )


def skills(tl: Timeline) -> Iterator[Violation]:
    """The technician has every required skill at the required level."""
    for leg in tl.visits:
        if leg.job is not None and not leg.job.qualified(tl.tech):
            yield tl.bad("skill", f"{tl.tech.id} lacks the skills of {leg.job.id}", leg.job.id)


def service_durations(tl: Timeline) -> Iterator[Violation]:
    """A visit lasts the job's duration for the technician's level."""
    for leg in tl.visits:
        job, s = leg.job, leg.stop
        if job is not None and s.end - s.start != job.duration_for(tl.tech):
            yield tl.bad(
                "service_duration",
                f"{job.id} lasts {s.end - s.start}s, needs {job.duration_for(tl.tech)}s",
                job.id,
            )


def time_windows(tl: Timeline) -> Iterator[Violation]:
    """A job starts inside one of its windows (a started job is exempt); a pick-up happens
    while the warehouse is open."""
    for leg in tl.visits:
        job, wh, s = leg.job, leg.warehouse, leg.stop
        windowed = job is not None and job.time_windows and not job.started
        if windowed and not in_window(s.start, job.time_windows):
            yield tl.bad("time_window", f"{job.id} starts at {s.start} outside its windows", job.id)
        if wh is not None and wh.opening and not wh.opening.contains(s.start):
            yield tl.bad("warehouse_closed", f"{wh.id} closed at pickup")


def capacity(tl: Timeline) -> Iterator[Violation]:
    """The jobs of a route fit in the van."""
    load = sum(leg.job.demand for leg in tl.visits if leg.job is not None)
    if not load_fits(tl.tech, load):
        yield tl.bad("capacity", f"{tl.tech.id} carries {load} > {tl.tech.capacity}")


def shift(tl: Timeline) -> Iterator[Violation]:
    """The route leaves no earlier than the shift starts (unless it opens with a started job)."""
    r, tid = tl.route, tl.tech.id
    if r.start < tl.shift.start and not tl.first_started:
        yield tl.bad("shift_start", f"{tid} leaves before the shift starts")
    if r.end < r.start:
        yield tl.bad("route_times", f"{tid} returns before leaving")


def overtime(tl: Timeline) -> Iterator[Violation]:
    """The route is back by the shift end plus the technician's overtime allowance."""
    r, tech = tl.route, tl.tech
    if r.end > latest_return(tech, tl.shift):
        yield tl.bad(
            "shift_end",
            f"{tech.id} returns {r.end - tl.shift.end}s after the shift end "
            f"(overtime allowance {tech.overtime_allowance}s)",
        )


def max_work(tl: Timeline) -> Iterator[Violation]:
    """Departure to return stays within the technician's maximum working time."""
    r, tech = tl.route, tl.tech
    if not within_max_work(tech.max_work, r.start, r.end):
        yield tl.bad("max_work", f"{tech.id} works {r.end - r.start}s > {tech.max_work}s")


def breaks(tl: Timeline) -> Iterator[Violation]:
    """Each break of the shift is taken once, inside its window, for its full duration, never
    during a visit and never over another pause."""
    tid = tl.tech.id
    rules = sorted(tl.shift.breaks, key=lambda b: (b.window.start, b.window.end))
    if len(tl.breaks) != len(rules):
        yield tl.bad(
            "break_count", f"{tid} has {len(tl.breaks)} breaks placed, {len(rules)} required"
        )
    for s, b in zip(tl.breaks, rules, strict=False):
        if not b.window.contains(s.start):
            yield tl.bad("break_window", f"{tid} break starts outside its window")
        if s.end - s.start != b.duration:
            yield tl.bad("break_duration", f"{tid} break lasts {s.end - s.start}s")
    for i, (a0, a1, _) in enumerate(tl.pauses[: len(tl.breaks)]):
        for b0, b1, _ in tl.pauses[i + 1 :]:
            if overlap(a0, a1, b0, b1):
                yield tl.bad("break_overlap", f"{tid} break overlaps another pause")
    yield from _pause_during_service(tl, "break")


def absences(tl: Timeline) -> Iterator[Violation]:
    """No work on a day the technician is absent, nor during an absence."""
    tid, sh = tl.tech.id, tl.shift
    for a in tl.tech.absences:
        if a.start <= sh.start and a.end >= sh.end:
            yield tl.bad("absent", f"{tid} is absent all of day {tl.route.day}")
    yield from _pause_during_service(tl, "absence")


def _pause_during_service(tl: Timeline, kind: str) -> Iterator[Violation]:
    for leg in tl.visits:
        s = leg.stop
        for b0, b1, k in tl.pauses:
            if k == kind and overlap(b0, b1, s.start, s.end):
                yield tl.bad(
                    f"{kind}_during_service",
                    f"{tl.tech.id}'s {kind} overlaps the visit to {s.job_id or s.warehouse_id}",
                    s.job_id,
                )


def travel(tl: Timeline) -> Iterator[Violation]:
    """Every leg leaves time to drive (pauses do not count), reports its true length and
    arrives between leaving and starting; no two stops overlap."""
    tid = tl.tech.id
    for leg in tl.legs:
        s = leg.stop
        gap = leg.due - leg.ready - leg.paused
        if gap < leg.need and not leg.exempt:
            what = "the return" if s is None else (s.job_id or s.warehouse_id)
            yield tl.bad(
                "travel_time",
                f"{tid}: {gap}s between stops for {leg.need}s of travel to {what}",
                None if s is None else s.job_id,
            )
        if s is None:
            continue
        if s.travel_seconds != leg.need:
            yield tl.bad(
                "travel_mismatch",
                f"leg to {s.job_id or s.warehouse_id} reported {s.travel_seconds}s, is {leg.need}s",
                s.job_id,
            )
        if not (leg.ready <= s.arrival <= s.start) and not leg.exempt:
            yield tl.bad(
                "arrival", f"arrival at {s.job_id or s.warehouse_id} inconsistent", s.job_id
            )
    times = sorted((s.start, s.end) for s in tl.route.stops if s.kind != STOP_ABSENCE)
    if any(b0 < a1 for (_, a1), (b0, _) in zip(times, times[1:], strict=False)):
        yield tl.bad("overlap", f"{tid} has overlapping stops")


def parts(tl: Timeline) -> Iterator[Violation]:
    """A job's parts come from the van stock or from a pick-up earlier in the route; a pick-up
    lasts the warehouse's service time."""
    stock = dict(tl.tech.van_stock)
    for leg in tl.visits:
        s = leg.stop
        if leg.warehouse is not None:
            if s.end - s.start < leg.warehouse.service_time:
                yield tl.bad("service_duration", f"pickup at {leg.warehouse.id} too short")
            for p, q in s.parts.items():
                stock[p] = stock.get(p, 0) + q
            continue
        for p, q in leg.job.parts.items():
            stock[p] = stock.get(p, 0) - q
            if stock[p] < 0:
                yield tl.bad("parts", f"{tl.tech.id} has no {p} left for {leg.job.id}", leg.job.id)


def warehouse_stock(problem: Problem, plan: Plan, lines: list[Timeline]) -> Iterator[Violation]:
    """All routes together pick up no more of a part than the warehouse holds."""
    picked: dict[tuple[str, str], int] = {}
    for tl in lines:
        for leg in tl.visits:
            if leg.warehouse is not None:
                for p, q in leg.stop.parts.items():
                    picked[(leg.warehouse.id, p)] = picked.get((leg.warehouse.id, p), 0) + q
    whs = {w.id: w for w in problem.warehouses}
    for (wid, p), q in picked.items():
        if q > whs[wid].stock.get(p, 0):
            yield Violation(
                "warehouse_stock", f"{q} x {p} picked at {wid}, stock {whs[wid].stock.get(p, 0)}"
            )


def _planned(lines: list[Timeline]) -> set[str]:
    return {leg.job.id for tl in lines for leg in tl.visits if leg.job is not None}


def started(problem: Problem, plan: Plan, lines: list[Timeline]) -> Iterator[Violation]:
    """A job already started stays in the plan."""
    jobs, planned = {j.id: j for j in problem.jobs}, _planned(lines)
    for jid in plan.unassigned:
        if jid in jobs and jid not in planned and jobs[jid].started:
            yield Violation("started_moved", f"{jid} already started but is not planned", jid)


def assignment(problem: Problem, plan: Plan, lines: list[Timeline]) -> Iterator[Violation]:
    """Every job is planned exactly once or listed as unassigned with a reason."""
    seen: set[str] = set()
    for tl in lines:
        for leg in tl.visits:
            if leg.job is not None:
                if leg.job.id in seen:
                    yield tl.bad("duplicate_job", f"{leg.job.id} planned twice", leg.job.id)
                seen.add(leg.job.id)
    jobs = {j.id for j in problem.jobs}
    for jid, why in plan.unassigned.items():
        if jid not in jobs:
            yield Violation("unknown_job", f"unassigned list names unknown job {jid}", jid)
        elif jid in seen:
            yield Violation("planned_and_unassigned", f"{jid} is both planned and unassigned", jid)
        if not getattr(why, "reason", None):
            yield Violation("no_reason", f"{jid} is unassigned without a reason", jid)
    for jid in jobs:
        if jid not in seen and jid not in plan.unassigned:
            yield Violation("missing_job", f"{jid} is neither planned nor unassigned", jid)


# -- which technician-days could take a job at all (for the explainer and the model) ----------


def pinned_admits(inst: Instance, job: Job, v: VehicleDay) -> bool:
    return job.pinned_technician is None or v.tech.id == job.pinned_technician


def pinned_why(inst: Instance, job: Job, cands: list[VehicleDay]) -> Unassigned | None:
    pin = job.pinned_technician
    if pin is None:
        return None
    if not any(t.id == pin for t in inst.problem.technicians):
        return Unassigned(PINNED_UNAVAILABLE, f"pinned technician {pin} is unknown")
    return Unassigned(PINNED_UNAVAILABLE, f"pinned technician {pin} does not work in the horizon")


def skills_admits(inst: Instance, job: Job, v: VehicleDay) -> bool:
    return job.qualified(v.tech)


def skills_text(job: Job) -> str:
    return " and ".join(
        f"skill {s} level ≥ {lvl}" for s, lvl in sorted(job.required_skills.items())
    )


def skills_why(inst: Instance, job: Job, cands: list[VehicleDay]) -> Unassigned:
    techs = inst.problem.technicians
    pin = job.pinned_technician
    if any(job.qualified(t) and pin in (None, t.id) for t in techs):
        return Unassigned(
            NO_SKILLED_ON_DAY,
            f"no technician with {skills_text(job) or 'the required skills'} works that day",
        )
    missing = [
        f"skill {s} level ≥ {lvl}"
        for s, lvl in sorted(job.required_skills.items())
        if not any(t.skills.get(s, 0) >= lvl for t in techs)
    ]
    what = " and ".join(missing) if missing else skills_text(job)
    who = "no technician" if pin is None else "the pinned technician"
    return Unassigned(NO_SKILL, f"{who} has {what}")


def windows_admits(inst: Instance, job: Job, v: VehicleDay) -> bool:
    """One of the job's windows overlaps the technician-day."""
    if not job.time_windows:
        return True
    return any(w.start <= v.latest_end and w.end >= v.earliest_start for w in job.time_windows)


def windows_why(inst: Instance, job: Job, cands: list[VehicleDay]) -> Unassigned:
    return Unassigned(
        NO_SKILLED_ON_DAY,
        f"no technician with "
        f"{skills_text(job) or 'the required skills'} works during the job's "
        "time windows",
    )


def capacity_admits(inst: Instance, job: Job, v: VehicleDay) -> bool:
    return load_fits(v.tech, job.demand)


def capacity_why(inst: Instance, job: Job, cands: list[VehicleDay]) -> Unassigned:
    return Unassigned(
        DEMAND_TOO_LARGE, f"the load ({job.demand}) exceeds every qualified van's capacity"
    )


def reach_admits(inst: Instance, job: Job, v: VehicleDay) -> bool:
    """The job can start in a window (or at its pinned start) after the drive from home, and
    the technician be home again by the latest return; a started job always can."""
    jp = inst.point(job.location)
    lo = v.earliest_start + int(inst.dur[v.start_point, jp])
    hi = v.latest_end - job.duration_for(v.tech) - int(inst.dur[jp, v.end_point])
    if job.pinned_start is not None:
        return lo <= job.pinned_start <= hi or job.started
    if not job.time_windows:
        return lo <= hi
    return any(max(lo, w.start) <= min(hi, w.end) for w in job.time_windows)


def reach_why(inst: Instance, job: Job, cands: list[VehicleDay]) -> Unassigned:
    jp = inst.point(job.location)
    windows = job.time_windows
    earliest = min(v.earliest_start + int(inst.dur[v.start_point, jp]) for v in cands)
    if windows and earliest > max(w.end for w in windows):
        closes = max(w.end for w in windows)
        return Unassigned(
            WINDOW_UNREACHABLE,
            "time window closes before any skilled technician can arrive "
            f"(earliest arrival {hhmm(earliest)}, window closes {hhmm(closes)})",
        )
    return Unassigned(
        TOO_LONG, "the job cannot be done and the technician back before any qualified shift ends"
    )


def max_work_admits(inst: Instance, job: Job, v: VehicleDay) -> bool:
    if v.max_span is None or job.started:
        return True
    jp = inst.point(job.location)
    need = (
        int(inst.dur[v.start_point, jp]) + job.duration_for(v.tech) + int(inst.dur[jp, v.end_point])
    )
    return need <= v.max_span


def max_work_why(inst: Instance, job: Job, cands: list[VehicleDay]) -> Unassigned | None:
    if eligible(inst, job, inst.vehicles):
        return None  # a day outside the windows may still take it at its pinned start
    return Unassigned(
        TOO_LONG, "the job does not fit in any qualified technician's maximum working time"
    )


def parts_available(inst: Instance, job: Job, cands: list[VehicleDay]) -> bool:
    """Some candidate's van holds the job's parts, or a warehouse does."""
    if not job.parts or any(parts_cover(v.tech.van_stock, job.parts) for v in cands):
        return True
    return inst.warehouse_for(job) is not None


def parts_reason(inst: Instance, job: Job) -> Unassigned:
    parts = ", ".join(f"{p} x{q}" for p, q in sorted(job.parts.items()))
    return Unassigned(
        PARTS_UNAVAILABLE, f"parts unavailable: no qualified van and no warehouse holds {parts}"
    )


def capacity_exhausted(cands: list[VehicleDay]) -> Unassigned:
    n = len({v.tech.id for v in cands})
    return Unassigned(
        CAPACITY_EXHAUSTED,
        f"capacity exhausted: the {n} qualified technician(s) "
        "who could do it are fully booked with other or higher-priority work",
    )


def hhmm(t: int) -> str:
    day, rest = divmod(t, 86_400)
    h, m = divmod(rest // 60, 60)
    return f"day {day} {h:02d}:{m:02d}" if day else f"{h:02d}:{m:02d}"


# -- the catalogue ----------------------------------------------------------------------------

RouteCheck = Callable[[Timeline], Iterable[Violation]]
PlanCheck = Callable[[Problem, Plan, list[Timeline]], Iterable[Violation]]
Admits = Callable[["Instance", Job, "VehicleDay"], bool]
Why = Callable[["Instance", Job, list["VehicleDay"]], "Unassigned | None"]


@dataclass(frozen=True)
class Rule:
    """One hard rule: the violation codes it reports, its check over a route (and/or over the
    whole plan) and, for the explainer, which technician-days could take a job at all."""

    name: str
    codes: tuple[str, ...]
    route: RouteCheck | None = None
    plan: PlanCheck | None = None
    admits: Admits | None = None
    why: Why | None = None  # the reason when no candidate is admitted (None: not this rule)


# In explanation order: the explainer names the first rule that no technician-day passes.
RULES: tuple[Rule, ...] = (
    Rule("pinned_technician", ("pinned_technician",), pinned_technician, None,
         pinned_admits, pinned_why),
    Rule("skills", ("skill",), skills, None, skills_admits, skills_why),
    Rule("time_windows", ("time_window", "warehouse_closed"), time_windows, None,
         windows_admits, windows_why),
    Rule("capacity", ("capacity",), capacity, None, capacity_admits, capacity_why),
    Rule("shift", ("shift_start", "route_times"), shift, None, reach_admits, reach_why),
    Rule("max_work", ("max_work",), max_work, None, max_work_admits, max_work_why),
    Rule("overtime", ("shift_end",), overtime),
    Rule("pinned_start", ("pinned_start",), pinned_start),
    Rule("service_durations", ("service_duration",), service_durations),
    Rule("breaks", ("break_count", "break_window", "break_duration", "break_overlap",
                    "break_during_service"), breaks),
    Rule("absences", ("absent", "absence_during_service"), absences),
    Rule("travel", ("travel_time", "travel_mismatch", "arrival", "overlap"), travel),
    Rule("parts", ("parts", "service_duration", "warehouse_stock"), parts, warehouse_stock),
    Rule("started", ("started_moved",), plan=started),
    Rule("assignment", ("unknown_technician", "duplicate_route", "no_shift", "unknown_job",
                        "unknown_warehouse", "duplicate_job", "planned_and_unassigned",
                        "no_reason", "missing_job"), plan=assignment),
)  # fmt: skip
RULE = {r.name: r for r in RULES}


def eligible(inst: Instance, job: Job, cands: list[VehicleDay]) -> list[VehicleDay]:
    """The technician-days of ``cands`` that may serve ``job``: those every rule admits but
    two. Parts are left out (a van without them may pick them up on the way); so is the
    windows overlap, which the reach test implies and a pinned start overrides (a job started
    before its windows stays where it is)."""
    for rule in RULES:
        if rule.admits is not None and rule.name != "time_windows":
            cands = [v for v in cands if rule.admits(inst, job, v)]
    return cands


def violations(
    problem: Problem, plan: Plan, travel: Travel, rules: Iterable[Rule] = RULES
) -> list[Violation]:
    """The rules' violations over every route of ``plan``, then over the plan as a whole."""
    rules = tuple(rules)
    lines, unreadable = timelines(problem, plan, travel)
    out = [v for v in unreadable if any(v.code in r.codes for r in rules)]
    for tl in lines:
        for rule in rules:
            if rule.route is not None:
                out.extend(rule.route(tl))
    for rule in rules:
        if rule.plan is not None:
            out.extend(rule.plan(problem, plan, lines))
    return out


# How the OR-Tools model (optimizer.Model) and the compiled ruin-and-recreate kernel
# (rr_kernel, fed by ruin_recreate) encode each rule; None: that engine does not, and for the
# kernel ruin_recreate.skip_reason must then keep the phase off on days the rule constrains.
NOT_ENCODED = None
ENCODED_IN: dict[str, dict[str, str | None]] = {
    "pinned_technician": {"ortools": "vehicle variable limited to allowed days", "kernel": "allowed matrix"},
    "skills":            {"ortools": "vehicle variable limited to allowed days", "kernel": "allowed matrix"},
    "time_windows":      {"ortools": "time cumul ranges with the gaps removed", "kernel": "every window of a job, exact re-timing of candidate routes"},
    "capacity":          {"ortools": "capacity dimension", "kernel": "cap/dem load"},
    "shift":             {"ortools": "start cumul >= earliest start", "kernel": "vE earliest start"},
    "max_work":          {"ortools": "span upper bound per vehicle", "kernel": "span checked in the exact timing"},
    "overtime":          {"ortools": "end cumul <= shift end + allowance", "kernel": "vL latest return"},
    "pinned_start":      {"ortools": "time cumul fixed to the pinned start", "kernel": "start fixed in the exact timing"},
    "service_durations": {"ortools": "one transit matrix per duration class", "kernel": "duration per job and technician level"},
    "breaks":            {"ortools": "break intervals of the vehicle", "kernel": "break placed in the exact timing (lazy rule, then the insertion rule)"},
    "absences":          {"ortools": "fixed break intervals of the vehicle", "kernel": "fixed intervals in the exact timing"},
    "travel":            {"ortools": "time dimension transits", "kernel": "tt travel times"},
    "parts":             {"ortools": "part dimensions, pick-up pairs, shared stock after solve", "kernel": "van stock and a pick-up stop per route; shared warehouse stock checked after (plan dropped if overdrawn)"},
    "started":           {"ortools": "pinned start, early departure, 100x penalty", "kernel": "fixed route prefix"},
    "assignment":        {"ortools": "one disjunction per job", "kernel": "route of each customer (ru)"},
}  # fmt: skip
