"""The validator must catch each kind of broken plan (plans are edited by hand here)."""

import copy

import pytest
from sched_factories import H, job, problem, tech, warehouse, window

from scheduler import Break, Plan, Route, Stop, TimeWindow, Unassigned, validate
from scheduler.model import STOP_BREAK, STOP_JOB, STOP_WAREHOUSE

LUNCH = Break(TimeWindow(12 * H, 13 * H), 1800)


def base_problem(**tech_kw):
    return problem(
        [tech(breaks=(LUNCH,), **tech_kw), tech("T2", skills={"gas": 1})],
        [job("A", 10, 60, time_windows=[window(9, 11)]), job("B", 20, 60)],
    )


def good_plan() -> Plan:
    # Leave 8:50, A 9:00-10:00, drive 10 min, B 10:10-11:10, lunch 12:00-12:30, home 11:30.
    stops = [
        Stop(STOP_JOB, 9 * H, 9 * H, 10 * H, job_id="A", travel_seconds=600, travel_metres=1),
        Stop(STOP_JOB, 10 * H + 600, 10 * H + 600, 11 * H + 600, job_id="B", travel_seconds=600),
        Stop(STOP_BREAK, 12 * H, 12 * H, 12 * H + 1800),
    ]
    route = Route("T1", 0, 8 * H + 3000, 11 * H + 1800, stops, return_travel_seconds=1200)
    return Plan(routes=[route])


def codes(p, plan):
    return {v.code for v in validate(p, plan)}


def test_good_plan_has_no_violation():
    assert validate(base_problem(), good_plan()) == []


def edit(fn):
    plan = copy.deepcopy(good_plan())
    fn(plan)
    return plan


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda p: setattr(p.routes[0].stops[0], "start", 11 * H + 60), "time_window"),
        (lambda p: setattr(p.routes[0], "start", 7 * H), "shift_start"),
        (lambda p: setattr(p.routes[0], "end", 18 * H), "shift_end"),
        (lambda p: p.routes[0].stops.pop(), "break_count"),
        (lambda p: setattr(p.routes[0].stops[2], "start", 14 * H), "break_window"),
        (lambda p: setattr(p.routes[0], "technician_id", "T2"), "skill"),
        (lambda p: setattr(p.routes[0].stops[1], "end", 11 * H), "service_duration"),
        (lambda p: p.routes[0].stops.pop(1), "missing_job"),
        (lambda p: p.unassigned.update(A=Unassigned("x", "y")), "planned_and_unassigned"),
        (lambda p: setattr(p.routes[0].stops[1], "travel_seconds", 5), "travel_mismatch"),
        (lambda p: setattr(p.routes[0], "day", 3), "no_shift"),
    ],
)
def test_each_violation_is_found(change, code):
    assert code in codes(base_problem(), edit(change))


def test_travel_too_short_between_stops():
    def squeeze(p):
        b = p.routes[0].stops[1]
        b.arrival, b.start, b.end = 10 * H + 60, 10 * H + 60, 11 * H + 60

    assert "travel_time" in codes(base_problem(), edit(squeeze))


def test_break_inside_a_drive_counts_as_pause():
    # Lunch 10:00-10:30 between A (ends 10:00) and B: B cannot start before 10:40.
    p = base_problem()
    p.technicians[0].shifts[0] = type(p.technicians[0].shifts[0])(
        0, 8 * H, 17 * H, (Break(TimeWindow(10 * H, 10 * H), 1800),)
    )

    def lunch_at_ten(plan):
        plan.routes[0].stops[2].start, plan.routes[0].stops[2].end = 10 * H, 10 * H + 1800

    assert "travel_time" in codes(p, edit(lunch_at_ten))


def test_break_during_service():
    def lunch_in_a(plan):
        plan.routes[0].stops[2].start, plan.routes[0].stops[2].end = 9 * H, 9 * H + 1800

    p = base_problem()
    assert "break_during_service" in codes(p, edit(lunch_in_a))


def test_absence_overlapping_a_visit():
    p = base_problem(absences=[window(9.5, 10)])
    assert "absence_during_service" in codes(p, good_plan())


def test_max_work():
    assert "max_work" in codes(base_problem(max_work=2 * H), good_plan())


def test_pinned_and_started():
    p = base_problem()
    p.jobs[0].pinned_start = 9 * H + 60
    p.jobs[1].pinned_technician = "T9"
    found = codes(p, good_plan())
    assert {"pinned_start", "pinned_technician"} <= found
    p.jobs[0].started = True
    plan = edit(lambda pl: pl.routes[0].stops.pop(0))
    plan.unassigned["A"] = Unassigned("x", "y")
    assert "started_moved" in codes(p, plan)


def test_parts_need_van_stock_or_a_pickup():
    p = base_problem()
    p.jobs[1].parts = {"valve": 1}
    assert "parts" in codes(p, good_plan())
    p.warehouses.append(warehouse("W", 15, valve=1))

    def pickup(plan):
        # A ends 10:00, 5 min to W, pick up 10:05-10:15, 5 min to B, B 10:20-11:20.
        r = plan.routes[0]
        r.stops.insert(
            1,
            Stop(
                STOP_WAREHOUSE,
                10 * H + 300,
                10 * H + 300,
                10 * H + 900,
                warehouse_id="W",
                travel_seconds=300,
                parts={"valve": 1},
            ),
        )
        b = r.stops[2]
        b.arrival, b.start, b.end, b.travel_seconds = (
            10 * H + 1200,
            10 * H + 1200,
            11 * H + 1200,
            300,
        )
        r.end = 11 * H + 2400

    assert validate(p, edit(pickup)) == []
    p.warehouses[0].stock["valve"] = 0
    assert "warehouse_stock" in codes(p, edit(pickup))


def test_capacity():
    p = base_problem(capacity=5)
    p.jobs[0].demand = p.jobs[1].demand = 3
    assert "capacity" in codes(p, good_plan())


def test_unknown_ids():
    p = base_problem()
    plan = good_plan()
    plan.unassigned["nope"] = Unassigned("x", "y")
    plan.routes.append(Route("ghost", 0, 0, 0, []))
    assert {"unknown_job", "unknown_technician"} <= codes(p, plan)
