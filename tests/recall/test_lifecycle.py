"""Reschedule, cancel, accept, day of service, re-invite and the .ics download."""

from __future__ import annotations

from datetime import timedelta

from fieldsvc.extensions import db
from fieldsvc.models import StockLevel, StockMovement, WorkOrder, WorkOrderTransition
from fieldsvc.models.enums import WarehouseKind
from tests.recall.conftest import today_local

URL = "/api/v1/recall-appointments"


def _book(client, campaign, dealer, day, v):
    response = client.post(URL, json={"campaign_id": campaign.id, "vin": v,
                                      "dealership_id": dealer.id, "day": day.isoformat()})
    assert response.status_code == 201, response.json
    return response.json


def test_reschedule_moves_the_place_in_one_transaction(client, recall, tomorrow):
    dealer, other = recall.dealership(places=1), recall.dealership(places=1)
    campaign = recall.campaign(vins=2)
    first, second = recall.vins(campaign)
    later = tomorrow + timedelta(days=1)
    appt = _book(client, campaign, dealer, tomorrow, first)
    moved = client.post(f"{URL}/{appt['id']}/reschedule", json={"day": later.isoformat()})
    assert moved.status_code == 200 and moved.json["day"] == later.isoformat()
    assert recall.ledger(dealer.id, campaign.id, tomorrow) == (1, 0)
    assert recall.ledger(dealer.id, campaign.id, later) == (1, 1)
    # The freed day can be booked by someone else; the appointment moves dealership too.
    _book(client, campaign, dealer, tomorrow, second)
    across = client.post(f"{URL}/{appt['id']}/reschedule",
                         json={"dealership_id": other.id, "day": later.isoformat()})
    assert across.status_code == 200 and across.json["dealership_id"] == other.id
    assert recall.ledger(dealer.id, campaign.id, later) == (1, 0)
    assert recall.ledger(other.id, campaign.id, later) == (1, 1)


def test_reschedule_to_a_full_day_is_409_and_keeps_the_old_place(client, recall, tomorrow):
    dealer = recall.dealership(places=1)
    campaign = recall.campaign(vins=2)
    first, second = recall.vins(campaign)
    later = tomorrow + timedelta(days=1)
    appt = _book(client, campaign, dealer, tomorrow, first)
    _book(client, campaign, dealer, later, second)
    response = client.post(f"{URL}/{appt['id']}/reschedule", json={"day": later.isoformat()})
    assert response.status_code == 409
    assert recall.ledger(dealer.id, campaign.id, tomorrow) == (1, 1)
    assert recall.ledger(dealer.id, campaign.id, later) == (1, 1)
    assert client.get(f"{URL}/{appt['id']}").json["day"] == tomorrow.isoformat()
    same = client.post(f"{URL}/{appt['id']}/reschedule", json={"day": tomorrow.isoformat()})
    assert same.status_code == 422
    for body in ({}, {"day": "soon"}, {"day": tomorrow.isoformat(), "x": 1},
                 {"day": later.isoformat(), "dealership_id": 2**70}):
        assert client.post(f"{URL}/{appt['id']}/reschedule", json=body).status_code == 422
    assert client.post(f"{URL}/999999/reschedule",
                       json={"day": later.isoformat()}).status_code == 404


def test_cancel_releases_the_place_once(client, recall, tomorrow):
    dealer = recall.dealership(places=1)
    campaign = recall.campaign(vins=1)
    (v,) = recall.vins(campaign)
    appt = _book(client, campaign, dealer, tomorrow, v)
    response = client.post(f"{URL}/{appt['id']}/cancel", json={"reason": "Sold the car"})
    assert response.status_code == 200 and response.json["status"] == "cancelled"
    assert "Sold the car" in response.json["notes"]
    assert recall.ledger(dealer.id, campaign.id, tomorrow) == (1, 0)
    again = client.post(f"{URL}/{appt['id']}/cancel", json={})
    assert again.status_code == 409
    assert recall.ledger(dealer.id, campaign.id, tomorrow) == (1, 0)
    # A cancelled VIN can be booked again (the same appointment row comes back).
    rebooked = _book(client, campaign, dealer, tomorrow, v)
    assert rebooked["id"] == appt["id"] and rebooked["status"] == "booked"


def test_day_of_service_completes_with_a_recall_work_order_and_parts(app, client, recall,
                                                                     make):
    today = today_local()
    dealer = recall.dealership(places=2, code="DLR-TEH-W")
    part = make.part()
    store = make.warehouse(code="DLR-TEH-W", kind=WarehouseKind.DEALERSHIP)
    campaign = recall.campaign(parts=[(part, 2)], remedy_minutes=60)
    asset = recall.owner(campaign)
    client.post("/api/v1/stock-movements", json={"kind": "receive", "part_id": part.id,
                                                 "quantity": 3, "to_warehouse_id": store.id})
    appt = _book(client, campaign, dealer, today, asset.vin)
    done = client.post(f"{URL}/{appt['id']}/complete", json={"resolution": "Inflator swapped"})
    assert done.status_code == 200, done.json
    assert done.json["status"] == "completed" and done.json["completed_at"]
    with app.app_context():
        order = db.session.get(WorkOrder, done.json["work_order_id"])
        assert (order.type.value, order.status.value) == ("recall", "completed")
        assert order.asset_id == asset.id and order.resolution == "Inflator swapped"
        assert [(p.part_id, p.quantity, p.issued) for p in order.parts] == [(part.id, 2, 2)]
        level = db.session.scalar(db.select(StockLevel).where(
            StockLevel.warehouse_id == store.id, StockLevel.part_id == part.id))
        assert level.on_hand == 1
        issued = db.session.scalars(db.select(StockMovement).where(
            StockMovement.kind == "issue")).all()
        assert [(m.quantity, m.work_order_id) for m in issued] == [(2, order.id)]
        steps = db.session.scalars(db.select(WorkOrderTransition.to_status).where(
            WorkOrderTransition.work_order_id == order.id)).all()
        assert steps == ["new", "completed"]
    assert client.post(f"{URL}/{appt['id']}/complete", json={}).status_code == 409


def test_completion_without_stock_is_409_and_changes_nothing(app, client, recall, make):
    today = today_local()
    dealer = recall.dealership(code="DLR-KRJ")
    part = make.part()
    make.warehouse(code="DLR-KRJ", kind=WarehouseKind.DEALERSHIP)
    campaign = recall.campaign(parts=[(part, 1)])
    asset = recall.owner(campaign)
    appt = _book(client, campaign, dealer, today, asset.vin)
    response = client.post(f"{URL}/{appt['id']}/complete", json={})
    assert response.status_code == 409
    assert client.get(f"{URL}/{appt['id']}").json["status"] == "booked"
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(WorkOrder.id))) == 0


def test_completion_without_a_dealership_store_and_before_the_day(app, client, recall,
                                                                  tomorrow):
    dealer = recall.dealership()
    campaign = recall.campaign()
    asset = recall.owner(campaign)
    unknown = recall.add_vin(campaign)  # never matched to an asset: no owner on file
    future = _book(client, campaign, dealer, tomorrow, asset.vin)
    early = client.post(f"{URL}/{future['id']}/complete", json={})
    assert early.status_code == 409 and early.json["type"].endswith("/not-yet")
    anonymous = _book(client, campaign, dealer, today_local(), unknown)
    done = client.post(f"{URL}/{anonymous['id']}/complete", json={})
    assert done.status_code == 200 and done.json["work_order_id"] is None


def test_no_show_then_reinvite_then_accept(client, recall, tomorrow):
    today = today_local()
    dealer = recall.dealership(places=1)
    campaign = recall.campaign(vins=1)
    (v,) = recall.vins(campaign)
    appt = _book(client, campaign, dealer, today, v)
    assert client.post(f"{URL}/{appt['id']}/reinvite", json={}).status_code == 409
    missed = client.post(f"{URL}/{appt['id']}/no-show", json={"notes": "Did not come"})
    assert missed.status_code == 200 and missed.json["status"] == "no_show"
    assert recall.ledger(dealer.id, campaign.id, today) == (1, 1)  # the bay was held
    half = client.post(f"{URL}/{appt['id']}/reinvite", json={"day": tomorrow.isoformat()})
    assert half.status_code == 422
    again = client.post(f"{URL}/{appt['id']}/reinvite",
                        json={"dealership_id": dealer.id, "day": tomorrow.isoformat()})
    assert again.status_code == 200, again.json
    assert (again.json["status"], again.json["day"]) == ("invited", tomorrow.isoformat())
    assert recall.ledger(dealer.id, campaign.id, tomorrow) == (1, 1)  # invitations hold
    accepted = client.post(f"{URL}/{appt['id']}/book", json={})
    assert accepted.status_code == 200 and accepted.json["status"] == "booked"
    assert recall.ledger(dealer.id, campaign.id, tomorrow) == (1, 1)
    assert client.post(f"{URL}/{appt['id']}/book", json={}).status_code == 409


def test_the_ics_download_is_a_valid_event(client, recall, tomorrow):
    dealer = recall.dealership(name="Azadi Auto; Tehran, West", address="12 Azadi St.")
    campaign = recall.campaign(vins=1, title="Airbag, driver side; inflator\\check")
    (v,) = recall.vins(campaign)
    appt = _book(client, campaign, dealer, tomorrow, v)
    response = client.get(f"{URL}/{appt['id']}/ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    lines = text.split("\r\n")
    assert lines[0] == "BEGIN:VCALENDAR" and "BEGIN:VEVENT" in lines and "END:VEVENT" in lines
    unfolded = text.replace("\r\n ", "")
    # 08:00 at the dealership (its own zone), written in UTC.
    from datetime import UTC, datetime, time
    from zoneinfo import ZoneInfo

    from tests.recall.conftest import ZONE

    start = datetime.combine(tomorrow, time(8), ZoneInfo(ZONE)).astimezone(UTC)
    assert f"DTSTART:{start:%Y%m%dT%H%M%S}Z" in unfolded
    assert f"DTEND:{start + timedelta(hours=1):%Y%m%dT%H%M%S}Z" in unfolded
    assert "SUMMARY:Recall " in unfolded and "Airbag\\, driver side\\; inflator\\\\check" \
        in unfolded
    assert "LOCATION:Azadi Auto\\; Tehran\\, West\\, 12 Azadi St." in unfolded
    assert "STATUS:CONFIRMED" in unfolded and f"UID:recall-appointment-{appt['id']}@" in text
    assert all(len(line.encode()) <= 75 for line in lines)
    assert client.get(f"{URL}/999999/ics").status_code == 404
