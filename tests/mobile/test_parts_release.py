"""Parts are used on a job only once it is released to the technician."""

from sqlalchemy import func, select

from fieldsvc.extensions import db
from fieldsvc.models import StockLevel, StockMovement
from tests.mobile.conftest import add_job


def _movements(app, job_id):
    with app.app_context():
        return db.session.scalar(select(func.count(StockMovement.id)).where(
            StockMovement.work_order_id == job_id))


def _van_stock(app, world):
    with app.app_context():
        return db.session.scalar(select(StockLevel.on_hand).where(
            StockLevel.part_id == world.part.id,
            StockLevel.warehouse_id == world.tech.van_warehouse_id))


def test_parts_on_a_scheduled_job_are_refused_and_change_nothing(app, make, client,
                                                                 tech_client, world):
    site = make.site(make.customer(name="Delta Co"))
    job = add_job(make, world.tech, site, 15, status="scheduled").id
    before = _van_stock(app, world)
    used = {"used": [{"part_id": world.part.id, "quantity": 1}]}
    r = tech_client.post(f"/api/mobile/v1/jobs/{job}/parts", json=used)
    assert r.status_code == 409, r.json
    assert r.json["type"].endswith("/not-released") and r.json["current_status"] == "scheduled"
    assert r.headers["Content-Type"] == "application/problem+json"
    synced = tech_client.post("/api/mobile/v1/sync", json={"actions": [{
        "type": "parts", "job_id": job, "idempotency_key": "p-1", "body": used}]})
    [result] = synced.json["results"]
    assert (result["status"], result["reason"], result["http_status"]) == (
        "rejected", "not-released", 409)
    assert _movements(app, job) == 0 and _van_stock(app, world) == before
    # Once released (scheduled → dispatched) the same parts are booked.
    assert client.post(f"/api/v1/work-orders/{job}/transitions",
                       json={"to": "dispatched"}).status_code == 200
    r = tech_client.post(f"/api/mobile/v1/jobs/{job}/parts", json=used)
    assert r.status_code == 200, r.json
    assert _movements(app, job) == 1 and _van_stock(app, world) == before - 1
