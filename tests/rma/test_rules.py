"""Illegal moves, bad input, the last unit under concurrency, overdue flagging, goodwill."""

import threading
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from fieldsvc.context import SYSTEM
from fieldsvc.dates import today_in
from fieldsvc.extensions import db
from fieldsvc.models import AuditEntry, StockMovement
from rma.models import Rma, RmaTransition
from rma.services import flag_overdue_returns

TEHRAN = "Asia/Tehran"


def _count(app, model, *where):
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(model).where(*where))


@pytest.fixture
def exchange(kit, make):
    """An approved-able advance exchange with two units in stock."""
    customer = make.customer()
    part, central = make.part(), make.warehouse()
    kit.receive(part.id, central.id, quantity=2)
    rma = kit.create(type="advance_exchange", customer_id=customer.id, part_id=part.id)
    return rma, part, central


def test_illegal_transitions_are_409_and_change_nothing(kit, app, exchange):
    rma, part, central = exchange
    for to in ("closed", "inspected", "replacement_shipped", "defective_received"):
        refused = kit.move(rma["id"], to=to)
        assert refused.status_code == 409, refused.json
        assert refused.json["allowed"] == ["approved", "cancelled", "rejected"]
        assert refused.json["current_status"] == "requested"
    assert _count(app, RmaTransition) == 1
    rejected = kit.move(rma["id"], to="rejected", note="Out of scope")
    assert rejected.status_code == 200
    again = kit.move(rma["id"], to="approved")
    assert again.status_code == 409 and "none (it is final)" in again.json["detail"]
    assert kit.level(central.id, part.id) == (2, 0)


@pytest.mark.parametrize("body, field", [
    ({"to": "lost"}, "to"), ({}, "to"), ({"to": None}, "to"),
    ({"to": "approved", "warehouse_id": 999}, "warehouse_id"),
    ({"to": "approved", "warehouse_id": "1"}, "warehouse_id"),
    ({"to": "approved", "replacement_serial": "X"}, "replacement_serial"),
    ({"to": "approved", "result": "no_fault_found"}, "result"),
    ({"to": "approved", "colour": "red"}, "colour"),
    ({"to": "approved", "note": "x" * 2001}, "note"),
    ({"to": "approved", "note": "bad\x00"}, "note"),
    ({"to": "rejected", "note": "   "}, "note"),
])
def test_bad_transition_bodies_are_422(kit, app, exchange, body, field):
    rma, part, central = exchange
    response = kit.client.post(f"/api/v1/rmas/{rma['id']}/transitions", json=body)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]
    assert kit.rma(rma["id"]).status.value == "requested"
    assert _count(app, StockMovement, StockMovement.rma_id == rma["id"]) == 0


def test_unknown_rma_is_404(kit):
    assert kit.move(999, to="approved").status_code == 404
    assert kit.client.post("/api/v1/rmas/999/goodwill", json={"reason": "x"}).status_code == 404


def test_inspection_needs_a_result_and_a_known_disposition(kit, exchange):
    rma, part, central = exchange
    for step in ({"to": "approved"}, {"to": "replacement_shipped", "warehouse_id": central.id},
                 {"to": "defective_received"}):
        assert kit.move(rma["id"], **step).status_code == 200
    for body, field in (({}, "result"), ({"result": "fine"}, "result"),
                        ({"result": "no_fault_found"}, "disposition"),
                        ({"result": "no_fault_found", "disposition": "return_to_customer"},
                         "disposition"),
                        ({"result": "no_fault_found", "disposition": "scrap",
                          "warehouse_id": central.id}, "warehouse_id"),
                        ({"result": "no_fault_found", "disposition": "restock",
                          "failure_code": "y" * 41, "warehouse_id": central.id},
                         "failure_code")):
        response = kit.move(rma["id"], to="inspected", **body)
        assert response.status_code == 422, (body, response.json)
        assert field in response.json["errors"]
    assert kit.rma(rma["id"]).status.value == "defective_received"


def test_no_stock_means_409_and_nothing_changes(kit, make, app):
    customer = make.customer()
    part, empty = make.part(), make.warehouse()
    rma = kit.create(type="advance_exchange", customer_id=customer.id, part_id=part.id)
    refused = kit.move(rma["id"], to="approved", warehouse_id=empty.id)
    assert refused.status_code == 409
    assert refused.json["available"] == 0
    assert kit.rma(rma["id"]).status.value == "requested"
    assert _count(app, RmaTransition, RmaTransition.rma_id == rma["id"]) == 1
    # Approval without a warehouse works; shipping then needs one.
    assert kit.move(rma["id"], to="approved").status_code == 200
    ship = kit.move(rma["id"], to="replacement_shipped")
    assert ship.status_code == 422 and "warehouse_id" in ship.json["errors"]
    ship = kit.move(rma["id"], to="replacement_shipped", warehouse_id=empty.id)
    assert ship.status_code == 409
    assert kit.rma(rma["id"]).return_deadline is None


def test_advance_exchange_needs_a_part(kit, make):
    asset = make.asset()
    refused = kit.client.post("/api/v1/rmas", json={
        "type": "advance_exchange", "customer_id": asset.customer_id, "asset_id": asset.id})
    assert refused.status_code == 422 and "part_id" in refused.json["errors"]
    refused = kit.client.post("/api/v1/rmas", json={
        "type": "return_for_credit", "customer_id": asset.customer_id,
        "part_id": make.part().id, "whole_unit": True})
    assert refused.status_code == 422 and "whole_unit" in refused.json["errors"]


def test_concurrent_advance_exchanges_for_the_last_unit(app, kit, make):
    """Real threads, own connections: exactly one RMA gets the last unit."""
    customer = make.customer()
    part, central = make.part(), make.warehouse()
    part_id, central_id = part.id, central.id  # plain ids: threads have no app context
    kit.receive(part_id, central_id, quantity=1)
    contenders = 4
    ids = [kit.create(type="advance_exchange", customer_id=customer.id, part_id=part_id)["id"]
           for _ in range(contenders)]
    barrier = threading.Barrier(contenders)
    results, lock = [], threading.Lock()

    def approve(rma_id):
        own = app.test_client()
        own.environ_base.update(kit.client.environ_base)
        barrier.wait()
        response = own.post(f"/api/v1/rmas/{rma_id}/transitions",
                            json={"to": "approved", "warehouse_id": central_id})
        with lock:
            results.append((response.status_code, rma_id))

    threads = [threading.Thread(target=approve, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    codes = sorted(code for code, _ in results)
    assert codes == [200] + [409] * (contenders - 1), results
    assert kit.level(central_id, part_id) == (1, 1)
    winner = next(i for code, i in results if code == 200)
    statuses = {i: kit.rma(i).status.value for i in ids}
    assert statuses == {i: "approved" if i == winner else "requested" for i in ids}
    assert _count(app, StockMovement, StockMovement.kind == "reserve") == 1


def _shipped(kit, make, **kw):
    customer = make.customer()
    part, central = make.part(), make.warehouse()
    kit.receive(part.id, central.id)
    rma = kit.create(type="advance_exchange", customer_id=customer.id, part_id=part.id, **kw)
    kit.move(rma["id"], to="approved", warehouse_id=central.id)
    shipped = kit.move(rma["id"], to="replacement_shipped")
    assert shipped.status_code == 200, shipped.json
    return shipped.json


def test_return_days_are_configurable(kit, make, app, monkeypatch):
    monkeypatch.setitem(app.config, "RMA_RETURN_DAYS", 3)
    body = _shipped(kit, make)
    today = today_in(app.config["DEFAULT_TIMEZONE"])
    assert body["return_deadline"] == (today + timedelta(days=3)).isoformat()


def test_a_return_is_overdue_from_local_midnight(kit, make, app):
    # The deadline is a day in the configured zone: at 00:30 in Tehran on the day after it
    # (21:00 UTC, still the deadline's date in UTC) the faulty unit is overdue.
    app.config["DEFAULT_TIMEZONE"] = "Asia/Tehran"
    late = _shipped(kit, make)
    deadline = date.fromisoformat(late["return_deadline"])
    tehran = ZoneInfo("Asia/Tehran")
    before = datetime.combine(deadline, time(23, 59), tzinfo=tehran)
    after = datetime.combine(deadline + timedelta(days=1), time(0, 30), tzinfo=tehran)
    assert after.astimezone(UTC).date() == deadline
    with app.app_context():
        assert flag_overdue_returns(db.session, now=before, actor=SYSTEM) == []
        assert flag_overdue_returns(db.session, now=after, actor=SYSTEM) == [late["id"]]
        db.session.commit()


def test_overdue_returns_are_flagged_once(kit, make, app, runner):
    late = _shipped(kit, make)
    on_time = _shipped(kit, make)
    deadline = date.fromisoformat(late["return_deadline"])
    with app.app_context():
        db.session.execute(db.update(Rma).where(Rma.id == on_time["id"])
                           .values(return_deadline=deadline + timedelta(days=10)))
        db.session.commit()
    early = kit.move(late["id"], to="closed")
    assert early.status_code == 409  # not back and not overdue yet
    # The deadline is a local date: 23:00 on it in the configured zone is still on time.
    zone = ZoneInfo(app.config["DEFAULT_TIMEZONE"])
    on_deadline = datetime.combine(deadline, datetime.min.time(), tzinfo=zone) + timedelta(
        hours=23)
    after = on_deadline + timedelta(days=1)
    with app.app_context():
        assert flag_overdue_returns(db.session, now=on_deadline, actor=SYSTEM) == []
        assert flag_overdue_returns(db.session, now=after, actor=SYSTEM) == [late["id"]]
        db.session.commit()
        assert flag_overdue_returns(db.session, now=after + timedelta(days=1),
                                    actor=SYSTEM) == []
        db.session.commit()
    result = runner.invoke(args=["rma", "flag-overdue", "--now", after.isoformat()])
    assert result.exit_code == 0 and "Flagged 0" in result.output
    bad = runner.invoke(args=["rma", "flag-overdue", "--now", "2026-01-01T00:00:00"])
    assert bad.exit_code != 0
    row = kit.rma(late["id"])
    assert row.charge_customer is True and row.overdue_flagged_at is not None
    assert kit.rma(on_time["id"]).overdue_flagged_at is None
    assert _count(app, AuditEntry, AuditEntry.entity_type == "rma",
                  AuditEntry.entity_id == str(late["id"]),
                  AuditEntry.source == "job") == 1
    listed = kit.client.get("/api/v1/rmas?overdue=true").json
    assert [r["id"] for r in listed["items"]] == [late["id"]]
    # The unit never came back: the RMA closes with the charge standing.
    closed = kit.move(late["id"], to="closed", note="Unit not returned; invoiced")
    assert closed.status_code == 200 and closed.json["charge_customer"] is True


def test_a_late_return_withdraws_the_charge(kit, make, app):
    late = _shipped(kit, make)
    with app.app_context():
        now = datetime.now(UTC) + timedelta(days=30)
        assert flag_overdue_returns(db.session, now=now, actor=SYSTEM) == [late["id"]]
        db.session.commit()
    received = kit.move(late["id"], to="defective_received")
    assert received.status_code == 200
    assert received.json["charge_customer"] is False
    assert "charge withdrawn" in received.json["transitions"][-1]["note"]
    with app.app_context():  # flagged once: never again
        assert flag_overdue_returns(db.session, now=now, actor=SYSTEM) == []


def test_cli_flags_overdue(kit, make, runner):
    late = _shipped(kit, make)
    later = (datetime.now(UTC) + timedelta(days=40)).isoformat()
    result = runner.invoke(args=["rma", "flag-overdue", "--now", later])
    assert result.exit_code == 0, result.output
    assert f"Flagged 1 overdue RMA(s): {late['id']}" in result.output
    assert kit.rma(late["id"]).charge_customer is True


def test_goodwill_needs_a_manager(kit, make, client_as):
    asset = make.asset()  # no warranty: chargeable
    rma = kit.create(type="repair_and_return", customer_id=asset.customer_id,
                     asset_id=asset.id)
    assert rma["entitlement"] == "chargeable"
    url = f"/api/v1/rmas/{rma['id']}/goodwill"
    others = [client_as("dispatcher"), client_as("agent"),
              client_as("technician", technician_id=make.technician().id),
              client_as("dealership", dealership_id=make.dealership().id)]
    for other in others:
        assert other.post(url, json={"reason": "Loyal"}).status_code == 403
    manager = client_as("manager")
    assert manager.post(url, json={"reason": ""}).status_code == 422
    assert manager.post(url, json={"reason": "x", "entitlement": "warranty"}).status_code == 422
    assert kit.rma(rma["id"]).entitlement.value == "chargeable"
    done = manager.post(url, json={"reason": "Loyal customer since 2010"})
    assert done.status_code == 200, done.json
    assert done.json["entitlement"] == "goodwill"
    assert done.json["goodwill_approved_by_id"] == manager.user_id
    assert "Loyal customer since 2010" in done.json["entitlement_reason"]
    assert manager.post(url, json={"reason": "again"}).status_code == 409
