"""A first-time fix from the phone: the plan's warehouse pick-up in the day, the parts moved
to the van once, the job's skills and tools; the dispatcher sees and records transfers."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from fieldsvc.context import SYSTEM, Actor
from fieldsvc.dispatch.publish import publish_run
from fieldsvc.dispatch.runs import execute_run, request_run
from fieldsvc.extensions import db
from fieldsvc.models import (
    PmPlan,
    StockLevel,
    StockMovement,
    WorkOrder,
    WorkOrderPart,
    WorkOrderSkill,
    WorkOrderWindow,
)
from fieldsvc.models.enums import MovementKind, RunStatus, WorkOrderStatus
from fieldsvc.services import stock
from tests.mobile.conftest import TEHRAN, today

DISPATCHER = Actor(id=None, name="dispatcher (test)", role="dispatcher", source="api")


def tomorrow() -> date:
    return today() + timedelta(days=1)


def day_url(day: date | None = None) -> str:
    return f"/api/mobile/v1/day?date={(day or tomorrow()).isoformat()}"


def _local(hour: int) -> datetime:
    return datetime.combine(tomorrow(), time(hour), tzinfo=TEHRAN)


def _job(make, site, hour, summary, *, parts=(), skills=()):
    """A new job tomorrow with a window from `hour` for three hours."""
    wo = make.work_order(site=site, summary=summary, estimated_minutes=60, priority=2)
    for part, qty in parts:
        make.session.add(WorkOrderPart(work_order_id=wo.id, part_id=part.id, quantity=qty))
    for skill, level in skills:
        make.session.add(WorkOrderSkill(work_order_id=wo.id, skill_id=skill.id,
                                        min_level=level))
    make.session.add(WorkOrderWindow(work_order_id=wo.id,
                                     starts_at=_local(hour).astimezone(UTC),
                                     ends_at=_local(hour + 3).astimezone(UTC)))
    make.session.commit()
    return wo


class Shop:
    """A technician whose van lacks a fuser, a central warehouse that has five, two jobs."""

    def __init__(self, make):
        self.skill = make.skill("printer-laser", name="Laser printers")
        self.tech = make.technician(skills={self.skill: 3}, name="Reza")
        self.central = make.warehouse(code="CENTRAL-N", name="North depot",
                                      address="Pasdaran Ave 100", latitude=35.78,
                                      longitude=51.46)
        self.fuser = make.part(sku="FUSER-M600", name="Fuser unit")
        stock.receive(make.session, self.fuser.id, 5, self.central.id, SYSTEM)
        make.session.commit()
        customer = make.customer(name="Acme Printing")
        near = make.site(customer, address="Valiasr St 12", latitude=35.75, longitude=51.41)
        far = make.site(make.customer(name="Beta Bank"), address="Azadi Sq 1",
                        latitude=35.70, longitude=51.34)
        self.breakdown = _job(make, near, 10, "Printer dead: fuser",
                              parts=[(self.fuser, 2)], skills=[(self.skill, 2)])
        self.visit = _job(make, far, 14, "Toner check")


@pytest.fixture
def shop(make) -> Shop:
    return Shop(make)


def plan_and_publish(make, territory: str = "tehran") -> int:
    """Run the optimizer on tomorrow and publish its plan, as a dispatcher does.

    On the session of the test's application context, which the requests share."""
    session = make.session
    run = request_run(session, DISPATCHER, plan_date=tomorrow(), territory=territory,
                      time_limit=1)
    session.commit()
    run_id = run.id
    execute_run(session, run_id, "Asia/Tehran")
    run = session.get(type(run), run_id)
    assert run.status is RunStatus.FINISHED, run.error
    publish_run(session, run, DISPATCHER)
    session.commit()
    return run_id


def level(app, warehouse_id: int, part_id: int) -> tuple[int, int]:
    with app.app_context():
        row = db.session.scalar(select(StockLevel).where(StockLevel.warehouse_id == warehouse_id,
                                                         StockLevel.part_id == part_id))
        return (row.on_hand, row.reserved) if row else (0, 0)


def transfers(app, work_order_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(StockMovement).where(
            StockMovement.kind == MovementKind.TRANSFER,
            StockMovement.work_order_id == work_order_id))


def test_the_day_shows_the_plans_pickup_in_order_with_its_parts(app, make, shop, client_as):
    phone = client_as("technician", technician_id=shop.tech.id)
    before = phone.get(day_url())
    assert before.status_code == 200 and before.json["stops"] == []  # nothing planned yet
    plan_and_publish(make)

    # Publishing moved the day on: the phone's copy is not served again.
    r = phone.get(day_url(), headers={"If-None-Match": before.headers["ETag"]})
    assert r.status_code == 200, r.json
    stops = r.json["stops"]
    kinds = [(s["kind"], s["job_id"]) for s in stops]
    assert kinds == [("pickup", shop.breakdown.id), ("job", shop.breakdown.id),
                     ("job", shop.visit.id)]
    pickup = stops[0]
    assert pickup["id"] == shop.breakdown.id and pickup["status"] == "pending"
    assert pickup["warehouse"] == {"id": shop.central.id, "code": "CENTRAL-N",
                                   "name": "North depot", "address": "Pasdaran Ave 100",
                                   "latitude": 35.78, "longitude": 51.46}
    assert [(p["part_id"], p["sku"], p["quantity"], p["picked_up"], p["to_pick_up"])
            for p in pickup["parts"]] == [(shop.fuser.id, "FUSER-M600", 2, 0, 2)]
    # The pick-up comes before the job, in time too.
    at = datetime.fromisoformat
    assert at(pickup["start_at"]) < at(pickup["end_at"]) <= at(stops[1]["start_at"])

    job = r.json["jobs"][0]
    assert job["id"] == shop.breakdown.id
    assert job["skills"] == [{"skill_id": shop.skill.id, "code": "printer-laser",
                              "name": "Laser printers", "level": 2}]
    [part] = job["parts"]
    assert part["on_van"] is False and part["where"] == "pick up at North depot"
    assert part["pick_up_at"]["id"] == shop.central.id
    assert job["pickup"]["id"] == shop.breakdown.id
    assert r.json["jobs"][1]["skills"] == [] and r.json["jobs"][1]["pickup"] is None


def test_the_pickup_moves_stock_once_under_replay(app, make, shop, client_as):
    phone = client_as("technician", technician_id=shop.tech.id)
    plan_and_publish(make)
    van = shop.tech.van_warehouse_id
    day = phone.get(day_url())
    url = f"/api/mobile/v1/pickups/{shop.breakdown.id}"
    key = {"Idempotency-Key": "pickup-7f3a"}

    first = phone.post(url, json={}, headers=key)
    assert first.status_code == 200, first.json
    assert first.json["pickup"]["status"] == "done"
    [part] = first.json["parts"]
    assert part["on_van"] is True and part["where"] == "on the van"
    replay = phone.post(url, json={}, headers=key)
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json == first.json
    # The same pick-up again under a new key: nothing left to take, nothing moves.
    again = phone.post(url, json={}, headers={"Idempotency-Key": "pickup-7f3b"})
    assert again.status_code == 409 and again.json["type"].endswith("nothing-to-pick-up")

    assert level(app, shop.central.id, shop.fuser.id) == (3, 0)
    assert level(app, van, shop.fuser.id) == (2, 2)  # held on the van for the job
    assert transfers(app, shop.breakdown.id) == 1

    # The cached day changed with the stock: the pick-up is done and the part on the van.
    after = phone.get(day_url(), headers={"If-None-Match": day.headers["ETag"]})
    assert after.status_code == 200
    assert after.json["stops"][0]["status"] == "done"
    assert after.json["jobs"][0]["parts"][0]["on_van"] is True

    # The dispatcher sees it in the ledger, against the job.
    dispatcher = client_as("dispatcher")
    seen = dispatcher.get(f"/api/v1/stock-movements?work_order_id={shop.breakdown.id}"
                          "&kind=transfer")
    assert seen.status_code == 200
    [movement] = seen.json["items"]
    assert (movement["from_warehouse_id"], movement["to_warehouse_id"],
            movement["quantity"]) == (shop.central.id, van, 2)


def test_a_pickup_from_the_offline_queue_is_applied_once(app, make, shop, client_as):
    phone = client_as("technician", technician_id=shop.tech.id)
    plan_and_publish(make)
    action = {"id": "a1", "seq": 1, "type": "pickup", "job_id": shop.breakdown.id,
              "idempotency_key": "sync-pickup-1", "body": {}}
    first = phone.post("/api/mobile/v1/sync", json={"actions": [action]})
    assert first.status_code == 200, first.json
    assert first.json["results"][0]["status"] == "applied"
    replay = phone.post("/api/mobile/v1/sync", json={"actions": [action]})
    assert replay.json["results"][0]["status"] == "replayed"
    # The same key at the action's own endpoint is the same action.
    direct = phone.post(f"/api/mobile/v1/pickups/{shop.breakdown.id}", json={},
                        headers={"Idempotency-Key": "sync-pickup-1"})
    assert direct.status_code == 200 and direct.headers["Idempotent-Replayed"] == "true"
    assert transfers(app, shop.breakdown.id) == 1
    assert level(app, shop.central.id, shop.fuser.id) == (3, 0)


def test_bad_pickups_are_refused_and_change_nothing(app, shop, make, client_as):
    phone = client_as("technician", technician_id=shop.tech.id)
    url = f"/api/mobile/v1/pickups/{shop.breakdown.id}"
    # Not planned yet: not this technician's job.
    assert phone.post(url, json={}).status_code == 404
    plan_and_publish(make)
    # A job without a planned pick-up, and no warehouse named.
    none = phone.post(f"/api/mobile/v1/pickups/{shop.visit.id}", json={})
    assert none.status_code == 409 and none.json["type"].endswith("nothing-to-pick-up")
    too_many = phone.post(url, json={"parts": [{"part_id": shop.fuser.id, "quantity": 3}]})
    assert too_many.status_code == 422 and "parts" in too_many.json["errors"]
    unknown = phone.post(url, json={"warehouse_id": 999_999})
    assert unknown.status_code == 422 and "warehouse_id" in unknown.json["errors"]
    van = phone.post(url, json={"warehouse_id": shop.tech.van_warehouse_id})
    assert van.status_code == 422
    extra = phone.post(url, json={"everything": True})
    assert extra.status_code == 422
    stale = phone.post(url, json={}, headers={"If-Match": '"99"'})
    assert stale.status_code == 412
    other = make.technician()
    not_yours = client_as("technician", technician_id=other.id).post(url, json={})
    assert not_yours.status_code == 404
    assert transfers(app, shop.breakdown.id) == 0
    assert level(app, shop.central.id, shop.fuser.id) == (5, 0)
    # Half of it, then the rest: the pick-up is partial, then done.
    half = phone.post(url, json={"parts": [{"part_id": shop.fuser.id, "quantity": 1}]})
    assert half.status_code == 200 and half.json["pickup"]["status"] == "partial"
    rest = phone.post(url, json={})
    assert rest.status_code == 200 and rest.json["pickup"]["status"] == "done"
    assert level(app, shop.central.id, shop.fuser.id) == (3, 0)


def test_a_reservation_held_at_the_warehouse_goes_with_the_parts(app, make, shop, client_as):
    stock.reserve(make.session, shop.fuser.id, 2, shop.central.id, shop.breakdown.id, SYSTEM)
    make.session.commit()
    phone = client_as("technician", technician_id=shop.tech.id)
    plan_and_publish(make)
    r = phone.post(f"/api/mobile/v1/pickups/{shop.breakdown.id}", json={})
    assert r.status_code == 200, r.json
    assert level(app, shop.central.id, shop.fuser.id) == (3, 0)
    assert level(app, shop.tech.van_warehouse_id, shop.fuser.id) == (2, 2)


def test_a_job_shows_the_tools_its_plan_names(app, make, shop, client_as):
    plan = PmPlan(name="Quarterly service", rrule="FREQ=MONTHLY;INTERVAL=3",
                  dtstart=_local(9), estimated_minutes=60, priority=4,
                  tools=["Torque wrench", "Multimeter"])
    make.session.add(plan)
    make.session.commit()
    wo = make.session.get(WorkOrder, shop.visit.id)
    wo.pm_plan_id = plan.id
    wo.technician_id = shop.tech.id
    wo.status = WorkOrderStatus.DISPATCHED
    wo.scheduled_start_at = _local(14).astimezone(UTC)
    make.session.commit()
    phone = client_as("technician", technician_id=shop.tech.id)
    job = phone.get(f"/api/mobile/v1/jobs/{shop.visit.id}")
    assert job.status_code == 200
    assert job.json["tools"] == ["Torque wrench", "Multimeter"]
    # A plan's tools are part of the API.
    manager = client_as("manager")
    got = manager.get(f"/api/v1/pm-plans/{plan.id}").json
    assert got["tools"] == ["Torque wrench", "Multimeter"]


def test_a_dispatcher_records_a_transfer_but_nothing_else(app, shop, client_as):
    dispatcher = client_as("dispatcher")
    van = shop.tech.van_warehouse_id
    body = {"kind": "transfer", "part_id": shop.fuser.id, "quantity": 1,
            "from_warehouse_id": shop.central.id, "to_warehouse_id": van,
            "work_order_id": shop.breakdown.id, "note": "Taken by Reza at the counter"}
    done = dispatcher.post("/api/v1/stock-movements", json=body)
    assert done.status_code == 201, done.json
    receive = dispatcher.post("/api/v1/stock-movements", json={
        "kind": "receive", "part_id": shop.fuser.id, "quantity": 10,
        "to_warehouse_id": shop.central.id})
    assert receive.status_code == 403
    assert client_as("agent").post("/api/v1/stock-movements", json=body).status_code == 403
    assert level(app, shop.central.id, shop.fuser.id) == (4, 0)
    assert level(app, van, shop.fuser.id) == (1, 0)


def test_the_openapi_document_has_the_pickup_and_the_stops(client):
    doc = client.get("/api/openapi.json").json
    assert "post" in doc["paths"]["/api/mobile/v1/pickups/{pickup_id}"]
    schemas = doc["components"]["schemas"]
    assert {"PickupStop", "PickupAction", "JobOut"} <= set(schemas)
    day = doc["paths"]["/api/mobile/v1/day"]["get"]["responses"]["200"]
    assert day["content"]["application/json"]["schema"]["$ref"].endswith("/DayOut")
    assert "stops" in schemas["DayOut"]["properties"]


def test_a_day_with_pickups_costs_a_fixed_number_of_queries_and_reads_the_plan_once(
        app, make, shop, client_as):
    from tests.mobile.test_day import count_queries

    phone = client_as("technician", technician_id=shop.tech.id)
    plan_and_publish(make)
    make.session.expire_all()
    with count_queries(app) as first:
        assert len(phone.get(day_url()).json["stops"]) == 3
    reads_plan = [s for s in first if "optimization_run.result" in s]
    assert len(reads_plan) == 1
    assert len(first) <= 21, "\n".join(s.split("\n")[0][:70] for s in first)
    # A write to a shared table makes the day render again (stock in a warehouse that is
    # nobody's van no longer does); the published plan is not read again.
    shop.fuser.name = "Fuser unit, rev. B"
    make.session.commit()
    with count_queries(app) as again:
        r = phone.get(day_url())
    assert r.json["stops"][0]["kind"] == "pickup"
    assert not [s for s in again if "optimization_run.result" in s]
    assert len(again) == len(first) - 1


def test_an_accepted_emergency_brings_its_pickup_into_the_day(app, make, shop, client_as):
    from fieldsvc.dispatch.insertion import accept_insertion, propose_insertion

    phone = client_as("technician", technician_id=shop.tech.id)
    plan_and_publish(make)
    before = phone.get(day_url())
    belt = make.part(sku="BELT-9", name="Transfer belt")
    stock.receive(make.session, belt.id, 1, shop.central.id, SYSTEM)
    make.session.commit()
    site = make.site(address="Enghelab St 5", latitude=35.72, longitude=51.39)
    urgent = _job(make, site, 9, "Production printer down", parts=[(belt, 1)])
    propose_insertion(make.session, urgent, DISPATCHER, plan_date=tomorrow(),
                      timezone="Asia/Tehran")
    make.session.commit()
    accept_insertion(make.session, urgent, DISPATCHER)
    make.session.commit()

    r = phone.get(day_url(), headers={"If-None-Match": before.headers["ETag"]})
    assert r.status_code == 200
    pickups = {s["job_id"]: s for s in r.json["stops"] if s["kind"] == "pickup"}
    assert pickups[urgent.id]["parts"][0]["sku"] == "BELT-9"
    assert pickups[urgent.id]["warehouse"]["id"] == shop.central.id
    kinds = [(s["kind"], s["job_id"]) for s in r.json["stops"]]
    assert kinds.index(("pickup", urgent.id)) + 1 == kinds.index(("job", urgent.id))
