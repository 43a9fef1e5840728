"""One small test per constraint; the arithmetic is in the comments (1 km = 1 minute)."""

from sched_factories import H, job, problem, tech, warehouse, window

from scheduler import Break, Plan, SolveParams, TimeWindow, Weights, solve, validate
from scheduler.model import (
    DEMAND_TOO_LARGE,
    NO_SKILL,
    NO_SKILLED_ON_DAY,
    PARTS_UNAVAILABLE,
    STOP_BREAK,
    STOP_JOB,
    STOP_WAREHOUSE,
    WINDOW_UNREACHABLE,
)


def solved(p, params):
    plan = solve(p, params)
    assert validate(p, plan) == []
    return plan


def jobs_of(plan, tech_id="T1", day=0):
    r = plan.route_of(tech_id, day)
    return [] if r is None else r.job_ids()


def test_two_jobs_in_window_order_with_etas(quick):
    # Home at km 0. A at km 10 must start 9:00-9:10; B at km 20.
    # Leave 8:50, A 9:00-9:30, drive 10 min, B 9:40-10:10, drive 20 min home at 10:30.
    p = problem([tech()], [job("A", 10, time_windows=[window(9, 9 + 1 / 6)]), job("B", 20)])
    plan = solved(p, quick)
    r = plan.route_of("T1", 0)
    assert r.job_ids() == ["A", "B"]
    a, b = (s for s in r.stops if s.kind == STOP_JOB)
    assert (a.arrival, a.start, a.end, a.travel_seconds) == (9 * H, 9 * H, 9.5 * H, 600)
    assert a.travel_metres == 10_000
    assert b.arrival == 9 * H + 40 * 60 and b.travel_seconds == 600
    assert r.start == 8 * H + 50 * 60
    assert r.end == b.end + 20 * 60 and r.return_travel_seconds == 1200
    assert plan.objective["travel_seconds"] == 40 * 60
    assert plan.unassigned == {}
    assert plan.solve_seconds > 0


def test_missing_skill_is_explained(quick):
    p = problem([tech(skills={"hvac": 2})], [job("A", 3, required_skills={"hvac": 3})])
    plan = solved(p, quick)
    assert plan.unassigned["A"].code == NO_SKILL
    assert "hvac level ≥ 3" in plan.unassigned["A"].reason


def test_skilled_technician_not_working_that_day(quick):
    # The only gas-qualified technician works on day 1; the job is on day 0.
    techs = [tech("T1"), tech("T2", skills={"gas": 4}, days=(1,))]
    p = problem(techs, [job("A", 3, required_skills={"gas": 3}, time_windows=[window(8, 17)])])
    plan = solved(p, quick)
    assert plan.unassigned["A"].code == NO_SKILLED_ON_DAY
    assert "no technician with skill gas level ≥ 3 works" in plan.unassigned["A"].reason


def test_window_closing_before_arrival(quick):
    # Shift starts 8:00, the site is 25 min away, the window closes 8:15.
    p = problem([tech()], [job("A", 25, time_windows=[window(7, 8.25)])])
    plan = solved(p, quick)
    assert plan.unassigned["A"].code == WINDOW_UNREACHABLE
    assert "window closes before any skilled technician can arrive" in plan.unassigned["A"].reason


def test_capacity_exhausted_drops_lowest_priority(quick):
    # 8 h shift, three 4 h jobs: one cannot fit; the P4 one is left out.
    jobs = [job("A", 1, 240, priority=1), job("B", 1, 240, priority=4), job("C", 1, 240)]
    p = problem([tech(end=16 * H + 600)], jobs)
    plan = solved(p, quick)
    assert set(plan.unassigned) == {"B"}
    assert plan.unassigned["B"].code == "capacity_exhausted"
    assert plan.objective["unassigned_p4"] == 1


def test_lunch_break_is_placed_inside_its_window(quick):
    # Jobs fill the morning and the afternoon; lunch (30 min) must start 12:00-13:00.
    brk = Break(TimeWindow(12 * H, 13 * H), 1800)
    jobs = [job(f"J{k}", 2 + k, 90) for k in range(5)]
    p = problem([tech(breaks=(brk,))], jobs)
    plan = solved(p, quick)
    r = plan.route_of("T1", 0)
    breaks = [s for s in r.stops if s.kind == STOP_BREAK]
    assert len(breaks) == 1 and 12 * H <= breaks[0].start <= 13 * H
    assert breaks[0].end - breaks[0].start == 1800
    for s in r.stops:
        if s.kind == STOP_JOB:
            assert s.end <= breaks[0].start or s.start >= breaks[0].end


def test_two_breaks_and_a_tight_window(quick):
    brks = (Break(TimeWindow(10 * H, 10.5 * H), 900), Break(TimeWindow(12 * H, 13 * H), 1800))
    jobs = [job(f"J{k}", 3 * k, 45) for k in range(1, 7)]
    jobs.append(job("W", 4, 30, time_windows=[window(12, 12.25)]))
    plan = solved(problem([tech(breaks=brks)], jobs), quick)
    assert len(plan.unassigned) == 0


def test_partial_absence_is_respected(quick):
    # Absent 10:00-12:00: nothing may be served then.
    t = tech(absences=[window(10, 12)])
    jobs = [job(f"J{k}", 1 + k, 60) for k in range(5)]
    plan = solved(problem([t], jobs), quick)
    for s in plan.route_of("T1", 0).stops:
        if s.kind == STOP_JOB:
            assert s.end <= 10 * H or s.start >= 12 * H


def test_whole_day_absence_removes_the_day(quick):
    t = tech(absences=[window(0, 24)])
    plan = solved(problem([t], [job("A", 1)]), quick)
    assert plan.unassigned["A"].code == NO_SKILLED_ON_DAY


def test_pinned_technician_and_start(quick):
    # T1 lives next to the job, but it is pinned to T2 at 11:00.
    techs = [tech("T1", home=5), tech("T2", home=20)]
    p = problem(techs, [job("A", 5, pinned_technician="T2", pinned_start=11 * H), job("B", 6)])
    plan = solved(p, quick)
    r = plan.route_of("T2", 0)
    assert r.job_ids() == ["A"]
    assert next(s for s in r.stops if s.kind == STOP_JOB).start == 11 * H


def test_started_job_stays_even_before_shift(quick):
    # Started at 7:40 (before the 8:00 shift start) on T1; it must stay exactly there.
    j = job("A", 10, 60, started=True, pinned_technician="T1", pinned_start=7 * H + 2400)
    plan = solved(problem([tech(), tech("T2", home=10)], [j, job("B", 11)]), quick)
    r = plan.route_of("T1", 0)
    assert r.job_ids()[0] == "A"
    assert r.stops[0].start == 7 * H + 2400


def test_part_missing_from_van_adds_warehouse_stop(quick):
    t = tech(van_stock={"filter": 0})
    p = problem([t], [job("A", 10, parts={"filter": 1})], [warehouse("W1", 4, filter=5)])
    plan = solved(p, quick)
    r = plan.route_of("T1", 0)
    kinds = [s.kind for s in r.stops]
    assert kinds == [STOP_WAREHOUSE, STOP_JOB]
    assert r.stops[0].warehouse_id == "W1" and r.stops[0].parts == {"filter": 1}


def test_part_on_van_needs_no_warehouse(quick):
    t = tech(van_stock={"filter": 2})
    p = problem([t], [job("A", 10, parts={"filter": 1})], [warehouse("W1", 4, filter=5)])
    plan = solved(p, quick)
    assert [s.kind for s in plan.route_of("T1", 0).stops] == [STOP_JOB]


def test_van_stock_is_consumed_along_the_route(quick):
    # One filter on the van, two jobs need one each, no warehouse: one job is left.
    t = tech(van_stock={"filter": 1})
    jobs = [job("A", 10, parts={"filter": 1}), job("B", 11, parts={"filter": 1})]
    plan = solved(problem([t], jobs), quick)
    assert len(plan.unassigned) == 1


def test_parts_nowhere_is_explained(quick):
    p = problem([tech()], [job("A", 3, parts={"compressor": 1})], [warehouse("W1", 2, filter=3)])
    plan = solved(p, quick)
    assert plan.unassigned["A"].code == PARTS_UNAVAILABLE
    assert "compressor x1" in plan.unassigned["A"].reason


def test_van_capacity(quick):
    t = tech(capacity=10)
    jobs = [job("A", 1, demand=6), job("B", 2, demand=6), job("C", 3, demand=11)]
    plan = solved(problem([t], jobs), quick)
    assert len(plan.route_of("T1", 0).job_ids()) == 1
    assert plan.unassigned["C"].code == DEMAND_TOO_LARGE


def test_max_work_and_overtime(quick):
    # Shift 8-12 plus 1 h overtime; two 2 h jobs at km 30 need 4 h + 1 h driving.
    t = tech(end=12 * H, overtime_allowance=H, max_work=5 * H)
    plan = solved(problem([t], [job("A", 30, 120), job("B", 30, 120)]), quick)
    r = plan.route_of("T1", 0)
    assert len(r.job_ids()) == 2
    assert r.end <= 13 * H and r.end - r.start <= 5 * H
    assert plan.objective["overtime_seconds"] == r.end - 12 * H > 0


def test_max_work_is_hard(quick):
    t = tech(max_work=3 * H)
    plan = solved(problem([t], [job("A", 30, 120), job("B", 30, 120)]), quick)
    assert len(plan.unassigned) == 1


def test_duration_depends_on_level(quick):
    j = job("A", 1, 60, duration_by_level={4: 40 * 60})
    plan = solved(problem([tech(skills={"hvac": 4})], [j]), quick)
    s = next(s for s in plan.route_of("T1", 0).stops if s.kind == STOP_JOB)
    assert s.end - s.start == 40 * 60


def test_multi_day_each_job_on_a_day_in_its_window(quick):
    t = tech(days=(0, 1, 2))
    jobs = [
        job("A", 5, time_windows=[window(8, 17, day=1)]),
        job("B", 6, time_windows=[window(8, 17, day=2)]),
        job("C", 7, time_windows=[window(9, 10, day=0), window(9, 10, day=2)]),
    ]
    plan = solved(problem([t], jobs), quick)
    days = {j: d for j, (_, d) in plan.assignment().items()}
    assert days["A"] == 1 and days["B"] == 2 and days["C"] in (0, 2)


def test_sla_lateness_prefers_the_urgent_job_first(quick):
    # Both at the same spot; U is due 9:00: it goes first.
    jobs = [job("N", 10, 60), job("U", 10, 60, priority=1, sla_due=9 * H)]
    plan = solved(problem([tech()], jobs), quick)
    assert plan.route_of("T1", 0).job_ids() == ["U", "N"]
    assert plan.objective["sla_lateness_seconds"] == 0


def test_continuity_prefers_last_technician(quick):
    techs = [tech("T1", home=10), tech("T2", home=11)]
    p = problem(techs, [job("A", 10, last_technician="T2", customer_id="C1")])
    plan = solved(p, quick)
    assert plan.assignment()["A"][0] == "T2"
    assert plan.objective["continuity_misses"] == 0


def test_previous_plan_keeps_assignments(quick):
    techs = [tech("T1", home=10), tech("T2", home=12)]
    jobs = [job("A", 11), job("B", 12)]
    first = solved(problem(techs, jobs), quick)
    p2 = problem(techs, jobs, previous=first, weights=Weights(change=100_000))
    again = solved(p2, quick)
    assert again.assignment() == first.assignment()
    assert again.objective["changes"] == 0


def test_progress_is_reported(quick):
    seen = []
    solve(problem([tech()], [job("A", 1)]), quick, progress=lambda f, m: seen.append((f, m)))
    fractions = [f for f, _ in seen]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions)


def test_plan_round_trips_through_json(quick):
    import json

    brk = Break(TimeWindow(12 * H, 13 * H), 1800)
    p = problem([tech(breaks=(brk,))], [job("A", 1, 300), job("Z", 2, required_skills={"x": 1})])
    plan = solved(p, quick)
    back = Plan.from_dict(json.loads(json.dumps(plan.to_dict())))
    assert back == plan


def test_default_params_are_one_thread():
    assert SolveParams().threads == 1


def test_search_parameter_overrides_are_applied():
    from scheduler.instance import Instance
    from scheduler.optimizer import Model

    params = SolveParams(
        overrides={
            "local_search_operators.use_make_inactive": False,
            "ls_operator_neighbors_ratio": 0.5,
            "lns_time_limit": 0.2,
        }
    )
    model = Model(Instance(problem([tech()], [job("A", 1)])), params)
    sp = model.search_parameters(1.0)
    assert sp.local_search_operators.use_make_inactive == 2  # BOOL_FALSE
    assert sp.ls_operator_neighbors_ratio == 0.5
    assert sp.lns_time_limit.ToMilliseconds() == 200


def test_insertion_order_and_lp_scheduling_reach_the_search_parameters():
    from scheduler.instance import Instance
    from scheduler.optimizer import Model

    inst = Instance(problem([tech()], [job("A", 1)]))
    sp = Model(inst, SolveParams()).search_parameters(1.0)
    lcp = sp.local_cheapest_insertion_parameters
    assert [lcp.InsertionSortingProperty.Name(v) for v in lcp.insertion_sorting_properties] == [
        "SORTING_PROPERTY_PENALTY_OVER_ALLOWED_VEHICLES_RATIO"
    ]
    assert sp.disable_scheduling_beware_this_may_degrade_performance
    sp = Model(inst, SolveParams(insertion_sorting=(), lp_scheduling=True)).search_parameters(1.0)
    assert not sp.local_cheapest_insertion_parameters.insertion_sorting_properties
    assert not sp.disable_scheduling_beware_this_may_degrade_performance
