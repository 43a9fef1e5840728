"""The constraint catalogue: one small test per rule, and which engine encodes each rule.

The day: T1 lives at km 0, works 8:00-17:00 with a 30 min lunch to start 12:00-13:00; A (km 10,
60 min, window 9:00-11:00) and B (km 20, 60 min). One km is one minute of driving.
"""

import copy

import pytest
from sched_factories import H, job, problem, tech, warehouse, window

from scheduler import Break, Plan, SolveParams, TimeWindow, Unassigned, Weights, solve, validate
from scheduler import constraints as c
from scheduler.explain import reason
from scheduler.instance import Instance
from scheduler.model import STOP_BREAK, STOP_JOB, STOP_WAREHOUSE, Route, Stop
from scheduler.ruin_recreate import skip_reason

LUNCH = Break(TimeWindow(12 * H, 13 * H), 1800)


def day(techs=None, jobs=None, **kw):
    techs = techs or [tech(breaks=(LUNCH,))]
    jobs = jobs or [job("A", 10, 60, time_windows=[window(9, 11)]), job("B", 20, 60)]
    return problem(techs, jobs, **kw)


def good_plan() -> Plan:
    # Leave 8:50, drive 10 min, A 9:00-10:00, drive 10 min, B 10:10-11:10, drive 20 min,
    # home 11:30, lunch 12:00-12:30.
    stops = [
        Stop(STOP_JOB, 9 * H, 9 * H, 10 * H, job_id="A", travel_seconds=600),
        Stop(STOP_JOB, 10 * H + 600, 10 * H + 600, 11 * H + 600, job_id="B", travel_seconds=600),
        Stop(STOP_BREAK, 12 * H, 12 * H, 12 * H + 1800),
    ]
    return Plan(routes=[Route("T1", 0, 8 * H + 3000, 11 * H + 1800, stops, 1200)])


def edited(fn) -> Plan:
    plan = copy.deepcopy(good_plan())
    fn(plan)
    return plan


def broken(rule: str, p, plan) -> list[str]:
    """The codes ``rule`` alone reports (travel on the line: |a - b| minutes)."""
    found = c.violations(p, plan, lambda a, b: abs(a - b) * 60, rules=[c.RULE[rule]])
    return sorted(v.code for v in found)


def test_the_day_breaks_no_rule():
    assert validate(day(), good_plan()) == []
    assert all(broken(r.name, day(), good_plan()) == [] for r in c.RULES)


def test_pinned_technician():
    p = day()
    p.jobs[1].pinned_technician = "T2"
    assert broken("pinned_technician", p, good_plan()) == ["pinned_technician"]


def test_skills():
    p = day()
    p.jobs[0].required_skills = {"gas": 1}  # T1 has hvac 3 only
    assert broken("skills", p, good_plan()) == ["skill"]


def test_time_windows():
    p = day()
    p.jobs[0].time_windows = [window(9.5, 11)]  # A starts 9:00, half an hour early
    assert broken("time_windows", p, good_plan()) == ["time_window"]
    p.jobs[0].started = True  # a started job keeps the time it started at
    assert broken("time_windows", p, good_plan()) == []


def test_capacity():
    p = day(techs=[tech(breaks=(LUNCH,), capacity=5)])
    p.jobs[0].demand = p.jobs[1].demand = 3  # 3 + 3 > 5
    assert broken("capacity", p, good_plan()) == ["capacity"]
    p.jobs[1].demand = 2  # 3 + 2 = 5 fits
    assert broken("capacity", p, good_plan()) == []


def test_shift():
    early = edited(lambda pl: setattr(pl.routes[0], "start", 7 * H))  # the shift starts 8:00
    assert broken("shift", day(), early) == ["shift_start"]


def test_max_work():
    # Departure 8:50 to return 11:30 is 2 h 40 min.
    for hours, found in [(2, ["max_work"]), (3, [])]:
        p = day(techs=[tech(breaks=(LUNCH,), max_work=hours * H)])
        assert broken("max_work", p, good_plan()) == found


def test_overtime():
    # The shift ends 11:00; the route is home 11:30.
    for allowance, found in [(0, ["shift_end"]), (1800, [])]:
        p = day(techs=[tech(end=11 * H, breaks=(LUNCH,), overtime_allowance=allowance)])
        assert broken("overtime", p, good_plan()) == found


def test_pinned_start():
    p = day()
    p.jobs[0].pinned_start = 9 * H + 60
    assert broken("pinned_start", p, good_plan()) == ["pinned_start"]
    p.jobs[0].pinned_start = 9 * H
    assert broken("pinned_start", p, good_plan()) == []


def test_service_durations():
    p = day()
    p.jobs[0].duration_by_level = {3: 1800}  # T1's hvac level 3 does A in 30 min, not 60
    assert broken("service_durations", p, good_plan()) == ["service_duration"]


def test_breaks():
    p = day()
    assert broken("breaks", p, edited(lambda pl: pl.routes[0].stops.pop())) == ["break_count"]

    def late_lunch(pl):
        pl.routes[0].stops[2].start, pl.routes[0].stops[2].end = 14 * H, 14 * H + 1800

    assert broken("breaks", p, edited(late_lunch)) == ["break_window"]

    def lunch_in_a(pl):  # the window allows 9:00 here, but A runs 9:00-10:00
        pl.routes[0].stops[2].start, pl.routes[0].stops[2].end = 9 * H, 9 * H + 1800

    early = day(techs=[tech(breaks=(Break(TimeWindow(9 * H, 13 * H), 1800),))])
    assert broken("breaks", early, edited(lunch_in_a)) == ["break_during_service"]


def test_absences():
    away = day(techs=[tech(breaks=(LUNCH,), absences=[window(9.5, 10)])])  # inside A
    assert broken("absences", away, good_plan()) == ["absence_during_service"]
    afternoon = day(techs=[tech(breaks=(LUNCH,), absences=[window(14, 17)])])
    assert broken("absences", afternoon, good_plan()) == []


def test_travel():
    def squeeze(pl):  # B at 10:05: 5 min after A for a 10 min drive
        b = pl.routes[0].stops[1]
        b.arrival, b.start, b.end = 10 * H + 300, 10 * H + 300, 11 * H + 300

    assert broken("travel", day(), edited(squeeze)) == ["travel_time"]


def test_travel_counts_a_break_inside_a_drive_as_pause():
    # Lunch 10:00-10:30 between A (ends 10:00) and B at 10:10: B can start 10:40 at best.
    p = day(techs=[tech(breaks=(Break(TimeWindow(10 * H, 10 * H), 1800),))])

    def lunch_at_ten(pl):
        pl.routes[0].stops[2].start, pl.routes[0].stops[2].end = 10 * H, 10 * H + 1800

    assert "travel_time" in broken("travel", p, edited(lunch_at_ten))


def pickup(pl):
    # A ends 10:00, 5 min to W (km 15), pick up 10:05-10:15, 5 min to B, B 10:20-11:20.
    r = pl.routes[0]
    r.stops.insert(1, Stop(STOP_WAREHOUSE, 10 * H + 300, 10 * H + 300, 10 * H + 900,
                           warehouse_id="W", travel_seconds=300, parts={"valve": 1}))  # fmt: skip
    b = r.stops[2]
    b.arrival, b.start, b.end, b.travel_seconds = 10 * H + 1200, 10 * H + 1200, 11 * H + 1200, 300
    r.end = 11 * H + 2400


def test_parts():
    p = day()
    p.jobs[1].parts = {"valve": 1}  # the van holds none
    assert broken("parts", p, good_plan()) == ["parts"]
    p.warehouses.append(warehouse("W", 15, valve=1))
    assert broken("parts", p, edited(pickup)) == []
    p.warehouses[0].stock["valve"] = 0  # picked up more than the warehouse holds
    assert broken("parts", p, edited(pickup)) == ["warehouse_stock"]


def test_started():
    p = day()
    p.jobs[0].started = True
    plan = edited(lambda pl: pl.routes[0].stops.pop(0))
    plan.unassigned["A"] = Unassigned("x", "y")
    assert broken("started", p, plan) == ["started_moved"]
    p.jobs[0].started = False
    assert broken("started", p, plan) == []


def test_assignment():
    assert broken("assignment", day(), edited(lambda pl: pl.routes[0].stops.pop(1))) == [
        "missing_job"
    ]
    twice = edited(lambda pl: pl.unassigned.update(B=Unassigned("x", "y")))
    assert broken("assignment", day(), twice) == ["planned_and_unassigned"]


def test_every_code_the_validator_reports_belongs_to_a_rule():
    codes = {code for r in c.RULES for code in r.codes}
    plan = edited(lambda pl: pl.routes.append(Route("ghost", 0, 0, 0, [])))
    plan.unassigned["nope"] = Unassigned("x", "")
    assert {v.code for v in validate(day(), plan)} <= codes


# -- which engine encodes which rule ----------------------------------------------------------


def test_every_rule_states_how_each_engine_encodes_it():
    assert set(c.ENCODED_IN) == set(c.RULE), "add a line to constraints.ENCODED_IN"
    for name, engines in c.ENCODED_IN.items():
        assert set(engines) == {"ortools", "kernel"}, name


PLAIN = Weights(balance=0)  # the default balance term alone keeps the kernel phase off


def active(rule: str):
    """A day on which ``rule`` constrains the plan and nothing else the kernel lacks does."""
    one, two = [tech()], [tech("T1"), tech("T2", home=40, skills={"hvac": 3, "gas": 2})]
    jobs = [job(f"J{k}", 5 * k, 60) for k in range(1, 5)]
    days = {
        "pinned_technician": lambda: day(two, [*jobs, job("P", 2, 60, pinned_technician="T2")]),
        "skills": lambda: day(two, [*jobs, job("G", 2, 60, required_skills={"gas": 2})]),
        "time_windows": lambda: day(one, [*jobs, job("W", 3, 60, time_windows=[window(15, 16)])]),
        "capacity": lambda: day([tech(capacity=5)], [job(f"D{k}", k, 30, demand=3) for k in range(3)]),
        "shift": lambda: day([tech(start=11 * H)], jobs),
        "overtime": lambda: day([tech(end=12 * H, overtime_allowance=H, overtime_cost=0)], jobs),
        "max_work": lambda: day([tech(max_work=3 * H)], jobs),
        "pinned_start": lambda: day(one, [*jobs, job("S", 3, 60, pinned_start=15 * H)]),
        "service_durations": lambda: day(one, [*jobs, job("L", 3, 120, duration_by_level={3: 30})]),
        "breaks": lambda: day([tech(breaks=(LUNCH,))], jobs),
        "absences": lambda: day([tech(absences=[window(9, 12)])], jobs),
        "travel": lambda: day(one, [job(f"F{k}", 10 * k, 90) for k in range(1, 5)]),
        "parts": lambda: day(one, [*jobs, job("V", 3, 30, parts={"valve": 1})],
                             warehouses=[warehouse("W", 1, valve=1)]),
        "started": lambda: day(one, [*jobs, job("R", 3, 60, started=True, pinned_technician="T1",
                                                pinned_start=8 * H + 60)]),
        "assignment": lambda: day([tech(end=10 * H)], jobs),
    }  # fmt: skip
    assert rule in days, f"add a day on which {rule} constrains the plan"
    p = days[rule]()
    p.weights = PLAIN
    return p


@pytest.mark.parametrize("rule", sorted(c.ENCODED_IN))
def test_the_kernel_phase_stays_off_on_days_with_a_rule_it_does_not_encode(rule):
    assert skip_reason(Instance(day([tech()], [job("J", 3)], weights=PLAIN))) is None
    off = skip_reason(Instance(active(rule)))
    if c.ENCODED_IN[rule]["kernel"] is c.NOT_ENCODED:
        assert off is not None
    else:
        assert off is None


ENCODED = [(r, e) for r, by in sorted(c.ENCODED_IN.items()) for e, how in by.items() if how]


@pytest.mark.parametrize(("rule", "engine"), ENCODED)
def test_an_engine_that_encodes_a_rule_keeps_it(rule, engine):
    p = active(rule)
    params = SolveParams(time_limit=0.4, ruin_recreate=engine == "kernel")
    plan = solve(p, params)
    assert validate(p, plan) == []
    assert plan.routes


@pytest.mark.parametrize(
    ("t", "j", "code", "words"),
    [
        (tech(), job("X", 3, pinned_technician="T9"), "pinned_technician_unavailable", "unknown"),
        (tech(), job("X", 3, required_skills={"gas": 1}), "no_skill", "gas level ≥ 1"),
        (tech(), job("X", 3, time_windows=[window(8, 9, day=2)]), "no_skilled_technician_on_day",
         "time windows"),
        (tech(capacity=5), job("X", 3, demand=9), "demand_exceeds_capacity", "load (9)"),
        # Home 8:00 + 40 min: the window closing 8:30 cannot be met.
        (tech(), job("X", 40, time_windows=[window(7, 8.5)]), "time_window_unreachable", "08:40"),
        (tech(max_work=H), job("X", 3, 90), "duration_exceeds_shift", "maximum working time"),
        (tech(), job("X", 3, parts={"valve": 1}), "parts_unavailable", "valve x1"),
        (tech(), job("X", 3), "capacity_exhausted", "the 1 qualified technician"),
    ],
)  # fmt: skip
def test_the_explanation_names_the_first_rule_no_technician_day_passes(t, j, code, words):
    p = day([t], [j])
    u = reason(Instance(p), j)
    assert u.code == code and words in u.reason
