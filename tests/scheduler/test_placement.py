"""A hand placement against the rule catalogue, and slot offers, on hand-checked lines."""

from __future__ import annotations

from scheduler import Break, Plan, Problem, TimeWindow
from scheduler.placement import check_placement
from scheduler.slots import slot_offers
from tests.scheduler.sched_factories import ORIGIN, H, job, line_matrix, tech


def _problem(*jobs, **tech_kw) -> Problem:
    return Problem(
        origin=ORIGIN,
        technicians=[tech(**tech_kw)],
        jobs=list(jobs),
        matrix=line_matrix(),
        days=1,
    )


def _rules(broken) -> set[str]:
    return {b.rule for b in broken}


def test_a_free_start_next_to_another_job_breaks_nothing():
    # A at km 10 from 09:00 (30 min, ends 09:30); B at km 20 is 10 min away: 10:00 is fine.
    p = _problem(job("A", 10), job("B", 20))
    assert check_placement(p, "T1", 0, "B", 10 * H, {"A": 9 * H}) == []


def test_overlap_and_too_little_travel_are_named():
    p = _problem(job("A", 10), job("B", 20))
    # 09:15 is inside A (09:00–09:30).
    assert "travel" in _rules(check_placement(p, "T1", 0, "B", 9 * H + 900, {"A": 9 * H}))
    # 09:35 leaves 5 min for the 10 min drive from A.
    broken = check_placement(p, "T1", 0, "B", 9 * H + 35 * 60, {"A": 9 * H})
    assert [b.code for b in broken] == ["travel_time"]


def test_window_skill_shift_and_break_are_named():
    windowed = job("W", 5, time_windows=[TimeWindow(13 * H, 15 * H)])
    p = _problem(windowed)
    assert _rules(check_placement(p, "T1", 0, "W", 9 * H, {})) == {"time_windows"}
    welding = job("S", 5, required_skills={"welding": 1})
    assert _rules(check_placement(_problem(welding), "T1", 0, "S", 9 * H, {})) == {"skills"}
    # The shift starts at 08:00 and km 30 is 30 min away: 08:10 means leaving at 07:40.
    far = job("F", 30)
    assert "shift" in _rules(check_placement(_problem(far), "T1", 0, "F", 8 * H + 600, {}))
    # A 60-min break that must start 12:00–12:30 cannot fit around a 12:00–14:00 visit.
    lunch = (Break(TimeWindow(12 * H, 12 * H + 1800), 3600),)
    long = job("L", 1, minutes=120)
    assert _rules(check_placement(_problem(long, breaks=lunch), "T1", 0, "L", 12 * H, {})) & {
        "breaks"
    }


def test_slot_offers_rank_technicians_by_added_cost():
    # T1 lives at km 0, T2 at km 40; the job sits at km 5: T1 adds less travel.
    p = Problem(
        origin=ORIGIN,
        technicians=[tech("T1", home=0), tech("T2", home=40)],
        jobs=[],
        matrix=line_matrix(),
        days=1,
    )
    offers = slot_offers(p, Plan(), job("N", 5), limit=5)
    assert [o.technician_id for o in offers] == ["T1", "T2"]
    assert offers[0].added_travel == 2 * 5 * 60  # there and back, 5 min each way
    assert offers[0].cost < offers[1].cost
