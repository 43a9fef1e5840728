"""The technician's day: one answer with everything a first-visit fix needs, no N+1."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

from fieldsvc.extensions import db
from tests.mobile.conftest import add_job, today


def test_day_has_route_with_everything_for_each_job(tech_client, world):
    r = tech_client.get(f"/api/mobile/v1/day?date={today().isoformat()}")
    assert r.status_code == 200, r.json
    body = r.json
    assert body["date"] == today().isoformat()
    assert body["technician"]["id"] == world.tech.id
    assert [j["id"] for j in body["jobs"]] == [w.id for w in world.jobs]
    first = body["jobs"][0]
    assert first["status"] == "dispatched" and first["eta"]
    assert first["version"] == 1
    assert first["customer"]["name"] == "Acme Printing"
    assert first["site"]["address"] == "Valiasr St 12"
    assert first["site"]["latitude"] == 35.75
    assert first["site"]["access_hours"] == {"sat": ["08:00", "17:00"]}
    assert first["problem"] == "Paper jams on tray 2"
    assert first["checklist"] == [{"item": "Clean paper path", "done": False}]
    assert first["asset"]["serial_number"] == world.asset.serial_number
    assert [h["resolution_code"] for h in first["asset"]["history"]] == ["ROLLER"]
    parts = {p["part_id"]: p for p in first["parts"]}
    assert parts[world.part.id]["on_van"] is True
    assert parts[world.part.id]["van_available"] == 5
    assert parts[world.scarce.id]["on_van"] is True
    assert [t["subject"] for t in first["open_tickets"]] == ["Jams again"]
    assert first["rmas"] == [] and first["recalls"] == []
    assert first["time_windows"] and first["allowed_transitions"] == ["en_route", "on_hold"]
    # Someone else's job is not on this day.
    assert world.other_job.id not in [j["id"] for j in body["jobs"]]
    assert body["jobs"][1]["asset"] is None


def test_day_of_another_date_is_empty(tech_client, world):
    r = tech_client.get("/api/mobile/v1/day?date=2030-01-01")
    assert r.status_code == 200
    assert r.json["jobs"] == []


@contextmanager
def count_queries(app):
    statements: list[str] = []

    def listener(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def test_day_query_count_does_not_grow_with_jobs(app, make, tech_client, world):
    url = f"/api/mobile/v1/day?date={today().isoformat()}"
    make.session.expire_all()
    with count_queries(app) as few:
        assert tech_client.get(url).status_code == 200
    site = world.jobs[0].site
    for hour in (15, 16, 17, 18, 19, 20):
        asset = make.asset(customer=site.customer, site=site)
        add_job(make, world.tech, site, hour, asset=asset, parts=[(world.part, 1)])
    make.session.expire_all()
    with count_queries(app) as many:
        r = tech_client.get(url)
    assert r.status_code == 200 and len(r.json["jobs"]) == 8
    assert len(many) == len(few), "\n".join(s.split("\n")[0][:70] for s in few)
    assert len(few) <= 16


def test_day_needs_a_valid_date(tech_client, world):
    for query in ("", "?date=", "?date=2026-13-01", "?date=yesterday", "?date=0001-01-01",
                  "?date=2026-01-01&extra=1"):
        r = tech_client.get("/api/mobile/v1/day" + query)
        assert r.status_code == 422, (query, r.json)
        assert r.content_type == "application/problem+json"


def test_day_shows_the_customers_open_rmas_and_recalls(make, tech_client, world):
    from fieldsvc.recall.models import RecallAppointment, RecallCampaign
    from rma.models import Rma

    s = make.session
    campaign = RecallCampaign(code="RC-9", title="Fuser recall")
    s.add(campaign)
    s.flush()
    s.add_all([
        Rma(number="RMA-2611-0001", type="advance_exchange", status="approved",
            customer_id=world.customer.id, part_id=world.part.id, entitlement="warranty",
            entitlement_reason="In warranty"),
        Rma(number="RMA-2611-0002", type="advance_exchange", status="closed",
            customer_id=world.customer.id, entitlement="warranty", entitlement_reason="x"),
        RecallAppointment(campaign_id=campaign.id, vin="VIN00000000000001",
                          customer_id=world.customer.id, status="invited"),
    ])
    s.commit()
    job = tech_client.get(f"/api/mobile/v1/day?date={today().isoformat()}").json["jobs"][0]
    assert [(r["number"], r["status"], r["part_id"]) for r in job["rmas"]] == [
        ("RMA-2611-0001", "approved", world.part.id)]
    assert [(a["campaign_code"], a["status"]) for a in job["recalls"]] == [("RC-9", "invited")]
    assert job["open_tickets"][0]["category"] == "request"


def test_openapi_documents_the_mobile_api(client):
    paths = client.get("/api/openapi.json").json["paths"]
    for path in ("/api/mobile/v1/day", "/api/mobile/v1/jobs/{job_id}/status",
                 "/api/mobile/v1/sync", "/api/mobile/v1/changes", "/api/mobile/v1/location"):
        assert path in paths, path
