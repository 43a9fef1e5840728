"""SLA due times: targets counted only within contract coverage hours."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from fieldsvc.models import ServiceContract, SlaTarget
from fieldsvc.services import sla

TEHRAN = ZoneInfo("Asia/Tehran")  # UTC+03:30, no DST since 2022


def coverage(days="01234", start=time(8), end=time(17), tz=TEHRAN, always=False):
    return sla.Coverage(days=frozenset(int(d) for d in days), start=start, end=end, tz=tz,
                        always=always)


def at(y, m, d, hh=0, mm=0, tz=TEHRAN):
    return datetime(y, m, d, hh, mm, tzinfo=tz)


# 2025-01-06 is a Monday; 2025-01-03 a Friday, 2025-01-04 a Saturday.

def test_within_one_window():
    assert sla.add_covered_minutes(at(2025, 1, 6, 9), 120, coverage()) == at(2025, 1, 6, 11)


def test_friday_afternoon_runs_over_the_weekend_into_monday():
    # Friday 16:00 + 120 min: 60 min on Friday (to 17:00), 60 min from Monday 08:00.
    assert sla.add_covered_minutes(at(2025, 1, 3, 16), 120, coverage()) == at(2025, 1, 6, 9)


def test_creation_outside_coverage_waits_for_the_next_window():
    # Saturday 10:00 → the clock starts Monday 08:00.
    assert sla.add_covered_minutes(at(2025, 1, 4, 10), 30, coverage()) == at(2025, 1, 6, 8, 30)
    # Early Monday 06:00 → starts 08:00 the same day.
    assert sla.add_covered_minutes(at(2025, 1, 6, 6), 60, coverage()) == at(2025, 1, 6, 9)
    # Monday 18:00 (after closing) → Tuesday 08:00.
    assert sla.add_covered_minutes(at(2025, 1, 6, 18), 60, coverage()) == at(2025, 1, 7, 9)


def test_target_spanning_several_days():
    # 9 covered hours a day; 1,000 min = 16 h 40 = Mon 8-17 (9 h) + Tue 8:00-15:40.
    assert sla.add_covered_minutes(at(2025, 1, 6, 8), 1000, coverage()) == at(2025, 1, 7, 15, 40)


def test_ending_exactly_at_closing_time_stays_that_day():
    assert sla.add_covered_minutes(at(2025, 1, 6, 8), 540, coverage()) == at(2025, 1, 6, 17)


def test_window_crossing_midnight():
    night = coverage(days="0123456", start=time(22), end=time(6))
    # 23:00 + 180 min → 02:00 next day.
    assert sla.add_covered_minutes(at(2025, 1, 6, 23), 180, night) == at(2025, 1, 7, 2)
    # 05:00 is inside the window that began yesterday at 22:00: 60 min to 06:00, then
    # the remaining 60 from 22:00.
    assert sla.add_covered_minutes(at(2025, 1, 7, 5), 120, night) == at(2025, 1, 7, 23)


def test_overnight_window_belongs_to_the_listed_day():
    monday_night = coverage(days="0", start=time(22), end=time(6))
    # Tuesday 05:00 is still Monday night's window.
    assert sla.add_covered_minutes(at(2025, 1, 7, 5), 30, monday_night) == at(2025, 1, 7, 5, 30)
    # Tuesday 07:00: the next window is next Monday 22:00.
    assert sla.add_covered_minutes(at(2025, 1, 7, 7), 30, monday_night) == \
        at(2025, 1, 13, 22, 30)


def test_equal_start_and_end_mean_the_whole_day():
    whole = coverage(days="0", start=time(0), end=time(0))
    # Monday 20:00 + 300 min: 4 h left on Monday, then next Monday 00:00 + 1 h.
    assert sla.add_covered_minutes(at(2025, 1, 6, 20), 300, whole) == at(2025, 1, 13, 1)


def test_tehran_hours_give_the_right_utc_instant():
    # Input in UTC: 2025-01-06 04:00Z = 07:30 Tehran, before opening at 08:00.
    due = sla.add_covered_minutes(datetime(2025, 1, 6, 4, 0, tzinfo=UTC), 60, coverage())
    assert due == datetime(2025, 1, 6, 5, 30, tzinfo=UTC)  # 09:00 Tehran
    assert due.tzinfo == UTC


def test_coverage_days_follow_the_local_calendar_not_utc():
    # Friday 22:00Z is Saturday 01:30 in Tehran: outside Mon-Fri, so Monday 08:00.
    due = sla.add_covered_minutes(datetime(2025, 1, 3, 22, 0, tzinfo=UTC), 60, coverage())
    assert due == at(2025, 1, 6, 9)


def test_daylight_saving_change_keeps_local_opening_hours():
    berlin = ZoneInfo("Europe/Berlin")  # clocks go forward on Sunday 2025-03-30
    cov = coverage(days="0123456", tz=berlin)
    due = sla.add_covered_minutes(at(2025, 3, 29, 16, tz=berlin), 120, cov)
    assert due == at(2025, 3, 30, 9, tz=berlin)
    assert due == datetime(2025, 3, 30, 7, 0, tzinfo=UTC)  # UTC+2 after the change


def test_24x7_and_no_coverage_count_wall_clock():
    start = at(2025, 1, 4, 10)
    assert sla.add_covered_minutes(start, 90, coverage(always=True)) == start + timedelta(
        minutes=90)
    assert sla.add_covered_minutes(start, 90, None) == start + timedelta(minutes=90)


def test_naive_or_negative_input_is_refused():
    with pytest.raises(ValueError):
        sla.add_covered_minutes(datetime(2025, 1, 6, 9), 10, coverage())
    with pytest.raises(ValueError):
        sla.add_covered_minutes(at(2025, 1, 6, 9), -1, coverage())


def _contract(**kw):
    targets = kw.pop("targets", {2: (120, 600)})
    defaults = dict(id=7, number="C", customer_id=1, name="x", starts_on=date(2024, 1, 1),
                    ends_on=date(2026, 1, 1), coverage_24x7=False, coverage_days="01234",
                    coverage_start=time(8), coverage_end=time(17), timezone="Asia/Tehran")
    contract = ServiceContract(**(defaults | kw))
    contract.targets = [SlaTarget(priority=p, response_minutes=r, resolution_minutes=s)
                        for p, (r, s) in targets.items()]
    return contract


def test_due_times_use_the_contract_target_and_coverage():
    due = sla.due_times(at(2025, 1, 3, 16), 2, _contract())
    assert due.response_due_at == at(2025, 1, 6, 9)          # 60 Fri + 60 Mon
    assert due.resolution_due_at == at(2025, 1, 6, 17)       # 60 Fri + 540 Mon (9 h)
    assert due.contract_id == 7


def test_due_times_fall_back_to_wall_clock_defaults():
    created = at(2025, 1, 4, 10)
    for priority, (response_h, resolution_h) in {1: (4, 8), 2: (8, 24), 3: (24, 72),
                                                 4: (72, 168)}.items():
        due = sla.due_times(created, priority, None)
        assert due.response_due_at == created + timedelta(hours=response_h)
        assert due.resolution_due_at == created + timedelta(hours=resolution_h)
        assert due.contract_id is None
    # A contract without a target for this priority: defaults too.
    due = sla.due_times(created, 1, _contract())
    assert due.response_due_at == created + timedelta(hours=4)


def test_contract_with_24x7_counts_wall_clock():
    due = sla.due_times(at(2025, 1, 4, 10), 2, _contract(coverage_24x7=True))
    assert due.response_due_at == at(2025, 1, 4, 12)


# --- contract lookup and the API ------------------------------------------------------


def test_asset_contract_beats_customer_contract_and_expired_ones_are_ignored(
        app, make, link, ctx):
    customer = make.customer()
    site = make.site(customer)
    asset = make.asset(customer, site=site)
    other_asset = make.asset(customer, site=site)
    today = date.today()
    customer_level = make.contract(customer, targets={3: (60, 120)}, coverage_24x7=True)
    expired = make.contract(customer, targets={3: (10, 20)}, coverage_24x7=True,
                            starts_on=today - timedelta(days=400),
                            ends_on=today - timedelta(days=35))
    linked = make.contract(customer, targets={3: (30, 90)}, coverage_24x7=True)
    link(asset, linked)
    link(asset, expired)
    now = datetime.now(UTC)
    assert sla.find_contract(ctx, customer.id, asset.id, now).id == linked.id
    # Another asset of the customer: the customer-level contract (one covering no asset).
    assert sla.find_contract(ctx, customer.id, other_asset.id, now).id == customer_level.id
    assert sla.find_contract(ctx, customer.id, None, now).id == customer_level.id
    assert sla.find_contract(ctx, make.customer().id, None, now) is None


def test_work_order_gets_due_times_and_recomputes_them_on_priority_change(
        client, make, link):
    customer = make.customer()
    site = make.site(customer)
    asset = make.asset(customer, site=site)
    contract = make.contract(customer, targets={1: (60, 240), 3: (600, 1200)},
                             coverage_24x7=True)
    link(asset, contract)
    created = client.post("/api/v1/work-orders",
                          json={"summary": "Down", "asset_id": asset.id, "priority": 3})
    assert created.status_code == 201
    body = created.json
    assert body["site_id"] == site.id and body["customer_id"] == customer.id
    assert body["contract_id"] == contract.id
    start = datetime.fromisoformat(body["created_at"])
    assert datetime.fromisoformat(body["response_due_at"]) == start + timedelta(minutes=600)
    assert datetime.fromisoformat(body["resolution_due_at"]) == start + timedelta(minutes=1200)

    changed = client.patch(f"/api/v1/work-orders/{body['id']}", json={"priority": 1})
    assert changed.status_code == 200
    assert datetime.fromisoformat(changed.json["response_due_at"]) == start + timedelta(minutes=60)
    assert datetime.fromisoformat(changed.json["resolution_due_at"]) == \
        start + timedelta(minutes=240)
    # Priority 2 has no target in the contract: the default 8 h / 24 h apply.
    fallback = client.patch(f"/api/v1/work-orders/{body['id']}", json={"priority": 2})
    assert datetime.fromisoformat(fallback.json["response_due_at"]) == start + timedelta(hours=8)


def test_work_order_without_contract_uses_defaults(client, make):
    site = make.site()
    body = client.post("/api/v1/work-orders",
                       json={"summary": "x", "site_id": site.id, "priority": 1}).json
    start = datetime.fromisoformat(body["created_at"])
    assert body["contract_id"] is None
    assert datetime.fromisoformat(body["response_due_at"]) == start + timedelta(hours=4)
    assert datetime.fromisoformat(body["resolution_due_at"]) == start + timedelta(hours=8)
