"""POST /api/v1/pm-plans/generate and the `missing` figure of work-order part lines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fieldsvc.extensions import db
from fieldsvc.models import AuditEntry, StockLevel, WorkOrder
from fieldsvc.models.base import utcnow
from fieldsvc.models.enums import WarehouseKind

URL = "/api/v1/pm-plans/generate"
DAILY = "FREQ=DAILY"


def _count(app, model, *where) -> int:
    with app.app_context():
        n = db.session.scalar(db.select(db.func.count()).select_from(model).where(*where))
        db.session.remove()
        return n


def _daily(plan, assets, **kw):
    # Started yesterday at midnight UTC: one occurrence every local day from now on.
    start = (utcnow() - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    kw.setdefault("timezone", "UTC")
    kw.setdefault("lead_days", 0)
    return plan(assets, rrule=DAILY, dtstart=start, **kw)


def test_generate_reports_and_a_second_call_creates_nothing(app, client, make, plan):
    site = make.site()
    asset, lonely = make.asset(site=site), make.asset()  # `lonely` has no site
    daily = _daily(plan, [asset, lonely])

    first = client.post(URL, json={"days": 2})
    assert first.status_code == 200, first.json
    body = first.json
    assert body["days"] == 2 and body["plans_examined"] == 1
    # Today, tomorrow and the day after, for the asset with a site.
    assert body["occurrences_found"] == 3 and body["work_orders_created"] == 3
    assert body["already_existing"] == 0
    assert body["skipped_count"] == 1
    assert body["skipped"] == [{"plan_id": daily.id, "asset_id": lonely.id,
                                "reason": "asset has no site"}]
    assert body["skipped_by_reason"] == {"asset has no site": 1}
    assert body["parts_reserved"] == 0 and body["parts_missing"] == []
    assert len(body["work_order_ids"]) == 3
    assert datetime.fromisoformat(body["now"]).tzinfo is not None
    assert _count(app, WorkOrder) == 3

    second = client.post(URL, json={"days": 2})
    assert second.status_code == 200
    assert second.json["work_orders_created"] == 0
    assert second.json["already_existing"] == 3 and second.json["work_order_ids"] == []
    assert _count(app, WorkOrder) == 3
    assert _count(app, AuditEntry, AuditEntry.action == "pm-generate") == 2


def test_without_days_each_plans_lead_time_applies_and_plan_ids_limit(app, client, make, plan):
    site = make.site()
    short = _daily(plan, [make.asset(site=site)], lead_days=0)
    other = _daily(plan, [make.asset(site=site)], lead_days=1)
    off = _daily(plan, [make.asset(site=site)], lead_days=1, active=False, name="Off")

    only = client.post(URL, json={"plan_ids": [short.id]})
    assert only.status_code == 200
    assert (only.json["plans_examined"], only.json["work_orders_created"]) == (1, 1)

    everything = client.post(URL, json={})
    assert everything.status_code == 200
    # short: today exists already; other: today and tomorrow; the inactive plan: nothing.
    assert everything.json["plans_examined"] == 2
    assert everything.json["work_orders_created"] == 2
    assert everything.json["already_existing"] == 1
    assert _count(app, WorkOrder, WorkOrder.pm_plan_id == other.id) == 2

    inactive = client.post(URL, json={"plan_ids": [other.id, off.id]})
    assert inactive.status_code == 200
    assert inactive.json["skipped"] == [{"plan_id": off.id, "asset_id": None,
                                         "reason": "plan is inactive"}]
    assert _count(app, WorkOrder, WorkOrder.pm_plan_id == off.id) == 0


@pytest.mark.parametrize("payload, field", [
    ({"days": -1}, "days"),
    ({"days": 366}, "days"),
    ({"days": "7"}, "days"),
    ({"days": 1.5}, "days"),
    ({"days": True}, "days"),
    ({"days": None}, "days"),
    ({"plan_ids": []}, "plan_ids"),
    ({"plan_ids": "1"}, "plan_ids"),
    ({"plan_ids": [0]}, "plan_ids"),
    ({"plan_ids": ["1"]}, "plan_ids"),
    ({"plan_ids": [999_999]}, "plan_ids"),
    ({"plan_ids": list(range(1, 10_002))}, "plan_ids"),
    ({"now": "2030-01-01T00:00:00Z"}, "now"),
])
def test_bad_input_is_refused_and_creates_nothing(app, client, make, plan, payload, field):
    _daily(plan, [make.asset(site=make.site())])
    response = client.post(URL, json=payload)
    assert response.status_code == 422, response.json
    assert response.content_type.startswith("application/problem+json")
    assert field in str(response.json)
    assert _count(app, WorkOrder) == 0


def test_a_body_that_is_not_an_object_is_refused(app, client):
    for raw in ("[1, 2]", "7", "not json"):
        response = client.post(URL, data=raw, content_type="application/json")
        assert response.status_code in (400, 422)
    assert _count(app, WorkOrder) == 0


@pytest.mark.parametrize("role", ["dispatcher", "agent", "technician", "dealership"])
def test_only_managers_and_admins_may_generate(app, make, plan, client_as, role):
    _daily(plan, [make.asset(site=make.site())])
    links = {}
    if role == "technician":
        links["technician_id"] = make.technician().id
    elif role == "dealership":
        links["dealership_id"] = make.dealership().id
    response = client_as(role, **links).post(URL, json={"days": 3})
    assert response.status_code == 403
    assert _count(app, WorkOrder) == 0
    assert _count(app, AuditEntry, AuditEntry.action == "pm-generate") == 0


def test_manager_may_generate_and_anonymous_may_not(app, make, plan, client_as, anon_client):
    _daily(plan, [make.asset(site=make.site())])
    assert anon_client.post(URL, json={}).status_code == 401
    assert _count(app, WorkOrder) == 0
    response = client_as("manager").post(URL, json={"days": 0})
    assert response.status_code == 200 and response.json["work_orders_created"] == 1


def test_missing_quantity_per_part_line(app, client, make, plan):
    site = make.site(region="Tehran", latitude=35.7, longitude=51.4)
    oil, belt = make.part(sku="OIL-1"), make.part(sku="BELT-1")
    store = make.warehouse(kind=WarehouseKind.REGIONAL, region="Tehran", latitude=35.7,
                           longitude=51.4)
    client.post("/api/v1/stock-movements", json={
        "kind": "receive", "part_id": oil.id, "quantity": 4, "to_warehouse_id": store.id})
    _daily(plan, [make.asset(site=site)], parts={oil: 3, belt: 2})

    body = client.post(URL, json={"days": 0}).json
    assert body["parts_reserved"] == 1
    assert body["parts_missing_count"] == 1
    wo_id = body["work_order_ids"][0]
    assert body["parts_missing"] == [{"work_order_id": wo_id, "part_id": belt.id, "quantity": 2}]
    lines = {p["part_id"]: p for p in client.get(f"/api/v1/work-orders/{wo_id}").json["parts"]}
    assert (lines[oil.id]["reserved"], lines[oil.id]["missing"]) == (3, 0)
    assert (lines[belt.id]["reserved"], lines[belt.id]["missing"]) == (0, 2)
    with app.app_context():
        level = db.session.execute(db.select(StockLevel.on_hand, StockLevel.reserved).where(
            StockLevel.warehouse_id == store.id, StockLevel.part_id == oil.id)).one()
        db.session.remove()
    assert tuple(level) == (4, 3)
    # `missing` is read-only: sending it is refused.
    refused = client.patch(f"/api/v1/work-orders/{wo_id}", json={
        "parts": [{"part_id": oil.id, "quantity": 3, "missing": 0}]})
    assert refused.status_code == 422


def test_now_in_the_report_is_the_servers_clock(client):
    body = client.post(URL, json={}).json
    assert abs(datetime.fromisoformat(body["now"]) - datetime.now(UTC)) < timedelta(minutes=5)
    assert body["plans_examined"] == 0 and body["days"] is None
