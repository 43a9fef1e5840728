"""PM generation: due occurrences become work orders exactly once, with parts reserved."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from fieldsvc.extensions import db
from fieldsvc.models import (
    AuditEntry,
    StockLevel,
    StockMovement,
    WorkOrder,
    WorkOrderTransition,
    WorkOrderWindow,
)
from fieldsvc.models.enums import WarehouseKind

TEHRAN = ZoneInfo("Asia/Tehran")
# Thursday 2030-01-10, 09:30 in Tehran (UTC+03:30, no daylight saving since 2022).
NOW = datetime(2030, 1, 10, 6, 0, tzinfo=UTC)
WEEKLY_SAT = "FREQ=WEEKLY;BYDAY=SA"


def _local(day: date, hour: int = 0, tz=TEHRAN) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=tz).astimezone(UTC)


def _count(app, model, *where) -> int:
    with app.app_context():
        n = db.session.scalar(db.select(db.func.count()).select_from(model).where(*where))
        db.session.remove()
        return n


def test_occurrences_inside_the_lead_time_become_complete_work_orders(
        app, client, make, plan, generate, pm_orders):
    customer = make.customer()
    site = make.site(customer)
    asset = make.asset(site=site, serial_number="SN-PM-1")
    skill = make.skill("hvac")
    part = make.part(sku="FILTER-1")
    weekly = plan([asset], name="Weekly filter check", rrule=WEEKLY_SAT,
                  dtstart=_local(date(2029, 1, 6), 9), lead_days=7, priority=3,
                  estimated_minutes=50, checklist=["Check filter", "Log pressure"],
                  description="Filters and pressure.", skills={skill: 2}, parts={part: 1})

    report = generate(now=NOW)

    # Saturdays within Thu 10 … Thu 17 Jan: only the 12th (the 19th is beyond the lead time).
    assert [(p, a, d) for p, a, d, _ in pm_orders()] == [(weekly.id, asset.id, date(2030, 1, 12))]
    assert (report.plans_examined, report.occurrences_found, report.work_orders_created,
            report.already_existing) == (1, 1, 1, 0)
    wo_id = report.work_order_ids[0]
    body = client.get(f"/api/v1/work-orders/{wo_id}").json
    assert body["type"] == "preventive" and body["status"] == "new"
    assert body["priority"] == 3 and body["estimated_minutes"] == 50
    assert body["summary"] == "Weekly filter check (SN-PM-1)"
    assert body["customer_id"] == customer.id and body["site_id"] == site.id
    assert body["asset_id"] == asset.id
    assert body["pm_plan_id"] == weekly.id and body["pm_due_on"] == "2030-01-12"
    assert body["checklist"] == ["Check filter", "Log pressure"]
    assert body["skills"] == [{"skill_id": skill.id, "min_level": 2}]
    assert [(p["part_id"], p["quantity"], p["reserved"]) for p in body["parts"]] == [
        (part.id, 1, 0)]
    assert "Parts missing" in body["description"] and "FILTER-1" in body["description"]
    # Window: start of the due day minus 7 days is in the past → from now to the day's end.
    assert body["time_windows"] == [{
        "starts_at": "2030-01-10T06:00:00+00:00",
        "ends_at": _local(date(2030, 1, 13)).isoformat()}]
    # SLA clock starts at the start of the due day (no contract: P3 = 24 h / 72 h).
    start = _local(date(2030, 1, 12))
    assert body["response_due_at"] == (start + timedelta(hours=24)).isoformat()
    assert body["resolution_due_at"] == (start + timedelta(hours=72)).isoformat()
    history = client.get(f"/api/v1/work-orders/{wo_id}/transitions").json["items"]
    assert [(h["from_status"], h["to_status"]) for h in history] == [(None, "new")]
    assert _count(app, AuditEntry, AuditEntry.action == "pm-generate") == 1


def test_second_run_creates_nothing(app, make, plan, generate, pm_orders):
    asset = make.asset(site=make.site())
    plan([asset], rrule="FREQ=DAILY", dtstart=_local(date(2029, 6, 1), 8), lead_days=3)
    first = generate(now=NOW)
    assert first.work_orders_created == 4  # today and the next three days
    rows = pm_orders()
    transitions = _count(app, WorkOrderTransition)
    second = generate(now=NOW)
    assert (second.occurrences_found, second.work_orders_created,
            second.already_existing) == (4, 0, 4)
    assert pm_orders() == rows
    assert _count(app, WorkOrderTransition) == transitions
    # Each run leaves one summary audit entry.
    assert _count(app, AuditEntry, AuditEntry.action == "pm-generate") == 2


def test_occurrences_outside_the_lead_time_wait_and_horizon_overrides(
        make, plan, generate, pm_orders):
    asset = make.asset(site=make.site())
    monthly = plan([asset], rrule="FREQ=MONTHLY;BYMONTHDAY=25",
                   dtstart=_local(date(2029, 1, 1), 9), lead_days=14)
    assert generate(now=NOW).work_orders_created == 0  # the 25th is 15 days ahead
    assert generate(now=NOW + timedelta(days=1)).work_orders_created == 1
    assert generate(now=NOW, horizon_days=60).work_orders_created == 1  # 25 Feb
    assert [d for _, _, d, _ in pm_orders(monthly.id)] == [date(2030, 1, 25),
                                                          date(2030, 2, 25)]


def test_lead_time_zero_still_creates_todays_occurrence(make, plan, generate, pm_orders):
    asset = make.asset(site=make.site())
    plan([asset], rrule="FREQ=WEEKLY;BYDAY=TH", dtstart=_local(date(2029, 1, 4), 8),
         lead_days=0)
    # 08:00 local has passed (it is 09:30): the day is still today's job.
    assert generate(now=NOW).work_orders_created == 1
    assert [d for _, _, d, _ in pm_orders()] == [date(2030, 1, 10)]


def test_inactive_plans_and_assets_without_site(make, plan, generate, pm_orders):
    placed, loose = make.asset(site=make.site()), make.asset()
    rule = {"rrule": "FREQ=DAILY", "dtstart": _local(date(2029, 1, 1), 9), "lead_days": 0}
    inactive = plan([placed], active=False, **rule)
    active = plan([placed, loose], **rule)
    report = generate(now=NOW)
    assert report.plans_examined == 1
    assert [(p, a) for p, a, _, _ in pm_orders()] == [(active.id, placed.id)]
    assert [(s.plan_id, s.asset_id, s.reason) for s in report.skipped] == [
        (active.id, loose.id, "asset has no site")]
    only = generate(now=NOW, plan_ids=[inactive.id, 999999])
    assert only.plans_examined == 0 and only.work_orders_created == 0
    assert only.skipped_by_reason() == {"no such plan": 1, "plan is inactive": 1}


def test_plan_ids_limit_the_run(make, plan, generate, pm_orders):
    asset = make.asset(site=make.site())
    rule = {"rrule": "FREQ=DAILY", "dtstart": _local(date(2029, 1, 1), 9), "lead_days": 0}
    first, second = plan([asset], **rule), plan([asset], **rule)
    assert generate(now=NOW, plan_ids=[second.id]).work_orders_created == 1
    assert [p for p, _, _, _ in pm_orders()] == [second.id]
    assert generate(now=NOW).work_orders_created == 1
    assert sorted(p for p, _, _, _ in pm_orders()) == [first.id, second.id]


def test_contract_targets_count_from_the_due_day(make, plan, generate, client):
    customer = make.customer()
    asset = make.asset(site=make.site(customer))
    contract = make.contract(customer, targets={4: (120, 480)}, starts_on=date(2029, 1, 1),
                             ends_on=date(2031, 1, 1), coverage_24x7=True)
    plan([asset], rrule=WEEKLY_SAT, dtstart=_local(date(2029, 1, 6), 9), priority=4)
    wo_id = generate(now=NOW).work_order_ids[0]
    body = client.get(f"/api/v1/work-orders/{wo_id}").json
    start = _local(date(2030, 1, 12))
    assert body["contract_id"] == contract.id
    assert body["response_due_at"] == (start + timedelta(minutes=120)).isoformat()
    assert body["resolution_due_at"] == (start + timedelta(minutes=480)).isoformat()


def test_contract_without_target_for_the_priority_keeps_default_targets(
        make, plan, generate, client):
    customers = [make.customer(), make.customer()]
    contracts = [make.contract(c, targets={1: (60, 120)}, starts_on=date(2029, 1, 1),
                               ends_on=date(2031, 1, 1), coverage_24x7=True)
                 for c in customers]
    assets = [make.asset(site=make.site(c)) for c in customers]
    plan(assets, rrule=WEEKLY_SAT, dtstart=_local(date(2029, 1, 6), 9), priority=4)
    report = generate(now=NOW)
    start = _local(date(2030, 1, 12))
    for wo_id, contract in zip(report.work_order_ids, contracts, strict=True):
        body = client.get(f"/api/v1/work-orders/{wo_id}").json
        # Named like sla.apply_sla does; P4 defaults (72 h / 168 h) since it has no P4 target.
        assert body["contract_id"] == contract.id
        assert body["response_due_at"] == (start + timedelta(hours=72)).isoformat()
        assert body["resolution_due_at"] == (start + timedelta(hours=168)).isoformat()


# --- meter plans ------------------------------------------------------------------------


def test_meter_plan_without_reading_is_not_due(make, plan, generate, pm_orders):
    asset = make.asset(site=make.site())
    plan([asset], meter_interval=10000, meter_unit="km")
    report = generate(now=NOW)
    assert pm_orders() == []
    assert report.skipped_by_reason() == {"no meter reading": 1}


def test_meter_plan_due_each_time_another_interval_is_crossed(
        make, plan, reading, generate, pm_orders):
    asset = make.asset(site=make.site())
    car = plan([asset], meter_interval=10000, meter_unit="km", lead_days=5)
    reading(asset, 4000, _local(date(2030, 1, 2), 10))
    reading(asset, 9000, _local(date(2030, 1, 4), 10), unit="miles")  # another unit: ignored
    assert generate(now=NOW).work_orders_created == 0

    reading(asset, 10500, _local(date(2030, 1, 8), 23))  # crosses 10,000 late on the 8th
    reading(asset, 12000, _local(date(2030, 1, 9), 10))
    report = generate(now=NOW)
    assert report.work_orders_created == 1
    assert [d for _, _, d, _ in pm_orders(car.id)] == [date(2030, 1, 8)]
    assert generate(now=NOW).work_orders_created == 0  # 12,000 crosses nothing new

    # One reading jumps two intervals (to 31,000): one service, dated that reading.
    reading(asset, 31000, _local(date(2030, 1, 20), 9))
    later = NOW + timedelta(days=11)
    assert generate(now=later).work_orders_created == 1
    assert generate(now=later).work_orders_created == 0
    reading(asset, 39999, _local(date(2030, 1, 25), 9))
    assert generate(now=later + timedelta(days=5)).work_orders_created == 0
    reading(asset, 40001, _local(date(2030, 1, 27), 9))
    assert generate(now=later + timedelta(days=7)).work_orders_created == 1
    assert [d for _, _, d, _ in pm_orders(car.id)] == [
        date(2030, 1, 8), date(2030, 1, 20), date(2030, 1, 27)]


def test_meter_readings_after_now_are_not_used(make, plan, reading, generate, pm_orders):
    asset = make.asset(site=make.site())
    plan([asset], meter_interval=500, meter_unit="h")
    reading(asset, 600, NOW + timedelta(hours=1), unit="h")
    assert generate(now=NOW).work_orders_created == 0
    assert generate(now=NOW + timedelta(hours=2)).work_orders_created == 1


def test_meter_window_runs_from_now_through_the_lead_time(app, make, plan, reading, generate):
    asset = make.asset(site=make.site())
    plan([asset], meter_interval=100, meter_unit="h", lead_days=2)
    reading(asset, 150, _local(date(2030, 1, 9), 8), unit="h")
    wo_id = generate(now=NOW).work_order_ids[0]
    with app.app_context():
        windows = db.session.execute(db.select(WorkOrderWindow.starts_at, WorkOrderWindow.ends_at)
                                     .where(WorkOrderWindow.work_order_id == wo_id)).all()
        db.session.remove()
    assert windows == [(NOW, _local(date(2030, 1, 12)))]


# --- parts ------------------------------------------------------------------------------


def _level(app, warehouse, part):
    with app.app_context():
        row = db.session.execute(db.select(StockLevel.on_hand, StockLevel.reserved).where(
            StockLevel.warehouse_id == warehouse.id, StockLevel.part_id == part.id)).one()
        db.session.remove()
        return tuple(row)


def test_parts_are_reserved_from_the_sites_regional_warehouse(
        app, client, make, plan, receive, generate):
    site = make.site(region="Isfahan", latitude=32.65, longitude=51.67)
    asset = make.asset(site=site)
    oil, belt = make.part(sku="OIL-5L"), make.part(sku="BELT-9")
    # Nearer central warehouse, but the region has its own: the region's wins.
    central = make.warehouse(kind=WarehouseKind.CENTRAL, latitude=32.7, longitude=51.7)
    regional = make.warehouse(kind=WarehouseKind.REGIONAL, region="isfahan ",
                              latitude=33.5, longitude=51.0)
    van = make.warehouse(kind=WarehouseKind.VAN, latitude=32.65, longitude=51.67)
    for wh in (central, regional, van):
        receive(oil, wh, 10)
    receive(belt, van, 5)  # vans are never reserved from
    plan([asset], rrule=WEEKLY_SAT, dtstart=_local(date(2029, 1, 6), 9),
         description="Oil and belt.", parts={oil: 3, belt: 1})

    report = generate(now=NOW)

    assert report.parts_reserved == 1
    assert [(m.part_id, m.quantity) for m in report.parts_missing] == [(belt.id, 1)]
    assert _level(app, regional, oil) == (10, 3)
    assert _level(app, central, oil) == (10, 0)
    assert _level(app, van, belt) == (5, 0)
    body = client.get(f"/api/v1/work-orders/{report.work_order_ids[0]}").json
    lines = {p["part_id"]: p for p in body["parts"]}
    assert (lines[oil.id]["reserved"], lines[oil.id]["reserved_warehouse_id"]) == (3, regional.id)
    assert lines[belt.id]["reserved"] == 0
    assert body["description"].startswith("Oil and belt.\n\nParts missing")
    assert "1 × BELT-9" in body["description"] and "OIL-5L" not in body["description"]
    assert _count(app, StockMovement, StockMovement.kind == "reserve") == 1


def test_parts_fall_back_to_the_nearest_warehouse_with_stock(
        app, client, make, plan, receive, generate):
    site = make.site(region="Shiraz", latitude=29.6, longitude=52.5)
    assets = [make.asset(site=site) for _ in range(3)]
    filt = make.part()
    near = make.warehouse(kind=WarehouseKind.CENTRAL, latitude=30.0, longitude=52.5)
    far = make.warehouse(kind=WarehouseKind.REGIONAL, region="Tehran", latitude=35.7,
                         longitude=51.4)
    receive(filt, near, 2)
    receive(filt, far, 1)
    plan(assets, rrule=WEEKLY_SAT, dtstart=_local(date(2029, 1, 6), 9), parts={filt: 1})
    report = generate(now=NOW)
    assert report.work_orders_created == 3 and report.parts_reserved == 3
    assert report.parts_missing == []
    assert _level(app, near, filt) == (2, 2)
    assert _level(app, far, filt) == (1, 1)
    # Nothing left: the next occurrence's work orders say what is missing.
    report = generate(now=NOW + timedelta(days=7))
    assert report.work_orders_created == 3 and report.parts_reserved == 0
    assert len(report.parts_missing) == 3


@pytest.mark.parametrize("bad", [{"rrule": "FREQ=DAILY", "timezone": "Mars/Olympus"}])
def test_plan_with_broken_data_is_skipped_not_fatal(make, plan, generate, bad):
    asset = make.asset(site=make.site())
    plan([asset], dtstart=_local(date(2029, 1, 1), 9), **bad)
    good = plan([asset], rrule="FREQ=DAILY", dtstart=_local(date(2029, 1, 1), 9),
                lead_days=0)
    report = generate(now=NOW)
    assert report.work_orders_created == 1 and report.work_order_ids
    assert report.skipped_by_reason() == {"unknown time zone": 1}
    assert good.id != report.skipped[0].plan_id


def test_customer_erased_assets_are_skipped(app, make, plan, generate):
    customer = make.customer(erased_at=NOW - timedelta(days=1))
    asset = make.asset(site=make.site(customer))
    plan([asset], rrule="FREQ=DAILY", dtstart=_local(date(2029, 1, 1), 9))
    report = generate(now=NOW)
    assert report.work_orders_created == 0
    assert report.skipped_by_reason() == {"customer erased": 1}
    assert _count(app, WorkOrder) == 0


def test_generation_commits_nothing_itself(app, make, plan):
    """The caller commits: a rolled-back run leaves no work order and no audit entry."""
    from fieldsvc.services.pm_generation import generate_due_work_orders
    from tests.pm.conftest import ACTOR

    plan([make.asset(site=make.site())], rrule="FREQ=DAILY",
         dtstart=_local(date(2029, 1, 1), 9), lead_days=2)
    with app.app_context():
        report = generate_due_work_orders(db.session, now=NOW, actor=ACTOR)
        assert report.work_orders_created == 3
        db.session.rollback()
        db.session.remove()
    assert _count(app, WorkOrder) == 0
    assert _count(app, AuditEntry, AuditEntry.action == "pm-generate") == 0


def test_naive_now_is_refused(app):
    from fieldsvc.services.pm_generation import generate_due_work_orders
    from tests.pm.conftest import ACTOR

    with app.app_context(), pytest.raises(ValueError):
        generate_due_work_orders(db.session, now=datetime(2030, 1, 1), actor=ACTOR)
