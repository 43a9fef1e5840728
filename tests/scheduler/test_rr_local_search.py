"""Inter-route local search of the ruin-and-recreate kernel (``rr_kernel.descend``)."""

from __future__ import annotations

import numpy as np
import pytest
from sched_factories import H, job, problem, tech, window

from scheduler import Break, Plan, TimeWindow, Weights, validate
from scheduler import rr_kernel as k
from scheduler.instance import Instance
from scheduler.objective import objective_parts
from scheduler.ruin_recreate import _Arrays, _State, _to_plan, warm_up

ROUTING = Weights(balance=0.0, overtime=0.0)
LUNCH = (Break(TimeWindow(12 * H, 14 * H), 1800),)


@pytest.fixture(scope="module", autouse=True)
def kernel():
    warm_up()


def _descend(p, rows: dict[str, list[str]]):
    """Put the jobs on the technicians' routes in the given order, run one descent on every
    route, and return the resulting plan, the change of the objective and the start plan."""
    inst = Instance(p)
    a = _Arrays(inst)
    s = _State(a, inst, Plan())
    cust = {p.jobs[ji].id: c for ji, c in a.cust_of.items()}
    for v in inst.vehicles:
        for jid in rows.get(v.tech.id, []):
            c = cust[jid]
            s.rt[v.index, s.rl[v.index]] = c
            s.rl[v.index] += 1
            s.ru[c] = v.index
    d = a.kernel()
    scr = a.scratch()
    for v in range(len(inst.vehicles)):
        assert k.schedule(v, s.rt, s.rl, s.es, s.ls, s.ld, s.rc, d, *scr)
    start, why = _to_plan(inst, a, Plan(), set(), s.rt.copy(), s.rl.copy(), s.ru.copy())
    assert why is None and validate(p, start) == []
    nv, width = len(inst.vehicles), s.rt.shape[1]
    active = np.ones(nv, dtype=np.bool_)
    changed = np.zeros(nv, dtype=np.bool_)
    bufs = [np.empty(width, dtype=np.int64) for _ in range(4)]
    gain = k.descend(
        s.rt, s.rl, s.es, s.ls, s.ld, s.rc, s.ru, a.adj, a.allowed, a.fixc, s.nfix, a.fixed, d,
        active, changed, *bufs, *scr,
    )  # fmt: skip
    plan, why = _to_plan(inst, a, Plan(), set(), s.rt, s.rl, s.ru)
    assert why is None
    return plan, gain, start


def _jobs(plan, tid):
    return sorted(plan.route_of(tid, 0).job_ids()) if plan.route_of(tid, 0) else []


def test_crossing_routes_are_untangled_by_a_move_between_routes():
    # T1 lives at km 0, T2 at km 40; each was given one job near home and one near the other's
    # home, so both routes cross the whole line. Exchanging the route tails (or moving the two
    # far jobs across) gives each technician the two jobs near home.
    p = problem(
        [tech("T1", home=0), tech("T2", home=40)],
        [job("J5", 5), job("J36", 36), job("J35", 35), job("J6", 6)],
        weights=ROUTING,
    )
    plan, gain, start = _descend(p, {"T1": ["J5", "J36"], "T2": ["J35", "J6"]})
    assert validate(p, plan) == []
    assert _jobs(plan, "T1") == ["J5", "J6"]
    assert _jobs(plan, "T2") == ["J35", "J36"]
    km = objective_parts(p, plan, Instance(p))["travel_metres"] / 1000
    assert km < objective_parts(p, start, Instance(p))["travel_metres"] / 1000
    assert km == 12 + 10  # 0-5-6-0 and 40-36-35-40
    assert gain < 0


def test_the_move_keeps_breaks_windows_and_skills():
    # Same crossing, with lunch breaks, a window that only T1's day can meet late, and a job
    # only T2 has the skill for: the search may untangle what it can, never break the day.
    p = problem(
        [
            tech("T1", home=0, breaks=LUNCH),
            tech("T2", home=40, breaks=LUNCH, skills={"hvac": 3, "gas": 2}),
        ],
        [
            job("J5", 5, 120, time_windows=[window(11, 13)]),
            job("J36", 36, 90),
            job("J35", 35, 90),
            job("J6", 6, 60, time_windows=[window(12, 14)]),
            job("G7", 7, 60, required_skills={"gas": 1}),
        ],
        weights=ROUTING,
    )
    plan, gain, start = _descend(p, {"T1": ["J5", "J36"], "T2": ["J35", "J6", "G7"]})
    assert validate(p, plan) == []
    assert "G7" in _jobs(plan, "T2")
    assert "J36" not in _jobs(plan, "T1")
    assert (
        objective_parts(p, plan, Instance(p))["total"]
        < objective_parts(p, start, Instance(p))["total"]
    )
    assert gain < 0
