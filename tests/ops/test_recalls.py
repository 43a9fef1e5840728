"""Recall campaigns, affected VINs, dealerships, holidays, capacity and appointments."""

from datetime import date, time

import pytest

from fieldsvc.extensions import db
from fieldsvc.models.enums import AppointmentStatus
from fieldsvc.recall.models import (
    CampaignPhase,
    CampaignVin,
    Dealership,
    DealershipHoliday,
    RecallAppointment,
    RecallCampaign,
)
from fieldsvc.recall.services import daily_capacity

VIN1, VIN2, VIN3 = "1HGCM82633A004352", "JH4KA7561PC008269", "WVWZZZ1JZXW000001"


def _campaign(**kw):
    body = {"code": "RC-24-01", "title": "Airbag inflator", "remedy_minutes": 90,
            "phases": [{"sequence": 1, "region": "Tehran", "starts_on": "2025-01-01"},
                       {"sequence": 2, "region": "Isfahan", "starts_on": "2025-02-01"}]}
    body.update(kw)
    return body


def _count(app, model):
    with app.app_context():
        return db.session.scalar(db.select(db.func.count(model.id)))


def test_campaign_create_with_products_parts_and_phases(client, make):
    product, part = make.product(kind="car"), make.part()
    created = client.post("/api/v1/recall-campaigns", json=_campaign(
        product_ids=[product.id], parts=[{"part_id": part.id, "quantity": 1}], status="active"))
    assert created.status_code == 201, created.json
    body = created.json
    assert body["product_ids"] == [product.id]
    assert [p["region"] for p in body["phases"]] == ["Tehran", "Isfahan"]
    assert body["status"] == "active"
    assert client.get(f"/api/v1/recall-campaigns?product_id={product.id}").json["total"] == 1
    assert client.get("/api/v1/recall-campaigns?status=draft").json["total"] == 0
    duplicate = client.post("/api/v1/recall-campaigns", json=_campaign())
    assert duplicate.status_code == 409


@pytest.mark.parametrize("change, field", [
    ({"phases": [{"sequence": 1, "region": "Tehran", "starts_on": "2025-03-01"},
                 {"sequence": 2, "region": "Isfahan", "starts_on": "2025-02-01"}]}, "phases"),
    ({"phases": [{"sequence": 1, "region": "Tehran", "starts_on": "2025-01-01"},
                 {"sequence": 2, "region": "tehran", "starts_on": "2025-02-01"}]}, "phases"),
    ({"phases": [{"sequence": 1, "region": "Tehran", "starts_on": "2025-01-01"},
                 {"sequence": 1, "region": "Shiraz", "starts_on": "2025-03-01"},
                 {"sequence": 2, "region": "Fars", "starts_on": "2025-02-01"}]}, "phases"),
    ({"phases": [{"sequence": 1, "region": "Tehran"}]}, "phases"),
    ({"phases": [{"sequence": 1, "region": "Tehran", "starts_on": "2025-02-30"}]}, "phases"),
    ({"phases": [{"sequence": 1, "region": "Tehran", "starts_on": "0001-01-01"}]}, "phases"),
    ({"code": ""}, "code"), ({"code": "has space"}, "code"), ({"code": "x" * 41}, "code"),
    ({"title": ""}, "title"), ({"status": "open"}, "status"),
    ({"remedy_minutes": 0}, "remedy_minutes"), ({"remedy_minutes": "60"}, "remedy_minutes"),
    ({"skill_id": 999}, "skill_id"), ({"product_ids": [999]}, "product_ids"),
    ({"parts": [{"part_id": 999}]}, "parts"), ({"parts": [{"quantity": 1}]}, "parts"),
])
def test_invalid_campaigns_are_422_and_write_nothing(client, app, change, field):
    response = client.post("/api/v1/recall-campaigns", json=_campaign(**change))
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]
    assert _count(app, RecallCampaign) == 0
    assert _count(app, CampaignPhase) == 0


def test_patch_replaces_phases_reusing_regions(client, app):
    ident = client.post("/api/v1/recall-campaigns", json=_campaign()).json["id"]
    swapped = client.patch(f"/api/v1/recall-campaigns/{ident}", json={"phases": [
        {"sequence": 1, "region": "Isfahan", "starts_on": "2025-01-01"},
        {"sequence": 2, "region": "Tehran", "starts_on": "2025-01-01"}]})
    assert swapped.status_code == 200, swapped.json
    assert [p["region"] for p in swapped.json["phases"]] == ["Isfahan", "Tehran"]
    bad = client.patch(f"/api/v1/recall-campaigns/{ident}", json={"phases": [
        {"sequence": 1, "region": "Isfahan", "starts_on": "2025-05-01"},
        {"sequence": 2, "region": "Tehran", "starts_on": "2025-01-01"}]})
    assert bad.status_code == 422
    assert _count(app, CampaignPhase) == 2
    assert client.patch(f"/api/v1/recall-campaigns/{ident}",
                        json={"title": "New"}).json["phases"][0]["region"] == "Isfahan"


def test_add_vins_all_or_nothing_with_row_errors(client, app, make):
    asset = make.asset(vin=VIN2)
    ident = client.post("/api/v1/recall-campaigns", json=_campaign()).json["id"]
    refused = client.post(f"/api/v1/recall-campaigns/{ident}/vins", json={
        "vins": [VIN1, VIN1.lower(), "SHORT", 17, "1HGCM82633A00435I", VIN2]})
    assert refused.status_code == 422
    rows = {r["row"]: r["error"] for r in refused.json["rows"]}
    assert set(rows) == {1, 2, 3, 4}
    assert "Duplicate of row 0" in rows[1]
    assert set(refused.json["errors"]["vins"]) == {"1", "2", "3", "4"}
    assert _count(app, CampaignVin) == 0
    added = client.post(f"/api/v1/recall-campaigns/{ident}/vins",
                        json={"vins": [VIN1, f" {VIN2.lower()} "]})
    assert added.status_code == 201, added.json
    assert added.json == {"added": 2, "matched_assets": 1}
    again = client.post(f"/api/v1/recall-campaigns/{ident}/vins", json={"vins": [VIN3, VIN1]})
    assert again.status_code == 422
    assert again.json["rows"] == [{"row": 1, "vin": VIN1, "error": "Already in this campaign."}]
    listed = client.get(f"/api/v1/recall-campaigns/{ident}/vins")
    assert listed.json["total"] == 2
    assert {v["vin"]: v["asset_id"] for v in listed.json["items"]} == {VIN1: None,
                                                                       VIN2: asset.id}
    matched = client.get(f"/api/v1/recall-campaigns/{ident}/vins?matched=true")
    assert [v["vin"] for v in matched.json["items"]] == [VIN2]


@pytest.mark.parametrize("body", [{}, {"vins": []}, {"vins": "abc"}, {"vins": [VIN1], "x": 1},
                                  [VIN1]])
def test_add_vins_bad_shapes(client, body):
    ident = client.post("/api/v1/recall-campaigns", json=_campaign()).json["id"]
    assert client.post(f"/api/v1/recall-campaigns/{ident}/vins", json=body).status_code == 422


def test_vins_of_missing_campaign_is_404(client):
    assert client.get("/api/v1/recall-campaigns/9/vins").status_code == 404
    assert client.post("/api/v1/recall-campaigns/9/vins",
                       json={"vins": [VIN1]}).status_code == 404


def test_delete_campaign(client, app, make):
    ident = client.post("/api/v1/recall-campaigns", json=_campaign()).json["id"]
    client.post(f"/api/v1/recall-campaigns/{ident}/vins", json={"vins": [VIN1]})
    assert client.delete(f"/api/v1/recall-campaigns/{ident}").status_code == 204
    assert _count(app, CampaignVin) == 0
    kept = client.post("/api/v1/recall-campaigns", json=_campaign(code="RC-2")).json["id"]
    with app.app_context():
        db.session.add(RecallAppointment(campaign_id=kept, vin=VIN1))
        db.session.commit()
    assert client.delete(f"/api/v1/recall-campaigns/{kept}").status_code == 409


# Dealerships -----------------------------------------------------------------------------

def _dealer(**kw):
    body = {"code": "D-THR-1", "name": "Tehran North", "region": "Tehran", "latitude": 35.8,
            "longitude": 51.4, "bays": 4, "opens_at": "08:00", "closes_at": "16:00",
            "working_days": "560123", "timezone": "Asia/Tehran"}
    body.update(kw)
    return body


def test_dealership_create_normalizes_days_and_updates(client):
    created = client.post("/api/v1/dealerships", json=_dealer())
    assert created.status_code == 201, created.json
    assert created.json["working_days"] == "012356"
    assert created.json["opens_at"] == "08:00"
    ident = created.json["id"]
    assert client.post("/api/v1/dealerships", json=_dealer()).status_code == 409
    late = client.patch(f"/api/v1/dealerships/{ident}", json={"opens_at": "17:00"})
    assert late.status_code == 422 and "opens_at" in late.json["errors"]
    ok = client.patch(f"/api/v1/dealerships/{ident}", json={"closes_at": "18:30", "bays": 0})
    assert ok.status_code == 200 and ok.json["closes_at"] == "18:30"
    assert client.get("/api/v1/dealerships?region=Tehran").json["total"] == 1


@pytest.mark.parametrize("change, field", [
    ({"latitude": None}, "latitude"), ({"latitude": 91}, "latitude"),
    ({"longitude": -181}, "longitude"), ({"bays": -1}, "bays"),
    ({"opens_at": "16:00", "closes_at": "08:00"}, "closes_at"),
    ({"opens_at": "08:00", "closes_at": "08:00"}, "closes_at"),
    ({"opens_at": "25:00"}, "opens_at"), ({"working_days": "0178"}, "working_days"),
    ({"working_days": "0012"}, "working_days"), ({"working_days": "mon"}, "working_days"),
    ({"timezone": "Tehran"}, "timezone"), ({"code": ""}, "code"), ({"region": ""}, "region"),
    ({"phone": "9" * 41}, "phone"),
])
def test_invalid_dealerships_are_422(client, app, change, field):
    body = _dealer(**change)
    if change.get("latitude", 0) is None:
        body.pop("latitude")
    response = client.post("/api/v1/dealerships", json=body)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]
    assert _count(app, Dealership) == 0


def test_holidays_sub_resource(client, app):
    ident = client.post("/api/v1/dealerships", json=_dealer()).json["id"]
    other = client.post("/api/v1/dealerships", json=_dealer(code="D-2")).json["id"]
    added = client.post(f"/api/v1/dealerships/{ident}/holidays",
                        json={"day": "2025-03-21", "name": "Nowruz"})
    assert added.status_code == 201, added.json
    holiday_id = added.json["id"]
    assert client.post(f"/api/v1/dealerships/{ident}/holidays",
                       json={"day": "2025-03-21"}).status_code == 409
    assert client.post(f"/api/v1/dealerships/{ident}/holidays",
                       json={"day": "2025-13-01"}).status_code == 422
    assert client.post(f"/api/v1/dealerships/{ident}/holidays", json={}).status_code == 422
    assert client.post("/api/v1/dealerships/999/holidays",
                       json={"day": "2025-03-22"}).status_code == 404
    listed = client.get(f"/api/v1/dealerships/{ident}/holidays")
    assert [h["day"] for h in listed.json["items"]] == ["2025-03-21"]
    assert client.delete(f"/api/v1/dealerships/{other}/holidays/{holiday_id}").status_code == 404
    assert client.delete(f"/api/v1/dealerships/{ident}/holidays/{holiday_id}").status_code == 204
    assert _count(app, DealershipHoliday) == 0


def test_daily_capacity(make, ctx):
    dealer = make.dealership(bays=3, opens_at=time(8), closes_at=time(16), working_days="012356")
    ctx.add(DealershipHoliday(dealership_id=dealer.id, day=date(2025, 3, 22)))
    ctx.commit()
    # 3 bays × 480 minutes ÷ 90 minutes = 16 places.
    assert daily_capacity(dealer, 90, date(2025, 3, 24)) == 16  # Monday
    assert daily_capacity(dealer, 60, date(2025, 3, 24)) == 24
    assert daily_capacity(dealer, 90, date(2025, 3, 28)) == 0  # Friday: not a working day
    assert daily_capacity(dealer, 90, date(2025, 3, 22)) == 0  # Saturday holiday
    assert daily_capacity(dealer, 90, date(2025, 3, 22), holidays=set()) == 16
    assert daily_capacity(dealer, 500, date(2025, 3, 24)) == 2
    dealer.bays = 0
    assert daily_capacity(dealer, 90, date(2025, 3, 24)) == 0


# Appointments ----------------------------------------------------------------------------

def test_appointments_list_filters_and_get(client, app, make):
    campaign = client.post("/api/v1/recall-campaigns", json=_campaign()).json["id"]
    dealer = make.dealership()
    with app.app_context():
        for vin, day, status in [(VIN1, date(2025, 3, 1), AppointmentStatus.BOOKED),
                                 (VIN2, date(2025, 3, 5), AppointmentStatus.BOOKED),
                                 (VIN3, None, AppointmentStatus.INVITED)]:
            db.session.add(RecallAppointment(campaign_id=campaign, vin=vin, day=day,
                                             status=status,
                                             dealership_id=dealer.id if day else None))
        db.session.commit()
    every = client.get("/api/v1/recall-appointments")
    assert every.json["total"] == 3
    booked = client.get("/api/v1/recall-appointments?status=booked&from=2025-03-02&to=2025-03-31")
    assert [a["vin"] for a in booked.json["items"]] == [VIN2]
    by_vin = client.get(f"/api/v1/recall-appointments?vin={VIN1.lower()}")
    assert by_vin.json["items"][0]["day"] == "2025-03-01"
    assert client.get(f"/api/v1/recall-appointments?dealership_id={dealer.id}").json[
        "total"] == 2
    ident = every.json["items"][0]["id"]
    assert client.get(f"/api/v1/recall-appointments/{ident}").status_code == 200
    assert client.get("/api/v1/recall-appointments/999").status_code == 404
    assert client.get("/api/v1/recall-appointments?from=2025-04-01&to=2025-03-01"
                      ).status_code == 422
    assert client.get("/api/v1/recall-appointments?status=maybe").status_code == 422
    # Booking is POST on the collection (tests/recall); an empty body is refused.
    assert client.post("/api/v1/recall-appointments", json={}).status_code == 422
