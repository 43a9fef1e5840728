"""Check a hand placement: jobs at fixed starts on one technician's day.

A dispatcher puts a job on a technician at a start of their choosing, beside the jobs
already there at their own starts. The placement is feasible when the exact schedule
(``insertion.schedule``) can keep every start where it is, with the breaks, absences, shift,
windows, skills, stock and travel the optimizer obeys. When it cannot, the route is laid out
literally at the chosen starts and the rule catalogue (``constraints.violations``) names what
breaks; only what the new job breaks is reported, not what the day broke already.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .constraints import RULES, break_slot, violations
from .insertion import Item, schedule
from .instance import Instance
from .model import STOP_BREAK, STOP_JOB, Plan, Problem, Route, Stop, Violation

# The whole-plan rules judge a complete plan (every job planned once); a single day is not.
ROUTE_RULES = tuple(r for r in RULES if r.route is not None)
RULE_OF_CODE = {code: r.name for r in RULES for code in r.codes}
ALWAYS = ("skills", "time_windows")


@dataclass(frozen=True)
class Broken:
    """One rule a placement breaks: the rule's name, the violation code and the detail."""

    rule: str
    code: str
    message: str
    job_id: str | None = None


def _fixed(problem: Problem, tech_id: str, starts: dict[str, int]) -> Problem:
    """The problem with each placed job pinned to the technician at its start."""
    jobs = [
        replace(j, pinned_technician=tech_id, pinned_start=starts[j.id]) if j.id in starts else j
        for j in problem.jobs
    ]
    return replace(problem, jobs=jobs)


def _literal(inst: Instance, tech_id: str, day: int, starts: dict[str, int]) -> Route:
    """The route exactly as placed: visits at their starts, breaks in the first free gap."""
    problem = inst.problem
    tech = problem.technician(tech_id)
    shift = next(s for s in tech.shifts if s.day == day)
    order = sorted(starts, key=lambda j: starts[j])
    stops: list[Stop] = []
    point = inst.point(tech.start)
    ready = None
    for jid in order:
        job = problem.job(jid)
        jp = inst.job_point[inst.job_index[jid]]
        travel = int(inst.dur[point, jp])
        s = starts[jid]
        if ready is None:
            ready = s - travel
        arrival = min(s, ready + travel)
        stops.append(
            Stop(
                STOP_JOB,
                arrival,
                s,
                s + job.duration_for(tech),
                job_id=jid,
                travel_seconds=travel,
                travel_metres=int(inst.dist[point, jp]),
            )
        )
        ready, point = s + job.duration_for(tech), jp
    home = inst.point(tech.end_location)
    back = int(inst.dur[point, home])
    start = stops[0].start - stops[0].travel_seconds if stops else shift.start
    end = (ready or shift.start) + back
    pauses = [(s.start, s.end, "visit") for s in stops]
    pauses += [(a.start, a.end, "absence") for a in tech.absences]
    for b in shift.breaks:
        at = break_slot(b.window.start, b, pauses)
        if at is not None:
            pauses.append((at, at + b.duration, "break"))
            stops.append(Stop(STOP_BREAK, at, at, at + b.duration))
    stops.sort(key=lambda s: s.start)
    return Route(tech_id, day, start, end, stops, back, int(inst.dist[point, home]))


def _travel(inst: Instance):
    def travel(a, b) -> int:
        return int(inst.dur[inst.point(a), inst.point(b)])

    return travel


def _broken(problem: Problem, inst: Instance, route: Route) -> list[Violation]:
    return violations(problem, Plan(routes=[route]), _travel(inst), ROUTE_RULES)


def check_placement(
    problem: Problem, tech_id: str, day: int, job_id: str, start: int, others: dict[str, int]
) -> list[Broken]:
    """What placing ``job_id`` at ``start`` on ``tech_id``'s ``day`` breaks (empty: nothing).

    ``others`` are the technician's other jobs of the day at their current starts; they stay
    there (a hand placement moves nothing else).
    """
    starts = {**others, job_id: start}
    problem = _fixed(problem, tech_id, starts)
    tech = problem.technician(tech_id)
    if not any(s.day == day for s in tech.shifts):
        return [Broken("shift", "no_shift", f"technician {tech_id} has no shift that day")]
    inst = Instance(problem, lazy=True)
    v = inst.vehicle_of.get((tech_id, day))
    if v is None:
        return [Broken("absences", "absent", f"technician {tech_id} is absent all that day")]
    items = [
        Item(inst.job_index[j], floor=starts[j]) for j in sorted(starts, key=lambda j: starts[j])
    ]
    # The exact schedule takes a pinned start as given and leaves skills to the caller's
    # choice of technician, so those two rules are read from the literal route in any case.
    timed = schedule(inst, v, items) is not None
    before = set()
    if others:
        before = {
            (x.code, x.job_id) for x in _broken(problem, inst, _literal(inst, tech_id, day, others))
        }
    found: list[Broken] = []
    for x in _broken(problem, inst, _literal(inst, tech_id, day, starts)):
        rule = RULE_OF_CODE.get(x.code, x.code)
        if (x.code, x.job_id) in before or (timed and rule not in ALWAYS):
            continue
        if any(b.code == x.code and b.job_id == x.job_id for b in found):
            continue
        found.append(Broken(rule, x.code, x.message, x.job_id))
    if not found and not timed:
        # Each rule holds at these starts taken one by one, yet no order of breaks and
        # visits keeps them all (e.g. the break fits only where the drive must be).
        found.append(
            Broken(
                "breaks",
                "no_schedule",
                f"no schedule of {tech_id}'s day keeps every start and its breaks",
            )
        )
    return found


def assigned_plan(problem: Problem, day: int, assigned: dict[str, dict[str, int]]) -> Plan:
    """The plan of a day no plan was made for: each technician's assigned jobs (technician
    id -> job id -> start) laid out at their starts, breaks in the first free gap.

    Technicians without a shift that day, and jobs the problem does not know, are left
    out; technicians with nothing assigned get no route (the search treats them as free).
    """
    known = {j.id for j in problem.jobs}
    techs = {t.id for t in problem.technicians}
    wanted = {
        t: {j: s for j, s in starts.items() if j in known}
        for t, starts in assigned.items()
        if t in techs
    }
    wanted = {
        t: starts
        for t, starts in wanted.items()
        if starts and any(s.day == day for s in problem.technician(t).shifts)
    }
    if not wanted:
        return Plan(routes=[])
    inst = Instance(problem, lazy=True)
    return Plan(routes=[_literal(inst, t, day, starts) for t, starts in sorted(wanted.items())])
