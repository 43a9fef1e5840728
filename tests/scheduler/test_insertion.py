from sched_factories import H, job, problem, tech, window

from scheduler import Break, TimeWindow, insert_emergency, solve, validate
from scheduler.model import STOP_JOB


def plan_for(p, quick):
    plan = solve(p, quick)
    assert validate(p, plan) == []
    return plan


def test_emergency_goes_to_nearest_free_slot_and_lists_eta_changes(quick):
    techs = [tech("T1", home=0), tech("T2", home=40)]
    jobs = [job("A", 2, 60), job("B", 4, 60), job("C", 38, 60)]
    p = problem(techs, jobs)
    plan = plan_for(p, quick)
    e = job("E", 3, 30, priority=1, sla_due=10 * H)
    res = insert_emergency(p, plan, e)
    p2 = problem(techs, [*jobs, e])
    assert validate(p2, res.plan) == []
    assert res.technician_id == "T1"
    assert "E" in res.plan.route_of("T1", 0).job_ids()
    old, new = plan.starts(), res.plan.starts()
    moved = {c.job_id for c in res.eta_changes}
    assert moved == {j for j in old if old[j] != new[j]}
    for c in res.eta_changes:
        assert (c.old_start, c.new_start) == (old[c.job_id], new[c.job_id])
    # The other technician's route is untouched.
    assert res.plan.route_of("T2", 0) == plan.route_of("T2", 0)
    assert res.seconds < 1.0


def test_pinned_and_started_jobs_do_not_move(quick):
    pinned = job("P", 5, 60, pinned_technician="T1", pinned_start=10 * H)
    started = job("S", 1, 60, started=True, pinned_technician="T1", pinned_start=8 * H + 300)
    p = problem([tech()], [pinned, started, job("X", 6, 60)])
    plan = plan_for(p, quick)
    res = insert_emergency(p, plan, job("E", 4, 60, priority=1))
    p2 = problem([tech()], [pinned, started, job("X", 6, 60), job("E", 4, 60, priority=1)])
    assert validate(p2, res.plan) == []
    starts = res.plan.starts()
    assert starts["P"] == 10 * H and starts["S"] == 8 * H + 300


def test_full_day_displaces_lowest_priority_job(quick):
    # 8:00-12:00 fully booked by two 2 h jobs next door; a P1 must displace the P4 one.
    t = tech(end=12 * H)
    jobs = [job("L", 0, 115, priority=4), job("M", 0, 115, priority=2)]
    p = problem([t], jobs)
    plan = plan_for(p, quick)
    assert plan.unassigned == {}
    e = job("E", 0, 110, priority=1)
    res = insert_emergency(p, plan, e)
    assert res.displaced == ["L"]
    assert res.plan.unassigned["L"].code == "displaced_by_emergency"
    assert validate(problem([t], [*jobs, e]), res.plan) == []


def test_impossible_emergency_is_explained(quick):
    p = problem([tech()], [job("A", 1)])
    plan = plan_for(p, quick)
    res = insert_emergency(p, plan, job("E", 2, required_skills={"gas": 5}))
    assert res.technician_id is None
    assert "gas level ≥ 5" in res.reason
    assert "E" in res.plan.unassigned


def test_insertion_respects_breaks_and_windows(quick):
    lunch = Break(TimeWindow(12 * H, 13 * H), 1800)
    t = tech(breaks=(lunch,))
    jobs = [job(f"J{k}", 2 * k, 60) for k in range(1, 6)]
    p = problem([t], jobs)
    plan = plan_for(p, quick)
    e = job("E", 5, 45, priority=1, time_windows=[window(12, 13)])
    res = insert_emergency(p, plan, e)
    assert res.technician_id == "T1"
    assert validate(problem([t], [*jobs, e]), res.plan) == []
    s = next(s for s in res.plan.route_of("T1", 0).stops if s.job_id == "E")
    assert s.kind == STOP_JOB and 12 * H <= s.start <= 13 * H


def test_insertion_fits_a_day_whose_lunch_can_only_come_late(quick):
    # J2 runs from noon at the latest to past 12:50, so lunch (noon to 14:00) must follow
    # it; taking lunch at noon, when it would not delay J1, makes J2 late. The exact schedule
    # must keep lunch pending past J1 so the emergency still fits this day.
    lunch = Break(TimeWindow(12 * H, 14 * H), 1800)
    t = tech(breaks=(lunch,))
    jobs = [
        job("J1", 1, 30, time_windows=[window(8, 9)]),
        job("J2", 2, 60, time_windows=[window(11 + 50 / 60, 12)]),
    ]
    p = problem([t], jobs)
    plan = plan_for(p, quick)
    assert not plan.unassigned
    e = job("E", 3, 30, priority=1)
    res = insert_emergency(p, plan, e)
    assert res.technician_id == "T1"
    assert validate(problem([t], [*jobs, e]), res.plan) == []
    assert {s.job_id for s in res.plan.route_of("T1", 0).stops} >= {"J1", "J2", "E"}
