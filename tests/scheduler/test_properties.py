"""Random small instances: plans never break a hard constraint, and nothing is left out
when a trivial feasible assignment exists."""

import time

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sched_factories import H, job, problem, tech, warehouse, window

from scheduler import Break, SolveParams, TimeWindow, insert_emergency, solve, validate
from scheduler.insertion import _items_of, schedule
from scheduler.instance import Instance
from scheduler.model import STOP_JOB
from scheduler.ruin_recreate import improve, plan_cost, skip_reason

# Greedy descent stops at a local optimum instead of searching until the time limit.
FAST = SolveParams(time_limit=0.3, metaheuristic="GREEDY_DESCENT")
NO_RR = SolveParams(time_limit=0.3, metaheuristic="GREEDY_DESCENT", ruin_recreate=False)
SETTINGS = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


@st.composite
def messy_instances(draw):
    """Anything goes: skills, levels, windows, breaks, absences, parts, pins."""
    n_t = draw(st.integers(1, 3))
    techs = []
    for k in range(n_t):
        lunch = Break(
            TimeWindow(draw(st.integers(11, 13)) * H, 14 * H), draw(st.sampled_from([900, 1800]))
        )
        techs.append(
            tech(
                f"T{k}",
                home=draw(st.integers(0, 40)),
                start=draw(st.integers(6, 9)) * H,
                end=draw(st.integers(13, 18)) * H,
                days=tuple(sorted(draw(st.sets(st.integers(0, 1), min_size=1)))),
                breaks=(lunch,) if draw(st.booleans()) else (),
                skills={"hvac": draw(st.integers(1, 5)), "gas": draw(st.integers(0, 3))},
                absences=[window(10, 11)] if draw(st.booleans()) else [],
                van_stock={"valve": draw(st.integers(0, 2))},
                capacity=draw(st.sampled_from([None, 5, 10])),
                max_work=draw(st.sampled_from([None, 6 * H])),
                overtime_allowance=draw(st.sampled_from([0, H])),
            )
        )
    jobs = []
    for k in range(draw(st.integers(1, 7))):
        kind = draw(st.integers(0, 3))
        windows = []
        if kind == 1:
            h = draw(st.integers(7, 16))
            windows = [window(h, h + draw(st.integers(1, 3)), day=draw(st.integers(0, 1)))]
        elif kind == 2:
            windows = [window(8, 10), window(14, 16, day=1)]
        pin = draw(st.sampled_from([None, None, "T0"]))
        jobs.append(
            job(
                f"J{k}",
                draw(st.integers(0, 40)),
                draw(st.integers(10, 120)),
                time_windows=windows,
                required_skills={draw(st.sampled_from(["hvac", "gas"])): draw(st.integers(1, 4))},
                priority=draw(st.integers(1, 4)),
                sla_due=draw(st.sampled_from([None, 12 * H])),
                parts={"valve": 1} if draw(st.booleans()) else {},
                demand=draw(st.integers(0, 6)),
                pinned_technician=pin,
                duration_by_level={4: 600} if draw(st.booleans()) else {},
            )
        )
    whs = [warehouse("W", draw(st.integers(0, 40)), valve=draw(st.integers(0, 3)))]
    return problem(techs, jobs, whs)


@SETTINGS
@given(messy_instances())
def test_plans_never_break_hard_constraints(p):
    plan = solve(p, FAST)
    assert validate(p, plan) == []
    for u in plan.unassigned.values():
        assert u.code and u.reason


@st.composite
def easy_instances(draw):
    """Each job has its own technician who can do it alone with hours to spare."""
    n = draw(st.integers(1, 5))
    techs, jobs = [], []
    for k in range(n):
        home = draw(st.integers(0, 40))
        skill = f"s{k}"
        techs.append(
            tech(
                f"T{k}",
                home=home,
                skills={skill: 3},
                breaks=(Break(TimeWindow(12 * H, 14 * H), 1800),),
            )
        )
        h = draw(st.integers(8, 14))
        jobs.append(
            job(
                f"J{k}",
                draw(st.integers(max(0, home - 10), min(49, home + 10))),
                draw(st.integers(10, 90)),
                required_skills={skill: draw(st.integers(1, 3))},
                time_windows=[window(h, h + 2)] if draw(st.booleans()) else [],
                priority=draw(st.integers(1, 4)),
            )
        )
    return problem(techs, jobs)


@SETTINGS
@given(easy_instances())
def test_nothing_unassigned_when_a_simple_assignment_exists(p):
    plan = solve(p, FAST)
    assert validate(p, plan) == []
    assert plan.unassigned == {}


@SETTINGS
@given(messy_instances(), st.integers(0, 40), st.integers(10, 90), st.integers(1, 4))
def test_emergency_insertion_keeps_plans_valid(p, at, minutes, prio):
    plan = solve(p, FAST)
    e = job("E", at, minutes, priority=prio)
    res = insert_emergency(p, plan, e)
    p.jobs.append(e)
    assert validate(p, res.plan) == []
    old = plan.starts()
    for c in res.eta_changes:
        assert old[c.job_id] == c.old_start


@SETTINGS
@given(messy_instances(), st.data())
def test_fast_phase_on_real_days_is_valid_and_never_worse_than_its_start(p, data):
    """Every feature at once (breaks, absences, parts and warehouses, pins, levels, two
    windows, SLA, maximum work, overtime) plus a replan: a published plan, a started job and
    the customers' last technicians. The phase alone, from the OR-Tools plan: 0 violations and
    never a worse whole objective."""
    published = solve(p, NO_RR)
    assert validate(p, published) == []
    started = [
        (r.technician_id, s) for r in published.routes for s in r.stops if s.kind == STOP_JOB
    ][:1]
    for tech_id, stop in started:
        if data.draw(st.booleans()):
            j = p.job(stop.job_id)
            j.pinned_technician, j.pinned_start, j.started = tech_id, stop.start, True
    for j in p.jobs:
        j.last_technician = data.draw(st.sampled_from([None, "T0", "T1"]))
    p.previous = published
    start = solve(p, NO_RR)
    # OR-Tools' replan sometimes leaves a started job out (validate: started_moved); the
    # property is about the phase, so such starts are not drawn.
    assume(validate(p, start) == [])
    inst = Instance(p)
    assert skip_reason(inst) is None
    after, _ = improve(inst, start, time.monotonic() + 0.05)
    assert validate(p, after) == []
    assert plan_cost(inst, after) <= plan_cost(inst, start) + 1e-6
    # Emergency insertion re-times each route with the exact schedule: it must accept every
    # route the phase built (whichever break rule timed it). Routes kept from OR-Tools' plan
    # are left out (their breaks and warehouse loads follow OR-Tools' own rules).
    vehicles = {(v.tech.id, v.shift.day): v for v in inst.vehicles}
    for r in after.routes:
        if r in start.routes:
            continue
        assert schedule(inst, vehicles[r.technician_id, r.day], _items_of(inst, r)) is not None
    for tech_id, stop in started:
        if p.job(stop.job_id).started:
            assert after.assignment()[stop.job_id][0] == tech_id
            assert after.starts()[stop.job_id] == stop.start
