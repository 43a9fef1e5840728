"""How a split day's time limit is divided between territories and the whole-day phase."""

import pytest
from sched_factories import job, problem, tech, window

from scheduler import SolveParams, optimizer, solve, validate
from scheduler.optimizer import split_budget, territory_limits


def test_territory_limits_add_up_to_the_search_time_in_proportion_to_the_jobs():
    limits = territory_limits(20.0, [0.2, 0.3, 0.5])
    assert sum(limits) == pytest.approx(20.0)
    # Floor 0.5 s each, the other 18.5 s by share of the jobs.
    assert limits == pytest.approx([0.5 + 3.7, 0.5 + 5.55, 0.5 + 9.25])


def test_a_short_limit_scales_the_territories_down_instead_of_overrunning():
    # Five territories and 0.6 s: the 0.5 s floors (2.5 s) do not fit, so each gets its
    # equal part and the sum stays the time there is.
    limits = territory_limits(0.6, [0.17, 0.2, 0.2, 0.19, 0.24])
    assert sum(limits) == pytest.approx(0.6)
    assert limits == pytest.approx([0.12] * 5)


def test_no_time_left_gives_territories_nothing_rather_than_a_negative_limit():
    assert territory_limits(-0.3, [0.5, 0.5]) == [0.0, 0.0]
    assert territory_limits(1.0, []) == []


def test_the_whole_day_phase_gets_its_share_of_a_long_limit():
    search, whole_day = split_budget(30.0)
    assert whole_day == pytest.approx(30.0 * optimizer.WHOLE_DAY_SHARE)
    assert search + whole_day == pytest.approx(30.0 * (1 - optimizer.REPAIR_SHARE))


def test_a_short_limit_gives_the_whole_day_phase_time_to_the_territories():
    # 0.3 of 1.2 s is below the phase's useful minimum: the territories get it.
    search, whole_day = split_budget(1.2)
    assert whole_day == 0.0
    assert search == pytest.approx(1.2 * (1 - optimizer.REPAIR_SHARE))


def test_ortools_gets_the_first_plan_only_when_its_share_is_long_enough():
    assert optimizer.ortools_worth_it(SolveParams(time_limit=10.0))
    # 0.9 of a 1 s run goes to ruin and recreate; 0.1 s is too little for OR-Tools.
    assert not optimizer.ortools_worth_it(SolveParams(time_limit=1.0))


def test_a_short_run_without_ortools_still_plans_every_job_in_its_window():
    # Home at km 0; A at km 10 in 9:00-9:10, B at km 20. 0.5 s: OR-Tools is skipped.
    p = problem([tech()], [job("A", 10, time_windows=[window(9, 9 + 1 / 6)]), job("B", 20)])
    plan = solve(p, SolveParams(time_limit=0.5))
    assert validate(p, plan) == []
    assert plan.route_of("T1", 0).job_ids() == ["A", "B"]
    assert plan.unassigned == {}
    first = plan.stats["phases"][0]
    assert first["phase"] == "or-tools" and "too little time" in first["skipped"]
