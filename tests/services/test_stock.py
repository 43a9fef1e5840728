"""The stock ledger: movements are the only way stock changes; never oversold."""

import threading
from datetime import UTC, datetime, timedelta

import pytest

from fieldsvc.context import SYSTEM
from fieldsvc.extensions import db
from fieldsvc.models import StockLevel, StockMovement, WorkOrder
from fieldsvc.models.enums import WorkOrderStatus
from fieldsvc.problems import Conflict
from fieldsvc.services import stock as ledger
from tests.services.conftest import PROBLEM

URL = "/api/v1/stock-movements"


@pytest.fixture
def stock(client):
    class Stock:
        def move(self, expect=201, **body):
            response = client.post(URL, json=body)
            assert response.status_code == expect, response.json
            return response.json

        def level(self, warehouse, part):
            items = client.get(f"{URL}/levels", query_string={
                "warehouse_id": getattr(warehouse, "id", warehouse),
                "part_id": getattr(part, "id", part)}).json["items"]
            if not items:
                return (0, 0, 0)
            return items[0]["on_hand"], items[0]["reserved"], items[0]["available"]

    return Stock()


def _snapshot(app):
    with app.app_context():
        levels = sorted((lv.warehouse_id, lv.part_id, lv.on_hand, lv.reserved)
                        for lv in db.session.scalars(db.select(StockLevel)))
        moves = db.session.scalar(db.select(db.func.count(StockMovement.id)))
    return levels, moves


def test_receive_transfer_scrap_and_levels(client, make, stock):
    part = make.part()
    central = make.warehouse()
    van = make.warehouse(kind="van")
    received = stock.move(kind="receive", part_id=part.id, quantity=10,
                          to_warehouse_id=central.id, note="PO 4711")
    assert received["kind"] == "receive" and received["quantity"] == 10
    stock.move(kind="transfer", part_id=part.id, quantity=4, from_warehouse_id=central.id,
               to_warehouse_id=van.id)
    stock.move(kind="scrap", part_id=part.id, quantity=1, from_warehouse_id=van.id,
               note="dropped")
    assert stock.level(central, part) == (6, 0, 6)
    assert stock.level(van, part) == (3, 0, 3)
    levels = client.get(f"{URL}/levels", query_string={"part_id": part.id}).json
    assert levels["total"] == 2
    assert {i["warehouse_id"] for i in levels["items"]} == {central.id, van.id}
    low = client.get(f"{URL}/levels", query_string={"available_below": 5}).json
    assert [i["warehouse_id"] for i in low["items"]] == [van.id]
    ledger = client.get(URL, query_string={"warehouse_id": van.id, "sort": "id"}).json
    assert [m["kind"] for m in ledger["items"]] == ["transfer", "scrap"]
    assert client.get(URL, query_string={"kind": "receive"}).json["total"] == 1
    got = client.get(f"{URL}/{received['id']}")
    assert got.status_code == 200 and got.json["note"] == "PO 4711"


def test_the_ledger_is_append_only(client, make, stock):
    part, wh = make.part(), make.warehouse()
    moved = stock.move(kind="receive", part_id=part.id, quantity=1, to_warehouse_id=wh.id)
    assert client.patch(f"{URL}/{moved['id']}", json={"quantity": 5}).status_code == 405
    assert client.delete(f"{URL}/{moved['id']}").status_code == 405
    assert client.get(f"{URL}/999").status_code == 404


def test_reserve_issue_release_return_for_a_work_order(client, make, stock, wo_api):
    part, wh = make.part(), make.warehouse()
    wo = wo_api.create(site_id=make.site().id, parts=[{"part_id": part.id, "quantity": 3}])
    stock.move(kind="receive", part_id=part.id, quantity=5, to_warehouse_id=wh.id)
    common = {"part_id": part.id, "from_warehouse_id": wh.id, "work_order_id": wo["id"]}
    stock.move(kind="reserve", quantity=3, **common)
    assert stock.level(wh, part) == (5, 3, 2)
    # Only 2 remain available: reserving 3 more is refused with the figure.
    refused = client.post(URL, json={"kind": "reserve", "quantity": 3, **common})
    assert refused.status_code == 409 and refused.mimetype == PROBLEM
    assert refused.json["available"] == 2 and refused.json["requested"] == 3
    stock.move(kind="release", quantity=1, **common)
    assert stock.level(wh, part) == (5, 2, 3)
    # Three issued: 2 from the reservation, 1 from available stock.
    stock.move(kind="issue", quantity=3, **common)
    assert stock.level(wh, part) == (2, 0, 2)
    line = wo_api.get(wo["id"])["parts"][0]
    assert (line["reserved"], line["issued"]) == (0, 3)
    # Returning more than was issued is refused; returning 1 is fine.
    back = {"part_id": part.id, "to_warehouse_id": wh.id, "work_order_id": wo["id"]}
    over = client.post(URL, json={"kind": "return", "quantity": 4, **back})
    assert over.status_code == 409
    stock.move(kind="return", quantity=1, **back)
    assert stock.level(wh, part) == (3, 0, 3)
    assert wo_api.get(wo["id"])["parts"][0]["issued"] == 2
    # Releasing what is not reserved is refused.
    assert client.post(URL, json={"kind": "release", "quantity": 1, **common}).status_code \
        == 409
    history = client.get(URL, query_string={"work_order_id": wo["id"], "sort": "id"}).json
    assert [m["kind"] for m in history["items"]] == ["reserve", "release", "issue", "return"]


def test_insufficient_stock_changes_nothing(client, make, stock, app):
    part, a, b = make.part(), make.warehouse(), make.warehouse()
    stock.move(kind="receive", part_id=part.id, quantity=2, to_warehouse_id=a.id)
    before = _snapshot(app)
    for body in [
        {"kind": "transfer", "part_id": part.id, "quantity": 3, "from_warehouse_id": a.id,
         "to_warehouse_id": b.id},
        {"kind": "scrap", "part_id": part.id, "quantity": 3, "from_warehouse_id": a.id},
        {"kind": "scrap", "part_id": part.id, "quantity": 1, "from_warehouse_id": b.id},
    ]:
        response = client.post(URL, json=body)
        assert response.status_code == 409, body
        assert "available" in response.json
    assert _snapshot(app) == before


def test_cancelling_a_work_order_releases_its_reservations(client, make, stock, wo_api):
    part, wh = make.part(), make.warehouse()
    wo = wo_api.create(site_id=make.site().id, parts=[{"part_id": part.id, "quantity": 2}])
    stock.move(kind="receive", part_id=part.id, quantity=2, to_warehouse_id=wh.id)
    stock.move(kind="reserve", part_id=part.id, quantity=2, from_warehouse_id=wh.id,
               work_order_id=wo["id"])
    assert stock.level(wh, part) == (2, 2, 0)
    wo_api.move(wo["id"], "cancelled", reason="customer withdrew")
    assert stock.level(wh, part) == (2, 0, 2)
    kinds = [m["kind"] for m in client.get(URL, query_string={
        "work_order_id": wo["id"], "sort": "id"}).json["items"]]
    assert kinds == ["reserve", "release"]
    assert wo_api.get(wo["id"])["parts"][0]["reserved"] == 0
    # A cancelled work order takes no more parts.
    late = client.post(URL, json={"kind": "issue", "part_id": part.id, "quantity": 1,
                                  "from_warehouse_id": wh.id, "work_order_id": wo["id"]})
    assert late.status_code == 409


def test_parts_with_booked_stock_cannot_be_dropped_from_a_work_order(client, make, stock,
                                                                     wo_api):
    part, other, wh = make.part(), make.part(), make.warehouse()
    wo = wo_api.create(site_id=make.site().id, parts=[{"part_id": part.id, "quantity": 2}])
    stock.move(kind="receive", part_id=part.id, quantity=2, to_warehouse_id=wh.id)
    stock.move(kind="reserve", part_id=part.id, quantity=1, from_warehouse_id=wh.id,
               work_order_id=wo["id"])
    refused = client.patch(f"/api/v1/work-orders/{wo['id']}",
                           json={"parts": [{"part_id": other.id, "quantity": 1}]})
    assert refused.status_code == 409
    kept = client.patch(f"/api/v1/work-orders/{wo['id']}", json={
        "parts": [{"part_id": part.id, "quantity": 5}, {"part_id": other.id, "quantity": 1}]})
    assert kept.status_code == 200
    lines = {p["part_id"]: p for p in kept.json["parts"]}
    assert lines[part.id]["quantity"] == 5 and lines[part.id]["reserved"] == 1


def test_bad_movements_are_422_and_change_nothing(client, make, stock, app, wo_api):
    part, wh, wh2 = make.part(), make.warehouse(), make.warehouse()
    serial = make.part(serialized=True)
    wo = wo_api.create(site_id=make.site().id)
    stock.move(kind="receive", part_id=part.id, quantity=5, to_warehouse_id=wh.id)
    before = _snapshot(app)
    cases = [
        ({}, {"kind", "part_id", "quantity"}),
        ({"kind": "steal", "part_id": part.id, "quantity": 1, "to_warehouse_id": wh.id},
         {"kind"}),
        ({"kind": "receive", "part_id": part.id, "quantity": 0, "to_warehouse_id": wh.id},
         {"quantity"}),
        ({"kind": "receive", "part_id": part.id, "quantity": -2, "to_warehouse_id": wh.id},
         {"quantity"}),
        ({"kind": "receive", "part_id": part.id, "quantity": 1.5, "to_warehouse_id": wh.id},
         {"quantity"}),
        ({"kind": "receive", "part_id": part.id, "quantity": "3", "to_warehouse_id": wh.id},
         {"quantity"}),
        ({"kind": "receive", "part_id": part.id, "quantity": 10**9, "to_warehouse_id": wh.id},
         {"quantity"}),
        ({"kind": "receive", "part_id": 999, "quantity": 1, "to_warehouse_id": wh.id},
         {"part_id"}),
        ({"kind": "receive", "part_id": part.id, "quantity": 1, "to_warehouse_id": 999},
         {"to_warehouse_id"}),
        ({"kind": "receive", "part_id": part.id, "quantity": 1}, {"to_warehouse_id"}),
        ({"kind": "receive", "part_id": part.id, "quantity": 1, "to_warehouse_id": wh.id,
          "from_warehouse_id": wh2.id}, {"from_warehouse_id"}),
        ({"kind": "transfer", "part_id": part.id, "quantity": 1, "from_warehouse_id": wh.id,
          "to_warehouse_id": wh.id}, {"to_warehouse_id"}),
        ({"kind": "reserve", "part_id": part.id, "quantity": 1, "from_warehouse_id": wh.id},
         {"work_order_id"}),
        ({"kind": "issue", "part_id": part.id, "quantity": 1, "from_warehouse_id": wh.id,
          "work_order_id": 999}, {"work_order_id"}),
        ({"kind": "return", "part_id": part.id, "quantity": 1, "work_order_id": wo["id"]},
         {"to_warehouse_id"}),
        ({"kind": "receive", "part_id": serial.id, "quantity": 1, "to_warehouse_id": wh.id},
         {"serial_number"}),
        ({"kind": "receive", "part_id": serial.id, "quantity": 2, "to_warehouse_id": wh.id,
          "serial_number": "SN1"}, {"quantity"}),
        ({"kind": "receive", "part_id": part.id, "quantity": 1, "to_warehouse_id": wh.id,
          "serial_number": "x" * 81}, {"serial_number"}),
        ({"kind": "receive", "part_id": part.id, "quantity": 1, "to_warehouse_id": wh.id,
          "actor_id": 1}, {"actor_id"}),
    ]
    for body, fields in cases:
        response = client.post(URL, json=body)
        assert response.status_code == 422, (body, response.json)
        assert set(response.json["errors"]) == fields, (body, response.json)
    assert _snapshot(app) == before
    for bad in [{"kind": "nope"}, {"part_id": "x"}, {"colour": 1}]:
        assert client.get(URL, query_string=bad).status_code == 422
    assert client.get(f"{URL}/levels", query_string={"warehouse_id": "x"}).status_code == 422


def test_serialized_part_moves_with_its_serial(make, stock):
    serial, wh = make.part(serialized=True), make.warehouse()
    moved = stock.move(kind="receive", part_id=serial.id, quantity=1, to_warehouse_id=wh.id,
                       serial_number="SN-0001")
    assert moved["serial_number"] == "SN-0001"


def test_concurrent_issues_for_the_last_unit_exactly_one_wins(app, client, make, stock,
                                                              wo_api):
    """Real threads, separate connections: only one of them may take the last unit."""
    part_id, wh_id = make.part().id, make.warehouse().id
    site = make.site()
    contenders = 6
    orders = [wo_api.create(site_id=site.id, parts=[{"part_id": part_id, "quantity": 1}])["id"]
              for _ in range(contenders)]
    stock.move(kind="receive", part_id=part_id, quantity=1, to_warehouse_id=wh_id)
    barrier = threading.Barrier(contenders)
    results: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def issue(work_order_id):
        own = app.test_client()  # one client, app context and connection per thread
        own.environ_base.update(client.environ_base)  # the same credentials
        barrier.wait()
        response = own.post(URL, json={
            "kind": "issue", "part_id": part_id, "quantity": 1, "from_warehouse_id": wh_id,
            "work_order_id": work_order_id})
        with lock:
            results.append((response.status_code, response.json))

    threads = [threading.Thread(target=issue, args=(ident,)) for ident in orders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    codes = sorted(code for code, _ in results)
    assert codes == [201] + [409] * (contenders - 1), results
    assert all(body["available"] == 0 for code, body in results if code == 409)
    assert stock.level(wh_id, part_id) == (0, 0, 0)
    with app.app_context():
        issued = db.session.scalar(db.select(db.func.count(StockMovement.id))
                                   .where(StockMovement.kind == "issue"))
    assert issued == 1


def test_a_completed_work_order_takes_only_parts_used_before_its_completion(app, make):
    part, wh = make.part(), make.warehouse()
    done_at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    done = make.work_order(status=WorkOrderStatus.COMPLETED, completed_at=done_at)
    gone = make.work_order(status=WorkOrderStatus.CANCELLED)
    failed = make.work_order(status=WorkOrderStatus.CANNOT_COMPLETE)
    ledger.receive(make.session, part.id, 5, wh.id, SYSTEM)
    make.session.commit()
    before = _snapshot(app)
    refused = [
        (done.id, None),  # without a time of use, as before
        (done.id, done_at + timedelta(seconds=1)),  # used after the completion
        (gone.id, done_at - timedelta(minutes=5)),  # only a completed work order
        (failed.id, done_at - timedelta(minutes=5)),
    ]
    for wo_id, used_at in refused:
        with pytest.raises(Conflict):
            ledger.issue(make.session, part.id, 1, wh.id, wo_id, SYSTEM, used_at=used_at)
        make.session.rollback()
    with pytest.raises(Conflict):  # reserving for it stays closed
        ledger.reserve(make.session, part.id, 1, wh.id, done.id, SYSTEM)
    make.session.rollback()
    assert _snapshot(app) == before
    ledger.issue(make.session, part.id, 2, wh.id, done.id, SYSTEM,
                 used_at=done_at - timedelta(minutes=5))
    ledger.issue(make.session, part.id, 1, wh.id, done.id, SYSTEM, used_at=done_at)
    make.session.commit()
    level = make.session.scalar(db.select(StockLevel).where(
        StockLevel.warehouse_id == wh.id, StockLevel.part_id == part.id))
    assert level.on_hand == 2
    assert [line.issued for line in make.session.get(WorkOrder, done.id).parts] == [3]
